"""Single suite: image seeding for real. The images of tests/pillar/single.sls
were seeded by the converge (from the test_services.image_source fixture);
each is downloaded back and compared with its source. Then images made here
with qemu-img go through glance.server.images: a dry run, a real run, a
re-run that changes nothing, and a wrong digest that fails and leaves no
image behind."""
import pathlib
import random
import time
import uuid

import pytest

from glance_checks import (
    ABORTED_UPLOAD,
    API_CONF,
    PROPERTY_PROBE,
    admin_env,
    apply_images,
    assert_locations_guarded,
    changed_or_failed,
    count_log_matches,
    file_digests,
    glance_client,
    keystone_url,
    local_api,
    read_ini,
    run_client,
    seeding_state,
    suite_pillar,
    wait_listening,
)
from tempest_checks import glance_major

SOURCE_DIR = "/srv/image-source"
PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
GLANCE = {
    "OS_AUTH_URL": keystone_url(suite_pillar("single")["glance"]["server"]) + "/v3",
    "OS_USERNAME": "glance",
    "OS_PASSWORD": "Ks$ecret@glance",
    "OS_PROJECT_NAME": "service",
    "OS_USER_DOMAIN_NAME": "Default",
    "OS_PROJECT_DOMAIN_NAME": "Default",
    "OS_ENDPOINT": local_api(suite_pillar("single")["glance"]["server"]),
}
# What tests/pillar/single.sls declares, as Glance should show it.
SEEDED = {
    "Seed list form": {
        "file": "pattern.qcow2",
        "fields": {"disk_format": "qcow2", "container_format": "bare", "visibility": "public"},
    },
    "seed-full-form": {
        "file": "pattern.raw",
        "fields": {"disk_format": "raw", "container_format": "bare", "visibility": "shared",
                   "protected": True, "min_disk": 1, "min_ram": 128,
                   "hw_disk_bus": "ide", "hw_vif_model": "virtio"},
        "tags": ["pattern", "seeded"],
        "sha256": "fcc930424a19524bafae38fe7f9976dd901bd8822b27a08e8a1e9021faeb6d10",
    },
}


@pytest.fixture(scope="module", autouse=True)
def api(host):
    wait_listening(host, "0.0.0.0:9292")


def find(host, name):
    return glance_client(host, GLANCE, "find", name)


def test_property_protections_hold_for_a_member_not_for_the_admin(host):
    """glance:server:property_protection: the pillar's rule in Glance's file
    and options; a member may neither set nor change the protected property
    but reads it, the admin sets it; other properties stay open (Tempest's
    members set theirs)."""
    pillar = suite_pillar("single")["glance"]
    [rule] = pillar["server"]["property_protection"]["rules"]
    api = read_ini(host, API_CONF)
    assert api.get("DEFAULT", "property_protection_file") == "/etc/glance/property-protections.conf"
    assert api.get("DEFAULT", "property_protection_rule_format") == "roles"
    protections = read_ini(host, "/etc/glance/property-protections.conf")
    assert protections.sections() == [rule["property"], ".*"]
    assert dict(protections.items(rule["property"])) == {op: ",".join(rule[op])
                                                         for op in ("create", "read", "update", "delete")}
    seen = run_client(host, admin_env(pillar["bootstrap"], "RegionTwo", GLANCE["OS_ENDPOINT"]),
                      PROPERTY_PROBE, "x_billing_code")
    assert seen == {"member_create": 403, "member_add": 403, "admin_add": 200, "member_reads": True,
                    "member_update": 403, "admin_create": 201}, seen


def test_locations_shown_to_the_service_role_only(host):
    """show_image_direct_url and show_multiple_locations are off by default;
    from Glance 29 the location API answers Glance's own service user
    (service role) and refuses a member of a project that sees the image."""
    bootstrap = suite_pillar("single")["glance"]["bootstrap"]
    [image] = find(host, "Seed list form")  # public
    admin = admin_env(bootstrap, "RegionTwo", GLANCE["OS_ENDPOINT"])
    assert_locations_guarded(host, GLANCE, admin, image["id"], glance_major(host))


