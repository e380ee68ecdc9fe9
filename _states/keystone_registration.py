"""
Register a service with Keystone (identity API v3) through openstacksdk.

Idempotent states for what a service like Glance needs in the Identity
service: a region, a project, roles, a service user and its role grants, a
service entry and its endpoints.

Every state takes a ``connection`` mapping with the administrator's
credentials, passed to ``openstack.connect``:

.. code-block:: yaml

    connection:
      auth_url: http://keystone.example.org:5000/v3
      username: admin
      password: secret
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
      # optional: interface (of the identity endpoint in the catalog),
      # region_name, cacert, verify

No clouds.yaml and no ``OS_*`` environment variables are read. Passwords are
never part of a state's changes or comment.

:depends: openstacksdk
"""

import hashlib
import logging
import os
import sys


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
except ImportError:
    HAS_SDK = False

log = logging.getLogger(__name__)

__virtualname__ = "keystone_registration"

_CONNECTION_KEYS = (
    "auth_url",
    "username",
    "password",
    "project_name",
    "project_id",
    "user_domain_name",
    "user_domain_id",
    "project_domain_name",
    "project_domain_id",
    "region_name",
    "interface",
    "cacert",
    "verify",
)
_MASK = "********"


def __virtual__():
    if not HAS_SDK:
        return (False, "keystone_registration needs the openstacksdk Python package")
    return __virtualname__


class _Failure(Exception):
    """A condition that makes the state fail with a comment."""


def _ret(name):
    return {"name": name, "result": True, "changes": {}, "comment": ""}


def _secrets(connection, *extra):
    values = [(connection or {}).get("password")]
    values.extend(extra)
    return [str(value) for value in values if value]


def _scrub(text, secrets):
    text = str(text)
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text


def _connect(connection):
    """Return an SDK connection for the administrator, cached for the run."""
    if not connection or not connection.get("auth_url"):
        raise _Failure("connection:auth_url is required")
    unknown = sorted(set(connection) - set(_CONNECTION_KEYS))
    if unknown:
        raise _Failure("Unknown connection keys: {}".format(", ".join(unknown)))
    kwargs = {key: value for key, value in connection.items() if value is not None}
    digest = hashlib.sha256(repr(sorted(kwargs.items())).encode("utf-8")).hexdigest()
    cache = __context__.setdefault("keystone_registration.connections", {})
    if digest not in cache:
        # Keystone under uWSGI closes idle keep-alive connections; a request
        # sent on one just closed fails with "connection reset" (seen on
        # POST /v3/services). keystoneauth retries such connection failures.
        kwargs.setdefault("connect_retries", 3)
        cache[digest] = openstack.connect(
            load_yaml_config=False,
            load_envvars=False,
            app_name="salt-keystone-registration",
            **kwargs,
        )
    return cache[digest]


def _verify(connection):
    connection = connection or {}
    if connection.get("cacert"):
        return connection["cacert"]
    return connection.get("verify", True)


def _password_works(connection, user_id, password):
    """Whether ``password`` gets the user an (unscoped) token."""
    auth = ks_v3.Password(
        auth_url=connection["auth_url"],
        user_id=user_id,
        password=password,
    )
    session = ks_session.Session(auth=auth, verify=_verify(connection))
    try:
        session.get_token()
    except ks_exceptions.Unauthorized:
        return False
    return True


def _run(name, connection, func, secrets=()):
    """Run ``func(ret)`` and turn errors into a failed state without secrets."""
    ret = _ret(name)
    hidden = _secrets(connection, *secrets)
    try:
        func(ret)
    except _Failure as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
    except Exception as exc:  # pylint: disable=broad-except
        ret["result"] = False
        ret["comment"] = "{}: {}".format(type(exc).__name__, exc)
        log.debug("keystone_registration %s failed", name, exc_info=True)
    ret["comment"] = _scrub(ret["comment"], hidden)
    ret["changes"] = _scrub_changes(ret["changes"], hidden)
    return ret


