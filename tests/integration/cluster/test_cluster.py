"""Cluster suite, on each Glance node (glance-1 primary, glance-2 secondary):
both serve the same database and store their images in the controller's
Ceph (one rbd pool, reached over the suite's network as `controller`), so an
image uploaded through one node downloads, byte for byte, through the other,
and no image data stays on a node."""
import json
import pathlib
import shlex
import urllib.parse

import pytest
import yaml

from glance_checks import (
    API_CONF,
    KEYSTONE_TOKEN,
    UWSGI_INI,
    api_scheme,
    assert_clean_logs,
    assert_config_valid,
    assert_https_with_the_ca_only,
    assert_one_rbd_store,
    assert_private,
    assert_schema_current,
    assert_secrets_not_on_command_lines,
    assert_security_guide_checks,
    assert_service_running,
    assert_stops_were_prompt,
    glance_client,
    http_probe,
    local_api,
    rbd_image_digests,
    read_ini,
    wait_listening,
)

PASSWORDS = ["Cluster$db@pw", "Cluster$ks@pw", "Cluster$mq@pw"]
PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
SERVER = yaml.safe_load((PILLAR_DIR / "cluster.sls").read_text())["glance"]["server"]
STORAGE = SERVER["storage"]
# The controller's test Ceph (services_ceph.sls): its fsid names the cluster
# in each image's rbd location.
FSID = yaml.safe_load((PILLAR_DIR / "services_ceph.sls").read_text())["test_services"]["ceph"]["fsid"]
CEPH_CONF = "/etc/ceph/ceph.conf"
KEYRING = f"/etc/ceph/ceph.client.{STORAGE['user']}.keyring"
# As Glance's own client, with the formula's ceph.conf and keyring: the
# node has no other Ceph credentials.
RBD = f"rbd --id {STORAGE['user']} -c {CEPH_CONF}"
CEPH = f"ceph --id {STORAGE['user']} -c {CEPH_CONF} --connect-timeout 30"
# The file store's directory of the package: unused with rbd.
IMAGES_DIR = "/var/lib/glance/images"


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
# (argv[1], on the loopback), then downloads every node's probe through it
# and checks each against the digest recorded at upload. The password comes
# on stdin.
PROBE = KEYSTONE_TOKEN + r"""
import hashlib, json, socket, sys, urllib.request
token = keystone_token("http://controller:5000/v3", "glance", sys.stdin.read(), "service", 30)
api = sys.argv[1] + "/v2/images"

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
              json.load(call(sys.argv[1] + "/v2/metadefs/namespaces?limit=1000"))["namespaces"]]
print(json.dumps({"uploaded": name, "downloads": result, "namespaces": namespaces}))
"""


@pytest.fixture(scope="module")
def api(host):
    wait_listening(host, "0.0.0.0:9292")
    return read_ini(host, API_CONF)


@pytest.fixture(scope="module")
def hostname(host):
    return host.check_output("hostname").strip()


def test_links_follow_the_proxys_scheme(host, api):
    """behind_proxy: Glance builds its links from X-Forwarded-Proto (HAProxy
    terminating TLS sets it), and from the request without it (the node's
    own scheme)."""
    assert api.get("oslo_middleware", "enable_proxy_headers_parsing") == "true"
    assert not api.has_section("cors")
    own = api_scheme(SERVER)
    other = "http" if own == "https" else "https"

    def version_links(headers):
        answer = http_probe(host, local_api(SERVER) + "/versions", "GET", headers)
        assert answer["status"] == 200, answer
        return {link["href"] for version in json.loads(answer["body"])["versions"] for link in version["links"]}

    proxied = version_links({"X-Forwarded-Proto": other})
    assert proxied and all(href.startswith(f"{other}://127.0.0.1:9292/") for href in proxied), proxied
    direct = version_links({})
    assert direct and all(href.startswith(f"{own}://127.0.0.1:9292/") for href in direct), direct


