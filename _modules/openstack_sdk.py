"""
The formula's one door to openstacksdk: the other custom modules reach the
SDK only through this execution module (``__salt__["openstack_sdk.*"]``),
so the import, the connection set-up and the rule for secrets live here
once.

* :func:`connect`: an openstacksdk connection for a connection mapping,
  cached for the run; with ``reuse_token``, the Keystone token of an
  earlier run is used again while it is valid (:func:`remember_tokens`
  keeps it).
* :func:`authenticates`: whether credentials get a token from Keystone.
* :func:`failure`: what an exception of the SDK or of keystoneauth means.
* :func:`endpoint_id`: the id of a service's endpoint, for a configuration
  file that must name it.
* :func:`secrets` and :func:`scrub`: what counts as a secret, and the text
  or data without it.

:depends: openstacksdk
"""

import hashlib
import logging
import os
import sys

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)


def _forget_salts_own_openstack():
    """Salt's loader can leave its own salt/utils/openstack package in
    sys.modules under the top-level name ``openstack`` (seen on Salt 3008
    after the modules are reloaded within a run), which then shadows
    openstacksdk: ``import openstack.exceptions`` fails although the SDK is
    installed. Forget that entry so the import below finds the SDK."""
    module = sys.modules.get("openstack")
    marker = os.path.join("salt", "utils", "openstack")
    if module is not None and marker in (getattr(module, "__file__", None) or ""):
        for name in [n for n in sys.modules if n == "openstack" or n.startswith("openstack.")]:
            del sys.modules[name]


_forget_salts_own_openstack()

try:
    import openstack
    import openstack.exceptions
    from keystoneauth1 import exceptions as ks_exceptions
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3 as ks_v3

    HAS_SDK = True
    IMPORT_ERROR = None
except ImportError as exc:
    HAS_SDK = False
    IMPORT_ERROR = str(exc)

__virtualname__ = "openstack_sdk"

MASK = "********"

# The one rule for secrets, for every module of the formula: a secret is the
# value of any key of the connection mapping, at any depth (clouds.yaml style
# ``auth`` included), whose name contains one of these words (password,
# token, application_credential_secret, ...), and any further string the
# caller names (a user's new password, the password in a source URL).
SECRET_WORDS = ("password", "secret", "token")


def __virtual__():
    if not HAS_SDK:
        return (
            False,
            f"openstacksdk is not importable by the Python that runs Salt ({sys.executable}): {IMPORT_ERROR}",
        )
    return __virtualname__


def connect(connection=None, reuse_token=False, **options):
    """
    An openstacksdk connection for ``connection``, cached for the run.

    ``connection`` is the formula's connection mapping: ``openstack.connect``
    keywords (``auth_url``, ``username``, ``password``, ``project_name``,
    ``user_domain_name``, ``region_name``, ``cacert``, ``verify``, ...)
    and/or ``cloud`` (a clouds.yaml entry). Explicit keywords stand alone:
    only a cloud name (or nothing) reads clouds.yaml, and only nothing at
    all reads ``OS_*`` variables. ``options`` are the calling module's own
    keywords (``app_name``, ``connect_retries``, ...); the mapping's keys
    win over them.

    ``reuse_token``: start from the token :func:`remember_tokens` kept for
    these very connection settings (a changed password is other settings),
    so that a run that finds nothing to change does not pay for Keystone's
    password hashing again. keystoneauth authenticates anew when the token
    is about to expire, and once more when a request is refused with 401
    (a revoked token).

    Nothing goes over the network until the first request.
    """
    args = dict(options)
    args.update(connection or {})
    given = set(connection or {})
    key = hashlib.sha256(repr(sorted(args.items())).encode("utf-8")).hexdigest()
    cache = __context__.setdefault("openstack_sdk.connections", {})
    if key not in cache:
        cache[key] = openstack.connect(
            load_yaml_config=("cloud" in given or not given),
            load_envvars=not given,
            **args,
        )
        if reuse_token:
            _restore_token(cache[key], key)
    return cache[key]


def _token_file(key):
    return os.path.join(__opts__["cachedir"], "openstack_sdk", "tokens", key)


def _restore_token(conn, key):
    auth = getattr(getattr(conn, "session", None), "auth", None)
    if not hasattr(auth, "set_auth_state"):
        return
    __context__.setdefault("openstack_sdk.reused", {})[key] = auth
    try:
        with open(_token_file(key), encoding="utf-8") as handle:
            auth.set_auth_state(handle.read())
    except (OSError, ValueError, KeyError, TypeError):
        pass


def remember_tokens():
    """
    Keep the current token of each connection opened with ``reuse_token``
    in this run, in a file only root can read (under Salt's cache
    directory): where Salt runs, root already holds the password the token
    was obtained with. Returns how many were written.
    """
    written = 0
    for key, auth in __context__.get("openstack_sdk.reused", {}).items():
        state = auth.get_auth_state() if getattr(auth, "auth_ref", None) else None
        path = _token_file(key)
        try:
            with open(path, encoding="utf-8") as handle:
                if handle.read() == state:
                    continue
        except OSError:
            pass
        if state is None:
            continue
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        descriptor = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(state)
        os.replace(path + ".new", path)
        written += 1
    return written


