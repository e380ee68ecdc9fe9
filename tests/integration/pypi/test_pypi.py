"""PyPI suite, on the Glance node: Glance 2026.2 from PyPI in a virtualenv
of its own, pinned by the release's upper-constraints that the formula
carries, running under the wheel's uWSGI with the formula's unit, its
images in the controller's Ceph. Nothing of Glance comes from the
distribution."""
import json
import pathlib
import shlex

import pytest
import yaml

from glance_checks import (
    API_CONF,
    KEYSTONE_TOKEN,
    admin_env,
    assert_clean_logs,
    assert_config_valid,
    assert_locations_guarded,
    assert_private,
    assert_schema_current,
    assert_secrets_not_on_command_lines,
    assert_security_guide_checks,
    assert_service_running,
    glance_client,
    glance_user_env,
    pillar_secrets,
    rbd_image_digests,
    read_ini,
    service_command,
    wait_listening,
)
from tempest_checks import glance_version

REPO = pathlib.Path(__file__).resolve().parents[3]
PILLAR = yaml.safe_load((REPO / "tests" / "pillar" / "pypi.sls").read_text())["glance"]
SERVER = PILLAR["server"]
STORAGE = SERVER["storage"]
RELEASE = SERVER["version"]
RELEASES = yaml.safe_load((REPO / "glance" / "parameters" / "releases.yaml").read_text())
GLANCE_VERSION = RELEASES["pypi"][RELEASE]["glance"]
CONSTRAINTS = REPO / "glance" / "files" / "constraints" / f"{RELEASE}.txt"
VENV = f"/opt/glance/{RELEASE}"
UWSGI_INI = "/etc/glance/glance-api-uwsgi.ini"
RBD = f"rbd --id {STORAGE['user']} -c /etc/ceph/ceph.conf"
SEEDED_SHA256 = "fcc930424a19524bafae38fe7f9976dd901bd8822b27a08e8a1e9021faeb6d10"
GLANCE = glance_user_env(SERVER)


def pins():
    """{normalised name: version} of the release's constraints, for this
    host's Python (markers are not evaluated: the pins checked below are
    the ones without markers or the one the venv has)."""
    result = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "===" not in line:
            continue
        name, version = line.split(";", 1)[0].split("===")
        result.setdefault(normalise(name), set()).add(version.strip())
    return result


def normalise(name):
    return name.lower().replace("_", "-").replace(".", "-")


@pytest.fixture(scope="module")
def api(host):
    wait_listening(host, "0.0.0.0:9292")
    return read_ini(host, API_CONF)


def test_the_release_serves_from_its_own_virtualenv(host):
    """/opt/glance/<release> is the link to the complete build, which
    records what it was built from; no other build of the release is left."""
    link = host.file(VENV)
    assert link.is_symlink, f"{VENV} is not a link"
    target = link.linked_to
    assert target.startswith(f"{VENV}-"), target
    recorded = json.loads(host.file(f"{target}/glance-formula-venv.json").content_string)
    assert f"glance=={GLANCE_VERSION}" in recorded["spec"]["requirements"]
    builds = host.run(f"ls -d {VENV}-*")
    assert builds.stdout.split() == [target], builds.stdout


def test_glance_is_the_releases_version_and_nothing_comes_from_the_distribution(host):
    assert glance_version(host, f"{VENV}/bin/python") == GLANCE_VERSION
    for package in ("glance-api", "glance-common", "python3-glance", "python3-glance-store", "uwsgi"):
        assert not host.package(package).is_installed, f"{package} is installed from the distribution"


def test_every_pinned_distribution_is_at_its_pin(host):
    """What pip installed follows the release's upper-constraints: each
    distribution that the constraints name is at a version they pin."""
    listed = host.run(f"{VENV}/bin/python -m pip list --format json --disable-pip-version-check")
    assert listed.rc == 0, listed.stderr
    installed = {normalise(d["name"]): d["version"] for d in json.loads(listed.stdout)}
    pinned = pins()
    checked = {name: version for name, version in installed.items() if name in pinned}
    off = {name: (version, sorted(pinned[name])) for name, version in checked.items()
           if version not in pinned[name]}
    assert not off, f"not at their upper-constraints pins: {off}"
    # Most of what Glance needs is pinned (its own name is not).
    assert len(checked) > 80, len(checked)
    assert "glance" not in pinned and installed["glance"] == GLANCE_VERSION