def _scrub_changes(changes, secrets):
    if isinstance(changes, dict):
        return {key: _scrub_changes(value, secrets) for key, value in changes.items()}
    if isinstance(changes, list):
        return [_scrub_changes(value, secrets) for value in changes]
    if isinstance(changes, str):
        return _scrub(changes, secrets)
    return changes


def _finish(ret, changes, done, planned):
    """Set the outcome once the changes are known (applied or, in test mode, planned)."""
    ret["changes"] = changes
    if not changes:
        ret["comment"] = done
    elif __opts__["test"]:
        ret["result"] = None
        ret["comment"] = planned
    return ret


def _domain(conn, name_or_id):
    domain = conn.identity.find_domain(name_or_id)
    if domain is None:
        raise _Failure("Domain {} does not exist".format(name_or_id))
    return domain


def _find_project(conn, name, domain):
    return conn.identity.find_project(name, domain_id=_domain(conn, domain).id)


def _find_user(conn, name, domain):
    return conn.identity.find_user(name, domain_id=_domain(conn, domain).id)


def _find_service(conn, name, service_type):
    query = {"type": service_type} if service_type else {}
    matches = [svc for svc in conn.identity.services(**query) if svc.name == name]
    if len(matches) > 1:
        raise _Failure(
            "{} services are named {}; give service_type to pick one".format(len(matches), name)
        )
    return matches[0] if matches else None


def region_present(name, description=None, connection=None):
    """
    Ensure the region ``name`` exists.

    description
        Description of the region; left alone when not given.
    """

    def apply(ret):
        conn = _connect(connection)
        region = conn.identity.find_region(name)
        changes = {}
        if region is None:
            changes["region"] = {"old": None, "new": name}
            if not __opts__["test"]:
                attrs = {"id": name}
                if description is not None:
                    attrs["description"] = description
                conn.identity.create_region(**attrs)
        elif description is not None and (region.description or "") != description:
            changes["description"] = {"old": region.description, "new": description}
            if not __opts__["test"]:
                conn.identity.update_region(region, description=description)
        _finish(
            ret,
            changes,
            "Region {} is present".format(name),
            "Region {} would be created or updated".format(name),
        )
        if changes and not __opts__["test"]:
            ret["comment"] = "Region {} created or updated".format(name)

    return _run(name, connection, apply)


def project_present(name, domain="Default", description=None, connection=None):
    """
    Ensure the project ``name`` exists in ``domain`` (a domain name or id).
    """

    def apply(ret):
        conn = _connect(connection)
        domain_obj = _domain(conn, domain)
        project = conn.identity.find_project(name, domain_id=domain_obj.id)
        changes = {}
        if project is None:
            changes["project"] = {"old": None, "new": name}
            if not __opts__["test"]:
                attrs = {"name": name, "domain_id": domain_obj.id}
                if description is not None:
                    attrs["description"] = description
                conn.identity.create_project(**attrs)
        elif description is not None and (project.description or "") != description:
            changes["description"] = {"old": project.description, "new": description}
            if not __opts__["test"]:
                conn.identity.update_project(project, description=description)
        _finish(
            ret,
            changes,
            "Project {} is present".format(name),
            "Project {} would be created or updated".format(name),
        )
        if changes and not __opts__["test"]:
            ret["comment"] = "Project {} created or updated".format(name)

    return _run(name, connection, apply)


def role_present(name, connection=None):
    """
    Ensure the (global) role ``name`` exists.
    """

    def apply(ret):
        conn = _connect(connection)
        changes = {}
        if conn.identity.find_role(name) is None:
            changes["role"] = {"old": None, "new": name}
            if not __opts__["test"]:
                conn.identity.create_role(name=name)
        _finish(
            ret,
            changes,
            "Role {} is present".format(name),
            "Role {} would be created".format(name),
        )
        if changes and not __opts__["test"]:
            ret["comment"] = "Role {} created".format(name)

    return _run(name, connection, apply)


