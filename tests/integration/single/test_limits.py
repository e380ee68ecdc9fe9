"""Single suite: per-project quotas from Keystone's unified limits
(glance:server:limits, on in tests/pillar/single.sls).

- glance-api.conf turns them on, with [oslo_limit] naming the glance user,
  system scope, and Glance's endpoint by its id (looked up in Keystone by
  the formula);
- Keystone holds the pillar's registered limits in the endpoint's region,
  and the glance user has the reader role on the system;
- a project given its own limits (1 MiB, 2 images) is held to them: its
  first upload of 2 MiB passes (Glance checks the usage before an upload),
  the next upload is refused with 413 and leaves the image queued, and a
  third image is refused at creation."""

import pytest

from glance_checks import (
    API_CONF,
    SEND_BODY,
    admin_env,
    keystone_url,
    local_api,
    read_ini,
    run_client,
    suite_pillar,
)

PILLAR = suite_pillar("single")
SERVER = PILLAR["glance"]["server"]
REGION = SERVER["identity"]["region"]
DEFAULTS = {"image_size_total": 1000, "image_stage_total": 1000, "image_count_total": 100,
            "image_count_uploading": 100}

# token(scope[, user, password]): a Keystone token with that scope for the
# user of the OS_* settings (or another user of its domain).
TOKEN = r"""
import json, os, urllib.request
env = os.environ

def token(scope, user=env["OS_USERNAME"], password=env["OS_PASSWORD"]):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": env["OS_USER_DOMAIN_NAME"]}, "password": password}}}, "scope": scope}}
    req = urllib.request.Request(env["OS_AUTH_URL"] + "/auth/tokens", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=60).headers["X-Subject-Token"]
"""

# With the bootstrap admin's OS_* settings, on the system scope: {"registered":
# {resource: default}, "system_reader": bool, "endpoint": {"id"}} for the
# image service in the region given as first argument.
KEYSTONE_LIMITS = TOKEN + r"""
import sys
region, system = sys.argv[1], token({"system": {"all": True}})

def get(path):
    req = urllib.request.Request(env["OS_AUTH_URL"] + path, headers={"X-Auth-Token": system})
    return json.load(urllib.request.urlopen(req, timeout=60))

[service] = get("/services?type=image")["services"]
[endpoint] = get(f"/endpoints?service_id={service['id']}&interface=public&region_id={region}")["endpoints"]
registered = get(f"/registered_limits?service_id={service['id']}&region_id={region}")["registered_limits"]
user = get("/users?name=glance")["users"][0]["id"]
reader = get("/roles?name=reader")["roles"][0]["id"]
grants = get(f"/role_assignments?user.id={user}&role.id={reader}&scope.system=all")["role_assignments"]
print(json.dumps({"registered": {r["resource_name"]: r["default_limit"] for r in registered},
                  "system_reader": bool(grants), "endpoint": {"id": endpoint["id"]}}))
"""

