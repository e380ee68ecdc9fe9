"""PyPI suite, on the Glance node: an install that cannot complete (the
package index unreachable, a package that would need a build the pillar
does not allow) fails with one line naming the cause and switches nothing:
the same virtualenv serves, glance-api is not restarted, no half-built
directory is left, and the suite's own pillar converges with no change
afterwards. Runs first of the suite's files (file order)."""
import json

import pytest

from glance_checks import changed_or_failed, salt_call

VENV_STATE = "glance_venv_|-glance-server-install-pypi-venv-installed_|-/opt/glance/2026.2_|-installed"


def snapshot(host):
    """What serves: the link's target, the build directories, glance-api's
    main process."""
    return {
        "target": host.file("/opt/glance/2026.2").linked_to,
        "entries": sorted(host.run("ls /opt/glance").stdout.split()),
        "pid": host.run("systemctl show -p MainPID --value glance-api").stdout.strip(),
    }


@pytest.fixture(scope="module")
def before(host):
    state = snapshot(host)
    assert state["pid"] not in ("", "0"), state
    return state


def apply_install(host, override):
    return salt_call(host, "state.apply", "glance.server.install", "pillar=" + json.dumps({"glance": override}))


def test_unreachable_index_fails_naming_it_and_switches_nothing(host, before):
    # Nothing listens on port 9 (discard) of the loopback address.
    rc, states = apply_install(host, {"server": {"install": {"method": "pypi",
                                                             "index_url": "http://127.0.0.1:9/simple"}}})
    assert rc != 0
    venv = states[VENV_STATE]
    assert venv["result"] is False
    assert venv["comment"].startswith("/opt/glance/2026.2: pip install failed: the package index could not be "
                                      "reached ("), venv["comment"]
    assert venv["comment"].endswith(f"{before['target']} still serves"), venv["comment"]
    assert snapshot(host) == before


def test_a_build_the_pillar_does_not_allow_fails_naming_the_package(host, before):
    """Without simplegeneric among the allowed source packages (a lookup
    override), pip finds no wheel for it."""
    rc, states = apply_install(host, {"lookup": {"pypi": {"pure_sdists": {"2026.2": []}}}})
    assert rc != 0
    comment = states[VENV_STATE]["comment"]
    assert "no distribution of simplegeneric===0.8.1 that this host may install (wheels only for Python 3." \
        in comment, comment
    assert "allow building simplegeneric (glance:server:install:build)" in comment, comment
    assert snapshot(host) == before


def test_the_suite_pillar_still_changes_nothing(host, before):
    rc, states = salt_call(host, "state.apply", "glance")
    assert rc == 0 and changed_or_failed(states) == {}
    assert snapshot(host) == before
