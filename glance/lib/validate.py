"""Checks of glance:server as given and of the map derive.py built.

map.py (beside it) calls problem() in Salt's own process while map.jinja
builds the map: the message for the first problem, or "". map.jinja raises
it, so every SLS stops at render time, before any change, on bad pillar.
Each message names the pillar key and what was expected. Only checks: the
values are derived in derive.py.
"""
import numbers
import re

# Keys of glance:server that hold a mapping (notification may also be a
# bool, stores a list).
MAPPINGS = ("bind", "database", "identity", "message_queue", "notification", "cache", "storage", "stores",
            "ceph", "image_cache", "policy", "config", "registry", "import", "cors", "db_purge", "limits",
            "internal_api")
STORE_TYPES = ("file", "rbd", "cinder", "s3", "http")


class Invalid(Exception):
    def __init__(self, key, message):
        super().__init__(f"glance:server:{key}: {message}")


def problem(glance, given):
    """The first problem of GLANCE (the built map) and GIVEN (glance:server
    as the pillar gives it), or ""."""
    try:
        check(glance, given)
    except Invalid as invalid:
        return str(invalid)
    return ""


def is_list(value):
    """What Jinja calls iterable but neither a string nor a mapping."""
    return hasattr(value, "__iter__") and not isinstance(value, (str, bytes, dict))


def check(glance, given):
    check_shapes(given)
    check_server(glance, given)
    check_install(glance)
    check_database(glance["server"]["database"], glance["features"])
    check_identity(glance["server"]["identity"])
    check_messaging(glance)
    check_client_tls(glance["server"])
    check_cache(glance["server"].get("cache") or {}, glance)
    check_stores(glance, given)
    check_ceph(glance["server"]["ceph"])
    check_policy_and_config(glance["server"])
    check_import(glance, given)
    check_middleware(glance, given)
    check_property_protection(given)
    check_self_reference(glance, given)
    check_db_purge(glance)
    check_image_cache(glance)
    check_limits(glance)
    check_api_ssl(glance)
    check_internal_api(glance)


# Of MAPPINGS, the keys whose default is no mapping: null is theirs.
NULLABLE = ("cache", "storage", "stores")


def check_shapes(given):
    for key in MAPPINGS:
        value = given.get(key)
        if key in given and value is None and key not in NULLABLE:
            raise Invalid(key, "expected a mapping, got null (leave the key out for the defaults)")
        if key not in given or value is None or isinstance(value, dict):
            continue
        if key == "notification" and value in (True, False):
            continue
        if key == "stores" and is_list(value):
            continue
        raise Invalid(key, f"expected a mapping, got {value}")


def check_server(glance, given):
    srv = glance["server"]
    if srv.get("role") not in ("primary", "secondary"):
        raise Invalid("role", f"expected primary or secondary, got {srv.get('role')}")
    if not is_list(srv.get("images")):
        raise Invalid("images", "expected a list of images")
    workers = srv.get("workers")
    if workers is not None and (not isinstance(workers, numbers.Number) or workers < 1):
        raise Invalid("workers", f"expected a whole number of at least 1, got {workers}")
    port = srv["bind"].get("port")
    if not isinstance(port, numbers.Number):
        raise Invalid("bind:port", f"expected a port number, got {port}")
    for key in ("show_image_direct_url", "show_multiple_locations"):
        if not isinstance(srv.get(key), bool):
            raise Invalid(key, f"expected true or false, got {srv.get(key)}")
    if srv["show_multiple_locations"] and glance["features"]["location_api"]:
        raise Invalid("show_multiple_locations",
                      f"refused for {glance['version']}: it lets users replace image data (OSSN-0065); "
                      "from 2024.2 Nova and Cinder use the location API (image API 2.17, service role only)")
    if "enable_v1_api" in given and not glance["features"]["v1_api"]:
        raise Invalid("enable_v1_api",
                      f"the Images API v1 was removed in Rocky; version {glance['version']} has no v1 API")


def version_key(version):
    return tuple(int(part) for part in str(version).split("."))


