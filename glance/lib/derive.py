"""The merged map of the formula, with the values the pillar implies.

map.py (beside it) calls build() in Salt's own process while map.jinja
builds the map; an unknown release raises ValueError with a one-line
message. The map is the platform map (defaults.yaml merged with os_family/<family>.yaml), then
glance:lookup, then glance:server and glance:bootstrap over the map's own
defaults of them, plus:
  version, major, features  the release and its features (releases.yaml)
  api_server                uwsgi where the release has no eventlet server
  uwsgi.wsgi_module         uWSGI loads glance.wsgi.api, not the glance-wsgi-api script
  messaging                 whether the pillar gives a message queue
  keystone                  Keystone's auth_url, auth_url_v3 and public_url
  stores, default_store     the stores as {id, key, type, options}
  api_endpoint              where clients on this host reach the API
  api_ssl                   the API's certificate, key and CA files (HTTPS), or None
  token_cache               Keystone's tokens are cached in memcached (keystone, cache:members)
  memcache_tls              that cache speaks TLS to memcached (cache:ssl)
  api_config                the path of glance-api.conf
  internal_api_config       the path of the internal API's file (server:internal_api)
  internal_api_unit         the path of the internal API's systemd unit
  manage_services           services and database actions are managed
  install                   how Glance is installed (derive_install)
  bin_dir, python           where Glance's commands and Python are
  image_import              import methods and web-download's filtering
and, in glance:server, the engines a pillar implies, RabbitMQ's endpoints,
the notification settings and ceph:mon_host as a list.

Python rather than Jinja: every SLS of the formula renders the map, and
Jinja compiles its templates again for each of them. A value of the wrong
shape is left as it is for validate.py to refuse with its message.
"""
import copy
import ipaddress
import re


def merged(base, update):
    """A deep copy of BASE with UPDATE merged over it: mappings recursively,
    anything else (lists included) replaced, as slsutil.merge's recurse."""
    result = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def is_list(value):
    """What Jinja calls iterable but neither a string nor a mapping."""
    return hasattr(value, "__iter__") and not isinstance(value, (str, bytes, dict))


def release(server, glance, releases, grains):
    """(version, major, features) of the pillar's release, else of the one
    the distribution packages."""
    version = server.get("version")
    if version is None:
        version = glance["default_version_by_osfinger"].get(grains.get("osfinger"), glance["default_version"])
    version = str(version).lower()
    version = releases["codenames"].get(version, version)
    if version not in releases["releases"]:
        raise ValueError(
            f"glance:server:version: unknown release {version}; expected one of "
            f"{', '.join(releases['releases'])} or a codename ({', '.join(releases['codenames'])})")
    major = releases["releases"][version]
    features = {name: (low is None or major >= low) and (high is None or major <= high)
                for name, (low, high) in releases["features"].items()}
    return version, major, features


def build(platform_map, lookup, server, bootstrap, releases, grains):
    glance = merged(platform_map, lookup)
    version, major, features = release(server, glance, releases, grains)
    srv = merged(glance["server"], server)
    srv["version"] = version
    glance.update({
        "server": srv,
        "bootstrap": merged(glance["bootstrap"], bootstrap),
        "version": version,
        "major": major,
        "features": features,
        "api_server": "uwsgi" if features["uwsgi_only"] else glance["api_server"],
        "api_config": f"{glance['config_dir']}/glance-api.conf",
        "internal_api_config": f"{glance['config_dir']}/glance-api-internal.conf",
        "internal_api_unit": f"/etc/systemd/system/{glance['services']['api_internal']}.service",
    })
    derive_database(srv, server)
    derive_identity(glance, srv, server)
    derive_messaging(glance, srv, server)
    derive_notification(glance, srv, server)
    derive_stores(glance, server)
    # Before the install: with TLS, PyPI installs run the distribution's uWSGI.
    glance["api_ssl"] = None
    if isinstance(srv.get("bind"), dict):
        derive_api_ssl(glance, srv["bind"])
    cache = srv.get("cache") if isinstance(srv.get("cache"), dict) else {}
    glance["token_cache"] = bool(cache.get("members") and (srv.get("identity") or {}).get("engine") == "keystone")
    glance["memcache_tls"] = bool(glance["token_cache"] and (cache.get("ssl") or {}).get("enabled"))
    derive_install(glance, srv, releases, grains)
    from_pypi = (glance.get("install") or {}).get("method") == "pypi"
    glance["uwsgi"]["wsgi_module"] = bool(features["wsgi_module"] and (
        from_pypi or glance["uwsgi"].get("packaged_wsgi_module", True) or not features["wsgi_script"]))
    derive_import(glance, srv)
    derive_image_cache(glance, srv)
    if isinstance(srv.get("ceph"), dict) and isinstance(srv["ceph"].get("mon_host"), str):
        srv["ceph"]["mon_host"] = [srv["ceph"]["mon_host"]]
    if isinstance(srv.get("bind"), dict):
        glance["api_endpoint"] = api_endpoint(srv["bind"].get("address", ""), srv["bind"].get("port"),
                                              "https" if glance["api_ssl"] else "http")
    # Skipped when building images: glance:server:manage_services false, or
    # the grain noservices.
    glance["manage_services"] = bool(srv.get("manage_services")) and not grains.get("noservices", False)
    return glance


