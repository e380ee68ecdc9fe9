"""Cluster suite: OpenStack Tempest's image API tests (tempest.api.image)
through the controller's HAProxy, the endpoint Keystone's catalog gives,
so that consecutive requests of one test (a glance-direct stage and its
import among them) land on either node. Run once, from the secondary, the
last node verified (the primary's and its own tests, their check of clean
logs included, have run: Tempest's negative tests leave errors in the
logs). On Debian 13 the cluster runs what the controller's upgrade test
left: Glance 2026.1 from PyPI."""
import pathlib

import pytest
import yaml

from glance_checks import glance_tool
from tempest_checks import run_image_api

PILLAR = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / "pillar" / "cluster.sls").read_text())
# Tempest's web-download image is fetched first from the controller's test
# image server (tests/pillar/cluster.sls seeds from it too).
IMAGE_SOURCE = "http://controller:8090"


def test_tempest_image_api_through_haproxy(host, capsys):
    if host.check_output("hostname").strip() != "glance-2":
        pytest.skip("Tempest runs once, from the secondary (glance-2), the last node verified")

    def report(line):
        with capsys.disabled():
            print(f"\n{line}", flush=True)

    manage = glance_tool(host, "glance-manage")
    venv = manage.rsplit("/bin/", 1)[0] if "/" in manage else None
    counts = run_image_api(host, PILLAR["glance"]["server"], PILLAR["glance"]["bootstrap"], "cluster", report,
                           venv=venv, image_source=IMAGE_SOURCE)
    assert counts["failed"] == 0
