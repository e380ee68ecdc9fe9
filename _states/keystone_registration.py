"""
Register a service with Keystone (identity API v3) through openstacksdk.

Idempotent states for what a service like Glance needs in the Identity
service: a region, a project, roles, a service user and its role grants (on
a project, or on the system), a service entry and its endpoints, and the
registered limits of its unified limits.

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

No clouds.yaml and no ``OS_*`` environment variables are read. No secret
(passwords; see ``openstack_sdk.secrets``) is ever part of a state's changes,
comment or log.

Every state has the same shape (:func:`_ensure`): find the resource, create
it when missing, else bring the attributes the state sets in line; in test
mode, only say what would change.

:depends: openstacksdk, through the formula's ``openstack_sdk`` execution
    module
"""

import functools
import logging
import sys
import traceback

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

# Attributes that the changes name otherwise.
_CHANGE_KEYS = {"is_enabled": "enabled", "default_project_id": "default_project"}


def __virtual__():
    if "openstack_sdk.connect" not in __salt__:
        return (
            False,
            f"keystone_registration needs openstacksdk in the Python that runs Salt ({sys.executable}), "
            "through the openstack_sdk module",
        )
    return __virtualname__


class _Failure(Exception):
    """A condition that makes the state fail with a comment."""


def _connect(connection):
    """Return an SDK connection for the administrator, cached for the run."""
    if not connection or not connection.get("auth_url"):
        raise _Failure("connection:auth_url is required")
    unknown = sorted(set(connection) - set(_CONNECTION_KEYS))
    if unknown:
        raise _Failure("Unknown connection keys: {}".format(", ".join(unknown)))
    kwargs = {key: value for key, value in connection.items() if value is not None}
    # Keystone under uWSGI closes idle keep-alive connections; a request
    # sent on one just closed fails with "connection reset" (seen on
    # POST /v3/services). keystoneauth retries such connection failures.
    return __salt__["openstack_sdk.connect"](kwargs, app_name="salt-keystone-registration", connect_retries=3)


def _password_works(connection, user_id, password):
    """Whether ``password`` gets the user a token, from the administrator's Keystone."""
    probe = {key: connection.get(key) for key in ("auth_url", "cacert", "verify")}
    probe.update(user_id=user_id, password=password)
    return __salt__["openstack_sdk.authenticates"](probe)


def _run(name, connection, func, secrets=()):
    """Run ``func(ret)`` and turn errors into a failed state without secrets."""
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}

    def scrub(value):
        return __salt__["openstack_sdk.scrub"](value, connection, secrets)

    try:
        func(ret)
    except _Failure as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
    except Exception as exc:
        ret["result"] = False
        ret["comment"] = f"{type(exc).__name__}: {exc}"
        log.debug("keystone_registration %s failed:\n%s", name, scrub(traceback.format_exc()))
    ret["comment"] = scrub(ret["comment"])
    ret["changes"] = scrub(ret["changes"])
    return ret


def _fields(**wanted):
    """The attributes a state sets: those given (not None)."""
    return {attr: value for attr, value in wanted.items() if value is not None}


def _comparable(have, want):
    """``have`` made comparable with ``want``: unset text counts as "", a flag as a boolean."""
    if isinstance(want, bool):
        return bool(have)
    if isinstance(want, str):
        return have or ""
    return have


def _ensure(
    ret,
    subject,
    found,
    create,
    new,
    fields=None,
    update=None,
    shown=None,
    then=None,
    present="present",
    created="created",
    updated="updated",
    note="",
):
    """
    What every state does with its resource, ``subject`` in the comments.

    found
        The resource as Keystone has it, or None.
    create, new
        ``create(**fields)`` makes a missing resource; ``new`` is what the
        changes say then.
    fields, update, shown
        ``{attribute: wanted value}``: on an existing resource, the
        differing ones are set with ``update(found, **differing)`` (which
        returns the resource) and reported as ``{"old": ..., "new": ...}``,
        ``new`` being ``shown[attribute]`` when given, else the value.
    then
        ``then(found, differing, changes)``: a further step on an existing
        resource; returns a note for the comment.
    present, created, updated, note
        The comment: "<subject> is <present>", "<subject> [would be]
        <created|updated>", each followed by ``note``.
    """
    test = __opts__["test"]
    fields = fields or {}
    changes = {}
    if found is None:
        changes.update(new)
        if not test:
            create(**fields)
        done = created
    else:
        differing = {}
        for attr, want in fields.items():
            have = getattr(found, attr, None)
            if _comparable(have, want) != want:
                differing[attr] = want
                changes[_CHANGE_KEYS.get(attr, attr)] = {"old": have, "new": (shown or {}).get(attr, want)}
        if differing and not test:
            found = update(found, **differing)
        if then is not None:
            note += then(found, differing, changes)
        done = updated
    ret["changes"] = changes
    if not changes:
        ret["comment"] = f"{subject} is {present}{note}"
    elif test:
        ret["result"] = None
        ret["comment"] = f"{subject} would be {done}{note}"
    else:
        ret["comment"] = f"{subject} {done}{note}"