def test_files_are_private(host):
    assert_private(host, API_CONF)


# Where the formula writes bind:ssl's PEM text (root:glance 0640).
SSL_FILES = {"cert": "/etc/glance/ssl/glance-api.crt", "key": "/etc/glance/ssl/glance-api.key",
             "cacert": "/etc/glance/ssl/glance-api-ca.crt"}


def test_https_from_the_pillars_pem(host, api, hostname):
    """bind:ssl given as PEM text: the formula wrote each file, root:glance
    0640, as the pillar gives it, and uWSGI serves the certificate and
    key; a client verifies the node by its name with the CA written beside
    them, and one without that CA is refused."""
    ssl = SERVER["bind"]["ssl"]
    for key, path in SSL_FILES.items():
        written = host.file(path)
        assert (written.user, written.group, written.mode) == ("root", "glance", 0o640), path
        # Compared, never shown: one of them is a private key.
        assert written.content_string.strip() == ssl[key].strip(), f"{path} is not the pillar's {key}"
    socket = read_ini(host, UWSGI_INI).get("uwsgi", "https-socket")
    assert socket == f"0.0.0.0:9292,{SSL_FILES['cert']},{SSL_FILES['key']},HIGH", socket
    assert_https_with_the_ca_only(host, f"https://{hostname}:9292/versions", SSL_FILES["cacert"])


def test_security_guide_checks(host):
    assert_security_guide_checks(host, keystone=True)


def test_members_and_shared_settings(api):
    assert api.get("DEFAULT", "transport_url") == (
        "rabbit://openstack:Cluster%24mq%40pw@controller:5672,"
        "openstack:Cluster%24mq%40pw@controller:5673/%2Fopenstack")
    assert api.get("database", "connection") == (
        "mysql+pymysql://glance:Cluster%24db%40pw@controller:3306/glance?charset=utf8")
    assert api.get("keystone_authtoken", "memcached_servers") == "controller:11211"


def test_rbd_store_in_the_controllers_ceph(api):
    assert_one_rbd_store(api, STORAGE, CEPH_CONF)


def test_keyring_holds_the_pillar_key(host):
    assert_private(host, KEYRING)
    lines = [line.strip() for line in host.file(KEYRING).content_string.splitlines() if line.strip()]
    # Compared, never shown: the key is a secret.
    expected = [f"[client.{STORAGE['user']}]", f"key = {STORAGE['client_glance_key']}"]
    assert lines == expected, "the keyring is not the pillar's client and key"


def test_ceph_conf_names_the_controller(host):
    assert_private(host, CEPH_CONF)
    # The monitor by its name on the suite's network, not an address.
    assert read_ini(host, CEPH_CONF).get("global", "mon_host") == "controller"


# Runs on the node: the address `controller` resolves to, and which of the
# given ports there accept a TCP connection.
REACH = r"""
import json, socket, sys
address = socket.gethostbyname("controller")
reached = {}
for port in sys.argv[1:]:
    try:
        socket.create_connection((address, int(port)), timeout=5).close()
        reached[port] = True
    except OSError:
        reached[port] = False
print(json.dumps({"address": address, "reached": reached}))
"""


def test_ceph_daemons_reachable_at_the_controllers_address(host):
    """The monitor's msgr2 and v1 ports answer across the suite's network,
    and the OSD map (as Glance's client gets it) gives the OSD the
    controller's address, not a loopback one, on ports that answer too."""
    reach = host.run(f"python3 -c {shlex.quote(REACH)} 3300 6789")
    assert reach.rc == 0, reach.stderr
    mon = json.loads(reach.stdout)
    assert not mon["address"].startswith("127."), mon
    assert mon["reached"] == {"3300": True, "6789": True}, mon
    dump = host.run(f"{CEPH} osd dump -f json")
    assert dump.rc == 0, dump.stderr
    [osd] = json.loads(dump.stdout)["osds"]
    assert osd["up"] == 1, osd
    addrs = osd["public_addrs"]["addrvec"]
    assert {a["addr"].rsplit(":", 1)[0] for a in addrs} == {mon["address"]}, addrs
    ports = [a["addr"].rsplit(":", 1)[1] for a in addrs]
    osd_reach = host.run(f"python3 -c {shlex.quote(REACH)} {' '.join(ports)}")
    assert osd_reach.rc == 0, osd_reach.stderr
    assert all(json.loads(osd_reach.stdout)["reached"].values()), osd_reach.stdout


