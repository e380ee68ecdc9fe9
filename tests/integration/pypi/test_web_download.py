"""PyPI suite, on the Glance node: web-download cannot reach the control
plane. With the formula's default [import_filtering_opts], an import from
the metadata service, loopback or a host of the deployment's services is
refused when it is requested (400) and leaves the image empty; with the
pillar's allowlist (the controller's image source as the site's mirror),
the same kind of import completes and reads back byte for byte, while
every other host stays refused. The suite's pillar then restores the
defaults. Runs last: it restarts glance-api twice."""
import json
import shlex

import pytest
from test_pypi import GLANCE, SERVER, VENV

from glance_checks import (
    _DIGESTS,
    KEYSTONE_TOKEN,
    assert_stops_were_prompt,
    changed_or_failed,
    failed_first,
    read_ini,
    run_client,
    salt_call,
)

LOCAL_API = dict(GLANCE, OS_ENDPOINT="http://127.0.0.1:9292")
MIRROR = "http://controller:8090/pattern.raw"
MIRROR_SHA256 = next(image["checksums"]["sha256"] for image in SERVER["images"] if image["source"] == MIRROR)
REFUSED = "URI for web-download does not pass filtering"

# Runs on the host:
#   info            the import methods Glance advertises
#   import NAME URI a new raw image, imported by web-download from URI:
#                   {"id", "code", "body"} of the import request
#   show ID         the image
#   wait ID         the image once it is active or its import failed
#   sha256 ID       the image data's sha256
#   delete ID
CLIENT = _DIGESTS + KEYSTONE_TOKEN + r"""
import json, os, sys, time, urllib.error, urllib.request
env = os.environ
token = keystone_token(env["OS_AUTH_URL"], env["OS_USERNAME"], env["OS_PASSWORD"], env["OS_PROJECT_NAME"], 60,
                       env["OS_USER_DOMAIN_NAME"], env["OS_PROJECT_DOMAIN_NAME"])
api = env["OS_ENDPOINT"] + "/v2"

def call(path, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, data, {"X-Auth-Token": token, "Content-Type": "application/json"},
                                 method=method)
    return urllib.request.urlopen(req, timeout=120)

op, args = sys.argv[1], sys.argv[2:]
if op == "info":
    print(json.dumps(json.load(call("/info/import"))["import-methods"]["value"]))
elif op == "import":
    image = json.load(call("/images", "POST", {"name": args[0], "disk_format": "raw",
                                               "container_format": "bare"}))
    try:
        response = call(f"/images/{image['id']}/import", "POST",
                        {"method": {"name": "web-download", "uri": args[1]}})
        code, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        code, body = error.code, error.read().decode()
    print(json.dumps({"id": image["id"], "code": code, "body": body}))
elif op == "show":
    print(json.dumps(json.load(call(f"/images/{args[0]}"))))
elif op == "wait":
    deadline = time.monotonic() + 240
    while True:
        image = json.load(call(f"/images/{args[0]}"))
        if image["status"] == "active" or image.get("os_glance_failed_import") or time.monotonic() > deadline:
            break
        time.sleep(2)
    print(json.dumps(image))
elif op == "sha256":
    print(json.dumps(digests(call(f"/images/{args[0]}/file"))["sha256"]))
elif op == "delete":
    call(f"/images/{args[0]}", "DELETE")
"""


def client(host, *args):
    return run_client(host, LOCAL_API, CLIENT, *args)


def filtering(host):
    return dict(read_ini(host, "/etc/glance/glance-api.conf").items("import_filtering_opts"))


def assert_refused(host, uri):
    """An import from URI is refused when requested; the image stays empty."""
    attempt = client(host, "import", "web-download-refused", uri)
    try:
        assert attempt["code"] == 400 and REFUSED in attempt["body"], (uri, attempt)
        image = client(host, "show", attempt["id"])
        assert (image["status"], image["size"], image["checksum"]) == ("queued", None, None), image
        assert not host.file(f"/var/lib/glance/staging/{attempt['id']}").exists
    finally:
        client(host, "delete", attempt["id"])


