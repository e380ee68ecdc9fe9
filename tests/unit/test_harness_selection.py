"""The converge harness says which platforms of .kitchen.yml it does not run,
instead of dropping them unsaid."""
import importlib.util
import sys

import pytest

from saltrender import REPO

sys.path.insert(0, str(REPO))

from tests.harness import images, kitchen, selection  # noqa: E402


def test_every_declared_platform_is_run_or_reported():
    declared = kitchen.platforms()
    skipped = selection.not_converged_here()
    assert skipped, "the Ubuntu and Rocky platforms of .kitchen.yml have no base image here"
    assert sorted(skipped + [p for p in declared if p in images.PLATFORMS]) == sorted(declared)


def test_the_converge_run_prints_them():
    # By path: tests/unit has a conftest of its own under the same name.
    spec = importlib.util.spec_from_file_location("converge_conftest", REPO / "tests" / "integration" / "conftest.py")
    converge_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converge_conftest)

    line = converge_conftest.skipped_platforms_line()
    for platform in selection.not_converged_here():
        assert platform in line


def test_a_suite_name_selects_that_suite_and_a_prefix_its_family():
    top = {"provisioner": {"state_top": {"base": {"*": ["glance"]}}}}
    cluster = {"driver": {"run_options": {"network": "c"}}}
    config = {"suites": [dict(top, name="single"), dict(top, name="single-ceph"),
                         dict(top, name="cluster-controller", **cluster),
                         dict(top, name="cluster-primary", **cluster)]}
    assert [g.name for g in kitchen.select(["single"], config)] == ["single"]
    assert [g.name for g in kitchen.select(["single-ceph"], config)] == ["single-ceph"]
    [group] = kitchen.select(["cluster"], config)
    assert [n.name for n in group.nodes] == ["cluster-controller", "cluster-primary"]


def test_tmpfs_run_options_become_the_nodes_tmpfs_mounts():
    top = {"provisioner": {"state_top": {"base": {"*": ["glance"]}}}}
    one = {"driver": {"run_options": {"tmpfs": "/var/lib/glance/images:size=256m"}}}
    two = {"driver": {"run_options": {"tmpfs": ["/a", "/b:size=1m"]}}}
    config = {"driver": {"run_options": {"cgroupns": "host"}},
              "suites": [dict(top, name="one", **one), dict(top, name="two", **two), dict(top, name="none")]}
    assert [n.tmpfs for g in kitchen.groups(config) for n in g.nodes] == [
        ["/var/lib/glance/images:size=256m"], ["/a", "/b:size=1m"], []]
    relative = {"driver": {"run_options": {"tmpfs": "var/lib/glance"}}}
    with pytest.raises(ValueError, match="suite bad: tmpfs 'var/lib/glance': not an absolute path"):
        kitchen.groups({"suites": [dict(top, name="bad", **relative)]})


def test_the_standalone_suite_puts_its_file_store_on_a_small_tmpfs():
    [standalone] = [n for g in kitchen.groups() for n in g.nodes if n.name == "standalone"]
    assert standalone.tmpfs == ["/var/lib/glance/images:size=256m"]
