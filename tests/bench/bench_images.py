#!/usr/bin/env python3
"""
Benchmark of image seeding on a converged Glance host (a script, not a test).

1. Seeds an image (1 GiB of random data by default) served by a local HTTP
   server, through the glance_image state (salt-call) and by hand the way
   the old formula did (``curl -o`` then ``openstack image create --file``),
   back to back, alternating which goes first, for several rounds (each run
   starts after a sync, so neither pays for the other's writeback). Prints
   the median wall-time ratio (state / by hand) and the peak RSS of
   salt-call.
2. Seeds 20 small images, then times a no-change re-apply of them against
   a ``state.apply`` of a single ``test.nop``, with checksums in the states
   (no source contact) and without (a HEAD request per image). Every
   re-apply must report zero changes.

Targets: ratio <= 1.0 (``--ratio-target``; 0.8 into Ceph RBD), peak RSS
<= 200 MiB, no-change re-apply <= 3 s over the empty one. ``--strict`` exits 1 when one is missed.

Glance is reached with ``--connection`` (JSON, the state's ``connection``
argument); without it, from the environment: ``OS_CLOUD``, else ``OS_AUTH_URL``
and friends, else ``OS_AUTH_TYPE=none`` with ``OS_ENDPOINT``. The by-hand
``openstack`` command reads the same environment. Credentials go into the
generated SLS files (mode 0600, in a temporary directory), never onto a
command line.

Example, inside a converged container::

    . /root/openrc
    python3 tests/bench/bench_images.py --salt-call "/opt/saltenv/bin/salt-call --local" \\
        --size-mib 1024 --rounds 5
"""

import argparse
import hashlib
import http.server
import json
import os
import pathlib
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
FORMULA = HERE.parents[1]
MiB = 1024 * 1024


def parse_args():
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--salt-call", default=env("BENCH_SALT_CALL", "salt-call --local"),
                        help="salt-call command (default: %(default)s)")
    parser.add_argument("--pillar", default=env("BENCH_PILLAR"),
                        help="extra pillar for every salt-call, as JSON")
    parser.add_argument("--connection", default=env("BENCH_CONNECTION"),
                        help="the state's connection argument, as JSON (default: from OS_*)")
    parser.add_argument("--openstack", default=env("BENCH_OPENSTACK", "openstack"),
                        help="openstack CLI command for the by-hand upload")
    parser.add_argument("--curl", default=env("BENCH_CURL", "curl"))
    parser.add_argument("--size-mib", type=int, default=int(env("BENCH_SIZE_MIB", "1024")))
    parser.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "5")))
    parser.add_argument("--images", type=int, default=int(env("BENCH_IMAGES", "20")),
                        help="images in the no-change re-apply (default: %(default)s)")
    parser.add_argument("--reapply-rounds", type=int, default=int(env("BENCH_REAPPLY_ROUNDS", "3")))
    parser.add_argument("--checksums", choices=("none", "md5", "sha256", "sha512", "all"),
                        default=env("BENCH_CHECKSUMS", "sha512"),
                        help="checksums the big image's state gives (default: %(default)s)")
    parser.add_argument("--workdir", default=env("BENCH_WORKDIR"),
                        help="where the image files go (default: a temporary directory)")
    parser.add_argument("--formula-dir", default=env("BENCH_FORMULA_DIR", str(FORMULA)),
                        help="the formula checkout (for _modules and _states)")
    parser.add_argument("--port", type=int, default=int(env("BENCH_PORT", "0")),
                        help="port of the local HTTP server (default: any free one)")
    parser.add_argument("--ratio-target", type=float, default=float(env("BENCH_RATIO_TARGET", "1.0")),
                        help="target of the wall-time ratio state / by hand (default: %(default)s)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args()


def connection_from_env():
    env = os.environ
    if env.get("OS_CLOUD"):
        return {"cloud": env["OS_CLOUD"]}
    if env.get("OS_AUTH_TYPE") == "none" or (env.get("OS_ENDPOINT") and not env.get("OS_AUTH_URL")):
        return {"auth_type": "none", "endpoint": env["OS_ENDPOINT"]}
    if not env.get("OS_AUTH_URL"):
        sys.exit("No Glance connection: give --connection or set OS_CLOUD / OS_AUTH_URL / OS_ENDPOINT")
    keys = {
        "OS_AUTH_URL": "auth_url", "OS_USERNAME": "username", "OS_PASSWORD": "password",
        "OS_PROJECT_NAME": "project_name", "OS_USER_DOMAIN_NAME": "user_domain_name",
        "OS_PROJECT_DOMAIN_NAME": "project_domain_name", "OS_REGION_NAME": "region_name",
        "OS_INTERFACE": "interface", "OS_CACERT": "cacert",
    }
    return {key: env[var] for var, key in keys.items() if env.get(var)}


# ------------------------------------------------------------------- helpers


def write_image(path, size, seed=None):
    """Write ``size`` bytes: random, or reproducible from ``seed``; return their digests."""
    hashes = {algo: hashlib.new(algo) for algo in ("md5", "sha256", "sha512")}
    generator = random.Random(seed) if seed is not None else None
    with open(path, "wb") as handle:
        left = size
        while left:
            count = min(8 * MiB, left)
            # Incompressible data: nothing on the way can shortcut it.
            chunk = generator.randbytes(count) if generator else os.urandom(count)
            handle.write(chunk)
            for hasher in hashes.values():
                hasher.update(chunk)
            left -= count
    return {algo: hasher.hexdigest() for algo, hasher in hashes.items()}


class Files:
    """A quiet HTTP server for the work directory on 127.0.0.1."""

    def __init__(self, directory, port):
        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(directory), **kwargs)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def run_measured(argv, what):
    """Run a command; return (seconds, its own peak RSS in bytes, stdout).

    wait4() gives the child's own resource usage, where getrusage() would
    give a running maximum over every child so far.
    """
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(
            f"{what} failed ({proc.returncode}):\n{stdout.decode()[-3000:]}\n{stderr.decode()[-3000:]}")
    return seconds, usage.ru_maxrss * 1024, stdout


