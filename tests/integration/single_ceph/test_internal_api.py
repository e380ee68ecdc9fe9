"""Single-ceph suite: OSSN-0090's internal API (glance:server:internal_api),
in runs of its own with the suite's pillar plus INTERNAL. Where the release
predates the location API (Debian 12's Zed), the run turns it on and makes
it the catalog's internal endpoint: read as Nova and Cinder read it (the
catalog's internal interface), the seeded image shows its rbd location,
while the public API hides it; a second run changes nothing; the suite's
own pillar then stops it and removes its files. Where the release has the
location API (Debian 13's 2025.1), the same pillar is refused at render
time, before any change."""
import json
import pathlib

import pytest
import yaml

from glance_checks import (
    API_CONF,
    assert_private,
    changed_or_failed,
    failed_first,
    file_digests,
    glance_client,
    glance_user_env,
    run_client,
    salt_call,
    salt_call_shown,
    wait_listening,
)
from tempest_checks import glance_major

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
PILLAR = yaml.safe_load((PILLAR_DIR / "single_ceph.sls").read_text())["glance"]
SERVER = PILLAR["server"]
FSID = yaml.safe_load((PILLAR_DIR / "services_ceph.sls").read_text())["test_services"]["ceph"]["fsid"]
PUBLIC = "http://127.0.0.1:9292"
INTERNAL_URL = "http://127.0.0.1:9293"
INTERNAL = {"glance": {
    "server": {"internal_api": {"enabled": True, "address": "127.0.0.1", "port": 9293},
               "show_image_direct_url": False},
    "bootstrap": {"identity": {"endpoints": {"internal": INTERNAL_URL}}},
}}
SLS = "glance.bootstrap,glance"
UNIT = "/etc/systemd/system/glance-api-internal.service"
INTERNAL_CONF = "/etc/glance/glance-api-internal.conf"
GLANCE = glance_user_env(SERVER)

# With the OS_* settings of glance_client: the image (first argument) as the
# Glance endpoint of the catalog's INTERFACE (second argument) in
# OS_REGION_NAME shows it, as keystoneauth finds it for Nova and Cinder:
# {"url": the endpoint, "image": the image}.
CATALOG_IMAGE = r"""
import json, os, sys, urllib.request
env = os.environ
auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": env["OS_USERNAME"], "domain": {"name": env["OS_USER_DOMAIN_NAME"]}, "password": env["OS_PASSWORD"]}}},
    "scope": {"project": {"name": env["OS_PROJECT_NAME"], "domain": {"name": env["OS_PROJECT_DOMAIN_NAME"]}}}}}
answer = urllib.request.urlopen(urllib.request.Request(
    env["OS_AUTH_URL"] + "/auth/tokens", json.dumps(auth).encode(), {"Content-Type": "application/json"}), timeout=60)
token, catalog = answer.headers["X-Subject-Token"], json.load(answer)["token"]["catalog"]
[url] = [e["url"] for s in catalog if s["type"] == "image" for e in s["endpoints"]
         if e["interface"] == sys.argv[2] and e["region_id"] == env["OS_REGION_NAME"]]
req = urllib.request.Request(url + "/v2/images/" + sys.argv[1], headers={"X-Auth-Token": token})
print(json.dumps({"url": url, "image": json.load(urllib.request.urlopen(req, timeout=60))}))
"""


@pytest.fixture(scope="module")
def turned_on(host):
    """The run that turns the internal API on: (exit code, states, output).
    Afterwards the suite's own pillar puts the host back, if the last test
    has not."""
    rc, states, output = salt_call_shown(host, "state.apply", SLS, "pillar=" + json.dumps(INTERNAL))
    yield rc, states, output
    if host.file(UNIT).exists:
        salt_call(host, "state.apply", SLS)


@pytest.fixture(scope="module")
def seeded(host):
    [image] = glance_client(host, dict(GLANCE, OS_ENDPOINT=PUBLIC), "find", SERVER["images"][0]["name"])
    return image["id"]


def before_the_location_api(host):
    if glance_major(host) >= 29:
        pytest.skip("the release has the location API: the internal API is refused there")


def test_refused_where_the_location_api_serves(host, turned_on):
    if glance_major(host) < 29:
        pytest.skip("the release predates the location API")
    rc, states, output = turned_on
    before = file_digests(host, API_CONF)
    assert rc != 0 and states == {}, failed_first(states)
    assert "glance:server:internal_api:enabled: refused for " in output
    assert "point the internal endpoint at glance-api" in output
    assert not host.file(UNIT).exists and not host.file(INTERNAL_CONF).exists
    assert file_digests(host, API_CONF) == before


def test_the_run_turns_it_on_beside_the_public_api(host, turned_on):
    before_the_location_api(host)
    rc, states, _ = turned_on
    assert rc == 0, failed_first(states)
    service = host.service("glance-api-internal")
    assert service.is_running and service.is_enabled
    wait_listening(host, "127.0.0.1:9293")
    assert not host.socket("tcp://0.0.0.0:9293").is_listening
    assert host.service("glance-api").is_running
    assert_private(host, INTERNAL_CONF)


def test_the_internal_api_shows_the_locations_the_public_one_hides(host, turned_on, seeded):
    before_the_location_api(host)
    location = f"rbd://{FSID}/{SERVER['storage']['pool']}/{seeded}/snap"
    internal = run_client(host, GLANCE, CATALOG_IMAGE, seeded, "internal")
    assert internal["url"] == INTERNAL_URL
    assert internal["image"]["direct_url"] == location
    assert [entry["url"] for entry in internal["image"]["locations"]] == [location]
    public = run_client(host, GLANCE, CATALOG_IMAGE, seeded, "public")
    assert public["url"] == PUBLIC
    assert "direct_url" not in public["image"] and "locations" not in public["image"], public


def test_applied_again_it_changes_nothing(host, turned_on):
    before_the_location_api(host)
    rc, states = salt_call(host, "state.apply", SLS, "pillar=" + json.dumps(INTERNAL))
    assert rc == 0 and changed_or_failed(states) == {}


def test_the_suites_pillar_stops_it_and_removes_its_files(host, turned_on, seeded):
    before_the_location_api(host)
    rc, states = salt_call(host, "state.apply", SLS)
    assert rc == 0, failed_first(states)
    dead = next(v for v in states.values() if v["__id__"] == "glance-server-service-glance-api-internal-dead")
    assert dead["changes"], dead
    assert not host.file(UNIT).exists and not host.file(INTERNAL_CONF).exists
    assert not host.service("glance-api-internal").is_running
    assert not host.socket("tcp://127.0.0.1:9293").is_listening
    wait_listening(host, "0.0.0.0:9292")
    # The suite's pillar: the internal endpoint and direct_url as before.
    internal = run_client(host, GLANCE, CATALOG_IMAGE, seeded, "internal")
    assert internal["url"] == PILLAR["bootstrap"]["identity"]["endpoints"]["internal"]
    assert internal["image"]["direct_url"].startswith(f"rbd://{FSID}/")
