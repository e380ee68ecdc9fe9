"""Unit tests of the openstack_sdk execution module: the one place the custom
modules get openstacksdk, connections and the rule for secrets from."""

import sys
from types import SimpleNamespace

import openstack
import openstack.exceptions
import pytest
from keystoneauth1 import exceptions as ks_exceptions
from salt.exceptions import CommandExecutionError

from saltmodules import load

PASSWORD = "Adm1n$ecret"


@pytest.fixture(name="sdk")
def fixture_sdk(monkeypatch):
    module = load("_modules/openstack_sdk.py", __context__={})
    module.connects = []

    def fake_connect(**kwargs):
        module.connects.append(kwargs)
        return SimpleNamespace(kwargs=kwargs)

    monkeypatch.setattr(openstack, "connect", fake_connect)
    return module


def test_loads_with_the_sdk_and_says_why_not_without(sdk):
    assert sdk.__virtual__() == "openstack_sdk"
    sdk.HAS_SDK, sdk.IMPORT_ERROR = False, "No module named 'openstack'"
    loaded, message = sdk.__virtual__()
    assert loaded is False
    assert "openstacksdk" in message and sys.executable in message and "No module named" in message


# -------------------------------------------------------------- connections


@pytest.mark.parametrize("connection, yaml, envvars", [
    ({"auth_url": "http://keystone.test:5000/v3", "password": PASSWORD}, False, False),
    ({"cloud": "seeding"}, True, False),
    ({}, True, True),
    (None, True, True),
])
def test_explicit_keywords_stand_alone(sdk, connection, yaml, envvars):
    sdk.connect(connection, app_name="salt-test")
    (kwargs,) = sdk.connects
    assert (kwargs["load_yaml_config"], kwargs["load_envvars"]) == (yaml, envvars)
    assert kwargs["app_name"] == "salt-test"


def test_the_mapping_wins_over_the_callers_options(sdk):
    sdk.connect({"auth_url": "http://k/v3", "connect_retries": 1}, app_name="a", connect_retries=3)
    assert sdk.connects[0]["connect_retries"] == 1 and sdk.connects[0]["app_name"] == "a"


def test_connections_are_cached_for_the_run(sdk):
    first = sdk.connect({"auth_url": "http://k/v3"}, app_name="a")
    assert sdk.connect({"auth_url": "http://k/v3"}, app_name="a") is first
    assert sdk.connect({"auth_url": "http://k/v3"}, app_name="b") is not first
    assert sdk.connect({"auth_url": "http://other/v3"}, app_name="a") is not first
    assert len(sdk.connects) == 3


class FakeAuth:
    """A keystoneauth identity plugin as far as token reuse sees it."""

    def __init__(self):
        self.auth_ref, self.restored = None, None

    def set_auth_state(self, state):
        self.restored = state
        self.auth_ref = "token from " + state

    def get_auth_state(self):
        return self.auth_ref and self.auth_ref.replace("token from ", "")


def next_run(sdk, tmp_path, monkeypatch):
    """The module as a new run sees it: a fresh __context__, and openstack.connect
    returning connections with a FakeAuth."""
    sdk.__context__ = {}
    sdk.__opts__ = {"cachedir": str(tmp_path)}
    monkeypatch.setattr(openstack, "connect",
                        lambda **kwargs: SimpleNamespace(session=SimpleNamespace(auth=FakeAuth())))
    return sdk


KEYSTONE = {"auth_url": "http://keystone.test:5000/v3", "username": "glance", "password": PASSWORD}


def test_a_kept_token_is_used_by_the_next_run(sdk, tmp_path, monkeypatch):
    first = next_run(sdk, tmp_path, monkeypatch).connect(KEYSTONE, reuse_token=True)
    assert first.session.auth.restored is None
    first.session.auth.auth_ref = "token from state-1"  # the run authenticated
    assert sdk.remember_tokens() == 1
    assert sdk.remember_tokens() == 0  # unchanged: not written again
    [kept] = list((tmp_path / "openstack_sdk" / "tokens").iterdir())
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert oct(kept.parent.stat().st_mode & 0o777) == "0o700"
    assert PASSWORD not in kept.read_text()

    second = next_run(sdk, tmp_path, monkeypatch).connect(KEYSTONE, reuse_token=True)
    assert second.session.auth.restored == "state-1"


def test_no_reuse_unless_asked_or_for_other_settings(sdk, tmp_path, monkeypatch):
    first = next_run(sdk, tmp_path, monkeypatch).connect(KEYSTONE, reuse_token=True)
    first.session.auth.auth_ref = "token from state-1"
    sdk.remember_tokens()
    assert next_run(sdk, tmp_path, monkeypatch).connect(KEYSTONE).session.auth.restored is None
    changed = dict(KEYSTONE, password="another password")
    assert next_run(sdk, tmp_path, monkeypatch).connect(changed, reuse_token=True).session.auth.restored is None