def version_key(version):
    """'3.9' -> (3, 9), for comparing Python versions."""
    return tuple(int(part) for part in str(version).split("."))


def derive_install(glance, srv, releases, grains):
    """glance:server:install as the map's install, with for PyPI the
    release's data (releases.yaml pypi, None when the formula does not
    install it from PyPI), the virtualenv, the requirements the pillar
    implies and the packages pip may build from source. Glance's commands,
    its Python, paste file and metadata definitions then come from the
    virtualenv, and glance-api runs under its uWSGI: the wheel's, or with
    bind:ssl on the distribution's (pypi:tls_uwsgi), as the wheel has no
    OpenSSL."""
    install = srv.get("install")
    if not isinstance(install, dict):
        return
    glance["install"] = install
    glance["bin_dir"] = "/usr/bin"
    if install.get("method") != "pypi":
        return
    pypi = glance["pypi"]
    python_version = str(pypi["python_version_by_osfinger"].get(grains.get("osfinger"), pypi["python_version"]))
    venv = f"{pypi['root']}/{glance['version']}"
    release = releases.get("pypi", {}).get(glance["version"])
    tls_uwsgi = pypi["tls_uwsgi"] if glance["api_ssl"] else None
    requirements = [f"glance=={release['glance']}" if release else "glance",
                    *([] if tls_uwsgi else [pypi["uwsgi"]]), *pypi["requirements"]]
    library = pypi["libraries"].get((srv.get("database") or {}).get("engine"))
    if library:
        requirements.append(library)
    if glance["token_cache"]:
        requirements.append(pypi["libraries"]["memcached"])
    if glance["memcache_tls"]:
        requirements.append(pypi["libraries"]["memcached_tls"])
    build = install.get("build") or []
    paste_source = f"{venv}/etc/glance/glance-api-paste.ini"
    paste_in_config_dir = bool(release and release.get("paste_in_config_dir"))
    install.update({
        "release": release,
        "releases": releases.get("pypi", {}),
        "python": pypi["python"],
        "python_version": python_version,
        "venv": venv,
        "constraints_file": f"{venv}.constraints.txt",
        "requirements": requirements,
        "no_binary": sorted(set(pypi["pure_sdists"].get(glance["version"]) or [])
                           | set(build if is_list(build) else [])),
        "link_modules": pypi["ceph_modules"] if any(s["type"] == "rbd" for s in glance["stores"]) else [],
        "paste_source": paste_source,
        "paste_in_config_dir": paste_in_config_dir,
        "paste_config": f"{glance['config_dir']}/glance-api-paste.ini" if paste_in_config_dir else paste_source,
        "uwsgi_pkgs": tls_uwsgi["pkgs"] if tls_uwsgi else [],
    })
    glance.update({
        "bin_dir": f"{venv}/bin",
        "python": f"{venv}/bin/python",
        "metadefs_dir": f"{venv}/etc/glance/metadefs",
        "api_server": "uwsgi",
    })
    served_by = ({"binary": tls_uwsgi["binary"], "plugin": tls_uwsgi["plugin"], "virtualenv": venv} if tls_uwsgi
                 else {"binary": f"{venv}/bin/uwsgi", "plugin": None})
    glance["uwsgi"].update(served_by, manage_unit=True)


def derive_database(srv, given):
    """A database pillar without an engine means MySQL; PostgreSQL listens
    on 5432 unless the pillar gives a port."""
    db, given_db = srv.get("database"), given.get("database")
    if not isinstance(db, dict) or not isinstance(given_db, dict):
        return
    if given_db and "engine" not in given_db:
        db["engine"] = "mysql"
    if db.get("engine") == "postgresql" and "port" not in given_db:
        db["port"] = 5432