def check_install(glance):
    """The install method; for PyPI, a release the formula carries the
    constraints of, whose Python range holds the host's Python, and Ceph
    bindings the virtualenv can use where a store needs them."""
    install = glance["server"].get("install")
    if not isinstance(install, dict):
        raise Invalid("install", f"expected a mapping, got {install}")
    if install.get("method") not in ("packages", "pypi"):
        raise Invalid("install:method", f"expected packages or pypi, got {install.get('method')}")
    if install["method"] != "pypi":
        return
    build = install.get("build")
    if not is_list(build) or not all(isinstance(name, str) and name for name in build):
        raise Invalid("install:build", f"expected a list of package names, got {build}")
    if not isinstance(install.get("keep_previous"), bool):
        raise Invalid("install:keep_previous", f"expected true or false, got {install.get('keep_previous')}")
    python, releases = install["python_version"], install["releases"]
    runnable = [name for name, data in releases.items()
                if version_key(data["python"][0]) <= version_key(python) <= version_key(data["python"][1])]
    fits = (f"releases from PyPI that run on this host's Python {python} ({install['python']}): "
            f"{', '.join(runnable) or 'none'}")
    release = install.get("release")
    if release is None:
        raise Invalid("version", f"release {glance['version']} is not installed from PyPI by this formula; {fits}")
    low, high = release["python"]
    if not version_key(low) <= version_key(python) <= version_key(high):
        raise Invalid("version", f"release {glance['version']} (Glance {release['glance']}) runs on Python "
                      f"{low} to {high}, not on this host's Python {python}; {fits}")
    if install["link_modules"] and not glance["pypi"]["ceph_bindings"]:
        raise Invalid("install:method", f"pypi with an rbd store needs Ceph's Python bindings built for "
                      f"{install['python']}, which this platform's packages do not provide")


def check_database(db, features):
    if db.get("engine") not in ("mysql", "postgresql", "sqlite"):
        raise Invalid("database:engine",
                      f"unknown database engine {db.get('engine')}; expected mysql, postgresql or sqlite")
    if db["engine"] != "sqlite":
        for key in ("host", "password"):
            if not db.get(key):
                raise Invalid(f"database:{key}", f"is required with database engine {db['engine']}")
    if not isinstance(db.get("contract"), bool):
        raise Invalid("database:contract", f"must be true or false, not {db.get('contract')!r}")
    if not db["contract"]:
        # glance-manage's online expand, migrate and contract refuse other engines.
        if db["engine"] == "postgresql":
            raise Invalid("database:contract", "false (a rolling schema upgrade) needs database engine mysql "
                                               "or sqlite: Glance's online expand and contract support no other")
        if not features.get("db_check"):
            raise Invalid("database:contract", "false (a rolling schema upgrade) needs a release from Queens "
                                               "on: earlier ones have no glance-manage db check")


def check_identity(identity):
    if identity.get("engine") not in ("keystone", "noauth"):
        raise Invalid("identity:engine",
                      f"unknown identity engine {identity.get('engine')}; expected keystone or noauth")
    if identity["engine"] == "keystone":
        for key in ("host", "password"):
            if not identity.get(key):
                raise Invalid(f"identity:{key}", "is required with identity engine keystone")


def check_client_tls(srv):
    """TLS to Keystone, the database, RabbitMQ and memcached: a switch, and a CA (an
    absolute path) only with it on, since a CA for a plain connection is
    half a configuration: most likely the switch was forgotten."""
    identity = srv["identity"]
    if identity.get("protocol") not in ("http", "https"):
        raise Invalid("identity:protocol", f"expected http or https, got {identity.get('protocol')}")
    services = [("identity", "Keystone", identity.get("protocol") == "https", identity)]
    for key, name in (("database", "the database"), ("message_queue", "RabbitMQ"), ("cache", "memcached")):
        ssl = (srv.get(key) or {}).get("ssl")
        if ssl is None:
            continue
        if not isinstance(ssl, dict):
            raise Invalid(f"{key}:ssl", f"expected a mapping of enabled and cacert_file, got {ssl}")
        if not isinstance(ssl.get("enabled", False), bool):
            raise Invalid(f"{key}:ssl:enabled", f"expected true or false, got {ssl.get('enabled')}")
        services.append((f"{key}:ssl", name, ssl.get("enabled", False), ssl))
    for key, name, on, settings in services:
        cafile = settings.get("cacert_file")
        if cafile is None:
            continue
        if not isinstance(cafile, str) or not cafile.startswith("/"):
            raise Invalid(f"{key}:cacert_file", f"expected an absolute path, got {cafile}")
        if not on:
            switch = "identity:protocol to https" if key == "identity" else f"{key}:enabled to true"
            raise Invalid(f"{key}:cacert_file", f"a CA for {name} without TLS: set {switch}, or leave the CA out")


