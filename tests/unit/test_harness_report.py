"""The converge run's table of where the time went, and the scheduler that
runs its units side by side, longest first."""
import subprocess
import sys
import threading
import time

import pytest

from saltrender import REPO

sys.path.insert(0, str(REPO))

from tests.harness import report, schedule  # noqa: E402


@pytest.fixture
def times(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "TIMES", tmp_path / "times.jsonl")
    monkeypatch.setattr(report, "CACHE_DIR", tmp_path)
    return tmp_path / "times.jsonl"


def _rec(step, seconds, group="single", platform="debian-12", node="single", run="r1", **extra):
    report.record(run, group=group, platform=platform, node=node, step=step, seconds=seconds, **extra)


def test_each_step_lands_in_its_column(times):
    _rec("base image build", 120, node="-")
    _rec("containers up", 2, node=report.GROUP)
    _rec("first apply", 150)
    _rec("services", 60)
    _rec("first apply", 155, node=report.GROUP)
    _rec("second apply", 12)
    _rec("test=True apply", 13)
    _rec("testinfra", 300)
    _rec("tempest", 70)
    row = report.table(report.rows("r1"))[("single", "debian-12")]
    assert row == {"image": 120, "up": 2, "services": 60, "1st apply": 95, "2nd apply": 12,
                   "checks": 13 + 300 - 70, "Tempest": 70}


def test_a_group_phase_wins_over_its_nodes_overlapping_times(times):
    # Two API nodes in one orchestration each report its whole time.
    for node in ("glance-1", "glance-2"):
        _rec("first apply", 140, group="cluster", node=node)
    _rec("first apply", 300, group="cluster", node="controller")
    _rec("services", 150, group="cluster", node="controller")
    _rec("first apply", 290, group="cluster", node=report.GROUP)
    row = report.table(report.rows("r1"))[("cluster", "debian-12")]
    assert row["1st apply"] == 140 and row["services"] == 150


def test_newcomer_deploys_count_as_applies(times):
    for step, seconds in (("image build", 20), ("container up", 3), ("first deploy", 160),
                          ("testinfra", 90), ("second deploy", 5)):
        _rec(step, seconds, group="newcomer", node="-")
    row = report.table(report.rows("r1"))[("newcomer", "debian-12")]
    assert row == {"image": 20, "up": 3, "1st apply": 160, "2nd apply": 5, "checks": 90}


def test_summary_shows_rows_totals_and_make_phases(times):
    _rec("first apply", 100)
    _rec("first apply", 50, group="standalone", node="standalone")
    _rec("lint", 30, group=report.MAKE_PHASES, node="-", platform="-")
    _rec("first apply", 999, run="other")
    text = report.summary("r1")
    lines = text.splitlines()
    assert lines[0].split() == ["suite", "platform", "image", "up", "services", "1st", "apply", "2nd", "apply",
                                "checks", "Tempest", "total"]
    assert any(line.split()[:2] == ["single", "debian-12"] and line.split()[-1] == "100" for line in lines)
    assert any(line.startswith("all suites") and line.split()[-1] == "150" for line in lines)
    assert any(line.startswith("make test: lint") and line.split()[-1] == "30" for line in lines)
    assert "999" not in text


def test_timed_records_a_phase_and_passes_the_exit_status(times):
    assert report.timed("r2", "lint", [sys.executable, "-c", "raise SystemExit(3)"]) == 3
    (row,) = report.rows("r2")
    assert row["group"] == report.MAKE_PHASES and row["step"] == "lint" and row["retcode"] == 3


def test_units_start_longest_first_by_the_last_run_measured(times):
    _rec("first apply", 100, group="standalone", run="old")
    _rec("first apply", 900, group="standalone", run="r9")  # the latest run counts
    _rec("first apply", 700, group="cluster", run="r9")  # above newcomer's guess
    _rec("base image build", 5000, group="single", node="-", run="r9")  # paid once, not by the unit
    _rec("first apply", 10, group="single", run="r9")
    keys = [("single", "debian-12"), ("cluster", "debian-12"), ("standalone", "debian-12"),
            ("newcomer", "debian-12")]
    assert schedule.order(keys) == [("standalone", "debian-12"), ("cluster", "debian-12"),
                                    ("newcomer", "debian-12"), ("single", "debian-12")]


def test_without_records_the_guess_orders_them(times):
    keys = [("standalone", "debian-13"), ("newcomer", "debian-13"), ("cluster", "debian-13")]
    assert schedule.order(keys) == [("cluster", "debian-13"), ("newcomer", "debian-13"),
                                    ("standalone", "debian-13")]


