"""Unit tests of the keystone_registration custom state, with a fake SDK connection."""

import itertools
import logging
import sys
from types import SimpleNamespace

# A requirement (requirements.txt), imported plainly: without it these tests
# fail rather than skip.
import openstack
import pytest

from saltmodules import functions, load

ADMIN_PASSWORD = "Adm1n$ecret"
GLANCE_PASSWORD = "Ks$ecret@glance"
CONNECTION = {
    "auth_url": "http://keystone.test:5000/v3",
    "username": "admin",
    "password": ADMIN_PASSWORD,
    "project_name": "admin",
    "user_domain_name": "Default",
    "project_domain_name": "Default",
}


class FakeIdentity:
    """In-memory stand-in for ``conn.identity`` (the identity v3 proxy)."""

    def __init__(self):
        self._ids = itertools.count(1)
        self.domains = [SimpleNamespace(id="default", name="Default")]
        self.regions = []
        self.projects = []
        self.roles = []
        self.users = []
        self.passwords = {}
        self.assignments = []
        self.service_list = []
        self.endpoint_list = []
        self.limit_list = []
        self.writes = []

    def _new_id(self):
        return f"id{next(self._ids)}"

    def _write(self, what):
        self.writes.append(what)

    # domains, regions, projects, roles
    def find_domain(self, name_or_id):
        return next((d for d in self.domains if name_or_id in (d.id, d.name)), None)

    def find_region(self, name_or_id):
        return next((r for r in self.regions if r.id == name_or_id), None)

    def create_region(self, **attrs):
        self._write("create_region")
        region = SimpleNamespace(id=attrs["id"], description=attrs.get("description", ""))
        self.regions.append(region)
        return region

    def update_region(self, region, **attrs):
        self._write("update_region")
        vars(region).update(attrs)
        return region

    def find_project(self, name_or_id, domain_id=None):
        return next(
            (
                p
                for p in self.projects
                if name_or_id in (p.id, p.name) and domain_id in (None, p.domain_id)
            ),
            None,
        )

    def create_project(self, **attrs):
        self._write("create_project")
        project = SimpleNamespace(id=self._new_id(), description="", **attrs)
        self.projects.append(project)
        return project

    def update_project(self, project, **attrs):
        self._write("update_project")
        vars(project).update(attrs)
        return project

    def find_role(self, name_or_id):
        return next((r for r in self.roles if name_or_id in (r.id, r.name)), None)

    def create_role(self, **attrs):
        self._write("create_role")
        role = SimpleNamespace(id=self._new_id(), **attrs)
        self.roles.append(role)
        return role

    # users
    def find_user(self, name_or_id, domain_id=None):
        return next(
            (
                u
                for u in self.users
                if name_or_id in (u.id, u.name) and domain_id in (None, u.domain_id)
            ),
            None,
        )

    def create_user(self, **attrs):
        self._write("create_user")
        password = attrs.pop("password")
        attrs.setdefault("is_enabled", True)
        user = SimpleNamespace(
            id=self._new_id(), description=None, email=None, default_project_id=None
        )
        vars(user).update(attrs)
        self.users.append(user)
        self.passwords[user.id] = password
        return user

    def update_user(self, user, **attrs):
        self._write("update_user:" + ",".join(sorted(attrs)))
        if "password" in attrs:
            self.passwords[user.id] = attrs.pop("password")
        vars(user).update(attrs)
        return user

    # role assignments (on a project, or on the system)
    def role_assignments(self, user_id=None, scope_project_id=None, role_id=None):
        return iter(
            [
                a
                for a in self.assignments
                if (a["user"], a.get("project"), a["role"]) == (user_id, scope_project_id, role_id)
            ]
        )

    def validate_user_has_system_role(self, user, role, system):
        return {"user": user.id, "system": system, "role": role.id} in self.assignments

    def assign_project_role_to_user(self, project, user, role):
        self._write("assign_role")
        self.assignments.append({"user": user.id, "project": project.id, "role": role.id})

    def assign_system_role_to_user(self, user, role, system):
        self._write("assign_system_role")
        self.assignments.append({"user": user.id, "system": system, "role": role.id})

    # registered limits
    def registered_limits(self, service_id=None, region_id=None, resource_name=None):
        return iter(
            [
                limit
                for limit in self.limit_list
                if (limit.service_id, limit.region_id, limit.resource_name)
                == (service_id, region_id, resource_name)
            ]
        )

    def create_registered_limit(self, **attrs):
        self._write("create_registered_limit")
        limit = SimpleNamespace(id=self._new_id(), **attrs)
        self.limit_list.append(limit)
        return limit

    def update_registered_limit(self, limit, **attrs):
        self._write("update_registered_limit")
        vars(limit).update(attrs)
        return limit

    # catalog
    def services(self, type=None):
        return iter([s for s in self.service_list if type in (None, s.type)])

    def create_service(self, **attrs):
        self._write("create_service")
        attrs.setdefault("description", None)
        service = SimpleNamespace(id=self._new_id(), **attrs)
        self.service_list.append(service)
        return service

    def update_service(self, service, **attrs):
        self._write("update_service")
        vars(service).update(attrs)
        return service

    def endpoints(self, service_id=None, interface=None, region_id=None):
        return iter(
            [
                e
                for e in self.endpoint_list
                if (e.service_id, e.interface, e.region_id) == (service_id, interface, region_id)
            ]
        )

    def create_endpoint(self, **attrs):
        self._write("create_endpoint")
        endpoint = SimpleNamespace(id=self._new_id(), **attrs)
        self.endpoint_list.append(endpoint)
        return endpoint

    def update_endpoint(self, endpoint, **attrs):
        self._write("update_endpoint")
        vars(endpoint).update(attrs)
        return endpoint


