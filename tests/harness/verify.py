"""Checks around a converge: secrets in state output, the suite's testinfra."""
import pathlib
import subprocess
import sys
import tempfile
import time
from xml.etree import ElementTree

import yaml

from tests.integration.glance_checks import pillar_secrets as secrets_in

from . import REPO_ROOT
from .podman import env as podman_env


def pillar_secrets(node):
    """Values of password-like keys in NODE's pillar, to look for in output."""
    data = [node.pillars.get(k) for k in node.pillars if k != "top.sls"]
    for src in node.pillar_files.values():
        data.append(yaml.safe_load((REPO_ROOT / src).read_text()))
    return secrets_in(*data)


def run_verifier(container, verifier_dir, env_vars=None):
    """The suite's testinfra tests (VERIFIER_DIR: a directory, or a list of
    test files) against CONTAINER, in a pytest of their own; ENV_VARS are
    added to its environment. Returns the process, its
    seconds and the seconds of its Tempest tests (test_tempest*)."""
    with tempfile.TemporaryDirectory(prefix="glance-verifier-") as tmp:
        junit = pathlib.Path(tmp) / "junit.xml"
        # --durations: the slowest tests in the unit's log, where the time goes.
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--tb=short", "--durations=12",
               f"--junitxml={junit}", f"--hosts=podman://{container}",
               *([verifier_dir] if isinstance(verifier_dir, str) else verifier_dir)]
        # Not the options of the pytest that runs the converges (`make
        # test` names its JUnit report there): this one writes its own.
        env = {k: v for k, v in podman_env().items() if k != "PYTEST_ADDOPTS"}
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env={**env, **(env_vars or {})}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
        seconds = time.monotonic() - start
        return proc, seconds, tempest_seconds(junit)


def tempest_seconds(junit):
    """Seconds of the test_tempest* test cases of a JUnit XML report (0 when
    it has none or was not written)."""
    try:
        root = ElementTree.parse(junit).getroot()
    except (OSError, ElementTree.ParseError):
        return 0.0
    return sum(float(case.get("time") or 0) for case in root.iter("testcase")
               if case.get("name", "").startswith("test_tempest"))