def check_messaging(glance):
    srv = glance["server"]
    mq = srv["message_queue"]
    if glance["messaging"]:
        if mq.get("engine") != "rabbitmq":
            raise Invalid("message_queue:engine",
                          f"unknown message queue engine {mq.get('engine')}; expected rabbitmq")
        if "members" in mq:
            if not is_list(mq["members"]) or len(mq["members"]) == 0:
                raise Invalid("message_queue:members", "expected a non-empty list of {host, port}")
            for member in mq["members"]:
                if not isinstance(member, dict) or not member.get("host"):
                    raise Invalid("message_queue:members", f"every member needs a host, got {member}")
        elif not mq.get("host"):
            raise Invalid("message_queue", "give host or members")
        for key in ("user", "password"):
            if not mq.get(key):
                raise Invalid(f"message_queue:{key}", "is required with message queue engine rabbitmq")
            # oslo.messaging rebuilds the broker URL with the user and
            # password quoted except for '/', so kombu misreads any '/'.
            if "/" in str(mq[key]):
                raise Invalid(f"message_queue:{key}", 'must not contain "/": oslo.messaging passes it to '
                              "RabbitMQ unquoted and the connection URL breaks")
    if srv["notification"].get("enabled") and not glance["messaging"]:
        raise Invalid("notification", "notifications need glance:server:message_queue")


def check_cache(cache, glance):
    """The token cache (memcached) and its optional protection: MAC or
    encryption of what is cached, TLS on the wire."""
    if cache.get("members") is not None and not is_list(cache["members"]):
        raise Invalid("cache:members", "expected a list of {host, port}")
    if (cache.get("ssl") or {}).get("enabled"):
        if not cache.get("members"):
            raise Invalid("cache:ssl:enabled", "TLS to memcached needs the servers: give cache:members")
        if not glance["features"]["memcache_tls"]:
            raise Invalid("cache:ssl:enabled", f"keystonemiddleware speaks TLS to memcached from 2025.2 (Glance 31); "
                          f"version {glance['version']} has no memcache_tls_enabled")
    security = cache.get("security") or {}
    if security.get("enabled"):
        if not security.get("secret_key"):
            raise Invalid("cache:security:secret_key", "is required when cache:security:enabled is true")
        if security.get("strategy", "ENCRYPT") not in ("MAC", "ENCRYPT"):
            raise Invalid("cache:security:strategy", f"expected MAC or ENCRYPT, got {security['strategy']}")


def check_stores(glance, given):
    """glance:server:stores or glance:server:storage, never both. Swift needs
    glance-swift.conf, which the formula does not write."""
    if given.get("stores") and given.get("storage"):
        raise Invalid("stores", "give either glance:server:stores or glance:server:storage, not both")
    if given.get("stores"):
        if not glance["features"]["multistore"]:
            raise Invalid("stores", f"multiple stores need Ussuri or newer; version {glance['version']} "
                          "takes glance:server:storage")
        if isinstance(given["stores"], dict):
            for store_id, options in given["stores"].items():
                if not isinstance(options, dict):
                    raise Invalid(f"stores:{store_id}", f"expected a mapping with a type, got {options}")
        else:
            for options in given["stores"]:
                if not isinstance(options, dict) or not options.get("id"):
                    raise Invalid("stores", f"every store in the list form needs an id, got {options}")
    else:
        storage = given.get("storage") or {"engine": "file"}
        if storage.get("engine", "file") not in ("file", "rbd"):
            raise Invalid("storage:engine", f"unknown storage engine {storage.get('engine')}; expected file or rbd")

    seen_ids = []
    for store in glance["stores"]:
        store_type = store["type"]
        if store_type == "swift":
            raise Invalid(f"{store['key']}:type", "swift stores are not supported by this formula (it does not "
                          f"write glance-swift.conf); use {', '.join(STORE_TYPES[:-1])} or {STORE_TYPES[-1]}")
        if store_type not in STORE_TYPES:
            raise Invalid(f"{store['key']}:type",
                          f"unknown store type {store_type}; expected one of {', '.join(STORE_TYPES)}")
        if store["id"] in seen_ids:
            raise Invalid("stores", f"duplicate store id {store['id']}")
        if store["id"].startswith("os_glance_"):
            raise Invalid(store["key"], "store ids starting with os_glance_ are reserved by Glance")
        seen_ids.append(store["id"])
        if store_type == "rbd":
            for key in ("pool", "user", "client_glance_key"):
                if not store["options"].get(key):
                    raise Invalid(f"{store['key']}:{key}", "is required for an rbd store")
    http_stores = [store["id"] for store in glance["stores"] if store["type"] == "http"]
    if len(http_stores) > 1:
        raise Invalid("stores", f"at most one http store can be configured, got {', '.join(http_stores)}")

    default_store = given.get("default_store")
    if default_store is None:
        if len(seen_ids) > 1:
            raise Invalid("default_store",
                          f"is required with more than one store; expected one of {', '.join(seen_ids)}")
    elif str(default_store) not in seen_ids:
        raise Invalid("default_store", f"{default_store} is not one of the stores ({', '.join(seen_ids)})")


