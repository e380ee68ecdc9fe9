"""Containers of one suite group on one platform: network, nodes.

Each node is a systemd container of the platform's base image with a
snapshot of the repository mounted read-only as Salt's file root, a generated minion
configuration, top file and pillar (the suite's, from .kitchen.yml).
"""
import hashlib
import json
import os
import re
import shutil
import time

import yaml

from . import CACHE_DIR, REPO_ROOT, caches
from . import master as salt_master
from .images import HOST_CA_BUNDLE
from .podman import PodmanError, exec_, exists, podman

FORMULA_MOUNT = "/srv/formula"
HARNESS_MOUNT = "/srv/harness"
DEPS_MOUNT = "/srv/dependencies"
CA_MOUNT = "/etc/ssl/host-ca.crt"

# The file root is the repository root; keep Salt's file server out of the
# directories that are not Salt files.
# Salt matches them against paths relative to the file root.
FILE_IGNORE_REGEX = [r"(^|/)\.git($|/)", r"(^|/)\.venv($|/)", r"(^|/)\.cache($|/)",
                     r"(^|/)\.kitchen($|/)", r"(^|/)\.pytest_cache($|/)", r"(^|/)__pycache__($|/)"]


# Not copied into the run's snapshot of the repository.
SNAPSHOT_IGNORE = (".git", ".venv", ".cache", ".kitchen", ".pytest_cache", "__pycache__", "*.pyc")


