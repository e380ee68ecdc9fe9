"""Unit tests of the glance_image state and execution module.

Glance is an in-memory fake of the Images API v2 (``FakeGlance``) standing
in for the SDK's image proxy: it consumes upload bodies chunk by chunk and
computes md5/sha512 itself, as Glance does. Image sources are served by a
local HTTP server on 127.0.0.1 that counts the requests it gets, so the
tests can assert that a re-run downloads nothing.
"""

import copy
import hashlib
import http
import http.server
import itertools
import json as jsonlib
import logging
import os
import pathlib
import sys
import threading
import time
import tracemalloc
import urllib.parse
from types import SimpleNamespace

import openstack.exceptions
import pytest
import requests
from keystoneauth1 import exceptions as ks_exceptions

from saltmodules import functions, load

MiB = 1024 * 1024

PASSWORD = "Gl@nce-S3cret/pw"
SOURCE_PASSWORD = "src-p@ss"
CONNECTION = {
    "auth_url": "http://keystone.test:5000/v3",
    "username": "admin",
    "password": PASSWORD,
    "project_name": "admin",
    "endpoint": "http://glance.test:9292",
}

_READ_ONLY = {"id", "status", "checksum", "size", "virtual_size", "os_hash_algo",
              "os_hash_value", "created_at", "updated_at", "self", "file", "schema",
              "owner", "stores", "locations", "direct_url"}


def digests(data, algos=("md5", "sha256", "sha512")):
    return {algo: hashlib.new(algo, data).hexdigest() for algo in algos}


