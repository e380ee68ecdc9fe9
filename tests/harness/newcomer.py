"""The newcomer's host: `make deploy` run as README.rst tells a user to.

A systemd container of the newcomer image (tests/images/Containerfile.newcomer:
Debian with git, make, python3 and python3-venv; no compiler, no Salt). A
snapshot of the working tree becomes a one-commit git repository on the
host, mounted read-only into the container and cloned there, so the clone
holds what a user would get once the working tree's edits are committed.
"""
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import time

import pytest

from . import CACHE_DIR, REPO_ROOT, caches, images, report
from .containers import CA_MOUNT, SNAPSHOT_IGNORE, keep_containers, wait_for_systemd
from .images import HOST_CA_BUNDLE
from .podman import PodmanError, env, exec_, exists, podman
from .verify import run_verifier

SOURCE_MOUNT = "/srv/glance-formula.git"
CLONE = "/root/glance-formula"
# The last lines of a deploy that ran the formula (tools/deploy.py).
SUMMARY = re.compile(r"^glance: (?P<states>\d+) states, (?P<changed>\d+) changed, "
                     r"(?P<failed>\d+) failed in (?P<seconds>[\d.]+) s$")
# Salt's log records of these levels: its console lines start with the
# level tag ("[WARNING ] ..."); a tool that reprints records from Salt's log
# file may put the tag after a prefix ("Salt logged: [WARNING] ...").
SALT_LOG_PROBLEM = re.compile(r"^\[(ERROR|WARNING)|\[(ERROR|WARNING|CRITICAL)\s*\]")
# Who commits the snapshot; a fixed identity keeps the host's git
# configuration out of it.
GIT_IDENTITY = ["-c", "user.name=glance-formula tests", "-c", "user.email=tests@glance-formula.invalid"]


@dataclasses.dataclass
class DeployRun:
    """One `make deploy`: exit status, wall time and everything it printed
    (standard output and standard error interleaved, as on a terminal)."""

    label: str
    returncode: int
    seconds: float
    output: str

    @property
    def lines(self):
        return self.output.splitlines()

    def summary(self):
        """{states, changed, failed} of the summary line, or None."""
        for line in reversed(self.lines):
            match = SUMMARY.match(line.strip())
            if match:
                return {key: int(match[key]) for key in ("states", "changed", "failed")}
        return None

    def summary_line(self):
        return next((line.strip() for line in reversed(self.lines) if SUMMARY.match(line.strip())), None)

    def succeeded(self):
        summary = self.summary()
        return self.returncode == 0 and summary is not None and summary["failed"] == 0

    def salt_problems(self):
        """Lines that are Salt's error or warning log records."""
        return [line for line in self.lines if SALT_LOG_PROBLEM.search(line)]

    def suggested_commands(self):
        """The commands the deploy tells the user to try (indented lines
        after its summary)."""
        return [line.strip() for line in self.lines if line.startswith("  curl ")]

    def tail(self, count=80):
        return "\n".join(self.lines[-count:])