def authenticates(connection):
    """
    Whether the credentials of ``connection`` get an (unscoped) token:
    ``auth_url``, ``password`` and ``user_id`` (or ``username`` with
    ``user_domain_name`` or ``user_domain_id``), plus ``cacert`` or
    ``verify``. False when Keystone refuses them (HTTP 401); any other
    failure is raised.
    """
    auth_keys = ("auth_url", "password", "user_id", "username", "user_domain_name", "user_domain_id")
    auth = ks_v3.Password(**{key: connection[key] for key in auth_keys if connection.get(key) is not None})
    verify = connection.get("cacert") or connection.get("verify")
    session = ks_session.Session(auth=auth, verify=True if verify is None else verify)
    try:
        session.get_token()
    except ks_exceptions.Unauthorized:
        return False
    return True


def failure(exc):
    """
    What ``exc`` means when openstacksdk or keystoneauth raised it:
    ``"unreachable"`` (nothing answered, or the service's endpoint did not
    answer its version discovery), ``"error"`` (any other failure of
    theirs), or None (not theirs).
    """
    unreachable = (
        ks_exceptions.ConnectionError,
        ks_exceptions.DiscoveryFailure,
        openstack.exceptions.ServiceDiscoveryException,
    )
    if isinstance(exc, unreachable):
        return "unreachable"
    if isinstance(exc, (ks_exceptions.ClientException, openstack.exceptions.SDKException)):
        return "error"
    return None


def endpoint_id(auth_url, username, password, user_domain_name, service_type, interface, region, cacert=None):
    """
    The id of the ``interface`` endpoint of the service of type
    ``service_type`` in ``region``, looked up as ``username`` with system
    scope: oslo.limit's own credentials and the endpoint its
    ``endpoint_id`` names. In test mode, a note instead of failing when
    there is no such endpoint yet (the apply registers it first). Errors
    name what is missing and carry no secret.

    The id found is kept under Salt's cache directory. When Keystone does
    not answer, or answers with a server error (its database down), the
    kept id is returned with a warning: a configuration file that names
    the endpoint then stays as it is, and the states that need Keystone
    fail naming it. Without a kept id, or when Keystone refuses, it fails.
    """
    connection = {"auth_url": auth_url, "username": username, "password": password,
                  "user_domain_name": user_domain_name, "system_scope": "all"}
    if cacert:
        connection["cacert"] = cacert
    where = f"{interface} {service_type} endpoint in region {region}"
    kept_as = hashlib.sha256(repr((auth_url, service_type, interface, region)).encode("utf-8")).hexdigest()
    try:
        conn = connect(connection, app_name="salt-glance-endpoint-id", connect_retries=3)
        services = list(conn.identity.services(type=service_type))
        endpoints = [endpoint for service in services
                     for endpoint in conn.identity.endpoints(service_id=service.id, interface=interface,
                                                             region_id=region)]
    except Exception as exc:  # the SDK's and keystoneauth's own, told apart below
        kind = failure(exc)
        if kind is None:
            raise
        what = "Keystone did not answer" if kind == "unreachable" else "Keystone refused"
        message = scrub(f"looking up the {where} as {username}: {what}: {exc}", connection)
        kept = _kept_endpoint_id(kept_as)
        if kept and (kind == "unreachable" or _server_error(exc)):
            log.warning("%s; the id found last time (%s) is used", message, kept)
            return kept
        raise CommandExecutionError(message) from None
    if len(endpoints) == 1:
        _keep_endpoint_id(kept_as, endpoints[0].id)
        return endpoints[0].id
    if not endpoints and __opts__.get("test"):
        return f"(the id of the {where}, once registered)"
    raise CommandExecutionError(f"Keystone has {len(endpoints)} {interface} {service_type} endpoints in region "
                                f"{region}, expected one" + ("" if endpoints else " (glance.bootstrap registers it)"))


def _server_error(exc):
    status = getattr(exc, "http_status", None) or getattr(exc, "status_code", None)
    return isinstance(status, int) and status >= 500


def _endpoint_file(key):
    return os.path.join(__opts__["cachedir"], "openstack_sdk", "endpoints", key)


def _kept_endpoint_id(key):
    try:
        with open(_endpoint_file(key), encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _keep_endpoint_id(key, found):
    if __opts__.get("test") or _kept_endpoint_id(key) == found:
        return
    path = _endpoint_file(key)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path + ".new", "w", encoding="utf-8") as handle:
        handle.write(found)
    os.replace(path + ".new", path)


def secrets(connection=None, also=()):
    """The secrets of ``connection`` and ``also`` (see SECRET_WORDS), longest first."""
    found = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                walk(sub_value, str(sub_key).lower())
        elif value and any(word in key for word in SECRET_WORDS):
            found.append(str(value))

    walk(connection or {})
    found.extend(str(value) for value in also if value)
    # Longest first: a secret that contains another is masked whole.
    return sorted(set(found), key=len, reverse=True)


def scrub(value, connection=None, also=()):
    """
    ``value`` with every secret of ``connection`` and ``also`` masked: in a
    string, and in the keys and items of dicts and lists, at any depth.
    Other values are returned as they are.
    """
    return _masked(value, secrets(connection, also))


def _masked(value, hidden):
    if isinstance(value, dict):
        return {_masked(key, hidden): _masked(item, hidden) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, hidden) for item in value]
    if isinstance(value, str):
        for secret in hidden:
            value = value.replace(secret, MASK)
    return value
