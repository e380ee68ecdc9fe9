"""Checks shared by the suites' testinfra tests. Everything runs inside the
converged host through testinfra's `host` (podman:// here, docker:// under
Kitchen), with the host's own tools."""
import configparser
import json
import os
import re
import shlex
import time

import pytest

from tests.harness.kitchen import suite_pillar as _suite_pillar

API_CONF = "/etc/glance/glance-api.conf"
# What Glance logs when glance_image aborts an upload whose data failed its
# checksums (the state holds the last chunk back, hangs up, then deletes the
# unfinished image): the client gone while sending; the image gone after
# the upload; or, when the delete is handled first (seen on a loaded
# machine), gone before the upload could start saving, or, with unified
# limits (Glance asks Keystone between marking the image saving and reading
# its data), the upload answered 404.
ABORTED_UPLOAD = (r"DisconnectionError: The client disconnected while sending the body"
                  r"|could not be found after upload\. The image may have been deleted during the upload"
                  r"|Image status transition from deleted to saving is not allowed"
                  r'|"PUT /v2/images/[0-9a-f-]+/file HTTP/1\.1" 404 '
                  # uWSGI's request log (the journal), the same 404.
                  r"|PUT /v2/images/[0-9a-f-]+/file => generated [0-9]+ bytes in [0-9]+ msecs \(HTTP/1\.1 404\)")
# Namespaces of Glance's own generator config for glance-api.conf
# (etc/oslo-config-generator/glance-api.conf, the same from Zed to 2025.1),
# and "glance", the image import options ([import_filtering_opts]) that
# glance-image-import.conf documents and glance-api.conf may hold as well.
VALIDATOR_NAMESPACES = [
    "glance", "castellan.config", "glance.api", "glance.store", "os_brick", "glance.multi_store",
    "oslo.concurrency", "oslo.messaging", "oslo.db", "oslo.policy",
    "keystonemiddleware.auth_token", "oslo.limit", "oslo.log", "oslo.middleware.cors",
    "oslo.middleware.healthcheck", "oslo.middleware.http_proxy_to_wsgi", "oslo.reports",
]


def read_ini(host, path):
    # No default section: configparser would merge [DEFAULT] into every
    # section, and each section is asserted on its own. Strict: a repeated
    # section or key is an error, not the last one silently winning.
    parser = configparser.ConfigParser(interpolation=None, strict=True, default_section="__none__")
    parser.optionxform = str
    parser.read_string(host.file(path).content_string)
    return parser


