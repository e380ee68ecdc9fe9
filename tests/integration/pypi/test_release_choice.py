"""PyPI suite, on the Glance node: the release is a choice, not an
assumption. The same host converges to a second release the platform's
Python runs (2024.1 on Debian 12, whose oslo.utils needs netifaces built
from source, allowed by install:build; 2026.1 on Debian 13), in a
virtualenv of its own beside 2026.2's; Glance answers from it with the
images intact; a second apply changes nothing; then the suite's own pillar
brings 2026.2 back, with no pip run (its virtualenv is still current).
Neither release changes the schema (the last migration is 2024.1's), so
the database serves both. Runs after test_pypi.py, before Tempest."""
import json
import shlex

import pytest
from test_pypi import PILLAR, RELEASES, SEEDED_SHA256, UWSGI_INI

from glance_checks import (
    changed_or_failed,
    failed_first,
    glance_client,
    glance_user_env,
    read_ini,
    salt_call,
    wait_listening,
)

# Per platform: the second release, its Glance, what install:build allows.
SECOND = {
    "debian-12": ("2024.1", ["netifaces"]),
    "debian-13": ("2026.1", []),
}
SUITE_RELEASE = PILLAR["server"]["version"]
GLANCE = glance_user_env(PILLAR["server"])
LOCAL_API = dict(GLANCE, OS_ENDPOINT="http://127.0.0.1:9292")


def platform(host):
    info = host.system_info
    return f"{info.distribution}-{info.release.split('.')[0]}"


def override(release, build):
    return "pillar=" + json.dumps({"glance": {"server": {"version": release,
                                                         "install": {"method": "pypi", "build": build}}}})


def glance_version(host, release):
    cmd = host.run(f"/opt/glance/{release}/bin/python -c "
                   + shlex.quote("from importlib.metadata import version; print(version('glance'))"))
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def serving_uwsgi(host):
    return host.run("systemctl show -p ExecStart --value glance-api").stdout


@pytest.fixture(scope="module")
def second(host):
    """The second release applied: (release, build, the run's states)."""
    wanted = SECOND.get(platform(host))
    if wanted is None:
        pytest.skip(f"no second release chosen for {platform(host)}")
    release, build = wanted
    rc, states = salt_call(host, "state.apply", "glance", override(release, build))
    assert rc == 0, failed_first(states)
    return release, build, states


def test_second_release_serves_from_its_own_virtualenv(host, second):
    release, build, _ = second
    assert glance_version(host, release) == RELEASES["pypi"][release]["glance"]
    assert f"path=/opt/glance/{release}/bin/uwsgi" in serving_uwsgi(host)
    # The suite's release stays installed beside it.
    assert host.file(f"/opt/glance/{SUITE_RELEASE}").is_symlink
    ini = read_ini(host, UWSGI_INI)
    if int(RELEASES["pypi"][release]["glance"].split(".")[0]) < 30:
        assert ini.get("uwsgi", "wsgi-file") == f"/opt/glance/{release}/bin/glance-wsgi-api"
    else:
        assert ini.get("uwsgi", "module") == "glance.wsgi.api:application"
    for package in build:
        built = host.run(f"/opt/glance/{release}/bin/python -c 'import {package}'")
        assert built.rc == 0, f"{package} was not built: {built.stderr}"


def test_second_release_serves_the_images(host, second):
    wait_listening(host, "0.0.0.0:9292")
    [image] = glance_client(host, LOCAL_API, "find", "pypi-seed")
    assert glance_client(host, LOCAL_API, "digests", image["id"])["sha256"] == SEEDED_SHA256


def test_second_release_applied_again_changes_nothing(host, second):
    release, build, _ = second
    rc, states = salt_call(host, "state.apply", "glance", override(release, build))
    assert rc == 0 and changed_or_failed(states) == {}


def test_the_suites_release_comes_back_without_pip(host, second):
    rc, states = salt_call(host, "state.apply", "glance")
    assert rc == 0, changed_or_failed(states)
    venv = next(v for v in states.values() if v["__id__"] == "glance-server-install-pypi-venv-installed")
    assert venv["changes"] == {} and venv["comment"].startswith(f"/opt/glance/{SUITE_RELEASE} is current")
    assert f"path=/opt/glance/{SUITE_RELEASE}/bin/uwsgi" in serving_uwsgi(host)
    wait_listening(host, "0.0.0.0:9292")
    rc, states = salt_call(host, "state.apply", "glance")
    assert rc == 0 and changed_or_failed(states) == {}
