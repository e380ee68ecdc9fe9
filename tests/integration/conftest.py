"""Fixtures of the converge harness (see tests/harness).

`tests/integration/test_converge.py` has a test class per suite group and
platform (tests/harness/selection.py for SUITE and PLATFORM),
`tests/integration/test_newcomer.py` one per platform for the newcomer
check. When collection ends, every collected class's unit of work (its
converge and testinfra run, or the newcomer's deploys) is handed to one
scheduler (tests/harness/schedule.py) that runs CONVERGE_JOBS of them side
by side, longest first; each class's tests wait for their unit's result and
check it. The run's table of times (report.py) ends the session.

The suites' own testinfra tests (tests/integration/<suite>/) do not use
these fixtures: they get testinfra's `host`, here through
--hosts=podman://..., for Kitchen users through --hosts=docker://....
"""
import os
import pathlib
import sys
import time

import pytest

# The harness package lives at tests/harness; make it importable however
# pytest was started.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tests.harness import report, schedule  # noqa: E402
from tests.harness.selection import not_converged_here  # noqa: E402

# Units run side by side (the Makefile's CONVERGE_JOBS).
DEFAULT_JOBS = 2
SCHEDULER = pytest.StashKey[schedule.Scheduler]()


def _runs_converge(config):
    return any(name in str(arg) for arg in config.args for name in ("test_converge", "test_newcomer"))


def pytest_configure(config):
    if _runs_converge(config):
        # `make test` names the run (so its earlier phases share the
        # table); otherwise this process does.
        if not os.environ.get("CONVERGE_RUN_ID"):
            os.environ["CONVERGE_RUN_ID"] = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        report.record(os.environ["CONVERGE_RUN_ID"], group="-", platform="-", node="-",
                      step="run started", seconds=0, epoch=time.time())


def pytest_collection_modifyitems(config, items):
    """Classes in the order their units start (longest first), so that
    results are reported about as the units finish; tests without a unit
    first."""
    keys = list(dict.fromkeys(item.cls.unit_key() for item in items
                              if getattr(getattr(item, "cls", None), "unit", None)))
    rank = {key: index for index, key in enumerate(schedule.order(keys))}

    def position(item):
        cls = getattr(item, "cls", None)
        return rank[cls.unit_key()] + 1 if getattr(cls, "unit", None) else 0

    items.sort(key=position)


def pytest_collection_finish(session):
    """Hand every collected class's unit to the scheduler and start it
    (not when only collecting)."""
    if session.config.option.collectonly:
        return
    units = {}
    for item in session.items:
        cls = getattr(item, "cls", None)
        make_unit = getattr(cls, "unit", None)
        if make_unit is not None and cls.unit_key() not in units:
            units[cls.unit_key()] = make_unit
    if not units:
        return
    scheduler = schedule.Scheduler(int(os.environ.get("CONVERGE_JOBS") or DEFAULT_JOBS))
    for key, make_unit in units.items():
        scheduler.add(key, make_unit())
    session.config.stash[SCHEDULER] = scheduler
    scheduler.start()
    print(f"\nconverge units, {scheduler.slots} at a time, longest first: "
          + ", ".join(f"{g} on {p}" for g, p in scheduler.started_order), flush=True)


def pytest_sessionfinish(session):
    scheduler = session.config.stash.get(SCHEDULER, None)
    if scheduler is not None:
        scheduler.shutdown()


@pytest.fixture(scope="class")
def unit_result(request):
    """The result of the class's unit, once it has run; its log is printed
    (shown with the class's first test under -rA)."""
    scheduler = request.config.stash[SCHEDULER]
    unit = scheduler.get(request.cls.unit_key())
    try:
        return unit.result()
    finally:
        print("\n".join(unit.lines), flush=True)


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
            terminalreporter.write_sep("=", "where the time went (seconds; python -m tests.harness.report)")
            terminalreporter.write_line(text)
