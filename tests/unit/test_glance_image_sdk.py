"""The glance_image modules on the real openstacksdk, in Glance's no-Keystone mode.

An HTTP front on 127.0.0.1 serves the fake Images API of test_glance_image
(version discovery included), so the SDK's endpoint override, the identity
headers and the streamed upload body go over a real socket.
"""

import http.server
import json
import threading
import urllib.parse

import pytest

# The fakes and helpers of the state's tests (tests/unit is on sys.path).
from test_glance_image import DATA, NEW_DATA, Env, FakeGlance, SourceServer, digests

MiB = 1024 * 1024


class GlanceFront:
    """HTTP in front of a FakeGlance, recording what arrives on the wire."""

    def __init__(self, glance):
        self.glance = glance
        self.seen = []
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                if self.headers.get("Transfer-Encoding") == "chunked":
                    return self._chunked()
                length = int(self.headers.get("Content-Length") or 0)
                return self._sized(length)

            def _sized(self, length):
                left = length
                while left:
                    piece = self.rfile.read(min(left, 256 * 1024))
                    if not piece:
                        return
                    left -= len(piece)
                    yield piece

            def _chunked(self):
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return
                    yield self.rfile.read(size)
                    self.rfile.readline()

            def _handle(self):
                front.seen.append((self.command, self.path, dict(self.headers)))
                if urllib.parse.urlsplit(self.path).path in ("/", "/v2", "/v2/"):
                    port = self.server.server_address[1]
                    return self._send(300, {"versions": [{
                        "id": "v2.16", "status": "CURRENT",
                        "links": [{"rel": "self", "href": f"http://127.0.0.1:{port}/v2/"}],
                    }]})
                body, data = None, None
                if self.command == "PUT":
                    data = self._body()
                elif self.command in ("POST", "PATCH"):
                    raw = b"".join(self._body())
                    body = json.loads(raw) if raw else None
                resp = front.glance.request(self.path, self.command, headers=dict(self.headers),
                                            json=body, data=data)
                if data is not None:
                    for _ in data:  # drain what the fake did not read
                        pass
                if resp.status_code in (200, 201) and resp._body is not None:
                    return self._send(resp.status_code, resp._body)
                return self._send(resp.status_code, None, resp._content)

            def _send(self, status, body, content=b""):
                payload = json.dumps(body).encode() if body is not None else content
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                elif content:
                    self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self.httpd = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class RealSdkEnv(Env):
    """Env without the fake connect: openstack.connect runs for real."""

    def __init__(self, monkeypatch, glance, server):
        super().__init__(monkeypatch, glance, server)
        monkeypatch.undo()


@pytest.fixture(name="setup")
def fixture_setup(monkeypatch):
    glance = FakeGlance()
    front = GlanceFront(glance)
    server = SourceServer()
    env = RealSdkEnv(monkeypatch, glance, server)
    connection = {"auth_type": "none", "endpoint": front.endpoint, "project_id": "tenant-1"}
    yield env, front, server, connection
    front.stop()
    server.stop()


def test_seed_and_rerun_through_the_sdk_without_keystone(setup):
    env, front, server, connection = setup
    url = server.add("/cirros.img", DATA)
    args = dict(source=url, checksums={"sha256": digests(DATA)["sha256"]}, visibility="public",
                properties={"hw_disk_bus": "ide"}, connection=connection)
    ret = env.present(**args)
    assert ret["result"] is True, ret["comment"]
    (image,) = env.glance.named("cirros")
    assert env.glance.data[image["id"]] == DATA and image["visibility"] == "public"

    api_calls = [seen for seen in front.seen if seen[1].startswith("/v2/images")]
    for _, _, headers in api_calls:
        assert headers["X-Roles"] == "admin" and headers["X-Tenant-Id"] == "tenant-1"
        assert headers["X-User-Id"] == "admin" and headers["X-Identity-Status"] == "Confirmed"
    (put,) = [seen for seen in api_calls if seen[0] == "PUT"]
    assert put[2]["Content-Length"] == str(len(DATA)) and "Transfer-Encoding" not in put[2]
    assert put[2]["Content-Type"] == "application/octet-stream"

    env.glance.images[image["id"]]["hw_disk_bus"] = "virtio"
    ret = env.present(**args)
    assert ret["changes"] == {"properties": {"old": {"hw_disk_bus": "virtio"},
                                             "new": {"hw_disk_bus": "ide"}}}
    (patch,) = [seen for seen in front.seen if seen[0] == "PATCH"]
    assert patch[2]["Content-Type"] == "application/openstack-images-v2.1-json-patch"
    assert env.present(**args)["changes"] == {}
    assert server.count("GET") == 1


def test_unknown_length_goes_chunked_through_the_sdk(setup):
    env, front, server, connection = setup
    url = server.add("/cirros.img", NEW_DATA, length=False)
    ret = env.present(source=url, checksums=digests(NEW_DATA), connection=connection)
    assert ret["result"] is True, ret["comment"]
    (put,) = [seen for seen in front.seen if seen[0] == "PUT"]
    assert put[2].get("Transfer-Encoding") == "chunked"
    assert env.glance.data[env.glance.named("cirros")[0]["id"]] == NEW_DATA


def test_mismatch_through_the_sdk_leaves_no_image(setup):
    env, front, server, connection = setup
    url = server.add("/cirros.img", DATA)
    ret = env.present(source=url, checksums={"md5": digests(NEW_DATA)["md5"]}, connection=connection)
    assert ret["result"] is False
    assert "md5 expected {} got {}".format(digests(NEW_DATA)["md5"], digests(DATA)["md5"]) in ret["comment"]
    assert env.glance.images == {}


def test_glance_unreachable_through_the_sdk(setup):
    env, front, server, connection = setup
    front.stop()
    ret = env.present(source=server.add("/cirros.img", DATA), connection=connection)
    assert ret["result"] is False
    assert ret["comment"].startswith("Glance is unreachable:"), ret["comment"]
    assert front.endpoint in ret["comment"]
