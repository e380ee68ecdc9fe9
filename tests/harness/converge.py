"""One suite group on one platform, converged and verified: the work of a
converge unit (tests/harness/schedule.py), whose results the tests of
tests/integration/test_converge.py check.

The two-apply protocol: first applies (in .kitchen.yml's order, nodes that
share a network alias together), a second apply and a test=True apply of
every node, through the group's salt-master where it has one (master.py);
then each node's testinfra tests; every step's time goes to report.py.
"""
import concurrent.futures
import os
import time

from . import REPO_ROOT, images, report
from . import master as salt_master
from .containers import Deployment, keep_containers
from .salt import state_apply
from .verify import run_verifier


class Converge:
    """Applies of one group on one platform, in the two-apply protocol."""

    def __init__(self, deployment, log=print):
        self.deployment = deployment
        self.log = log
        self.runs = {}  # (node name, label) -> StateRun
        self.testinfra = {}  # node name -> (CompletedProcess, seconds)

    def apply(self, node, label, test=False):
        dep = self.deployment
        run = state_apply(dep.container(node), node.name, label, test=test, env_vars=dep.salt_env())
        self.runs[(node.name, label)] = run
        if label == "first apply":
            self.record_services(run)
        report.record(os.environ["CONVERGE_RUN_ID"], group=dep.group.name, platform=dep.platform,
                      node=node.name, step=label, seconds=round(run.seconds, 1), retcode=run.retcode)
        self.log(f"[{dep.platform}] {node.name}: {label} took {run.seconds:.0f}s "
                 f"(exit {run.retcode}, {len(run.states)} states, {len(run.changed())} changed; "
                 f"slowest: {run.slowest()})")
        return run

    def phase(self, label, seconds):
        """The wall time of a phase of the whole group (its nodes may apply
        at the same time)."""
        dep = self.deployment
        report.record(os.environ["CONVERGE_RUN_ID"], group=dep.group.name, platform=dep.platform,
                      node=report.GROUP, step=label, seconds=round(seconds, 1))

    def record_services(self, run):
        """The test services' share of a first apply (states of test_services.*)."""
        seconds = run.seconds_in_sls("test_services")
        if seconds:
            dep = self.deployment
            report.record(os.environ["CONVERGE_RUN_ID"], group=dep.group.name, platform=dep.platform,
                          node=run.node, step="services", seconds=round(seconds, 1))

    def record(self, run):
        """Keep and report a run made elsewhere (an orchestration's, per node)."""
        dep = self.deployment
        self.runs[(run.node, run.label)] = run
        report.record(os.environ["CONVERGE_RUN_ID"], group=dep.group.name, platform=dep.platform,
                      node=run.node, step=run.label, seconds=round(run.seconds, 1), retcode=run.retcode)
        self.log(f"[{dep.platform}] {run.node}: {run.label} (orchestration, {run.seconds:.0f}s in all) "
                 f"(exit {run.retcode}, {len(run.states)} states, {len(run.changed())} changed; "
                 f"slowest: {run.slowest()})")

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
        started = time.monotonic()
        for batch in _alias_batches(nodes):
            with concurrent.futures.ThreadPoolExecutor(len(batch)) as pool:
                list(pool.map(lambda node: self.apply(node, "first apply"), batch))
            for node in batch:
                states = self.runs[(node.name, "first apply")].states.values()
                # Its last try passes on `unless`, so the duration (not
                # changes) shows how long it waited.
                waited = next((v for v in states if v.get("__id__") == SCHEMA_WAIT), None)
                if waited:
                    self.log(f"[{self.deployment.platform}] {node.name}: waited "
                             f"{float(waited.get('duration') or 0) / 1000:.0f}s for the primary's schema")
        self.phase("first apply", time.monotonic() - started)
        for label, test in (("second apply", False), ("test=True apply", True)):
            # Once converged, every node applies at the same time: none is
            # meant to change anything another one uses.
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
                for future in [pool.submit(self.apply, node, label, test=test) for node in nodes]:
                    future.result()
            self.phase(label, time.monotonic() - started)

    def verify(self):
        """The testinfra tests of each node that names a directory."""
        dep = self.deployment
        for node in dep.group.nodes:
            if not node.verifier_dir or not (REPO_ROOT / node.verifier_dir).is_dir():
                continue  # the test says so
            proc, seconds, tempest = run_verifier(dep.container(node), node.verifier_dir)
            self.testinfra[node.name] = (proc, seconds)
            report.record(os.environ["CONVERGE_RUN_ID"], group=dep.group.name, platform=dep.platform,
                          node=node.name, step="testinfra", seconds=round(seconds, 1), retcode=proc.returncode)
            if tempest:
                report.record(os.environ["CONVERGE_RUN_ID"], group=dep.group.name, platform=dep.platform,
                              node=node.name, step="tempest", seconds=round(tempest, 1))
            self.log(f"[{dep.platform}] {node.name}: testinfra {node.verifier_dir} "
                     f"exit {proc.returncode} in {seconds:.0f}s\n{proc.stdout}")


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



def converge_unit(group, platform):
    """The unit's work: image, containers, protocol, testinfra, removal."""

    def work(unit):
        # Groups driven through a salt-master run the Salt of
        # images.MASTER_SALT_REQUIREMENTS (3006 LTS where its master works).
        image = (images.ensure_master_image(platform) if salt_master.master_node(group)
                 else images.ensure_base_image(platform))
        # Service hosts start with their packages installed: they are not
        # under test (the Glance nodes still start from Salt alone).
        service_image = (images.ensure_services_image(platform)
                         if any(node.service_host for node in group.nodes) else None)
        for kind, built_platform, seconds in images.take_built():
            # On the row of the group that waited for it.
            report.record(os.environ["CONVERGE_RUN_ID"], group=group.name, platform=built_platform,
                          node="-", step=f"{kind} image build", seconds=round(seconds, 1))
        deployment = Deployment(group, platform, image, service_image)
        result = Converge(deployment, log=unit.log)
        try:
            start = time.monotonic()
            deployment.start()
            report.record(os.environ["CONVERGE_RUN_ID"], group=group.name, platform=platform,
                          node=report.GROUP, step="containers up", seconds=round(time.monotonic() - start, 1))
            result.protocol()
            result.verify()
        finally:
            if keep_containers():
                unit.log(f"KEEP_CONTAINERS set: leaving {list(deployment.containers.values())} "
                         f"on network {deployment.network}")
            else:
                deployment.remove()
        return result

    return work
