"""Bad pillar stops at render time, before any state runs, with a message
naming the pillar key and what was expected. Each message asserted."""
import pytest

from saltrender import RenderError, load_pillar


def server(**keys):
    return {"glance": {"server": keys}}


# A property protection rule Glance would load.
RULE = {"property": "^x_a$", "create": ["admin"], "read": ["@"], "update": ["admin"], "delete": ["admin"]}


RBD = {"engine": "rbd", "user": "glance", "pool": "images", "client_glance_key": "AQD=="}
MYSQL = {"engine": "mysql", "host": "db", "password": "pw"}
KEYSTONE = {"host": "keystone", "password": "pw"}
# OSSN-0090's internal API, with the public API's locations hidden (the default).
INTERNAL = {"enabled": True, "address": "10.0.0.5", "port": 9293}
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"

CASES = {
    "unknown version": (
        server(version="icehouse"),
        "glance:server:version: unknown release icehouse; expected one of juno, kilo"),
    "unknown storage engine": (
        server(storage={"engine": "gluster"}),
        "glance:server:storage:engine: unknown storage engine gluster; expected file or rbd"),
    "unknown store type": (
        server(version="2025.1", stores={"fast": {"type": "nfs"}}),
        "glance:server:stores:fast:type: unknown store type nfs; expected one of file, rbd, cinder, s3, http"),
    "swift store": (
        server(version="2025.1", default_store="local",
               stores={"local": {"type": "file"}, "objects": {"type": "swift"}}),
        "glance:server:stores:objects:type: swift stores are not supported by this formula (it does not write "
        "glance-swift.conf); use file, rbd, cinder, s3 or http"),
    "rbd without pool": (
        server(storage={k: v for k, v in RBD.items() if k != "pool"}),
        "glance:server:storage:pool: is required for an rbd store"),
    "rbd without user": (
        server(storage={k: v for k, v in RBD.items() if k != "user"}),
        "glance:server:storage:user: is required for an rbd store"),
    "rbd without key": (
        server(storage={k: v for k, v in RBD.items() if k != "client_glance_key"}),
        "glance:server:storage:client_glance_key: is required for an rbd store"),
    "rbd store without key": (
        server(version="2025.1", stores={"ceph": {"type": "rbd", "pool": "p", "user": "u"}}),
        "glance:server:stores:ceph:client_glance_key: is required for an rbd store"),
    "mysql without password": (
        server(database={"engine": "mysql", "host": "db", "user": "glance"}),
        "glance:server:database:password: is required with database engine mysql"),
    "mysql without host": (
        server(database={"engine": "mysql", "password": "pw"}),
        "glance:server:database:host: is required with database engine mysql"),
    "database contract not a bool": (
        server(database=dict(MYSQL, contract="no")),
        "glance:server:database:contract: must be true or false, not 'no'"),
    "rolling schema upgrade on postgresql": (
        server(database=dict(MYSQL, engine="postgresql", contract=False)),
        "glance:server:database:contract: false (a rolling schema upgrade) needs database engine mysql or "
        "sqlite: Glance's online expand and contract support no other"),
    "rolling schema upgrade before queens": (
        server(version="pike", database=dict(MYSQL, contract=False)),
        "glance:server:database:contract: false (a rolling schema upgrade) needs a release from Queens on: "
        "earlier ones have no glance-manage db check"),
    "worker self reference not a url": (
        server(version="2025.1", worker_self_reference_url="glance-1:9292"),
        "glance:server:worker_self_reference_url: expected this API worker's http or https URL "
        "({minion} stands for the minion id), got glance-1:9292"),
    "distributed import before wallaby": (
        server(version="victoria", worker_self_reference_url="http://{minion}:9292"),
        "glance:server:worker_self_reference_url: version victoria has no distributed import (Wallaby on)"),
    "purge age not a number": (
        server(db_purge={"enabled": True, "age_in_days": "30"}),
        "glance:server:db_purge:age_in_days: expected a number of days, 0 or more, got 30"),
    "purge of no rows": (
        server(db_purge={"enabled": True, "max_rows": 0}),
        "glance:server:db_purge:max_rows: expected a number of rows, or -1 for all, got 0"),
    "purge calendar empty": (
        server(db_purge={"enabled": True, "on_calendar": " "}),
        "glance:server:db_purge:on_calendar: expected a systemd calendar event (daily, *-*-* 03:00), got  "),
    "purge before liberty": (
        server(version="kilo", db_purge={"enabled": True}),
        "glance:server:db_purge:enabled: version kilo has no glance-manage db purge (Liberty on)"),
    "cache switch not a bool": (
        server(image_cache={"enabled": "yes"}),
        "glance:server:image_cache:enabled: expected true or false, got yes"),
    "cache directory relative": (
        server(image_cache={"enabled": True, "directory": "cache"}),
        "glance:server:image_cache:directory: expected an absolute path, got cache"),
    "cache size negative": (
        server(image_cache={"enabled": True, "max_size": -1}),
        "glance:server:image_cache:max_size: expected a number of bytes, 0 or more, got -1"),
    "cache stall time a string": (
        server(image_cache={"enabled": True, "stall_time": "1d"}),
        "glance:server:image_cache:stall_time: expected a number of seconds, 0 or more, got 1d"),
    "pruner calendar empty": (
        server(image_cache={"enabled": True, "pruner_on_calendar": ""}),
        "glance:server:image_cache:pruner_on_calendar: expected a systemd calendar event (hourly, *:0/30), got "),
    "cleaner calendar on two lines": (
        server(image_cache={"enabled": True, "cleaner_on_calendar": "daily\nhourly"}),
        "glance:server:image_cache:cleaner_on_calendar: "
        "expected a systemd calendar event (hourly, *:0/30), got daily\nhourly"),
    "limits switch not a bool": (
        server(limits={"enabled": "yes"}),
        "glance:server:limits:enabled: expected true or false, got yes"),
    "registered limit below -1": (
        server(limits={"enabled": True, "image_size_total": -2}),
        "glance:server:limits:image_size_total: expected a whole number, or -1 for no limit, got -2"),
    "registered limit as text": (
        server(limits={"image_count_uploading": "10"}),
        "glance:server:limits:image_count_uploading: expected a whole number, or -1 for no limit, got 10"),
    "limits without keystone": (
        server(limits={"enabled": True}),
        "glance:server:limits:enabled: unified limits live in Keystone: they need identity engine keystone"),
    "limits before xena": (
        server(version="wallaby", identity=KEYSTONE, limits={"enabled": True}),
        "glance:server:limits:enabled: version wallaby has no unified limits (Xena on)"),
    "api ssl not a mapping": (
        server(bind={"ssl": True}),
        "glance:server:bind:ssl: expected a mapping of enabled, cert, key and cacert (or their _file), got True"),
    "api ssl switch not a bool": (
        server(bind={"ssl": {"enabled": "on"}}),
        "glance:server:bind:ssl:enabled: expected true or false, got on"),
    "api ssl without a key": (
        server(version="2026.2", bind={"ssl": {"enabled": True, "cert": CERT}}),
        "glance:server:bind:ssl:key: expected a PEM private key (-----BEGIN ...PRIVATE KEY-----), or key_file"),
    "api ssl key that is not PEM": (
        server(version="2026.2", bind={"ssl": {"enabled": True, "cert": CERT, "key": "/etc/ssl/private/k.pem"}}),
        "glance:server:bind:ssl:key: expected a PEM private key (-----BEGIN ...PRIVATE KEY-----), or key_file"),
    "api ssl ca that is a key": (
        server(version="2026.2", bind={"ssl": {"enabled": True, "cert": CERT, "key": KEY, "cacert": KEY}}),
        "glance:server:bind:ssl:cacert: expected a PEM certificate (-----BEGIN ...CERTIFICATE-----), or cacert_file"),
    "api ssl cert and cert_file": (
        server(version="2026.2", bind={"ssl": {"enabled": True, "cert": CERT, "cert_file": "/etc/ssl/a.pem",
                                               "key": KEY}}),
        "glance:server:bind:ssl:cert: give cert or cert_file, not both"),
    "api ssl relative key_file": (
        server(version="2026.2", bind={"ssl": {"enabled": True, "cert": CERT, "key_file": "private/a.key"}}),
        "glance:server:bind:ssl:key_file: expected an absolute path, got private/a.key"),
    "api ssl under eventlet": (
        server(version="2025.1", bind={"ssl": {"enabled": True, "cert": CERT, "key": KEY}}),
        "glance:server:bind:ssl:enabled: glance-api's eventlet server has no TLS (version 2025.1): "
        "set glance:lookup:api_server to uwsgi, or terminate TLS in a proxy in front"),
    "api ca beside keystone's": (
        server(version="2026.2", identity=dict(KEYSTONE, protocol="https", cacert_file="/etc/ssl/ca.pem"),
               bind={"ssl": {"enabled": True, "cert": CERT, "key": KEY, "cacert": CERT}}),
        "glance:server:bind:ssl:cacert: image seeding verifies Glance and Keystone with one CA bundle: give one "
        "file with both CAs as identity:cacert_file and leave bind:ssl:cacert out"),
    "keystone protocol unknown": (
        server(identity=dict(KEYSTONE, protocol="tls")),
        "glance:server:identity:protocol: expected http or https, got tls"),
    "keystone ca on http": (
        server(identity=dict(KEYSTONE, cacert_file="/etc/ssl/ca.pem")),
        "glance:server:identity:cacert_file: a CA for Keystone without TLS: set identity:protocol to https, "
        "or leave the CA out"),
    "keystone ca relative": (
        server(identity=dict(KEYSTONE, protocol="https", cacert_file="ca.pem")),
        "glance:server:identity:cacert_file: expected an absolute path, got ca.pem"),
    "database ca without tls": (
        server(database={"host": "db", "password": "pw", "ssl": {"cacert_file": "/etc/ssl/ca.pem"}}),
        "glance:server:database:ssl:cacert_file: a CA for the database without TLS: set database:ssl:enabled "
        "to true, or leave the CA out"),
    "database ssl not a mapping": (
        server(database={"host": "db", "password": "pw", "ssl": True}),
        "glance:server:database:ssl: expected a mapping of enabled and cacert_file, got True"),
    "rabbitmq ca without tls": (
        server(message_queue={"host": "mq", "user": "u", "password": "p",
                              "ssl": {"enabled": False, "cacert_file": "/etc/ssl/ca.pem"}}),
        "glance:server:message_queue:ssl:cacert_file: a CA for RabbitMQ without TLS: set message_queue:ssl:enabled "
        "to true, or leave the CA out"),
    "rabbitmq ssl switch not a bool": (
        server(message_queue={"host": "mq", "user": "u", "password": "p", "ssl": {"enabled": "yes"}}),
        "glance:server:message_queue:ssl:enabled: expected true or false, got yes"),
    "unknown database engine": (
        server(database={"engine": "oracle", "host": "db", "password": "pw"}),
        "glance:server:database:engine: unknown database engine oracle; expected mysql, postgresql or sqlite"),
    "empty members": (
        server(message_queue={"members": [], "user": "u", "password": "p"}),
        "glance:server:message_queue:members: expected a non-empty list of {host, port}"),
    "member without host": (
        server(message_queue={"members": [{"port": 5672}], "user": "u", "password": "p"}),
        "glance:server:message_queue:members: every member needs a host"),
    "queue without host or members": (
        server(message_queue={"user": "u", "password": "p"}),
        "glance:server:message_queue: give host or members"),
    "queue without password": (
        server(message_queue={"host": "mq", "user": "u"}),
        "glance:server:message_queue:password: is required with message queue engine rabbitmq"),
    "slash in the queue password": (
        server(message_queue={"host": "mq", "user": "u", "password": "a/b"}),
        'glance:server:message_queue:password: must not contain "/": oslo.messaging passes it to RabbitMQ '
        'unquoted and the connection URL breaks'),
    "unknown queue engine": (
        server(message_queue={"engine": "kafka", "host": "mq", "user": "u", "password": "p"}),
        "glance:server:message_queue:engine: unknown message queue engine kafka; expected rabbitmq"),
    "default store not a store": (
        server(version="2025.1", default_store="ceph", stores={"local": {"type": "file"}, "web": {"type": "http"}}),
        "glance:server:default_store: ceph is not one of the stores (local, web)"),
    "default store missing": (
        server(version="2025.1", stores={"local": {"type": "file"}, "web": {"type": "http"}}),
        "glance:server:default_store: is required with more than one store; expected one of local, web"),
    "duplicate store ids": (
        server(version="2025.1", default_store="a", stores=[{"id": "a", "type": "file"}, {"id": "a", "type": "http"}]),
        "glance:server:stores: duplicate store id a"),
    "store list entry without id": (
        server(version="2025.1", stores=[{"type": "file"}]),
        "glance:server:stores: every store in the list form needs an id"),
    "two http stores": (
        server(version="2025.1", default_store="a", stores={"a": {"type": "http"}, "b": {"type": "http"}}),
        "glance:server:stores: at most one http store can be configured, got a, b"),
    "reserved store id": (
        server(version="2025.1", stores={"os_glance_cache": {"type": "file"}}),
        "glance:server:stores:os_glance_cache: store ids starting with os_glance_ are reserved by Glance"),
    "stores and storage together": (
        server(version="2025.1", storage={"engine": "file"}, stores={"a": {"type": "file"}}),
        "glance:server:stores: give either glance:server:stores or glance:server:storage, not both"),
    "stores before ussuri": (
        server(version="train", stores={"a": {"type": "file"}}),
        "glance:server:stores: multiple stores need Ussuri or newer; version train takes glance:server:storage"),
    "keystone without password": (
        server(identity={"engine": "keystone", "host": "ks"}),
        "glance:server:identity:password: is required with identity engine keystone"),
    "unknown identity engine": (
        server(identity={"engine": "ldap", "host": "ks", "password": "p"}),
        "glance:server:identity:engine: unknown identity engine ldap; expected keystone or noauth"),
    "unknown role": (
        server(role="tertiary"),
        "glance:server:role: expected primary or secondary, got tertiary"),
    "ceph op_timeout negative": (
        server(storage=RBD, ceph={"op_timeout": -1}),
        "glance:server:ceph:op_timeout: expected whole seconds (0: wait as long as Ceph does), got -1"),
    "ceph op_timeout not a number": (
        server(storage=RBD, ceph={"op_timeout": "1m"}),
        "glance:server:ceph:op_timeout: expected whole seconds (0: wait as long as Ceph does), got 1m"),
    "workers not a number": (
        server(workers="many"),
        "glance:server:workers: expected a whole number of at least 1, got many"),
    "port not a number": (
        server(bind={"port": "http"}),
        "glance:server:bind:port: expected a port number, got http"),
    "v1 api after queens": (
        server(version="rocky", enable_v1_api=True),
        "glance:server:enable_v1_api: the Images API v1 was removed in Rocky; version rocky has no v1 API"),
    "direct url not a bool": (
        server(show_image_direct_url="yes"),
        "glance:server:show_image_direct_url: expected true or false, got yes"),
    "multiple locations where the location api replaces them": (
        server(version="2025.1", show_multiple_locations=True),
        "glance:server:show_multiple_locations: refused for 2025.1: it lets users replace image data "
        "(OSSN-0065); from 2024.2 Nova and Cinder use the location API (image API 2.17, service role only)"),
    "property protection format": (
        server(property_protection={"format": "acl", "rules": [RULE]}),
        "glance:server:property_protection:format: expected roles or policies, got acl"),
    "property protection without rules": (
        server(property_protection={"format": "roles"}),
        "glance:server:property_protection:rules: expected a non-empty list of rules, got None"),
    "property protection bad expression": (
        server(property_protection={"rules": [dict(RULE, property="^x_(a$")]}),
        "glance:server:property_protection:rules:0:property: not a regular expression "
        "(missing ), unterminated subpattern at position 3): ^x_(a$"),
    "property protection missing operation": (
        server(property_protection={"rules": [{k: v for k, v in RULE.items() if k != "delete"}]}),
        "glance:server:property_protection:rules:0:delete: is required (Glance would not start without it); "
        "[] lets no one"),
    "property protection everyone with a role": (
        server(property_protection={"rules": [dict(RULE, read=["@", "member"])]}),
        "glance:server:property_protection:rules:0:read: '@' (everyone) and '!' (no one) stand alone, "
        "got ['@', 'member']"),
    "property protection two policies": (
        server(property_protection={"format": "policies", "rules": [dict(RULE, create=["a", "b"])]}),
        "glance:server:property_protection:rules:0:create: one policy per operation (combine them in the "
        "policy file), got ['a', 'b']"),
    "property protection role list as a string": (
        server(property_protection={"rules": [dict(RULE, update="admin,member")]}),
        "glance:server:property_protection:rules:0:update: expected a list of role or policy names, "
        "got admin,member"),
    "property protection twice": (
        server(property_protection={"rules": [RULE, RULE]}),
        "glance:server:property_protection:rules:1:property: ^x_a$ has a rule already (Glance would not "
        "start)"),
    "property protection glance's own": (
        server(property_protection={"rules": [dict(RULE, property="os_glance_.*")]}),
        "glance:server:property_protection:rules:0:property: os_glance properties are Glance's own (it drops "
        "such rules)"),
    "property protection unknown key": (
        server(property_protection={"rules": [dict(RULE, craete=["admin"])]}),
        "glance:server:property_protection:rules:0:craete: unknown key"),
    "cors without origins": (
        server(cors={"max_age": 60}),
        "glance:server:cors:allowed_origin: is required when glance:server:cors is given"),
    "cors origin with a path": (
        server(cors={"allowed_origin": ["https://dash.example.com/horizon"]}),
        "glance:server:cors:allowed_origin: expected origins such as https://dashboard.example.com "
        "(scheme and host, no path), or *, got https://dash.example.com/horizon"),
    "cors origin not a list": (
        server(cors={"allowed_origin": "https://dash.example.com"}),
        "glance:server:cors:allowed_origin: expected a non-empty list of strings, got https://dash.example.com"),
    "cors credentials for every origin": (
        server(cors={"allowed_origin": ["*"], "allow_credentials": True}),
        "glance:server:cors:allow_credentials: browsers refuse credentials for the origin *; name the origins"),
    "cors max_age negative": (
        server(cors={"allowed_origin": ["https://dash.example.com"], "max_age": -1}),
        "glance:server:cors:max_age: expected whole seconds, got -1"),
    "cors before mitaka": (
        server(version="liberty", cors={"allowed_origin": ["https://dash.example.com"]}),
        "glance:server:cors: version liberty has no CORS filter (Mitaka on)"),
    "behind_proxy not a bool": (
        server(behind_proxy="haproxy"),
        "glance:server:behind_proxy: expected true or false, got haproxy"),
    "notifications without queue": (
        server(notification=True),
        "glance:server:notification: notifications need glance:server:message_queue"),
    "cache security without key": (
        server(cache={"members": [{"host": "m"}], "security": {"enabled": True}}),
        "glance:server:cache:security:secret_key: is required when cache:security:enabled is true"),
    "memcached ca without tls": (
        server(version="2026.2", cache={"members": [{"host": "m"}], "ssl": {"cacert_file": "/etc/ssl/ca.pem"}}),
        "glance:server:cache:ssl:cacert_file: a CA for memcached without TLS: set cache:ssl:enabled to true, "
        "or leave the CA out"),
    "memcached tls without members": (
        server(version="2026.2", cache={"ssl": {"enabled": True}}),
        "glance:server:cache:ssl:enabled: TLS to memcached needs the servers: give cache:members"),
    "memcached tls before 2025.2": (
        server(version="2025.1", cache={"members": [{"host": "m"}], "ssl": {"enabled": True}}),
        "glance:server:cache:ssl:enabled: keystonemiddleware speaks TLS to memcached from 2025.2 (Glance 31); "
        "version 2025.1 has no memcache_tls_enabled"),
    "images not a list": (
        server(images={"name": "cirros"}),
        "glance:server:images: expected a list of images"),
    "database not a mapping": (
        server(database="mysql://x"),
        "glance:server:database: expected a mapping, got mysql://x"),
    "image cache null": (
        server(image_cache=None),
        "glance:server:image_cache: expected a mapping, got null (leave the key out for the defaults)"),
    "internal api null": (
        server(internal_api=None),
        "glance:server:internal_api: expected a mapping, got null (leave the key out for the defaults)"),
    "internal api where the location api serves": (
        server(version="2024.2", internal_api=INTERNAL),
        "glance:server:internal_api:enabled: refused for 2024.2: from 2024.2 Nova and Cinder read locations "
        "through the location API (image API 2.17, service role only); point the internal endpoint at glance-api"),
    "internal api under uwsgi": (
        {"glance": {"server": {"internal_api": INTERNAL}, "lookup": {"api_server": "uwsgi"}}},
        "glance:server:internal_api:enabled: the internal API runs glance-api's eventlet server, and zed is set "
        "to run under uWSGI here (glance:lookup:api_server, or a PyPI install)"),
    "internal api without an address": (
        server(internal_api={"enabled": True}),
        "glance:server:internal_api:address: give the address Nova and Cinder reach it on, one end users "
        "cannot reach"),
    "internal api on the public port": (
        server(internal_api=dict(INTERNAL, port=9292)),
        "glance:server:internal_api:port: 9292 is the public API's (bind:port)"),
    "internal api port not a number": (
        server(internal_api=dict(INTERNAL, port="internal")),
        "glance:server:internal_api:port: expected a port number, got internal"),
    "internal api switch not a bool": (
        server(internal_api={"enabled": "yes"}),
        "glance:server:internal_api:enabled: expected true or false, got yes"),
    "internal api with direct_url still public": (
        server(internal_api=INTERNAL, show_image_direct_url=True),
        "glance:server:show_image_direct_url: the internal API (internal_api) shows the locations; "
        "the public API keeps them hidden (OSSN-0090)"),
    "internal api with multiple locations still public": (
        server(internal_api=INTERNAL, show_multiple_locations=True),
        "glance:server:show_multiple_locations: the internal API (internal_api) shows the locations; "
        "the public API keeps them hidden (OSSN-0090)"),
    "override of an unmanaged file": (
        server(version="2025.1", config={"glance-registry.conf": {"DEFAULT": {"debug": True}}}),
        "glance:server:config:glance-registry.conf: not a file the formula writes for 2025.1; "
        "expected one of glance-api.conf"),
    "override section not a mapping": (
        server(config={"glance-api.conf": {"DEFAULT": "debug"}}),
        "glance:server:config:glance-api.conf:DEFAULT: expected a mapping of key to value (null removes a key)"),
    "policy rule of the wrong type": (
        server(policy={"publicize_image": {"role": "admin"}}),
        "glance:server:policy:publicize_image: expected a rule string or a list of alternatives"),
    "import on a release without it": (
        server(version="pike", **{"import": {"methods": ["glance-direct"]}}),
        "glance:server:import: image import needs Queens or newer; version pike has none"),
    "unknown import method": (
        server(**{"import": {"methods": ["glance-direct", "copy-from"]}}),
        "glance:server:import:methods: unknown import method copy-from; expected some of glance-direct, "
        "web-download, copy-image, glance-download"),
    "import methods not a list": (
        server(**{"import": {"methods": "web-download"}}),
        "glance:server:import:methods: expected a list of import methods, got web-download"),
    "copy-image with one store": (
        server(version="2025.1", identity=KEYSTONE, **{"import": {"methods": ["glance-direct", "copy-image"]}}),
        "glance:server:import:methods: copy-image copies between stores and needs two stores or more"),
    "import without Keystone": (
        server(**{"import": {"methods": ["glance-direct"]}}),
        "glance:server:import:methods: image import needs identity engine keystone: Glance files each import "
        "task under the request's project, and without Keystone a request has none; leave methods unset or []"),
    "import method newer than the release": (
        server(version="yoga", **{"import": {"methods": ["glance-download"]}}),
        "glance:server:import:methods: version yoga has no glance-download import method"),
    "import filtering not a mapping": (
        server(**{"import": {"filtering": ["127.0.0.1"]}}),
        "glance:server:import:filtering: expected a mapping, got ['127.0.0.1']"),
    "import port not a number": (
        server(**{"import": {"filtering": {"allowed_ports": [443, "http"]}}}),
        "glance:server:import:filtering:allowed_ports: expected port numbers, got http"),
    "import scheme web-download cannot fetch": (
        server(**{"import": {"filtering": {"allowed_schemes": ["https", "file"]}}}),
        "glance:server:import:filtering:allowed_schemes: web-download fetches over http and https only, got file"),
    "import schemes emptied": (
        server(**{"import": {"filtering": {"allowed_schemes": []}}}),
        "glance:server:import:filtering:allowed_schemes: an empty list allows every scheme; leave web-download "
        "out of import:methods to turn it off"),
    "import host with a path": (
        server(**{"import": {"filtering": {"disallowed_hosts": ["10.0.0.5/24"]}}}),
        "glance:server:import:filtering:disallowed_hosts: expected host names or addresses, got 10.0.0.5/24"),
    "import filtering list not a list": (
        server(**{"import": {"filtering": {"allowed_hosts": "mirror.example.org"}}}),
        "glance:server:import:filtering:allowed_hosts: expected a list, got mirror.example.org"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_pillar_fails_at_render_with_its_message(render, case):
    pillar, message = CASES[case]
    with pytest.raises(RenderError) as error:
        render("debian-12", pillar)
    assert message in str(error.value)


def test_api_ssl_from_pypi_is_refused_where_no_uwsgi_plugin_fits_its_python(render):
    """The pyuwsgi wheel has no OpenSSL, and EPEL's uWSGI plugin is built for
    python3 (3.9), not the 3.12 of PyPI installs on RedHat."""
    pillar = server(version="2026.1", install={"method": "pypi"},
                    bind={"ssl": {"enabled": True, "cert": CERT, "key": KEY}})
    with pytest.raises(RenderError) as error:
        render("rocky-9", pillar)
    assert ("glance:server:bind:ssl:enabled: the uWSGI wheel of PyPI installs (pyuwsgi) is built without TLS, "
            "and this platform's uWSGI has no plugin for Python 3.12") in str(error.value)


def test_unknown_os_family_fails_with_its_message(render):
    with pytest.raises(RenderError) as error:
        render("arch", {})
    assert "glance: OS family Arch (grain os_family) is not supported; supported: Debian, RedHat" in str(error.value)


@pytest.mark.parametrize("part", ["glance.server.install", "glance.server.config", "glance.server.db",
                                  "glance.server.service", "glance.server.storage"])
def test_every_part_validates_on_its_own(render, part):
    pillar, message = CASES["mysql without password"]
    with pytest.raises(RenderError) as error:
        render("debian-12", pillar, sls=part)
    assert message in str(error.value)


def test_good_pillars_do_not_trip_validation(render):
    for scenario in ["single", "multistore", "seed_ceph", "pillar.example"]:
        render("debian-12", load_pillar(scenario))