@pytest.mark.parametrize("name", SEEDED)
def test_seeded_image_matches_its_source(host, name):
    expected = SEEDED[name]
    images = find(host, name)
    assert [i["status"] for i in images] == ["active"], images
    image = images[0]
    for key, value in expected["fields"].items():
        assert image.get(key) == value, key
    if "tags" in expected:
        assert sorted(image["tags"]) == expected["tags"]
    source = file_digests(host, f"{SOURCE_DIR}/{expected['file']}")
    assert glance_client(host, GLANCE, "digests", image["id"]) == source
    assert image["size"] == source["size"]
    if "sha256" in expected:
        # The fixture made the content the pillar's digests describe.
        assert source["sha256"] == expected["sha256"]


@pytest.fixture
def made_image(host):
    """A qcow2 image made here with qemu-img and qemu-io (random content, so
    Glance cannot already hold it), served by the fixture's HTTP server.
    Every image named after it is deleted afterwards."""
    name = f"made-{uuid.uuid4().hex[:10]}"
    path = f"{SOURCE_DIR}/{name}.qcow2"
    pattern = random.randrange(1, 256)
    cmd = host.run(f"qemu-img create -q -f qcow2 {path} 16M && "
                   f"qemu-io -f qcow2 -c 'write -q -P {pattern} 0 1M' {path}")
    assert cmd.rc == 0, cmd.stderr
    yield {"name": name, "url": f"http://127.0.0.1:8090/{name}.qcow2", "digests": file_digests(host, path)}
    for image in find(host, name):
        glance_client(host, GLANCE, "delete", image["id"])
    host.run(f"rm -f {path}")


def test_state_seeds_verifies_and_changes_nothing_twice(host, made_image):
    digests = made_image["digests"]
    image = {"name": made_image["name"], "source": made_image["url"], "disk_format": "qcow2",
             "visibility": "private", "properties": {"hw_disk_bus": "ide"},
             "checksums": {a: digests[a] for a in ("md5", "sha256", "sha512")}}

    rc, states = apply_images(host, [image], test=True)
    dry = seeding_state(states)
    assert (rc, dry["result"]) == (0, None), dry
    assert dry["comment"] == f"Image {image['name']} would be created from {made_image['url']}"
    assert find(host, image["name"]) == []

    rc, states = apply_images(host, [image])
    seeded = seeding_state(states)
    assert (rc, seeded["result"]) == (0, True), seeded["comment"]
    assert seeded["changes"], seeded
    [created] = find(host, image["name"])
    assert created["id"] in seeded["comment"]
    assert (created["status"], created["hw_disk_bus"]) == ("active", "ide")
    downloaded = glance_client(host, GLANCE, "digests", created["id"])
    assert downloaded == digests

    rc, states = apply_images(host, [image])
    assert (rc, changed_or_failed(states)) == (0, {})
    assert [i["id"] for i in find(host, image["name"])] == [created["id"]]


def test_wrong_digest_fails_and_leaves_no_image(host, made_image):
    actual = made_image["digests"]["sha256"]
    wrong = "0" * 64
    image = {"name": made_image["name"], "source": made_image["url"], "checksums": {"sha256": wrong}}
    aborted_before = count_log_matches(host, ABORTED_UPLOAD)
    rc, states = apply_images(host, [image])
    failed = seeding_state(states)
    assert rc != 0 and failed["result"] is False, failed
    assert wrong in failed["comment"] and actual in failed["comment"], failed["comment"]
    # The state hung up before the last chunk: Glance never had the whole image.
    deadline = time.monotonic() + 15
    while count_log_matches(host, ABORTED_UPLOAD) == aborted_before and time.monotonic() < deadline:
        time.sleep(1)
    assert count_log_matches(host, ABORTED_UPLOAD) > aborted_before
    # No image of that name in any status: nothing active, queued or saving.
    assert find(host, image["name"]) == []