class Salt:
    """salt-call on a file root holding the formula's modules and the bench SLS files."""

    def __init__(self, command, pillar, formula_dir, root):
        self.command = shlex.split(command)
        self.pillar = pillar
        self.root = root
        for name in ("_modules", "_states"):
            (root / name).symlink_to(pathlib.Path(formula_dir).resolve() / name)

    def write(self, name, states):
        path = self.root / f"{name}.sls"
        path.touch(mode=0o600)
        path.write_text(json.dumps(states, indent=1))  # JSON is YAML
        return name

    def apply(self, sls, what):
        argv = self.command + ["--file-root", str(self.root), "--out", "json",
                               "--retcode-passthrough", "state.apply", sls]
        if self.pillar:
            argv.append(f"pillar={self.pillar}")
        seconds, peak, out = run_measured(argv, what)
        results = json.loads(out)["local"]
        failed = {key: val["comment"] for key, val in results.items() if not val["result"]}
        if failed:
            raise SystemExit(f"{what}: states failed: {failed}")
        changed = sorted(val["name"] for val in results.values() if val["changes"])
        return seconds, peak, changed

    def sync(self):
        argv = self.command + ["--file-root", str(self.root), "saltutil.sync_all"]
        run_measured(argv, "saltutil.sync_all")


def present(name, url, connection, checksums=None, disk_format="raw"):
    args = [{"name": name}, {"source": url}, {"disk_format": disk_format},
            {"connection": connection}]
    if checksums:
        args.append({"checksums": checksums})
    return {"glance_image.present": args}


def absent(name, connection):
    return {"glance_image.absent": [{"name": name}, {"connection": connection}]}


def mib(value):
    return f"{value / MiB:.0f} MiB"


# --------------------------------------------------------------------- bench


def bench_big(args, salt, files, connection, workdir):
    size = args.size_mib * MiB
    print(f"Writing a {args.size_mib} MiB image of random data ...", flush=True)
    sums = write_image(workdir / "bench.img", size)
    url = files.url("bench.img")
    chosen = {"none": {}, "all": sums}.get(args.checksums, {args.checksums: sums.get(args.checksums)})
    openstack = shlex.split(args.openstack)
    cleanup = salt.write("bench_cleanup", {
        "bench-state": absent("bench-state", connection),
        "bench-hand": absent("bench-hand", connection),
    })
    seed = salt.write("bench_seed", {"bench-state": present("bench-state", url, connection, chosen)})
    salt.apply(cleanup, "cleanup")

    def by_state():
        seconds, peak, changed = salt.apply(seed, "state seed")
        assert changed == ["bench-state"], changed
        return seconds, peak, None

    def by_hand():
        target = workdir / "bench-download.img"
        started = time.monotonic()
        download, _, _ = run_measured([args.curl, "-sS", "--fail", "-o", str(target), url], "curl")
        _, peak, _ = run_measured(openstack + [
            "image", "create", "--disk-format", "raw", "--container-format", "bare",
            "--file", str(target), "bench-hand"], "openstack image create")
        seconds = time.monotonic() - started
        target.unlink()
        return seconds, peak, download

    ratios, floors, state_peaks, hand_peaks = [], [], [], []
    for number in range(args.rounds):
        order = [("state", by_state), ("hand", by_hand)]
        if number % 2:
            order.reverse()
        timings = {}
        for label, func in order:
            # Start each run with the previous one's writes on disk, so that
            # neither pays for the other's writeback.
            os.sync()
            timings[label] = func()
            # One image at a time in the store: a test Ceph holds little.
            salt.apply(cleanup, "cleanup")
        hand, download = timings["hand"][0], timings["hand"][2]
        ratio = timings["state"][0] / hand
        ratios.append(ratio)
        # What a seeder that hid the whole download behind the upload would
        # reach: the by-hand upload alone over the by-hand total.
        floors.append((hand - download) / hand)
        state_peaks.append(timings["state"][1])
        hand_peaks.append(timings["hand"][1])
        print("round {}: state {:.1f} s (peak RSS {}), by hand {:.1f} s (download {:.1f} s, upload {:.1f} s; "
              "openstack peak RSS {}), ratio {:.2f}".format(
                  number + 1, timings["state"][0], mib(timings["state"][1]), hand, download, hand - download,
                  mib(timings["hand"][1]), ratio), flush=True)
    (workdir / "bench.img").unlink()
    floor = statistics.median(floors)
    print(f"median by-hand upload alone / by-hand total: {floor:.2f} (the lowest ratio a seeder that "
          "overlaps the whole download with the upload can reach here)", flush=True)
    return statistics.median(ratios), max(state_peaks)


