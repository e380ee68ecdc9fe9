"""
Seed images into Glance, by name and content.

.. code-block:: yaml

    cirros:
      glance_image.present:
        - source: http://images.example.org/cirros-0.6.2-x86_64-disk.img
        - disk_format: qcow2
        - visibility: public
        - checksums:
            sha512: 1103b92ce8ad966e41235a4de260deb791ff571670c0342666c8582fbb9caefe...
        - properties:
            hw_disk_bus: virtio
        - tags: [cirros]
        - on_change: rotate
        - backups: 2
        - connection:
            auth_type: none
            endpoint: http://127.0.0.1:9292

Arguments:

``source``
    ``http(s)://`` URL, ``salt://`` path, ``file://`` URL or absolute path.
``disk_format`` (default ``qcow2``), ``container_format`` (default ``bare``)
``visibility``
    ``public``, ``private``, ``shared`` or ``community``.
``protected``, ``min_disk``, ``min_ram``
``properties``
    The image's complete set of own properties: missing ones are added,
    different ones changed, others removed. Properties Glance or its tools
    manage (``os_hash_*``, ``os_glance_*``, ``owner_specified.*``, ``stores``,
    ``direct_url``, ``locations``) are never touched. Values are sent as
    strings (booleans as ``true``/``false``).
``tags``
    The image's complete set of tags.
``checksums``
    Any of ``md5``, ``sha256``, ``sha512``; every one given is verified.
``method``
    ``upload`` (default: the minion streams the data to Glance) or
    ``web-download`` (Glance fetches the URL itself).
``stores``
    Multistore targets. One store: a plain upload to it; several: a
    glance-direct import to all of them. Stores an existing image lacks are
    added with a copy-image import.
``on_change``
    What to do when an image of that name holds other data: ``keep``
    (default: leave it), ``rotate`` (upload the new one, keep the previous
    as a hidden, renamed backup, at most ``backups`` of them, default 3)
    or ``replace`` (upload the new one, then delete the previous).
``connection``
    How to reach Glance; see ``glance_image.connect`` in the execution
    module (Keystone credentials, a clouds.yaml ``cloud``, or
    ``auth_type: none`` with ``endpoint`` for Glance without Keystone).
``timeout``
    Seconds the source may stay silent (default 60).
``import_timeout``
    Seconds to wait for Glance to finish an import (default 3600).
``api_wait``
    Seconds to wait for a Glance API that does not answer yet, for example
    right after it was started (default 0: fail at once).

The old formula's list form works as it is: ``format`` is ``disk_format``,
``public: true`` is ``visibility: public`` (false: private), and ``file``
(the name the download used to be saved as) is the source when ``source``
is missing; with ``source`` it is ignored, since nothing is saved.

How a re-run knows the content without downloading it:

* With ``checksums``, the image is compared with what Glance knows of it:
  ``checksum`` (md5) and ``os_hash_value`` (its ``os_hash_algo``, usually
  sha512), and the ``owner_specified.openstack.<algo>`` properties this
  state (like openstacksdk) records at upload. The source is never
  contacted once the image is there.
* Without checksums, the state records the source
  (``owner_specified.salt.source``, without any user name or password) and
  its version stamp (``owner_specified.salt.source_stamp``) on the image: an
  http(s) ETag, else Last-Modified and Content-Length; a local file's size
  and mtime; the Salt master's hash of a ``salt://`` file. A re-run reads
  the stamp again (HEAD request, stat, ``cp.hash_file``) and compares. A
  source that offers none of these is taken as unchanged while its URL is.
* When that leaves the content open (an image this state did not seed, or
  a changed stamp) and ``on_change`` is ``rotate`` or ``replace``, the data
  is uploaded as a new image; if Glance's digest shows it equals the old
  one, the new image is deleted and the old one gets the new record.

Data is read once: download, digests and upload run in one pass with
bounded memory. A mismatch in length or digest aborts the upload before
its last chunk, the unfinished image is deleted and an existing image is
left as it was; old images are rotated or replaced only after the new one
is verified. Should the run itself be killed mid-upload, the next run
deletes the unfinished image it left (queued, or busy for longer than
``import_timeout``). An upload also records its uploader (minion id, boot
id, process id and start time) in ``owner_specified.salt.uploader``:
should glance-api die under the upload, Glance leaves the image ``saving``
for ever, and a later run on the same minion, seeing that process gone,
deletes the image at once and seeds again.

Images are matched by exact name among the images of the project the
connection acts for (with Keystone; without it, among all images): an
administrator's token sees every project's images, and another project's
image of the same name is never touched. Several active images of that
name are resolved by content: the matching one is kept and, with
``rotate`` or ``replace``, the others are retired the same way.
"""

