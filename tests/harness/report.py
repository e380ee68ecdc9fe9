"""Where the time of a test run went, collected across test processes.

Every step appends one line to .cache/converge/times.jsonl (the run's id,
the suite group, platform, node, step and seconds); the table at the end of
`make test` (and `python -m tests.harness.report [RUN_ID]`) reads it back:
one row per suite group and platform, one column per kind of work.

Steps and the column they count in:
  image        base/master/newcomer image builds, on the row of the group
               that waited for them
  up           containers created and booted
  services     the test services' states (test_services.*) of first applies
  1st apply    the first apply phase's wall time, less its services
  2nd apply    the second apply phase
  checks       the test=True phase and the testinfra runs, less Tempest
  Tempest      Tempest's tests inside the testinfra runs
and, on a row of their own, `make test`'s phases before the converges
(lint, the unit and render tests).
"""
import collections
import fcntl
import json
import os
import pathlib
import subprocess
import sys
import time
from xml.etree import ElementTree

from . import CACHE_DIR

TIMES = CACHE_DIR / "times.jsonl"

# Phase wall times are recorded for the group as a whole (node "*"): nodes
# of a group can apply at the same time, so their own times overlap.
GROUP = "*"
COLUMNS = ("image", "up", "services", "1st apply", "2nd apply", "checks", "Tempest")
IMAGE_STEPS = ("base image build", "master image build", "image build")
# Phases of `make test` before the converges (recorded by tools/timed.py).
MAKE_PHASES = "make test"


def record(run_id, **fields):
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"run": run_id, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **fields})
    with open(TIMES, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(line + "\n")


def rows(run_id=None):
    if not TIMES.exists():
        return []
    result = [json.loads(line) for line in TIMES.read_text().splitlines() if line.strip()]
    return [r for r in result if run_id is None or r.get("run") == run_id]


def _phase(recs, steps):
    """Seconds of the phase STEPS: the group's wall time where recorded,
    else its nodes' times added up (nodes applied one after the other)."""
    hits = [r for r in recs if r.get("step") in steps]
    whole = [r for r in hits if r.get("node") == GROUP]
    return sum(r["seconds"] for r in (whole or hits)) if hits else None


def _add(row, column, seconds):
    if seconds is not None:
        row[column] = row.get(column, 0.0) + seconds


def table(records):
    """{(group, platform): {column: seconds}} of RECORDS (one run's)."""
    cells = collections.defaultdict(dict)
    by_group = collections.defaultdict(list)
    for r in records:
        by_group[(r.get("group", ""), r.get("platform", ""))].append(r)
    for key, recs in by_group.items():
        row = cells[key]
        for column, steps in (("image", IMAGE_STEPS), ("up", ("containers up", "container up")),
                              ("services", ("services",)), ("Tempest", ("tempest",))):
            _add(row, column, sum(r["seconds"] for r in recs if r.get("step") in steps) or None)
        first = _phase(recs, ("first apply", "first deploy"))
        if first is not None:
            _add(row, "1st apply", max(first - row.get("services", 0.0), 0.0))
        _add(row, "2nd apply", _phase(recs, ("second apply", "second deploy")))
        _add(row, "checks", _phase(recs, ("test=True apply",)))
        testinfra = sum(r["seconds"] for r in recs if r.get("step") == "testinfra")
        if testinfra:
            _add(row, "checks", max(testinfra - row.get("Tempest", 0.0), 0.0))
    return cells


def summary(run_id=None):
    """Text table of RUN_ID's records (default: every record)."""
    records = rows(run_id)
    if not records:
        return "no converge times recorded"
    phases = [r for r in records if r.get("group") == MAKE_PHASES]
    converge = [r for r in records if r.get("group") != MAKE_PHASES and r.get("step") != "run started"]
    cells = table(converge)
    width = max([len(g) for g, _ in cells] + [len(MAKE_PHASES), 10]) + 2
    head = f"{'suite':<{width}}{'platform':<11}" + "".join(f"{c:>10}" for c in COLUMNS) + f"{'total':>10}"
    out = [head]
    totals = collections.defaultdict(float)
    for (group, platform), row in cells.items():
        for column in COLUMNS:
            totals[column] += row.get(column, 0.0)
        out.append(f"{group:<{width}}{platform:<11}"
                   + "".join(f"{row[c]:>10.0f}" if c in row else f"{'-':>10}" for c in COLUMNS)
                   + f"{sum(row.values()):>10.0f}")
    out.append(f"{'all suites':<{width}}{'':<11}" + "".join(f"{totals[c]:>10.0f}" for c in COLUMNS)
               + f"{sum(totals.values()):>10.0f}")
    for r in phases:
        out.append(f"{MAKE_PHASES + ': ' + r.get('step', ''):<{width + 11}}{r['seconds']:>10.0f}")
    starts = [r for r in records if r.get("step") == "run started"]
    if starts:
        elapsed = time.time() - min(r["epoch"] for r in starts)
        out.append(f"wall clock since the run started: {elapsed:.0f} s "
                   f"(the sums above add up work done side by side)")
    return "\n".join(out)


def timed(run_id, name, command):
    """Run COMMAND, record its seconds as `make test`'s phase NAME; its exit
    status."""
    start = time.monotonic()
    code = subprocess.call(command)
    record(run_id, group=MAKE_PHASES, platform="-", node="-", step=name,
           seconds=round(time.monotonic() - start, 1), retcode=code)
    return code


def junit_counts(path):
    """(passed, failed, skipped) of a JUnit XML report; errors count as
    failures, and a report that is missing or unreadable as one failure
    (its pytest never finished)."""
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return 0, 1, 0
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        outcomes = {child.tag for child in case}
        if outcomes & {"failure", "error"}:
            failed += 1
        elif "skipped" in outcomes:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def totals(paths):
    """One line adding up the JUnit reports PATHS (each named by its file's
    stem), and the exit status: 0 only when nothing failed."""
    counts = {pathlib.Path(p).stem: junit_counts(p) for p in paths}
    passed, failed, skipped = (sum(c[i] for c in counts.values()) for i in range(3))
    parts = ", ".join(f"{name} {c[0]}/{c[1]}/{c[2]}" for name, c in counts.items())
    print(f"{passed} passed, {failed} failed, {skipped} skipped "
          f"(passed/failed/skipped: {parts})")
    return 1 if failed else 0


def main(argv):
    """`python -m tests.harness.report [RUN_ID]` prints a run's table (every
    record without RUN_ID); `... report time NAME -- COMMAND...` runs COMMAND
    as phase NAME of the run in $CONVERGE_RUN_ID; `... report totals
    REPORT.xml...` prints the JUnit reports' passed, failed and skipped
    counts added up, and fails when any test failed."""
    if argv[:1] == ["time"]:
        if len(argv) < 4 or argv[2] != "--":
            print("usage: python -m tests.harness.report time NAME -- COMMAND...", file=sys.stderr)
            return 2
        return timed(os.environ.get("CONVERGE_RUN_ID", "-"), argv[1], argv[3:])
    if argv[:1] == ["totals"]:
        return totals(argv[1:])
    print(summary(argv[0] if argv else None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