def wait_for_systemd(container, timeout=120):
    """Wait until systemd in CONTAINER has booted. A `degraded` boot is an
    error naming the failed units: a unit that fails before the formula runs
    would hide, or be blamed on, what the formula does."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = exec_(container, "systemctl", "is-system-running", check=False).stdout.strip()
        if state == "running":
            return
        if state == "degraded":
            failed = exec_(container, "systemctl", "--failed", "--no-legend", "--plain", check=False).stdout
            raise PodmanError(f"{container}: systemd booted degraded; failed units:\n{failed.rstrip()}")
        time.sleep(1)
    raise PodmanError(f"{container}: systemd did not finish booting in {timeout}s (state {state!r})")


def keep_containers():
    return os.environ.get("KEEP_CONTAINERS", "") not in ("", "0", "false", "no")


def _slug(text):
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


class Deployment:
    """Create with `start()`, remove with `remove()`."""

    def __init__(self, group, platform, image, service_image=None):
        self.group = group
        self.platform = platform
        self.image = image
        # For service hosts (kitchen.Node.service_host), when given.
        self.service_image = service_image
        # The checkout's hash keeps runs of two checkouts on one host apart.
        checkout = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:4]
        self.prefix = f"glance-{checkout}-{_slug(group.name)}-{platform}"
        self.network = self.prefix
        self.workdir = CACHE_DIR / "run" / self.prefix
        self.containers = {}  # node name -> container name
        # The node that runs salt-master, for groups driven through one
        # (tests/harness/master.py); None for masterless groups.
        self.master = salt_master.master_node(group)

    # -- naming ---------------------------------------------------------
    def container(self, node):
        return self.containers[node.name]

    # -- lifecycle ------------------------------------------------------
    def start(self):
        self._remove_stale()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self._snapshot()
        podman("network", "create", self.network)
        for node in self.group.nodes:
            self._run(node)
        for node in self.group.nodes:
            wait_for_systemd(self.container(node))

    def remove(self):
        for name in self.containers.values():
            # What it downloaded, for the next containers (caches.py).
            caches.harvest(name, self.platform)
            podman("rm", "-f", "-t", "5", name, check=False)
        podman("network", "rm", "-f", self.network, check=False)

    def _remove_stale(self):
        """Leftovers of an earlier run kept with KEEP_CONTAINERS or killed."""
        names = podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
        for name in names:
            if name.startswith(self.prefix + "-"):
                podman("rm", "-f", "-t", "5", name)
        if exists("network", self.network):
            podman("network", "rm", "-f", self.network)

    def _snapshot(self):
        """Copy of the working tree that every node and apply of this run
        reads, so edits made while the suite runs cannot change it midway."""
        self.formula = self.workdir / "formula"
        shutil.copytree(REPO_ROOT, self.formula, symlinks=True,
                        ignore=shutil.ignore_patterns(*SNAPSHOT_IGNORE))

    def _run(self, node):
        name = f"{self.prefix}-{_slug(node.name)}"
        self.containers[node.name] = name
        config_dir = self._write_config(node)
        hostname = node.hostname or _slug(node.name)
        args = [
            "run", "-d", "--name", name, "--hostname", hostname,
            "--systemd=always", "--runtime", "runc",
            "--network", self.network,
            "-v", f"{self.formula}:{FORMULA_MOUNT}:ro",
            "-v", f"{config_dir / 'minion.d'}:/etc/salt/minion.d:ro",
            "-v", f"{config_dir / 'harness'}:{HARNESS_MOUNT}:ro",
        ]
        for dep_name, path in node.dependencies.items():
            args += ["-v", f"{self.formula / path}:{DEPS_MOUNT}/{dep_name}:ro"]
        aliases = list(node.aliases)
        if self.group.network and hostname not in aliases:
            # Nodes of a network reach each other by host name too (the
            # orchestration checks each API node by its minion id).
            aliases.append(hostname)
        for alias in aliases:
            args += ["--network-alias", alias]
        for spec in node.tmpfs:
            args += ["--tmpfs", spec]
        args += caches.run_args(self.platform)
        if self.master is node:
            args += ["-v", f"{config_dir / 'master.d'}:/etc/salt/master.d:ro"]
        if HOST_CA_BUNDLE.is_file():
            # In the container's environment, so that every exec has it: the
            # suites' testinfra tests apply states that pip-install too.
            args += ["-v", f"{HOST_CA_BUNDLE}:{CA_MOUNT}:ro", "-e", f"PIP_CERT={CA_MOUNT}"]
        image = self.service_image if node.service_host and self.service_image else self.image
        args += [image, "/sbin/init"]
        podman(*args)

    def _write_config(self, node):
        root = self.workdir / _slug(node.name)
        (root / "minion.d").mkdir(parents=True)
        (root / "harness" / "salt").mkdir(parents=True)
        (root / "harness" / "pillar").mkdir(parents=True)
        minion = {
            "id": node.hostname or _slug(node.name),
            "file_client": "local",
            # The generated top file's directory comes first, so a top.sls
            # in the repository cannot shadow it. (Renaming it with
            # `state_top` would rename the pillar's top file too.)
            "file_roots": {"base": [f"{HARNESS_MOUNT}/salt", FORMULA_MOUNT]
                           + ([DEPS_MOUNT] if node.dependencies else [])},
            "pillar_roots": {"base": [f"{HARNESS_MOUNT}/pillar"]},
            "file_ignore_regex": FILE_IGNORE_REGEX,
            "log_level_logfile": "info",
        }
        if self.master is not None and node is not self.master:
            # A minion of the group's master; salt-call --local still finds
            # the file root and the suite's pillar on the node itself.
            del minion["file_client"]
            minion.update(salt_master.minion_config(self.master))
        _dump(root / "minion.d" / "harness.conf", minion)
        if self.master is node:
            (root / "master.d").mkdir()
            salt_master.write_master_pillar(root / "harness", self.group, node, self.formula)
            _dump(root / "master.d" / "harness.conf", salt_master.master_config(
                [FORMULA_MOUNT], f"{HARNESS_MOUNT}/{salt_master.MASTER_PILLAR}", FILE_IGNORE_REGEX, node))
        _dump(root / "harness" / "salt" / "top.sls", node.state_top)
        pillars = dict(node.pillars)
        pillars.setdefault("top.sls", {"base": {}} if not node.pillar_files else
                           {"base": {"*": [n[:-4] for n in node.pillar_files]}})
        for fname, content in pillars.items():
            _dump(root / "harness" / "pillar" / fname, content)
        for fname, src in node.pillar_files.items():
            shutil.copyfile(self.formula / src, root / "harness" / "pillar" / fname)
        return root

    def check_pillar(self, node):
        """Fail early when the suite's pillar does not reach the minion
        (only key names are compared and shown, never values)."""
        expected = set()
        for src in node.pillar_files.values():
            expected |= set(yaml.safe_load((self.formula / src).read_text()) or {})
        for fname, content in node.pillars.items():
            if fname != "top.sls" and isinstance(content, dict):
                expected |= set(content)
        if self.master is not None and node is not self.master:
            salt_master.check_pillar(self, self.master, node, expected)
            return
        proc = exec_(self.container(node), "salt-call", "--local", "--out=json",
                     "--log-level=quiet", "pillar.items", check=False)
        try:
            pillar = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError, TypeError):
            raise PodmanError(f"{node.name}: pillar.items printed no JSON (exit {proc.returncode})") from None
        problems = []
        if pillar.get("_errors"):
            problems.append("pillar errors: " + " | ".join(str(e)[:200] for e in pillar["_errors"]))
        missing = expected - set(pillar)
        if missing:
            problems.append(f"pillar keys missing on the minion: {sorted(missing)}")
        if problems:
            raise PodmanError(f"{node.name}: " + "; ".join(problems))

    def salt_env(self):
        """Environment for salt-call: pip reaches PyPI through the host CA."""
        return {"PIP_CERT": CA_MOUNT} if HOST_CA_BUNDLE.is_file() else {}


def _dump(path, data):
    with open(path, "w") as fh:
        yaml.safe_dump(data, fh, default_flow_style=False, sort_keys=False)