import logging
import os
import re
import sys
import time
import traceback
from datetime import datetime, timezone

log = logging.getLogger(__name__)

__virtualname__ = "glance_image"

_ALGO_LENGTHS = {"md5": 32, "sha256": 64, "sha512": 128}
_VISIBILITIES = ("public", "private", "shared", "community")
_ON_CHANGE = ("keep", "rotate", "replace")
_METHODS = ("upload", "web-download")
_BUSY = ("saving", "importing", "uploading")
# Deleting an unfinished image: tries, and seconds between them.
_DELETE_TRIES = 5
_DELETE_PAUSE = 2.0

# What the state records on the images it seeds.
SOURCE_PROP = "owner_specified.salt.source"
STAMP_PROP = "owner_specified.salt.source_stamp"
UPLOADER_PROP = "owner_specified.salt.uploader"
BACKUP_OF_PROP = "owner_specified.salt.backup_of"
BACKUP_AT_PROP = "owner_specified.salt.backup_at"
DIGEST_PROP = "owner_specified.openstack.{}"  # openstacksdk's convention

# Image fields that are not own properties.
_CORE_FIELDS = {
    "id", "name", "status", "visibility", "protected", "checksum", "size",
    "virtual_size", "min_disk", "min_ram", "owner", "disk_format",
    "container_format", "created_at", "updated_at", "tags", "file", "schema",
    "self", "os_hidden", "stores", "direct_url", "locations",
}
_MANAGED_PREFIXES = ("os_hash_", "owner_specified.", "os_glance_")


def __virtual__():
    if "glance_image.connect" not in __salt__:
        return (
            False,
            f"glance_image needs openstacksdk in the Python that runs Salt ({sys.executable}), "
            "through the glance_image and openstack_sdk modules",
        )
    return __virtualname__


class _Failure(Exception):
    """A condition that fails the state with this message."""


# ----------------------------------------------------------------- arguments


def _bool(value, what):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise _Failure(f"{what} must be true or false, got {value!r}")


def _count(value, what):
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0 or isinstance(value, bool):
        raise _Failure(f"{what} must be a whole number >= 0, got {value!r}")
    return number


def _managed(key):
    return key in _CORE_FIELDS or key.startswith(_MANAGED_PREFIXES)


def _string_list(value, what):
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set)):
        raise _Failure(f"{what} must be a list")
    return [str(item) for item in value]


