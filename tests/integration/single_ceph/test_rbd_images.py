"""Single-ceph suite: images really live in Ceph. The image the pillar seeds
and one uploaded here through the Glance API are each an rbd image of the
pillar's pool named by the image id, with the protected snapshot `snap`
Glance's rbd driver takes; the bytes read back from rbd and downloaded
through Glance are the uploaded ones; `direct_url` is the rbd location; and
deleting the image through the API removes the rbd image."""
import json
import pathlib
import uuid

import pytest
import yaml

from glance_checks import (
    file_digests,
    glance_client,
    glance_user_env,
    openstack,
    rbd_image_digests,
    wait_listening,
)

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
SERVER = yaml.safe_load((PILLAR_DIR / "single_ceph.sls").read_text())["glance"]["server"]
FSID = yaml.safe_load((PILLAR_DIR / "services_ceph.sls").read_text())["test_services"]["ceph"]["fsid"]
POOL = SERVER["storage"]["pool"]
# rbd_store_chunk_size is in MiB; rbd's object size is 2**order bytes.
ORDER = (SERVER["storage"]["chunk_size"] * 2**20).bit_length() - 1
SOURCE_DIR = "/srv/image-source"
# The test Ceph's administrator (tests/salt/test_services/ceph.sls): what
# the cluster holds, seen apart from Glance's own client.
RBD = "rbd --cluster testceph"
GLANCE = glance_user_env(SERVER)


@pytest.fixture(scope="module", autouse=True)
def api(host):
    wait_listening(host, "0.0.0.0:9292")


def find(host, name):
    return glance_client(host, GLANCE, "find", name)


def rbd_images(host):
    cmd = host.run(f"{RBD} ls {POOL} --format json")
    assert cmd.rc == 0, cmd.stderr
    return json.loads(cmd.stdout or "[]")


def assert_rbd_image_of(host, image, digests):
    """IMAGE (as the API shows it) is the rbd image POOL/<id> with Glance's
    protected snapshot, whose bytes have DIGESTS, and direct_url names it."""
    image_id = image["id"]
    info = host.run(f"{RBD} info {POOL}/{image_id} --format json")
    assert info.rc == 0, info.stderr
    assert json.loads(info.stdout)["order"] == ORDER
    assert rbd_image_digests(host, RBD, POOL, image_id) == digests
    assert image["direct_url"] == f"rbd://{FSID}/{POOL}/{image_id}/snap"


def test_seeded_image_is_in_rbd(host):
    [seeded] = SERVER["images"]
    images = find(host, seeded["name"])
    assert [i["status"] for i in images] == ["active"], images
    source = file_digests(host, f"{SOURCE_DIR}/{seeded['source'].rsplit('/', 1)[-1]}")
    assert source["sha256"] == seeded["checksums"]["sha256"]
    assert_rbd_image_of(host, images[0], source)
    assert glance_client(host, GLANCE, "digests", images[0]["id"]) == source


@pytest.fixture
def upload(host):
    """20 MiB and a bit of random data (three rbd objects of 8 MiB), and the
    name to upload it under; every image of that name is deleted afterwards."""
    name = f"rbd-upload-{uuid.uuid4().hex[:10]}"
    path = f"/var/tmp/{name}.raw"
    cmd = host.run(f"head -c {20 * 2**20 + 4097} /dev/urandom > {path}")
    assert cmd.rc == 0, cmd.stderr
    yield {"name": name, "path": path, "digests": file_digests(host, path)}
    for image in find(host, name):
        glance_client(host, GLANCE, "delete", image["id"])
    host.run(f"rm -f {path}")


def test_uploaded_image_round_trip_through_rbd(host, upload):
    created = openstack(host, GLANCE, f"image create {upload['name']} --file {upload['path']} "
                                      "--disk-format raw --container-format bare")
    [image] = find(host, upload["name"])
    assert (image["id"], image["status"], image["size"]) == (
        created["id"], "active", upload["digests"]["size"])
    assert_rbd_image_of(host, image, upload["digests"])
    assert glance_client(host, GLANCE, "digests", image["id"]) == upload["digests"]

    openstack(host, GLANCE, f"image delete {image['id']}", output=False)
    assert find(host, upload["name"]) == []
    assert image["id"] not in rbd_images(host)
    gone = host.run(f"{RBD} info {POOL}/{image['id']}")
    assert gone.rc != 0 and "No such file or directory" in gone.stderr, gone.stdout + gone.stderr
