"""Unified limits (glance:server:limits): use_keystone_limits and
[oslo_limit] in glance-api.conf, naming Glance's endpoint by its id (looked
up in Keystone as the file is written); the registered limits and the
glance user's reader role on the system in glance.bootstrap; nothing of it
when off."""
import pytest

from saltrender import Renderer, load_pillar

API = "/etc/glance/glance-api.conf"
LIMITS = {"enabled": True, "image_size_total": 64, "image_count_uploading": -1}
REGISTERED = {"image_size_total": 64, "image_stage_total": 1000, "image_count_total": 100,
              "image_count_uploading": -1}


def single(limits=None):
    """The single suite's pillar with LIMITS (none: the suite's own taken out)."""
    pillar = load_pillar("single")
    pillar["glance"]["server"].pop("limits")
    if limits is not None:
        pillar["glance"]["server"]["limits"] = limits
    return pillar


def credentials(pillar):
    identity = pillar["glance"]["server"]["identity"]
    return {"auth_url": "http://127.0.0.1:5000", "auth_type": "password", "user_domain_name": "Default",
            "username": identity["user"], "password": identity["password"].replace("$", "$$"),
            "system_scope": "all"}


@pytest.mark.parametrize("platform, version", [("debian-12", None), ("debian-13", "2025.1"),
                                               ("ubuntu-24.04", "2024.1"), ("rocky-9", "2026.2")])
def test_the_endpoint_id_is_looked_up_as_the_file_is_written(render, platform, version):
    """On every release: oslo.limit's lookup by service type and region
    (2.6 on) fails up to 2.8, so the formula names the endpoint by its id."""
    pillar = single(LIMITS)
    if version:
        pillar["glance"]["server"]["version"] = version
    rendered = render(platform, pillar)
    api = rendered.ini(API)
    assert api.get("DEFAULT", "use_keystone_limits") == "true"
    assert dict(api.items("oslo_limit")) == dict(credentials(pillar), endpoint_id=Renderer.ENDPOINT_ID)
    identity = pillar["glance"]["server"]["identity"]
    assert rendered._renderer.endpoint_lookups[-1] == {
        "auth_url": "http://127.0.0.1:5000", "username": "glance", "password": identity["password"],
        "user_domain_name": "Default", "cacert": None, "service_type": "image", "interface": "public",
        "region": "RegionTwo"}
    # The lookup goes through the formula's module, there before the file.
    _, _, managed = rendered.function("glance-server-config-api-file-managed")
    assert {"sls": "glance.salt_deps.openstacksdk"} in managed["require"]


def test_off_by_default_leaves_no_trace(render):
    for pillar in (single(), {}):
        rendered = render("debian-13", pillar)
        api = rendered.ini(API)
        assert not api.has_option("DEFAULT", "use_keystone_limits")
        assert not api.has_section("oslo_limit")
    states = render("debian-13", single(), sls="glance.bootstrap").states
    assert not [state for state in states if "limit" in state or "reader" in state]
    _, _, managed = render("debian-13", single()).function("glance-server-config-api-file-managed")
    assert {"sls": "glance.salt_deps.openstacksdk"} not in managed["require"]


def test_bootstrap_registers_the_limits_in_the_region_and_grants_the_system_reader(render):
    rendered = render("debian-13", single(LIMITS), sls="glance.bootstrap")
    registered = {}
    for state_id in rendered.states:
        module, function, args = rendered.function(state_id)
        if function == "registered_limit_present":
            assert (args["service"], args["service_type"], args["region"]) == ("glance", "image", "RegionTwo")
            assert {"keystone_registration": "glance-bootstrap-identity-service-present"} in args["require"]
            registered[args["name"]] = args["default_limit"]
    assert registered == REGISTERED
    _, function, grant = rendered.function("glance-bootstrap-identity-system-reader-granted")
    assert (function, grant["name"], grant["user"], grant["user_domain"]) == (
        "system_role_granted", "reader", "glance", "Default")
    _, _, role = rendered.function("glance-bootstrap-identity-role-reader-present")
    assert role["name"] == "reader"


def test_a_reader_role_the_pillar_grants_on_the_project_is_not_created_twice(render):
    pillar = single(LIMITS)
    pillar["glance"]["bootstrap"]["identity"]["roles"] = ["admin", "service", "reader"]
    rendered = render("debian-13", pillar, sls="glance.bootstrap")
    assert "glance-bootstrap-identity-role-reader-granted" in rendered.states
    _, _, grant = rendered.function("glance-bootstrap-identity-system-reader-granted")
    assert {"keystone_registration": "glance-bootstrap-identity-role-reader-present"} in grant["require"]