@pytest.fixture
def identity():
    return FakeIdentity()


@pytest.fixture
def mod(identity, monkeypatch):
    """The state, wired to the real openstack_sdk module on a fake connection."""
    sdk = load("_modules/openstack_sdk.py", __context__={})
    assert sdk.openstack is openstack
    salt = functions(sdk)
    module = load("_states/keystone_registration.py", __opts__={"test": False}, __salt__=salt)
    connects = []
    probes = []

    def fake_connect(**kwargs):
        connects.append(kwargs)
        return SimpleNamespace(identity=identity)

    def fake_authenticates(probe):
        probes.append(probe)
        return identity.passwords.get(probe["user_id"]) == probe["password"]

    monkeypatch.setattr(openstack, "connect", fake_connect)
    salt["openstack_sdk.authenticates"] = fake_authenticates
    module.connects = connects
    module.probes = probes
    return module


def register(mod, password=GLANCE_PASSWORD, url="http://glance.test:9292"):
    """The sequence of states glance/bootstrap/keystone.sls applies."""
    conn = CONNECTION
    rets = [
        mod.region_present("RegionTwo", connection=conn),
        mod.project_present("service", domain="Default", connection=conn),
        mod.user_present(
            "glance",
            password,
            domain="Default",
            default_project="service",
            connection=conn,
        ),
    ]
    for role in ("admin", "service"):
        rets.append(mod.role_present(role, connection=conn))
        rets.append(mod.role_granted(role, "glance", "service", connection=conn))
    rets.append(
        mod.service_present(
            "glance", "image", description="OpenStack Image service", connection=conn
        )
    )
    for interface in ("public", "internal", "admin"):
        rets.append(
            mod.endpoint_present(
                "glance",
                interface,
                url,
                region="RegionTwo",
                service_type="image",
                connection=conn,
            )
        )
    return rets


def assert_no_secret(rets):
    text = repr(rets)
    assert ADMIN_PASSWORD not in text
    assert GLANCE_PASSWORD not in text
    assert "new-Pa$$word" not in text


def test_first_run_creates_everything(mod, identity):
    rets = register(mod)
    assert all(ret["result"] is True for ret in rets), rets
    assert all(ret["changes"] for ret in rets), rets
    assert [r.id for r in identity.regions] == ["RegionTwo"]
    assert [p.name for p in identity.projects] == ["service"]
    user = identity.users[0]
    assert (user.name, user.domain_id) == ("glance", "default")
    assert user.default_project_id == identity.projects[0].id
    assert identity.passwords[user.id] == GLANCE_PASSWORD
    assert sorted(r.name for r in identity.roles) == ["admin", "service"]
    assert len(identity.assignments) == 2
    assert [(s.name, s.type) for s in identity.service_list] == [("glance", "image")]
    assert sorted(e.interface for e in identity.endpoint_list) == ["admin", "internal", "public"]
    assert {e.region_id for e in identity.endpoint_list} == {"RegionTwo"}
    assert rets[2]["changes"]["password"] == "set"
    assert_no_secret(rets)