def test_ceph_bindings_are_the_distributions(host):
    """rados and rbd in the virtualenv are links to the modules of
    python3-rados and python3-rbd, and import there."""
    purelib = host.check_output(f"{VENV}/bin/python -c "
                                "'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])'").strip()
    for module in ("rados", "rbd"):
        links = host.run(f"ls {purelib}/{module}.*so")
        assert links.rc == 0, f"no {module} module in {purelib}"
        linked = host.file(links.stdout.split()[0])
        assert linked.is_symlink and linked.linked_to.startswith("/usr/lib/python3/dist-packages/"), linked.path
    imported = host.run(f"{VENV}/bin/python -c 'import rados, rbd'")
    assert imported.rc == 0, imported.stderr


def test_glance_api_runs_the_virtualenvs_uwsgi(host, api):
    assert_service_running(host, "glance-api")
    unit = service_command(host)
    assert f"path={VENV}/bin/uwsgi" in unit, unit
    ini = read_ini(host, UWSGI_INI)
    assert ini.get("uwsgi", "module") == "glance.wsgi.api:application"
    assert ini.get("uwsgi", "http-socket") == "0.0.0.0:9292"
    assert not ini.has_option("uwsgi", "plugins"), "the wheel's uWSGI takes no plugin"
    # Glance 33 has no eventlet server: no bind options in glance-api.conf.
    assert not api.has_option("DEFAULT", "bind_port")
    processes = host.run("pgrep -u glance -a -f uwsgi")
    assert processes.rc == 0 and f"{VENV}/bin/uwsgi" in processes.stdout, processes.stdout


def test_paste_and_log_come_with_the_release(host, api):
    paste = api.get("paste_deploy", "config_file")
    assert paste == f"{VENV}/etc/glance/glance-api-paste.ini"
    assert host.file(paste).is_file
    assert api.get("DEFAULT", "log_file") == "/var/log/glance/glance-api.log"
    log = host.file("/var/log/glance/glance-api.log")
    assert log.is_file and log.user == "glance"


def test_user_and_directories_as_the_packages_make_them(host):
    user = host.user("glance")
    assert user.exists and user.group == "glance" and user.home == "/var/lib/glance"
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000, "not a system user"
    etc = host.file("/etc/glance")
    assert (etc.user, etc.group, etc.mode) == ("root", "glance", 0o750)
    logs = host.file("/var/log/glance")
    assert (logs.user, logs.group, logs.mode) == ("glance", "glance", 0o750)
    for path in (API_CONF, UWSGI_INI, "/etc/glance/policy.yaml", "/etc/ceph/ceph.conf",
                 f"/etc/ceph/ceph.client.{STORAGE['user']}.keyring"):
        assert_private(host, path)


def test_security_guide_checks(host):
    assert_security_guide_checks(host, keystone=True)


def test_schema_current(host):
    assert_schema_current(host, f"{VENV}/bin/glance-manage")


def test_config_valid_for_the_virtualenvs_glance(host):
    assert_config_valid(host, f"{VENV}/bin/oslo-config-validator")


def test_seeded_image_reads_back_from_ceph(host, api):
    local_api = dict(GLANCE, OS_ENDPOINT="http://127.0.0.1:9292")
    images = glance_client(host, local_api, "find", "pypi-seed")
    assert [i["status"] for i in images] == ["active"], images
    digests = glance_client(host, local_api, "digests", images[0]["id"])
    assert digests["sha256"] == SEEDED_SHA256
    assert rbd_image_digests(host, RBD, STORAGE["pool"], images[0]["id"]) == digests


# Runs on the node: the metadata namespaces Glance serves, as the glance
# user (the password on stdin).
NAMESPACES = KEYSTONE_TOKEN + r"""
import sys
token = keystone_token(sys.argv[1], sys.argv[2], sys.stdin.read(), sys.argv[3], 60)
req = urllib.request.Request("http://127.0.0.1:9292/v2/metadefs/namespaces?limit=1000",
                             headers={"X-Auth-Token": token})
print(json.dumps([n["namespace"] for n in json.load(urllib.request.urlopen(req, timeout=60))["namespaces"]]))
"""


def test_metadata_definitions_from_the_virtualenv_loaded(host, api):
    args = " ".join(shlex.quote(a) for a in (GLANCE["OS_AUTH_URL"], GLANCE["OS_USERNAME"], GLANCE["OS_PROJECT_NAME"]))
    cmd = host.run(f"printf '%s' {shlex.quote(GLANCE['OS_PASSWORD'])} | python3 -c {shlex.quote(NAMESPACES)} {args}")
    assert cmd.rc == 0, cmd.stderr
    namespaces = json.loads(cmd.stdout)
    assert "OS::Compute::Libvirt" in namespaces and len(namespaces) == len(set(namespaces))