# The filtering options as Glance parses them from glance-api.conf (a value
# it cannot parse refuses every import, which would pass for filtering).
PARSED = r"""
import json, sys
from oslo_config import cfg
import glance.async_.flows._internal_plugins  # registers [import_filtering_opts]
cfg.CONF(["--config-file", "/etc/glance/glance-api.conf"], project="glance")
opts = cfg.CONF.import_filtering_opts
print(json.dumps({key: list(opts[key]) for key in ("allowed_schemes", "allowed_hosts", "disallowed_hosts",
                                                    "allowed_ports")}))
"""


def parsed_filtering(host):
    cmd = host.run(f"{VENV}/bin/python -c {shlex.quote(PARSED)}")
    assert cmd.rc == 0, cmd.stderr[-2000:]
    return json.loads(cmd.stdout.strip().splitlines()[-1])


def test_glance_parses_the_formulas_filtering(host):
    parsed = parsed_filtering(host)
    assert (parsed["allowed_schemes"], parsed["allowed_ports"], parsed["allowed_hosts"]) == \
        (["http", "https"], [80, 443], [])
    assert {"169.254.169.254", "127.0.0.1", "::1", "controller"} <= set(parsed["disallowed_hosts"])


def test_import_methods_advertised_are_the_formulas(host):
    assert client(host, "info") == ["glance-direct", "web-download"]


@pytest.mark.parametrize("uri", [
    "http://169.254.169.254/openstack/latest/meta_data.json",  # the metadata service
    "http://127.0.0.1/pattern.raw",
    "http://[::1]/pattern.raw",
    "http://localhost/pattern.raw",
    "http://controller/pattern.raw",  # the database, Keystone, RabbitMQ and Ceph host
    "http://controller:8090/pattern.raw",
    "file:///etc/glance/glance-api.conf",
])
def test_web_download_refuses_the_control_plane(host, uri):
    assert "controller" in filtering(host)["disallowed_hosts"].strip("[]").split(", ")
    assert_refused(host, uri)


@pytest.fixture(scope="module")
def mirror_allowed(host):
    """The pillar's allowlist: the controller's image source as the mirror,
    by its address (Glance 33 looks a name up as an absolute one, and the
    test network's short names resolve only through its search domain).
    Yields the mirror's address."""
    address = host.run("getent hosts controller").stdout.split()[0]
    override = {"glance": {"server": {"import": {"filtering": {"allowed_hosts": [address],
                                                               "allowed_ports": [8090]}}}}}
    rc, states = salt_call(host, "state.apply", "glance", "pillar=" + json.dumps(override))
    assert rc == 0, failed_first(states)
    yield address
    rc, states = salt_call(host, "state.apply", "glance")
    assert rc == 0, failed_first(states)
    assert "disallowed_hosts" in filtering(host) and "allowed_hosts" not in filtering(host)
    assert client(host, "info") == ["glance-direct", "web-download"]
    rc, states = salt_call(host, "state.apply", "glance")
    assert rc == 0 and changed_or_failed(states) == {}


def test_web_download_from_an_allowed_mirror_reads_back(host, mirror_allowed):
    assert filtering(host) == {"allowed_schemes": "[http, https]", "allowed_ports": "[8090]",
                               "allowed_hosts": f"[{mirror_allowed}]"}
    assert parsed_filtering(host)["allowed_hosts"] == [mirror_allowed]
    attempt = client(host, "import", "web-download-mirror", MIRROR.replace("controller", mirror_allowed))
    try:
        assert attempt["code"] == 202, attempt
        image = client(host, "wait", attempt["id"])
        assert image["status"] == "active", image
        assert client(host, "sha256", attempt["id"]) == MIRROR_SHA256
    finally:
        client(host, "delete", attempt["id"])


@pytest.mark.parametrize("uri", ["http://169.254.169.254:8090/pattern.raw", "http://127.0.0.1:8090/pattern.raw"])
def test_the_allowlist_alone_is_obeyed(host, mirror_allowed, uri):
    assert_refused(host, uri)


def test_every_stop_of_glance_api_was_prompt(host, mirror_allowed):
    """Last in the suite: the release upgrade and the allowlist above
    restarted glance-api several times (the allowlist's own restore comes
    after), and no uWSGI worker outlived its master's stop."""
    assert_stops_were_prompt(host)
