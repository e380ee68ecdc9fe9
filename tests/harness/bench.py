"""`make bench`: the image seeding benchmark (tests/bench/bench_images.py)
on a converged host.

Converges the `single` suite of .kitchen.yml (or, with --suite single-ceph,
the one whose images go to Ceph RBD) on one platform in a systemd
container of the harness's base image (or, with --container, uses one that
is already converged, such as a container kept with KEEP_CONTAINERS=1), then
runs the benchmark inside it as the glance service user of the suite's
pillar, with the openstack CLI for the by-hand upload. Prints the
benchmark's figures; the container is removed afterwards unless
KEEP_CONTAINERS is set.

    python -m tests.harness.bench [--platform debian-12] [--container NAME] [-- BENCH ARGS]
"""
import argparse
import shlex
import sys

import yaml

from tests.integration.glance_checks import glance_user_env

from . import REPO_ROOT, images, kitchen
from .containers import FORMULA_MOUNT, Deployment, keep_containers
from .podman import podman
from .salt import describe, state_apply

# The suites the benchmark runs on, and their targets of the ratio state / by
# hand: into Ceph, the by-hand way pays for its full download before the
# upload begins, which the state overlaps with the upload.
RATIO_TARGETS = {"single": "1.0", "single-ceph": "0.8"}
OPENRC = "/root/.glance-bench-openrc"


def _openrc(pillar_file):
    """OS_* settings of the suite's glance service user (Keystone v3)."""
    server = yaml.safe_load((REPO_ROOT / pillar_file).read_text())["glance"]["server"]
    settings = glance_user_env(server, endpoint=None)
    return "".join(f"export {key}={shlex.quote(str(value))}\n" for key, value in settings.items())


def _run_bench(container, pillar_file, bench_args):
    # curl for the by-hand download (the suite does not need it otherwise).
    podman("exec", container, "sh", "-c", "command -v curl >/dev/null || "
           "(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl)")
    # The password goes through standard input into a root-only file, never
    # onto a command line.
    podman("exec", "-i", container, "sh", "-c", f"umask 077 && cat > {OPENRC}", input=_openrc(pillar_file))
    script = f"{FORMULA_MOUNT}/tests/bench/bench_images.py"
    command = (f". {OPENRC} && python3 {script} --salt-call 'salt-call --local' "
               f"--formula-dir {FORMULA_MOUNT} " + " ".join(shlex.quote(a) for a in bench_args))
    print(f"[bench] {container}: {script} {' '.join(bench_args)}", flush=True)
    return podman("exec", container, "sh", "-c", command, check=False, capture=False).returncode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default="debian-12")
    parser.add_argument("--suite", default="single", choices=sorted(RATIO_TARGETS))
    parser.add_argument("--container", help="an already converged single-suite container")
    parser.add_argument("bench_args", nargs="*", help="arguments of bench_images.py (after --)")
    args = parser.parse_args(argv)

    bench_args = ["--ratio-target", RATIO_TARGETS[args.suite]] + args.bench_args
    [group] = kitchen.select([args.suite])
    [node] = group.nodes
    pillar_file = node.pillar_files["glance.sls"]
    if args.container:
        return _run_bench(args.container, pillar_file, bench_args)

    deployment = Deployment(group, args.platform, images.ensure_base_image(args.platform))
    try:
        deployment.start()
        container = deployment.container(node)
        run = state_apply(container, node.name, "converge", env_vars=deployment.salt_env())
        print(f"[bench] {container}: converged in {run.seconds:.0f}s", flush=True)
        if run.errors or run.failed():
            print("the converge failed:\n" + ("\n".join(run.errors) or describe(run.failed())), flush=True)
            return 1
        return _run_bench(container, pillar_file, bench_args)
    finally:
        if keep_containers():
            print(f"KEEP_CONTAINERS set: leaving {list(deployment.containers.values())}", flush=True)
        else:
            deployment.remove()


if __name__ == "__main__":
    sys.exit(main())
