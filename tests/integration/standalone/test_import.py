"""Standalone suite: without Keystone no import method can work (Glance
files each import task under the request's project, and a request has one
only through Keystone), so the embedded default advertises none and Glance
refuses both the stage and the import at once, leaving the image empty and
nothing staged. Data goes in by upload (test_images.py)."""
import uuid

import pytest

from glance_checks import SEND_BODY, run_client, wait_listening

NOAUTH = {"OS_ENDPOINT": "http://127.0.0.1:9292"}
STAGING = "/var/lib/glance/staging"

# Runs on the host, without a token:
#   methods        the import methods Glance advertises
#   try NAME       a new raw image; 1 MiB staged, then imported by glance-direct:
#                  the image afterwards and each request's {"code", "body"}
#   delete ID
CLIENT = SEND_BODY + r"""
import json, os, sys, urllib.request
api = os.environ["OS_ENDPOINT"] + "/v2"

def call(path, method="GET", body=None, ctype="application/json"):
    req = urllib.request.Request(api + path, body, {"Content-Type": ctype}, method=method)
    return urllib.request.urlopen(req, timeout=60)

def answer(path, method, body, ctype="application/json"):
    code, text = send_body(api + path, method, {"Content-Type": ctype}, body, 60)
    return {"code": code, "body": text.decode()}

op, args = sys.argv[1], sys.argv[2:]
if op == "methods":
    print(json.dumps(json.load(call("/info/import"))["import-methods"]["value"]))
elif op == "try":
    body = {"name": args[0], "disk_format": "raw", "container_format": "bare"}
    image = json.load(call("/images", "POST", json.dumps(body).encode()))
    path = "/images/" + image["id"]
    stage = answer(path + "/stage", "PUT", os.urandom(1 << 20), "application/octet-stream")
    imported = answer(path + "/import", "POST", json.dumps({"method": {"name": "glance-direct"}}).encode())
    print(json.dumps({"image": json.load(call(path)), "stage": stage, "import": imported}))
elif op == "delete":
    call("/images/" + args[0], "DELETE")
"""


def client(host, *args):
    return run_client(host, NOAUTH, CLIENT, *args)


@pytest.fixture(scope="module")
def attempt(host):
    """An image staged and imported with glance-direct; deleted afterwards."""
    wait_listening(host, "127.0.0.1:9292")
    result = client(host, "try", f"standalone-import-{uuid.uuid4().hex[:8]}")
    yield result
    client(host, "delete", result["image"]["id"])


def test_no_import_method_is_advertised(host):
    wait_listening(host, "127.0.0.1:9292")
    assert client(host, "methods") == []


def test_staging_is_refused(attempt):
    stage = attempt["stage"]
    assert stage["code"] == 404 and "'glance-direct' method is not available" in stage["body"], stage


def test_the_import_is_refused(attempt):
    imported = attempt["import"]
    assert imported["code"] == 400 and "Unknown import method name 'glance-direct'" in imported["body"], imported


def test_the_image_stays_empty_and_nothing_is_staged(host, attempt):
    image = attempt["image"]
    assert (image["status"], image["size"], image["checksum"]) == ("queued", None, None), image
    assert not host.file(f"{STAGING}/{image['id']}").exists