def wait_listening(host, address, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if host.socket(f"tcp://{address}").is_listening:
            return
        time.sleep(2)
    raise AssertionError(f"nothing listens on {address} after {seconds} s")


def service_command(host, service="glance-api"):
    """What systemd runs for SERVICE (its ExecStart, as systemctl shows it)."""
    return host.run(f"systemctl show -p ExecStart --value {service}").stdout


UWSGI_INI = "/etc/glance/glance-api-uwsgi.ini"


def serving_venv(host):
    """The virtualenv glance-api runs from (a PyPI install), else None: the
    one whose uWSGI the unit starts, or the one the distribution's uWSGI
    loads (its ini's virtualenv, with TLS)."""
    venv = re.search(r"path=(\S+)/bin/uwsgi\b", service_command(host))
    if venv and venv.group(1) != "/usr":
        return venv.group(1)
    ini = host.file(UWSGI_INI)
    loaded = re.search(r"^virtualenv\s*=\s*(\S+)", ini.content_string, re.M) if ini.exists else None
    return loaded.group(1) if loaded else None


def glance_tool(host, name):
    """The command NAME of the Glance that serves: in the virtualenv
    glance-api runs from (a PyPI install), else the PATH's."""
    venv = serving_venv(host)
    return f"{venv}/bin/{name}" if venv else name


def assert_private(host, path):
    conf = host.file(path)
    assert conf.is_file, path
    assert (conf.user, conf.group, conf.mode) == ("root", "glance", 0o640), path


def assert_security_guide_checks(host, keystone):
    """The OpenStack Security Guide's image service checks: every file in
    /etc/glance, the packages' own included, root:glance and 0640 or
    stricter, every directory root:glance 0750 (Check-Image-01, 02); with
    KEYSTONE, Keystone authenticates (Check-Image-03: the paste flavor)."""
    listing = host.run("find /etc/glance -printf '%y %u %g %m %p\\n'")
    assert listing.rc == 0 and listing.stdout.strip(), listing.stderr
    for line in listing.stdout.splitlines():
        kind, user, group, mode, path = line.split(" ", 4)
        assert (user, group) == ("root", "glance"), line
        if kind == "d":
            assert mode == "750", line
        else:
            assert kind == "f" and int(mode, 8) & 0o137 == 0, line
    flavor = read_ini(host, API_CONF).get("paste_deploy", "flavor", fallback="")
    assert ("keystone" in flavor) is keystone, flavor


def assert_service_running(host, name):
    # systemctl itself: Salt's service result proves nothing.
    active = host.run(f"systemctl is-active {name}")
    enabled = host.run(f"systemctl is-enabled {name}")
    assert active.stdout.strip() == "active", active.stdout + active.stderr
    assert enabled.stdout.strip() == "enabled", enabled.stdout + enabled.stderr


def suite_pillar(name):
    """The pillar suite NAME's node is applied with, as .kitchen.yml gives
    it: its pillar files merged in the order of its pillar top file."""
    return _suite_pillar(name)


def api_scheme(server):
    """The scheme of a suite's Glance API (a glance:server pillar): https
    when bind:ssl is on."""
    return "https" if ((server.get("bind") or {}).get("ssl") or {}).get("enabled") else "http"


def local_api(server):
    """Where clients on a suite's Glance host reach its API (a glance:server
    pillar)."""
    return f"{api_scheme(server)}://127.0.0.1:{(server.get('bind') or {}).get('port', 9292)}"


LOCAL = "local"


def keystone_url(server):
    """Keystone's base URL in a suite's glance:server pillar (identity:
    protocol, host and port)."""
    identity = server["identity"]
    return f"{identity.get('protocol', 'http')}://{identity['host']}:{identity.get('port', 5000)}"


def glance_user_env(server, endpoint=LOCAL):
    """OS_* settings for the openstack client as the glance service user of
    a suite's glance:server pillar (Keystone v3), talking to ENDPOINT (LOCAL:
    local_api(server); None: the catalog's)."""
    identity = server["identity"]
    settings = {
        "OS_AUTH_URL": keystone_url(server) + "/v3",
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": identity["user"],
        "OS_PASSWORD": identity["password"],
        "OS_PROJECT_NAME": identity["tenant"],
        "OS_USER_DOMAIN_NAME": identity.get("domain", "Default"),
        "OS_PROJECT_DOMAIN_NAME": identity.get("domain", "Default"),
        "OS_REGION_NAME": identity["region"],
        "OS_INTERFACE": "internal",
    }
    if endpoint:
        settings["OS_ENDPOINT"] = local_api(server) if endpoint == LOCAL else endpoint
    return settings


def assert_schema_current(host, manage=None):
    """MANAGE: the glance-manage of the Glance under test (by default the
    one of the Glance that serves)."""
    manage = manage or glance_tool(host, "glance-manage")
    cmd = host.run(f"runuser -u glance -- {manage} --config-file {API_CONF} db check")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr


# The primary's schema state (glance/server/db.sls).
SCHEMA_SYNC = "glance-server-db-schema-glance-db-synced"


def assert_schema_behind_is_detected(host, run_sql):
    """With the database's alembic_version set back to an old revision (a
    schema behind the installed release), a dry run of glance.server.db
    predicts db_sync; with it restored, nothing. RUN_SQL(statement) runs
    SQL on Glance's database on the host and returns its output."""
    revision = run_sql("SELECT version_num FROM alembic_version").strip()
    assert revision, "alembic_version is empty on a converged host"
    try:
        run_sql("UPDATE alembic_version SET version_num = 'ocata_contract01'")
        _, behind = salt_call(host, "state.apply", "glance.server.db", "test=True")
        predicted = {v["__id__"] for v in behind.values() if v["result"] is None}
        assert SCHEMA_SYNC in predicted, changed_or_failed(behind)
    finally:
        run_sql(f"UPDATE alembic_version SET version_num = '{revision}'")
    _, current = salt_call(host, "state.apply", "glance.server.db", "test=True")
    assert changed_or_failed(current) == {}


def assert_config_valid(host, validator=None):
    """oslo-config-validator finds no unknown or removed option in
    glance-api.conf against the Glance installed on the host (VALIDATOR:
    the one beside it, a virtualenv's). Store sections are named by the
    operator, so those groups cannot be validated."""
    validator = validator or glance_tool(host, "oslo-config-validator")
    conf = read_ini(host, API_CONF)
    dynamic = ["os_glance_staging_store", "os_glance_tasks_store"]
    if conf.has_option("DEFAULT", "enabled_backends"):
        dynamic += [item.split(":")[0].strip() for item in conf.get("DEFAULT", "enabled_backends").split(",")]
    args = " ".join(f"--namespace {ns}" for ns in VALIDATOR_NAMESPACES)
    args += "".join(f" --exclude-group {group}" for group in dynamic if conf.has_section(group))
    cmd = host.run(f"{validator} {args} --input-file {API_CONF}")
    errors = [line for line in (cmd.stdout + cmd.stderr).splitlines() if line.startswith("ERROR:")]
    # oslo.limit registers auth_type at run time (keystoneauth's loader), as
    # keystonemiddleware does for [keystone_authtoken]; validators before
    # 2025.1 do not know it is missing from the sample data on purpose.
    unknown_by_design = {"ERROR:root:oslo_limit/auth_type is not part of the sample config"}
    assert cmd.rc == 0 or (errors and set(errors) <= unknown_by_design), cmd.stdout[-3000:] + cmd.stderr[-3000:]


def assert_clean_logs(host, provoked=()):
    """No ERROR or Traceback in the Glance logs, except whole records in
    which a regex of PROVOKED matches: errors a suite's tests cause on
    purpose. oslo.log repeats a record's date, time, pid, level and logger on
    each of its lines, which is how the lines of one record are grouped."""
    logs = host.run("ls /var/log/glance/*.log")
    assert logs.rc == 0 and logs.stdout.split(), "no log file in /var/log/glance"
    hits = host.run("grep -h -E 'ERROR|Traceback' /var/log/glance/*.log")
    assert hits.rc in (0, 1), hits.stderr
    records = {}
    for line in hits.stdout.splitlines():
        records.setdefault(" ".join(line.split()[:5]), []).append(line)
    unexpected = [line for lines in records.values()
                  if not any(re.search(p, line) for p in provoked for line in lines)
                  for line in lines]
    assert not unexpected, "errors in the Glance logs:\n" + "\n".join(unexpected)[-4000:]


def count_log_matches(host, pattern):
    """Lines of the Glance logs matching the extended regex PATTERN: its log
    files, and glance-api's journal, where uWSGI logs each request."""
    cmd = host.run("{ cat /var/log/glance/*.log; journalctl -u glance-api -o cat --no-pager; } | "
                   f"grep -c -E {shlex.quote(pattern)}")
    assert cmd.rc in (0, 1), cmd.stderr
    return int(cmd.stdout.strip() or 0)


def assert_stops_were_prompt(host, at_least=2):
    """glance-api under uWSGI was stopped AT_LEAST times on HOST, and no
    worker outlived its master's stop until uWSGI's worker-reload-mercy
    (the formula's unit signals the master alone: KillMode=mixed)."""
    stops = count_log_matches(host, "SIGINT/SIGTERM received")
    assert stops >= at_least, f"glance-api was stopped {stops} times here, fewer than {at_least}"
    assert count_log_matches(host, "taking too much time to die") == 0, "a uWSGI worker outlived its master's stop"


# Keys whose values are secrets: passwords, secret_key, client_glance_key...
SECRET_KEY = re.compile(r"(password|passwd|secret|token|_key)$", re.I)


def pillar_secrets(*pillars):
    """Values (4 characters or more) of secret-looking keys in PILLARS
    (parsed pillar data), at any depth."""
    found = set()

    def walk(obj):
        if isinstance(obj, dict):
            for key, value in obj.items():
                if isinstance(value, (str, int)) and SECRET_KEY.search(str(key)) and len(str(value)) >= 4:
                    found.add(str(value))
                walk(value)
        elif isinstance(obj, list):
            for item in obj:
                walk(item)

    for pillar in pillars:
        walk(pillar)
    return found


def assert_secrets_not_on_command_lines(host, secrets):
    processes = host.run("ps -eo args")
    assert processes.rc == 0
    for secret in secrets:
        assert secret not in processes.stdout, "a password shows on a process command line"


OPENRC = "/root/.glance-test-openrc"


def _write_openrc(host, credentials):
    env = "".join(f"export {key}={shlex.quote(str(value))}\n" for key, value in credentials.items())
    write = host.run(f"umask 077 && cat > {OPENRC} <<'EOF'\n{env}EOF")
    assert write.rc == 0, write.stderr


def openstack(host, credentials, command, output=True):
    """Runs the openstack CLI with the given OS_* settings, from a file
    readable by root only (not on a command line), and parses its JSON
    output (`output=False` for commands that print nothing)."""
    _write_openrc(host, credentials)
    cmd = host.run(f". {OPENRC} && openstack {command}" + (" -f json" if output else ""))
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return json.loads(cmd.stdout) if cmd.stdout.strip() else None


# Python source for scripts run on the host: digests(stream) reads a binary
# stream once and returns its size and md5, sha256 and sha512.
_DIGESTS = r"""
import hashlib

def digests(stream):
    algos = {a: hashlib.new(a) for a in ("md5", "sha256", "sha512")}
    size = 0
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        size += len(chunk)
        for digest in algos.values():
            digest.update(chunk)
    return dict({a: d.hexdigest() for a, d in algos.items()}, size=size)
"""

# Runs on the host (python3 -c TLS_PROBE URL CAFILE) and prints how each
# client fares, {"with_ca", "without_ca", "plain_http"}: an HTTP status, or
# the error.
TLS_PROBE = r"""
import json, ssl, sys, urllib.error, urllib.request
url, cafile = sys.argv[1], sys.argv[2]

def attempt(target, context=None):
    try:
        return urllib.request.urlopen(target, context=context, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code
    except Exception as error:
        return f"{type(error).__name__}: {error}"

print(json.dumps({"with_ca": attempt(url, ssl.create_default_context(cafile=cafile)),
                  "without_ca": attempt(url, ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)),
                  "plain_http": attempt(url.replace("https:", "http:", 1))}))
"""


# Python source for scripts run on the host: send_body(url, method, headers,
# body) sends a request with a body and returns (status, body) whatever the
# status. Glance may answer a body it refuses (a stage with no import method,
# an upload over a quota) before it has read all of it, and close: urllib then
# raises a broken pipe while sending, though the answer is waiting in the
# socket. Here the answer is read all the same (its status at least).
SEND_BODY = r"""
import http.client, urllib.parse

def send_body(url, method, headers, body, timeout=120):
    parts = urllib.parse.urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    connection.putrequest(method, parts.path + ("?" + parts.query if parts.query else ""))
    for name, value in dict(headers, **{"Content-Length": str(len(body))}).items():
        connection.putheader(name, value)
    connection.endheaders()
    try:
        connection.send(body)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        response = connection.getresponse()
        try:
            return response.status, response.read()
        except (ConnectionResetError, http.client.IncompleteRead):
            # Closed or reset while the answer's body was on its way (the
            # reset may overtake it): the status stands.
            return response.status, b""
    finally:
        connection.close()
"""

# Python source for scripts run on a host (no single quote in it: some are
# passed in single quotes): keystone_token() asks Keystone v3 for a token
# scoped to a project, with a user's password.
KEYSTONE_TOKEN = r"""
import json, urllib.request

def keystone_token(auth_url, user, password, project, timeout, user_domain="Default", project_domain="Default"):
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": user_domain}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": project_domain}}}}}
    req = urllib.request.Request(auth_url + "/auth/tokens", json.dumps(auth).encode(),
                                 {"Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=timeout).headers["X-Subject-Token"]
"""

# Runs on the host with OS_* settings in its environment (OS_AUTH_URL and
# friends for a Keystone token; without OS_AUTH_URL, no token) and talks to
# Glance's v2 API at OS_ENDPOINT directly, so what it prints does not depend
# on the openstack client's version:
#   find NAME    the images of that name, any status, as JSON
#   digests ID   streams the image data: {"size", "md5", "sha256", "sha512"}
#   delete ID    unprotects and deletes the image
GLANCE_CLIENT = _DIGESTS + KEYSTONE_TOKEN + r"""
import json, os, sys, urllib.parse, urllib.request
env = os.environ
headers = {"Content-Type": "application/json"}
if env.get("OS_AUTH_URL"):
    headers["X-Auth-Token"] = keystone_token(
        env["OS_AUTH_URL"], env["OS_USERNAME"], env["OS_PASSWORD"], env["OS_PROJECT_NAME"], 60,
        env["OS_USER_DOMAIN_NAME"], env["OS_PROJECT_DOMAIN_NAME"])
api = env["OS_ENDPOINT"] + "/v2/images"

def call(url, method="GET", body=None, ctype="application/json"):
    req = urllib.request.Request(url, body, dict(headers, **{"Content-Type": ctype}), method=method)
    return urllib.request.urlopen(req, timeout=300)

op, arg = sys.argv[1], sys.argv[2]
if op == "find":
    query = urllib.parse.urlencode({"name": arg, "limit": 100})
    print(json.dumps(json.load(call(api + "?" + query))["images"]))
elif op == "digests":
    print(json.dumps(digests(call(api + "/" + arg + "/file"))))
elif op == "delete":
    patch = json.dumps([{"op": "replace", "path": "/protected", "value": False}]).encode()
    call(api + "/" + arg, "PATCH", patch, "application/openstack-images-v2.1-json-patch")
    call(api + "/" + arg, "DELETE")
"""


# With a Keystone admin's OS_* settings: a user with only the member role in
# the admin's project (OS_PROJECT_NAME), made for a probe and deleted after
# it. `with temporary_member(prefix) as member_token:`
TEMP_MEMBER = KEYSTONE_TOKEN + r"""
import contextlib, json, os, secrets, urllib.request

@contextlib.contextmanager
def temporary_member(prefix):
    env = os.environ
    auth = env["OS_AUTH_URL"]
    admin = keystone_token(auth, env["OS_USERNAME"], env["OS_PASSWORD"], env["OS_PROJECT_NAME"], 60,
                           env["OS_USER_DOMAIN_NAME"], env["OS_PROJECT_DOMAIN_NAME"])

    def keystone(path, method="GET", body=None):
        req = urllib.request.Request(auth + path, json.dumps(body).encode() if body else None,
                                     {"X-Auth-Token": admin, "Content-Type": "application/json"}, method=method)
        return urllib.request.urlopen(req, timeout=60)

    def one(path, key):
        return json.load(keystone(path))[key][0]["id"]
    project = one("/projects?name=" + env["OS_PROJECT_NAME"], "projects")
    role = one("/roles?name=member", "roles")
    password = secrets.token_urlsafe(16)
    user = json.load(keystone("/users", "POST", {"user": {
        "name": prefix + "-" + secrets.token_hex(4), "password": password,
        "domain_id": one("/domains?name=" + env["OS_USER_DOMAIN_NAME"], "domains")}}))["user"]
    try:
        keystone(f"/projects/{project}/users/{user['id']}/roles/{role}", "PUT")
        yield keystone_token(auth, user["name"], password, env["OS_PROJECT_NAME"], 60,
                             env["OS_USER_DOMAIN_NAME"], env["OS_PROJECT_DOMAIN_NAME"])
    finally:
        keystone(f"/users/{user['id']}", "DELETE")
"""

# With the OS_* settings of glance_client: what GET /v2/images/ID shows of
# where the data lives, and the answer of the location API
# (GET /v2/images/ID/locations, image API 2.17): {"direct_url", "locations"
# (whether the image shows them), "location_api" (HTTP status), "count"}.
# `member` as second argument, with an admin's settings: the same for a user
# with the member role only, made in the admin's project for the probe and
# deleted after it.
LOCATIONS_PROBE = TEMP_MEMBER + r"""
import json, os, sys, urllib.error, urllib.request
env = os.environ
auth = env["OS_AUTH_URL"]
token = keystone_token(auth, env["OS_USERNAME"], env["OS_PASSWORD"], env["OS_PROJECT_NAME"], 60,
                       env["OS_USER_DOMAIN_NAME"], env["OS_PROJECT_DOMAIN_NAME"])
image_url = env["OS_ENDPOINT"] + "/v2/images/" + sys.argv[1]

def call(url, token, method="GET", body=None):
    req = urllib.request.Request(url, json.dumps(body).encode() if body else None,
                                 {"X-Auth-Token": token, "Content-Type": "application/json"}, method=method)
    return urllib.request.urlopen(req, timeout=60)

def probe(token):
    image = json.load(call(image_url, token))
    result = {"direct_url": "direct_url" in image, "locations": "locations" in image, "count": None}
    try:
        result["count"] = len(json.load(call(image_url + "/locations", token)))
        result["location_api"] = 200
    except urllib.error.HTTPError as error:
        result["location_api"] = error.code
    return result

if sys.argv[2:] == ["member"]:
    with temporary_member("locations-probe") as member:
        result = probe(member)
else:
    result = probe(token)
print(json.dumps(result))
"""


# With a Keystone admin's OS_* settings and OS_ENDPOINT: property
# protections as Glance enforces them on PROPERTY (first argument), for a
# member made for the probe and for the admin. Prints the HTTP status of
# each attempt: {"member_create", "member_add", "admin_add", "member_update",
# "admin_create"} and whether the member reads it back ("member_reads").
# The images it makes are deleted.
PROPERTY_PROBE = TEMP_MEMBER + r"""
import json, os, sys, urllib.error, urllib.request
env, prop = os.environ, sys.argv[1]
api = env["OS_ENDPOINT"] + "/v2/images"
admin = keystone_token(env["OS_AUTH_URL"], env["OS_USERNAME"], env["OS_PASSWORD"], env["OS_PROJECT_NAME"], 60,
                       env["OS_USER_DOMAIN_NAME"], env["OS_PROJECT_DOMAIN_NAME"])
PATCH = "application/openstack-images-v2.1-json-patch"

def call(url, token, method="GET", body=None, ctype="application/json"):
    req = urllib.request.Request(url, json.dumps(body).encode() if body is not None else None,
                                 {"X-Auth-Token": token, "Content-Type": ctype}, method=method)
    try:
        resp = urllib.request.urlopen(req, timeout=60)
        return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None

result, made = {}, []
try:
    with temporary_member("property-probe") as member:
        result["member_create"], image = call(api, member, "POST", {"name": "property-probe", prop: "1"})
        made += [image["id"]] if image else []
        status, image = call(api, member, "POST", {"name": "property-probe"})
        made.append(image["id"])
        add = [{"op": "add", "path": "/" + prop, "value": "2"}]
        result["member_add"], _ = call(api + "/" + image["id"], member, "PATCH", add, PATCH)
        result["admin_add"], _ = call(api + "/" + image["id"], admin, "PATCH", add, PATCH)
        _, seen = call(api + "/" + image["id"], member)
        result["member_reads"] = seen.get(prop) == "2"
        replace = [{"op": "replace", "path": "/" + prop, "value": "3"}]
        result["member_update"], _ = call(api + "/" + image["id"], member, "PATCH", replace, PATCH)
    result["admin_create"], image = call(api, admin, "POST", {"name": "property-probe", prop: "1"})
    made += [image["id"]] if image else []
finally:
    for image_id in made:
        call(api + "/" + image_id, admin, "DELETE")
print(json.dumps(result))
"""

# One HTTP request from the host: URL, METHOD, then header name and value
# pairs; prints {"status", "headers" (lower-case names), "body"} whatever
# the status.
HTTP_PROBE = r"""
import json, sys, urllib.error, urllib.request
url, method, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
req = urllib.request.Request(url, method=method, headers=dict(zip(pairs[::2], pairs[1::2])))
try:
    resp = urllib.request.urlopen(req, timeout=60)
except urllib.error.HTTPError as error:
    resp = error
body = resp.read().decode(errors="replace")
print(json.dumps({"status": resp.status, "headers": {k.lower(): v for k, v in resp.headers.items()},
                  "body": body}))
"""


def assert_https_with_the_ca_only(host, url, cafile):
    """URL (https) answers a client that verifies it with CAFILE; a client
    with no CA is refused the certificate, and plain http gets no HTTP
    answer."""
    cmd = host.run(f"python3 -c {shlex.quote(TLS_PROBE)} {url} {cafile}")
    assert cmd.rc == 0, cmd.stderr
    seen = json.loads(cmd.stdout)
    assert seen["with_ca"] in (200, 300), seen
    assert "CERTIFICATE_VERIFY_FAILED" in str(seen["without_ca"]), seen
    assert not isinstance(seen["plain_http"], int), seen


def http_probe(host, url, method="GET", headers=None):
    """HTTP_PROBE on the host: {"status", "headers", "body"}."""
    args = [url, method] + [item for pair in (headers or {}).items() for item in pair]
    cmd = host.run(f"python3 -c {shlex.quote(HTTP_PROBE)} " + " ".join(shlex.quote(a) for a in args))
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return json.loads(cmd.stdout)


def admin_env(bootstrap, region, endpoint="http://127.0.0.1:9292"):
    """OS_* settings of Keystone's bootstrap admin (glance:bootstrap:identity):
    the admin role, not the service role."""
    identity = bootstrap["identity"]
    return {
        "OS_AUTH_URL": identity["auth_url"],
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": identity.get("admin_user", "admin"),
        "OS_PASSWORD": identity["admin_password"],
        "OS_PROJECT_NAME": identity.get("admin_project", "admin"),
        "OS_USER_DOMAIN_NAME": identity.get("admin_domain", "Default"),
        "OS_PROJECT_DOMAIN_NAME": identity.get("admin_domain", "Default"),
        "OS_REGION_NAME": region,
        "OS_ENDPOINT": endpoint,
    }


def assert_locations_guarded(host, service, admin, image_id, major, direct_url=False):
    """OSSN-0065/0090: an image (visible to its project's members) shows no
    locations and (unless DIRECT_URL) no direct_url; from Glance 29 (2024.2)
    the location API gives them to the service role (SERVICE: the OS_*
    settings of a user with it, such as Glance's own) and refuses a member
    (made by ADMIN, a Keystone admin); before, that API does not exist."""
    as_service = run_client(host, service, LOCATIONS_PROBE, image_id)
    as_member = run_client(host, admin, LOCATIONS_PROBE, image_id, "member")
    for seen in (as_service, as_member):
        assert seen["locations"] is False, seen
        assert seen["direct_url"] is direct_url, seen
    if major >= 29:
        assert (as_service["location_api"], as_service["count"]) == (200, 1), as_service
        assert as_member["location_api"] == 403, as_member
    else:
        assert as_service["location_api"] == as_member["location_api"] == 404, (as_service, as_member)


def glance_client(host, credentials, *args):
    """GLANCE_CLIENT with the given OS_* settings (and OS_ENDPOINT), read
    from a file readable by root only; returns its JSON output or None."""
    return run_client(host, credentials, GLANCE_CLIENT, *args)


def run_client(host, credentials, script, *args):
    """SCRIPT (Python) on the host as glance_client runs GLANCE_CLIENT."""
    _write_openrc(host, credentials)
    cmd = host.run(f". {OPENRC} && python3 -c {shlex.quote(script)} "
                   + " ".join(shlex.quote(str(a)) for a in args))
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return json.loads(cmd.stdout) if cmd.stdout.strip() else None


def file_digests(host, path):
    """Size and md5, sha256 and sha512 of a file on the host."""
    script = _DIGESTS + "import json, sys\nprint(json.dumps(digests(open(sys.argv[1], 'rb'))))\n"
    cmd = host.run(f"python3 -c {shlex.quote(script)} {shlex.quote(path)}")
    assert cmd.rc == 0, cmd.stderr
    return json.loads(cmd.stdout)


def salt_call_command(host):
    """salt-call and the minion configuration the host was applied with:
    `make deploy`'s own virtualenv and configuration under
    <clone>/.cache/deploy when GLANCE_DEPLOY_CLONE names the clone it ran in
    on the host; else Kitchen's salt_solo (/tmp/kitchen/etc/salt); else the
    salt-call on the PATH with /etc/salt (the podman harness)."""
    clone = os.environ.get("GLANCE_DEPLOY_CLONE")
    if clone:
        deploy_dir = f"{clone}/.cache/deploy"
        assert host.file(f"{deploy_dir}/minion").exists, f"no {deploy_dir}/minion: did make deploy run in {clone}?"
        return f"{shlex.quote(deploy_dir)}/venv/bin/salt-call --local -c {shlex.quote(deploy_dir)}"
    if host.file("/tmp/kitchen/etc/salt/minion").exists:
        return "salt-call --local -c /tmp/kitchen/etc/salt"
    return "salt-call --local"


def _salt_call(host, args, quote_output):
    """(exit code, the states' results, all that salt-call printed)."""
    cmd = host.run(f"{salt_call_command(host)} --retcode-passthrough --out=json --log-level=warning "
                   + " ".join(shlex.quote(str(a)) for a in args))
    try:
        local = json.loads(cmd.stdout)["local"]
    except (ValueError, KeyError, TypeError):
        printed = f":\n{cmd.stdout[-3000:]}{cmd.stderr[-3000:]}" if quote_output else ""
        raise AssertionError(f"salt-call printed no state result (exit {cmd.rc}){printed}") from None
    return cmd.rc, (local if isinstance(local, dict) else {}), cmd.stdout + cmd.stderr


def salt_call(host, *args):
    """salt-call --local on the converged host, with the minion
    configuration the host was applied with (see salt_call_command).
    Returns the exit code and the states' results ({} when the output is not
    a state run)."""
    rc, states, _ = _salt_call(host, args, quote_output=True)
    return rc, states


def require_salt_master(host):
    """HOST, where it runs salt-master; else the test is skipped (Test
    Kitchen runs the cluster masterless)."""
    if host.run("systemctl is-active salt-master").stdout.strip() != "active":
        pytest.skip("no salt-master on this controller (the cluster runs masterless)")
    return host


def salt_master_json(host, *args, timeout=1800, check=True):
    """`salt ARGS` on the salt-master HOST, its JSON answer by minion id;
    CHECK: the command must exit 0. The CLI waits up to TIMEOUT for every
    minion's return (its default, 5 s a poll, drops a minion that is busy
    restarting glance-api on a loaded machine)."""
    cmd = host.run(f"timeout {timeout} " + shlex.join(["salt", "--out=json", "--static", "-t", str(timeout), *args]))
    assert not check or cmd.rc == 0, \
        f"salt {' '.join(args[:3])}: exit {cmd.rc}\n{cmd.stderr[-3000:]}\n{cmd.stdout[-3000:]}"
    return json.loads(cmd.stdout)


def seeding_state(states):
    """The one glance_image.present result of an images-only apply."""
    found = [v for k, v in states.items() if k.startswith("glance_image_|-")]
    assert len(found) == 1, sorted(states)
    return found[0]


def apply_images(host, images, test=False):
    """state.apply glance.server.images with IMAGES as glance:server:images
    (a pillar override: the rest of the suite's pillar stays)."""
    pillar = {"glance": {"server": {"images": images}}}
    args = ["state.apply", "glance.server.images", "pillar=" + json.dumps(pillar)]
    return salt_call(host, *args, *(["test=True"] if test else []))


def apply_suite_pillar_once(host, done):
    """state.apply glance with the suite's own pillar, once per DONE list
    (a module fixture's): tests that applied an override put the host back
    with it, and later callers get the first result."""
    if not done:
        done.append(salt_call(host, "state.apply", "glance"))
    return done[0]


def changed_or_failed(states):
    """{id: comment} of the states of a run that changed or failed anything."""
    return {k: v["comment"] for k, v in states.items() if v.get("changes") or v["result"] is not True}


def failed_first(states):
    """{id: comment} of the states that failed, else changed_or_failed: a
    failure's message is not cut off among the changes of a long run."""
    return {k: v["comment"] for k, v in states.items() if v["result"] is False} or changed_or_failed(states)


def salt_call_shown(host, *args):
    """salt_call, plus all that salt-call printed (stdout and stderr): for
    asserting what a run shows, such as no secret (which is why a failure to
    print a result does not quote the output)."""
    return _salt_call(host, args, quote_output=False)


# Runs on the host like GLANCE_CLIENT, for several stores (multistore):
#   upload NAME PATH STORE  creates a raw image and uploads PATH to STORE
#   copy ID STORE           the import API's copy-image to STORE
#   show ID                 the image as JSON
#   stores                  /v2/info/stores as JSON
GLANCE_STORES_CLIENT = KEYSTONE_TOKEN + r"""
import json, os, sys, urllib.request
env = os.environ
token = keystone_token(env["OS_AUTH_URL"], env["OS_USERNAME"], env["OS_PASSWORD"], env["OS_PROJECT_NAME"], 60,
                       env["OS_USER_DOMAIN_NAME"], env["OS_PROJECT_DOMAIN_NAME"])
api = env["OS_ENDPOINT"] + "/v2"

def call(path, method="GET", body=None, headers=None):
    req = urllib.request.Request(api + path, body, dict({"X-Auth-Token": token,
                                 "Content-Type": "application/json"}, **(headers or {})), method=method)
    with urllib.request.urlopen(req, timeout=300) as response:
        text = response.read()
    return json.loads(text) if text.strip() else None

op, args = sys.argv[1], sys.argv[2:]
if op == "upload":
    name, path, store = args
    image = call("/images", "POST", json.dumps({"name": name, "disk_format": "raw",
                                                "container_format": "bare"}).encode())
    with open(path, "rb") as data:
        call("/images/" + image["id"] + "/file", "PUT", data.read(),
             {"Content-Type": "application/octet-stream", "X-Image-Meta-Store": store})
    print(json.dumps(call("/images/" + image["id"])))
elif op == "copy":
    image_id, store = args
    call("/images/" + image_id + "/import", "POST",
         json.dumps({"method": {"name": "copy-image"}, "stores": [store]}).encode())
elif op == "show":
    print(json.dumps(call("/images/" + args[0])))
elif op == "stores":
    print(json.dumps(call("/info/stores")))
"""


def glance_stores_client(host, credentials, *args):
    """GLANCE_STORES_CLIENT with the given OS_* settings (Keystone and
    OS_ENDPOINT), read from a file readable by root only; returns its JSON
    output or None."""
    _write_openrc(host, credentials)
    cmd = host.run(f". {OPENRC} && python3 -c {shlex.quote(GLANCE_STORES_CLIENT)} "
                   + " ".join(shlex.quote(str(a)) for a in args))
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return json.loads(cmd.stdout) if cmd.stdout.strip() else None


def rbd_image_digests(host, rbd, pool, image_id):
    """Size and md5, sha256 and sha512 of the rbd image POOL/IMAGE_ID as
    Glance's rbd driver leaves it: listed in the pool, with one snapshot,
    the protected `snap`, whose data is read back (rbd export). RBD is the
    rbd command with the identity to use (`rbd --cluster testceph` as the
    test Ceph's administrator, `rbd --id glance` as Glance's client)."""
    listed = host.run(f"{rbd} ls {shlex.quote(pool)} --format json")
    assert listed.rc == 0, listed.stderr
    assert image_id in json.loads(listed.stdout or "[]"), f"{image_id} is not an rbd image of {pool}"
    image = shlex.quote(f"{pool}/{image_id}")
    snaps = host.run(f"{rbd} snap ls {image} --format json")
    assert snaps.rc == 0, snaps.stderr
    assert [(s["name"], s["protected"]) for s in json.loads(snaps.stdout)] == [("snap", "true")]
    export = f"/var/tmp/rbd-export-{image_id}"
    try:
        cmd = host.run(f"{rbd} export --no-progress {image}@snap {shlex.quote(export)}")
        assert cmd.rc == 0, cmd.stderr
        return file_digests(host, export)
    finally:
        host.run(f"rm -f {shlex.quote(export)}")


def timed(func, *args):
    """FUNC(*ARGS) and the seconds it took."""
    started = time.monotonic()
    result = func(*args)
    return result, time.monotonic() - started


def assert_one_rbd_store(api, storage, ceph_conf="/etc/ceph/ceph.conf"):
    """glance-api.conf (API, parsed) holds the old formula's storage block
    STORAGE as one store named after its engine (multistore: from Ussuri),
    with show_image_direct_url for copy-on-write clones."""
    assert api.get("DEFAULT", "enabled_backends") == "rbd:rbd"
    assert api.get("glance_store", "default_backend") == "rbd"
    assert dict(api.items("rbd")) == {
        "rbd_store_ceph_conf": ceph_conf,
        "rbd_store_chunk_size": str(storage["chunk_size"]),
        "rbd_store_pool": storage["pool"],
        "rbd_store_user": storage["user"],
    }
    assert api.get("DEFAULT", "show_image_direct_url") == "true"