def test_an_unauthenticated_run_keeps_nothing(sdk, tmp_path, monkeypatch):
    next_run(sdk, tmp_path, monkeypatch).connect(KEYSTONE, reuse_token=True)
    assert sdk.remember_tokens() == 0
    assert not (tmp_path / "openstack_sdk").exists()


def test_authenticates_tells_a_refused_password_from_other_failures(sdk, monkeypatch):
    outcomes, sessions = [], []

    class FakeSession:
        def __init__(self, auth, verify):
            self.auth = auth
            self.verify = verify
            sessions.append(self)

        def get_token(self):
            outcome = outcomes.pop(0)
            if outcome is not None:
                raise outcome
            return "token"

    monkeypatch.setattr(sdk.ks_session, "Session", FakeSession)
    probe = {"auth_url": "http://keystone.test:5000/v3", "user_id": "id1", "password": "pw"}
    outcomes[:] = [None, ks_exceptions.Unauthorized(), ks_exceptions.ConnectFailure()]
    assert sdk.authenticates(probe) is True
    assert sdk.authenticates(dict(probe, cacert="/ca.pem", verify=None)) is False
    with pytest.raises(ks_exceptions.ConnectFailure):
        sdk.authenticates(dict(probe, verify=False))
    assert [session.verify for session in sessions] == [True, "/ca.pem", False]
    assert sessions[0].auth.auth_url == probe["auth_url"]


@pytest.mark.parametrize("exc, kind", [
    (ks_exceptions.ConnectFailure("refused"), "unreachable"),
    (ks_exceptions.DiscoveryFailure("no version"), "unreachable"),
    (openstack.exceptions.ServiceDiscoveryException("No endpoint data found."), "unreachable"),
    (ks_exceptions.Unauthorized(), "error"),
    (openstack.exceptions.ForbiddenException("403"), "error"),
    (ValueError("not theirs"), None),
])
def test_failure_kinds(sdk, exc, kind):
    assert sdk.failure(exc) == kind


# ------------------------------------------------------------------ secrets


CONNECTION = {
    "auth_url": "http://keystone.test:5000/v3",
    "username": "admin",
    "password": PASSWORD,
    "token": "gAAAAtoken",
    "application_credential_id": "cred-id",
    "application_credential_secret": "cred-s3cret",
    "auth": {"password": "nested-pw", "project_name": "admin"},
    "verify": False,
}


def test_the_rule_for_secrets(sdk):
    found = sdk.secrets(CONNECTION, also=("user-pw", None, ""))
    assert sorted(found) == sorted([PASSWORD, "gAAAAtoken", "cred-s3cret", "nested-pw", "user-pw"])
    assert found == sorted(found, key=len, reverse=True)  # a secret inside another is masked whole
    assert sdk.secrets(None) == []


def test_scrub_masks_secrets_at_any_depth(sdk):
    value = {
        "comment": f"login admin:{PASSWORD}@keystone refused",
        "list": ["cred-s3cret", 3, None],
        PASSWORD: {"new": "user-pw!"},
        "untouched": 42,
    }
    assert sdk.scrub(value, CONNECTION, also=("user-pw",)) == {
        "comment": "login admin:********@keystone refused",
        "list": ["********", 3, None],
        "********": {"new": "********!"},
        "untouched": 42,
    }
    assert sdk.scrub("admin " + PASSWORD) == "admin " + PASSWORD  # no connection, no secret


# -------------------------------------------------------------- endpoint_id

LOOKUP = {"auth_url": "http://keystone.test:5000", "username": "glance", "password": PASSWORD,
          "user_domain_name": "Default", "service_type": "image", "interface": "public", "region": "RegionTwo"}


def catalog(endpoints, error=None):
    """A connection whose identity proxy lists the image service and ENDPOINTS
    ((id, interface, region)), or raises ERROR."""
    def services(type=None):
        if error:
            raise error
        return iter([SimpleNamespace(id="svc", type="image")] if type == "image" else [])

    def listed(service_id=None, interface=None, region_id=None):
        return iter([SimpleNamespace(id=id_) for id_, iface, region in endpoints
                     if (service_id, interface, region_id) == ("svc", iface, region)])
    return SimpleNamespace(identity=SimpleNamespace(services=services, endpoints=listed))


@pytest.fixture(name="lookup")
def fixture_lookup(monkeypatch, tmp_path):
    module = load("_modules/openstack_sdk.py", __context__={}, __opts__={"test": False, "cachedir": str(tmp_path)})
    module.connects = []

    def use(conn):
        def fake_connect(**kwargs):
            module.connects.append(kwargs)
            return conn
        monkeypatch.setattr(openstack, "connect", fake_connect)
        return module
    return use


