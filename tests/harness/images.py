"""Images per Debian release, built from Debian's archive.

debootstrap gives a minimal root file system and `podman import` turns it
into an image. On top of it, tests/images/Containerfile.debian builds the
suites' base image (systemd and the Salt of salt-requirements.txt) and
tests/images/Containerfile.newcomer the newcomer's host (systemd and only
what README.rst asks a user to bring for `make deploy`). Every image is
tagged with a hash of its inputs, so an unchanged definition is built once
per machine and reused by every later run.
"""
import contextlib
import fcntl
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import threading
import time

from . import CACHE_DIR, REPO_ROOT, caches
from .podman import env, exists, podman

IMAGES_DIR = REPO_ROOT / "tests" / "images"
SUITE_CONTAINERFILE = IMAGES_DIR / "Containerfile.debian"
NEWCOMER_CONTAINERFILE = IMAGES_DIR / "Containerfile.newcomer"
SALT_REQUIREMENTS = REPO_ROOT / "salt-requirements.txt"
# Salt 3006 LTS: the salt-master groups (tests/harness/master.py) run it
# where it works as a master.
SALT_3006_REQUIREMENTS = REPO_ROOT / "salt-3006-requirements.txt"
# The Salt of the salt-master groups per platform. On Debian 13 (Python
# 3.13) Salt 3006.29 installs from PyPI and runs salt-call, but its master
# answers no request (the CLI's publish and the minions' sign-in time out):
# the 3008 LTS of salt-requirements.txt runs there.
MASTER_SALT_REQUIREMENTS = {
    "debian-12": SALT_3006_REQUIREMENTS,
    "debian-13": SALT_REQUIREMENTS,
}
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
HOST_CA_BUNDLE = pathlib.Path(os.environ.get("HOST_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"))

# Kitchen platform name -> Debian release.
PLATFORMS = {
    "debian-12": "bookworm",
    "debian-13": "trixie",
}

# Downloaded (not installed) by the base image's build into the shared
# package cache (caches.py), so that the suites that install them find them
# there, each downloaded once per machine.
PREFETCH = [
    "glance-api",
    "glance-common",
    "keystone",
    "mariadb-server",
    "rabbitmq-server",
    "python3-openstackclient",
    "qemu-utils",
    "memcached",
    # The formula's rbd client packages and the test Ceph (single-ceph).
    "ceph-common",
    "python3-rbd",
    "ceph-mon",
    "ceph-mgr",
    "ceph-osd",
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
        SUITE_CONTAINERFILE.read_bytes(),
        SALT_REQUIREMENTS.read_bytes(),
        " ".join(PREFETCH),
        MIRROR,
    ]
    return f"localhost/glance-formula-base:{platform}-{_digest(*inputs)}"


def salt_pin(requirements):
    """The `salt==` line of a requirements file (the 3006 file also lists
    the render tests' tools)."""
    pins = [line.strip() for line in requirements.read_text().splitlines() if line.strip().startswith("salt==")]
    if len(pins) != 1:
        raise ValueError(f"{requirements.name}: expected one salt== line, found {pins}")
    return pins[0]


# The salt-master groups' image: the suites' base image with /opt/saltenv
# made again with the platform's MASTER_SALT_REQUIREMENTS pin, as on a host
# that installed that Salt from PyPI (kept as it is where the base image
# already has that pin); salt-master, salt-minion and their tools on the
# PATH.
MASTER_CONTAINERFILE = """\
ARG BASE
FROM ${BASE}
ARG PIP_CERT=""
COPY salt-pin.txt /opt/salt-requirements.txt
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \\
 && if ! /opt/saltenv/bin/pip freeze | grep -qxF -f /opt/salt-requirements.txt; then \\
      rm -rf /opt/saltenv && python3 -m venv /opt/saltenv \\
      && /opt/saltenv/bin/pip install --upgrade pip \\
      && /opt/saltenv/bin/pip install -r /opt/salt-requirements.txt; fi \\
 && for tool in salt salt-call salt-key salt-master salt-minion salt-run; do \\
      ln -sf /opt/saltenv/bin/$tool /usr/local/bin/$tool; done \\
 && salt-call --version && salt-master --version
"""


def master_salt_pin(platform):
    """The `salt==` pin the salt-master groups run on PLATFORM."""
    return salt_pin(MASTER_SALT_REQUIREMENTS[platform])


def master_tag(platform):
    inputs = [base_tag(platform), MASTER_CONTAINERFILE, master_salt_pin(platform)]
    return f"localhost/glance-formula-master:{platform}-{_digest(*inputs)}"


