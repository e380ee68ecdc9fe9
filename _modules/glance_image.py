"""
Glance image plumbing for the ``glance_image`` state.

Two small parts:

* :func:`connect` returns a client for the Glance Images API v2 on an
  openstacksdk connection: Keystone credentials, a clouds.yaml cloud, or
  Glance's no-Keystone mode (``auth_type: none`` plus ``endpoint``). The
  client sends plain REST calls through the SDK's image proxy, the same
  calls the SDK's own ``Image.upload`` makes. That gives exact JSON-patch
  updates, an upload body that streams, and the same behaviour on
  openstacksdk 0.101 (Debian 12) and 4.x.
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


def _forget_salts_own_openstack():
    """Salt's loader can leave its own salt/utils/openstack package in
    sys.modules under the top-level name ``openstack`` (seen on Salt 3008
    after the modules are reloaded within a run), which then shadows
    openstacksdk: ``import openstack.exceptions`` fails although the SDK is
    installed. Forget that entry so the import below finds the SDK."""
    module = sys.modules.get("openstack")
    marker = os.path.join("salt", "utils", "openstack")
    if module is not None and marker in (getattr(module, "__file__", None) or ""):
        for name in [n for n in sys.modules if n == "openstack" or n.startswith("openstack.")]:
            del sys.modules[name]


_forget_salts_own_openstack()

try:
    import openstack
    import openstack.exceptions
    import requests
    from keystoneauth1 import exceptions as ks_exceptions

    HAS_SDK = True
except ImportError:
    HAS_SDK = False

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
    if not HAS_SDK:
        return (False, "glance_image needs the openstacksdk Python package")
    return __virtualname__


class GlanceImageError(Exception):
    """A failure whose message is complete as it is (the state shows it verbatim)."""


class GlanceError(GlanceImageError):
    """Glance could not be reached or refused a request."""


class GlanceUnreachable(GlanceError):
    """Nothing answered where Glance should be."""


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
            "{} expected {} got {}".format(algo, expected[algo], actual.get(algo))
            for algo in sorted(expected)
            if actual.get(algo) != expected[algo]
        )
        super().__init__("Checksum mismatch for {}: {}".format(label, wrong))


def redact(url):
    """``url`` without the user name and password it may carry."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc = "{}:{}".format(netloc, parts.port)
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
    # Explicit arguments stand alone; only a cloud name (or nothing) reads
    # clouds.yaml, and only nothing at all reads OS_* variables.
    try:
        sdk = openstack.connect(
            app_name="salt-glance-image",
            load_yaml_config=("cloud" in args or not args),
            load_envvars=not args,
            **args
        )
    except (openstack.exceptions.SDKException, ks_exceptions.ClientException) as exc:
        raise GlanceError("Cannot set up the connection to Glance: {}".format(exc)) from None
    return Glance(sdk, headers)


