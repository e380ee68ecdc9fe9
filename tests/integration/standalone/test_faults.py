"""Standalone suite: faults on the image source and under glance-api.

A test source on the host (FAULT_SOURCE, a transient systemd unit) answers
404, never answers, closes the connection halfway, or serves an image
slowly. Each fault fails glance.server.images with its own message and
leaves no image queued, saving or killed. glance-api killed (SIGKILL) under
a seeding upload fails that run; the next run deletes the image Glance left
saving and seeds the image once. glance-api stopped by hand is started
again by the next apply, its one change. The image seeded before every
fault still downloads byte-identical. The file store is a small tmpfs
(.kitchen.yml): filled up, it fails the seeding of an image larger than the
room left, and the next run after room is made seeds it."""
import json
import shlex
import time
import uuid

import pytest

from glance_checks import (
    apply_images,
    changed_or_failed,
    file_digests,
    glance_client,
    salt_call,
    salt_call_command,
    seeding_state,
    wait_listening,
)

NOAUTH = {"OS_ENDPOINT": "http://127.0.0.1:9292"}
STORE_DIR = "/var/lib/glance/images"
MiB = 1 << 20
PORT = 8097
ROOT = "/var/tmp/fault-source"
UNIT = "glance-fault-source"
# /missing: 404. /hang: reads the request, never answers. /halfway: says
# 4 MiB, sends 1 MiB, closes. /slow/<file>: <file> at 4 MiB/s. Anything
# else: the file, at once.
FAULT_SOURCE = r"""
import http.server, os, sys, time
root, port = sys.argv[1], int(sys.argv[2])
MiB = 1 << 20

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.answer(body=False)

    def do_GET(self):
        self.answer(body=True)

    def answer(self, body):
        if self.path == "/missing":
            self.send_error(404)
            return
        if self.path == "/hang":
            time.sleep(3600)
            return
        if self.path == "/halfway":
            self.send_response(200)
            self.send_header("Content-Length", str(4 * MiB))
            self.end_headers()
            if body:
                self.wfile.write(os.urandom(MiB))
                self.wfile.flush()
            self.close_connection = True
            return
        slow = self.path.startswith("/slow/")
        path = os.path.join(root, os.path.basename(self.path))
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("ETag", '"%d-%d"' % (size, os.stat(path).st_mtime_ns))
        self.end_headers()
        if not body:
            return
        with open(path, "rb") as data:
            for chunk in iter(lambda: data.read(MiB // 4), b""):
                self.wfile.write(chunk)
                if slow:
                    time.sleep(1 / 16)

http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def url(path):
    return f"http://127.0.0.1:{PORT}/{path}"


def find(host, name):
    return glance_client(host, NOAUTH, "find", name)


def image(name, path, **extra):
    return dict({"name": name, "source": url(path), "disk_format": "raw"}, **extra)


@pytest.fixture(scope="module")
def source(host):
    """The fault source, with a 2 MiB image and a 48 MiB one; stopped and
    removed afterwards, with every image of this module."""
    wait_listening(host, "127.0.0.1:9292")
    names = []
    cmd = host.run(f"mkdir -p {ROOT} && head -c 2097152 /dev/urandom > {ROOT}/small.raw && "
                   f"head -c 50331648 /dev/urandom > {ROOT}/big.raw && "
                   f"cat > {ROOT}/server.py <<'EOF'\n{FAULT_SOURCE}\nEOF\n"
                   f"systemd-run --unit={UNIT} --collect python3 {ROOT}/server.py {ROOT} {PORT}")
    assert cmd.rc == 0, cmd.stderr
    wait_listening(host, f"127.0.0.1:{PORT}", seconds=30)
    yield names
    host.run(f"systemctl stop {UNIT}")
    for name in names:
        for found in find(host, name):
            glance_client(host, NOAUTH, "delete", found["id"])
    host.run(f"rm -rf {ROOT}")


@pytest.fixture(scope="module")
def seeded_before(host, source):
    """An image seeded before the faults, and its digests."""
    name = f"before-faults-{uuid.uuid4().hex[:8]}"
    source.append(name)
    rc, states = apply_images(host, [image(name, "small.raw")])
    assert rc == 0, changed_or_failed(states)
    [found] = find(host, name)
    return found["id"], file_digests(host, f"{ROOT}/small.raw")


def assert_intact(host, seeded_before):
    image_id, digests = seeded_before
    assert glance_client(host, NOAUTH, "digests", image_id) == digests


def assert_seeded_big_once(host, big, seeded_before):
    """BIG (an image of big.raw) is active with big.raw's bytes, applying it
    again changes nothing, and the image seeded before is intact."""
    [seeded] = find(host, big["name"])
    assert seeded["status"] == "active"
    assert glance_client(host, NOAUTH, "digests", seeded["id"]) == file_digests(host, f"{ROOT}/big.raw")
    rc, states = apply_images(host, [big])
    assert (rc, changed_or_failed(states)) == (0, {})
    assert_intact(host, seeded_before)


@pytest.mark.parametrize("path, extra, message", [
    ("missing", {}, "HTTP 404 Not Found"),
    ("hang", {"timeout": 5}, "no answer within 5 s"),
    ("halfway", {}, f"download broke off after {1 << 20} of {4 << 20} bytes"),
])
def test_source_fault_fails_with_its_message_and_leaves_nothing(host, source, seeded_before, path, extra, message):
    name = f"fault-{path}-{uuid.uuid4().hex[:8]}"
    source.append(name)
    started = time.monotonic()
    rc, states = apply_images(host, [image(name, path, **extra)])
    seconds = time.monotonic() - started
    seeding = seeding_state(states)
    assert rc != 0 and seeding["result"] is False
    assert seeding["comment"].startswith(f"{url(path)}: {message}"), seeding["comment"]
    assert find(host, name) == [], "the failed seeding left an image"
    assert seconds < 60, f"the failed apply took {seconds:.0f} s"
    assert_intact(host, seeded_before)


def background_seed(host, unit, images):
    """glance.server.images with IMAGES, as a transient unit; its JSON
    output goes to /var/tmp/<unit>.json, its log to /var/tmp/<unit>.log."""
    pillar = "pillar=" + json.dumps({"glance": {"server": {"images": images}}})
    command = (f"{salt_call_command(host)} --retcode-passthrough --out=json --log-level=warning "
               f"state.apply glance.server.images {shlex.quote(pillar)} > /var/tmp/{unit}.json 2> /var/tmp/{unit}.log")
    cmd = host.run(f"systemd-run --unit={unit} --collect --property=Type=exec sh -c {shlex.quote(command)}")
    assert cmd.rc == 0, cmd.stderr


def wait_until(what, predicate, seconds):
    deadline = time.monotonic() + seconds
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"no {what} after {seconds} s"
        time.sleep(0.5)
    return value


@pytest.fixture(scope="module")
def killed_under_upload(host, source, seeded_before):
    """Seeds the 48 MiB image slowly and kills glance-api (SIGKILL, every
    process of the unit) once Glance shows the image saving; returns the
    image's name, the run's result and what Glance held after it."""
    name = f"killed-{uuid.uuid4().hex[:8]}"
    source.append(name)
    unit = "glance-fault-seed"
    background_seed(host, unit, [image(name, "slow/big.raw")])
    wait_until("image saving", lambda: [i for i in find(host, name) if i["status"] == "saving"], 60)
    kill = host.run("systemctl kill --signal=SIGKILL glance-api")
    assert kill.rc == 0, kill.stderr
    wait_until("end of the seeding run", lambda: host.run(f"systemctl is-active --quiet {unit}").rc != 0, 120)
    output = host.file(f"/var/tmp/{unit}.json").content_string
    host.run(f"rm -f /var/tmp/{unit}.json /var/tmp/{unit}.log")
    # glance-api again (systemd may already have restarted it).
    rc, states = salt_call(host, "state.apply", "glance.server.service")
    assert rc == 0, changed_or_failed(states)
    wait_listening(host, "127.0.0.1:9292")
    return name, output, find(host, name)


def test_killed_glance_api_fails_the_run(killed_under_upload):
    name, output, _ = killed_under_upload
    local = json.loads(output)["local"]
    [seeding] = [v for k, v in local.items() if k.startswith("glance_image_|-") and v["name"] == name]
    assert seeding["result"] is False, seeding


def test_next_run_redoes_the_image_glance_left_saving(host, killed_under_upload, seeded_before):
    name, _, left = killed_under_upload
    big = image(name, "slow/big.raw")
    rc, states = apply_images(host, [big])
    seeding = seeding_state(states)
    assert rc == 0, seeding["comment"]
    # Whatever the killed run left (Glance keeps an image saving for ever
    # once its glance-api died) is deleted by this run, not refused.
    unfinished = [i["id"] for i in left]
    assert sorted(seeding["changes"].get("removed_unfinished", [])) == sorted(unfinished), (left, seeding)
    assert_seeded_big_once(host, big, seeded_before)


def test_glance_api_stopped_by_hand_is_started_as_the_only_change(host, seeded_before):
    stop = host.run("systemctl stop glance-api")
    assert stop.rc == 0, stop.stderr
    rc, states = salt_call(host, "state.apply", "glance")
    assert rc == 0, changed_or_failed(states)
    changed = changed_or_failed(states)
    assert [key.split("_|-")[1] for key in changed] == ["glance-server-service-glance-api-running"], changed
    assert host.service("glance-api").is_running
    wait_listening(host, "127.0.0.1:9292")
    assert_intact(host, seeded_before)


def test_full_file_store_fails_clearly_and_the_next_run_seeds(host, source, seeded_before):
    mount = host.run(f"findmnt -n -o FSTYPE --target {STORE_DIR}")
    assert mount.stdout.strip() == "tmpfs", "the suite mounts the file store on a tmpfs (.kitchen.yml)"
    free = int(host.check_output(f"df -B1 --output=avail {STORE_DIR} | tail -n 1"))
    # Leaves 8 MiB: less than the 48 MiB image.
    filler = f"{STORE_DIR}/filler-{uuid.uuid4().hex[:8]}"
    fill = host.run(f"fallocate -l {free - 8 * MiB} {filler}")
    assert fill.rc == 0, fill.stderr
    name = f"store-full-{uuid.uuid4().hex[:8]}"
    source.append(name)
    big = image(name, "big.raw")
    try:
        started = time.monotonic()
        rc, states = apply_images(host, [big])
        seconds = time.monotonic() - started
        seeding = seeding_state(states)
        assert rc != 0 and seeding["result"] is False
        print(f"store full: failed in {seconds:.1f} s: {seeding['comment']}")
        assert seeding["comment"].startswith(
            f"Glance could not store the data of image {name} in store file: "), seeding["comment"]
        assert "HTTP 413" in seeding["comment"] and "full" in seeding["comment"], seeding["comment"]
        assert find(host, name) == [], "the failed seeding left an image"
        assert seconds < 60, f"the failed apply took {seconds:.0f} s"
        assert_intact(host, seeded_before)
    finally:
        host.run(f"rm -f {filler}")
    rc, states = apply_images(host, [big])
    assert rc == 0, changed_or_failed(states)
    assert_seeded_big_once(host, big, seeded_before)
