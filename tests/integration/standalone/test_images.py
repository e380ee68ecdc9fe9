"""Standalone suite: image seeding in Glance's no-Keystone mode. An image
file made here goes through glance.server.images (the connection the
formula derives without identity settings), is downloaded back and
compared, and a re-run changes nothing."""
import uuid

import pytest

from glance_checks import apply_images, changed_or_failed, file_digests, glance_client, seeding_state, wait_listening

# No OS_AUTH_URL: no token, as the formula's no-Keystone connection.
NOAUTH = {"OS_ENDPOINT": "http://127.0.0.1:9292"}


@pytest.fixture
def image_file(host):
    """2 MiB of random data in a local file; every image of its name is
    deleted afterwards."""
    wait_listening(host, "127.0.0.1:9292")
    name = f"standalone-{uuid.uuid4().hex[:10]}"
    path = f"/var/tmp/{name}.raw"
    cmd = host.run(f"head -c 2097152 /dev/urandom > {path}")
    assert cmd.rc == 0, cmd.stderr
    yield {"name": name, "path": path, "digests": file_digests(host, path)}
    for image in glance_client(host, NOAUTH, "find", name):
        glance_client(host, NOAUTH, "delete", image["id"])
    host.run(f"rm -f {path}")


def test_seeding_without_keystone(host, image_file):
    digests = image_file["digests"]
    image = {"name": image_file["name"], "source": image_file["path"], "disk_format": "raw",
             "visibility": "public", "tags": ["standalone"],
             "checksums": {"sha256": digests["sha256"]}}

    rc, states = apply_images(host, [image])
    seeded = seeding_state(states)
    assert (rc, seeded["result"]) == (0, True), seeded["comment"]
    [created] = glance_client(host, NOAUTH, "find", image["name"])
    assert created["id"] in seeded["comment"]
    assert (created["status"], created["visibility"], created["tags"]) == ("active", "public", ["standalone"])
    assert glance_client(host, NOAUTH, "digests", created["id"]) == digests

    rc, states = apply_images(host, [image])
    assert (rc, changed_or_failed(states)) == (0, {})