def derive_identity(glance, srv, given):
    """An identity pillar without an engine means Keystone. Its URLs serve
    glance-api.conf, image seeding and the Keystone registration, which
    without a host registers with a Keystone on this host."""
    identity = srv.get("identity")
    if not isinstance(identity, dict):
        return
    given_identity = given["identity"] if isinstance(given.get("identity"), dict) else {}
    identity["engine"] = given_identity.get("engine", "keystone" if given_identity else "noauth")
    base = f"{identity.get('protocol')}://{identity.get('host', '127.0.0.1')}"
    glance["keystone"] = {
        "auth_url": f"{base}:{identity.get('port')}",
        "auth_url_v3": f"{base}:{identity.get('port')}/v3",
        "public_url": f"{base}:{identity.get('public_port')}",
    }


def derive_messaging(glance, srv, given):
    """Only when the pillar gives a queue; endpoints are {host, port}, from
    members or from host."""
    glance["messaging"] = isinstance(given.get("message_queue"), dict)
    mq = srv["message_queue"]
    if not glance["messaging"]:
        return
    if "members" in mq:
        members = mq["members"] if is_list(mq["members"]) else []
        if members and all(isinstance(m, dict) and m.get("host") for m in members):
            mq["hosts"] = [m["host"] for m in members]
            mq["endpoints"] = [{"host": m["host"], "port": m.get("port", mq.get("port"))} for m in members]
    elif mq.get("host"):
        mq["endpoints"] = [{"host": mq["host"], "port": mq.get("port")}]


def derive_notification(glance, srv, given):
    """A bool or a mapping; on by default when a queue is given."""
    notification = srv.get("notification")
    if given.get("notification") in (True, False):
        driver = notification.get("driver", "messagingv2") if isinstance(notification, dict) else "messagingv2"
        notification = {"driver": driver, "enabled": given["notification"]}
    if not isinstance(notification, dict):
        notification = {"driver": "messagingv2"}
    notification.setdefault("enabled", glance["messaging"])
    srv["notification"] = notification


def derive_stores(glance, given):
    """glance:server:stores (multistore: a mapping of id to options, or a
    list of options with an id) or glance:server:storage (one store, the old
    formula's form); neither means a file store. Each store is {id, key (its
    pillar key, for messages), type, options}. One store is the default."""
    stores = []
    if given.get("stores"):
        if isinstance(given["stores"], dict):
            items = [(store_id, options) for store_id, options in given["stores"].items()
                     if isinstance(options, dict)]
        elif is_list(given["stores"]):
            items = [(options["id"], options) for options in given["stores"]
                     if isinstance(options, dict) and options.get("id")]
        else:
            items = []
        stores = [{"id": str(store_id), "key": f"stores:{store_id}", "type": options.get("type"), "options": options}
                  for store_id, options in items]
    elif isinstance(given.get("storage"), dict) or not given.get("storage"):
        storage = given.get("storage") or {"engine": "file"}
        options = merged(storage, {"type": storage.get("engine", "file")})
        options.pop("engine", None)
        stores = [{"id": options["type"], "key": "storage", "type": options["type"], "options": options}]
    default_store = given.get("default_store")
    if default_store is None and len(stores) == 1:
        default_store = stores[0]["id"]
    glance["stores"] = stores
    glance["default_store"] = str(default_store) if default_store is not None else None


def derive_image_cache(glance, srv):
    """The image cache's directory (under the state directory unless the
    pillar names one), whether the cache is on (enabled, or its management
    API enabled), and the file of the cache utilities' own options."""
    cache = srv.get("image_cache")
    if isinstance(cache, dict) and cache.get("directory") is None:
        cache["directory"] = f"{glance['state_dir']}/image-cache"
    glance["image_cache_on"] = isinstance(cache, dict) and bool(cache.get("enabled") or cache.get("enable_management"))
    glance["cache_config"] = f"{glance['config_dir']}/glance-cache.conf"


def normalized_host(host):
    """HOST as Glance compares it: an address in its standard form (IPv6
    compressed, without brackets), a name in lower case."""
    host = str(host).strip().strip("[]").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def mon_hosts(mon_host):
    """The hosts of Ceph's mon_host entries: "host", "host:port",
    "[v2:addr:port/0,v1:addr:port/0]" or "[ipv6]:port", comma- or
    space-separated."""
    hosts = []
    for entry in mon_host if is_list(mon_host) else [mon_host]:
        for item in re.split(r"[\s,]+", str(entry or "")):
            item = re.sub(r"^\[?v[12]:", "", item).split("/")[0].rstrip("]")
            if item.startswith("["):
                hosts.append(item[1:].split("]")[0])
            elif item.count(":") == 1:
                hosts.append(item.split(":")[0])
            elif item:
                hosts.append(item)
    return hosts


