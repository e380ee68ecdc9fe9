"""Standalone suite: no pillar at all, so the formula's defaults give Glance on
127.0.0.1:9292 with SQLite, the file store and no Keystone.

Run with testinfra against the converged host:
    pytest --hosts=podman://NAME tests/integration/standalone    (harness)
    pytest --hosts=docker://ID tests/integration/standalone      (Kitchen)
"""
import json
import re
import shlex
import time

import pytest

from glance_checks import (
    ABORTED_UPLOAD,
    assert_clean_logs,
    assert_schema_behind_is_detected,
    assert_schema_current,
    assert_security_guide_checks,
    assert_service_running,
    read_ini,
)

API_CONF = "/etc/glance/glance-api.conf"
UWSGI_INI = "/etc/glance/glance-api-uwsgi.ini"
STATE_DIR = "/var/lib/glance"
IMAGES_DIR = STATE_DIR + "/images"
ENDPOINT = "http://127.0.0.1:9292"

# Fetches a URL inside the host with its own python3 (no curl needed) and
# prints the status and the body; Glance answers GET / with 300.
HTTP_GET = """
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers=dict(h.split(': ', 1) for h in sys.argv[2:]))
try:
    resp = urllib.request.urlopen(req, timeout=10)
    code, body = resp.status, resp.read()
except urllib.error.HTTPError as err:
    code, body = err.code, err.read()
print(code)
print(body.decode())
"""

# Glance majors (releases.yaml): Ussuri (20) brought enabled_backends, and
# 2026.2 (33) dropped the eventlet server, so the address moved to uWSGI.
MULTISTORE_FROM = 20
EVENTLET_UNTIL = 32


def _family(host):
    return "redhat" if host.system_info.distribution in ("rocky", "centos", "redhat", "almalinux") \
        else "debian"


def _python(host):
    return "python3"


def _api_service(host):
    return "openstack-glance-api" if _family(host) == "redhat" else "glance-api"


def glance_major(package_version):
    """Glance's major version from its package's: '2:25.0.0-5' (Debian and
    Ubuntu, with an epoch) or '30.0.0' (RDO)."""
    match = re.match(r"(?:\d+:)?(\d+)\.\d", package_version)
    assert match, f"not a Glance package version: {package_version!r}"
    return int(match.group(1))


def http_get(host, path, headers=()):
    cmd = host.run(_python(host) + " -c " + _quote(HTTP_GET) + " " + _quote(ENDPOINT + path)
                   + "".join(" " + _quote(h) for h in headers))
    assert cmd.rc == 0, f"GET {path} failed inside the host: {cmd.stderr}"
    code, _, body = cmd.stdout.partition("\n")
    return int(code), body


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


@pytest.fixture(scope="module")
def api_conf(host):
    # [DEFAULT] not merged into the other sections: a misplaced key fails.
    return read_ini(host, API_CONF)


@pytest.fixture(scope="module")
def major(host):
    package = host.package("openstack-glance" if _family(host) == "redhat" else "glance-common")
    assert package.is_installed
    return glance_major(package.version)


