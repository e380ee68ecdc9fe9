"""PyPI suite, on the Glance node: one host upgraded in place from one
release to the next by changing glance:server:version.

The upgrade runs on a database of its own (UPGRADE_DB, made by
glance.bootstrap like any other), so that it starts from the older
release's schema: on Debian 12, 2023.2 to 2024.1, which crosses the last
schema change (2024_1_expand01, the cache tables), applied as a node's
turn in glance.orchestrate.upgrade applies it (database:contract false):
Glance's online db expand and db migrate really run, against MariaDB
with its binary log on, the new release serves the expanded schema
(db check: the contract is due), and the apply after it runs db
contract; on Debian 13, 2026.1 to 2026.2 (the newest pair; no schema
change). The older release seeds the pillar's image;
after the upgrade it reads back byte for byte, the schema is at the new
release's head, oslo-config-validator is clean for it, and a second apply
changes nothing. Going back to the older release is then refused before
anything changes (its migrations do not know the database's revision, or,
for the newest pair, served again on a schema they share). Last, the
suite's own pillar (2026.2 on the suite's database) comes back without pip,
and the releases it no longer uses are removed. Runs after test_pypi.py,
before Tempest."""
import hashlib
import json
import shlex
import time

import pytest
from test_pypi import PILLAR, RELEASES, SEEDED_SHA256, UWSGI_INI

from glance_checks import (
    API_CONF,
    assert_config_valid,
    assert_schema_current,
    changed_or_failed,
    failed_first,
    glance_client,
    glance_user_env,
    read_ini,
    salt_call,
    service_command,
    wait_listening,
)
from tempest_checks import glance_version, platform_name

# Per platform: (from, to, what install:build allows for both).
PAIRS = {
    "debian-12": ("2023.2", "2024.1", ["netifaces"]),
    "debian-13": ("2026.1", "2026.2", []),
}
# Pairs upgraded the rolling way: expand and migrate, then the contract.
ROLLING_SCHEMA_PAIRS = {("2023.2", "2024.1")}
# glance-manage db check's exit status when only the contract is due.
CONTRACT_DUE = 5
UPGRADE_DB = "glance_upgrade"
SCHEMA_STATE = "glance-server-db-schema-glance-db-synced"
GUARD_STATE = "glance-server-install-schema-glance-db-not-newer"
PREVIOUS_STATE = "glance-server-service-previous-releases-glance-venv-absent"
SUITE_RELEASE = PILLAR["server"]["version"]
LOCAL_API = dict(glance_user_env(PILLAR["server"]), OS_ENDPOINT="http://127.0.0.1:9292")
SERVED_FILES = [API_CONF, UWSGI_INI, "/etc/glance/glance-api-paste.ini", "/etc/systemd/system/glance-api.service"]
# Asks http://127.0.0.1:9292/versions every 0.2 s until the flag file goes,
# then prints {"requests", "failed", "longest_gap"} (seconds without an
# answer): how long the API was away while the host upgraded.
PROBE = r"""
import json, os, sys, time, urllib.request
flag, failed, total, gap_start, longest = sys.argv[1], 0, 0, None, 0.0
while os.path.exists(flag):
    total += 1
    try:
        urllib.request.urlopen("http://127.0.0.1:9292/versions", timeout=2).read()
        if gap_start is not None:
            longest, gap_start = max(longest, time.monotonic() - gap_start), None
    except Exception:
        failed += 1
        gap_start = time.monotonic() if gap_start is None else gap_start
    time.sleep(0.2)
print(json.dumps({"requests": total, "failed": failed, "longest_gap": round(longest, 1)}))
"""


def pillar(release, build, contract=True):
    """The release on the upgrade's own database, the other releases kept
    until the suite's pillar comes back. A release whose keystonemiddleware
    has no TLS to memcached (refused at render time) goes without the
    token cache: the suite's memcached speaks TLS only."""
    server = {"version": release, "install": {"method": "pypi", "build": build, "keep_previous": True},
              "database": {"name": UPGRADE_DB, **({} if contract else {"contract": False})}}
    memcache_tls_from = RELEASES["features"]["memcache_tls"][0]
    if int(RELEASES["pypi"][release]["glance"].split(".")[0]) < memcache_tls_from:
        server["cache"] = {"members": [], "ssl": {"enabled": False, "cacert_file": None}}
    return "pillar=" + json.dumps({"glance": {"server": server}})


def release_version(host, release):
    return glance_version(host, f"/opt/glance/{release}/bin/python")


def served_files(host):
    return {path: hashlib.sha256(host.file(path).content).hexdigest()
            for path in SERVED_FILES if host.file(path).exists}


def seeded_image(host):
    wait_listening(host, "0.0.0.0:9292")
    [image] = glance_client(host, LOCAL_API, "find", "pypi-seed")
    return image