def _spec(args):
    """Check the arguments and bring both pillar forms to one."""
    spec = {"name": str(args["name"])}
    spec["source"] = args["source"] or args["file"]
    if not spec["source"]:
        raise _Failure("source is required (an http(s) URL, salt:// path or local path)")
    spec["source"] = str(spec["source"])

    if args["disk_format"] and args["format"] and args["disk_format"] != args["format"]:
        raise _Failure("format and disk_format disagree; give one of them")
    spec["disk_format"] = args["disk_format"] or args["format"] or "qcow2"
    spec["container_format"] = args["container_format"] or "bare"

    visibility = args["visibility"]
    if args["public"] is not None:
        mapped = "public" if _bool(args["public"], "public") else "private"
        if visibility is not None and visibility != mapped:
            raise _Failure("public and visibility disagree; give one of them")
        visibility = mapped
    if visibility is not None and visibility not in _VISIBILITIES:
        raise _Failure("visibility must be one of {}".format(", ".join(_VISIBILITIES)))
    spec["visibility"] = visibility
    spec["protected"] = None if args["protected"] is None else _bool(args["protected"], "protected")
    for key in ("min_disk", "min_ram"):
        spec[key] = None if args[key] is None else _count(args[key], key)

    properties = args["properties"]
    if properties is not None:
        if not isinstance(properties, dict):
            raise _Failure("properties must be a mapping")
        reserved = sorted(str(key) for key in properties if _managed(str(key)))
        if reserved:
            raise _Failure(
                "properties cannot set {}: they have their own argument or Glance manages "
                "them".format(", ".join(reserved))
            )
        properties = {
            str(key): (str(value).lower() if isinstance(value, bool) else str(value))
            for key, value in properties.items()
        }
    spec["properties"] = properties
    tags = _string_list(args["tags"], "tags")
    spec["tags"] = None if tags is None else set(tags)

    checksums = {}
    for algo, value in (args["checksums"] or {}).items():
        algo, value = str(algo).lower(), str(value).strip().lower()
        if algo not in _ALGO_LENGTHS:
            raise _Failure(f"checksums: unknown algorithm {algo} (md5, sha256, sha512)")
        if len(value) != _ALGO_LENGTHS[algo] or any(c not in "0123456789abcdef" for c in value):
            raise _Failure(f"checksums: {value} is not a {algo} hex digest")
        checksums[algo] = value
    spec["checksums"] = checksums

    if args["method"] not in _METHODS:
        raise _Failure("method must be upload or web-download")
    if args["method"] == "web-download" and not spec["source"].startswith(("http://", "https://")):
        raise _Failure("method web-download needs an http(s) source")
    spec["method"] = args["method"]
    spec["stores"] = _string_list(args["stores"], "stores")
    if args["on_change"] not in _ON_CHANGE:
        raise _Failure("on_change must be one of {}".format(", ".join(_ON_CHANGE)))
    spec["on_change"] = args["on_change"]
    spec["backups"] = _count(args["backups"], "backups")
    spec["timeout"] = args["timeout"]
    spec["import_timeout"] = args["import_timeout"]
    spec["api_wait"] = args["api_wait"]
    spec["saltenv"] = args["saltenv"]
    return spec


# ------------------------------------------------------------ image helpers


def _own_properties(image):
    return {key: value for key, value in image.items() if not _managed(key)}


def _known_digests(image):
    """The digests of an image's data that Glance (or the seeding) recorded."""
    known = {}
    for algo in _ALGO_LENGTHS:
        value = image.get(DIGEST_PROP.format(algo))
        if value:
            known[algo] = str(value).lower()
    if image.get("checksum"):
        known["md5"] = image["checksum"]
    if image.get("os_hash_algo") and image.get("os_hash_value"):
        known[image["os_hash_algo"]] = image["os_hash_value"]
    return known


def _same_data(one, other):
    """Whether Glance's own digests show two images hold the same data."""
    for algo_key, value_key in (("os_hash_algo", "os_hash_value"), (None, "checksum")):
        if one.get(value_key) and other.get(value_key):
            if algo_key is None or one.get(algo_key) == other.get(algo_key):
                return one[value_key] == other[value_key]
    return False