def comments(rets):
    return [ret["comment"] for ret in rets]


def roles_and_catalog(role, grant, service, endpoint):
    """The comments of the states after the user's, in register's order."""
    texts = []
    for name in ("admin", "service"):
        texts += [role.format(role=name), grant.format(role=name)]
    return texts + [service] + [endpoint.format(interface=i) for i in ("public", "internal", "admin")]


def test_comments_say_what_was_done_or_would_be(mod):
    rets = register(mod)
    assert comments(rets) == [
        "Region RegionTwo created", "Project service created", "User glance created",
    ] + roles_and_catalog(
        role="Role {role} created",
        grant="Role {role} granted to glance on service",
        service="Service glance (image) created",
        endpoint="The glance {interface} endpoint in RegionTwo set to http://glance.test:9292",
    )
    assert comments(register(mod)) == [
        "Region RegionTwo is present", "Project service is present",
        "User glance is present with the desired password",
    ] + roles_and_catalog(
        role="Role {role} is present",
        grant="Role {role} is granted to glance on service",
        service="Service glance (image) is present",
        endpoint="The glance {interface} endpoint in RegionTwo is http://glance.test:9292",
    )


def test_test_mode_comments_on_empty_keystone(mod):
    mod.__opts__["test"] = True
    assert comments(register(mod)) == [
        "Region RegionTwo would be created", "Project service would be created",
        "User glance would be created",
    ] + roles_and_catalog(
        role="Role {role} would be created",
        grant="Role {role} would be granted to glance on service once role {role}, user glance, project "
        "service exist",
        service="Service glance (image) would be created",
        endpoint="The glance {interface} endpoint in RegionTwo would be set to http://glance.test:9292 once "
        "service glance exists",
    )


def test_attributes_are_updated_in_place(mod, identity):
    register(mod)
    identity.writes.clear()
    ret = mod.region_present("RegionTwo", description="Second region", connection=CONNECTION)
    assert ret["changes"] == {"description": {"old": "", "new": "Second region"}}
    assert ret["comment"] == "Region RegionTwo updated"
    ret = mod.service_present("glance", "image", description="Images", enabled=False, connection=CONNECTION)
    assert ret["changes"] == {
        "description": {"old": "OpenStack Image service", "new": "Images"},
        "enabled": {"old": True, "new": False},
    }
    assert ret["comment"] == "Service glance (image) updated"
    assert identity.writes == ["update_region", "update_service"]
    assert identity.service_list[0].is_enabled is False


def test_default_project_is_changed_by_name(mod, identity):
    register(mod)
    mod.project_present("other", connection=CONNECTION)
    identity.writes.clear()
    old = identity.users[0].default_project_id
    mod.__opts__["test"] = True
    ret = mod.user_present("glance", GLANCE_PASSWORD, default_project="other", connection=CONNECTION)
    assert ret["result"] is None and ret["comment"] == "User glance would be updated"
    mod.__opts__["test"] = False
    ret = mod.user_present("glance", GLANCE_PASSWORD, default_project="other", connection=CONNECTION)
    assert ret["changes"] == {"default_project": {"old": old, "new": "other"}}
    assert ret["comment"] == "User glance updated"
    assert identity.writes == ["update_user:default_project_id"]
    assert identity.users[0].default_project_id == identity.projects[1].id


def test_second_run_changes_nothing(mod, identity):
    register(mod)
    identity.writes.clear()
    rets = register(mod)
    assert all(ret["result"] is True for ret in rets), rets
    assert [ret["changes"] for ret in rets] == [{}] * len(rets)
    assert identity.writes == []


def test_connection_is_reused_and_isolated(mod):
    register(mod)
    assert len(mod.connects) == 1
    kwargs = mod.connects[0]
    assert kwargs["load_yaml_config"] is False
    assert kwargs["load_envvars"] is False
    assert kwargs["auth_url"] == CONNECTION["auth_url"]


def test_test_mode_on_empty_keystone_predicts_and_writes_nothing(mod, identity):
    mod.__opts__["test"] = True
    rets = register(mod)
    assert all(ret["result"] is None for ret in rets), rets
    assert all(ret["changes"] for ret in rets), rets
    assert identity.writes == []
    assert_no_secret(rets)