def test_without_records_the_guess_is_per_platform_where_they_differ(times):
    keys = [("pypi", "debian-13"), ("cluster", "debian-12"), ("pypi", "debian-12"), ("cluster", "debian-13")]
    assert schedule.order(keys) == [("cluster", "debian-13"), ("cluster", "debian-12"), ("pypi", "debian-12"),
                                    ("pypi", "debian-13")]
    assert schedule.guess(("pypi", "debian-14")) == schedule.GUESS["pypi"] * 60


def test_scheduler_runs_at_most_its_slots_at_once_and_keeps_results(times):
    running, peak, lock = [0], [0], threading.Lock()

    def work(unit):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        if unit.key[0] == "bad":
            raise RuntimeError("image build failed")
        return unit.key[0]

    scheduler = schedule.Scheduler(2)
    for name in ("a", "b", "c", "bad"):
        scheduler.add((name, "p"), work)
    scheduler.start(costs={})
    assert scheduler.get(("a", "p")).result() == "a"
    with pytest.raises(RuntimeError, match="image build failed"):
        scheduler.get(("bad", "p")).result()
    scheduler.shutdown()
    assert peak[0] == 2
    assert any("started" in line for line in scheduler.get(("c", "p")).lines)


def test_only_nodes_made_of_test_services_are_service_hosts():
    from tests.harness import kitchen

    hosts = {node.name: node.service_host for group in kitchen.groups() for node in group.nodes}
    assert hosts == {"standalone": False, "single": False, "single-ceph": False,
                     "cluster-controller": True, "cluster-primary": False, "cluster-secondary": False,
                     "pypi-controller": True, "pypi-glance": False}


def test_the_service_hosts_image_has_the_test_services_packages():
    """images.SERVICE_PACKAGES is what tests/salt/test_services installs with
    pkg.installed (name or pkgs), no more, no less."""
    import re

    from tests.harness import images

    named = set()
    for sls in (REPO / "tests" / "salt" / "test_services").glob("*.sls"):
        lines = sls.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip() != "pkg.installed:":
                continue
            for item in lines[i + 1:]:
                if item.strip() and not item.startswith("    "):
                    break
                match = re.match(r"\s+- name: (\S+)$", item) or re.match(r"\s{6,}- (\S+)$", item)
                if match:
                    named.add(match.group(1))
    assert named and sorted(named) == sorted(images.SERVICE_PACKAGES)


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="a" name="ok1" time="0.1"/>
<testcase classname="a" name="ok2" time="0.1"/>
<testcase classname="a" name="broken" time="0.1"><failure message="assert 1 == 2"/></testcase>
<testcase classname="a" name="fixture" time="0.1"><error message="boom"/></testcase>
<testcase classname="a" name="not_here" time="0.0"><skipped message="no"/></testcase>
</testsuite></testsuites>"""


def test_totals_add_up_the_reports_and_fail_on_a_failure(tmp_path, capsys):
    (tmp_path / "unit.xml").write_text(JUNIT)
    (tmp_path / "clean.xml").write_text(JUNIT.replace('<failure message="assert 1 == 2"/>', "")
                                        .replace('<error message="boom"/>', ""))
    assert report.totals([tmp_path / "clean.xml"]) == 0
    assert capsys.readouterr().out.strip() == "4 passed, 0 failed, 1 skipped (passed/failed/skipped: clean 4/0/1)"
    assert report.totals([tmp_path / "unit.xml", tmp_path / "clean.xml"]) == 1
    assert capsys.readouterr().out.startswith("6 passed, 2 failed, 2 skipped ")


def test_a_missing_report_counts_as_a_failure(tmp_path, capsys):
    (tmp_path / "clean.xml").write_text(JUNIT.replace('<failure message="assert 1 == 2"/>', "")
                                        .replace('<error message="boom"/>', ""))
    assert report.totals([tmp_path / "clean.xml", tmp_path / "converge.xml"]) == 1
    assert "converge 0/1/0" in capsys.readouterr().out


def test_idle_runs_the_command_in_a_session_of_its_own_at_nice_19():
    probe = ("import os, pathlib; group = pathlib.Path('/proc/self/autogroup'); "
             "print(os.getsid(0) == os.getpid(), os.getpgid(0) == os.getpid(), os.nice(0), "
             "group.read_text().split()[-1] if group.exists() else 'none')")
    done = subprocess.run([sys.executable, "-m", "tests.harness.idle", "--", sys.executable, "-c", probe],
                          cwd=REPO, capture_output=True, text=True, check=True)
    leader, group_leader, nice, autogroup_nice = done.stdout.split()
    assert (leader, group_leader, nice) == ("True", "True", "19")
    assert autogroup_nice in ("19", "none")
    assert subprocess.run([sys.executable, "-m", "tests.harness.idle"], cwd=REPO,
                          capture_output=True).returncode == 2
