"""Cluster suite, on the controller: the one-node Ceph that holds both Glance
nodes' images (test_services.ceph, switched on by services_ceph.sls) is up
and clean, holds the `images` pool for rbd and the pillar's glance client
with rbd caps only, and listens, and advertises its OSD, on the controller's
routable address rather than a loopback one."""
import json
import pathlib

import pytest
import yaml

from glance_checks import assert_service_running

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
STORAGE = yaml.safe_load((PILLAR_DIR / "cluster.sls").read_text())["glance"]["server"]["storage"]
# The test Ceph's administrator (tests/salt/test_services/ceph.sls).
ADMIN = "ceph --cluster testceph --connect-timeout 30"


def admin_json(host, command):
    cmd = host.run(f"{ADMIN} {command} -f json")
    assert cmd.rc == 0, cmd.stderr
    return json.loads(cmd.stdout)


@pytest.fixture(scope="module")
def address(host):
    """What `controller`, the monitor's name in the nodes' ceph.conf,
    resolves to here."""
    cmd = host.run("getent ahostsv4 controller")
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.split()[0]


def test_ceph_daemons_running_and_clean(host):
    for unit in ["ceph-mon@a", "ceph-mgr@x", "ceph-osd@0"]:
        assert_service_running(host, unit)
    osdmap = admin_json(host, "osd stat")
    assert (osdmap["num_osds"], osdmap["num_up_osds"], osdmap["num_in_osds"]) == (1, 1, 1), osdmap
    summary = admin_json(host, "pg stat")["pg_summary"]
    assert summary["num_pgs"] > 0
    # Active and clean, a scrub or not.
    states = {g["name"]: g["num"] for g in summary["num_pg_by_state"]}
    assert all({"active", "clean"} <= set(name.split("+")) for name in states), states


def test_images_pool_exists_for_rbd(host):
    assert STORAGE["pool"] in admin_json(host, "osd pool ls")
    assert "rbd" in admin_json(host, f"osd pool application get {STORAGE['pool']}")


def test_glance_client_holds_the_pillar_key_with_rbd_caps(host):
    [entity] = admin_json(host, f"auth get client.{STORAGE['user']}")
    same_key = entity["key"] == STORAGE["client_glance_key"]
    assert same_key, "the test Ceph holds another key than the pillar's"
    assert entity["caps"] == {"mon": "profile rbd", "osd": f"profile rbd pool={STORAGE['pool']}"}


def test_monitor_and_osd_on_the_routable_address(host, address):
    assert not address.startswith("127."), address
    [mon] = admin_json(host, "mon dump")["mons"]
    assert sorted(a["addr"] for a in mon["public_addrs"]["addrvec"]) == [f"{address}:3300", f"{address}:6789"]
    for port in (3300, 6789):
        assert host.socket(f"tcp://{address}:{port}").is_listening, port
    [osd] = admin_json(host, "osd dump")["osds"]
    for addrs in (osd["public_addrs"], osd["cluster_addrs"]):
        assert {a["addr"].rsplit(":", 1)[0] for a in addrs["addrvec"]} == {address}, addrs
