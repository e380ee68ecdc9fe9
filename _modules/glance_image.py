"""
Glance image plumbing for the ``glance_image`` state.

Two small parts:

* :func:`connect` returns a client for the Glance Images API v2 on an
  openstacksdk connection: Keystone credentials, a clouds.yaml cloud, or
  Glance's no-Keystone mode (``auth_type: none`` plus ``endpoint``). The
  client sends plain REST calls through the SDK's image proxy, the same
  calls the SDK's own ``Image.upload`` makes. That gives exact JSON-patch
  updates, an upload body that streams, and the same behaviour on
  openstacksdk 0.101 (Debian 12) and 4.x. The SDK itself comes from the
  ``openstack_sdk`` execution module.
* :func:`source` names where an image comes from (http/https, a local file,
  ``salt://``). :class:`DigestStream` passes its data to Glance chunk by
  chunk while counting and digesting it. It keeps one chunk in hand and
  checks length and digests before that last chunk leaves, so Glance never
  receives all of an image that fails verification.

:depends: openstacksdk
"""

import contextlib
import hashlib
import html
import logging
import os
import queue
import re
import sys
import threading
import time
import urllib.parse

import requests  # a dependency of Salt itself

log = logging.getLogger(__name__)

__virtualname__ = "glance_image"

CHUNK_SIZE = 1024 * 1024
READ_AHEAD = 3  # chunks read and digested ahead of the upload
ALGORITHMS = ("md5", "sha256", "sha512")
POLL_INTERVAL = 2

_UNKNOWN = object()

# Without Keystone, glance-api takes the caller's identity from these headers.
_NOAUTH_DEFAULTS = {"project_id": "admin", "user_id": "admin", "roles": "admin"}


def __virtual__():
    if "openstack_sdk.connect" not in __salt__:
        return (
            False,
            f"glance_image needs openstacksdk in the Python that runs Salt ({sys.executable}), "
            "through the openstack_sdk module",
        )
    return __virtualname__


class GlanceImageError(Exception):
    """A failure whose message is complete as it is (the state shows it verbatim)."""


class GlanceError(GlanceImageError):
    """Glance could not be reached or refused a request."""


class GlanceUnreachable(GlanceError):
    """Nothing answered where Glance should be."""


class GlanceStoreError(GlanceError):
    """Glance took the request for image data but failed to store it (HTTP 5xx)."""


class SourceError(GlanceImageError):
    """The image source could not be read completely.

    Deliberately not an OSError or a requests exception: raised from inside
    the upload body, it must not pass for a problem with the connection to
    Glance, which requests and keystoneauth would wrap and retry.
    """


class ChecksumMismatch(SourceError):
    """The data read does not have the digests it should have."""

    def __init__(self, label, expected, actual):
        self.expected = expected
        self.actual = actual
        wrong = ", ".join(
            f"{algo} expected {expected[algo]} got {actual.get(algo)}"
            for algo in sorted(expected)
            if actual.get(algo) != expected[algo]
        )
        super().__init__(f"Checksum mismatch for {label}: {wrong}")