def user_present(
    name,
    password,
    domain="Default",
    default_project=None,
    project_domain=None,
    enabled=True,
    description=None,
    email=None,
    connection=None,
):
    """
    Ensure the user ``name`` exists in ``domain`` with ``password``.

    The password is updated only when it does not work: the state asks
    Keystone for a token with the desired password first. A failed attempt
    counts towards Keystone's lockout policy (``[security_compliance]
    lockout_failure_attempts``) when one is set.

    default_project
        Name of the user's default project (in ``project_domain``, which
        defaults to ``domain``).
    enabled
        Whether the user is enabled. The password of a user that stays
        disabled cannot be verified and is left alone.
    description, email
        Set when given.
    """

    def apply(ret):
        if not password:
            raise _Failure("A password is required")
        conn = _connect(connection)
        domain_obj = _domain(conn, domain)
        wanted = {"is_enabled": bool(enabled)}
        if description is not None:
            wanted["description"] = description
        if email is not None:
            wanted["email"] = email
        project = None
        if default_project:
            project = _find_project(conn, default_project, project_domain or domain)
            if project is None and not __opts__["test"]:
                raise _Failure("Project {} does not exist".format(default_project))

        user = conn.identity.find_user(name, domain_id=domain_obj.id)
        changes = {}
        if user is None:
            changes["user"] = {"old": None, "new": name}
            changes["password"] = "set"
            if not __opts__["test"]:
                attrs = dict(wanted, name=name, domain_id=domain_obj.id, password=password)
                if project is not None:
                    attrs["default_project_id"] = project.id
                conn.identity.create_user(**attrs)
            _finish(
                ret,
                changes,
                "",
                "User {} would be created".format(name),
            )
            if not __opts__["test"]:
                ret["comment"] = "User {} created".format(name)
            return

        update = {}
        for attr, value in wanted.items():
            current = getattr(user, attr, None)
            if attr != "is_enabled":
                current = current or ""
            if current != value:
                update[attr] = value
                changes[attr.replace("is_", "")] = {"old": getattr(user, attr, None), "new": value}
        if default_project:
            if project is None:
                changes["default_project"] = {"old": None, "new": default_project}
            elif getattr(user, "default_project_id", None) != project.id:
                update["default_project_id"] = project.id
                changes["default_project"] = {
                    "old": getattr(user, "default_project_id", None),
                    "new": default_project,
                }
        if update and not __opts__["test"]:
            user = conn.identity.update_user(user, **update)

        now_enabled = bool(getattr(user, "is_enabled", True))
        if "is_enabled" in update and __opts__["test"]:
            now_enabled = bool(enabled)
        note = ""
        if not now_enabled:
            note = " (disabled, password not verified)"
        elif __opts__["test"] and not getattr(user, "is_enabled", True):
            note = " (password verified once the user is enabled)"
        elif not _password_works(connection, user.id, password):
            changes["password"] = "changed"
            if not __opts__["test"]:
                conn.identity.update_user(user, password=password)
        _finish(
            ret,
            changes,
            "User {} is present with the desired password{}".format(name, note),
            "User {} would be updated{}".format(name, note),
        )
        if changes and not __opts__["test"]:
            ret["comment"] = "User {} updated{}".format(name, note)

    return _run(name, connection, apply, secrets=(password,))


def role_granted(
    name,
    user,
    project,
    user_domain="Default",
    project_domain=None,
    connection=None,
):
    """
    Ensure ``user`` has the role ``name`` on ``project``.
    """

    def apply(ret):
        conn = _connect(connection)
        role = conn.identity.find_role(name)
        user_obj = _find_user(conn, user, user_domain)
        project_obj = _find_project(conn, project, project_domain or user_domain)
        missing = [
            "{} {}".format(kind, value)
            for kind, value, obj in (
                ("role", name, role),
                ("user", user, user_obj),
                ("project", project, project_obj),
            )
            if obj is None
        ]
        changes = {}
        target = "{} on {}".format(user, project)
        if missing:
            if not __opts__["test"]:
                raise _Failure("Missing: {}".format(", ".join(missing)))
            changes["granted"] = target
            _finish(ret, changes, "", "")
            ret["comment"] = "Role {} would be granted to {} once {} exist".format(
                name, target, ", ".join(missing)
            )
            return
        assignments = list(
            conn.identity.role_assignments(
                user_id=user_obj.id, scope_project_id=project_obj.id, role_id=role.id
            )
        )
        if not assignments:
            changes["granted"] = target
            if not __opts__["test"]:
                conn.identity.assign_project_role_to_user(project_obj, user_obj, role)
        _finish(
            ret,
            changes,
            "Role {} is granted to {}".format(name, target),
            "Role {} would be granted to {}".format(name, target),
        )
        if changes and not __opts__["test"]:
            ret["comment"] = "Role {} granted to {}".format(name, target)

    return _run(name, connection, apply)


