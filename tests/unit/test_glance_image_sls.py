"""Render tests of glance/server/images.sls (image seeding from the pillar)."""

import pytest

from saltrender import load_pillar

SLS = "glance.server.images"
SEED_ITEM = {
    "name": "CirrOS 0.3.1",
    "format": "qcow2",
    "file": "cirros-0.3.1-x86_64-disk.img",
    "source": "http://cdn.download.cirros-cloud.net/0.3.1/cirros-0.3.1-x86_64-disk.img",
    "public": True,
}


def seeding_states(rendered):
    return {
        state_id: rendered.function(state_id)
        for state_id in rendered.states
        if rendered.function(state_id)[0] == "glance_image"
    }


def test_seed_list_form_without_keystone(render):
    rendered = render("debian-12", {"glance": {"server": {"images": [SEED_ITEM]}}}, sls=SLS)
    states = seeding_states(rendered)
    (state_id,) = states
    assert state_id == "glance-server-images-CirrOS 0.3.1-glance-image-present"
    module, function, args = states[state_id]
    assert (module, function) == ("glance_image", "present")
    assert args["name"] == "CirrOS 0.3.1"
    for key in ("format", "file", "source", "public"):
        assert args[key] == SEED_ITEM[key]
    assert args["connection"] == {"auth_type": "none", "endpoint": "http://127.0.0.1:9292"}
    assert args["api_wait"] == 60
    assert args["require"] == [{"sls": "glance.server.service"},
                               {"sls": "glance.salt_deps.openstacksdk"},
                               {"saltutil": "glance-server-images-saltutil-sync-all"}]
    _, _, sync = rendered.function("glance-server-images-saltutil-sync-all")
    assert sync["reload_modules"] is True


def test_keystone_connection_from_the_identity_pillar(render):
    pillar = load_pillar("single")
    pillar["glance"]["server"]["images"] = [
        dict(name="cirros", source="salt://images/cirros.img", checksums={"md5": "0" * 32},
             properties={"hw_disk_bus": "ide"}, tags=["a"], on_change="rotate", api_wait=5)]
    rendered = render("debian-12", pillar, sls=SLS)
    ((_, _, args),) = seeding_states(rendered).values()
    identity = pillar["glance"]["server"]["identity"]
    assert args["connection"] == {
        "auth_url": "http://127.0.0.1:5000/v3",
        "username": identity["user"],
        "password": identity["password"],
        "project_name": identity["tenant"],
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "region_name": identity["region"],
        # bind address 0.0.0.0: the local API on loopback
        "endpoint": "http://127.0.0.1:9292",
    }
    assert args["checksums"] == {"md5": "0" * 32} and args["properties"] == {"hw_disk_bus": "ide"}
    assert args["on_change"] == "rotate" and args["api_wait"] == 5


def test_explicit_connection_replaces_the_default(render):
    connection = {"cloud": "seeding"}
    pillar = {"glance": {"server": {"images": [SEED_ITEM],
                                    "image_seeding": {"connection": connection}}}}
    ((_, _, args),) = seeding_states(render("debian-12", pillar, sls=SLS)).values()
    assert args["connection"] == connection


def test_ipv6_bind(render):
    pillar = {"glance": {"server": {"images": [SEED_ITEM], "bind": {"address": "::", "port": 9393}}}}
    ((_, _, args),) = seeding_states(render("debian-12", pillar, sls=SLS)).values()
    assert args["connection"]["endpoint"] == "http://[::1]:9393"


@pytest.mark.parametrize("server, reason", [
    ({"role": "secondary", "images": [SEED_ITEM]}, "primary only"),
    ({"manage_services": False, "images": [SEED_ITEM]}, "manage_services is false"),
    ({}, "images is empty"),
])
def test_nothing_is_seeded(render, server, reason):
    rendered = render("debian-12", {"glance": {"server": server}}, sls=SLS)
    assert seeding_states(rendered) == {}
    (nop,) = [state_id for state_id in rendered.states if rendered.function(state_id)[0] == "test"]
    assert reason in rendered.function(nop)[2]["name"]