def test_test_mode_after_registration_predicts_nothing(mod, identity):
    register(mod)
    identity.writes.clear()
    mod.__opts__["test"] = True
    rets = register(mod)
    assert all(ret["result"] is True for ret in rets), rets
    assert [ret["changes"] for ret in rets] == [{}] * len(rets)
    assert identity.writes == []


def test_password_updated_only_when_it_does_not_work(mod, identity):
    register(mod)
    identity.writes.clear()
    ret = mod.user_present("glance", "new-Pa$$word", default_project="service", connection=CONNECTION)
    assert ret["result"] is True
    assert ret["changes"] == {"password": "changed"}
    assert identity.writes == ["update_user:password"]
    assert identity.passwords[identity.users[0].id] == "new-Pa$$word"
    assert_no_secret([ret])


def test_password_change_in_test_mode_is_predicted_not_made(mod, identity):
    register(mod)
    identity.writes.clear()
    mod.__opts__["test"] = True
    ret = mod.user_present("glance", "new-Pa$$word", default_project="service", connection=CONNECTION)
    assert ret["result"] is None
    assert ret["changes"] == {"password": "changed"}
    assert identity.writes == []
    assert identity.passwords[identity.users[0].id] == GLANCE_PASSWORD


def test_disabled_user_is_enabled_then_password_verified(mod, identity):
    register(mod)
    user = identity.users[0]
    user.is_enabled = False
    identity.writes.clear()
    ret = mod.user_present("glance", GLANCE_PASSWORD, default_project="service", connection=CONNECTION)
    assert ret["result"] is True
    assert ret["changes"] == {"enabled": {"old": False, "new": True}}
    assert identity.writes == ["update_user:is_enabled"]


def test_endpoint_url_is_updated_in_place(mod, identity):
    register(mod)
    identity.writes.clear()
    rets = register(mod, url="https://images.test:9292")
    changed = [ret for ret in rets if ret["changes"]]
    assert len(changed) == 3
    assert changed[0]["changes"] == {
        "url": {"old": "http://glance.test:9292", "new": "https://images.test:9292"}
    }
    assert identity.writes == ["update_endpoint"] * 3
    assert len(identity.endpoint_list) == 3


def test_role_grant_fails_when_user_is_missing(mod, identity):
    mod.region_present("RegionOne", connection=CONNECTION)
    mod.project_present("service", connection=CONNECTION)
    mod.role_present("admin", connection=CONNECTION)
    ret = mod.role_granted("admin", "glance", "service", connection=CONNECTION)
    assert ret["result"] is False
    assert "user glance" in ret["comment"]


def test_missing_domain_fails(mod):
    ret = mod.project_present("service", domain="Nowhere", connection=CONNECTION)
    assert ret["result"] is False
    assert ret["comment"] == "Domain Nowhere does not exist"


def test_sdk_errors_fail_without_secrets(mod, identity, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)

    def broken(name_or_id):
        raise RuntimeError(f"cannot reach http://admin:{ADMIN_PASSWORD}@keystone.test")

    monkeypatch.setattr(identity, "find_region", broken)
    ret = mod.region_present("RegionOne", connection=CONNECTION)
    assert ret["result"] is False
    assert "RuntimeError" in ret["comment"]
    assert "RuntimeError" in caplog.text  # the traceback, for debugging
    assert_no_secret([ret, caplog.text])


def test_user_password_is_a_secret_too(mod, identity, monkeypatch):
    def broken(**attrs):
        raise RuntimeError(f"refused: {attrs}")

    monkeypatch.setattr(identity, "create_user", broken)
    ret = mod.user_present("glance", GLANCE_PASSWORD, connection=CONNECTION)
    assert ret["result"] is False and "********" in ret["comment"]
    assert_no_secret([ret])


def test_without_the_sdk_module_the_state_does_not_load(mod):
    assert mod.__virtual__() == "keystone_registration"
    mod.__salt__ = {}
    loaded, message = mod.__virtual__()
    assert loaded is False
    assert "openstacksdk" in message and sys.executable in message


def test_connection_needs_auth_url(mod):
    ret = mod.role_present("admin", connection={"username": "admin"})
    assert ret["result"] is False
    assert "auth_url" in ret["comment"]


def test_unknown_connection_key_fails(mod):
    ret = mod.role_present("admin", connection=dict(CONNECTION, passwd="x"))
    assert ret["result"] is False
    assert "passwd" in ret["comment"]


