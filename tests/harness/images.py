"""Base images per Debian release, built from Debian's archive.

debootstrap gives a minimal root file system, `podman import` turns it into
an image, and tests/images/Containerfile.debian adds systemd and Salt. Both
images are tagged with a hash of their inputs, so an unchanged definition is
built once per machine and reused by every later run.
"""
import fcntl
import hashlib
import json
import os
import pathlib
import subprocess
import tempfile
import time

from . import CACHE_DIR, REPO_ROOT
from .podman import env, exists, podman

IMAGES_DIR = REPO_ROOT / "tests" / "images"
CONTAINERFILE = IMAGES_DIR / "Containerfile.debian"
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
HOST_CA_BUNDLE = pathlib.Path(os.environ.get("HOST_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))

# Kitchen platform name -> Debian release.
PLATFORMS = {
    "debian-12": "bookworm",
    "debian-13": "trixie",
}

# Downloaded (not installed) into the image's apt cache: the suites install
# these, and a local .deb is faster than the archive every time.
PREFETCH = [
    "glance-api",
    "glance-common",
    "keystone",
    "mariadb-server",
    "rabbitmq-server",
    "python3-openstackclient",
    "qemu-utils",
    "memcached",
]


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


def rootfs_tag(platform):
    release = PLATFORMS[platform]
    return f"localhost/glance-formula-rootfs:{platform}-{_digest('minbase', release, MIRROR)}"


def base_tag(platform):
    inputs = [
        rootfs_tag(platform),
        CONTAINERFILE.read_bytes(),
        (IMAGES_DIR / "salt-requirements.txt").read_bytes(),
        " ".join(PREFETCH),
        MIRROR,
    ]
    return f"localhost/glance-formula-base:{platform}-{_digest(*inputs)}"


# platform -> seconds, for images this process built.
BUILT = {}


class _Lock:
    """Serialises builds of one image between concurrent test processes."""

    def __init__(self, name):
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        self.path = CACHE_DIR / f"{name}.lock"

    def __enter__(self):
        self.fh = open(self.path, "w")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def _log(msg):
    print(f"[images] {msg}", flush=True)


def _build_rootfs(platform, tag):
    release = PLATFORMS[platform]
    # Outside the repository: linters and Salt's file server walk the tree.
    with tempfile.TemporaryDirectory(prefix=f"glance-rootfs-{platform}-") as tmp:
        target = pathlib.Path(tmp) / "root"
        subprocess.run(
            ["debootstrap", "--variant=minbase", release, str(target), MIRROR],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tar = subprocess.Popen(["tar", "-C", str(target), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["podman", "import", "-", tag], stdin=tar.stdout, env=env(),
            stdout=subprocess.DEVNULL, check=False,
        )
        tar.stdout.close()
        if tar.wait() != 0 or imp.returncode != 0:
            raise RuntimeError(f"importing the {release} root file system failed")


def _build_base(platform, tag):
    args = [
        "build", "--network", "host", "--layers",
        "-f", CONTAINERFILE,
        "--build-arg", f"BASE={rootfs_tag(platform)}",
        "--build-arg", f"RELEASE={PLATFORMS[platform]}",
        "--build-arg", f"MIRROR={MIRROR}",
        "--build-arg", f"PREFETCH={' '.join(PREFETCH)}",
        "-t", tag,
    ]
    if HOST_CA_BUNDLE.is_file():
        # PyPI is reached through the host's CA bundle.
        args += [
            "-v", f"{HOST_CA_BUNDLE}:/etc/ssl/host-ca.crt:ro",
            "--build-arg", "PIP_CERT=/etc/ssl/host-ca.crt",
        ]
    log = CACHE_DIR / f"build-{platform}.log"
    with open(log, "w") as fh:
        proc = subprocess.run(
            ["podman", *map(str, args), str(IMAGES_DIR)], env=env(),
            stdout=fh, stderr=subprocess.STDOUT,
        )
    if proc.returncode != 0:
        tail = log.read_text()[-3000:]
        raise RuntimeError(f"building {tag} failed (log: {log}):\n{tail}")


def ensure_base_image(platform):
    """Return the tag of PLATFORM's base image, building it if missing."""
    if platform not in PLATFORMS:
        raise ValueError(f"no base image for platform {platform!r}; known: {sorted(PLATFORMS)}")
    tag = base_tag(platform)
    with _Lock(f"image-{platform}"):
        if exists("image", tag):
            _log(f"{platform}: reusing {tag}")
            return tag
        start = time.monotonic()
        rootfs = rootfs_tag(platform)
        if not exists("image", rootfs):
            _build_rootfs(platform, rootfs)
            _log(f"{platform}: debootstrap + import {time.monotonic() - start:.0f}s")
        _build_base(platform, tag)
        elapsed = time.monotonic() - start
        _log(f"{platform}: built {tag} in {elapsed:.0f}s")
        _record_build(platform, tag, elapsed)
        BUILT[platform] = elapsed
        prune_old(platform)
    return tag


def _record_build(platform, tag, seconds):
    with _Lock("image-builds"):
        path = CACHE_DIR / "image-builds.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data[platform] = {"tag": tag, "seconds": round(seconds, 1),
                          "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        path.write_text(json.dumps(data, indent=2) + "\n")


def prune_old(platform):
    """Remove base images of PLATFORM whose tag is not the current one, so
    changed definitions do not pile up gigabytes (images still in use by a
    container stay: podman refuses to remove them)."""
    keep = {base_tag(platform), rootfs_tag(platform)}
    out = podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    for ref in out:
        if ref.startswith(("localhost/glance-formula-base:", "localhost/glance-formula-rootfs:")) \
                and ref.split(":")[1].startswith(platform + "-") and ref not in keep:
            podman("rmi", ref, check=False)


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or sorted(PLATFORMS):
        ensure_base_image(name)
