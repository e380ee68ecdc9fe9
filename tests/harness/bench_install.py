"""`make bench BENCH=install`: the first converge of Glance from PyPI
against Glance from the distribution's packages, the same suite on the
same platform (prints figures; asserts nothing).

The `pypi` suite group of .kitchen.yml on one platform, twice, each time on
new containers: the controller's services first (not measured), then the
Glance node's first `state.apply` with the suite's pillar (Glance 2026.2
from PyPI) and with the same pillar but install:method packages and the
platform's own release. Prints both first applies, their ratio (target:
at most 1.5), the seconds the virtualenv's state took, and the
virtualenv's size on disk.

    python -m tests.harness.bench_install [--platform debian-12] [--rounds 1]
"""
import argparse
import statistics
import sys

from . import images, kitchen
from .containers import Deployment, keep_containers
from .podman import exec_
from .salt import describe, state_apply

GROUP = "pypi"
VENV_STATE = "glance-server-install-pypi-venv-installed"
# The suite's pillar with the distribution's Glance: the release the
# platform packages (version unset), the same services and stores.
PACKAGES = {"glance": {"server": {"version": None, "install": {"method": "packages"}}}}
TARGET = 1.5


def first_apply(platform, pillar):
    """(seconds of the Glance node's first apply, seconds of the venv state
    or None, the venv's size or None) on new containers."""
    [group] = kitchen.select([GROUP])
    controller, glance = group.nodes
    deployment = Deployment(group, platform, images.ensure_base_image(platform), images.ensure_services_image(platform))
    try:
        deployment.start()
        services = state_apply(deployment.container(controller), controller.name, "services",
                               env_vars=deployment.salt_env())
        if services.errors or services.failed():
            raise SystemExit("the controller's services failed:\n" + describe(services.failed()))
        run = state_apply(deployment.container(glance), glance.name, "first apply", env_vars=deployment.salt_env(),
                          pillar=pillar)
        if run.errors or run.failed():
            raise SystemExit("the first apply failed:\n" + ("\n".join(run.errors) or describe(run.failed())))
        venv = next((s for s in run.states.values() if s.get("__id__") == VENV_STATE), None)
        size = None
        if venv:
            du = exec_(deployment.container(glance), "du", "-sm", "--dereference-args", venv["name"], check=False)
            size = int(du.stdout.split()[0]) if du.returncode == 0 else None
        return run.seconds, (float(venv["duration"]) / 1000 if venv else None), size
    finally:
        if not keep_containers():
            deployment.remove()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", default="debian-12")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    pypi, packages = [], []
    for round_ in range(1, args.rounds + 1):
        seconds, venv_seconds, size = first_apply(args.platform, None)
        pypi.append(seconds)
        print(f"[bench install] round {round_}: PyPI first apply {seconds:.1f} s (virtualenv state "
              f"{venv_seconds:.1f} s, virtualenv {size} MiB)", flush=True)
        seconds, _, _ = first_apply(args.platform, PACKAGES)
        packages.append(seconds)
        print(f"[bench install] round {round_}: packages first apply {seconds:.1f} s", flush=True)
    ratio = statistics.median(pypi) / statistics.median(packages)
    print(f"[bench install] {args.platform}: first apply of the Glance node, median of {args.rounds}: PyPI "
          f"{statistics.median(pypi):.1f} s, packages {statistics.median(packages):.1f} s, ratio {ratio:.2f} "
          f"(target: at most {TARGET})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
