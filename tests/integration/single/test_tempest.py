"""Single suite: OpenStack Tempest's image API tests (tempest.api.image)
against the converged Glance, with a tempest.conf derived from
tests/pillar/single.sls and the installed release (see tempest_checks.py).
Last of the suite's files: Tempest's negative tests leave errors in the
Glance logs, which test_single.py checks before."""
import pathlib

import yaml

from tempest_checks import run_image_api

PILLAR = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "pillar" / "single.sls").read_text())


def test_tempest_image_api(host, capsys):
    def report(line):
        with capsys.disabled():
            print(f"\n{line}", flush=True)

    counts = run_image_api(host, PILLAR["glance"]["server"], PILLAR["glance"]["bootstrap"], "single", report)
    assert counts["failed"] == 0