def test_no_secret_on_command_lines(host, api):
    assert_secrets_not_on_command_lines(host, sorted(pillar_secrets(PILLAR)))


def test_clean_logs(host, api):
    assert_clean_logs(host)


def test_locations_shown_to_the_service_role_only(host):
    """Off by default (OSSN-0065/0090); the location API of Glance 33 gives
    the seeded (public) image's one rbd location to the service role, not
    to a member."""
    [image] = glance_client(host, GLANCE, "find", SERVER["images"][0]["name"])
    admin = admin_env(PILLAR["bootstrap"], SERVER["identity"]["region"])
    assert_locations_guarded(host, GLANCE, admin, image["id"], int(GLANCE_VERSION.split(".")[0]))


# Sends one memcached command from the Glance node to HOST:PORT, over TLS
# verified with the CA file (or plain TCP when it is "-"), and prints what
# came back before END or the end of the connection.
MEMCACHED_EXCHANGE = r"""
import socket, ssl, sys
host, port, cafile, command = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sock = socket.create_connection((host, port), timeout=5)
if cafile != "-":
    sock = ssl.create_default_context(cafile=cafile).wrap_socket(sock, server_hostname=host)
sock.sendall(command.encode() + b"\r\n")
answer = b""
try:
    while not answer.endswith(b"END\r\n") and not answer.startswith(b"VERSION"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
except OSError as error:
    answer += f"[{type(error).__name__}]".encode()
sys.stdout.write(answer.decode(errors="replace"))
"""


def memcached_exchange(host, command, cafile):
    cache = SERVER["cache"]["members"][0]
    cmd = host.run(f"python3 -c {shlex.quote(MEMCACHED_EXCHANGE)} {cache['host']} {cache['port']} {cafile} "
                   f"{shlex.quote(command)}")
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout


def test_token_cache_speaks_tls_to_memcached(host, api):
    """cache:ssl: keystonemiddleware's token cache reaches memcached over
    TLS, verified with the pillar's CA; memcached there answers no plain
    client. The token Glance validated for a request is among memcached's
    keys (tokens/...), read back over TLS."""
    ssl = SERVER["cache"]["ssl"]
    assert ssl["enabled"]
    authtoken = api["keystone_authtoken"]
    assert authtoken["memcache_tls_enabled"] == "true"
    assert authtoken["memcache_tls_cafile"] == ssl["cacert_file"]
    assert authtoken["memcache_use_advanced_pool"] == "true"
    plain = memcached_exchange(host, "version", "-")
    assert "VERSION" not in plain, plain
    assert memcached_exchange(host, "version", ssl["cacert_file"]).startswith("VERSION ")
    assert glance_client(host, GLANCE, "find", SERVER["images"][0]["name"])
    keys = [line.split()[0] for line in memcached_exchange(host, "lru_crawler metadump all",
                                                           ssl["cacert_file"]).splitlines()]
    assert any(key.startswith("key=tokens%2F") for key in keys), keys[:20]


# The virtualenv's requests against a TLS server of the suite (the
# controller's memcached: its certificate is from the suite's CA): prints
# SSLError when the certificate is refused, else "verified" (the handshake
# passed; memcached then answers no HTTP).
REQUESTS_VERIFY = r"""
import sys, requests
try:
    requests.get("https://%s:%s/" % (sys.argv[1], sys.argv[2]), timeout=10)
    print("verified")
except requests.exceptions.SSLError:
    print("SSLError")
except requests.exceptions.RequestException:
    print("verified")
"""


def test_glance_api_trusts_the_hosts_ca_bundle(host, api):
    """requests in a virtualenv trusts certifi's bundle, not the host's:
    glance-api's uWSGI sets REQUESTS_CA_BUNDLE to the host's, where the
    site's CA is (here the suite's, which test_services.tls added). With
    it, a server that CA signed verifies; without it, it is refused."""
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    assert read_ini(host, UWSGI_INI).get("uwsgi", "env") == f"REQUESTS_CA_BUNDLE={bundle}"
    cache = SERVER["cache"]["members"][0]
    script = f"{VENV}/bin/python -c {shlex.quote(REQUESTS_VERIFY)} {cache['host']} {cache['port']}"
    trusted = host.run(f"env REQUESTS_CA_BUNDLE={bundle} {script}")
    assert (trusted.rc, trusted.stdout.strip()) == (0, "verified"), trusted.stdout + trusted.stderr
    default = host.run(f"env -u REQUESTS_CA_BUNDLE {script}")
    assert (default.rc, default.stdout.strip()) == (0, "SSLError"), default.stdout + default.stderr
