"""Single-ceph suite: Ceph's OSD goes down while glance.server.images
seeds a new image.

- With the formula's access check (the default), the apply stops at the
  check, which names the store, the client and the pool; no image is
  created.
- With the check off (ceph:check_access: false, for sites where Ceph comes
  up after Glance), the upload itself meets the outage: glance-api's Ceph
  client gives up after ceph:op_timeout, the state fails naming the store,
  and the unfinished image is deleted.
Either way nothing is left queued, saving or killed, no secret is shown;
once the OSD is back the next apply seeds the image, and the image seeded
before downloads byte-identical. First in the suite (file order); it leaves
the host as the suite's pillar makes it."""
import copy
import json
import pathlib
import time

import pytest
import yaml

from glance_checks import (
    apply_suite_pillar_once,
    changed_or_failed,
    file_digests,
    glance_client,
    glance_user_env,
    salt_call,
    salt_call_shown,
    timed,
    wait_listening,
)

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
SERVER = yaml.safe_load((PILLAR_DIR / "single_ceph.sls").read_text())["glance"]["server"]
SECRETS = [SERVER["database"]["password"], SERVER["identity"]["password"],
           SERVER["message_queue"]["password"], SERVER["storage"]["client_glance_key"]]
GLANCE = glance_user_env(SERVER)
SOURCE_DIR = "/srv/image-source"
[SEEDED] = SERVER["images"]
# A new image from the same source, seeded during the outage.
NEW = dict(copy.deepcopy(SEEDED), name="seed-during-outage")
OSD = "ceph-osd@0"
OP_TIMEOUT = 20  # seconds: shorter than the default 60, to keep the suite quick


def images_pillar(**server):
    return "pillar=" + json.dumps({"glance": {"server": dict(server, images=SERVER["images"] + [NEW])}})


def find(host, name):
    return glance_client(host, GLANCE, "find", name)


def wait_writable(host, seconds=180):
    """Until the test Ceph takes a write in the images pool again."""
    deadline = time.monotonic() + seconds
    probe = f"rados --cluster testceph -p {SERVER['storage']['pool']}"
    while True:
        cmd = host.run(f"timeout 15 {probe} put outage-probe /etc/hostname && {probe} rm outage-probe")
        if cmd.rc == 0:
            return
        assert time.monotonic() < deadline, f"Ceph takes no write {seconds} s after the OSD started: {cmd.stderr}"
        time.sleep(3)


def state_of(states, prefix, name=None):
    found = [v for k, v in states.items() if k.startswith(prefix) and name in (None, v["name"])]
    assert len(found) == 1, sorted(states)
    return found[0]


@pytest.fixture(scope="module")
def seeded_before(host):
    wait_listening(host, "0.0.0.0:9292")
    [image] = find(host, SEEDED["name"])
    return image["id"], glance_client(host, GLANCE, "digests", image["id"])


@pytest.fixture(scope="module")
def outage(host, seeded_before):
    """The two applies while the OSD is stopped, and what Glance held then.
    The OSD is started again whatever happened."""
    assert find(host, NEW["name"]) == [], "the image of the outage exists before it"
    stop = host.run(f"systemctl stop {OSD}")
    assert stop.rc == 0, stop.stderr
    try:
        checked = timed(salt_call_shown, host, "state.apply", "glance.server.images", images_pillar())
        left_after_check = find(host, NEW["name"])
        unchecked = timed(salt_call_shown, host, "state.apply", "glance.server.images",
                          images_pillar(ceph={"check_access": False, "op_timeout": OP_TIMEOUT}))
        left_after_upload = find(host, NEW["name"])
    finally:
        start = host.run(f"systemctl start {OSD}")
        assert start.rc == 0, start.stderr
        wait_writable(host)
    return {"checked": checked, "unchecked": unchecked,
            "left_after_check": left_after_check, "left_after_upload": left_after_upload}


@pytest.fixture(scope="module")
def recovered(host, outage):
    """The next apply once Ceph is back (the suite's pillar and the new image)."""
    result = salt_call(host, "state.apply", "glance", images_pillar())
    yield result
    for image in find(host, NEW["name"]):
        glance_client(host, GLANCE, "delete", image["id"])
    apply_suite_pillar_once(host, [])


def test_access_check_stops_the_apply_naming_store_and_pool(outage):
    (rc, states, shown), seconds = outage["checked"]
    assert rc != 0
    check = state_of(states, "glance_store_|-")
    assert check["result"] is False
    for part in ["Ceph store rbd", f"client.{SERVER['storage']['user']}", f"pool {SERVER['storage']['pool']}",
                 "Ceph did not answer within 30 s", "timeout"]:
        assert part in check["comment"], check["comment"]
    seeding = state_of(states, "glance_image_|-", NEW["name"])
    assert seeding["result"] is False and "requisite failed" in seeding["comment"]
    assert outage["left_after_check"] == [], "an image was created although the check failed"
    # The check's own bound (30 s per Ceph operation), not Ceph's 300 s.
    assert seconds < 120, f"the failed apply took {seconds:.0f} s"


def test_upload_into_a_down_store_fails_naming_it(outage):
    (rc, states, shown), seconds = outage["unchecked"]
    assert rc != 0
    seeding = state_of(states, "glance_image_|-", NEW["name"])
    assert seeding["result"] is False
    assert seeding["comment"].startswith(
        f"Glance could not store the data of image {NEW['name']} in store rbd: "), seeding["comment"]
    # Bounded by ceph:op_timeout on glance-api's side; without it the
    # upload hangs for as long as the OSD is down.
    assert seconds < 6 * OP_TIMEOUT, f"the failed apply took {seconds:.0f} s"


def test_outage_leaves_no_unfinished_image(outage):
    assert outage["left_after_check"] == [] and outage["left_after_upload"] == [], outage


def test_outage_shows_no_secret(outage):
    for run in ("checked", "unchecked"):
        (_, _, shown), _ = outage[run]
        leaked = [i for i, secret in enumerate(SECRETS) if secret in shown]
        assert not leaked, f"secret number {leaked} of the pillar shows in the {run} run's output"


def test_next_apply_seeds_the_image(host, recovered):
    rc, states = recovered
    assert rc == 0, changed_or_failed(states)
    [image] = find(host, NEW["name"])
    assert image["status"] == "active"
    source = file_digests(host, f"{SOURCE_DIR}/{NEW['source'].rsplit('/', 1)[-1]}")
    assert glance_client(host, GLANCE, "digests", image["id"]) == source


def test_image_stored_before_is_intact(host, recovered, seeded_before):
    image_id, digests = seeded_before
    [image] = find(host, SEEDED["name"])
    assert image["id"] == image_id and image["status"] == "active"
    assert glance_client(host, GLANCE, "digests", image_id) == digests