def _abandoned(image, spec):
    """Whether an image is an unfinished upload this state left behind.

    Without data (queued, killed) after an interrupted run; or still busy
    after longer than any upload may take, when glance-api died under it.
    """
    if SOURCE_PROP not in image:
        return False
    if image.get("status") in ("queued", "killed"):
        return True
    if image.get("status") not in _BUSY:
        return False
    if image.get("status") in ("saving", "uploading") and _uploader_gone(image.get(UPLOADER_PROP)):
        # Data goes in only while its uploader sends it.
        return True
    try:
        since = datetime.strptime(image.get("updated_at") or "", "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    age = datetime.now(timezone.utc) - since.replace(tzinfo=timezone.utc)
    return age.total_seconds() > spec["import_timeout"]


def _read(path):
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except (OSError, ValueError):
        return ""


def _started(pid):
    """A process's start time (clock ticks after boot): with the boot id, a
    pid that cannot have been reused; "" when there is no such process."""
    stat = _read(f"/proc/{pid}/stat")
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def _uploader():
    """This process, as UPLOADER_PROP records it."""
    boot = _read("/proc/sys/kernel/random/boot_id").strip()
    return " ".join([str(__opts__.get("id", "")), boot, str(os.getpid()), _started(os.getpid())])


def _uploader_gone(recorded):
    """Whether the recorded uploader is known to have ended: it ran on this
    minion and the host has rebooted or that process is gone. Another
    minion's, or a record without the details, is not known to have."""
    parts = str(recorded or "").split(" ")
    mine = _uploader().split(" ")
    if len(parts) != 4 or not all(parts) or not all(mine) or parts[0] != mine[0]:
        return False
    return parts[1] != mine[1] or _started(parts[2]) != parts[3]


def _pointer(key):
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _set_op(image, key, value):
    return {"op": "replace" if key in image else "add", "path": _pointer(key), "value": value}


class _Stamp:
    """The source's current version stamp, read at most once."""

    def __init__(self, source):
        self._source = source
        self._value = None

    def get(self):
        if self._value is None:
            self._value = self._source.stamp()
        return self._value


def _verdict(image, spec, stamp):
    """'same', 'different' or 'unknown': the image's data against the source's."""
    if (image.get("disk_format"), image.get("container_format")) != (
        spec["disk_format"],
        spec["container_format"],
    ):
        return "different"
    if spec["checksums"]:
        known = _known_digests(image)
        common = [algo for algo in spec["checksums"] if algo in known]
        if not common:
            return "unknown"
        same = all(known[algo] == spec["checksums"][algo] for algo in common)
        return "same" if same else "different"
    if image.get(SOURCE_PROP) != spec["source_display"]:
        return "unknown"
    recorded = image.get(STAMP_PROP) or ""
    if not recorded:
        return "same"  # the source offered no stamp; its URL is all we know
    return "same" if stamp.get() == recorded else "unknown"


def _pick(existing, verdicts, spec):
    """The image this state manages, and the other images of the same name."""
    if not existing:
        return None, []
    newest_first = sorted(existing, key=lambda img: img.get("created_at") or "", reverse=True)
    same = [img for img in newest_first if verdicts[img["id"]] == "same"]
    if same:
        current = same[0]
    elif len(existing) == 1 or spec["on_change"] != "keep":
        current = newest_first[0]
    else:
        raise _Failure(
            "{} images are named {} ({}) and none matches the source; with on_change keep "
            "the state cannot tell which one to manage".format(
                len(existing), spec["name"], ", ".join(img["id"] for img in newest_first)
            )
        )
    return current, [img for img in newest_first if img is not current]


def _drift(image, spec):
    """JSON-patch operations and changes that bring the metadata in line."""
    ops, changes = [], {}
    for key in ("visibility", "protected", "min_disk", "min_ram"):
        want = spec[key]
        if want is not None and image.get(key) != want:
            ops.append({"op": "replace", "path": "/" + key, "value": want})
            changes[key] = {"old": image.get(key), "new": want}
    if spec["properties"] is not None:
        have = _own_properties(image)
        old, new = {}, {}
        for key, value in sorted(spec["properties"].items()):
            if have.get(key) != value:
                ops.append(_set_op(have, key, value))
                old[key], new[key] = have.get(key), value
        for key in sorted(set(have) - set(spec["properties"])):
            ops.append({"op": "remove", "path": _pointer(key)})
            old[key], new[key] = have[key], None
        if new:
            changes["properties"] = {"old": old, "new": new}
    if spec["tags"] is not None and set(image.get("tags") or []) != spec["tags"]:
        ops.append({"op": "replace", "path": "/tags", "value": sorted(spec["tags"])})
        changes["tags"] = {"old": sorted(image.get("tags") or []), "new": sorted(spec["tags"])}
    return ops, changes


def _missing_stores(image, spec):
    # Only a multistore Glance lists an image's stores.
    if not spec["stores"] or "stores" not in image:
        return []
    have = set(filter(None, (image.get("stores") or "").split(",")))
    return [store for store in spec["stores"] if store not in have]


def _create_attrs(spec):
    attrs = {
        "name": spec["name"],
        "disk_format": spec["disk_format"],
        "container_format": spec["container_format"],
        SOURCE_PROP: spec["source_display"],
    }
    for key in ("visibility", "min_disk", "min_ram"):
        if spec[key] is not None:
            attrs[key] = spec[key]
    if spec["tags"] is not None:
        attrs["tags"] = sorted(spec["tags"])
    attrs.update(spec["properties"] or {})
    for algo, value in spec["checksums"].items():
        attrs[DIGEST_PROP.format(algo)] = value
    # protected is set once the data is in: an unfinished image must stay deletable.
    return attrs


# ------------------------------------------------------------------ actions


def _message(exc):
    # The execution module's errors (GlanceImageError and subclasses) and
    # this module's are complete sentences; others get their type named.
    names = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, _Failure) or "GlanceImageError" in names:
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _abandon(glance, image_id, exc):
    """Delete an unfinished image; if that fails as well, say so.

    Tried a few times: right after a broken upload Glance may still be
    busy with it (SQLite refuses a second writer), or be restarting.
    """
    for attempt in range(_DELETE_TRIES):
        try:
            glance.delete(image_id)
            return
        except Exception as del_exc:
            if attempt + 1 == _DELETE_TRIES:
                raise _Failure(
                    f"{_message(exc)} (the unfinished image {image_id} could not be deleted: "
                    f"{_message(del_exc)})"
                ) from exc
            time.sleep(_DELETE_PAUSE)


