"""Single suite: the database and Keystone down at apply time.

- MariaDB stopped: `state.apply glance` fails in bounded time with a message
  naming the database host and port; glance-api keeps running (same main
  PID, same configuration); once MariaDB is back the next apply converges
  with no change.
- Keystone stopped while glance.server.images seeds a new image, with no
  token kept from an earlier run (a first run, or the kept token expired;
  with a valid one Glance still takes the upload): the state fails at once
  naming Keystone's URL and creates no image; once Keystone is back the
  next apply seeds it.
- RabbitMQ stopped: images are still created, uploaded and deleted through
  the API (each notification is dropped after its bounded retry instead of
  holding the request for ever), and once RabbitMQ is back a new image's
  notification arrives again.
No pillar secret shows in either failed run's output."""
import json
import pathlib
import shlex
import time
import uuid

import pytest

from glance_checks import (
    KEYSTONE_TOKEN,
    changed_or_failed,
    file_digests,
    glance_client,
    glance_user_env,
    keystone_url,
    salt_call,
    salt_call_command,
    salt_call_shown,
    suite_pillar,
    timed,
    wait_listening,
)

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
SERVER = suite_pillar("single")["glance"]["server"]
SECRETS = [SERVER["database"]["password"], SERVER["identity"]["password"], SERVER["message_queue"]["password"]]
GLANCE = glance_user_env(SERVER)
SOURCE_DIR = "/srv/image-source"
KEYSTONE_URL = keystone_url(SERVER)


def main_pid(host, unit):
    return host.check_output(f"systemctl show --property=MainPID --value {unit}").strip()


def wait_answering(host, url, seconds=90):
    probe = f"python3 -c 'import urllib.request; urllib.request.urlopen(\"{url}\", timeout=5)'"
    deadline = time.monotonic() + seconds
    while host.run(probe).rc != 0:
        assert time.monotonic() < deadline, f"{url} does not answer after {seconds} s"
        time.sleep(2)


def failed(states):
    return {k.split("_|-")[1]: v["comment"] for k, v in states.items() if v["result"] is False}


def assert_no_secret(shown):
    leaked = [i for i, secret in enumerate(SECRETS) if secret in shown]
    assert not leaked, f"secret number {leaked} of the pillar shows in the output"


@pytest.fixture(scope="module", autouse=True)
def api(host):
    wait_listening(host, "0.0.0.0:9292")


@pytest.fixture(scope="module")
def database_down(host):
    """`state.apply glance` while MariaDB is stopped, and glance-api's main
    PID before and after; MariaDB is started again whatever happened."""
    before = main_pid(host, "glance-api")
    stop = host.run("systemctl stop mariadb")
    assert stop.rc == 0, stop.stderr
    try:
        run = timed(salt_call_shown, host, "state.apply", "glance")
        after = main_pid(host, "glance-api")
    finally:
        start = host.run("systemctl start mariadb")
        assert start.rc == 0, start.stderr
    return run, before, after


def test_database_down_fails_naming_it_in_bounded_time(database_down):
    ((rc, states, shown), seconds), _, _ = database_down
    assert rc != 0
    where = f"{SERVER['database']['host']}:{SERVER['database']['port']}"
    assert any(where in comment for comment in failed(states).values()), failed(states)
    assert seconds < 180, f"the failed apply took {seconds:.0f} s"
    assert_no_secret(shown)


def test_database_down_leaves_glance_api_running(host, database_down):
    _, before, after = database_down
    assert before == after != "0", "glance-api was restarted or stopped while the database was down"


def test_apply_after_the_database_is_back_converges_unchanged(host, database_down):
    rc, states = salt_call(host, "state.apply", "glance")
    assert (rc, changed_or_failed(states)) == (0, {})


@pytest.fixture(scope="module")
def keystone_down(host):
    """glance.server.images with a new image while Keystone is stopped;
    then, Keystone back, the same apply."""
    name = f"keystone-down-{uuid.uuid4().hex[:8]}"
    images = SERVER["images"] + [{"name": name, "source": "http://127.0.0.1:8090/pattern.raw",
                                  "disk_format": "raw"}]
    pillar = "pillar=" + json.dumps({"glance": {"server": {"images": images}}})
    cachedir = json.loads(host.check_output(f"{salt_call_command(host)} --log-level=quiet --out=json "
                                            "config.get cachedir"))["local"]
    assert cachedir.startswith("/"), cachedir
    forget = host.run(f"rm -f {cachedir}/openstack_sdk/tokens/*")
    assert forget.rc == 0, forget.stderr
    stop = host.run("systemctl stop keystone")
    assert stop.rc == 0, stop.stderr
    try:
        down = timed(salt_call_shown, host, "state.apply", "glance.server.images", pillar)
    finally:
        start = host.run("systemctl start keystone")
        assert start.rc == 0, start.stderr
    wait_answering(host, KEYSTONE_URL + "/v3")
    left = glance_client(host, GLANCE, "find", name)
    back = salt_call(host, "state.apply", "glance.server.images", pillar)
    yield name, down, left, back
    for image in glance_client(host, GLANCE, "find", name):
        glance_client(host, GLANCE, "delete", image["id"])


