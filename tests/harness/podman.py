"""Thin wrapper around the podman command line."""
import os
import shlex
import subprocess

from . import REPO_ROOT

CONTAINERS_CONF = REPO_ROOT / ".ci" / "containers.conf"


class PodmanError(RuntimeError):
    pass


def env():
    """Environment for podman and for anything that calls it (testinfra)."""
    result = dict(os.environ)
    # The project's own containers.conf: no ulimits passed on, runc runtime.
    result.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    return result


def podman(*args, check=True, timeout=None, input=None, capture=True):
    cmd = ["podman", *[str(a) for a in args]]
    proc = subprocess.run(
        cmd,
        env=env(),
        input=input,
        timeout=timeout,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
    )
    if check and proc.returncode != 0:
        raise PodmanError(
            f"{shlex.join(cmd)} exited {proc.returncode}\n"
            f"stdout: {(proc.stdout or '')[-4000:]}\nstderr: {(proc.stderr or '')[-4000:]}"
        )
    return proc


def exists(kind, name):
    """True if the image, container, network or volume NAME exists."""
    return podman(kind, "exists", name, check=False).returncode == 0


def exec_(container, *args, check=True, timeout=None, env_vars=None):
    opts = []
    for key, value in (env_vars or {}).items():
        opts += ["-e", f"{key}={value}"]
    return podman("exec", *opts, container, *args, check=check, timeout=timeout)