def _once(missing):
    """The comment's note on what a grant waits for (in test mode)."""
    if not missing:
        return ""
    return " once {} {}".format(", ".join(missing), "exists" if len(missing) == 1 else "exist")


def _domain(conn, name_or_id):
    domain = conn.identity.find_domain(name_or_id)
    if domain is None:
        raise _Failure(f"Domain {name_or_id} does not exist")
    return domain


def _find_project(conn, name, domain):
    return conn.identity.find_project(name, domain_id=_domain(conn, domain).id)


def _find_user(conn, name, domain):
    return conn.identity.find_user(name, domain_id=_domain(conn, domain).id)


def _find_service(conn, name, service_type):
    query = {"type": service_type} if service_type else {}
    matches = [svc for svc in conn.identity.services(**query) if svc.name == name]
    if len(matches) > 1:
        raise _Failure(f"{len(matches)} services are named {name}; give service_type to pick one")
    return matches[0] if matches else None


def _service_needed(conn, name, service_type):
    """The service ``name`` a state works under: a failure when it is
    missing, except in test mode (None: the apply registers it first)."""
    service = _find_service(conn, name, service_type)
    if service is None and not __opts__["test"]:
        raise _Failure(f"Service {name} does not exist")
    return service


def region_present(name, description=None, connection=None):
    """
    Ensure the region ``name`` exists.

    description
        Description of the region; left alone when not given.
    """

    def apply(ret):
        conn = _connect(connection)
        _ensure(
            ret,
            f"Region {name}",
            conn.identity.find_region(name),
            create=functools.partial(conn.identity.create_region, id=name),
            new={"region": {"old": None, "new": name}},
            fields=_fields(description=description),
            update=conn.identity.update_region,
        )

    return _run(name, connection, apply)


def project_present(name, domain="Default", description=None, connection=None):
    """
    Ensure the project ``name`` exists in ``domain`` (a domain name or id).
    """

    def apply(ret):
        conn = _connect(connection)
        domain_id = _domain(conn, domain).id
        _ensure(
            ret,
            f"Project {name}",
            conn.identity.find_project(name, domain_id=domain_id),
            create=functools.partial(conn.identity.create_project, name=name, domain_id=domain_id),
            new={"project": {"old": None, "new": name}},
            fields=_fields(description=description),
            update=conn.identity.update_project,
        )

    return _run(name, connection, apply)


def role_present(name, connection=None):
    """
    Ensure the (global) role ``name`` exists.
    """

    def apply(ret):
        conn = _connect(connection)
        _ensure(
            ret,
            f"Role {name}",
            conn.identity.find_role(name),
            create=functools.partial(conn.identity.create_role, name=name),
            new={"role": {"old": None, "new": name}},
        )

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
        domain_id = _domain(conn, domain).id
        project = None
        if default_project:
            project = _find_project(conn, default_project, project_domain or domain)
            if project is None and not __opts__["test"]:
                raise _Failure(f"Project {default_project} does not exist")

        def project_and_password(user, differing, changes):
            test = __opts__["test"]
            if default_project and project is None:  # test mode: still to be created
                changes["default_project"] = {"old": None, "new": default_project}
            now_enabled = bool(getattr(user, "is_enabled", True))
            if "is_enabled" in differing and test:
                now_enabled = bool(enabled)
            if not now_enabled:
                return " (disabled, password not verified)"
            if test and not getattr(user, "is_enabled", True):
                return " (password verified once the user is enabled)"
            if not _password_works(connection, user.id, password):
                changes["password"] = "changed"
                if not test:
                    conn.identity.update_user(user, password=password)
            return ""

        _ensure(
            ret,
            f"User {name}",
            conn.identity.find_user(name, domain_id=domain_id),
            create=functools.partial(conn.identity.create_user, name=name, domain_id=domain_id, password=password),
            new={"user": {"old": None, "new": name}, "password": "set"},
            fields=_fields(
                is_enabled=bool(enabled),
                description=description,
                email=email,
                default_project_id=getattr(project, "id", None),
            ),
            shown={"default_project_id": default_project},
            update=conn.identity.update_user,
            then=project_and_password,
            present="present with the desired password",
        )

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
            f"{kind} {value}"
            for kind, value, obj in (
                ("role", name, role),
                ("user", user, user_obj),
                ("project", project, project_obj),
            )
            if obj is None
        ]
        if missing and not __opts__["test"]:
            raise _Failure("Missing: {}".format(", ".join(missing)))
        grant = None
        if not missing:
            assignments = conn.identity.role_assignments(
                user_id=user_obj.id, scope_project_id=project_obj.id, role_id=role.id
            )
            grant = next(iter(assignments), None)
        target = f"granted to {user} on {project}"
        _ensure(
            ret,
            f"Role {name}",
            grant,
            create=functools.partial(conn.identity.assign_project_role_to_user, project_obj, user_obj, role),
            new={"granted": f"{user} on {project}"},
            present=target,
            created=target,
            note=_once(missing),
        )

    return _run(name, connection, apply)