def redact(url):
    """``url`` without the user name and password it may carry."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


# ---------------------------------------------------------------- connection


def connect(connection=None):
    """
    Return a :class:`Glance` client for ``connection``, cached for the run.

    ``connection`` is a mapping: ``cloud`` (a clouds.yaml entry) and/or the
    usual ``openstack.connect`` keywords (``auth_url``, ``username``,
    ``password``, ``project_name``, ``user_domain_name``,
    ``project_domain_name``, ``region_name``, ``interface``, ``cacert``,
    ``verify``, ``api_timeout``, ...), plus ``endpoint`` to talk to one Glance
    API URL directly. ``auth_type: none`` is Glance without Keystone: it
    needs ``endpoint`` and takes ``project_id``, ``user_id`` and ``roles``
    (default ``admin`` each) for the identity headers. Empty: the SDK's own
    defaults (``OS_*`` variables, clouds.yaml).

    Nothing goes over the network until the first request.
    """
    args = dict(connection or {})
    key = hashlib.sha256(repr(sorted(args.items())).encode("utf-8")).hexdigest()
    cache = __context__.setdefault("glance_image.clients", {})
    if key not in cache:
        cache[key] = _connect(args)
    return cache[key]


def _connect(args):
    headers = {}
    endpoint = args.pop("endpoint", None)
    if args.get("auth_type") == "none":
        if not endpoint:
            raise GlanceError("connection: auth_type none needs endpoint (the Glance API URL)")
        noauth = {key: args.pop(key, default) for key, default in _NOAUTH_DEFAULTS.items()}
        roles = noauth["roles"]
        if isinstance(roles, (list, tuple)):
            roles = ",".join(roles)
        headers = {
            "X-Identity-Status": "Confirmed",
            "X-Roles": str(roles),
            "X-Tenant-Id": str(noauth["project_id"]),
            "X-User-Id": str(noauth["user_id"]),
        }
    if endpoint:
        args["image_endpoint_override"] = endpoint
    try:
        sdk = __salt__["openstack_sdk.connect"](args, app_name="salt-glance-image", reuse_token=not headers)
    except Exception as exc:
        if __salt__["openstack_sdk.failure"](exc) is None:
            raise
        raise GlanceError(f"Cannot set up the connection to Glance: {exc}") from None
    return Glance(sdk, headers, auth_url=args.get("auth_url"))


def _error_text(resp):
    """The gist of an error answer: Glance sends small HTML or JSON pages."""
    # The page's <head> only repeats the status line its <h1> holds.
    page = re.sub(r"(?is)<head>.*?</head>", " ", resp.text or "")
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    text = " ".join(text.split())
    return text[:300] or getattr(resp, "reason", "") or ""


class Glance:
    """The few Images API v2 calls the state needs, with clear errors."""

    def __init__(self, sdk, headers=None, auth_url=None):
        self._sdk = sdk
        self._headers = dict(headers or {})
        self._auth_url = (auth_url or "").rstrip("/")
        self._project_id = _UNKNOWN

    def _at_keystone(self, exc):
        """Whether a request to Keystone failed (a token asked for on the
        way to Glance): its URL is in keystoneauth's message."""
        text = str(exc)
        return "/auth/tokens" in text or bool(self._auth_url and self._auth_url in text)

    @contextlib.contextmanager
    def _errors(self, what):
        """Turn SDK and keystoneauth errors into clear ones."""
        try:
            yield
        except GlanceImageError:
            raise
        except Exception as exc:
            # Version discovery is the first request: nothing answering fails
            # there, and with Keystone the SDK reports an endpoint that does
            # not answer it as "No endpoint data found".
            kind = __salt__["openstack_sdk.failure"](exc)
            if kind is not None and self._at_keystone(exc):
                # Not GlanceUnreachable: waiting for Glance to start would not help.
                where = f" at {self._auth_url}" if self._auth_url else ""
                state = "is unreachable" if kind == "unreachable" else "failed"
                raise GlanceError(f"Keystone{where} {state}: {exc}") from None
            if kind == "unreachable":
                raise GlanceUnreachable(f"{what} is unreachable: {exc}") from None
            if kind is not None:
                raise GlanceError(f"{what} failed: {exc}") from None
            raise

    def _request(self, method, path, ok=(200,), headers=None, failure=GlanceError, **kwargs):
        all_headers = dict(self._headers)
        all_headers.update(headers or {})
        with self._errors("Glance"):
            # The image proxy is made (with version discovery) on first use.
            resp = self._sdk.image.request(
                path, method, headers=all_headers, raise_exc=False, **kwargs
            )
        if resp.status_code not in ok:
            # 413: the store is full (or the image over a size cap or quota).
            raise (failure if resp.status_code >= 500 or resp.status_code == 413 else GlanceError)(
                f"Glance answered {method} {path} with HTTP {resp.status_code}: {_error_text(resp)}"
            )
        return resp

    def project_id(self):
        """The project of the token (the images' owner); None without Keystone.

        Without Keystone there are no projects to keep apart, and Glance's
        default no-auth pipeline ignores X-Tenant-Id (images get no owner).
        """
        if self._project_id is _UNKNOWN:
            self._project_id = None
            if "X-Identity-Status" not in self._headers:
                with self._errors("Keystone"):
                    self._project_id = self._sdk.current_project_id
        return self._project_id

    def wait_reachable(self, seconds):
        """Wait up to ``seconds`` for a Glance that is still starting to answer."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self._request("GET", "/images", params={"limit": 1})
                return
            except GlanceUnreachable:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(POLL_INTERVAL)

    def images(self, **filters):
        """Every image matching the list query ``filters``, all pages."""
        params = dict(filters, limit=200)
        found = []
        while True:
            body = self._request("GET", "/images", params=params).json()
            found.extend(body.get("images", []))
            if not body.get("next"):
                return found
            # "next" is a path from the API root; its query carries the marker.
            params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(body["next"]).query))

    def get(self, image_id):
        return self._request("GET", f"/images/{image_id}").json()

    def create(self, attrs):
        return self._request("POST", "/images", ok=(201,), json=attrs).json()

    def update(self, image_id, ops):
        """Apply JSON-patch ``ops`` to the image's metadata."""
        return self._request(
            "PATCH",
            f"/images/{image_id}",
            json=ops,
            headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
        ).json()

    def delete(self, image_id):
        self._request("DELETE", f"/images/{image_id}", ok=(204, 404))

    def _put_data(self, path, data, headers):
        headers = dict(headers, **{"Content-Type": "application/octet-stream"})
        # No retries: the body is a one-way stream and cannot be sent twice.
        self._request("PUT", path, ok=(204,), data=data, headers=headers, connect_retries=0,
                      failure=GlanceStoreError)

    def upload(self, image_id, data, store=None):
        """Send the image data (``PUT /file``), optionally to one store."""
        headers = {"X-Image-Meta-Store": store} if store else {}
        self._put_data(f"/images/{image_id}/file", data, headers)

    def stage(self, image_id, data):
        """Send the image data to Glance's staging area, for a glance-direct import."""
        self._put_data(f"/images/{image_id}/stage", data, {})

    def import_image(self, image_id, method, uri=None, stores=None):
        body = {"method": {"name": method}}
        if uri:
            body["method"]["uri"] = uri
        if stores:
            body["stores"] = list(stores)
            body["all_stores_must_succeed"] = True
        self._request("POST", f"/images/{image_id}/import", ok=(202,), json=body)

    def default_store(self):
        """The id of Glance's default store (multiple stores), else None."""
        try:
            stores = self._request("GET", "/info/stores").json().get("stores", [])
        except GlanceError:
            return None  # a release without multiple stores: 404
        return next((store["id"] for store in stores if store.get("default")), None)

    def download(self, image_id):
        """The image's data from Glance, as an iterator of chunks."""
        resp = self._request("GET", f"/images/{image_id}/file", stream=True)
        return resp.iter_content(CHUNK_SIZE)

    def wait(self, image_id, done, timeout):
        """Poll the image until ``done(image)``; fail on a failed import or timeout."""
        deadline = time.monotonic() + timeout
        busy_seen = False
        while True:
            image = self.get(image_id)
            if done(image):
                return image
            status = image.get("status")
            failed = image.get("os_glance_failed_import")
            # An import that gives up leaves the image queued again.
            stopped = status == "queued" and busy_seen
            if failed or stopped or status in ("killed", "deleted"):
                raise GlanceError(
                    "Import into image {} failed (status {}{})".format(
                        image_id, status, f", failed stores: {failed}" if failed else ""
                    )
                )
            busy_seen = busy_seen or status in ("importing", "uploading", "saving")
            if time.monotonic() > deadline:
                raise GlanceError(f"Image {image_id} still {status} after {timeout} s")
            time.sleep(POLL_INTERVAL)