def bench_reapply(args, salt, files, connection, workdir):
    names = [f"bench-noop-{number:02d}" for number in range(args.images)]
    sums = {}
    for number, name in enumerate(names):
        sums[name] = write_image(workdir / (name + ".img"), MiB + number, name)
    empty = salt.write("bench_empty", {"bench-empty": {"test.nop": [{"name": "empty"}]}})
    with_sums = salt.write("bench_many_sums", {
        name: present(name, files.url(name + ".img"), connection, {"sha512": sums[name]["sha512"]})
        for name in names})
    without_sums = salt.write("bench_many", {
        name: present(name, files.url(name + ".img"), connection) for name in names})
    cleanup = salt.write("bench_many_cleanup", {name: absent(name, connection) for name in names})
    salt.apply(cleanup, "cleanup")
    salt.apply(without_sums, f"seeding {len(names)} images")

    def median_of(sls, what, expect_changes=False):
        times = []
        for _ in range(args.reapply_rounds):
            seconds, _, changed = salt.apply(sls, what)
            if changed and not expect_changes:
                raise SystemExit(f"{what}: the re-apply changed {changed}")
            times.append(seconds)
        return statistics.median(times)

    empty_time = median_of(empty, "empty state.apply")
    sums_time = median_of(with_sums, "no-change re-apply (checksums)")
    heads_time = median_of(without_sums, "no-change re-apply (no checksums)")
    salt.apply(cleanup, "cleanup")
    return empty_time, sums_time, heads_time


def main():
    args = parse_args()
    connection = json.loads(args.connection) if args.connection else connection_from_env()
    tmp = tempfile.TemporaryDirectory(prefix="glance-bench-")
    root = pathlib.Path(tmp.name) / "root"
    root.mkdir(mode=0o700)
    workdir = pathlib.Path(args.workdir) if args.workdir else pathlib.Path(tmp.name) / "files"
    workdir.mkdir(parents=True, exist_ok=True)
    files = Files(workdir, args.port)
    salt = Salt(args.salt_call, args.pillar, args.formula_dir, root)
    try:
        salt.sync()
        ratio, peak = bench_big(args, salt, files, connection, workdir)
        empty_time, sums_time, heads_time = bench_reapply(args, salt, files, connection, workdir)
    finally:
        files.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        tmp.cleanup()

    checks = [
        (f"median wall-time ratio state / by hand ({args.size_mib} MiB, {args.rounds} rounds, "
         f"checksums: {args.checksums})", f"{ratio:.2f}", ratio <= args.ratio_target,
         f"<= {args.ratio_target}"),
        ("peak RSS of salt-call", mib(peak), peak <= 200 * MiB, "<= 200 MiB"),
        (f"no-change re-apply of {args.images} images with checksums, over empty state.apply",
         f"{sums_time - empty_time:+.2f} s ({sums_time:.2f} s vs {empty_time:.2f} s)",
         sums_time - empty_time <= 3.0, "<= 3 s"),
        (f"no-change re-apply of {args.images} images without checksums, over empty state.apply",
         f"{heads_time - empty_time:+.2f} s ({heads_time:.2f} s vs {empty_time:.2f} s)",
         heads_time - empty_time <= 3.0, "<= 3 s"),
    ]
    print()
    for label, value, met, target in checks:
        print("{:<90} {:>28}  target {:<10} {}".format(label, value, target, "met" if met else "MISSED"))
    if args.strict and not all(check[2] for check in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
