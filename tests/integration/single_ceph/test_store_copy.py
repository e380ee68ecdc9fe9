"""Single-ceph suite, multistore: the suite's pillar with `storage` replaced
by `stores` (the same rbd pool, client and key as store `ceph`, the default,
and a file store `local`). An image uploaded to `local` is copied to `ceph`
with the image import API's copy-image: it ends with the data in both (the
rbd image and the file) and both in its `stores`. The suite's own pillar
then converges the host back. Before that, Tempest's image API tests run
against the two stores (copy-image between them included; see
tempest_checks.py). After test_single_ceph.py (file order): it restarts
glance-api twice, and Tempest's negative tests leave errors in the Glance
logs, which test_single_ceph.py checks before."""
import json
import pathlib
import time
import uuid

import pytest
import yaml

from glance_checks import (
    apply_suite_pillar_once,
    changed_or_failed,
    file_digests,
    glance_client,
    glance_stores_client,
    glance_user_env,
    salt_call,
    wait_listening,
)
from tempest_checks import run_image_api

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
PILLAR = yaml.safe_load((PILLAR_DIR / "single_ceph.sls").read_text())
SERVER = PILLAR["glance"]["server"]
STORAGE = SERVER["storage"]
GLANCE = glance_user_env(SERVER)
# The test Ceph's administrator (tests/salt/test_services/ceph.sls).
RBD = "rbd --cluster testceph"
FILE_DIR = "/var/lib/glance/images"
# Null: a pillar override is merged key by key, so storage must be removed.
OVERRIDE = {"glance": {"server": {
    "storage": None,
    "stores": {
        "ceph": {"type": "rbd", "pool": STORAGE["pool"], "user": STORAGE["user"],
                 "chunk_size": STORAGE["chunk_size"], "client_glance_key": STORAGE["client_glance_key"]},
        "local": {"type": "file"},
    },
    "default_store": "ceph",
}}}


@pytest.fixture(scope="module")
def reapplied():
    """The suite's own pillar applied again, once: the result, when it ran."""
    return []


@pytest.fixture(scope="module")
def multistore(host, reapplied):
    """glance applied with OVERRIDE; afterwards the suite's own pillar again,
    whatever happened."""
    try:
        rc, states = salt_call(host, "state.apply", "glance", "pillar=" + json.dumps(OVERRIDE))
        assert rc == 0, changed_or_failed(states)
        wait_listening(host, "0.0.0.0:9292")
        yield states
    finally:
        apply_suite_pillar_once(host, reapplied)


@pytest.fixture
def upload(host):
    name = f"copy-image-{uuid.uuid4().hex[:10]}"
    path = f"/var/tmp/{name}.raw"
    cmd = host.run(f"head -c {3 * 2**20 + 511} /dev/urandom > {path}")
    assert cmd.rc == 0, cmd.stderr
    yield {"name": name, "path": path, "digests": file_digests(host, path)}
    for image in glance_client(host, GLANCE, "find", name):
        glance_client(host, GLANCE, "delete", image["id"])
    host.run(f"rm -f {path}")


def test_both_stores_served_and_checked(host, multistore):
    [check] = [v for k, v in multistore.items() if k.startswith("glance_store_|-")]
    assert check["result"] is True and "reaches pool" in check["comment"], check["comment"]
    stores = {s["id"]: s for s in glance_stores_client(host, GLANCE, "stores")["stores"]}
    assert set(stores) == {"ceph", "local"}
    # The API says "true" (a string), not every release the same way.
    assert str(stores["ceph"].get("default")).lower() == "true", stores
    assert "default" not in stores["local"], stores


def test_file_image_copied_to_rbd(host, multistore, upload):
    image = glance_stores_client(host, GLANCE, "upload", upload["name"], upload["path"], "local")
    assert (image["status"], image["stores"], image["size"]) == ("active", "local", upload["digests"]["size"])
    assert file_digests(host, f"{FILE_DIR}/{image['id']}") == upload["digests"]

    glance_stores_client(host, GLANCE, "copy", image["id"], "ceph")
    deadline = time.monotonic() + 180
    while True:
        image = glance_stores_client(host, GLANCE, "show", image["id"])
        if set(image["stores"].split(",")) == {"local", "ceph"} or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert set(image["stores"].split(",")) == {"local", "ceph"}, image
    assert image["status"] == "active"
    # Both locations hold the data: the file, and the rbd image's snapshot.
    assert file_digests(host, f"{FILE_DIR}/{image['id']}") == upload["digests"]
    export = f"/var/tmp/rbd-export-{image['id']}"
    try:
        cmd = host.run(f"{RBD} export --no-progress {STORAGE['pool']}/{image['id']}@snap {export}")
        assert cmd.rc == 0, cmd.stderr
        assert file_digests(host, export) == upload["digests"]
    finally:
        host.run(f"rm -f {export}")
    assert glance_client(host, GLANCE, "digests", image["id"]) == upload["digests"]


def test_tempest_image_api_on_two_stores(host, multistore, capsys):
    def report(line):
        with capsys.disabled():
            print(f"\n{line}", flush=True)

    # The suite's pillar with OVERRIDE merged, as the host was applied.
    server = {**SERVER, **OVERRIDE["glance"]["server"]}
    del server["storage"]
    counts = run_image_api(host, server, PILLAR["glance"]["bootstrap"], "single-ceph multistore", report)
    assert counts["failed"] == 0


def test_suite_pillar_converges_back(host, multistore, reapplied):
    rc, states = apply_suite_pillar_once(host, reapplied)
    assert rc == 0, changed_or_failed(states)
    wait_listening(host, "0.0.0.0:9292")
    rc, dry = salt_call(host, "state.apply", "glance", "test=True")
    assert rc == 0 and changed_or_failed(dry) == {}
    conf = host.run("grep -E '^(enabled_backends|default_backend)' /etc/glance/glance-api.conf")
    assert conf.stdout.split() == ["enabled_backends", "=", "rbd:rbd", "default_backend", "=", "rbd"], conf.stdout
