"""PyPI suite: OpenStack Tempest's image API tests (tempest.api.image)
against Glance 2026.2 from PyPI, with a tempest.conf derived from
tests/pillar/pypi.sls (see tempest_checks.py). Last of the suite's files:
Tempest's negative tests leave errors in the Glance logs, which
test_pypi.py checks before."""
import pathlib

import yaml

from tempest_checks import run_image_api

PILLAR = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "pillar" / "pypi.sls").read_text())
VENV = f"/opt/glance/{PILLAR['glance']['server']['version']}"


def test_tempest_image_api(host, capsys):
    def report(line):
        with capsys.disabled():
            print(f"\n{line}", flush=True)

    counts = run_image_api(host, PILLAR["glance"]["server"], PILLAR["glance"]["bootstrap"], "pypi", report,
                           venv=VENV, image_source="http://controller:8090")
    assert counts["failed"] == 0