def _is_active(image):
    return image.get("status") == "active"


def _check_stored(glance, image, spec, size):
    """Compare what Glance stored with what was sent and what the pillar says.

    ``size`` is the number of bytes sent, None when Glance fetched the data.
    """
    if size is not None and image.get("size") != size:
        raise _Failure(
            "Glance stored {} bytes for image {}, {} were sent".format(
                image.get("size"), image["id"], size
            )
        )
    glance_has = {"md5": image.get("checksum"), image.get("os_hash_algo"): image.get("os_hash_value")}
    unverified = []
    for algo, want in sorted(spec["checksums"].items()):
        if not glance_has.get(algo):
            unverified.append(algo)
        elif glance_has[algo] != want:
            raise _Failure(
                "Checksum mismatch for {}: {} expected {} got {}".format(
                    spec["source_display"], algo, want, glance_has[algo]
                )
            )
    if unverified and size is None:
        # Glance fetched the data itself: read it back for the other digests.
        actual = __salt__["glance_image.digest"](glance.download(image["id"]), unverified)
        for algo in unverified:
            if actual[algo] != spec["checksums"][algo]:
                raise _Failure(
                    "Checksum mismatch for {}: {} expected {} got {}".format(
                        spec["source_display"], algo, spec["checksums"][algo], actual[algo]
                    )
                )


def _seed(glance, source, spec):
    """Create a new image from the source; return it active and verified."""
    attrs = _create_attrs(spec)
    stores = spec["stores"] or []
    if spec["method"] == "web-download":
        try:
            attrs[STAMP_PROP] = source.stamp()
        except Exception as exc:
            # Glance may reach what the minion cannot; the URL alone is the record.
            log.info("glance_image: no version stamp for %s: %s", spec["source_display"], exc)
            attrs[STAMP_PROP] = ""
        image = glance.create(attrs)
        try:
            glance.import_image(image["id"], "web-download", uri=spec["source"], stores=stores)
            image = glance.wait(image["id"], _is_active, spec["import_timeout"])
            _check_stored(glance, image, spec, None)
            return image
        except BaseException as exc:
            _abandon(glance, image["id"], exc)
            raise

    opened = source.open()  # a 404 or timeout fails here, before any image exists
    try:
        attrs[STAMP_PROP] = opened.stamp
        attrs[UPLOADER_PROP] = _uploader()
        stream = opened.digesting(spec["checksums"])
        image = glance.create(attrs)
        try:
            try:
                if len(stores) > 1:
                    glance.stage(image["id"], stream)
                    glance.import_image(image["id"], "glance-direct", stores=stores)
                else:
                    glance.upload(image["id"], stream, store=stores[0] if stores else None)
            except Exception as exc:
                if "GlanceStoreError" not in {cls.__name__ for cls in type(exc).__mro__}:
                    raise
                raise _Failure(f"Glance could not store the data of image {spec['name']} in "
                               f"{_store_names(glance, stores)}: {exc}") from exc
            image = glance.wait(image["id"], _is_active, spec["import_timeout"])
            _check_stored(glance, image, spec, stream.size)
            return image
        except BaseException as exc:
            _abandon(glance, image["id"], exc)
            raise
    finally:
        opened.close()


