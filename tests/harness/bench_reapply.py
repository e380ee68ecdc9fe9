"""`make bench` (second part): what a run that changes nothing costs.

Converges a suite of .kitchen.yml (standalone, single) on a platform in a
systemd container of the harness's base image, then times, inside the
container, RUNS alternating applies of `state.apply glance` (which must
change nothing) and of an empty SLS (Salt's own start-up, pillar and
loader: the floor no formula can go below). Prints the medians and their
ratio per suite and platform. Figures, not a test: nothing is asserted
except that the re-apply changes nothing (a re-apply that changes things
measures something else).

    python -m tests.harness.bench_reapply [--platforms debian-12,debian-13]
        [--suites standalone,single] [--runs 7]
"""
import argparse
import json
import statistics
import sys

from . import images, kitchen
from .containers import Deployment, keep_containers
from .podman import podman
from .salt import describe, state_apply

# Runs inside the container with the system's python3 (stdin, so that no
# file of the container's /tmp shadows a standard module).
TIMER = r"""
import json, os, subprocess, sys, time
runs, salt_call = int(sys.argv[1]), sys.argv[2].split()
empty_root = "/var/tmp/glance-bench-empty"
os.makedirs(empty_root, exist_ok=True)
with open(empty_root + "/nothing.sls", "w") as sls:
    sls.write("{}\n")
apply_glance = salt_call + ["--out=json", "--log-level=quiet", "state.apply", "glance"]
apply_empty = salt_call + ["--out=json", "--log-level=quiet", "--file-root=" + empty_root, "state.apply", "nothing"]
figures = {"glance": [], "empty": []}
for _ in range(runs):
    for label, command in (("glance", apply_glance), ("empty", apply_empty)):
        start = time.monotonic()
        proc = subprocess.run(command, capture_output=True, text=True)
        figures[label].append(time.monotonic() - start)
        if label == "glance":
            states = json.loads(proc.stdout)["local"]
            if not isinstance(states, dict):
                sys.exit("state.apply glance did not run: " + proc.stdout[-2000:])
            busy = sorted(v["__id__"] for v in states.values() if v["changes"] or v["result"] is not True)
            if busy:
                sys.exit("state.apply glance changed or failed: " + ", ".join(busy))
            figures.setdefault("states", len(states))
print(json.dumps(figures))
"""


def measure(container, runs):
    proc = podman("exec", "-i", container, "python3", "-", str(runs), "salt-call --local",
                  input=TIMER, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{container}: {proc.stderr.strip() or proc.stdout.strip()}")
    return json.loads(proc.stdout)


def bench(suite, platform, runs):
    [group] = kitchen.select([suite])
    [node] = group.nodes
    deployment = Deployment(group, platform, images.ensure_base_image(platform))
    try:
        deployment.start()
        container = deployment.container(node)
        for label in ("converge", "second apply"):
            run = state_apply(container, node.name, label, env_vars=deployment.salt_env())
            if run.errors or run.failed():
                raise RuntimeError(f"{suite} on {platform}: the {label} failed:\n"
                                   + ("\n".join(run.errors) or describe(run.failed())))
        return measure(container, runs)
    finally:
        if keep_containers():
            print(f"KEEP_CONTAINERS set: leaving {list(deployment.containers.values())}", flush=True)
        else:
            deployment.remove()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platforms", default="debian-12,debian-13")
    parser.add_argument("--suites", default="standalone,single")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    rows = []
    for platform in args.platforms.split(","):
        for suite in args.suites.split(","):
            figures = bench(suite, platform, args.runs)
            glance, empty = statistics.median(figures["glance"]), statistics.median(figures["empty"])
            rows.append((suite, platform, figures["states"], glance, empty, glance / empty))
            print(f"[bench] {suite} on {platform}: re-apply {glance:.2f} s, empty apply {empty:.2f} s "
                  f"(medians of {args.runs})", flush=True)
    print(f"\nNo-change re-apply of `glance` against an empty SLS apply (medians of {args.runs} runs each):")
    print(f"{'suite':<12}{'platform':<12}{'states':>7}{'re-apply':>11}{'empty':>9}{'ratio':>8}")
    for suite, platform, states, glance, empty, ratio in rows:
        print(f"{suite:<12}{platform:<12}{states:>7}{glance:>10.2f}s{empty:>8.2f}s{ratio:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
