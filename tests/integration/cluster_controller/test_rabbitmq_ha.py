"""Cluster suite, on the controller: Glance lists both RabbitMQ nodes as HA
members, so with the first node stopped every notification still reaches
the second one (which needs the formula's bounded notification retry: see
README, "Message queue and notifications")."""
import time

from glance_checks import KEYSTONE_TOKEN
from rolling_client import SCHEME

NODES = {"rabbit@controller": "rabbitmq-server", "rabbit5673@controller": "rabbitmq-server-5673"}
VHOST = "/openstack"
ADMIN_PASSWORD = "Cluster$admin@pw"
EVENTS = 4  # image create + delete pairs; Glance notifies each

# Creates and deletes images (argv[1] of them) through the Glance nodes'
# shared name (argv[2], the API's URL) with a Keystone token, reading the
# admin password from standard input.
IMAGE_EVENTS = KEYSTONE_TOKEN + r"""
import json, sys, urllib.request
token = keystone_token("http://controller:5000/v3", "admin", sys.stdin.read(), "admin", 30)
headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
for number in range(int(sys.argv[1])):
    body = json.dumps({"name": "ha-probe-%d" % number, "disk_format": "raw",
                       "container_format": "bare"}).encode()
    req = urllib.request.Request(sys.argv[2] + "/v2/images", body, headers)
    image = json.load(urllib.request.urlopen(req, timeout=60))
    req = urllib.request.Request(sys.argv[2] + "/v2/images/" + image["id"], headers=headers,
                                 method="DELETE")
    urllib.request.urlopen(req, timeout=60)
"""


def queued(host, node):
    cmd = host.run(f"RABBITMQ_NODENAME={node} rabbitmqctl -q list_queues -p {VHOST} name messages")
    assert cmd.rc == 0, cmd.stderr
    counts = dict(line.split() for line in cmd.stdout.splitlines() if len(line.split()) == 2)
    return int(counts.get("notifications.info", 0))


def is_active(host, unit):
    return host.run(f"systemctl is-active {unit}").stdout.strip() == "active"


def test_both_members_run(host):
    for unit in NODES.values():
        assert is_active(host, unit), unit


def test_every_notification_reaches_the_second_member_while_the_first_is_stopped(host):
    first, second = list(NODES)
    assert host.run(f"systemctl stop {NODES[first]}").rc == 0
    try:
        assert not is_active(host, NODES[first])
        before = queued(host, second)
        cmd = host.run(f"printf '%s' '{ADMIN_PASSWORD}' | python3 -c '{IMAGE_EVENTS}' {EVENTS} "
                       f"{SCHEME}://glance:9292")
        assert cmd.rc == 0, cmd.stdout + cmd.stderr
        expected = before + 2 * EVENTS
        # Glance publishes within the API calls; allow for its workers' pools.
        deadline = time.monotonic() + 20
        while queued(host, second) < expected and time.monotonic() < deadline:
            time.sleep(1)
        arrived = queued(host, second) - before
        assert arrived >= 2 * EVENTS, f"{arrived} of {2 * EVENTS} notifications reached {second}"
    finally:
        host.run(f"systemctl start {NODES[first]}")
    assert is_active(host, NODES[first])