def _store_names(glance, stores):
    """Where the data went: the stores asked for, else Glance's default."""
    if len(stores) > 1:
        return "the staging area (for stores {})".format(", ".join(stores))
    store = stores[0] if stores else glance.default_store()
    return f"store {store}" if store else "its store"


def _delete(glance, image):
    if image.get("protected"):
        glance.update(image["id"], [{"op": "replace", "path": "/protected", "value": False}])
    glance.delete(image["id"])


def _backup(glance, image, spec):
    """Turn ``image`` into a hidden, renamed backup; return its new name."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    new_name = "{} (backup {})".format(spec["name"], now)
    glance.update(
        image["id"],
        [
            {"op": "replace", "path": "/name", "value": new_name},
            {"op": "replace", "path": "/os_hidden", "value": True},
            _set_op(image, BACKUP_OF_PROP, spec["name"]),
            _set_op(image, BACKUP_AT_PROP, now),
        ],
    )
    return new_name


def _prune(glance, spec):
    """Delete the oldest backups beyond ``backups``; return their ids."""
    backups = [
        img
        for img in glance.images(os_hidden="true", **spec["owner_filter"])
        if img.get(BACKUP_OF_PROP) == spec["name"]
    ]
    backups.sort(key=lambda img: (img.get(BACKUP_AT_PROP) or "", img.get("created_at") or ""))
    backups.reverse()
    pruned = []
    for image in backups[spec["backups"]:]:
        _delete(glance, image)
        pruned.append(image["id"])
    return pruned


def _retire(glance, images, spec, changes, notes):
    """Rotate or delete the images a new upload (or a match) supersedes."""
    for image in images:
        if spec["on_change"] == "replace":
            _delete(glance, image)
            changes.setdefault("deleted", []).append(image["id"])
            notes.append("previous image {} deleted".format(image["id"]))
        else:
            new_name = _backup(glance, image, spec)
            changes.setdefault("backups", {})[image["id"]] = new_name
            notes.append("previous image {} kept as hidden backup '{}'".format(image["id"], new_name))
    if images and spec["on_change"] == "rotate":
        pruned = _prune(glance, spec)
        if pruned:
            changes["pruned"] = pruned
            notes.append("old backups deleted: {}".format(", ".join(pruned)))


# -------------------------------------------------------------------- state


def _url_passwords(urls):
    """The passwords source URLs carry (``scheme://user:password@host/...``)."""
    found = []
    for url in urls:
        if url and "://" in str(url):
            netloc = re.split(r"[/?#]", str(url).split("://", 1)[1], maxsplit=1)[0]
            userinfo = netloc.rpartition("@")[0]
            found.extend(part for part in userinfo.split(":", 1)[1:] if part)
    return found


def _run(name, connection, secret_urls, func):
    """Run ``func(ret)``; no secret (see openstack_sdk.secrets) in what it returns or logs."""
    ret = {"name": name, "result": True, "changes": {}, "comment": ""}
    also = _url_passwords(secret_urls)

    def scrub(value):
        return __salt__["openstack_sdk.scrub"](value, connection, also)

    try:
        func(ret)
    except Exception as exc:
        ret["result"] = False
        ret["comment"] = _message(exc)
        log.debug("glance_image %s failed:\n%s", name, scrub(traceback.format_exc()))
    try:
        # The token for the next run (see openstack_sdk.connect).
        __salt__["openstack_sdk.remember_tokens"]()
    except Exception as exc:  # a cache that cannot be written costs time only
        log.debug("glance_image %s: the token was not kept: %s", name, scrub(str(exc)))
    ret["comment"] = scrub(ret["comment"])
    ret["changes"] = scrub(ret["changes"])
    return ret


def present(
    name,
    source=None,
    disk_format=None,
    container_format=None,
    visibility=None,
    protected=None,
    min_disk=None,
    min_ram=None,
    properties=None,
    tags=None,
    checksums=None,
    method="upload",
    stores=None,
    on_change="keep",
    backups=3,
    connection=None,
    timeout=60,
    import_timeout=3600,
    api_wait=0,
    saltenv=None,
    public=None,
    format=None,
    file=None,
    **kwargs
):
    """
    Ensure the image ``name`` exists in Glance with the data of ``source``
    and the given metadata. See the module documentation for the arguments.
    """
    args = dict(locals())
    extra = args.pop("kwargs")
    args["saltenv"] = saltenv or extra.get("__env__") or "base"

    def run(ret):
        unknown = sorted(key for key in extra if not key.startswith("__"))
        if unknown:
            raise _Failure("Unknown argument(s): {}".format(", ".join(unknown)))
        _present(ret, _spec(args), connection)

    return _run(name, connection, (source, file), run)


def _present(ret, spec, connection):
    glance = __salt__["glance_image.connect"](connection)
    source = __salt__["glance_image.source"](
        spec["source"], timeout=spec["timeout"], saltenv=spec["saltenv"]
    )
    spec["source_display"] = source.display
    name = spec["name"]

    if spec["api_wait"]:
        glance.wait_reachable(spec["api_wait"])
    # Only the project's own images: an administrator sees every project's.
    mine = {"owner": glance.project_id()} if glance.project_id() else {}
    spec["owner_filter"] = mine
    found = glance.images(name=name, **mine)
    stale = [img for img in found if _abandoned(img, spec)]
    busy = [img for img in found if img.get("status") in _BUSY and img not in stale]
    existing = [img for img in found if img.get("status") in ("active", "deactivated")]
    if busy and not existing:
        raise _Failure(
            "Image {} is being uploaded ({}); run again when it is done".format(
                name, ", ".join("{} {}".format(img["id"], img["status"]) for img in busy)
            )
        )

    stamp = _Stamp(source)
    verdicts = {img["id"]: _verdict(img, spec, stamp) for img in existing}
    current, others = _pick(existing, verdicts, spec)
    verdict = verdicts[current["id"]] if current else None
    keep = spec["on_change"] == "keep"
    upload = current is None or (verdict != "same" and not keep)
    retire = [] if keep else others

    notes = []
    if current is not None and verdict != "same" and keep:
        notes.append(
            "its data {} {} but on_change is keep".format(
                "differs from" if verdict == "different" else "was not compared with",
                source.display,
            )
        )
    if others and keep:
        notes.append(
            "other images named {} left as they are: {}".format(
                name, ", ".join(img["id"] for img in others)
            )
        )

    if __opts__["test"]:
        _predict(ret, spec, source, current, verdict, upload, stale, retire, notes)
        return

    changes = ret["changes"]
    for img in stale:
        glance.delete(img["id"])
        changes.setdefault("removed_unfinished", []).append(img["id"])

    action = "is up to date"
    if upload:
        new = _seed(glance, source, spec)
        if current is not None and verdict == "unknown" and _same_data(new, current):
            # The source still has the old data: keep the old image, record the source.
            glance.delete(new["id"])
            ops = [
                _set_op(current, SOURCE_PROP, new[SOURCE_PROP]),
                _set_op(current, STAMP_PROP, new.get(STAMP_PROP, "")),
            ]
            current = glance.update(current["id"], ops)
            changes["source_record"] = {"source": new[SOURCE_PROP], "stamp": new.get(STAMP_PROP, "")}
            action = f"already holds the data of {source.display}; recorded its source"
        else:
            changes["image"] = {"old": current["id"] if current else None, "new": new["id"]}
            action = "{} from {}".format("updated" if current else "created", source.display)
            if current is not None:
                retire = [current] + retire
            current = new
    _retire(glance, retire, spec, changes, notes)

    ops, drift = _drift(current, spec)
    if ops:
        current = glance.update(current["id"], ops)
        changes.update(drift)
        if not upload:
            action = "updated in place: {}".format(", ".join(sorted(drift)))
    missing = _missing_stores(current, spec)
    if missing:
        glance.import_image(current["id"], "copy-image", stores=missing)
        glance.wait(current["id"], lambda img: not _missing_stores(img, spec), spec["import_timeout"])
        changes["stores"] = {"added": missing}
        notes.append("copied to stores {}".format(", ".join(missing)))

    ret["comment"] = "Image {} ({}) {}".format(name, current["id"], action)
    if notes:
        ret["comment"] += "; " + "; ".join(notes)


def _predict(ret, spec, source, current, verdict, upload, stale, retire, notes):
    """Say what a real run would do; change nothing, download nothing."""
    changes, says = {}, []
    if current is None:
        head = "Image {} would be created from {}".format(spec["name"], source.display)
        changes["image"] = {"old": None, "new": f"from {source.display}"}
    else:
        head = "Image {} ({})".format(spec["name"], current["id"])
        if upload:
            changes["image"] = {"old": current["id"], "new": f"from {source.display}"}
            fate = "kept as a hidden backup" if spec["on_change"] == "rotate" else "deleted"
            if verdict == "unknown":
                says.append(
                    f"would be compared with a new upload from {source.display}; if the data differs, it "
                    f"would be {fate}"
                )
            else:
                says.append(f"would be superseded by a new upload from {source.display} and {fate}")
        ops, drift = _drift(current, spec)
        if ops:
            changes.update(drift)
            says.append("would be updated in place: {}".format(", ".join(sorted(drift))))
        missing = _missing_stores(current, spec)
        if missing:
            changes["stores"] = {"added": missing}
            says.append("would be copied to stores {}".format(", ".join(missing)))
    for img in retire:
        fate = "deleted" if spec["on_change"] == "replace" else "kept as a hidden backup"
        changes.setdefault("retired", []).append(img["id"])
        says.append("image {} would be {}".format(img["id"], fate))
    if stale:
        changes["removed_unfinished"] = [img["id"] for img in stale]
        says.append("unfinished images {} would be deleted".format(", ".join(changes["removed_unfinished"])))
    if changes:
        ret["result"] = None
        ret["changes"] = changes
    elif current is not None:
        says.insert(0, "is up to date")
    says += notes
    if says and current is not None:
        head += " " + says.pop(0)
    ret["comment"] = "; ".join([head] + says)


def absent(name, connection=None):
    """
    Ensure the project has no image called ``name`` (exact match). Backups
    the rotation kept stay. A protected image is not deleted: the state
    fails instead.
    """

    def run(ret):
        glance = __salt__["glance_image.connect"](connection)
        mine = {"owner": glance.project_id()} if glance.project_id() else {}
        images = [img for img in glance.images(name=name, **mine) if img.get("status") != "deleted"]
        if not images:
            ret["comment"] = f"Image {name} is absent"
            return
        protected = [img["id"] for img in images if img.get("protected")]
        if protected:
            raise _Failure("Image {} is protected ({}); unprotect it first".format(name, ", ".join(protected)))
        ids = [img["id"] for img in images]
        ret["changes"] = {"deleted": ids}
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = "Image {} ({}) would be deleted".format(name, ", ".join(ids))
            return
        for image_id in ids:
            glance.delete(image_id)
        ret["comment"] = "Image {} ({}) deleted".format(name, ", ".join(ids))

    return _run(name, connection, (), run)
