"""Single suite: OpenStack Tempest's image API tests (tempest.api.image)
against the converged Glance, with a tempest.conf derived from
tests/pillar/single.sls and the installed release (see tempest_checks.py).
Last of the suite's files: Tempest's negative tests leave errors in the
Glance logs, which test_single.py checks before."""

from glance_checks import suite_pillar
from tempest_checks import run_image_api

PILLAR = suite_pillar("single")


def test_tempest_image_api(host, capsys):
    def report(line):
        with capsys.disabled():
            print(f"\n{line}", flush=True)

    counts = run_image_api(host, PILLAR["glance"]["server"], PILLAR["glance"]["bootstrap"], "single", report)
    assert counts["failed"] == 0