class NewcomerHost:
    """Create with `start()`, remove with `remove()`."""

    def __init__(self, platform, image):
        self.platform = platform
        self.image = image
        # The checkout's hash keeps runs of two checkouts on one host apart.
        checkout = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:4]
        self.name = f"glance-{checkout}-newcomer-{platform}"
        self.network = self.name
        self.workdir = CACHE_DIR / "run" / self.name

    def start(self):
        self._remove_stale()
        shutil.rmtree(self.workdir, ignore_errors=True)
        source = self._source_repository()
        podman("network", "create", self.network)
        args = ["run", "-d", "--name", self.name, "--hostname", "newcomer",
                "--systemd=always", "--runtime", "runc", "--network", self.network,
                "-v", f"{source}:{SOURCE_MOUNT}:ro", *caches.run_args(self.platform)]
        if HOST_CA_BUNDLE.is_file():
            # In the container's environment too, so that the testinfra
            # tests' salt-call runs (their states may pip-install) have it.
            args += ["-v", f"{HOST_CA_BUNDLE}:{CA_MOUNT}:ro", "-e", f"PIP_CERT={CA_MOUNT}"]
        podman(*args, self.image, "/sbin/init")
        wait_for_systemd(self.name)
        # A transport clone (file://), as from a remote, not a local hardlinked copy.
        exec_(self.name, "git", "clone", "--quiet", f"file://{SOURCE_MOUNT}", CLONE)

    def remove(self):
        if exists("container", self.name):
            caches.harvest(self.name, self.platform)
        podman("rm", "-f", "-t", "5", self.name, check=False)
        podman("network", "rm", "-f", self.network, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _remove_stale(self):
        """Leftovers of an earlier run kept with KEEP_CONTAINERS or killed."""
        if exists("container", self.name):
            podman("rm", "-f", "-t", "5", self.name)
        if exists("network", self.network):
            podman("network", "rm", "-f", self.network)

    def _source_repository(self):
        """The working tree as it is now (uncommitted edits and new files
        that .gitignore does not exclude), committed into a repository of its own."""
        source = self.workdir / "glance-formula"
        shutil.copytree(REPO_ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*SNAPSHOT_IGNORE))
        # Neither the host's git configuration nor its hooks take part.
        git_env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
        for command in (["init", "--quiet"], ["add", "--all"],
                        [*GIT_IDENTITY, "commit", "--quiet", "--no-verify", "-m", "working tree snapshot"]):
            proc = subprocess.run(["git", *command], cwd=source, env=git_env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if proc.returncode != 0:
                raise PodmanError(f"git {' '.join(command)} in {source} exited {proc.returncode}:\n{proc.stdout}")
        return source

    def deploy(self, label, make_args=(), timeout=3600):
        """`make deploy [MAKE_ARGS]` as root in the clone, without a
        terminal; pip reaches PyPI through the host's CA bundle (PIP_CERT)."""
        pip_cert = ["-e", f"PIP_CERT={CA_MOUNT}"] if HOST_CA_BUNDLE.is_file() else []
        cmd = ["podman", "exec", *pip_cert, "--workdir", CLONE, self.name, "make", "deploy", *make_args]
        start = time.monotonic()
        proc = subprocess.run(cmd, env=env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
        return DeployRun(label=label, returncode=proc.returncode, seconds=time.monotonic() - start,
                         output=proc.stdout)

    def install_test_tools(self):
        """What the checks need on the host and a bare one lacks: `ss` for
        testinfra's socket checks, curl for the command the deploy suggests
        (it says how to get curl). Installed after the first deploy, so that
        deploy meets the bare host."""
        if exec_(self.name, "sh", "-c", "command -v ss && command -v curl", check=False).returncode == 0:
            return
        exec_(self.name, "sh", "-c", "apt-get update -qq && apt-get install -y -qq iproute2 curl >/dev/null",
              env_vars={"DEBIAN_FRONTEND": "noninteractive"}, timeout=600)

    def run_shell(self, command):
        return exec_(self.name, "sh", "-c", command, check=False, timeout=60)


# The standalone suite's testinfra tests of what a deploy leaves (service,
# schema, images, import), run against the newcomer's host. Its fault tests
# (test_faults.py) exercise the formula's states, not the deploy, and run in
# the standalone suite on the same platform; here they would only repeat.
STANDALONE_TESTS = [f"tests/integration/standalone/{name}.py"
                    for name in ("test_standalone", "test_images", "test_import")]
FIRST, SECOND = "first deploy", "second deploy"
# Then, on a new bare host, the README's PyPI form.
PYPI_RELEASE = "2026.2"
PYPI_ARGS = (f"PYPI={PYPI_RELEASE}",)
PYPI_FIRST, PYPI_SECOND = f"first deploy PYPI={PYPI_RELEASE}", f"second deploy PYPI={PYPI_RELEASE}"


class NewcomerRun:
    """The check's steps on one platform, in order; a step runs only when
    the one it needs succeeded."""

    def __init__(self, host, log=print):
        self.host = host
        self.log = log
        self.deploys = {}  # label -> DeployRun
        self.testinfra = None  # (CompletedProcess, seconds)
        # The command the first deploy suggests, run as printed: (command,
        # CompletedProcess), or None when it suggested none.
        self.suggested = None
        # Likewise after the first PyPI deploy, and what serves then
        # (the virtualenv's link and glance-api's ExecStart).
        self.pypi_suggested = None
        self.pypi_serving = None

    def record(self, step, seconds, **fields):
        report.record(os.environ["CONVERGE_RUN_ID"], group="newcomer", platform=self.host.platform,
                      node="-", step=step, seconds=round(seconds, 1), **fields)

    def deploy(self, label, make_args=()):
        run = self.host.deploy(label, make_args)
        self.deploys[label] = run
        self.record(label, run.seconds, retcode=run.returncode, lines=len(run.lines))
        self.log(f"[newcomer {self.host.platform}] {label}: exit {run.returncode} in {run.seconds:.0f}s, "
                 f"{len(run.lines)} lines printed; {run.summary_line() or 'no summary line'}\n"
                 f"----- output of {label} -----\n{run.output}----- end of {label} -----")
        return run

    def protocol(self):
        if not self.deploy(FIRST).succeeded():
            return
        self.host.install_test_tools()
        proc, seconds, _ = run_verifier(self.host.name, STANDALONE_TESTS, env_vars={"GLANCE_DEPLOY_CLONE": CLONE})
        self.testinfra = (proc, seconds)
        self.record("testinfra", seconds, retcode=proc.returncode)
        self.log(f"[newcomer {self.host.platform}] testinfra {' '.join(STANDALONE_TESTS)} exit {proc.returncode} "
                 f"in {seconds:.0f}s\n{proc.stdout}")
        commands = self.deploys[FIRST].suggested_commands()
        if commands:
            self.suggested = (commands[0], self.host.run_shell(commands[0]))
        self.deploy(SECOND)
        # The PyPI form starts from a bare host too.
        self.host.remove()
        self.host.start()
        if not self.deploy(PYPI_FIRST, PYPI_ARGS).succeeded():
            return
        self.host.install_test_tools()
        commands = self.deploys[PYPI_FIRST].suggested_commands()
        if commands:
            self.pypi_suggested = (commands[0], self.host.run_shell(commands[0]))
        self.pypi_serving = self.host.run_shell(
            f"readlink /opt/glance/{PYPI_RELEASE} && systemctl show -p ExecStart --value glance-api")
        self.deploy(PYPI_SECOND, PYPI_ARGS)

    def ran(self, label):
        if label not in self.deploys:
            pytest.fail(f"{label} did not run: the first deploy failed (see test_first_deploy_succeeds)",
                        pytrace=False)
        return self.deploys[label]


def newcomer_unit(platform):
    """The unit's work: image, host, the deploys and checks, removal."""

    def work(unit):
        image = images.ensure_newcomer_image(platform)
        host = NewcomerHost(platform, image)
        result = NewcomerRun(host, log=unit.log)
        for kind, _, seconds in images.take_built():
            result.record(f"{kind} image build" if kind != "newcomer" else "image build", seconds)
        try:
            start = time.monotonic()
            host.start()
            result.record("container up", time.monotonic() - start)
            result.protocol()
        finally:
            if keep_containers():
                unit.log(f"KEEP_CONTAINERS set: leaving {host.name} on network {host.network}")
            else:
                host.remove()
        return result

    return work