# The service hosts' image (nodes whose states are all test services, such
# as the cluster's controller: tests/harness/kitchen.py `Node.service_host`):
# the salt-master image with the test services' packages installed, so that
# each run configures and starts them (test_services.*) without installing
# them again. Only downloaded and unpacked here: policy-rc.d keeps the
# packages from starting anything during the build, and the units they
# enable are disabled again, so a container boots as from the master image
# and the states enable and start what they configure. Glance nodes never
# start from it.
SERVICE_PACKAGES = [
    "ceph-mgr", "ceph-mon", "ceph-osd", "haproxy", "keystone", "mariadb-client", "mariadb-server",
    "memcached", "python3-pymysql", "qemu-utils", "rabbitmq-server",
]
SERVICES_CONTAINERFILE = """\
ARG BASE
FROM ${BASE}
ARG PACKAGES
RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \\
 && find /etc/systemd/system -type l | sort > /tmp/links-before \\
 && apt-get update \\
 && apt-get install -y $PACKAGES \\
 && find /etc/systemd/system -type l | sort > /tmp/links-after \\
 && comm -13 /tmp/links-before /tmp/links-after | xargs -r rm -f \\
 && rm -f /usr/sbin/policy-rc.d /tmp/links-before /tmp/links-after
"""


def services_tag(platform):
    inputs = [master_tag(platform), SERVICES_CONTAINERFILE, " ".join(SERVICE_PACKAGES), MIRROR]
    return f"localhost/glance-formula-services:{platform}-{_digest(*inputs)}"


def newcomer_tag(platform):
    inputs = [rootfs_tag(platform), NEWCOMER_CONTAINERFILE.read_bytes(), MIRROR]
    return f"localhost/glance-formula-newcomer:{platform}-{_digest(*inputs)}"


# Image repositories of the project, for pruning outdated tags.
REPOSITORIES = ("localhost/glance-formula-rootfs", "localhost/glance-formula-base",
                "localhost/glance-formula-newcomer", "localhost/glance-formula-master",
                "localhost/glance-formula-services")

# Images built by the current thread: [(kind, platform, seconds)] (each
# converge unit runs in a thread of its own, tests/harness/schedule.py).
_BUILT = threading.local()


def take_built():
    """[(kind, platform, seconds)] of the images this thread built since it
    last asked, so that the unit that waited for a build reports it."""
    built = list(getattr(_BUILT, "items", []))
    _BUILT.items = []
    return built


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


def _build(platform, tag, kind, containerfile, context_files=(), build_args=()):
    """podman build of CONTAINERFILE on PLATFORM's root file system, in a
    temporary context holding only CONTEXT_FILES (the Salt pin lives at the
    repository root, outside tests/images)."""
    args = [
        "build", "--network", "host", "--layers",
        "--build-arg", f"BASE={rootfs_tag(platform)}",
        "--build-arg", f"RELEASE={PLATFORMS[platform]}",
        "--build-arg", f"MIRROR={MIRROR}",
        *build_args,
        "-t", tag,
    ]
    log = CACHE_DIR / f"build-{kind}-{platform}.log"
    with tempfile.TemporaryDirectory(prefix=f"glance-{kind}-context-") as context:
        shutil.copyfile(containerfile, pathlib.Path(context) / "Containerfile")
        for path in context_files:
            shutil.copyfile(path, pathlib.Path(context) / path.name)
        with open(log, "w") as fh:
            proc = subprocess.run(
                ["podman", *map(str, args), "-f", f"{context}/Containerfile", context], env=env(),
                stdout=fh, stderr=subprocess.STDOUT,
            )
    if proc.returncode != 0:
        tail = log.read_text()[-3000:]
        raise RuntimeError(f"building {tag} failed (log: {log}):\n{tail}")


def _pip_cert_args():
    if not HOST_CA_BUNDLE.is_file():
        return []
    # PyPI is reached through the host's CA bundle.
    return ["-v", f"{HOST_CA_BUNDLE}:/etc/ssl/host-ca.crt:ro", "--build-arg", "PIP_CERT=/etc/ssl/host-ca.crt"]


def _build_base(platform, tag):
    _build(platform, tag, "base", SUITE_CONTAINERFILE, context_files=[SALT_REQUIREMENTS],
           build_args=["--build-arg", f"PREFETCH={' '.join(PREFETCH)}", *_pip_cert_args(),
                       *caches.build_args(platform)])