def payload(size, seed=b"image"):
    """Deterministic test data of ``size`` bytes."""
    block = hashlib.sha512(seed).digest() * (64 * 1024 // 64)
    return (block * (size // len(block) + 1))[:size]


# ------------------------------------------------------------- fake Glance


class FakeResponse:
    def __init__(self, status, body=None, content=b""):
        self.status_code = status
        self.reason = http.HTTPStatus(status).phrase
        self._body = body
        self._content = content
        self.headers = {}
        if body is not None:
            self.text = jsonlib.dumps(body)
        else:
            self.text = "<html><body><h1>{} {}</h1>{}</body></html>".format(
                status, self.reason, content.decode("latin-1") if status >= 400 else ""
            )

    def json(self):
        return copy.deepcopy(self._body)

    def iter_content(self, size):
        for start in range(0, len(self._content), size):
            yield self._content[start:start + size]


class FakeGlance:
    """The Images API v2 calls the state makes, on an in-memory store."""

    def __init__(self, multistore=False, page_size=50):
        self.images = {}
        self.data = {}
        self.calls = []
        self.multistore = multistore
        self.page_size = page_size
        self.unreachable = False
        self.forbid_public = False
        self.fail_upload_after = None
        self.store_down = False
        self.store_full = False
        self.keep_data = True
        self.received = {}
        self.bodies = []
        self.headers_seen = []
        self.staged = {}
        self.pending = {}
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)

    # helpers for tests
    def add(self, name, data, **attrs):
        """An existing image (as if uploaded by hand, without records)."""
        image = self._new({"name": name, "disk_format": "qcow2", "container_format": "bare"})
        image.update(attrs)
        self._activate(image, data, attrs.get("stores"))
        return image

    def named(self, name, hidden=False):
        return [img for img in self.images.values()
                if img["name"] == name and img["os_hidden"] == hidden]

    def writes(self):
        return [call for call in self.calls if call[0] != "GET"]

    # the adapter interface: proxy.request(url, method, ...)
    def request(self, url, method, headers=None, json=None, data=None, params=None,
                raise_exc=False, connect_retries=None, stream=False, **kwargs):
        assert raise_exc is False
        parts = urllib.parse.urlsplit(url)
        path = parts.path
        if path.startswith("/v2/"):
            path = path[3:]
        query = dict(urllib.parse.parse_qsl(parts.query))
        query.update(params or {})
        self.calls.append((method, path))
        self.headers_seen.append(dict(headers or {}))
        if self.unreachable == "discovery":
            # What openstacksdk raises with Keystone and an endpoint override
            # while the API at that endpoint does not answer version discovery.
            raise openstack.exceptions.ServiceDiscoveryException(
                "Failed to create a working proxy for service image: No endpoint data found."
            )
        if self.unreachable == "keystone":
            # A token asked for on the way to Glance, with Keystone down.
            raise ks_exceptions.ConnectFailure(
                "Unable to establish connection to http://keystone.test:5000/v3/auth/tokens: "
                "[Errno 111] Connection refused"
            )
        if self.unreachable:
            raise ks_exceptions.ConnectFailure(
                f"Unable to establish connection to http://glance.test:9292/v2{path}: "
                "[Errno 111] Connection refused"
            )
        segments = path.strip("/").split("/")
        if segments == ["info", "stores"]:
            if not self.multistore:
                return FakeResponse(404, content=b"Not Found")
            return FakeResponse(200, {"stores": [{"id": "local", "default": "true"}, {"id": "ceph"}]})
        if segments == ["images"]:
            if method == "GET":
                return self._list(query)
            return self._create(json, (headers or {}).get("X-Tenant-Id", "admin"))
        image = self.images.get(segments[1]) if len(segments) > 1 else None
        if image is None:
            return FakeResponse(404, content=b"No image found")
        action = segments[2] if len(segments) > 2 else None
        handler = {
            (None, "GET"): self._show,
            (None, "PATCH"): self._patch,
            (None, "DELETE"): self._delete,
            ("file", "PUT"): self._upload,
            ("file", "GET"): self._download,
            ("stage", "PUT"): self._stage,
            ("import", "POST"): self._import,
        }[(action, method)]
        return handler(image, json=json, data=data, headers=headers or {}, stream=stream)

    def _now(self):
        tick = next(self._clock)
        return f"2026-01-01T{tick // 3600:02d}:{tick // 60 % 60:02d}:{tick % 60:02d}Z"

    def _new(self, attrs):
        image_id = f"img-{next(self._ids):04d}"
        now = self._now()
        image = {
            "id": image_id, "name": None, "status": "queued", "visibility": "shared",
            "protected": False, "checksum": None, "os_hash_algo": None,
            "os_hash_value": None, "size": None, "virtual_size": None, "min_disk": 0,
            "min_ram": 0, "disk_format": None, "container_format": None, "tags": [],
            "os_hidden": False, "owner": "admin", "created_at": now, "updated_at": now,
            "self": "/v2/images/" + image_id, "file": f"/v2/images/{image_id}/file",
            "schema": "/v2/schemas/image",
        }
        image.update(attrs)
        self.images[image_id] = image
        return image

    def _activate(self, image, data, stores=None):
        image.update(status="active", size=len(data), checksum=hashlib.md5(data).hexdigest(),
                     os_hash_algo="sha512", os_hash_value=hashlib.sha512(data).hexdigest())
        if self.multistore:
            image["stores"] = stores or "local"
        self.data[image["id"]] = data

    def _list(self, query):
        hidden = query.get("os_hidden") == "true"
        found = [img for img in self.images.values() if img["os_hidden"] == hidden]
        if "owner" in query:
            found = [img for img in found if img["owner"] == query["owner"]]
        if "name" in query:
            found = [img for img in found if img["name"] == query["name"]]
        found.sort(key=lambda img: img["created_at"], reverse=True)
        if "marker" in query:
            ids = [img["id"] for img in found]
            found = found[ids.index(query["marker"]) + 1:]
        limit = min(int(query.get("limit", 25)), self.page_size)
        page = found[:limit]
        body = {"images": copy.deepcopy(page), "first": "/v2/images", "schema": "/v2/schemas/images"}
        if len(found) > limit:
            nxt = dict(query, marker=page[-1]["id"])
            body["next"] = "/v2/images?" + urllib.parse.urlencode(nxt)
        return FakeResponse(200, body)

    @staticmethod
    def _check_value(key, value):
        if key in ("protected", "os_hidden"):
            return isinstance(value, bool)
        if key in ("min_disk", "min_ram"):
            return isinstance(value, int) and not isinstance(value, bool)
        if key == "tags":
            return isinstance(value, list) and all(isinstance(tag, str) for tag in value)
        if key == "visibility":
            return value in ("public", "private", "shared", "community")
        return isinstance(value, str)

    def _create(self, body, owner):
        if self.forbid_public and body.get("visibility") == "public":
            return FakeResponse(403, content=b"Policy doesn't allow publicize_image to be performed.")
        for key, value in body.items():
            if key in _READ_ONLY:
                return FakeResponse(403, content=f"Attribute '{key}' is read-only.".encode())
            if not self._check_value(key, value):
                return FakeResponse(400, content=f"Bad value for {key}".encode())
        return FakeResponse(201, self._new(dict(body, owner=owner)))

    def _show(self, image, **_):
        if image["id"] in self.pending:
            self.pending.pop(image["id"])()
        return FakeResponse(200, image)

    def _patch(self, image, json=None, headers=None, **_):
        assert headers["Content-Type"] == "application/openstack-images-v2.1-json-patch"
        updated = copy.deepcopy(image)
        for op in json:
            key = op["path"][1:].replace("~1", "/").replace("~0", "~")
            if key in _READ_ONLY:
                return FakeResponse(403, content=b"read-only")
            if op["op"] == "remove":
                if key not in updated:
                    return FakeResponse(409, content=b"no such property")
                del updated[key]
            elif op["op"] in ("add", "replace"):
                if op["op"] == "replace" and key not in updated:
                    return FakeResponse(409, content=f"Property {key} does not exist.".encode())
                if not self._check_value(key, op["value"]):
                    return FakeResponse(400, content=b"bad value")
                updated[key] = op["value"]
        updated["updated_at"] = self._now()
        image.clear()
        image.update(updated)
        return FakeResponse(200, image)

    def _delete(self, image, **_):
        if image["protected"]:
            return FakeResponse(403, content=b"Image is protected")
        del self.images[image["id"]]
        self.data.pop(image["id"], None)
        return FakeResponse(204)

    def _consume(self, image, data, headers):
        """Read an upload body the way glance-api does: chunk by chunk."""
        assert not isinstance(data, (bytes, bytearray)), "the image body must stream"
        self.bodies.append(data)
        md5, sha512, kept, count = hashlib.md5(), hashlib.sha512(), [], 0
        self.received[image["id"]] = 0
        for chunk in data:
            count += len(chunk)
            self.received[image["id"]] = count
            if self.fail_upload_after is not None and count > self.fail_upload_after:
                raise ks_exceptions.ConnectFailure(
                    "Unable to establish connection to http://glance.test:9292/v2/images/{}"
                    "/file: ('Connection aborted.', BrokenPipeError(32, 'Broken pipe'))".format(image["id"])
                )
            md5.update(chunk)
            sha512.update(chunk)
            if self.keep_data:
                kept.append(chunk)
        if hasattr(data, "len") and data.len != count:
            raise AssertionError(f"Content-Length {data.len} but {count} bytes sent")
        return b"".join(kept), count, md5.hexdigest(), sha512.hexdigest()

    def _upload(self, image, data=None, headers=None, **_):
        if image["status"] != "queued":
            return FakeResponse(409, content=b"Image is not queued")
        image["status"] = "saving"
        try:
            content, count, md5, sha512 = self._consume(image, data, headers)
        except BaseException:
            # glance-api puts an image whose upload broke off back to queued.
            image["status"] = "queued"
            raise
        if self.store_down:
            # What glance-api answers when its store fails under an upload
            # (Ceph's operation timeout): the image goes back to queued.
            image["status"] = "queued"
            return FakeResponse(500, content=b"<h1>500 Internal Server Error</h1>The server has either erred")
        if self.store_full:
            # The file store's answer to ENOSPC (webob's page, title and all).
            image["status"] = "queued"
            full = FakeResponse(413)
            full.text = ("<html><head><title>413 Request Entity Too Large</title></head><body>"
                         "<h1>413 Request Entity Too Large</h1>Image storage media is full: There is not "
                         "enough disk space on the image storage media.<br /><br /></body></html>")
            return full
        store = headers.get("X-Image-Meta-Store")
        image.update(status="active", size=count, checksum=md5, os_hash_algo="sha512",
                     os_hash_value=sha512)
        if self.multistore:
            image["stores"] = store or "local"
        self.data[image["id"]] = content
        return FakeResponse(204)

    def _stage(self, image, data=None, headers=None, **_):
        image["status"] = "uploading"
        try:
            self.staged[image["id"]] = self._consume(image, data, headers)[0]
        except BaseException:
            image["status"] = "queued"
            raise
        return FakeResponse(204)

    def _import(self, image, json=None, **_):
        method = json["method"]["name"]
        stores = ",".join(json.get("stores", [])) or "local"
        if method == "copy-image":
            image["stores"] = ",".join(filter(None, [image.get("stores")] + json["stores"]))
            return FakeResponse(202)
        if method == "glance-direct":
            data = self.staged.pop(image["id"])
            image["status"] = "importing"
            self.pending[image["id"]] = lambda: self._activate(image, data, stores)
            return FakeResponse(202)
        assert method == "web-download"
        uri = json["method"]["uri"]
        image["status"] = "importing"

        def finish():
            resp = requests.get(uri, timeout=5)
            if resp.status_code != 200:
                image.update(status="queued", os_glance_failed_import="")
                return
            self._activate(image, resp.content, stores)

        # Visible as importing on the next poll, done on the one after.
        self.pending[image["id"]] = lambda: self.pending.__setitem__(image["id"], finish)
        return FakeResponse(202)

    def _download(self, image, **_):
        return FakeResponse(200, content=self.data[image["id"]])


# -------------------------------------------------------- HTTP source server


class SourceServer:
    """Image sources on 127.0.0.1, with the faults the tests need."""

    def __init__(self):
        self.files = {}
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self._serve(head=True)

            def do_GET(self):
                self._serve(head=False)

            def _serve(self, head):
                path = urllib.parse.urlsplit(self.path).path
                server.requests.append((self.command, path, self.headers.get("Authorization")))
                spec = server.files.get(path)
                if spec is None:
                    self.send_error(404)
                    return
                if spec.get("status", 200) != 200:
                    self.send_error(spec["status"])
                    return
                time.sleep(spec.get("delay", 0))
                data = spec["data"]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if spec.get("length", True):
                    self.send_header("Content-Length", str(len(data) + spec.get("short_by", 0)))
                if spec.get("etag"):
                    self.send_header("ETag", spec["etag"])
                if spec.get("last_modified", True):
                    self.send_header("Last-Modified", spec.get("mtime", "Wed, 01 Jan 2025 00:00:00 GMT"))
                self.end_headers()
                if head:
                    return
                view = memoryview(data)
                stall = spec.get("stall_after")
                for start in range(0, len(data), 256 * 1024):
                    if stall is not None and start >= stall:
                        self.wfile.flush()
                        time.sleep(spec["stall_for"])
                        stall = None
                    self.wfile.write(view[start:start + 256 * 1024])

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                pass  # clients that hang up on purpose

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def add(self, path, data, **options):
        self.files[path] = dict(options, data=data)
        return self.url(path)

    def url(self, path, userinfo=""):
        return f"http://{userinfo}127.0.0.1:{self.httpd.server_address[1]}{path}"

    def count(self, method, path=None):
        return sum(1 for req in self.requests if req[0] == method and path in (None, req[1]))

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------ fixtures


class Env:
    """The modules wired as Salt's loader would, on a fake SDK connection."""

    def __init__(self, monkeypatch, glance, server):
        self.glance = glance
        self.server = server
        self.connects = []
        self.cp_calls = []
        self.opts = {"test": False, "id": "minion-1"}
        self.sdk = load("_modules/openstack_sdk.py", __context__={})
        self.salt = functions(self.sdk)
        self.salt.update({"cp.hash_file": self._hash_file, "cp.cache_file": self._cache_file})
        self.mod = load("_modules/glance_image.py", __context__={}, __salt__=self.salt)
        self.mod.POLL_INTERVAL = 0
        self.salt.update(functions(self.mod))
        self.state = load("_states/glance_image.py", __opts__=self.opts, __salt__=self.salt)
        self.state._DELETE_PAUSE = 0
        self.salt_files = {}

        def fake_connect(**kwargs):
            self.connects.append(kwargs)
            return SimpleNamespace(image=glance, current_project_id="admin")

        monkeypatch.setattr(self.sdk.openstack, "connect", fake_connect)

    def _hash_file(self, url, saltenv="base"):
        self.cp_calls.append(("hash_file", url))
        path = self.salt_files.get(url)
        if path is None:
            return ""
        return {"hash_type": "sha256", "hsum": hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()}

    def _cache_file(self, url, saltenv="base"):
        self.cp_calls.append(("cache_file", url))
        return self.salt_files.get(url, False)

    def present(self, name="cirros", test=False, **kwargs):
        self.opts["test"] = test
        kwargs.setdefault("connection", CONNECTION)
        return self.state.present(name, **kwargs)

    def absent(self, name="cirros", test=False, **kwargs):
        self.opts["test"] = test
        kwargs.setdefault("connection", CONNECTION)
        return self.state.absent(name, **kwargs)


@pytest.fixture(name="server")
def fixture_server():
    server = SourceServer()
    yield server
    server.stop()


@pytest.fixture(name="glance")
def fixture_glance():
    return FakeGlance()


@pytest.fixture(name="env")
def fixture_env(monkeypatch, glance, server):
    return Env(monkeypatch, glance, server)


DATA = payload(3 * MiB + 12345)
NEW_DATA = payload(2 * MiB + 777, seed=b"new")


def seeded(env, **kwargs):
    """Seed once and check that it worked."""
    ret = env.present(**kwargs)
    assert ret["result"] is True, ret["comment"]
    return ret


# -------------------------------------------------------------- create, rerun


def test_create_streams_verifies_records_and_names_the_id(env, server, glance):
    url = server.add("/cirros.img", DATA)
    ret = seeded(env, source=url, checksums=digests(DATA), visibility="public",
                 properties={"hw_disk_bus": "virtio", "hw_qemu_guest_agent": True},
                 tags=["cirros", "test"], min_disk=1, min_ram=64, protected=True)
    (image,) = glance.named("cirros")
    assert ret["changes"]["image"] == {"old": None, "new": image["id"]}
    assert image["id"] in ret["comment"]
    assert image["status"] == "active"
    assert glance.data[image["id"]] == DATA
    assert image["visibility"] == "public" and image["protected"] is True
    assert (image["min_disk"], image["min_ram"]) == (1, 64)
    assert image["hw_disk_bus"] == "virtio" and image["hw_qemu_guest_agent"] == "true"
    assert sorted(image["tags"]) == ["cirros", "test"]
    assert image["owner_specified.openstack.sha256"] == digests(DATA)["sha256"]
    assert image["owner_specified.salt.source"] == url
    assert image["owner_specified.salt.source_stamp"].startswith("last-modified=")
    assert server.count("GET") == 1
    # The body streamed with a length (no chunked transfer) and no retries.
    (body,) = glance.bodies
    assert body.len == len(DATA)
    put = [h for (m, p), h in zip(glance.calls, glance.headers_seen) if m == "PUT"]
    assert put[0]["Content-Type"] == "application/octet-stream"


def test_rerun_with_checksums_contacts_neither_source_nor_writes(env, server, glance):
    url = server.add("/cirros.img", DATA)
    args = dict(source=url, checksums={"sha256": digests(DATA)["sha256"]}, visibility="public")
    seeded(env, **args)
    requests_before = len(server.requests)
    calls_before = len(glance.calls)
    ret = seeded(env, **args)
    assert ret["changes"] == {}
    assert "is up to date" in ret["comment"]
    assert glance.named("cirros")[0]["id"] in ret["comment"]
    assert len(server.requests) == requests_before  # not even a HEAD
    assert glance.writes()[len(glance.writes()):] == []
    assert all(method == "GET" for method, _ in glance.calls[calls_before:])


def test_rerun_with_glance_own_digest_needs_no_record(env, server, glance):
    """An image seeded by hand is recognised through os_hash_value (sha512)."""
    glance.add("cirros", DATA)
    url = server.add("/cirros.img", DATA)
    ret = seeded(env, source=url, checksums={"sha512": digests(DATA)["sha512"]})
    assert ret["changes"] == {}
    assert server.requests == []


def test_rerun_without_checksums_only_asks_for_headers(env, server, glance):
    url = server.add("/cirros.img", DATA)
    seeded(env, source=url)
    ret = seeded(env, source=url)
    assert ret["changes"] == {}
    assert server.count("GET") == 1 and server.count("HEAD") == 1
    assert len(glance.named("cirros")) == 1


def test_rerun_with_etag_source(env, server, glance):
    url = server.add("/cirros.img", DATA, etag='"v1"')
    seeded(env, source=url)
    assert glance.named("cirros")[0]["owner_specified.salt.source_stamp"] == 'etag="v1"'
    assert seeded(env, source=url)["changes"] == {}
    assert server.count("GET") == 1


def test_source_without_any_stamp_is_trusted_by_url(env, server, glance):
    url = server.add("/cirros.img", DATA, length=False, last_modified=False)
    seeded(env, source=url)
    image = glance.named("cirros")[0]
    assert image["owner_specified.salt.source_stamp"] == ""
    assert glance.bodies[0].__class__.__name__ == "DigestStream"
    assert not hasattr(glance.bodies[0], "len")  # unknown length: chunked upload
    assert seeded(env, source=url, on_change="rotate")["changes"] == {}
    assert server.count("GET") == 1 and server.count("HEAD") == 0


def test_seed_list_form_verbatim(env, server, glance):
    url = server.add("/cirros-0.3.1-x86_64-disk.img", DATA)
    item = {"name": "CirrOS 0.3.1", "format": "qcow2",
            "file": "cirros-0.3.1-x86_64-disk.img", "source": url, "public": True}
    ret = env.present(connection=CONNECTION, **item)
    assert ret["result"] is True, ret["comment"]
    (image,) = glance.named("CirrOS 0.3.1")
    assert (image["disk_format"], image["container_format"], image["visibility"]) == (
        "qcow2", "bare", "public")
    ret = env.present(connection=CONNECTION, **item)
    assert ret["changes"] == {}
    assert server.count("GET") == 1


def test_seed_list_form_public_false_is_private_and_file_alone_is_a_path(env, glance, tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(DATA)
    ret = env.present(name="local", format="raw", file=str(path), public=False)
    assert ret["result"] is True, ret["comment"]
    (image,) = glance.named("local")
    assert (image["disk_format"], image["visibility"]) == ("raw", "private")
    assert glance.data[image["id"]] == DATA
    assert env.present(name="local", format="raw", file=str(path), public=False)["changes"] == {}


def test_name_match_is_exact(env, server, glance):
    glance.add("cirros-old", DATA)
    url = server.add("/cirros.img", DATA)
    seeded(env, source=url)
    assert len(glance.named("cirros")) == 1 and len(glance.named("cirros-old")) == 1


def test_other_projects_images_are_not_touched(env, server, glance):
    """An administrator sees every project's images; only its own are managed."""
    theirs = glance.add("cirros", NEW_DATA, owner="tenant-a", visibility="private")
    url = server.add("/cirros.img", DATA)
    ret = seeded(env, source=url, on_change="replace", visibility="public")
    assert theirs["id"] in glance.images and glance.images[theirs["id"]]["visibility"] == "private"
    (ours,) = [img for img in glance.named("cirros") if img["owner"] == "admin"]
    assert ret["changes"]["image"] == {"old": None, "new": ours["id"]}
    assert env.absent()["changes"] == {"deleted": [ours["id"]]}
    assert theirs["id"] in glance.images


def test_pages_of_images_are_followed(env, server, glance):
    glance.page_size = 1
    url = server.add("/cirros.img", DATA)
    seeded(env, source=url, on_change="rotate", backups=1)
    first = glance.named("cirros")[0]["id"]
    seeded(env, source=server.add("/v2.img", NEW_DATA), on_change="rotate", backups=1)
    second = glance.named("cirros")[0]["id"]
    ret = seeded(env, source=url, on_change="rotate", backups=1)
    # Pruning saw both backups, one per page, and deleted the older.
    assert ret["changes"]["pruned"] == [first]
    hidden = [img["id"] for img in glance.images.values() if img["os_hidden"]]
    assert hidden == [second]


# ------------------------------------------------------------------- drift


def test_drift_is_corrected_in_place_without_download(env, server, glance):
    url = server.add("/cirros.img", DATA)
    args = dict(source=url, checksums={"md5": digests(DATA)["md5"]}, visibility="public",
                protected=False, min_disk=1, min_ram=0,
                properties={"hw_disk_bus": "ide", "hw_vif_model": "rtl8139"}, tags=["a", "b"])
    seeded(env, **args)
    (image,) = glance.named("cirros")
    image_id = image["id"]
    image.update({"visibility": "private", "protected": True, "min_disk": 5, "min_ram": 512,
                  "hw_disk_bus": "virtio", "extra": "x", "tags": ["b", "c"],
                  "os_glance_importing_to_stores": "", "owner_specified.other": "kept",
                  "os_hash_algo": image["os_hash_algo"]})
    del image["hw_vif_model"]
    ret = seeded(env, **args)
    assert set(ret["changes"]) == {"visibility", "protected", "min_disk", "min_ram",
                                   "properties", "tags"}
    assert ret["changes"]["properties"] == {
        "old": {"hw_disk_bus": "virtio", "hw_vif_model": None, "extra": "x"},
        "new": {"hw_disk_bus": "ide", "hw_vif_model": "rtl8139", "extra": None}}
    assert ret["changes"]["tags"] == {"old": ["b", "c"], "new": ["a", "b"]}
    (image,) = glance.named("cirros")
    assert image["id"] == image_id
    assert (image["visibility"], image["protected"], image["min_disk"], image["min_ram"]) == (
        "public", False, 1, 0)
    assert image["hw_disk_bus"] == "ide" and image["hw_vif_model"] == "rtl8139"
    assert "extra" not in image
    assert image["os_glance_importing_to_stores"] == "" and image["owner_specified.other"] == "kept"
    assert sorted(image["tags"]) == ["a", "b"]
    assert server.count("GET") == 1
    assert image_id in ret["comment"] and "updated in place" in ret["comment"]
    assert seeded(env, **args)["changes"] == {}


def test_unmanaged_attributes_are_left_alone(env, server, glance):
    url = server.add("/cirros.img", DATA)
    seeded(env, source=url)
    image = glance.named("cirros")[0]
    image.update(visibility="community", tags=["mine"], hand_made="yes", min_ram=128)
    assert seeded(env, source=url)["changes"] == {}


def test_drift_test_mode_changes_nothing(env, server, glance):
    url = server.add("/cirros.img", DATA)
    seeded(env, source=url, visibility="private")
    glance.named("cirros")[0]["visibility"] = "public"
    writes = len(glance.writes())
    ret = env.present(source=url, visibility="private", test=True)
    assert ret["result"] is None
    assert ret["changes"] == {"visibility": {"old": "public", "new": "private"}}
    assert "would be updated in place" in ret["comment"]
    assert len(glance.writes()) == writes
    assert glance.named("cirros")[0]["visibility"] == "public"


# --------------------------------------------------------- keep, rotate, replace


def test_keep_leaves_an_image_with_other_data(env, server, glance):
    old = glance.add("cirros", DATA, visibility="private")
    url = server.add("/new.img", NEW_DATA)
    ret = seeded(env, source=url, checksums=digests(NEW_DATA), visibility="public")
    assert server.requests == []
    assert "on_change is keep" in ret["comment"] and old["id"] in ret["comment"]
    assert ret["changes"] == {"visibility": {"old": "private", "new": "public"}}
    assert [img["id"] for img in glance.named("cirros")] == [old["id"]]
    assert glance.data[old["id"]] == DATA


def test_rotate_uploads_new_then_hides_old(env, server, glance):
    old = glance.add("cirros", DATA, protected=True)
    url = server.add("/new.img", NEW_DATA)
    ret = seeded(env, source=url, checksums={"sha512": digests(NEW_DATA)["sha512"]},
                 on_change="rotate", backups=2)
    (new,) = glance.named("cirros")
    assert new["id"] != old["id"] and glance.data[new["id"]] == NEW_DATA
    backup = glance.images[old["id"]]
    assert backup["os_hidden"] is True and backup["name"].startswith("cirros (backup ")
    assert backup["owner_specified.salt.backup_of"] == "cirros"
    assert backup["protected"] is True  # a backup keeps its protection
    assert ret["changes"]["image"] == {"old": old["id"], "new": new["id"]}
    assert ret["changes"]["backups"] == {old["id"]: backup["name"]}
    assert new["id"] in ret["comment"] and old["id"] in ret["comment"]
    assert seeded(env, source=url, checksums={"sha512": digests(NEW_DATA)["sha512"]},
                  on_change="rotate", backups=2)["changes"] == {}


def test_rotate_prunes_backups_beyond_the_limit(env, server, glance):
    versions = [payload(MiB + i, seed=bytes([i])) for i in range(4)]
    ids = []
    for i, data in enumerate(versions):
        url = server.add(f"/v{i}.img", data)
        ret = seeded(env, source=url, checksums={"md5": digests(data)["md5"]},
                     on_change="rotate", backups=2)
        ids.append(glance.named("cirros")[0]["id"])
    backups = glance.named("cirros", hidden=False)
    hidden = [img for img in glance.images.values() if img["os_hidden"]]
    assert [img["id"] for img in backups] == [ids[3]]
    assert sorted(img["id"] for img in hidden) == sorted(ids[1:3])
    assert ret["changes"]["pruned"] == [ids[0]]
    assert ids[0] not in glance.images


def test_rotate_with_no_backups_kept(env, server, glance):
    old = glance.add("cirros", DATA)
    url = server.add("/new.img", NEW_DATA)
    ret = seeded(env, source=url, checksums=digests(NEW_DATA), on_change="rotate", backups=0)
    assert old["id"] not in glance.images
    assert ret["changes"]["pruned"] == [old["id"]]


def test_replace_deletes_old_after_new_is_verified(env, server, glance):
    old = glance.add("cirros", DATA, protected=True)
    url = server.add("/new.img", NEW_DATA)
    ret = seeded(env, source=url, checksums=digests(NEW_DATA), on_change="replace")
    (new,) = glance.named("cirros")
    assert old["id"] not in glance.images
    assert ret["changes"]["deleted"] == [old["id"]]
    assert not [img for img in glance.images.values() if img["os_hidden"]]
    assert glance.data[new["id"]] == NEW_DATA


def test_changed_source_stamp_rotates(env, server, glance):
    url = server.add("/cirros.img", DATA, etag='"v1"')
    seeded(env, source=url, on_change="rotate")
    first = glance.named("cirros")[0]["id"]
    server.add("/cirros.img", NEW_DATA, etag='"v2"')
    ret = seeded(env, source=url, on_change="rotate")
    (new,) = glance.named("cirros")
    assert new["id"] != first and glance.data[new["id"]] == NEW_DATA
    assert new["owner_specified.salt.source_stamp"] == 'etag="v2"'
    assert glance.images[first]["os_hidden"] is True
    assert ret["changes"]["backups"]


def test_unknown_content_with_same_data_adopts_old_image(env, server, glance):
    """An image seeded by hand with the same data is kept; only the record is added."""
    old = glance.add("cirros", DATA)
    url = server.add("/cirros.img", DATA)
    ret = seeded(env, source=url, on_change="replace")
    (image,) = glance.named("cirros")
    assert image["id"] == old["id"]
    assert image["owner_specified.salt.source"] == url
    assert "source_record" in ret["changes"] and "image" not in ret["changes"]
    assert len(glance.images) == 1
    gets = server.count("GET")
    assert seeded(env, source=url, on_change="replace")["changes"] == {}
    assert server.count("GET") == gets


def test_duplicates_are_retired_by_rotate_and_refused_by_keep(env, server, glance):
    first = glance.add("cirros", DATA)
    second = glance.add("cirros", NEW_DATA)
    url = server.add("/cirros.img", DATA)
    ret = env.present(source=url)
    assert ret["result"] is False and "2 images are named cirros" in ret["comment"]
    ret = seeded(env, source=url, checksums=digests(DATA), on_change="rotate")
    assert [img["id"] for img in glance.named("cirros")] == [first["id"]]
    assert glance.images[second["id"]]["os_hidden"] is True
    assert "image" not in ret["changes"] and server.requests == []


def test_format_change_counts_as_other_data(env, server, glance):
    glance.add("cirros", DATA, disk_format="raw")
    url = server.add("/cirros.img", DATA)
    ret = seeded(env, source=url, checksums=digests(DATA), disk_format="qcow2", on_change="replace")
    (image,) = glance.named("cirros")
    assert image["disk_format"] == "qcow2" and "image" in ret["changes"]


# ----------------------------------------------------------------- test=True


@pytest.mark.parametrize("on_change", ["keep", "rotate", "replace"])
def test_test_mode_create(env, server, glance, on_change):
    url = server.add("/cirros.img", DATA)
    ret = env.present(source=url, checksums=digests(DATA), on_change=on_change, test=True)
    assert ret["result"] is None
    assert ret["changes"]["image"] == {"old": None, "new": "from " + url}
    assert "would be created" in ret["comment"]
    assert glance.images == {} and server.requests == [] and glance.writes() == []


def test_test_mode_up_to_date(env, server, glance):
    url = server.add("/cirros.img", DATA)
    seeded(env, source=url)
    before = len(server.requests)
    ret = env.present(source=url, test=True)
    assert ret["result"] is True and ret["changes"] == {}
    assert "is up to date" in ret["comment"]
    assert server.count("GET") == 1 and len(server.requests) == before + 1  # one HEAD


@pytest.mark.parametrize("on_change, fate", [("rotate", "kept as a hidden backup"),
                                             ("replace", "deleted")])
def test_test_mode_rotate_and_replace(env, server, glance, on_change, fate):
    old = glance.add("cirros", DATA)
    url = server.add("/new.img", NEW_DATA)
    ret = env.present(source=url, checksums=digests(NEW_DATA), on_change=on_change, test=True)
    assert ret["result"] is None
    assert ret["changes"]["image"] == {"old": old["id"], "new": "from " + url}
    assert "superseded" in ret["comment"] and fate in ret["comment"] and old["id"] in ret["comment"]
    assert glance.writes() == [] and server.requests == []


def test_test_mode_unknown_content(env, server, glance):
    old = glance.add("cirros", DATA)
    url = server.add("/cirros.img", DATA)
    ret = env.present(source=url, on_change="rotate", test=True)
    assert ret["result"] is None and "would be compared with a new upload" in ret["comment"]
    assert glance.writes() == [] and server.count("GET") == 0
    assert [img["id"] for img in glance.named("cirros")] == [old["id"]]


def test_test_mode_keep_with_other_data(env, server, glance):
    glance.add("cirros", DATA)
    url = server.add("/new.img", NEW_DATA)
    ret = env.present(source=url, checksums=digests(NEW_DATA), test=True)
    assert ret["result"] is True and ret["changes"] == {}
    assert "on_change is keep" in ret["comment"]
    assert glance.writes() == [] and server.requests == []


# -------------------------------------------------------------------- faults


@pytest.mark.parametrize("existing", [False, True])
def test_checksum_mismatch_fails_and_leaves_nothing_new(env, server, glance, existing):
    old = glance.add("cirros", DATA, visibility="public") if existing else None
    snapshot = copy.deepcopy(glance.images)
    url = server.add("/new.img", NEW_DATA)
    wrong = dict(digests(NEW_DATA), sha256="0" * 64)
    ret = env.present(source=url, checksums=wrong, on_change="rotate", visibility="private")
    assert ret["result"] is False
    assert "sha256 expected {} got {}".format("0" * 64, digests(NEW_DATA)["sha256"]) in ret["comment"]
    assert glance.images == snapshot  # nothing new, old untouched (not even its visibility)
    assert ret["changes"] == {}
    # The last chunk was held back: Glance never had the whole image.
    assert 0 < max(glance.received.values()) < len(NEW_DATA)
    if old:
        assert glance.data[old["id"]] == DATA


def test_source_404_fails_clearly(env, server, glance):
    ret = env.present(source=server.url("/missing.img"))
    assert ret["result"] is False
    assert "/missing.img: HTTP 404 Not Found" in ret["comment"]
    assert glance.images == {}


def test_source_timeout_fails_clearly(env, server, glance):
    url = server.add("/slow.img", DATA, delay=2)
    ret = env.present(source=url, timeout=0.3)
    assert ret["result"] is False and "no answer within 0.3 s" in ret["comment"]
    assert glance.images == {}


def test_source_stalling_midway_fails_and_leaves_no_image(env, server, glance):
    url = server.add("/stall.img", DATA, stall_after=MiB, stall_for=2)
    ret = env.present(source=url, timeout=0.3)
    assert ret["result"] is False and "stalled" in ret["comment"], ret["comment"]
    assert glance.images == {}


def test_short_read_fails_and_leaves_no_image(env, server, glance):
    url = server.add("/short.img", DATA, short_by=1000)
    ret = env.present(source=url)
    assert ret["result"] is False
    assert f"of {len(DATA) + 1000} bytes" in ret["comment"], ret["comment"]
    assert glance.images == {}


def test_interrupted_upload_leaves_no_queued_image(env, server, glance):
    old = glance.add("cirros", DATA)
    glance.fail_upload_after = MiB
    url = server.add("/new.img", NEW_DATA)
    ret = env.present(source=url, checksums=digests(NEW_DATA), on_change="replace")
    assert ret["result"] is False
    assert "Glance is unreachable" in ret["comment"] and "Broken pipe" in ret["comment"]
    assert list(glance.images) == [old["id"]] and glance.images[old["id"]]["status"] == "active"


def test_interrupted_upload_and_failed_cleanup_says_so(env, server, glance, monkeypatch):
    glance.fail_upload_after = MiB
    url = server.add("/new.img", NEW_DATA)
    real_request = glance.request

    def no_delete(url, method, **kwargs):
        if method == "DELETE":
            glance.unreachable = True
        return real_request(url, method, **kwargs)

    monkeypatch.setattr(glance, "request", no_delete)
    ret = env.present(source=url)
    assert ret["result"] is False
    assert "could not be deleted" in ret["comment"]
    assert list(glance.images)[0] in ret["comment"]
    deletes = [call for call in glance.calls if call[0] == "DELETE"]
    assert len(deletes) == env.state._DELETE_TRIES


def test_unfinished_image_is_deleted_once_glance_lets_it(env, server, glance, monkeypatch):
    """The first delete meets a busy Glance (SQLite locked by the broken
    upload's own handling); the next one goes through."""
    glance.fail_upload_after = MiB
    url = server.add("/new.img", NEW_DATA)
    real_request = glance.request
    refused = []

    def busy_once(url, method, **kwargs):
        if method == "DELETE" and not refused:
            refused.append(url)
            return FakeResponse(500, content=b"database is locked")
        return real_request(url, method, **kwargs)

    monkeypatch.setattr(glance, "request", busy_once)
    ret = env.present(source=url)
    assert ret["result"] is False and "could not be deleted" not in ret["comment"]
    assert refused and glance.images == {}


@pytest.mark.parametrize("multistore, named", [(False, "its store"), (True, "store local")])
def test_store_failing_under_the_upload_is_named_and_leaves_no_image(env, server, glance, multistore, named):
    glance.multistore = multistore
    old = glance.add("cirros", DATA)
    glance.store_down = True
    url = server.add("/new.img", NEW_DATA)
    ret = env.present(source=url, checksums=digests(NEW_DATA), on_change="replace")
    assert ret["result"] is False
    assert ret["comment"].startswith(f"Glance could not store the data of image cirros in {named}: "
                                     "Glance answered PUT /images/"), ret["comment"]
    assert "HTTP 500: 500 Internal Server Error" in ret["comment"]
    assert list(glance.images) == [old["id"]] and glance.images[old["id"]]["status"] == "active"


def test_full_store_is_named_with_glances_reason_once(env, server, glance):
    glance.store_full = True
    url = server.add("/new.img", NEW_DATA)
    ret = env.present(source=url, checksums=digests(NEW_DATA))
    assert ret["result"] is False
    assert ret["comment"].startswith("Glance could not store the data of image cirros in its store: "
                                     "Glance answered PUT /images/"), ret["comment"]
    assert ret["comment"].endswith(" with HTTP 413: 413 Request Entity Too Large Image storage media is full: "
                                   "There is not enough disk space on the image storage media."), ret["comment"]
    assert glance.images == {}


def test_store_failing_under_an_upload_to_a_named_store(env, server, glance):
    glance.multistore = True
    glance.store_down = True
    ret = env.present(source=server.add("/new.img", NEW_DATA), stores=["ceph"])
    assert ret["result"] is False
    assert ret["comment"].startswith("Glance could not store the data of image cirros in store ceph: ")
    assert glance.images == {}


def test_stale_unfinished_image_is_removed(env, server, glance):
    url = server.add("/cirros.img", DATA)
    stale = glance._new({"name": "cirros", "disk_format": "qcow2", "container_format": "bare",
                         "owner_specified.salt.source": url})
    foreign = glance._new({"name": "cirros"})
    ret = seeded(env, source=url)
    assert ret["changes"]["removed_unfinished"] == [stale["id"]]
    assert stale["id"] not in glance.images and foreign["id"] in glance.images


def test_image_being_uploaded_elsewhere_fails(env, server, glance):
    url = server.add("/cirros.img", DATA)
    glance._new({"name": "cirros", "status": "saving"})
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    glance._new({"name": "cirros", "status": "saving", "updated_at": now,
                 "owner_specified.salt.source": url})
    ret = env.present(source=url)
    assert ret["result"] is False and "is being uploaded" in ret["comment"]
    assert len(glance.images) == 2


def uploader(minion, pid, started=None):
    """An owner_specified.salt.uploader record: minion, boot id, pid, start."""
    boot = pathlib.Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    if started is None:
        started = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    return f"{minion} {boot} {pid} {started}"


def test_upload_records_its_uploader(env, server, glance):
    ret = seeded(env, source=server.add("/cirros.img", DATA))
    [image] = glance.named("cirros")
    assert image["owner_specified.salt.uploader"] == uploader("minion-1", os.getpid())
    assert ret["result"] is True


def test_upload_whose_uploader_is_gone_is_abandoned_at_once(env, server, glance):
    """glance-api died under an upload of this minion's, whose salt-call has
    ended: the image stays saving, recently updated, and is redone now."""
    url = server.add("/cirros.img", DATA)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    dead = glance._new({"name": "cirros", "status": "saving", "updated_at": now,
                        "owner_specified.salt.source": url,
                        "owner_specified.salt.uploader": uploader("minion-1", 2**22 + 7, "12345")})
    ret = seeded(env, source=url)
    assert ret["changes"]["removed_unfinished"] == [dead["id"]]
    assert [img["status"] for img in glance.named("cirros")] == ["active"]


@pytest.mark.parametrize("who", ["alive here", "another minion", "no record"])
def test_upload_whose_uploader_may_be_alive_is_left_alone(env, server, glance, who):
    url = server.add("/cirros.img", DATA)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record = {"alive here": uploader("minion-1", os.getpid()),
              "another minion": uploader("minion-2", 2**22 + 7, "12345"),
              "no record": None}[who]
    glance._new({"name": "cirros", "status": "saving", "updated_at": now,
                 "owner_specified.salt.source": url, "owner_specified.salt.uploader": record})
    ret = env.present(source=url)
    assert ret["result"] is False and "is being uploaded" in ret["comment"]
    assert len(glance.images) == 1


def test_upload_stuck_longer_than_import_timeout_is_abandoned(env, server, glance):
    """glance-api died during an upload of this state's: the image stays saving."""
    url = server.add("/cirros.img", DATA)
    stuck = glance._new({"name": "cirros", "status": "saving", "owner_specified.salt.source": url})
    ret = seeded(env, source=url, import_timeout=600)
    assert ret["changes"]["removed_unfinished"] == [stuck["id"]]
    assert [img["status"] for img in glance.named("cirros")] == ["active"]


def test_glance_unreachable_fails_clearly(env, server, glance):
    glance.unreachable = True
    ret = env.present(source=server.add("/cirros.img", DATA))
    assert ret["result"] is False
    assert ret["comment"].startswith("Glance is unreachable:")
    assert server.requests == []


def test_api_wait_waits_for_a_starting_glance(env, server, glance, monkeypatch):
    real_request = glance.request
    answers = iter([False, False, True])

    def starting(url, method, **kwargs):
        glance.unreachable = not next(answers, True)
        return real_request(url, method, **kwargs)

    monkeypatch.setattr(glance, "request", starting)
    ret = env.present(source=server.add("/cirros.img", DATA), api_wait=5)
    assert ret["result"] is True, ret["comment"]
    monkeypatch.undo()
    glance.unreachable = True
    started = time.monotonic()
    ret = env.present(name="other", source=server.url("/cirros.img"), api_wait=0.2)
    assert ret["result"] is False and ret["comment"].startswith("Glance is unreachable")
    assert time.monotonic() - started >= 0.2


def test_api_wait_also_waits_through_failed_version_discovery(env, server, glance, monkeypatch):
    """A Glance restarted by the same run: with Keystone and an endpoint
    override the SDK fails to make its image proxy until the API answers."""
    real_request = glance.request
    answers = iter([False, False, True])

    def starting(url, method, **kwargs):
        glance.unreachable = False if next(answers, True) else "discovery"
        return real_request(url, method, **kwargs)

    monkeypatch.setattr(glance, "request", starting)
    ret = env.present(source=server.add("/cirros.img", DATA), api_wait=5)
    assert ret["result"] is True, ret["comment"]
    monkeypatch.undo()
    glance.unreachable = "discovery"
    ret = env.present(name="other", source=server.url("/cirros.img"), api_wait=0.2)
    assert ret["result"] is False
    assert ret["comment"] == ("Glance is unreachable: Failed to create a working proxy for service "
                              "image: No endpoint data found.")


def test_glance_refusal_is_reported_with_its_reason(env, server, glance):
    glance.forbid_public = True
    ret = env.present(source=server.add("/cirros.img", DATA), visibility="public")
    assert ret["result"] is False
    assert "Glance answered POST /images with HTTP 403" in ret["comment"]
    assert "publicize_image" in ret["comment"] and "<" not in ret["comment"]
    assert glance.images == {}


def test_no_credential_in_output_or_logs(env, server, glance, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    url = server.add("/cirros.img", DATA)
    secret_url = server.url("/cirros.img", userinfo=f"reader:{SOURCE_PASSWORD}@")
    ret = seeded(env, source=secret_url)
    image = glance.named("cirros")[0]
    assert image["owner_specified.salt.source"] == url  # recorded without credentials
    assert server.requests[0][2] is not None  # the credentials were used for the download
    leaks = [ret]

    def refuse(url, method, **kwargs):
        raise ks_exceptions.Unauthorized(
            f"The request you have made requires authentication; password {PASSWORD} refused")

    monkeypatch.setattr(glance, "request", refuse)
    ret = env.present(source=secret_url)
    assert ret["result"] is False and "********" in ret["comment"]
    leaks.append(ret)
    monkeypatch.undo()
    leaks.append(env.present(source=server.url("/missing.img", userinfo=f"u:{SOURCE_PASSWORD}@")))
    text = repr(leaks) + caplog.text
    assert PASSWORD not in text and SOURCE_PASSWORD not in text


# ----------------------------------------------------------- other sources


def test_salt_source_uses_master_hash_and_cached_file(env, glance, tmp_path):
    path = tmp_path / "cirros.img"
    path.write_bytes(DATA)
    env.salt_files["salt://images/cirros.img"] = str(path)
    seeded(env, source="salt://images/cirros.img", checksums={"sha256": digests(DATA)["sha256"]})
    assert ("cache_file", "salt://images/cirros.img") in env.cp_calls
    image = glance.named("cirros")[0]
    assert glance.data[image["id"]] == DATA
    assert image["owner_specified.salt.source_stamp"] == "sha256=" + digests(DATA)["sha256"]
    env.cp_calls.clear()
    assert seeded(env, source="salt://images/cirros.img")["changes"] == {}
    assert env.cp_calls == [("hash_file", "salt://images/cirros.img")]


def test_salt_source_missing_fails(env, glance):
    ret = env.present(source="salt://images/nope.img")
    assert ret["result"] is False and "not found on the Salt fileserver" in ret["comment"]
    assert glance.images == {}


def test_local_file_change_is_noticed(env, glance, tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(DATA)
    seeded(env, source=str(path), on_change="rotate")
    assert seeded(env, source=str(path), on_change="rotate")["changes"] == {}
    path.write_bytes(NEW_DATA)
    ret = seeded(env, source="file://" + str(path), on_change="rotate")
    assert "image" in ret["changes"]
    assert glance.data[glance.named("cirros")[0]["id"]] == NEW_DATA


def test_missing_local_file_fails(env, glance, tmp_path):
    ret = env.present(source=str(tmp_path / "none.img"))
    assert ret["result"] is False and "No such file" in ret["comment"]


# ------------------------------------------------------ import methods, stores


def test_web_download_verifies_every_checksum(env, server, glance):
    url = server.add("/cirros.img", DATA)
    ret = seeded(env, source=url, method="web-download", checksums=digests(DATA))
    (image,) = glance.named("cirros")
    assert image["status"] == "active" and glance.data[image["id"]] == DATA
    assert ("POST", "/images/{}/import".format(image["id"])) in glance.calls
    # sha256 is not one of Glance's digests: the state read the image back.
    assert ("GET", "/images/{}/file".format(image["id"])) in glance.calls
    assert ret["changes"]["image"]["new"] == image["id"]
    assert seeded(env, source=url, method="web-download", checksums=digests(DATA))["changes"] == {}


def test_web_download_checksum_mismatch_leaves_no_image(env, server, glance):
    url = server.add("/cirros.img", DATA)
    ret = env.present(source=url, method="web-download",
                      checksums={"sha256": digests(NEW_DATA)["sha256"]})
    assert ret["result"] is False and "Checksum mismatch" in ret["comment"]
    assert glance.images == {}


def test_web_download_failure_leaves_no_image(env, server, glance):
    ret = env.present(source=server.url("/missing.img"), method="web-download")
    assert ret["result"] is False and "Import into image" in ret["comment"]
    assert glance.images == {}


@pytest.mark.parametrize("stores", [["fast"], ["fast", "ceph"]])
def test_stores(env, server, monkeypatch, stores):
    glance = FakeGlance(multistore=True)
    env = Env(monkeypatch, glance, server)
    url = server.add("/cirros.img", DATA)
    seeded(env, source=url, stores=stores)
    (image,) = glance.named("cirros")
    assert image["stores"].split(",") == stores
    if len(stores) > 1:
        assert ("PUT", "/images/{}/stage".format(image["id"])) in glance.calls
    else:
        put = [h for (m, p), h in zip(glance.calls, glance.headers_seen) if m == "PUT"]
        assert put[0]["X-Image-Meta-Store"] == "fast"
    assert seeded(env, source=url, stores=stores)["changes"] == {}


def test_missing_store_is_added_by_copy(env, server, monkeypatch):
    glance = FakeGlance(multistore=True)
    env = Env(monkeypatch, glance, server)
    old = glance.add("cirros", DATA, stores="local")
    url = server.add("/cirros.img", DATA)
    ret = env.present(source=url, checksums=digests(DATA), stores=["local", "ceph"], test=True)
    assert ret["changes"] == {"stores": {"added": ["ceph"]}}
    ret = seeded(env, source=url, checksums=digests(DATA), stores=["local", "ceph"])
    assert ret["changes"]["stores"] == {"added": ["ceph"]}
    assert glance.images[old["id"]]["stores"] == "local,ceph"
    assert server.requests == []


# ------------------------------------------------------------ memory bound


def test_memory_stays_bounded_while_streaming(env, server, glance):
    size = 48 * MiB
    data = payload(size, seed=b"big")
    want = digests(data)
    url = server.add("/big.img", data)
    glance.keep_data = False
    tracemalloc.start()
    try:
        ret = env.present(source=url, checksums=want)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ret["result"] is True, ret["comment"]
    assert glance.named("cirros")[0]["size"] == size
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB"


# --------------------------------------------------------------- arguments


@pytest.mark.parametrize("kwargs, message", [
    ({"checksums": {"sha1": "0" * 40}}, "unknown algorithm sha1"),
    ({"checksums": {"md5": "xyz"}}, "is not a md5 hex digest"),
    ({"public": True, "visibility": "private"}, "public and visibility disagree"),
    ({"visibility": "everyone"}, "visibility must be one of"),
    ({"format": "raw", "disk_format": "qcow2"}, "format and disk_format disagree"),
    ({"on_change": "update"}, "on_change must be one of"),
    ({"min_ram": -1}, "min_ram must be a whole number"),
    ({"properties": {"os_hash_value": "x"}}, "properties cannot set os_hash_value"),
    ({"method": "web-download", "source": "/tmp/x.img"}, "web-download needs an http(s) source"),
    ({"source": "ftp://example.org/x.img"}, "Unsupported image source"),
    ({"source": None}, "source is required"),
    ({"colour": "blue"}, "Unknown argument(s): colour"),
])
def test_bad_arguments_fail_before_anything_happens(env, glance, kwargs, message):
    kwargs.setdefault("source", "http://127.0.0.1:9/x.img")
    ret = env.present(**kwargs)
    assert ret["result"] is False and message in ret["comment"], ret["comment"]
    assert glance.calls == []


def test_salt_dunder_arguments_are_accepted(env, server, glance):
    url = server.add("/cirros.img", DATA)
    ret = env.present(source=url, __id__="seed-cirros", __env__="base")
    assert ret["result"] is True, ret["comment"]


# ------------------------------------------------------------------ absent


def test_absent_refuses_protected_images(env, glance):
    image = glance.add("cirros", DATA, protected=True)
    ret = env.absent()
    assert ret["result"] is False and "protected" in ret["comment"]
    assert image["id"] in glance.images


def test_absent(env, server, glance):
    image = glance.add("cirros", DATA)
    ret = env.absent(test=True)
    assert ret["result"] is None and ret["changes"] == {"deleted": [image["id"]]}
    assert image["id"] in glance.images
    ret = env.absent()
    assert ret["result"] is True and ret["changes"] == {"deleted": [image["id"]]}
    assert glance.images == {}
    ret = env.absent()
    assert ret["result"] is True and ret["changes"] == {}


# -------------------------------------------------------------- connection


def test_connection_keystone_arguments_pass_to_the_sdk(env, server, glance):
    seeded(env, source=server.add("/cirros.img", DATA))
    (kwargs,) = env.connects
    assert kwargs["auth_url"] == CONNECTION["auth_url"] and kwargs["password"] == PASSWORD
    assert kwargs["image_endpoint_override"] == "http://glance.test:9292"
    assert kwargs["load_envvars"] is False and kwargs["load_yaml_config"] is False
    assert "endpoint" not in kwargs
    assert all("X-Roles" not in headers for headers in glance.headers_seen)


def test_connection_is_reused_within_a_run(env, server, glance):
    url = server.add("/cirros.img", DATA)
    seeded(env, source=url)
    seeded(env, name="other", source=url)
    assert len(env.connects) == 1


def test_connection_cloud_name(env, server, glance):
    seeded(env, source=server.add("/cirros.img", DATA), connection={"cloud": "seeding"})
    assert env.connects[0]["cloud"] == "seeding" and env.connects[0]["load_yaml_config"] is True


def test_connection_without_keystone_sends_identity_headers(env, server, glance):
    connection = {"auth_type": "none", "endpoint": "http://127.0.0.1:9292",
                  "project_id": "p1", "roles": ["admin", "member"]}
    seeded(env, source=server.add("/cirros.img", DATA), visibility="public", connection=connection)
    kwargs = env.connects[0]
    assert kwargs["auth_type"] == "none" and kwargs["image_endpoint_override"] == "http://127.0.0.1:9292"
    assert "project_id" not in kwargs and "roles" not in kwargs
    for headers in glance.headers_seen:
        assert headers["X-Roles"] == "admin,member"
        assert headers["X-Tenant-Id"] == "p1" and headers["X-User-Id"] == "admin"
        assert headers["X-Identity-Status"] == "Confirmed"


def test_connection_without_keystone_needs_an_endpoint(env, glance):
    ret = env.present(source="http://127.0.0.1:9/x.img", connection={"auth_type": "none"})
    assert ret["result"] is False and "needs endpoint" in ret["comment"]


def test_without_the_sdk_module_neither_module_loads(env):
    assert env.mod.__virtual__() == "glance_image" and env.state.__virtual__() == "glance_image"
    env.mod.__salt__ = {}
    env.state.__salt__ = {}
    for module in (env.mod, env.state):
        loaded, message = module.__virtual__()
        assert loaded is False
        assert "openstacksdk" in message and sys.executable in message


def test_keystone_down_fails_at_once_naming_it_and_creates_nothing(env, server, glance):
    """Not blamed on Glance, and not waited for as a Glance that starts."""
    glance.unreachable = "keystone"
    started = time.monotonic()
    ret = env.present(source=server.add("/cirros.img", DATA), api_wait=30)
    assert ret["result"] is False
    assert ret["comment"].startswith("Keystone at http://keystone.test:5000/v3 is unreachable: "
                                     "Unable to establish connection to http://keystone.test:5000/v3/auth/tokens")
    assert time.monotonic() - started < 5
    glance.unreachable = False
    assert glance.images == {}