def test_keystone_down_fails_naming_it_and_creates_nothing(keystone_down):
    name, ((rc, states, shown), seconds), left, _ = keystone_down
    assert rc != 0
    [seeding] = [v for k, v in states.items() if k.startswith("glance_image_|-") and v["name"] == name]
    assert seeding["result"] is False and KEYSTONE_URL in seeding["comment"], seeding["comment"]
    assert left == [], "an image was created while Keystone was down"
    # At once: not waited for as a Glance that is starting (api_wait).
    assert seconds < 60, f"the failed apply took {seconds:.0f} s"
    assert_no_secret(shown)


def test_apply_after_keystone_is_back_seeds_the_image(host, keystone_down):
    name, _, _, (rc, states) = keystone_down
    assert rc == 0, changed_or_failed(states)
    [image] = glance_client(host, GLANCE, "find", name)
    assert image["status"] == "active"
    digests = glance_client(host, GLANCE, "digests", image["id"])
    assert digests == file_digests(host, f"{SOURCE_DIR}/pattern.raw")


# Runs on the host with the password on stdin, with COUNT, PREFIX, Glance's
# and Keystone's URLs: creates, uploads (1 MiB) and deletes COUNT images
# named PREFIX-<n>; prints the seconds each took.
IMAGE_ROUND_TRIPS = KEYSTONE_TOKEN + r"""
import json, sys, time, urllib.request
count, prefix, api = int(sys.argv[1]), sys.argv[2], sys.argv[3] + "/v2/images"
token = keystone_token(sys.argv[4] + "/v3", "glance", sys.stdin.read(), "service", 30)

def call(url, method="GET", data=None, ctype="application/json"):
    req = urllib.request.Request(url, data, {"X-Auth-Token": token, "Content-Type": ctype}, method=method)
    return urllib.request.urlopen(req, timeout=300)

took = []
for number in range(count):
    started = time.monotonic()
    meta = {"name": f"{prefix}-{number}", "disk_format": "raw", "container_format": "bare"}
    image = json.load(call(api, "POST", json.dumps(meta).encode()))
    call(api + "/" + image["id"] + "/file", "PUT", b"m" * (1 << 20), "application/octet-stream")
    assert json.load(call(api + "/" + image["id"]))["status"] == "active"
    call(api + "/" + image["id"], "DELETE")
    took.append(round(time.monotonic() - started, 2))
print(json.dumps(took))
"""


def image_round_trips(host, count, prefix):
    cmd = host.run(f"printf '%s' {shlex.quote(SERVER['identity']['password'])} | "
                   f"python3 -c {shlex.quote(IMAGE_ROUND_TRIPS)} {count} {prefix} "
                   f"{GLANCE['OS_ENDPOINT']} {KEYSTONE_URL}")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return json.loads(cmd.stdout.strip().splitlines()[-1])


def notifications_queued(host):
    cmd = host.run("rabbitmqctl -q list_queues -p /openstack name messages")
    assert cmd.rc == 0, cmd.stderr
    counts = dict(line.split() for line in cmd.stdout.splitlines() if line.strip())
    return int(counts.get("notifications.info", 0))


@pytest.fixture(scope="module")
def rabbitmq_down(host):
    """Image round trips while RabbitMQ is stopped; RabbitMQ is started
    again whatever happened."""
    stop = host.run("systemctl stop rabbitmq-server")
    assert stop.rc == 0, stop.stderr
    try:
        return image_round_trips(host, 1, "mq-down")
    finally:
        start = host.run("systemctl start rabbitmq-server")
        assert start.rc == 0, start.stderr


def test_rabbitmq_down_does_not_hold_the_image_api(rabbitmq_down):
    """Bounded, not fast: each of the seven or so notifications of a round
    trip still costs about 6 s (kombu's fixed 5 s connect timeout on the
    dead pooled connection, 2 s between tries), 25 to 45 s a round trip;
    with oslo.messaging's unbounded default retry it hung for good."""
    assert len(rabbitmq_down) == 1
    assert max(rabbitmq_down) < 150, f"image round trips took {rabbitmq_down} s with RabbitMQ down"


def test_notifications_arrive_again_once_rabbitmq_is_back(host, rabbitmq_down):
    wait_until = time.monotonic() + 120
    while True:
        before = notifications_queued(host)
        image_round_trips(host, 1, "mq-back")
        deadline = time.monotonic() + 15
        while notifications_queued(host) <= before and time.monotonic() < deadline:
            time.sleep(1)
        if notifications_queued(host) > before:
            return
        assert time.monotonic() < wait_until, "no notification arrives after RabbitMQ came back"

