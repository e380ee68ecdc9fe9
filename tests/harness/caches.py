"""Downloads made once per machine: Debian's packages and pip's downloads.

The caches are per machine (GLANCE_TEST_CACHE, by default
~/.cache/glance-formula-tests), like the images: a fresh clone finds them.

Debian packages: one directory per platform under apt/ holds every
.deb the harness's containers have downloaded. Each container sees it as
apt's archive directory through an overlay mount (`-v DIR:...:O`): apt
finds a package there when its checksum matches the archive's index, and
downloads anything else itself, into the container's own upper layer.
Before a container is removed, what it downloaded is copied back
(`harvest`). Nothing else changes: the node under test still resolves and
installs its packages itself, from the same archive, with the same apt
configuration, as a user's host would. The base image's build fills the
directory with the packages the suites install (PREFETCH), downloaded only.

pip: one HTTP cache (pip-http/) shared by every container, the
HTTP part of pip's cache only. pip then downloads each file once per
machine, while wheels are still built where a user's host would build
them (pip's wheel cache stays in the container).
"""
import os
import pathlib
import shlex
import subprocess
import tempfile

from .podman import env, exec_

ARCHIVES = "/var/cache/apt/archives"
# Per machine, not per checkout (CI tests a fresh clone each time, as the
# images are per machine too): GLANCE_TEST_CACHE, else the user's cache
# directory.
ROOT = pathlib.Path(os.environ.get("GLANCE_TEST_CACHE")
                    or pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
                    / "glance-formula-tests")
APT_CACHE = ROOT / "apt"
PIP_HTTP_CACHE = ROOT / "pip-http"
PIP_BUILD_WHEELS = ROOT / "pip-build-wheels"
# pip's HTTP cache directories (pip 23.3 renamed it; Debian 12's own pip,
# as a fresh virtualenv has it, still uses the old name).
PIP_HTTP_DIRS = ("/root/.cache/pip/http", "/root/.cache/pip/http-v2")


def apt_dir(platform):
    path = APT_CACHE / platform
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pip_http_mounts():
    """`-v` options mounting the shared pip HTTP cache."""
    args = []
    for target in PIP_HTTP_DIRS:
        source = PIP_HTTP_CACHE / pathlib.PurePath(target).name
        source.mkdir(parents=True, exist_ok=True)
        args += ["-v", f"{source}:{target}"]
    return args


def run_args(platform):
    """`podman run` options that give a container the shared caches."""
    return ["-v", f"{apt_dir(platform)}:{ARCHIVES}:O", *_pip_http_mounts()]


def build_args(platform, apt=True):
    """`podman build` options: the builds write the shared caches directly
    (one build per platform at a time, under the harness's image lock), and
    keep the wheels they build (Salt's timelib) for the next image build:
    images are not under test."""
    args = ["-v", f"{apt_dir(platform)}:{ARCHIVES}"] if apt else []
    args += _pip_http_mounts()
    PIP_BUILD_WHEELS.mkdir(parents=True, exist_ok=True)
    return [*args, "-v", f"{PIP_BUILD_WHEELS}:/root/.cache/pip/wheels"]


def harvest(container, platform):
    """Copy the packages CONTAINER downloaded into the platform's cache;
    the number copied. Each file lands under its final name only once
    complete, so a container that starts meanwhile sees it whole or not at
    all."""
    target = apt_dir(platform)
    listing = exec_(container, "find", ARCHIVES, "-maxdepth", "1", "-name", "*.deb", "-printf", "%f\n",
                    check=False)
    if listing.returncode != 0:
        return 0
    new = sorted(name for name in listing.stdout.split() if not (target / name).exists())
    if not new:
        return 0
    with tempfile.TemporaryDirectory(dir=APT_CACHE, prefix=".harvest-") as tmp:
        script = f"cd {ARCHIVES} && tar -cf - {' '.join(shlex.quote(n) for n in new)}"
        tar_out = subprocess.Popen(["podman", "exec", container, "sh", "-c", script], env=env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        extract = subprocess.run(["tar", "-C", tmp, "-xf", "-"], stdin=tar_out.stdout,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        tar_out.stdout.close()
        if tar_out.wait() != 0 or extract.returncode != 0:
            return 0
        copied = 0
        for name in new:
            path = pathlib.Path(tmp) / name
            if path.is_file() and not (target / name).exists():
                os.replace(path, target / name)
                copied += 1
        return copied
