"""Fixtures of the converge harness (see tests/harness).

`tests/integration/test_converge.py` has a test class per platform,
parametrised with every suite group of .kitchen.yml (see
tests/harness/selection.py for SUITE and PLATFORM);
`tests/integration/test_newcomer.py` (the newcomer check) shares the run's
id and its report of wall times. The
suites' own testinfra tests (tests/integration/<suite>/) do not use these
fixtures: they get testinfra's `host`, here through --hosts=podman://...,
for Kitchen users through --hosts=docker://....
"""
import concurrent.futures
import os
import pathlib
import sys
import time

import pytest

# The harness package lives at tests/harness; make it importable however
# pytest was started.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.harness import images, report  # noqa: E402
from tests.harness import master as salt_master  # noqa: E402
from tests.harness.containers import Deployment, keep_containers  # noqa: E402
from tests.harness.salt import state_apply  # noqa: E402
from tests.harness.selection import not_converged_here, scenarios  # noqa: E402


def _runs_converge(config):
    return any(name in str(arg) for arg in config.args for name in ("test_converge", "test_newcomer"))


def pytest_configure(config):
    if _runs_converge(config):
        # One id for this run, shared with xdist workers through the
        # environment (and not with the suites' own testinfra runs).
        if not (os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("CONVERGE_RUN_ID")):
            os.environ["CONVERGE_RUN_ID"] = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"


def pytest_generate_tests(metafunc):
    if "scenario" in metafunc.fixturenames:
        # Test classes are per platform (see test_converge.py).
        platform = getattr(metafunc.cls, "platform", None)
        values = [pytest.param((g, p), id=f"{g.name}-{p}") for g, p in scenarios(platform)]
        metafunc.parametrize("scenario", values, scope="class")


def pytest_collection_modifyitems(config, items):
    """With SUITE naming only the newcomer check, the converge classes have
    no scenario: leave their tests out instead of collecting them as skipped."""
    unparametrised = [item for item in items if "scenario" in getattr(item, "fixturenames", ())
                      and not scenarios(getattr(item.cls, "platform", None))]
    if unparametrised:
        config.hook.pytest_deselected(items=unparametrised)
        items[:] = [item for item in items if item not in unparametrised]


def skipped_platforms_line():
    skipped = not_converged_here()
    return (f"platforms of .kitchen.yml not converged here (no base image; `make kitchen` runs them): "
            f"{', '.join(skipped)}") if skipped else ""


def pytest_report_header(config):
    return skipped_platforms_line() or None


def pytest_terminal_summary(terminalreporter, config):
    if skipped_platforms_line():
        terminalreporter.write_line(skipped_platforms_line())
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

    def record(self, run):
        """Keep and report a run made elsewhere (an orchestration's, per node)."""
        dep = self.deployment
        self.runs[(run.node, run.label)] = run
        report.record(os.environ["CONVERGE_RUN_ID"], group=dep.group.name, platform=dep.platform,
                      node=run.node, step=run.label, seconds=round(run.seconds, 1), retcode=run.retcode)
        print(f"[{dep.platform}] {run.node}: {run.label} (orchestration, {run.seconds:.0f}s in all) "
              f"(exit {run.retcode}, {len(run.states)} states, {len(run.changed())} changed; "
              f"slowest: {run.slowest()})", flush=True)

    def protocol(self):
        if self.deployment.master is not None:
            # Driven through the group's salt-master (tests/harness/master.py).
            return salt_master.protocol(self)
        nodes = self.deployment.group.nodes
        for node in nodes:
            self.deployment.check_pillar(node)
        # First applies follow the order .kitchen.yml lists the nodes in (a
        # controller before the API nodes that need it), except that nodes
        # answering to the same network alias (a cluster's API nodes) start
        # together: the secondary then really waits for the schema its
        # primary creates.
        for batch in _alias_batches(nodes):
            with concurrent.futures.ThreadPoolExecutor(len(batch)) as pool:
                list(pool.map(lambda node: self.apply(node, "first apply"), batch))
            for node in batch:
                states = self.runs[(node.name, "first apply")].states.values()
                # Its last try passes on `unless`, so the duration (not
                # changes) shows how long it waited.
                waited = next((v for v in states if v.get("__id__") == SCHEMA_WAIT), None)
                if waited:
                    print(f"[{self.deployment.platform}] {node.name}: waited "
                          f"{float(waited.get('duration') or 0) / 1000:.0f}s for the primary's schema",
                          flush=True)
        for node in nodes:
            self.apply(node, "second apply")
        for node in nodes:
            self.apply(node, "test=True apply", test=True)


# The secondary's state that waits for the schema (glance/server/db.sls).
SCHEMA_WAIT = "glance-server-db-wait-for-schema-glance-db-current"


def _alias_batches(nodes):
    """NODES in order, consecutive nodes sharing a network alias batched."""
    batches = []
    for node in nodes:
        if batches and set(node.aliases) & set(batches[-1][-1].aliases):
            batches[-1].append(node)
        else:
            batches.append([node])
    return batches


@pytest.fixture(scope="class")
def converged(scenario):
    group, platform = scenario
    # Groups driven through a salt-master run the Salt of
    # images.MASTER_SALT_REQUIREMENTS (3006 LTS where its master works).
    image = (images.ensure_master_image(platform) if salt_master.master_node(group)
             else images.ensure_base_image(platform))
    for kind in ("base", "master"):
        if (kind, platform) in images.BUILT:
            report.record(os.environ["CONVERGE_RUN_ID"], group="-", platform=platform, node="-",
                          step=f"{kind} image build", seconds=round(images.BUILT.pop((kind, platform)), 1))
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