# With the bootstrap admin's OS_* settings: a project of its own with limits
# of its own (image_size_total 1 MiB, image_count_total 2 images, in the
# region given as first argument) and a member of it, who uploads; the
# project, the member, their limits and images are deleted after. Prints the
# status of each step.
OVER_THE_LIMIT = TOKEN + SEND_BODY + r"""
import secrets, sys, urllib.error
region = sys.argv[1]
auth, api = env["OS_AUTH_URL"], env["OS_ENDPOINT"] + "/v2/images"

def call(url, tok, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data, {"X-Auth-Token": tok, "Content-Type": "application/json"}, method=method)
    try:
        resp = urllib.request.urlopen(req, timeout=120)
        return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, None

# Limits are the system administrator's to set.
system = token({"system": {"all": True}})
admin = token({"project": {"name": env["OS_PROJECT_NAME"], "domain": {"name": env["OS_PROJECT_DOMAIN_NAME"]}}})

def keystone(path, method="GET", body=None):
    status, answer = call(auth + path, system, method, body)
    if status >= 300:
        sys.exit(f"{method} {path}: {status}")
    return answer

domain = keystone("/domains?name=" + env["OS_USER_DOMAIN_NAME"])["domains"][0]["id"]
[service] = keystone("/services?type=image")["services"]
member_role = keystone("/roles?name=member")["roles"][0]["id"]
name, password = "limits-probe-" + secrets.token_hex(4), secrets.token_urlsafe(16)
project = keystone("/projects", "POST", {"project": {"name": name, "domain_id": domain}})["project"]["id"]
user = keystone("/users", "POST", {"user": {"name": name, "password": password, "domain_id": domain}})["user"]["id"]
result, images, limits = {}, [], []
try:
    keystone(f"/projects/{project}/users/{user}/roles/{member_role}", "PUT")
    own = [{"service_id": service["id"], "region_id": region, "project_id": project,
            "resource_name": resource, "resource_limit": value}
           for resource, value in (("image_size_total", 1), ("image_count_total", 2))]
    limits = [limit["id"] for limit in keystone("/limits", "POST", {"limits": own})["limits"]]
    member = token({"project": {"id": project}}, name, password)

    def create():
        status, image = call(api, member, "POST", {"name": name, "disk_format": "raw", "container_format": "bare"})
        images.extend([image["id"]] if image else [])
        return status, image

    def upload(image, size):
        return send_body(api + "/" + image["id"] + "/file", "PUT",
                         {"X-Auth-Token": member, "Content-Type": "application/octet-stream"}, os.urandom(size))[0]

    _, first = create()
    result["first_upload"] = upload(first, 2 << 20)
    result["first_status"] = call(api + "/" + first["id"], member)[1]["status"]
    _, second = create()
    result["second_upload"] = upload(second, 1 << 20)
    result["second_status"] = call(api + "/" + second["id"], member)[1]["status"]
    result["third_image"] = create()[0]
finally:
    for image_id in images:
        call(api + "/" + image_id, admin, "DELETE")
    for limit_id in limits:
        call(auth + "/limits/" + limit_id, system, "DELETE")
    call(auth + "/users/" + user, system, "DELETE")
    call(auth + "/projects/" + project, system, "DELETE")
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def admin():
    return admin_env(PILLAR["glance"]["bootstrap"], REGION, local_api(SERVER))


def test_glance_api_reads_its_limits_from_keystone_as_the_glance_user(host, admin):
    api = read_ini(host, API_CONF)
    assert api.get("DEFAULT", "use_keystone_limits") == "true"
    oslo_limit = dict(api.items("oslo_limit"))
    credentials = {key: oslo_limit.pop(key) for key in ("auth_url", "auth_type", "username", "password",
                                                        "user_domain_name", "system_scope")}
    assert credentials == {"auth_url": keystone_url(SERVER), "auth_type": "password", "username": "glance",
                           "password": SERVER["identity"]["password"].replace("$", "$$"),
                           "user_domain_name": "Default", "system_scope": "all"}
    keystone = run_client(host, admin, KEYSTONE_LIMITS, REGION)
    # Keystone's CA, where the pillar has Keystone on https.
    cafile = {"cafile": SERVER["identity"]["cacert_file"]} if SERVER["identity"].get("cacert_file") else {}
    assert oslo_limit == {"endpoint_id": keystone["endpoint"]["id"], **cafile}


def test_keystone_holds_the_registered_limits_and_the_system_reader(host, admin):
    keystone = run_client(host, admin, KEYSTONE_LIMITS, REGION)
    wanted = dict(DEFAULTS, **{k: v for k, v in SERVER["limits"].items() if k != "enabled"})
    assert keystone["registered"] == wanted
    assert keystone["system_reader"] is True


def test_a_project_over_its_own_limits_is_refused(host, admin):
    seen = run_client(host, admin, OVER_THE_LIMIT, REGION)
    assert seen == {"first_upload": 204, "first_status": "active", "second_upload": 413,
                    "second_status": "queued", "third_image": 413}, seen
