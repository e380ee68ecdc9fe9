"""Single suite, last (after Tempest): a host on the distribution's Glance
moves to Glance from PyPI by its pillar alone (install:method pypi and a
release). On Debian 13 the packages' 2025.1 goes to 2026.1, the next SLURP
release, in one step: the skip-level upgrade OpenStack supports, offline.
Every image keeps its row and its data, the schema is at 2026.1's head,
the packages are gone (their configuration files rewritten by the
formula, Keystone and the other services untouched), a second apply
changes nothing, and the image cache's pruner and cleaner jobs run from the
virtualenv. Debian 12's packaged Zed is not moved here: the PyPI
suite upgrades across a schema change there."""
import json
import shlex

import pytest
from test_single import GLANCE, SERVER

from glance_checks import (
    assert_config_valid,
    assert_schema_current,
    assert_security_guide_checks,
    changed_or_failed,
    failed_first,
    glance_client,
    local_api,
    salt_call,
    service_command,
    serving_venv,
    wait_listening,
)
from tempest_checks import platform_name

# Per platform: (the packages' release, the PyPI release it moves to).
MOVES = {"debian-13": ("2025.1", "2026.1")}
REMOVED_STATE = "glance-server-install-pypi-distribution-glance-pkg-removed"
LOCAL_API = dict(GLANCE, OS_ENDPOINT=local_api(SERVER))
TLS = LOCAL_API["OS_ENDPOINT"].startswith("https:")
IMAGES_SQL = ("SELECT id, status, size, checksum, os_hash_value FROM images WHERE deleted = 0 "
              "ORDER BY id")


def image_rows(host):
    cmd = host.run(f"mysql --batch --skip-column-names glance -e {shlex.quote(IMAGES_SQL)}")
    assert cmd.rc == 0, cmd.stderr
    return [line.split("\t") for line in cmd.stdout.splitlines()]


def image_data(host, rows):
    """{id: sha256 of the data Glance serves} of the active images."""
    return {row[0]: glance_client(host, LOCAL_API, "digests", row[0])["sha256"]
            for row in rows if row[1] == "active"}


@pytest.fixture(scope="module")
def moved(host):
    """(images before, their data before, the move's states)."""
    wanted = MOVES.get(platform_name(host))
    if wanted is None:
        pytest.skip(f"no move to PyPI on {platform_name(host)}: its packaged release is not a supported start")
    _, release = wanted
    assert host.package("glance-api").is_installed, "the suite should start on the distribution's Glance"
    wait_listening(host, "0.0.0.0:9292")
    rows = image_rows(host)
    data = image_data(host, rows)
    assert data, "no active image to carry over"
    override = json.dumps({"glance": {"server": {"version": release, "install": {"method": "pypi"}}}})
    rc, states = salt_call(host, "state.apply", "glance", "pillar=" + override)
    assert rc == 0, failed_first(states)
    return rows, data, states, override


def test_the_packages_go_once_the_virtualenv_serves(host, moved):
    _, _, states, _ = moved
    removed = next(v for v in states.values() if v["__id__"] == REMOVED_STATE)
    assert "glance-api" in removed["changes"] and "python3-glance" in removed["changes"], removed
    for name in ["glance-api", "glance-common", "python3-glance"]:
        assert not host.package(name).is_installed, name
    # The other services of the host stay.
    assert host.package("keystone").is_installed
    assert host.service("mariadb").is_running


def test_glance_api_runs_from_the_releases_virtualenv(host, moved):
    _, release = MOVES[platform_name(host)]
    assert serving_venv(host) == f"/opt/glance/{release}"
    # With TLS the distribution's uWSGI serves it (pyuwsgi has no OpenSSL),
    # still on HTTPS; else the virtualenv's own.
    uwsgi = "/usr/bin/uwsgi" if TLS else f"/opt/glance/{release}/bin/uwsgi"
    assert f"path={uwsgi} " in service_command(host)
    assert host.service("glance-api").is_enabled
    assert_schema_current(host, f"/opt/glance/{release}/bin/glance-manage")
    assert_config_valid(host, f"/opt/glance/{release}/bin/oslo-config-validator")
    assert_security_guide_checks(host, keystone=True)


def test_every_image_keeps_its_row_and_its_data(host, moved):
    rows, data, _, _ = moved
    wait_listening(host, "0.0.0.0:9292")
    assert image_rows(host) == rows
    assert image_data(host, rows) == data


def test_the_move_applied_again_changes_nothing(host, moved):
    _, _, _, override = moved
    rc, states = salt_call(host, "state.apply", "glance", "pillar=" + override)
    assert rc == 0 and changed_or_failed(states) == {}


@pytest.mark.parametrize("job", ["glance-cache-pruner", "glance-cache-cleaner"])
def test_the_image_cache_jobs_run_from_the_virtualenv(host, moved, job):
    _, release = MOVES[platform_name(host)]
    command = host.run(f"systemctl show {job}.service -p ExecStart --value").stdout
    assert f"path=/opt/glance/{release}/bin/{job} " in command, command
    run = host.run(f"systemctl start {job}.service")
    assert run.rc == 0, run.stderr + host.run(f"journalctl -u {job}.service -n 20 --no-pager").stdout