def service_present(name, type, description=None, enabled=True, connection=None):
    """
    Ensure the service ``name`` of type ``type`` (for example ``image``) exists.
    """

    def apply(ret):
        conn = _connect(connection)
        service = _find_service(conn, name, type)
        changes = {}
        if service is None:
            changes["service"] = {"old": None, "new": "{} ({})".format(name, type)}
            if not __opts__["test"]:
                attrs = {"name": name, "type": type, "is_enabled": bool(enabled)}
                if description is not None:
                    attrs["description"] = description
                conn.identity.create_service(**attrs)
        else:
            update = {}
            if description is not None and (service.description or "") != description:
                update["description"] = description
                changes["description"] = {"old": service.description, "new": description}
            if bool(service.is_enabled) != bool(enabled):
                update["is_enabled"] = bool(enabled)
                changes["enabled"] = {"old": service.is_enabled, "new": bool(enabled)}
            if update and not __opts__["test"]:
                conn.identity.update_service(service, **update)
        _finish(
            ret,
            changes,
            "Service {} ({}) is present".format(name, type),
            "Service {} ({}) would be created or updated".format(name, type),
        )
        if changes and not __opts__["test"]:
            ret["comment"] = "Service {} ({}) created or updated".format(name, type)

    return _run(name, connection, apply)


def endpoint_present(
    name,
    interface,
    url,
    region="RegionOne",
    service_type=None,
    enabled=True,
    connection=None,
):
    """
    Ensure the service ``name`` has one ``interface`` endpoint (public,
    internal or admin) in ``region`` pointing at ``url``.
    """

    def apply(ret):
        if interface not in ("public", "internal", "admin"):
            raise _Failure("interface must be public, internal or admin")
        conn = _connect(connection)
        label = "{} {} endpoint in {}".format(name, interface, region)
        service = _find_service(conn, name, service_type)
        changes = {}
        if service is None:
            if not __opts__["test"]:
                raise _Failure("Service {} does not exist".format(name))
            changes["endpoint"] = {"old": None, "new": url}
            _finish(ret, changes, "", "The {} would be created".format(label))
            return
        endpoints = list(
            conn.identity.endpoints(service_id=service.id, interface=interface, region_id=region)
        )
        current = next((ep for ep in endpoints if ep.url == url), None)
        if current is None and endpoints:
            current = endpoints[0]
        if current is None:
            changes["endpoint"] = {"old": None, "new": url}
            if not __opts__["test"]:
                conn.identity.create_endpoint(
                    service_id=service.id,
                    interface=interface,
                    url=url,
                    region_id=region,
                    is_enabled=bool(enabled),
                )
        else:
            update = {}
            if current.url != url:
                update["url"] = url
                changes["url"] = {"old": current.url, "new": url}
            if bool(current.is_enabled) != bool(enabled):
                update["is_enabled"] = bool(enabled)
                changes["enabled"] = {"old": current.is_enabled, "new": bool(enabled)}
            if update and not __opts__["test"]:
                conn.identity.update_endpoint(current, **update)
        _finish(
            ret,
            changes,
            "The {} is {}".format(label, url),
            "The {} would be set to {}".format(label, url),
        )
        if changes and not __opts__["test"]:
            ret["comment"] = "The {} set to {}".format(label, url)

    return _run(name, connection, apply)