def test_glance_reaches_the_pool_as_its_client(host):
    """The formula's ceph.conf and keyring, read as the glance user, let the
    rbd client list the controller's pool: what glance-api does."""
    cmd = host.run(f"runuser -u glance -- {RBD} ls {STORAGE['pool']} --format json")
    assert cmd.rc == 0, cmd.stderr
    assert isinstance(json.loads(cmd.stdout or "[]"), list)


def test_no_image_data_on_the_node(host):
    """The images directory is the node's own (no shared mount) and holds
    no image file: the data is in Ceph."""
    mounts = host.run("cat /proc/self/mountinfo")
    assert mounts.rc == 0, mounts.stderr
    mount_points = {line.split()[4] for line in mounts.stdout.splitlines()}
    assert "/" in mount_points and IMAGES_DIR not in mount_points, f"{IMAGES_DIR} is a mount point"
    files = host.run(f"find {IMAGES_DIR} -type f")
    assert files.rc in (0, 1) and files.stdout.strip() == "", files.stdout + files.stderr


def test_service_running(host, api):
    assert_service_running(host, "glance-api")


def test_every_stop_of_glance_api_was_prompt(host):
    """The rolling update and upgrade restarted glance-api several times
    under load: no uWSGI worker outlived its master's stop until the
    worker-reload-mercy (the formula's unit signals the master alone)."""
    assert_stops_were_prompt(host)


def test_schema_current(host):
    assert_schema_current(host)


def test_config_valid_for_installed_glance(host):
    assert_config_valid(host)


@pytest.fixture(scope="module")
def probe(host, api):
    cmd = host.run(f"printf '%s' '{GLANCE['OS_PASSWORD']}' | python3 -c '{PROBE}' {local_api(SERVER)}")
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


# Runs inside a node: stages an image with glance-direct on this node (its
# own disk) and asks the other node (argv[1]; argv[2] the nodes' scheme) to
# import it: the other node proxies the import here
# (worker_self_reference_url). Waits until
# the image is active and its import task done, reads it back through the
# other node, deletes it.
STAGE_HERE_IMPORT_THERE = KEYSTONE_TOKEN + r"""
import hashlib, json, os, sys, time, urllib.request
token = keystone_token("http://controller:5000/v3", "glance", sys.stdin.read(), "service", 30)
here, there = "%s://127.0.0.1:9292/v2/images" % sys.argv[2], "%s://%s:9292/v2/images" % (sys.argv[2], sys.argv[1])

def call(url, method="GET", data=None, ctype="application/json"):
    req = urllib.request.Request(url, data, {"X-Auth-Token": token, "Content-Type": ctype}, method=method)
    with urllib.request.urlopen(req, timeout=120) as answer:
        return answer.read()

data = os.urandom(1024 * 1024 + 3)
meta = {"name": "cluster-direct-import", "disk_format": "raw", "container_format": "bare"}
image = json.loads(call(here, "POST", json.dumps(meta).encode()))
try:
    call(here + "/" + image["id"] + "/stage", "PUT", data, "application/octet-stream")
    started = time.monotonic()
    call(there + "/" + image["id"] + "/import", "POST", json.dumps({"method": {"name": "glance-direct"}}).encode())
    status = None
    while time.monotonic() - started < 120:
        shown = json.loads(call(there + "/" + image["id"]))
        status = shown["status"]
        # Active, and the import task has let go of the image (its lock,
        # os_glance_import_task): deleting it earlier makes the task fail
        # to release the lock, which Glance logs as an error.
        if status in ("killed", "deleted") or (status == "active" and "os_glance_import_task" not in shown):
            break
        time.sleep(1)
    body = call(there + "/" + image["id"] + "/file") if status == "active" else b""
    print(json.dumps({"status": status, "intact": hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest(),
                      "seconds": round(time.monotonic() - started, 1)}))
finally:
    call(here + "/" + image["id"], "DELETE")
"""