def service_hosts(srv):
    """The hosts of the deployment's services as the pillar names them."""
    hosts = []
    for key in ("database", "identity", "message_queue", "registry"):
        section = srv.get(key)
        if isinstance(section, dict) and section.get("host"):
            hosts.append(section["host"])
    for key in ("message_queue", "cache"):
        members = srv[key].get("members") if isinstance(srv.get(key), dict) else None
        for member in members if is_list(members) else []:
            if isinstance(member, dict) and member.get("host"):
                hosts.append(member["host"])
    if isinstance(srv.get("ceph"), dict):
        hosts.extend(mon_hosts(srv["ceph"].get("mon_host")))
    bind = srv.get("bind") if isinstance(srv.get("bind"), dict) else {}
    if bind.get("address"):
        hosts.append(bind["address"])
    return hosts


def derive_import(glance, srv):
    """glance:server:import as the map's image_import: the import methods
    (the pillar's, else none without Keystone, else glance-direct,
    web-download and, with two stores or more, copy-image) and the
    [import_filtering_opts] to write. Without an
    allowlist, web-download is refused the blocked hosts of the map and the
    services' hosts."""
    given = srv.get("import") if isinstance(srv.get("import"), dict) else {}
    filtering = given.get("filtering") if isinstance(given.get("filtering"), dict) else {}
    # Stores copy-image can copy between (an http store is read-only).
    copyable_stores = len([s for s in glance["stores"] if s["type"] != "http"])
    methods = given.get("methods")
    if methods is None and noauth(srv):
        # Glance files every import task under the request's project, which
        # a request has only through Keystone: no method could work.
        methods = []
    if methods is None:
        methods = ["glance-direct", "web-download"]
        if glance["features"]["multistore"] and copyable_stores > 1:
            methods.append("copy-image")
    options = {}
    for key in ("allowed_schemes", "disallowed_schemes", "allowed_ports", "disallowed_ports"):
        if is_list(filtering.get(key)) and filtering[key]:
            options[key] = list(filtering[key])
    if is_list(filtering.get("allowed_hosts")) and filtering["allowed_hosts"]:
        options["allowed_hosts"] = [normalized_host(host) for host in filtering["allowed_hosts"]]
    else:
        pillar_hosts = filtering.get("disallowed_hosts") if is_list(filtering.get("disallowed_hosts")) else []
        blocked = {normalized_host(host) for host in [*glance["import_blocked_hosts"], *service_hosts(srv),
                                                      *pillar_hosts] if host}
        options["disallowed_hosts"] = sorted(blocked)
    glance["image_import"] = {"methods": methods, "filtering": options, "copyable_stores": copyable_stores}


def noauth(srv):
    """True when the API runs without Keystone (identity engine noauth)."""
    identity = srv.get("identity")
    return isinstance(identity, dict) and identity.get("engine") == "noauth"


def derive_api_ssl(glance, bind):
    """HTTPS on the API's socket (glance:server:bind:ssl on): the files of
    the certificate, the key and the CA (None: the system's CAs), the
    pillar's own paths or where the formula writes the PEM text the pillar
    gives (written, {key: path} of those)."""
    ssl = bind.get("ssl")
    if not isinstance(ssl, dict) or ssl.get("enabled") is not True:
        return
    names = {"cert": "glance-api.crt", "key": "glance-api.key", "cacert": "glance-api-ca.crt"}
    files, written = {}, {}
    for key, name in names.items():
        files[key] = ssl.get(f"{key}_file")
        if ssl.get(key) is not None:
            files[key] = written[key] = f"{glance['ssl_dir']}/{name}"
    glance["api_ssl"] = {"cert_file": files["cert"], "key_file": files["key"], "ca_file": files["cacert"],
                         "written": written}


def api_endpoint(address, port, scheme="http"):
    """Where clients on this host reach the API bound to ADDRESS:PORT: a
    wildcard bind on loopback, an IPv6 address in brackets."""
    address = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(str(address), str(address))
    if ":" in address:
        address = f"[{address}]"
    return f"{scheme}://{address}:{port}"