def test_endpoint_interface_is_checked(mod):
    ret = mod.endpoint_present("glance", "private", "http://x", connection=CONNECTION)
    assert ret["result"] is False


def test_password_is_probed_at_the_administrators_keystone(mod, identity):
    register(mod)
    connection = dict(CONNECTION, cacert="/etc/ssl/keystone.pem")
    mod.user_present("glance", GLANCE_PASSWORD, default_project="service", connection=connection)
    assert mod.probes[-1] == {
        "auth_url": CONNECTION["auth_url"],
        "cacert": "/etc/ssl/keystone.pem",
        "verify": None,
        "user_id": identity.users[0].id,
        "password": GLANCE_PASSWORD,
    }


def _limits(mod, size=1000, region="RegionTwo"):
    return [mod.registered_limit_present(name, value, "glance", region, service_type="image", connection=CONNECTION)
            for name, value in (("image_size_total", size), ("image_count_total", 100))]


def test_system_reader_is_granted_once(mod, identity):
    register(mod)
    mod.role_present("reader", connection=CONNECTION)
    first = mod.system_role_granted("reader", "glance", connection=CONNECTION)
    assert first["result"] is True and first["changes"] == {"granted": "glance on the system (all)"}
    assert [a for a in identity.assignments if a.get("system")] == [
        {"user": identity.find_user("glance").id, "system": "all", "role": identity.find_role("reader").id}]
    # A role on a project is not one on the system, nor the other way round.
    assert mod.role_granted("reader", "glance", "service", connection=CONNECTION)["changes"]
    again = mod.system_role_granted("reader", "glance", connection=CONNECTION)
    assert again["changes"] == {} and again["comment"] == "Role reader is granted to glance on the system (all)"


def test_system_role_of_a_missing_user_fails_and_is_predicted_in_test_mode(mod, identity):
    mod.role_present("reader", connection=CONNECTION)
    ret = mod.system_role_granted("reader", "glance", connection=CONNECTION)
    assert ret["result"] is False and ret["comment"] == "Missing: user glance"
    mod.__opts__["test"] = True
    ret = mod.system_role_granted("reader", "glance", connection=CONNECTION)
    assert ret["result"] is None
    assert ret["comment"] == "Role reader would be granted to glance on the system (all) once user glance exists"


def test_registered_limits_are_created_in_the_region_then_updated_in_place(mod, identity):
    register(mod)
    created = _limits(mod)
    assert [r["changes"] for r in created] == [{"registered_limit": {"old": None, "new": 1000}},
                                               {"registered_limit": {"old": None, "new": 100}}]
    service = identity.find_service if hasattr(identity, "find_service") else None
    assert service is None  # the state finds the service by listing, as endpoints do
    glance_id = identity.service_list[0].id
    assert sorted((lim.service_id, lim.region_id, lim.resource_name, lim.default_limit)
                  for lim in identity.limit_list) == [(glance_id, "RegionTwo", "image_count_total", 100),
                                                      (glance_id, "RegionTwo", "image_size_total", 1000)]
    assert [r["changes"] for r in _limits(mod)] == [{}, {}]
    writes = len(identity.writes)
    changed = _limits(mod, size=2048)
    assert changed[0]["changes"] == {"default_limit": {"old": 1000, "new": 2048}}
    assert changed[0]["comment"] == "The glance registered limit image_size_total in RegionTwo set to 2048"
    assert identity.writes[writes:] == ["update_registered_limit"]
    # Another region's limit is another limit.
    assert _limits(mod, size=2048, region="RegionThree")[0]["changes"]["registered_limit"]["new"] == 2048


def test_registered_limits_in_test_mode_and_without_the_service(mod, identity):
    ret = _limits(mod)[0]
    assert ret["result"] is False and ret["comment"] == "Service glance does not exist"
    mod.__opts__["test"] = True
    ret = _limits(mod)[0]
    assert ret["result"] is None
    assert ret["comment"] == ("The glance registered limit image_size_total in RegionTwo would be set to 1000 "
                              "once service glance exists")
    assert identity.writes == []


@pytest.mark.parametrize("value", [True, "10", 1.5, -2, None])
def test_registered_limit_must_be_a_whole_number(mod, value):
    ret = mod.registered_limit_present("image_count_total", value, "glance", "RegionOne", connection=CONNECTION)
    assert ret["result"] is False
    assert ret["comment"] == f"default_limit must be a whole number, -1 for no limit, not {value!r}"