def schema_revisions(host, release):
    """The upgrade database's alembic_version, read with the release's
    glance-manage."""
    cmd = host.run(f"runuser -u glance -- /opt/glance/{release}/bin/glance-manage --config-file {API_CONF} "
                   "db version")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return cmd.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def pair(host):
    wanted = PAIRS.get(platform_name(host))
    if wanted is None:
        pytest.skip(f"no upgrade pair chosen for {platform_name(host)}")
    return wanted


@pytest.fixture(scope="module")
def older(host, pair):
    """The older release on the upgrade database, its image seeded: (the
    image, the schema revision)."""
    old, _, build = pair
    rc, states = salt_call(host, "state.apply", "glance.bootstrap,glance", pillar(old, build))
    assert rc == 0, failed_first(states)
    assert f"path=/opt/glance/{old}/bin/uwsgi" in service_command(host)
    image = seeded_image(host)
    return image, schema_revisions(host, old)


def db_check(host, release):
    """(exit status, output) of the release's glance-manage db check."""
    cmd = host.run(f"runuser -u glance -- /opt/glance/{release}/bin/glance-manage --config-file {API_CONF} "
                   "db check")
    return cmd.rc, (cmd.stdout + cmd.stderr).strip()[-500:]


@pytest.fixture(scope="module")
def upgraded(host, pair, older):
    """The newer release applied to the same database while a probe asks
    the API for /versions: (the run's states, its seconds, the probe's
    figures, and for a rolling pair: db check and the seeded image's
    sha256 between the two applies, the contracting apply's states)."""
    old, new, build = pair
    rolling = (old, new) in ROLLING_SCHEMA_PAIRS
    flag = "/run/glance-upgrade-probe"
    host.run(f"touch {flag}")
    host.run(f"setsid -f python3 -c {shlex.quote(PROBE)} {flag} > /run/glance-upgrade-probe.json 2>&1")
    started = time.monotonic()
    rc, states = salt_call(host, "state.apply", "glance", pillar(new, build, contract=not rolling))
    seconds = time.monotonic() - started
    wait_listening(host, "0.0.0.0:9292")
    host.run(f"rm -f {flag}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not host.file("/run/glance-upgrade-probe.json").content_string:
        time.sleep(0.5)
    assert rc == 0, failed_first(states)
    probe = json.loads(host.file("/run/glance-upgrade-probe.json").content_string)
    between = None
    if rolling:
        expanded = db_check(host, new)
        served = glance_client(host, LOCAL_API, "digests", seeded_image(host)["id"])["sha256"]
        rc, contracted = salt_call(host, "state.apply", "glance", pillar(new, build))
        assert rc == 0, failed_first(contracted)
        between = (expanded, served, contracted)
    return states, seconds, probe, between


def test_the_older_release_serves_its_own_schema(host, pair, older):
    old, _, _ = pair
    _, revision = older
    assert release_version(host, old) == RELEASES["pypi"][old]["glance"]
    assert_schema_current(host, f"/opt/glance/{old}/bin/glance-manage")
    assert revision, "no schema revision"


def test_the_upgrade_switches_the_service_and_brings_the_schema_to_the_new_head(host, pair, older, upgraded,
                                                                                 capsys):
    old, new, build = pair
    states, seconds, probe, between = upgraded
    with capsys.disabled():
        print(f"\none-host upgrade {old} -> {new}: apply {seconds:.0f} s; /versions asked {probe['requests']} "
              f"times, {probe['failed']} failed, longest without an answer {probe['longest_gap']} s", flush=True)
    assert release_version(host, new) == RELEASES["pypi"][new]["glance"]
    assert f"path=/opt/glance/{new}/bin/uwsgi" in service_command(host)
    assert_schema_current(host, f"/opt/glance/{new}/bin/glance-manage")
    schema = next(v for v in states.values() if v["__id__"] == SCHEMA_STATE)
    _, before = older
    after = schema_revisions(host, new)
    if before != after and between:
        # The rolling way: expand and migrate, the new release serving the
        # expanded schema, then the contract alone.
        (status, said), served, contracted = between
        assert schema["changes"] == {"schema": "db expand + db migrate"}, schema
        assert status == CONTRACT_DUE, said
        assert served == SEEDED_SHA256
        contract = next(v for v in contracted.values() if v["__id__"] == SCHEMA_STATE)
        assert contract["changes"] == {"schema": "db contract"}, contract
        # Nothing else but the metadata definitions, loaded after a schema step.
        changed = {contracted[key]["__id__"] for key in changed_or_failed(contracted)}
        assert changed <= {SCHEMA_STATE, "glance-server-db-load-metadefs-cmd-run"}, changed
    elif before != after:
        # A schema change offline: the sync ran, and said so.
        assert schema["changes"] == {"schema": "db_sync"}, schema
    else:
        assert schema["changes"] == {}, schema
    for package in build:
        built = host.run(f"/opt/glance/{new}/bin/python -c 'import {package}'")
        assert built.rc == 0, f"{package} was not built: {built.stderr}"


def test_the_schema_crosses_a_change_where_the_pair_has_one(host, pair, older, upgraded):
    _, new, _ = pair
    _, before = older
    after = schema_revisions(host, new)
    if new == "2024.1":
        assert before.startswith("2023_1_contract01") and after.startswith("2024_1_contract01"), (before, after)
    else:
        assert before == after, "no migration was expected between these releases"


def test_the_images_read_back_byte_for_byte_after_the_upgrade(host, older, upgraded):
    image, _ = older
    assert seeded_image(host)["id"] == image["id"]
    assert glance_client(host, LOCAL_API, "digests", image["id"])["sha256"] == SEEDED_SHA256


def test_the_new_releases_configuration_is_valid(host, pair, upgraded):
    _, new, _ = pair
    assert_config_valid(host, f"/opt/glance/{new}/bin/oslo-config-validator")
    ini = read_ini(host, UWSGI_INI)
    if int(RELEASES["pypi"][new]["glance"].split(".")[0]) < 30:
        assert ini.get("uwsgi", "wsgi-file") == f"/opt/glance/{new}/bin/glance-wsgi-api"
    else:
        assert ini.get("uwsgi", "module") == "glance.wsgi.api:application"


def test_the_upgrade_applied_again_changes_nothing(host, pair, upgraded):
    _, new, build = pair
    rc, states = salt_call(host, "state.apply", "glance", pillar(new, build))
    assert rc == 0 and changed_or_failed(states) == {}


@pytest.fixture(scope="module")
def back_to_older(host, pair, upgraded):
    """The older release asked for again: (rc, states, the served files
    before and after, the uWSGI command before and after)."""
    old, _, build = pair
    files, command = served_files(host), service_command(host)
    rc, states = salt_call(host, "state.apply", "glance", pillar(old, build))
    return rc, states, files, served_files(host), command, service_command(host)


def test_an_older_release_than_the_schema_is_refused_before_anything_changes(host, pair, older, back_to_older):
    old, new, build = pair
    rc, states, files_before, files_after, command_before, command_after = back_to_older
    _, before = older
    if before == schema_revisions(host, new):
        # Both releases know the schema: going back is allowed and serves.
        assert rc == 0, failed_first(states)
        assert f"path=/opt/glance/{old}/bin/uwsgi" in service_command(host)
        return
    assert rc != 0
    guard = next(v for v in states.values() if v["__id__"] == GUARD_STATE)
    assert guard["result"] is False
    assert guard["comment"].startswith(f"Glance {RELEASES['pypi'][old]['glance']} does not know the schema "
                                       f"revision {schema_revisions(host, new)} of its mysql database "), guard
    assert "Glance has no downgrade" in guard["comment"]
    failed = {k: v["comment"] for k, v in states.items() if v["result"] is False and v is not guard}
    assert all("requisite" in comment.lower() for comment in failed.values()), failed
    changed = {k: v["changes"] for k, v in states.items() if v.get("changes")}
    assert changed == {}, changed
    assert files_after == files_before and command_after == command_before
    wait_listening(host, "0.0.0.0:9292")
    assert seeded_image(host)["id"]


def test_the_suites_release_comes_back_without_pip_and_the_others_go(host, pair, back_to_older):
    old, new, _ = pair
    rc, states = salt_call(host, "state.apply", "glance")
    assert rc == 0, failed_first(states)
    venv = next(v for v in states.values() if v["__id__"] == "glance-server-install-pypi-venv-installed")
    assert venv["changes"] == {} and venv["comment"].startswith(f"/opt/glance/{SUITE_RELEASE} is current")
    assert f"path=/opt/glance/{SUITE_RELEASE}/bin/uwsgi" in service_command(host)
    previous = next(v for v in states.values() if v["__id__"] == PREVIOUS_STATE)
    gone = {release for release in (old, new) if release != SUITE_RELEASE}
    assert {f"/opt/glance/{release}" for release in gone} <= set(previous["changes"]["removed"]), previous
    for release in gone:
        assert not host.file(f"/opt/glance/{release}").exists
        assert not host.file(f"/opt/glance/{release}.constraints.txt").exists
        assert host.run(f"ls -d /opt/glance/{release}-*").rc != 0
    assert host.file(f"/opt/glance/{SUITE_RELEASE}").is_symlink
    wait_listening(host, "0.0.0.0:9292")
    [image] = glance_client(host, LOCAL_API, "find", "pypi-seed")
    assert glance_client(host, LOCAL_API, "digests", image["id"])["sha256"] == SEEDED_SHA256
    rc, states = salt_call(host, "state.apply", "glance")
    assert rc == 0 and changed_or_failed(states) == {}
