"""Runs the units of a converge run side by side, longest first.

A unit is everything about one suite group on one platform (image, containers,
the applies, the testinfra tests, removal) or the newcomer check on one
platform. Units share nothing but the images, so they run in threads (each
waits on podman, not on Python), at most SLOTS at a time: the machine's cores
stay busy while one unit waits for a service, a timeout or a fault test's
sleep. They start in the order of their cost, longest first (the cost
measured in the last run that had the unit, in times.jsonl, else a static
guess), so that the longest does not start last.

The pytest session submits every unit it collected when collection ends; a
test waits for its unit's result (tests/integration/conftest.py).
"""
import collections
import concurrent.futures
import time

from . import report

# Costs when this checkout has recorded no run (minutes per unit, as
# measured in a full run with two units at a time on two cores; only their
# order matters; CI's fresh clone always uses these). Per platform where
# the platforms differ (the cluster on Debian 13 also upgrades twice), else
# per suite group.
GUESS = {
    ("cluster", "debian-13"): 21.5, ("cluster", "debian-12"): 15, ("pypi", "debian-12"): 14.5,
    ("single-ceph", "debian-12"): 11.5, ("single-ceph", "debian-13"): 10.5, ("single", "debian-13"): 9.5,
    ("pypi", "debian-13"): 9.5, ("single", "debian-12"): 8.5, ("newcomer", "debian-12"): 5.5,
    ("newcomer", "debian-13"): 4.5, ("standalone", "debian-12"): 4, ("standalone", "debian-13"): 3.7,
    "pypi": 12, "cluster": 18, "single-ceph": 11, "single": 9, "newcomer": 5, "standalone": 3.8,
}


def guess(key):
    """Seconds a unit KEY ((group, platform)) is guessed to take."""
    return GUESS.get(key, GUESS.get(key[0], 5)) * 60


def measured_costs():
    """{(group, platform): seconds} of each unit's latest recorded run."""
    latest = {}
    for r in report.rows():
        key = (r.get("group"), r.get("platform"))
        if r.get("node") == "-" and r.get("step", "").endswith("image build"):
            continue  # paid once per machine, not by the unit
        run = r.get("run")
        seen = latest.setdefault(key, {})
        seen[run] = seen.get(run, 0.0) + float(r.get("seconds") or 0)
    return {key: runs[max(runs)] for key, runs in latest.items() if runs}


def order(keys, costs=None):
    """KEYS ((group, platform)) longest first."""
    costs = measured_costs() if costs is None else costs
    return sorted(keys, key=lambda k: -costs.get(k, guess(k)))


class Unit:
    """One unit's log lines and, once run, its result or exception."""

    def __init__(self, key, work):
        self.key = key
        self.work = work
        self.lines = []
        self.future = None
        self.waited = 0.0

    def log(self, text):
        stamp = time.strftime("%H:%M:%S")
        self.lines.extend(f"{stamp} {line}" for line in str(text).splitlines() or [""])

    def result(self):
        """The unit's result (raises what the unit raised)."""
        return self.future.result()


class Scheduler:
    def __init__(self, slots):
        self.slots = max(1, int(slots))
        self.units = collections.OrderedDict()
        self._pool = None
        self.started_order = []

    def add(self, key, work):
        """WORK(unit) runs the unit; KEY is (group, platform)."""
        if key not in self.units:
            self.units[key] = Unit(key, work)
        return self.units[key]

    def start(self, costs=None):
        self._pool = concurrent.futures.ThreadPoolExecutor(self.slots, thread_name_prefix="unit")
        self.started_order = order(list(self.units), costs)
        for key in self.started_order:
            unit = self.units[key]
            unit.future = self._pool.submit(self._run, unit)

    def _run(self, unit):
        unit.log(f"unit {unit.key[0]} on {unit.key[1]} started")
        start = time.monotonic()
        try:
            return unit.work(unit)
        finally:
            unit.log(f"unit {unit.key[0]} on {unit.key[1]} ended after {time.monotonic() - start:.0f}s")

    def get(self, key):
        return self.units[key]

    def shutdown(self):
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
