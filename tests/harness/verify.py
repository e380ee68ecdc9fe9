"""Checks around a converge: secrets in state output, the suite's testinfra."""
import re
import subprocess
import sys
import time

import yaml

from . import REPO_ROOT
from .podman import env as podman_env

SECRET_KEY = re.compile(r"(password|passwd|secret|token|_key)$", re.I)


def pillar_secrets(node):
    """Values of password-like keys in NODE's pillar, to look for in output."""
    data = [node.pillars.get(k) for k in node.pillars if k != "top.sls"]
    for src in node.pillar_files.values():
        data.append(yaml.safe_load((REPO_ROOT / src).read_text()))
    found = set()

    def walk(obj):
        if isinstance(obj, dict):
            for key, value in obj.items():
                if isinstance(value, (str, int)) and SECRET_KEY.search(str(key)) \
                        and len(str(value)) >= 4:
                    found.add(str(value))
                walk(value)
        elif isinstance(obj, list):
            for item in obj:
                walk(item)

    walk(data)
    return found


def run_verifier(container, verifier_dir, env_vars=None):
    """The suite's testinfra tests against CONTAINER, in a pytest of their
    own; ENV_VARS are added to its environment."""
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--tb=short",
           f"--hosts=podman://{container}", verifier_dir]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env={**podman_env(), **(env_vars or {})}, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
    return proc, time.monotonic() - start
