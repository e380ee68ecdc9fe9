"""glance.server.storage checks that each rbd store's client reaches its
pool (glance_store.rbd_reachable) after its keyring and ceph.conf are
written, within the SLS that glance.server.service watches; one check per
client, pool and ceph.conf; none for other stores or with
glance:server:ceph:check_access false."""
import json

import pytest

from saltrender import load_pillar

KEYRING = "/etc/ceph/ceph.client.glance.keyring"
CONF = "/etc/ceph/ceph.conf"


@pytest.fixture(params=["debian-12", "debian-13", "rocky-9"])
def platform(request):
    return request.param


def checks(rendered):
    found = {}
    for state_id in rendered.states:
        module, function, args = rendered.function(state_id)
        if module == "glance_store":
            assert function == "rbd_reachable"
            found[state_id] = args
    return found


def copy(pillar):
    return json.loads(json.dumps(pillar))


def test_single_rbd_store_is_checked_after_its_files(render, platform):
    rendered = render(platform, load_pillar("single_ceph"))
    [(state_id, args)] = checks(rendered).items()
    assert state_id == "glance-server-storage-rbd-rbd-reachable"
    assert {k: args[k] for k in ["name", "user", "pool", "keyring", "conf", "service_user", "python"]} == {
        "name": "rbd", "user": "glance", "pool": "images", "keyring": KEYRING, "conf": CONF,
        "service_user": "glance", "python": "/usr/bin/python3"}
    assert {"file": f"glance-server-storage-{KEYRING}-file-managed"} in args["require"]
    assert {"file": "glance-server-storage-ceph-conf-file-managed"} in args["require"]
    # No unless/onlyif: those make Salt load every module once per run.
    assert not {"unless", "onlyif", "creates", "runas"} & set(args)
    # The key stays in the keyring's file state.
    assert "AQBYdwhrDw7" not in json.dumps(args)
    assert rendered.state(state_id)["__sls__"] == "glance.server.storage"
    services = [s for s in rendered.states if s.startswith("glance-server-service-") and s.endswith("-running")]
    assert services
    for service in services:
        # A watch requires: a failed check leaves the services alone.
        assert {"sls": "glance.server.storage"} in rendered.function(service)[2]["watch"]


def test_multistore_checks_the_rbd_store_only(render):
    rendered = render("debian-12", load_pillar("multistore"))
    [(state_id, args)] = checks(rendered).items()
    assert state_id == "glance-server-storage-ceph-rbd-reachable"
    assert (args["name"], args["user"], args["pool"], args["keyring"], args["conf"]) == (
        "ceph", "glance", "images", KEYRING, CONF)
    # ceph.conf is another formula's here (manage_conf: false).
    assert {"file": "glance-server-storage-ceph-conf-file-managed"} not in args["require"]


def test_each_client_pool_and_conf_checked_once(render):
    pillar = copy(load_pillar("multistore"))
    stores = pillar["glance"]["server"]["stores"]
    key = stores["ceph"]["client_glance_key"]
    stores["again"] = {"type": "rbd", "pool": "images", "user": "glance", "client_glance_key": key}
    stores["fast"] = {"type": "rbd", "pool": "fast", "user": "glance", "client_glance_key": key,
                      "ceph_conf": "/etc/ceph/fast.conf"}
    found = checks(render("debian-12", pillar))
    assert sorted((a["name"], a["pool"], a["conf"]) for a in found.values()) == [
        ("ceph", "images", CONF), ("fast", "fast", "/etc/ceph/fast.conf")]


def test_switch_off_and_file_stores_have_no_check(render):
    pillar = copy(load_pillar("single_ceph"))
    pillar["glance"]["server"]["ceph"]["check_access"] = False
    assert checks(render("debian-12", pillar)) == {}
    assert checks(render("debian-12", load_pillar("single"))) == {}


def test_no_check_where_services_are_not_managed(render):
    pillar = copy(load_pillar("single_ceph"))
    pillar["glance"]["server"]["manage_services"] = False
    assert checks(render("debian-12", pillar)) == {}