def test_glance_direct_staged_here_imports_through_the_other_node(host, api, hostname):
    """Staging is node-local; the other node proxies the import here, to
    this node's worker_self_reference_url."""
    scheme = api_scheme(SERVER)
    assert api.get("DEFAULT", "worker_self_reference_url") == f"{scheme}://{hostname}:9292"
    other = {"glance-1": "glance-2", "glance-2": "glance-1"}[hostname]
    cmd = host.run(f"printf '%s' '{GLANCE['OS_PASSWORD']}' | python3 -c '{STAGE_HERE_IMPORT_THERE}' {other} "
                   f"{scheme}")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    result = json.loads(cmd.stdout.strip().splitlines()[-1])
    assert (result["status"], result["intact"]) == ("active", True), result


def test_every_probe_is_an_rbd_image_of_the_controllers_pool(host, probe):
    """Each node's probe, read from Ceph by this node's client, holds the
    data uploaded, and its location is the controller's cluster."""
    node_api = dict(GLANCE, OS_ENDPOINT=local_api(SERVER))
    for name in probe["downloads"]:
        [image] = glance_client(host, node_api, "find", name)
        digests = rbd_image_digests(host, RBD, STORAGE["pool"], image["id"])
        assert digests["sha256"] == image["probe_sha256"], name
        assert image["direct_url"] == f"rbd://{FSID}/{STORAGE['pool']}/{image['id']}/snap"


def test_primary_seeded_the_pillar_image_once(host, api):
    """cluster.sls declares cluster-seed on both nodes; only the primary
    seeds, so there is one image, and this node serves its data."""
    node_api = dict(GLANCE, OS_ENDPOINT=local_api(SERVER))
    images = glance_client(host, node_api, "find", "cluster-seed")
    assert [i["status"] for i in images] == ["active"], images
    digests = glance_client(host, node_api, "digests", images[0]["id"])
    assert digests["sha256"] == SEEDED_SHA256
    assert images[0]["visibility"] == "public"
    # In the controller's pool, whichever node asks.
    assert rbd_image_digests(host, RBD, STORAGE["pool"], images[0]["id"]) == digests
    assert images[0]["direct_url"] == f"rbd://{FSID}/{STORAGE['pool']}/{images[0]['id']}/snap"


def test_no_secret_on_command_lines(host, api):
    assert_secrets_not_on_command_lines(host, written_forms(PASSWORDS) + [STORAGE["client_glance_key"]])


# The controller's failover test stops the first RabbitMQ member on purpose:
# oslo.messaging's reconnection errors are expected then, nothing else is
# (a notification it drops is logged by another logger, and still fails).
STOPPED_MEMBER = r"ERROR oslo\.messaging\._drivers\.impl_rabbit .*(controller:5672|ECONNREFUSED|Connection refused)"
# Its test_database_down_for_secondary.py stops MariaDB: the nodes' pooled
# connections are found dead (oslo.db's ping) or cannot be made meanwhile.
STOPPED_DATABASE = (r"ERROR oslo_db\.sqlalchemy\.engines .*DBConnectionError: .*"
                    r"(Lost connection to MySQL server|Can't connect to MySQL server on 'controller')")


def test_clean_logs(host, api):
    assert_clean_logs(host, provoked=[STOPPED_MEMBER, STOPPED_DATABASE])
