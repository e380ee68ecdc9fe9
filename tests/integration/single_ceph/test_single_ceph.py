"""Single-ceph suite: the single suite's services plus a one-node Ceph on the
Glance host (test_services.ceph), then glance.bootstrap and glance with
tests/pillar/single_ceph.sls: the old formula's rbd storage block. Where the
pillar's store settings landed, and the client key the pillar hands to both
the formula and the test Ceph."""
import json
import pathlib
import urllib.parse

import pytest
import yaml

from glance_checks import (
    API_CONF,
    assert_clean_logs,
    assert_config_valid,
    assert_one_rbd_store,
    assert_private,
    assert_schema_current,
    assert_secrets_not_on_command_lines,
    assert_security_guide_checks,
    assert_service_running,
    read_ini,
    wait_listening,
)

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
SERVER = yaml.safe_load((PILLAR_DIR / "single_ceph.sls").read_text())["glance"]["server"]
STORAGE = SERVER["storage"]
CEPH_CONF = "/etc/ceph/ceph.conf"
KEYRING = f"/etc/ceph/ceph.client.{STORAGE['user']}.keyring"
# The test Ceph's own cluster name (tests/salt/test_services/ceph.sls).
ADMIN = "ceph --cluster testceph --connect-timeout 30"


@pytest.fixture(scope="module")
def api(host):
    wait_listening(host, "0.0.0.0:9292")
    return read_ini(host, API_CONF)


def test_rbd_client_packages_installed(host):
    for name in ["glance-api", "python3-rbd", "python3-rados", "ceph-common"]:
        assert host.package(name).is_installed, name


def test_keyring_holds_the_pillar_key(host):
    assert_private(host, KEYRING)
    lines = [line.strip() for line in host.file(KEYRING).content_string.splitlines() if line.strip()]
    # Compared, never shown: the key is a secret.
    expected = [f"[client.{STORAGE['user']}]", f"key = {STORAGE['client_glance_key']}"]
    assert lines == expected, "the keyring is not the pillar's client and key"


def test_ceph_conf_names_the_monitors(host):
    assert_private(host, CEPH_CONF)
    conf = read_ini(host, CEPH_CONF)
    client = f"client.{STORAGE['user']}"
    assert sorted(conf.sections()) == sorted(["global", client])
    assert conf.get("global", "mon_host") == ",".join(SERVER["ceph"]["mon_host"])
    # glance-api's client waits for Ceph at most ceph:op_timeout (default 60 s).
    assert dict(conf.items(client)) == {
        "client_mount_timeout": "60", "rados_mon_op_timeout": "60", "rados_osd_op_timeout": "60"}


def test_security_guide_checks(host):
    assert_security_guide_checks(host, keystone=True)


def test_rbd_store_options(api):
    assert_one_rbd_store(api, STORAGE, CEPH_CONF)


def test_cluster_holds_the_pillar_key_with_rbd_caps(host):
    cmd = host.run(f"{ADMIN} auth get client.{STORAGE['user']} -f json")
    assert cmd.rc == 0, cmd.stderr
    [entity] = json.loads(cmd.stdout)
    same_key = entity["key"] == STORAGE["client_glance_key"]
    assert same_key, "the test Ceph holds another key than the pillar's"
    assert entity["caps"] == {"mon": "profile rbd", "osd": f"profile rbd pool={STORAGE['pool']}"}


def test_ceph_daemons_running_and_clean(host):
    for unit in ["ceph-mon@a", "ceph-mgr@x", "ceph-osd@0"]:
        assert_service_running(host, unit)
    cmd = host.run(f"{ADMIN} pg stat -f json")
    assert cmd.rc == 0, cmd.stderr
    summary = json.loads(cmd.stdout)["pg_summary"]
    assert summary["num_pgs"] > 0
    # Active and clean, a scrub or not.
    states = {g["name"]: g["num"] for g in summary["num_pg_by_state"]}
    assert all({"active", "clean"} <= set(name.split("+")) for name in states), states
    pools = host.run(f"{ADMIN} osd pool application get {STORAGE['pool']} -f json")
    assert pools.rc == 0, pools.stderr
    assert "rbd" in json.loads(pools.stdout)


def test_glance_reaches_ceph_as_its_client(host, api):
    """The formula's ceph.conf and keyring, read as the glance user, let the
    rbd client list the pool: what glance-api does."""
    cmd = host.run(f"runuser -u glance -- rbd --id {STORAGE['user']} -c {CEPH_CONF} "
                   f"ls {STORAGE['pool']} --format json")
    assert cmd.rc == 0, cmd.stderr
    assert isinstance(json.loads(cmd.stdout or "[]"), list)


def test_running_on_a_current_schema_with_a_valid_config(host, api):
    assert_service_running(host, "glance-api")
    assert_schema_current(host)
    # oslo-config-validator: the rbd store options are known to this Glance.
    assert_config_valid(host)


def test_no_secret_on_command_lines(host, api):
    passwords = [SERVER["database"]["password"], SERVER["identity"]["password"],
                 SERVER["message_queue"]["password"]]
    secrets = {form for p in passwords
               for form in (p, urllib.parse.quote(p, safe=""), p.replace("$", "$$"))}
    assert_secrets_not_on_command_lines(host, sorted(secrets | {STORAGE["client_glance_key"]}))


def test_clean_logs(host, api):
    # Provoked by test_ceph_outage.py: uploads while the OSD is down.
    assert_clean_logs(host, provoked=[r"rbd\.Timeout: \[errno 110\] RBD operation timeout \(error creating image\)"])