def check_ceph(ceph):
    timeout = ceph.get("op_timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
        raise Invalid("ceph:op_timeout", f"expected whole seconds (0: wait as long as Ceph does), got {timeout}")


def check_policy_and_config(srv):
    if not isinstance(srv.get("policy"), dict):
        raise Invalid("policy", "expected a mapping of rule name to a rule string or a list of alternatives")
    for name, sections in srv["config"].items():
        if not isinstance(sections, dict):
            raise Invalid(f"config:{name}", "expected a mapping of section to keys")
        for section, keys in sections.items():
            if keys is not None and not isinstance(keys, dict):
                raise Invalid(f"config:{name}:{section}", "expected a mapping of key to value (null removes a key)")


# Import methods by the feature of releases.yaml that brings them.
IMPORT_METHODS = {"glance-direct": "image_import", "web-download": "image_import",
                  "copy-image": "multistore", "glance-download": "import_glance_download"}


def check_import(glance, given):
    """glance:server:import: known methods the release has, copy-image only
    with two stores to copy between, and filtering lists of the right kind."""
    given = given.get("import") or {}
    if not given:
        return
    if not glance["features"]["image_import"]:
        raise Invalid("import", f"image import needs Queens or newer; version {glance['version']} has none")
    methods = given.get("methods")
    if methods is not None:
        if not is_list(methods):
            raise Invalid("import:methods", f"expected a list of import methods, got {methods}")
        for method in methods:
            if method not in IMPORT_METHODS:
                raise Invalid("import:methods", f"unknown import method {method}; expected some of "
                              f"{', '.join(IMPORT_METHODS)}")
            if not glance["features"][IMPORT_METHODS[method]]:
                raise Invalid("import:methods", f"version {glance['version']} has no {method} import method")
        if methods and glance["server"]["identity"].get("engine") == "noauth":
            raise Invalid("import:methods", "image import needs identity engine keystone: Glance files each "
                                            "import task under the request's project, and without Keystone "
                                            "a request has none; leave methods unset or []")
        if "copy-image" in methods and glance["image_import"]["copyable_stores"] < 2:
            raise Invalid("import:methods", "copy-image copies between stores and needs two stores or more")
    filtering = given.get("filtering")
    if filtering is None:
        return
    if not isinstance(filtering, dict):
        raise Invalid("import:filtering", f"expected a mapping, got {filtering}")
    for key, value in filtering.items():
        if value is None:
            continue
        if not is_list(value):
            raise Invalid(f"import:filtering:{key}", f"expected a list, got {value}")
        for item in value:
            if key.endswith("_ports"):
                if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 65536:
                    raise Invalid(f"import:filtering:{key}", f"expected port numbers, got {item}")
            elif key.endswith("_schemes"):
                if item not in ("http", "https"):
                    raise Invalid(f"import:filtering:{key}",
                                  f"web-download fetches over http and https only, got {item}")
            elif not isinstance(item, str) or not item or any(c in item for c in "/, "):
                raise Invalid(f"import:filtering:{key}", f"expected host names or addresses, got {item}")
    if filtering.get("allowed_schemes") == []:
        raise Invalid("import:filtering:allowed_schemes", "an empty list allows every scheme; leave web-download "
                      "out of import:methods to turn it off")


CORS_LISTS = ("allowed_origin", "expose_headers", "allow_methods", "allow_headers")


def check_middleware(glance, given):
    """glance:server:cors (allowed_origin required, origins without a path,
    lists of names) and behind_proxy, on releases whose paste pipelines
    have the filters."""
    srv = glance["server"]
    if not isinstance(srv.get("behind_proxy"), bool):
        raise Invalid("behind_proxy", f"expected true or false, got {srv.get('behind_proxy')}")
    if srv["behind_proxy"] and not glance["features"]["proxy_headers"]:
        raise Invalid("behind_proxy", f"version {glance['version']} has no http_proxy_to_wsgi filter (Newton on)")
    cors = given.get("cors") or {}
    if not cors:
        return
    if not glance["features"]["cors_middleware"]:
        raise Invalid("cors", f"version {glance['version']} has no CORS filter (Mitaka on)")
    if "allowed_origin" not in cors:
        raise Invalid("cors:allowed_origin", "is required when glance:server:cors is given")
    for key in CORS_LISTS:
        if key not in cors:
            continue
        value = cors[key]
        if not is_list(value) or not value or not all(isinstance(item, str) and item for item in value):
            raise Invalid(f"cors:{key}", f"expected a non-empty list of strings, got {value}")
    for origin in cors["allowed_origin"]:
        scheme, _, rest = origin.partition("://")
        if origin != "*" and (scheme not in ("http", "https") or not rest or "/" in rest):
            raise Invalid("cors:allowed_origin", f"expected origins such as https://dashboard.example.com "
                          f"(scheme and host, no path), or *, got {origin}")
    if "*" in cors["allowed_origin"] and cors.get("allow_credentials"):
        raise Invalid("cors:allow_credentials", "browsers refuse credentials for the origin *; name the origins")
    if "allow_credentials" in cors and not isinstance(cors["allow_credentials"], bool):
        raise Invalid("cors:allow_credentials", f"expected true or false, got {cors['allow_credentials']}")
    max_age = cors.get("max_age")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0):
        raise Invalid("cors:max_age", f"expected whole seconds, got {max_age}")