def _build_on(kind, platform, tag, base, containerfile, files=None, build_args=()):
    """podman build of CONTAINERFILE (text) FROM the image BASE, in a
    temporary context holding FILES ({name: text})."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    log = CACHE_DIR / f"build-{kind}-{platform}.log"
    with tempfile.TemporaryDirectory(prefix=f"glance-{kind}-context-") as context:
        (pathlib.Path(context) / "Containerfile").write_text(containerfile)
        for name, text in (files or {}).items():
            (pathlib.Path(context) / name).write_text(text)
        args = ["build", "--network", "host", "--layers", "--build-arg", f"BASE={base}", *build_args,
                "-t", tag, "-f", f"{context}/Containerfile", context]
        with open(log, "w") as fh:
            proc = subprocess.run(["podman", *args], env=env(), stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"building {tag} failed (log: {log}):\n{log.read_text()[-3000:]}")


def _build_master(platform, tag):
    _build_on("master", platform, tag, ensure_base_image(platform, locked=True), MASTER_CONTAINERFILE,
              files={"salt-pin.txt": master_salt_pin(platform) + "\n"},
              build_args=[*_pip_cert_args(), *caches.build_args(platform, apt=False)])


def _build_services(platform, tag):
    _build_on("services", platform, tag, ensure_master_image(platform, locked=True), SERVICES_CONTAINERFILE,
              build_args=["--build-arg", f"PACKAGES={' '.join(SERVICE_PACKAGES)}", *caches.build_args(platform)])


def _build_newcomer(platform, tag):
    _build(platform, tag, "newcomer", NEWCOMER_CONTAINERFILE)


def _ensure(kind, platform, tag, build, locked=False):
    if platform not in PLATFORMS:
        raise ValueError(f"no {kind} image for platform {platform!r}; known: {sorted(PLATFORMS)}")
    with _Lock(f"image-{platform}") if not locked else contextlib.nullcontext():
        if exists("image", tag):
            _log(f"{platform}: reusing {tag}")
            return tag
        start = time.monotonic()
        rootfs = rootfs_tag(platform)
        if not exists("image", rootfs):
            _build_rootfs(platform, rootfs)
            _log(f"{platform}: debootstrap + import {time.monotonic() - start:.0f}s")
        nested_before = sum(item[2] for item in getattr(_BUILT, "items", []))
        build(platform, tag)
        # Less the images built below it meanwhile (each has its own record).
        nested = sum(item[2] for item in getattr(_BUILT, "items", [])) - nested_before
        elapsed = time.monotonic() - start - nested
        _log(f"{platform}: built {tag} in {elapsed:.0f}s")
        _record_build(kind, platform, tag, elapsed)
        _BUILT.items = [*getattr(_BUILT, "items", []), (kind, platform, elapsed)]
        prune_old(platform)
    return tag


def ensure_base_image(platform, locked=False):
    """Return the tag of PLATFORM's suite base image, building it if missing."""
    return _ensure("base", platform, base_tag(platform), _build_base, locked=locked)


def ensure_master_image(platform, locked=False):
    """Return the tag of PLATFORM's image for salt-master groups (the Salt
    of master_salt_pin), building it, and the base image below it, if
    missing."""
    return _ensure("master", platform, master_tag(platform), _build_master, locked=locked)


def ensure_services_image(platform):
    """Return the tag of PLATFORM's service hosts' image, building it (and
    the images below it) if missing."""
    return _ensure("services", platform, services_tag(platform), _build_services)


def ensure_newcomer_image(platform):
    """Return the tag of PLATFORM's newcomer image, building it if missing."""
    return _ensure("newcomer", platform, newcomer_tag(platform), _build_newcomer)


def _record_build(kind, platform, tag, seconds):
    with _Lock("image-builds"):
        path = CACHE_DIR / "image-builds.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data[f"{kind} {platform}"] = {"tag": tag, "seconds": round(seconds, 1),
                          "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        path.write_text(json.dumps(data, indent=2) + "\n")


def prune_old(platform):
    """Remove images of PLATFORM whose tag is not the current one, so
    changed definitions do not pile up gigabytes (images still in use by a
    container stay: podman refuses to remove them)."""
    keep = {base_tag(platform), rootfs_tag(platform), newcomer_tag(platform), master_tag(platform),
            services_tag(platform)}
    out = podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    for ref in out:
        repository, _, tag = ref.partition(":")
        if repository in REPOSITORIES and tag.startswith(platform + "-") and ref not in keep:
            podman("rmi", ref, check=False)


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or sorted(PLATFORMS):
        ensure_base_image(name)
        ensure_master_image(name)
        ensure_services_image(name)
        ensure_newcomer_image(name)
