"""The newcomer check: `make deploy` as README.rst tells a user to run it,
on a bare Debian host.

The host is a systemd container with only git, make, python3, python3-venv
and ca-certificates (tests/images/Containerfile.newcomer: no compiler, no
Salt). A snapshot of the working tree, uncommitted edits included, is
cloned inside it (tests/harness/newcomer.py); there, as root:

* `make deploy` exits 0, its summary line reports 0 failed states, and it
  prints no Salt error or warning (nor does the second one);
* the standalone suite's testinfra tests of what a deploy leaves
  (tests/integration/standalone: test_standalone, test_images, test_import;
  its fault tests run in the standalone suite) pass against the host
  (iproute2 is installed first: testinfra needs `ss`);
* a second `make deploy` reports 0 changed and 0 failed;
* then, on a new bare host, `make deploy PYPI=2026.2` (Glance from PyPI)
  succeeds, its curl line works, glance-api runs the virtualenv's uWSGI,
  and a second one changes nothing.

The wall times and the lines each deploy printed go to the run's report.
Not a Kitchen suite: it runs in `make converge` next to test_converge.py,
one class per platform (its unit runs beside the converges), and
`make converge SUITE=newcomer [PLATFORM=debian-12]` runs it alone.
"""
import json
import re

import pytest

from tests.harness.newcomer import (
    FIRST,
    PYPI_FIRST,
    PYPI_RELEASE,
    PYPI_SECOND,
    SECOND,
    STANDALONE_TESTS,
    newcomer_unit,
)
from tests.harness.selection import platforms_to_run, runs_newcomer


def _fail_with_output(message, run):
    pytest.fail(f"{message}\nlast lines of its output:\n{run.tail()}", pytrace=False)


@pytest.fixture(scope="class")
def newcomer(unit_result):
    return unit_result


class NewcomerCheck:
    """Subclassed per platform below; its unit of work runs beside the
    converges (tests/harness/schedule.py)."""

    platform = None

    @classmethod
    def unit_key(cls):
        return ("newcomer", cls.platform)

    @classmethod
    def unit(cls):
        return newcomer_unit(cls.platform)

    def test_first_deploy_succeeds(self, newcomer):
        run = newcomer.ran(FIRST)
        if run.returncode != 0:
            _fail_with_output(f"make deploy exited {run.returncode}", run)
        summary = run.summary()
        if summary is None:
            _fail_with_output("make deploy printed no line 'glance: N states, C changed, F failed in T s'", run)
        if summary["failed"]:
            _fail_with_output(f"make deploy: {run.summary_line()}", run)

    def test_deploys_log_no_salt_error_or_warning(self, newcomer):
        succeeded = {label: run for label, run in newcomer.deploys.items() if run.succeeded()}
        if FIRST not in succeeded:
            pytest.fail("the first deploy failed (see test_first_deploy_succeeds)", pytrace=False)
        problems = [f"{label}: {line}" for label, run in succeeded.items() for line in run.salt_problems()]
        assert not problems, "Salt logged errors or warnings during make deploy:\n" + "\n".join(problems)

    def test_standalone_testinfra(self, newcomer):
        if newcomer.testinfra is None:
            pytest.fail("did not run: the first deploy failed (see test_first_deploy_succeeds)", pytrace=False)
        proc, _ = newcomer.testinfra
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(STANDALONE_TESTS)} exit {proc.returncode}\n{proc.stdout[-6000:]}", pytrace=False)

    def test_suggested_command_lists_images(self, newcomer):
        """The curl line the deploy prints works as printed (curl installed)."""
        run = newcomer.ran(FIRST)
        assert newcomer.suggested, f"make deploy suggested no curl command:\n{run.tail()}"
        command, proc = newcomer.suggested
        assert proc.returncode == 0, f"{command}: exit {proc.returncode}: {proc.stderr}"
        assert "images" in json.loads(proc.stdout), f"{command} printed {proc.stdout[:500]}"

    def test_second_deploy_changes_nothing(self, newcomer):
        run = newcomer.ran(SECOND)
        summary = run.summary()
        if run.returncode != 0 or summary is None or summary["changed"] or summary["failed"]:
            _fail_with_output(f"second make deploy: exit {run.returncode}, "
                              f"{run.summary_line() or 'no summary line'}", run)


    def test_pypi_deploy_succeeds_and_serves_from_the_virtualenv(self, newcomer):
        run = newcomer.ran(PYPI_FIRST)
        if not run.succeeded():
            _fail_with_output(f"make deploy PYPI={PYPI_RELEASE}: exit {run.returncode}, "
                              f"{run.summary_line() or 'no summary line'}", run)
        serving = newcomer.pypi_serving
        assert serving.returncode == 0, serving.stderr
        link, exec_start = serving.stdout.split("\n", 1)
        assert link.startswith(f"{PYPI_RELEASE}-"), serving.stdout
        assert f"path=/opt/glance/{PYPI_RELEASE}/bin/uwsgi" in exec_start, serving.stdout

    def test_pypi_suggested_command_lists_images(self, newcomer):
        run = newcomer.ran(PYPI_FIRST)
        assert newcomer.pypi_suggested, f"make deploy PYPI={PYPI_RELEASE} suggested no curl command:\n{run.tail()}"
        command, proc = newcomer.pypi_suggested
        assert proc.returncode == 0, f"{command}: exit {proc.returncode}: {proc.stderr}"
        assert "images" in json.loads(proc.stdout), f"{command} printed {proc.stdout[:500]}"

    def test_pypi_second_deploy_changes_nothing(self, newcomer):
        run = newcomer.ran(PYPI_SECOND)
        summary = run.summary()
        if run.returncode != 0 or summary is None or summary["changed"] or summary["failed"]:
            _fail_with_output(f"second make deploy PYPI={PYPI_RELEASE}: exit {run.returncode}, "
                              f"{run.summary_line() or 'no summary line'}", run)


for _platform in platforms_to_run() if runs_newcomer() else []:
    _name = "TestNewcomerOn" + "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", _platform))
    globals()[_name] = type(_name, (NewcomerCheck,), {"platform": _platform})