# ------------------------------------------------------------------- sources


def source(location, timeout=60, saltenv="base"):
    """
    Describe the image source ``location`` without reading it: an http(s)
    URL, ``salt://`` path, ``file://`` URL or absolute local path.
    """
    scheme = urllib.parse.urlsplit(str(location)).scheme
    if scheme in ("http", "https"):
        return HttpSource(location, timeout)
    if scheme == "salt":
        return SaltSource(location, saltenv)
    if scheme == "file":
        return FileSource(urllib.parse.unquote(urllib.parse.urlsplit(location).path))
    if not scheme and os.path.isabs(str(location)):
        return FileSource(location)
    raise SourceError(
        f"Unsupported image source {redact(str(location))}: use http(s)://, salt://, file:// or an absolute path"
    )


class Opened:
    """An opened source: its chunks, its length when known, its version stamp."""

    def __init__(self, label, chunks, length, stamp, close):
        self.label = label
        self.chunks = chunks
        self.length = length
        self.stamp = stamp
        self.close = close

    def digesting(self, expected):
        """The upload body for this source, verified against ``expected``."""
        return DigestStream(self, expected, self.label)


class HttpSource:
    """An image on a web server."""

    kind = "http"

    def __init__(self, url, timeout):
        self.url = url
        self.display = redact(url)
        self.timeout = timeout

    def _send(self, method, **kwargs):
        # identity: the length Glance is told must be the length of the image.
        headers = {"Accept-Encoding": "identity"}
        headers.update(kwargs.pop("headers", {}))
        try:
            resp = requests.request(
                method, self.url, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.exceptions.Timeout:
            raise SourceError(
                f"{self.display}: no answer within {self.timeout} s"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"{self.display}: cannot connect: {exc}") from None
        if resp.status_code >= 400:
            resp.close()
            raise SourceError(
                "{}: HTTP {} {}".format(self.display, resp.status_code, resp.reason or "")
            )
        return resp

    @staticmethod
    def _stamp(headers):
        # An ETag changes exactly when the content does; without one,
        # Last-Modified and the length are the best cheap evidence.
        if headers.get("ETag"):
            return "etag={}".format(headers["ETag"])
        parts = []
        if headers.get("Last-Modified"):
            parts.append("last-modified={}".format(headers["Last-Modified"]))
        if headers.get("Content-Length") and not headers.get("Content-Encoding"):
            parts.append("length={}".format(headers["Content-Length"]))
        return ";".join(parts)

    def stamp(self):
        """The version stamp from the headers alone; no data is transferred."""
        resp = self._send("HEAD", allow_redirects=True)
        if resp.status_code in (405, 501):  # servers without HEAD
            resp = self._send("GET", stream=True, headers={"Range": "bytes=0-0"})
            resp.close()
        return self._stamp(resp.headers)

    def open(self):
        resp = self._send("GET", stream=True)
        length = None
        if resp.headers.get("Content-Length") and not resp.headers.get("Content-Encoding"):
            length = int(resp.headers["Content-Length"])
        return Opened(
            self.display, self._chunks(resp, length), length, self._stamp(resp.headers), resp.close
        )

    def _chunks(self, resp, length):
        read = 0
        try:
            for chunk in resp.iter_content(CHUNK_SIZE):
                read += len(chunk)
                yield chunk
        except requests.exceptions.RequestException as exc:
            if "timed out" in str(exc).lower():
                raise SourceError(
                    f"{self.display}: download stalled for {self.timeout} s after {read} bytes"
                ) from None
            raise SourceError(
                "{}: download broke off after {} of {} bytes: {}".format(
                    self.display, read, length if length is not None else "?", exc
                )
            ) from None
        finally:
            resp.close()


class FileSource:
    """An image in a local file."""

    kind = "file"

    def __init__(self, path):
        self.path = path
        self.display = path

    def _stat(self):
        try:
            return os.stat(self.path)
        except OSError as exc:
            raise SourceError(f"{self.path}: {exc.strerror}") from None

    def stamp(self):
        st = self._stat()
        return f"size={st.st_size};mtime={st.st_mtime_ns}"

    def open(self):
        stamp = self.stamp()
        try:
            handle = open(self.path, "rb")  # closed by _chunks, or by Opened.close
        except OSError as exc:
            raise SourceError(f"{self.path}: {exc.strerror}") from None
        size = os.fstat(handle.fileno()).st_size
        return Opened(self.display, self._chunks(handle), size, stamp, handle.close)

    def _chunks(self, handle):
        with handle:
            while True:
                try:
                    chunk = handle.read(CHUNK_SIZE)
                except OSError as exc:
                    raise SourceError(f"{self.path}: {exc.strerror}") from None
                if not chunk:
                    return
                yield chunk


class SaltSource:
    """An image on the Salt fileserver."""

    kind = "salt"

    def __init__(self, url, saltenv):
        self.url = url
        self.display = url
        self.saltenv = saltenv

    def stamp(self):
        # The master reports the file's hash; no data is transferred.
        found = __salt__["cp.hash_file"](self.url, saltenv=self.saltenv)
        if not found:
            raise SourceError(f"{self.url}: not found on the Salt fileserver")
        return "{}={}".format(found["hash_type"], found["hsum"])

    def open(self):
        stamp = self.stamp()
        path = __salt__["cp.cache_file"](self.url, saltenv=self.saltenv)
        if not path:
            raise SourceError(f"{self.url}: could not be fetched from the Salt fileserver")
        opened = FileSource(path).open()
        opened.label, opened.stamp = self.display, stamp
        return opened


class DigestStream:
    """
    The upload body: yields the source's chunks while counting and digesting
    them with every algorithm in ``expected`` at once.

    A read-ahead thread fetches and digests up to ``READ_AHEAD`` chunks in
    advance, so the download and the digests overlap with Glance taking in
    the data; memory stays bounded by those few chunks. One chunk is held
    back: when the source ends, the length and every digest are checked
    before it is released, so a mismatch aborts the upload before Glance has
    the whole image. The ``len`` attribute (set when the length is known)
    makes requests send a Content-Length rather than a chunked body.
    """

    _END = object()

    def __init__(self, opened, expected, label):
        self._opened = opened
        self._expected = dict(expected or {})
        self._hashes = {algo: hashlib.new(algo) for algo in self._expected}
        self._label = label
        self._started = False
        self.size = 0
        self.digests = None
        if opened.length is not None:
            self.len = opened.length

    def __repr__(self):
        return f"<image data from {self._label}>"

    def __iter__(self):
        if self._started:
            raise SourceError(f"The data of {self._label} cannot be sent twice")
        self._started = True
        return self._generate()

    def _generate(self):
        chunks = queue.Queue(maxsize=READ_AHEAD)
        stop = threading.Event()
        threading.Thread(
            target=self._read_ahead, args=(chunks, stop), name="glance-image-read-ahead", daemon=True
        ).start()
        held = None
        try:
            while True:
                item = chunks.get()
                if item is self._END:
                    break
                if isinstance(item, BaseException):
                    raise item
                if held is not None:
                    yield held
                held = item
            if held is not None:
                yield held
        finally:
            stop.set()  # the upload ended or broke off: the reader gives up

    def _read_ahead(self, chunks, stop):
        """Reader thread: digest and queue the chunks, then the end (or the error)."""
        try:
            for chunk in self._opened.chunks:
                if not chunk:
                    continue
                self.size += len(chunk)
                if self._opened.length is not None and self.size > self._opened.length:
                    raise SourceError(
                        f"{self._label}: more data than the {self._opened.length} bytes announced"
                    )
                for hasher in self._hashes.values():
                    hasher.update(chunk)
                if not self._put(chunks, stop, chunk):
                    return
            self._finish()
            item = self._END
        except BaseException as exc:
            item = exc  # raised again by the consumer, in the uploading thread
        self._put(chunks, stop, item)

    @staticmethod
    def _put(chunks, stop, item):
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _finish(self):
        if self._opened.length is not None and self.size != self._opened.length:
            raise SourceError(
                f"{self._label}: ended after {self.size} of {self._opened.length} bytes"
            )
        self.digests = {algo: hasher.hexdigest() for algo, hasher in self._hashes.items()}
        if self.digests != self._expected:
            raise ChecksumMismatch(self._label, self._expected, self.digests)


def digest(chunks, algorithms):
    """Digest an iterator of chunks with every algorithm in ``algorithms``."""
    hashes = {algo: hashlib.new(algo) for algo in algorithms}
    for chunk in chunks:
        for hasher in hashes.values():
            hasher.update(chunk)
    return {algo: hasher.hexdigest() for algo, hasher in hashes.items()}


# ------------------------------------------------------------ CLI helpers


def show(name, connection=None):
    """
    List the images called ``name`` (exact match) as Glance returns them.

    CLI Example:

    .. code-block:: bash

        salt-call glance_image.show cirros connection='{auth_type: none, endpoint: "http://127.0.0.1:9292"}'
    """
    return connect(connection).images(name=name)