def test_endpoint_id_is_looked_up_as_the_user_with_system_scope(lookup):
    sdk = lookup(catalog([("e-pub", "public", "RegionTwo"), ("e-int", "internal", "RegionTwo"),
                          ("e-other", "public", "RegionOne")]))
    assert sdk.endpoint_id(**LOOKUP) == "e-pub"
    (kwargs,) = sdk.connects
    assert {k: kwargs[k] for k in ("auth_url", "username", "password", "user_domain_name", "system_scope")} == {
        "auth_url": "http://keystone.test:5000", "username": "glance", "password": PASSWORD,
        "user_domain_name": "Default", "system_scope": "all"}
    assert "cacert" not in kwargs
    lookup(catalog([("e-pub", "public", "RegionTwo")])).endpoint_id(**LOOKUP, cacert="/etc/ssl/ca.pem")


def test_no_endpoint_fails_naming_it_and_in_test_mode_says_so(lookup):
    sdk = lookup(catalog([("e-other", "public", "RegionOne")]))
    with pytest.raises(CommandExecutionError) as failed:
        sdk.endpoint_id(**LOOKUP)
    assert str(failed.value) == ("Keystone has 0 public image endpoints in region RegionTwo, expected one "
                                 "(glance.bootstrap registers it)")
    sdk.__opts__["test"] = True
    assert sdk.endpoint_id(**LOOKUP) == "(the id of the public image endpoint in region RegionTwo, once registered)"


def test_a_keystone_failure_names_keystone_without_the_password(lookup):
    refused = ks_exceptions.Unauthorized(f"The request you have made requires authentication ({PASSWORD})")
    sdk = lookup(catalog([], error=refused))
    with pytest.raises(CommandExecutionError) as failed:
        sdk.endpoint_id(**LOOKUP)
    message = str(failed.value)
    assert message.startswith("looking up the public image endpoint in region RegionTwo as glance: Keystone refused: ")
    assert PASSWORD not in message and "********" in message
    down = lookup(catalog([], error=ks_exceptions.ConnectFailure("Connection refused")))
    down.__context__.clear()  # the run's cached connection is the refused one
    with pytest.raises(CommandExecutionError, match="Keystone did not answer: Connection refused"):
        down.endpoint_id(**LOOKUP)


def unavailable(status):
    exc = openstack.exceptions.HttpException("database unavailable")
    exc.status_code = status
    return exc


def test_the_id_found_last_is_used_while_keystone_cannot_answer(lookup, tmp_path, caplog):
    assert lookup(catalog([("e-pub", "public", "RegionTwo")])).endpoint_id(**LOOKUP) == "e-pub"
    [kept] = (tmp_path / "openstack_sdk" / "endpoints").iterdir()
    assert kept.read_text() == "e-pub"
    for error in (ks_exceptions.ConnectFailure("Connection refused"),
                  ks_exceptions.InternalServerError("database unavailable"),
                  unavailable(503)):
        sdk = lookup(catalog([], error=error))
        sdk.__context__.clear()
        assert sdk.endpoint_id(**LOOKUP) == "e-pub"
    assert "the id found last time (e-pub) is used" in caplog.text
    assert PASSWORD not in caplog.text
    # Not for another region, and not when Keystone refuses the credentials.
    sdk = lookup(catalog([], error=ks_exceptions.ConnectFailure("Connection refused")))
    sdk.__context__.clear()
    with pytest.raises(CommandExecutionError, match="Keystone did not answer"):
        sdk.endpoint_id(**dict(LOOKUP, region="RegionThree"))
    sdk = lookup(catalog([], error=ks_exceptions.Unauthorized("The request you have made requires authentication")))
    sdk.__context__.clear()
    with pytest.raises(CommandExecutionError, match="Keystone refused"):
        sdk.endpoint_id(**LOOKUP)


def test_a_changed_endpoint_replaces_the_kept_id_and_test_mode_keeps_nothing(lookup, tmp_path):
    sdk = lookup(catalog([("e-new", "public", "RegionTwo")]))
    sdk.__opts__["test"] = True
    assert sdk.endpoint_id(**LOOKUP) == "e-new"
    assert not (tmp_path / "openstack_sdk").exists()
    sdk.__opts__["test"] = False
    lookup(catalog([("e-old", "public", "RegionTwo")])).endpoint_id(**LOOKUP)
    sdk = lookup(catalog([("e-new", "public", "RegionTwo")]))
    sdk.__context__.clear()
    assert sdk.endpoint_id(**LOOKUP) == "e-new"
    [kept] = (tmp_path / "openstack_sdk" / "endpoints").iterdir()
    assert kept.read_text() == "e-new"