@pytest.fixture(scope="module")
def api_ready(host):
    """glance-api may still be starting right after the converge."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if host.socket("tcp://127.0.0.1:9292").is_listening:
            return True
        time.sleep(2)
    pytest.fail("nothing listens on 127.0.0.1:9292 after 90 s")


def test_packages_installed(host):
    names = ["openstack-glance"] if _family(host) == "redhat" else ["glance-api", "glance-common"]
    for name in names:
        assert host.package(name).is_installed, f"{name} is not installed"


def test_api_conf_owner_group_mode(host):
    conf = host.file(API_CONF)
    assert conf.is_file
    assert conf.user == "root"
    assert conf.group == "glance"
    assert conf.mode == 0o640


def test_security_guide_checks(host):
    assert_security_guide_checks(host, keystone=False)


def test_api_conf_uses_sqlite(api_conf):
    assert api_conf.get("database", "connection") == f"sqlite:///{STATE_DIR}/glance.sqlite"


def test_api_conf_has_no_keystone(api_conf):
    assert api_conf.get("paste_deploy", "flavor") == ""
    assert not api_conf.has_section("keystone_authtoken")


def test_api_conf_listens_on_loopback(host, api_conf, major):
    if major <= EVENTLET_UNTIL:
        assert api_conf.get("DEFAULT", "bind_host") == "127.0.0.1"
        assert api_conf.get("DEFAULT", "bind_port") == "9292"
    else:
        assert not api_conf.has_option("DEFAULT", "bind_host")
        assert not api_conf.has_option("DEFAULT", "bind_port")
        assert read_ini(host, UWSGI_INI).get("uwsgi", "http-socket") == "127.0.0.1:9292"


def test_api_conf_file_store(api_conf, major):
    if major >= MULTISTORE_FROM:
        backends = dict(b.strip().split(":") for b in
                        api_conf.get("DEFAULT", "enabled_backends").split(","))
        default = api_conf.get("glance_store", "default_backend")
        assert backends[default] == "file"
        assert api_conf.get(default, "filesystem_store_datadir") == IMAGES_DIR
    else:
        assert api_conf.get("glance_store", "default_store") == "file"
        assert api_conf.get("glance_store", "filesystem_store_datadir") == IMAGES_DIR


def test_images_directory(host):
    images = host.file(IMAGES_DIR)
    assert images.is_directory
    assert images.user == "glance"
    assert images.group == "glance"
    assert images.mode == 0o750


def test_sqlite_database_exists(host):
    db = host.file(f"{STATE_DIR}/glance.sqlite")
    assert db.is_file
    assert db.user == "glance"


def test_service_active_and_enabled(host):
    assert_service_running(host, _api_service(host))


def test_listens_on_loopback_only(host, api_ready):
    assert host.socket("tcp://127.0.0.1:9292").is_listening
    assert not host.socket("tcp://0.0.0.0:9292").is_listening


def test_versions_document(host, api_ready):
    code, body = http_get(host, "/")
    assert code in (200, 300), body
    versions = json.loads(body)["versions"]
    assert any(v["status"] == "CURRENT" for v in versions), versions
    assert all(v["id"].startswith("v2") for v in versions), versions


def test_lists_images_without_keystone(host, api_ready):
    # Without Keystone the paste pipeline's unauthenticated-context gives
    # every request an admin context with no project; the release's policy
    # defaults must still let it read the (empty) image list.
    code, body = http_get(host, "/v2/images")
    assert code == 200, body
    assert json.loads(body)["images"] == []


def test_schema_is_current(host):
    assert_schema_current(host)


def test_schema_behind_the_release_is_detected(host):
    def run_sql(statement):
        script = ("import sqlite3, sys\nwith sqlite3.connect('/var/lib/glance/glance.sqlite') as db:\n"
                  "    print('\\n'.join(str(row[0]) for row in db.execute(sys.argv[1])))\n")
        cmd = host.run(f"python3 -c {shlex.quote(script)} {shlex.quote(statement)}")
        assert cmd.rc == 0, cmd.stderr
        return cmd.stdout
    assert_schema_behind_is_detected(host, run_sql)


def test_no_errors_in_logs(host, api_ready):
    # Provoked by test_faults.py: a source that breaks off mid-upload, and
    # Glance's SQLite refusing the state's delete while the broken upload
    # still writes (the state tries again); the file store filled up.
    assert_clean_logs(host, provoked=[ABORTED_UPLOAD, r"\(sqlite3\.OperationalError\) database is locked",
                                      r"HTTPRequestEntityTooLarge: Image storage media is full"])


def test_no_tracebacks_in_journal(host, api_ready):
    # -q: no "-- No entries --" line, so a wrong unit name finds nothing.
    journal = host.run(f"journalctl -q -u {_api_service(host)} --no-pager -o cat")
    assert journal.rc == 0, journal.stderr
    assert journal.stdout.strip(), f"no journal entry for {_api_service(host)}"
    assert "Traceback" not in journal.stdout, journal.stdout[-4000:]
