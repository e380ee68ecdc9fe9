"""Cluster suite, on each Glance node (glance-1 primary, glance-2 secondary):
both serve the same database and the shared file store, so an image uploaded
through one node downloads, byte for byte, through the other."""
import json
import urllib.parse

import pytest

from glance_checks import (
    API_CONF,
    assert_clean_logs,
    assert_config_valid,
    assert_private,
    assert_schema_current,
    assert_secrets_not_on_command_lines,
    assert_service_running,
    glance_client,
    read_ini,
    wait_listening,
)

PASSWORDS = ["Cluster$db@pw", "Cluster$ks@pw", "Cluster$mq@pw"]


def written_forms(passwords):
    """As they are, URL-quoted (database and transport URLs) and with
    oslo.config's $ escaped."""
    return sorted({form for p in passwords
                   for form in (p, urllib.parse.quote(p, safe=""), p.replace("$", "$$"))})


# tests/pillar/cluster.sls: cluster-seed, the controller's pattern.raw.
SEEDED_SHA256 = "fcc930424a19524bafae38fe7f9976dd901bd8822b27a08e8a1e9021faeb6d10"
GLANCE = {
    "OS_AUTH_URL": "http://controller:5000/v3",
    "OS_IDENTITY_API_VERSION": "3",
    "OS_USERNAME": "glance",
    "OS_PASSWORD": "Cluster$ks@pw",
    "OS_PROJECT_NAME": "service",
    "OS_USER_DOMAIN_NAME": "Default",
    "OS_PROJECT_DOMAIN_NAME": "Default",
    "OS_REGION_NAME": "RegionOne",
}
# Runs inside a node: uploads this node's probe through the node's own API
# (127.0.0.1:9292), then downloads every node's probe through it and checks
# each against the digest recorded at upload. The password comes on stdin.
PROBE = r"""
import hashlib, json, socket, sys, urllib.request
password = sys.stdin.read()
auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "glance", "domain": {"name": "Default"}, "password": password}}},
    "scope": {"project": {"name": "service", "domain": {"name": "Default"}}}}}
req = urllib.request.Request("http://controller:5000/v3/auth/tokens", json.dumps(auth).encode(),
                             {"Content-Type": "application/json"})
token = urllib.request.urlopen(req, timeout=30).headers["X-Subject-Token"]
api = "http://127.0.0.1:9292/v2/images"

def call(url, method="GET", data=None, ctype="application/json"):
    req = urllib.request.Request(url, data, {"X-Auth-Token": token, "Content-Type": ctype}, method=method)
    return urllib.request.urlopen(req, timeout=120)

name = "cluster-probe-" + socket.gethostname()
seed = hashlib.sha256(name.encode()).digest()
data = (seed * (3 * 1024 * 1024 // 32 + 1))[:3 * 1024 * 1024 + 17]
for old in json.load(call(api + "?name=" + name))["images"]:
    call(api + "/" + old["id"], "DELETE")
meta = {"name": name, "disk_format": "raw", "container_format": "bare",
        "probe_sha256": hashlib.sha256(data).hexdigest()}
image = json.load(call(api, "POST", json.dumps(meta).encode()))
call(api + "/" + image["id"] + "/file", "PUT", data, "application/octet-stream")
result = {}
for probe in json.load(call(api + "?limit=100"))["images"]:
    if probe["name"].startswith("cluster-probe-"):
        body = call(api + "/" + probe["id"] + "/file").read()
        result[probe["name"]] = hashlib.sha256(body).hexdigest() == probe["probe_sha256"]
namespaces = [ns["namespace"] for ns in
              json.load(call("http://127.0.0.1:9292/v2/metadefs/namespaces?limit=1000"))["namespaces"]]
print(json.dumps({"uploaded": name, "downloads": result, "namespaces": namespaces}))
"""


@pytest.fixture(scope="module")
def api(host):
    wait_listening(host, "0.0.0.0:9292")
    return read_ini(host, API_CONF)


@pytest.fixture(scope="module")
def hostname(host):
    return host.check_output("hostname").strip()


def test_files_are_private(host):
    assert_private(host, API_CONF)


def test_members_and_shared_settings(api):
    assert api.get("DEFAULT", "transport_url") == (
        "rabbit://openstack:Cluster%24mq%40pw@controller:5672,"
        "openstack:Cluster%24mq%40pw@controller:5673/%2Fopenstack")
    assert api.get("database", "connection") == (
        "mysql+pymysql://glance:Cluster%24db%40pw@controller:3306/glance?charset=utf8")
    assert api.get("keystone_authtoken", "memcached_servers") == "controller:11211"


def test_service_running(host, api):
    assert_service_running(host, "glance-api")


def test_schema_current(host):
    assert_schema_current(host)


def test_config_valid_for_installed_glance(host):
    assert_config_valid(host)


@pytest.fixture(scope="module")
def probe(host, api):
    cmd = host.run(f"printf '%s' '{GLANCE['OS_PASSWORD']}' | python3 -c '{PROBE}'")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return json.loads(cmd.stdout.strip().splitlines()[-1])


def test_metadata_definitions_loaded_once(probe):
    # Loaded by the primary after its db_sync; seen through every node.
    assert "OS::Compute::Libvirt" in probe["namespaces"]
    assert len(probe["namespaces"]) == len(set(probe["namespaces"]))


def test_upload_here_download_everywhere(probe, hostname):
    """The nodes' tests run one after the other, so the second node also
    downloads the first node's upload through its own API."""
    result = probe
    # The check below is the secondary's: a renamed node would skip it.
    assert hostname in ("glance-1", "glance-2"), hostname
    assert result["uploaded"] == f"cluster-probe-{hostname}"
    assert result["downloads"].get(result["uploaded"]) is True, result
    assert all(result["downloads"].values()), f"a probe downloaded through {hostname} differs: {result}"
    if hostname != "glance-1":
        # The secondary also reads what the primary uploaded.
        assert result["downloads"].get("cluster-probe-glance-1") is True, result


def test_primary_seeded_the_pillar_image_once(host, api):
    """cluster.sls declares cluster-seed on both nodes; only the primary
    seeds, so there is one image, and this node serves its data."""
    local_api = dict(GLANCE, OS_ENDPOINT="http://127.0.0.1:9292")
    images = glance_client(host, local_api, "find", "cluster-seed")
    assert [i["status"] for i in images] == ["active"], images
    digests = glance_client(host, local_api, "digests", images[0]["id"])
    assert digests["sha256"] == SEEDED_SHA256
    assert images[0]["visibility"] == "public"


def test_no_password_on_command_lines(host, api):
    assert_secrets_not_on_command_lines(host, written_forms(PASSWORDS))


# The controller's failover test stops the first RabbitMQ member on purpose:
# oslo.messaging's reconnection errors are expected then, nothing else is
# (a notification it drops is logged by another logger, and still fails).
STOPPED_MEMBER = r"ERROR oslo\.messaging\._drivers\.impl_rabbit .*(controller:5672|ECONNREFUSED|Connection refused)"


def test_clean_logs(host, api):
    assert_clean_logs(host, provoked=[STOPPED_MEMBER])