def system_role_granted(name, user, system="all", user_domain="Default", connection=None):
    """
    Ensure ``user`` has the role ``name`` on the system (``all``): what a
    service needs to read its unified limits from Keystone (oslo.limit
    authenticates with system scope and reads limits, services, regions and
    endpoints).
    """

    target = f"granted to {user} on the system ({system})"

    def apply(ret):
        conn = _connect(connection)
        role = conn.identity.find_role(name)
        user_obj = _find_user(conn, user, user_domain)
        missing = [f"{kind} {value}" for kind, value, obj in (("role", name, role), ("user", user, user_obj))
                   if obj is None]
        if missing and not __opts__["test"]:
            raise _Failure("Missing: {}".format(", ".join(missing)))
        # Keystone's own check of the grant: its list of role assignments
        # filtered on the system comes from a cache that a new grant does
        # not reset (2025.1: still empty after the grant).
        granted = not missing and conn.identity.validate_user_has_system_role(user_obj, role, system)
        _ensure(
            ret,
            f"Role {name}",
            target if granted else None,
            create=functools.partial(conn.identity.assign_system_role_to_user, user_obj, role, system),
            new={"granted": f"{user} on the system ({system})"},
            present=target,
            created=target,
            note=_once(missing),
        )

    return _run(name, connection, apply)


def registered_limit_present(name, default_limit, service, region, service_type=None, connection=None):
    """
    Ensure Keystone's registered limit ``name`` (a resource name of the
    service, such as ``image_size_total``) of service ``service`` in
    ``region`` is ``default_limit``: the limit of every project that has
    no limit of its own (-1: none). oslo.limit reads the limits of its
    endpoint's region only, so a limit without the region would not count.
    """

    def apply(ret):
        if isinstance(default_limit, bool) or not isinstance(default_limit, int) or default_limit < -1:
            raise _Failure(f"default_limit must be a whole number, -1 for no limit, not {default_limit!r}")
        conn = _connect(connection)
        service_obj = _service_needed(conn, service, service_type)
        current = None
        if service_obj is not None:
            limits = conn.identity.registered_limits(service_id=service_obj.id, region_id=region, resource_name=name)
            current = next(iter(limits), None)
        _ensure(
            ret,
            f"The {service} registered limit {name} in {region}",
            current,
            create=functools.partial(
                conn.identity.create_registered_limit,
                service_id=getattr(service_obj, "id", None),
                region_id=region,
                resource_name=name,
            ),
            new={"registered_limit": {"old": None, "new": default_limit}},
            fields={"default_limit": default_limit},
            update=conn.identity.update_registered_limit,
            present=str(default_limit),
            created=f"set to {default_limit}",
            updated=f"set to {default_limit}",
            note="" if service_obj is not None else f" once service {service} exists",
        )

    return _run(name, connection, apply)


def service_present(name, type, description=None, enabled=True, connection=None):
    """
    Ensure the service ``name`` of type ``type`` (for example ``image``) exists.
    """

    def apply(ret):
        conn = _connect(connection)
        label = f"{name} ({type})"
        _ensure(
            ret,
            f"Service {label}",
            _find_service(conn, name, type),
            create=functools.partial(conn.identity.create_service, name=name, type=type),
            new={"service": {"old": None, "new": label}},
            fields=_fields(description=description, is_enabled=bool(enabled)),
            update=conn.identity.update_service,
        )

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
        service = _service_needed(conn, name, service_type)
        current = None
        if service is not None:
            endpoints = list(conn.identity.endpoints(service_id=service.id, interface=interface, region_id=region))
            # The one at the URL, else another one to move there.
            current = next((ep for ep in endpoints if ep.url == url), endpoints[0] if endpoints else None)
        _ensure(
            ret,
            f"The {name} {interface} endpoint in {region}",
            current,
            create=functools.partial(
                conn.identity.create_endpoint,
                service_id=getattr(service, "id", None),
                interface=interface,
                region_id=region,
            ),
            new={"endpoint": {"old": None, "new": url}},
            fields=_fields(url=url, is_enabled=bool(enabled)),
            update=conn.identity.update_endpoint,
            present=url,
            created=f"set to {url}",
            updated=f"set to {url}",
            note="" if service is not None else f" once service {name} exists",
        )

    return _run(name, connection, apply)