PROTECTED_OPERATIONS = ("create", "read", "update", "delete")


def check_property_protection(given):
    """glance:server:property_protection: the rules Glance would load, in a
    file it starts with (every operation named, expressions that compile,
    '@' and '!' alone, one policy per operation)."""
    protection = given.get("property_protection")
    if not protection:
        return
    if not isinstance(protection, dict):
        raise Invalid("property_protection", f"expected a mapping of format and rules, got {protection}")
    rule_format = protection.get("format", "roles")
    if rule_format not in ("roles", "policies"):
        raise Invalid("property_protection:format", f"expected roles or policies, got {rule_format}")
    rules = protection.get("rules")
    if not is_list(rules) or not rules:
        raise Invalid("property_protection:rules", f"expected a non-empty list of rules, got {rules}")
    seen = set()
    for index, rule in enumerate(rules):
        key = f"property_protection:rules:{index}"
        if not isinstance(rule, dict):
            raise Invalid(key, f"expected a mapping of property, create, read, update, delete, got {rule}")
        expression = rule.get("property")
        if not isinstance(expression, str) or not expression:
            raise Invalid(f"{key}:property", f"expected a regular expression, got {expression}")
        try:
            re.compile(expression)
        except re.error as error:
            raise Invalid(f"{key}:property", f"not a regular expression ({error}): {expression}") from None
        if expression.startswith("os_glance"):
            raise Invalid(f"{key}:property", "os_glance properties are Glance's own (it drops such rules)")
        if expression in seen:
            raise Invalid(f"{key}:property", f"{expression} has a rule already (Glance would not start)")
        seen.add(expression)
        for operation in PROTECTED_OPERATIONS:
            if operation not in rule:
                raise Invalid(f"{key}:{operation}", "is required (Glance would not start without it); "
                              "[] lets no one")
            value = rule[operation]
            if not is_list(value) or not all(isinstance(item, str) and item and "," not in item
                                             for item in value):
                raise Invalid(f"{key}:{operation}", f"expected a list of role or policy names, got {value}")
            if ("@" in value or "!" in value) and len(value) > 1:
                raise Invalid(f"{key}:{operation}", f"'@' (everyone) and '!' (no one) stand alone, got {value}")
            if rule_format == "policies" and len(value) > 1:
                raise Invalid(f"{key}:{operation}", f"one policy per operation (combine them in the policy "
                              f"file), got {value}")


