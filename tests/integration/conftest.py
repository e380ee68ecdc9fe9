"""Fixtures of the converge harness (see tests/harness).

`tests/integration/test_converge.py` is parametrised with every suite group
of .kitchen.yml on every platform the harness can run, narrowed by the
environment variables SUITE and PLATFORM (space or comma separated). The
suites' own testinfra tests (tests/integration/<suite>/) do not use these
fixtures: they get testinfra's `host`, here through --hosts=podman://...,
for Kitchen users through --hosts=docker://....
"""
import os
import pathlib
import re
import sys
import time

import pytest

# The harness package lives at tests/harness; make it importable however
# pytest was started.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.harness import images, kitchen, report  # noqa: E402
from tests.harness.containers import Deployment, keep_containers  # noqa: E402
from tests.harness.salt import state_apply  # noqa: E402


def _wanted(var):
    return [w for w in re.split(r"[\s,]+", os.environ.get(var, "")) if w]


def scenarios():
    """[(group, platform)] to run; unknown names raise (never run nothing)."""
    config = kitchen.load()
    groups = kitchen.select(_wanted("SUITE"), config)
    declared = kitchen.platforms(config)
    runnable = [p for p in declared if p in images.PLATFORMS]
    platforms = _wanted("PLATFORM") or runnable
    for platform in platforms:
        if platform not in declared:
            raise ValueError(f"platform {platform!r} is not in .kitchen.yml ({declared})")
        if platform not in images.PLATFORMS:
            raise ValueError(f"platform {platform!r} cannot run here; the harness runs {runnable}")
    return [(g, p) for p in platforms for g in groups]


def _runs_converge(config):
    return any("test_converge" in str(arg) for arg in config.args)


def pytest_configure(config):
    if _runs_converge(config):
        # One id for this run, shared with xdist workers through the
        # environment (and not with the suites' own testinfra runs).
        if not (os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("CONVERGE_RUN_ID")):
            os.environ["CONVERGE_RUN_ID"] = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"


def pytest_generate_tests(metafunc):
    if "scenario" in metafunc.fixturenames:
        values = scenarios()
        metafunc.parametrize("scenario", values, scope="module",
                             ids=[f"{g.name}-{p}" for g, p in values])


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    # With pytest-xdist --dist loadgroup, one worker takes one platform; the
    # marker must be there before xdist reads it.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and "scenario" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(name=callspec.params["scenario"][1]))


def pytest_terminal_summary(terminalreporter, config):
    run_id = os.environ.get("CONVERGE_RUN_ID")
    if _runs_converge(config) and report.TIMES.exists() and run_id:
        text = report.summary(run_id)
        if not text.startswith("no converge"):
            terminalreporter.write_sep("=", "converge wall times (seconds)")
            terminalreporter.write_line(text)


class Converge:
    """Applies of one group on one platform, in the two-apply protocol."""

    def __init__(self, deployment):
        self.deployment = deployment
        self.runs = {}  # (node name, label) -> StateRun

    def apply(self, node, label, test=False):
        dep = self.deployment
        run = state_apply(dep.container(node), node.name, label, test=test, env_vars=dep.salt_env())
        self.runs[(node.name, label)] = run
        report.record(os.environ["CONVERGE_RUN_ID"], group=dep.group.name, platform=dep.platform,
                      node=node.name, step=label, seconds=round(run.seconds, 1), retcode=run.retcode)
        print(f"[{dep.platform}] {node.name}: {label} took {run.seconds:.0f}s "
              f"(exit {run.retcode}, {len(run.states)} states, {len(run.changed())} changed; "
              f"slowest: {run.slowest()})", flush=True)
        return run

    def protocol(self):
        nodes = self.deployment.group.nodes
        # Nodes converge in the order .kitchen.yml lists them (a controller
        # before the API nodes that need it).
        for node in nodes:
            self.apply(node, "first apply")
        for node in nodes:
            self.apply(node, "second apply")
        for node in nodes:
            self.apply(node, "test=True apply", test=True)


@pytest.fixture(scope="module")
def converged(scenario):
    group, platform = scenario
    image = images.ensure_base_image(platform)
    if platform in images.BUILT:
        report.record(os.environ["CONVERGE_RUN_ID"], group="-", platform=platform, node="-",
                      step="base image build", seconds=round(images.BUILT.pop(platform), 1))
    deployment = Deployment(group, platform, image)
    try:
        start = time.monotonic()
        deployment.start()
        report.record(os.environ["CONVERGE_RUN_ID"], group=group.name, platform=platform,
                      node="*", step="containers up", seconds=round(time.monotonic() - start, 1))
        result = Converge(deployment)
        result.protocol()
        yield result
    finally:
        if keep_containers():
            print(f"KEEP_CONTAINERS set: leaving {list(deployment.containers.values())} "
                  f"on network {deployment.network}", flush=True)
        else:
            deployment.remove()
