"""Cluster suite, on the controller: Glance lists both RabbitMQ nodes as HA
members, so with the first node stopped its notifications still reach the
second one."""
import time


NODES = {"rabbit@controller": "rabbitmq-server", "rabbit5673@controller": "rabbitmq-server-5673"}
VHOST = "/openstack"
ADMIN_PASSWORD = "Cluster$admin@pw"

# Creates and deletes an image through the Glance nodes' shared name with a
# Keystone token, reading the admin password from standard input.
IMAGE_EVENT = r"""
import json, sys, urllib.request
password = sys.stdin.read()
auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"name": "Default"}, "password": password}}},
    "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}
req = urllib.request.Request("http://controller:5000/v3/auth/tokens", json.dumps(auth).encode(),
                             {"Content-Type": "application/json"})
token = urllib.request.urlopen(req, timeout=30).headers["X-Subject-Token"]
headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
body = json.dumps({"name": "ha-probe", "disk_format": "raw", "container_format": "bare"}).encode()
req = urllib.request.Request("http://glance:9292/v2/images", body, headers)
image = json.load(urllib.request.urlopen(req, timeout=60))
req = urllib.request.Request("http://glance:9292/v2/images/" + image["id"], headers=headers, method="DELETE")
urllib.request.urlopen(req, timeout=60)
print(image["id"])
"""


def queued(host, node):
    cmd = host.run(f"RABBITMQ_NODENAME={node} rabbitmqctl -q list_queues -p {VHOST} name messages")
    assert cmd.rc == 0, cmd.stderr
    counts = dict(line.split() for line in cmd.stdout.splitlines() if len(line.split()) == 2)
    return int(counts.get("notifications.info", 0))


def image_event(host):
    cmd = host.run(f"printf '%s' '{ADMIN_PASSWORD}' | python3 -c '{IMAGE_EVENT}'")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr


def test_both_members_run(host):
    for unit in NODES.values():
        assert host.run(f"systemctl is-active {unit}").stdout.strip() == "active", unit


def test_notifications_flow_with_the_first_member_stopped(host):
    first, second = list(NODES)
    host.run(f"systemctl stop {NODES[first]}")
    try:
        assert host.run(f"systemctl is-active {NODES[first]}").stdout.strip() != "active"
        before = queued(host, second)
        image_event(host)
        deadline = time.monotonic() + 60
        while queued(host, second) <= before and time.monotonic() < deadline:
            time.sleep(2)
        assert queued(host, second) > before, "no notification reached the second member"
    finally:
        host.run(f"systemctl start {NODES[first]}")
    assert host.run(f"systemctl is-active {NODES[first]}").stdout.strip() == "active"