def check_self_reference(glance, given):
    """worker_self_reference_url: an http(s) URL, on a release that has it."""
    self_url = given.get("worker_self_reference_url")
    if self_url is None:
        return
    if not isinstance(self_url, str) or not re.match(r"^https?://[^/\s]+(/\S*)?$", self_url):
        raise Invalid("worker_self_reference_url",
                      f"expected this API worker's http or https URL ({{minion}} stands for the minion id), "
                      f"got {self_url}")
    if not glance["features"]["distributed_import"]:
        raise Invalid("worker_self_reference_url",
                      f"version {glance['version']} has no distributed import (Wallaby on)")


def check_db_purge(glance):
    """db_purge: numbers glance-manage db purge takes, a calendar for the
    timer, on a release that has the command."""
    purge = glance["server"]["db_purge"]
    if not isinstance(purge.get("enabled"), bool):
        raise Invalid("db_purge:enabled", f"expected true or false, got {purge.get('enabled')}")
    age, rows, calendar = purge.get("age_in_days"), purge.get("max_rows"), purge.get("on_calendar")
    if isinstance(age, bool) or not isinstance(age, int) or age < 0:
        raise Invalid("db_purge:age_in_days", f"expected a number of days, 0 or more, got {age}")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < -1 or rows == 0:
        raise Invalid("db_purge:max_rows", f"expected a number of rows, or -1 for all, got {rows}")
    if not is_calendar(calendar):
        raise Invalid("db_purge:on_calendar", f"expected a systemd calendar event (daily, *-*-* 03:00), got {calendar}")
    if purge["enabled"] and not glance["features"]["db_purge"]:
        raise Invalid("db_purge:enabled", f"version {glance['version']} has no glance-manage db purge (Liberty on)")


# The registered limits of Glance's unified limits, in glance.bootstrap's order.
LIMITS = ("image_size_total", "image_stage_total", "image_count_total", "image_count_uploading")


def check_limits(glance):
    """limits: a switch and whole numbers (-1: no limit), on with Keystone
    only, on a release that enforces unified limits."""
    limits = glance["server"]["limits"]
    if not isinstance(limits.get("enabled"), bool):
        raise Invalid("limits:enabled", f"expected true or false, got {limits.get('enabled')}")
    for key in LIMITS:
        value = limits.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < -1:
            raise Invalid(f"limits:{key}", f"expected a whole number, or -1 for no limit, got {value}")
    if not limits["enabled"]:
        return
    if glance["server"]["identity"].get("engine") != "keystone":
        raise Invalid("limits:enabled", "unified limits live in Keystone: they need identity engine keystone")
    if not glance["features"]["keystone_limits"]:
        raise Invalid("limits:enabled", f"version {glance['version']} has no unified limits (Xena on)")


def is_calendar(value):
    """A one-line systemd calendar event (systemd itself checks the rest)."""
    return isinstance(value, str) and bool(value.strip()) and "\n" not in value


def check_image_cache(glance):
    """image_cache: switches, an absolute directory, sizes and times in
    whole numbers, and the calendars of its pruner and cleaner."""
    cache = glance["server"]["image_cache"]
    for key in ("enabled", "enable_management"):
        if not isinstance(cache.get(key), bool):
            raise Invalid(f"image_cache:{key}", f"expected true or false, got {cache.get(key)}")
    directory = cache.get("directory")
    if directory is not None and not (isinstance(directory, str) and directory.startswith("/")
                                      and "\n" not in directory):
        raise Invalid("image_cache:directory", f"expected an absolute path, got {directory}")
    for key, unit in (("max_size", "bytes"), ("stall_time", "seconds")):
        value = cache.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise Invalid(f"image_cache:{key}", f"expected a number of {unit}, 0 or more, got {value}")
    for key in ("pruner_on_calendar", "cleaner_on_calendar"):
        if not is_calendar(cache.get(key)):
            raise Invalid(f"image_cache:{key}",
                          f"expected a systemd calendar event (hourly, *:0/30), got {cache.get(key)}")