def _error_text(resp):
    """The gist of an error answer: Glance sends small HTML or JSON pages."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", resp.text or ""))
    text = " ".join(text.split())
    return text[:300] or getattr(resp, "reason", "") or ""


class Glance:
    """The few Images API v2 calls the state needs, with clear errors."""

    def __init__(self, sdk, headers=None):
        self._sdk = sdk
        self._headers = dict(headers or {})
        self._project_id = _UNKNOWN

    @staticmethod
    @contextlib.contextmanager
    def _errors(what):
        """Turn SDK and keystoneauth errors into clear ones."""
        try:
            yield
        except GlanceImageError:
            raise
        except (ks_exceptions.ConnectionError, ks_exceptions.DiscoveryFailure) as exc:
            # Discovery is the first request: it fails this way when nothing answers.
            raise GlanceUnreachable("{} is unreachable: {}".format(what, exc)) from None
        except openstack.exceptions.ServiceDiscoveryException as exc:
            # With Keystone, the SDK reports an endpoint that does not answer
            # its version discovery as "No endpoint data found".
            raise GlanceUnreachable("{} is unreachable: {}".format(what, exc)) from None
        except (ks_exceptions.ClientException, openstack.exceptions.SDKException) as exc:
            raise GlanceError("{} failed: {}".format(what, exc)) from None

    def _request(self, method, path, ok=(200,), headers=None, **kwargs):
        all_headers = dict(self._headers)
        all_headers.update(headers or {})
        with self._errors("Glance"):
            # The image proxy is made (with version discovery) on first use.
            resp = self._sdk.image.request(
                path, method, headers=all_headers, raise_exc=False, **kwargs
            )
        if resp.status_code not in ok:
            raise GlanceError(
                "Glance answered {} {} with HTTP {}: {}".format(
                    method, path, resp.status_code, _error_text(resp)
                )
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
        return self._request("GET", "/images/{}".format(image_id)).json()

    def create(self, attrs):
        return self._request("POST", "/images", ok=(201,), json=attrs).json()

    def update(self, image_id, ops):
        """Apply JSON-patch ``ops`` to the image's metadata."""
        return self._request(
            "PATCH",
            "/images/{}".format(image_id),
            json=ops,
            headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
        ).json()

    def delete(self, image_id):
        self._request("DELETE", "/images/{}".format(image_id), ok=(204, 404))

    def _put_data(self, path, data, headers):
        headers = dict(headers, **{"Content-Type": "application/octet-stream"})
        # No retries: the body is a one-way stream and cannot be sent twice.
        self._request("PUT", path, ok=(204,), data=data, headers=headers, connect_retries=0)

    def upload(self, image_id, data, store=None):
        """Send the image data (``PUT /file``), optionally to one store."""
        headers = {"X-Image-Meta-Store": store} if store else {}
        self._put_data("/images/{}/file".format(image_id), data, headers)

    def stage(self, image_id, data):
        """Send the image data to Glance's staging area, for a glance-direct import."""
        self._put_data("/images/{}/stage".format(image_id), data, {})

    def import_image(self, image_id, method, uri=None, stores=None):
        body = {"method": {"name": method}}
        if uri:
            body["method"]["uri"] = uri
        if stores:
            body["stores"] = list(stores)
            body["all_stores_must_succeed"] = True
        self._request("POST", "/images/{}/import".format(image_id), ok=(202,), json=body)

    def download(self, image_id):
        """The image's data from Glance, as an iterator of chunks."""
        resp = self._request("GET", "/images/{}/file".format(image_id), stream=True)
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
                        image_id, status, ", failed stores: {}".format(failed) if failed else ""
                    )
                )
            busy_seen = busy_seen or status in ("importing", "uploading", "saving")
            if time.monotonic() > deadline:
                raise GlanceError("Image {} still {} after {} s".format(image_id, status, timeout))
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
        "Unsupported image source {}: use http(s)://, salt://, file:// or an absolute path".format(
            redact(str(location))
        )
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
                "{}: no answer within {} s".format(self.display, self.timeout)
            ) from None
        except requests.exceptions.RequestException as exc:
            raise SourceError("{}: cannot connect: {}".format(self.display, exc)) from None
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
                    "{}: download stalled for {} s after {} bytes".format(
                        self.display, self.timeout, read
                    )
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
            raise SourceError("{}: {}".format(self.path, exc.strerror)) from None

    def stamp(self):
        st = self._stat()
        return "size={};mtime={}".format(st.st_size, st.st_mtime_ns)

    def open(self):
        stamp = self.stamp()
        try:
            handle = open(self.path, "rb")  # pylint: disable=consider-using-with
        except OSError as exc:
            raise SourceError("{}: {}".format(self.path, exc.strerror)) from None
        size = os.fstat(handle.fileno()).st_size
        return Opened(self.display, self._chunks(handle), size, stamp, handle.close)

    def _chunks(self, handle):
        with handle:
            while True:
                try:
                    chunk = handle.read(CHUNK_SIZE)
                except OSError as exc:
                    raise SourceError("{}: {}".format(self.path, exc.strerror)) from None
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
            raise SourceError("{}: not found on the Salt fileserver".format(self.url))
        return "{}={}".format(found["hash_type"], found["hsum"])

    def open(self):
        stamp = self.stamp()
        path = __salt__["cp.cache_file"](self.url, saltenv=self.saltenv)
        if not path:
            raise SourceError("{}: could not be fetched from the Salt fileserver".format(self.url))
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
        return "<image data from {}>".format(self._label)

    def __iter__(self):
        if self._started:
            raise SourceError("The data of {} cannot be sent twice".format(self._label))
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
                        "{}: more data than the {} bytes announced".format(
                            self._label, self._opened.length
                        )
                    )
                for hasher in self._hashes.values():
                    hasher.update(chunk)
                if not self._put(chunks, stop, chunk):
                    return
            self._finish()
            item = self._END
        except BaseException as exc:  # pylint: disable=broad-except
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
                "{}: ended after {} of {} bytes".format(
                    self._label, self.size, self._opened.length
                )
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