def check_api_ssl(glance):
    """bind:ssl: a switch; on, a certificate and a key (a CA optional), each
    as PEM text or as the path of a file on the host (X or X_file), served
    by a uWSGI that has TLS."""
    ssl = glance["server"]["bind"].get("ssl")
    if not isinstance(ssl, dict):
        raise Invalid("bind:ssl", f"expected a mapping of enabled, cert, key and cacert (or their _file), got {ssl}")
    if not isinstance(ssl.get("enabled"), bool):
        raise Invalid("bind:ssl:enabled", f"expected true or false, got {ssl.get('enabled')}")
    if not ssl["enabled"]:
        return
    for key, kind in (("cert", "CERTIFICATE"), ("key", "PRIVATE KEY"), ("cacert", "CERTIFICATE")):
        value, path = ssl.get(key), ssl.get(f"{key}_file")
        if value is not None and path is not None:
            raise Invalid(f"bind:ssl:{key}", f"give {key} or {key}_file, not both")
        if path is not None:
            if not isinstance(path, str) or not path.startswith("/"):
                raise Invalid(f"bind:ssl:{key}_file", f"expected an absolute path, got {path}")
            continue
        if value is None and key == "cacert":
            continue
        if not isinstance(value, str) or not re.search(rf"-----BEGIN [A-Z ]*{kind}-----", value):
            # The value is not shown: it may be a private key.
            raise Invalid(f"bind:ssl:{key}", f"expected a PEM {kind.lower()} (-----BEGIN ...{kind}-----), "
                          f"or {key}_file")
    if glance["api_server"] != "uwsgi":
        raise Invalid("bind:ssl:enabled", f"glance-api's eventlet server has no TLS (version {glance['version']}): "
                      "set glance:lookup:api_server to uwsgi, or terminate TLS in a proxy in front")
    if (ssl.get("cacert") or ssl.get("cacert_file")) and glance["server"]["identity"].get("cacert_file"):
        raise Invalid("bind:ssl:cacert", "image seeding verifies Glance and Keystone with one CA bundle: give one "
                      "file with both CAs as identity:cacert_file and leave bind:ssl:cacert out")
    if glance.get("install", {}).get("method") == "pypi" and not glance["pypi"]["tls_uwsgi"]:
        raise Invalid("bind:ssl:enabled", "the uWSGI wheel of PyPI installs (pyuwsgi) is built without TLS, and "
                      f"this platform's uWSGI has no plugin for Python {glance['install']['python_version']}")


def check_internal_api(glance):
    """OSSN-0090's internal glance-api: before the location API only, on
    the eventlet server, on a port of its own, with the public API hiding
    the locations it shows."""
    srv = glance["server"]
    internal = srv["internal_api"]
    if not isinstance(internal.get("enabled"), bool):
        raise Invalid("internal_api:enabled", f"expected true or false, got {internal.get('enabled')}")
    if not internal["enabled"]:
        return
    if glance["features"]["location_api"]:
        raise Invalid("internal_api:enabled",
                      f"refused for {glance['version']}: from 2024.2 Nova and Cinder read locations through the "
                      "location API (image API 2.17, service role only); point the internal endpoint at glance-api")
    if glance["api_server"] != "eventlet":
        raise Invalid("internal_api:enabled",
                      f"the internal API runs glance-api's eventlet server, and {glance['version']} is set to run "
                      "under uWSGI here (glance:lookup:api_server, or a PyPI install)")
    address, port = internal.get("address"), internal.get("port")
    if not isinstance(address, str) or not address:
        raise Invalid("internal_api:address", "give the address Nova and Cinder reach it on, "
                      "one end users cannot reach")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise Invalid("internal_api:port", f"expected a port number, got {port}")
    if port == srv["bind"]["port"]:
        raise Invalid("internal_api:port", f"{port} is the public API's (bind:port)")
    for key in ("show_image_direct_url", "show_multiple_locations"):
        if srv[key]:
            raise Invalid(key, "the internal API (internal_api) shows the locations; "
                          "the public API keeps them hidden (OSSN-0090)")
