"""The converge harness drives the cluster through a salt-master: the node
whose pillar holds glance_orchestrate is the master, the others its
minions, each given its suite's pillar files by the master's top file."""
import sys

import yaml

from saltrender import REPO

sys.path.insert(0, str(REPO))

from tests.harness import kitchen, master  # noqa: E402


def cluster():
    [group] = kitchen.select(["cluster"])
    return group


def test_the_controller_is_the_clusters_master_and_other_groups_have_none():
    group = cluster()
    assert master.master_node(group).name == "cluster-controller"
    assert [n.name for n in master.minions(group, master.master_node(group))] == [
        "cluster-primary", "cluster-secondary"]
    assert all(master.master_node(g) is None for g in kitchen.groups() if g.name != "cluster")


def test_the_masters_pillar_top_gives_each_minion_its_suites_files(tmp_path):
    group = cluster()
    root = master.write_master_pillar(tmp_path, group, master.master_node(group), REPO)
    top = yaml.safe_load((root / "top.sls").read_text())["base"]
    assert top == {
        "controller_master": ["cluster", "services", "services_ceph", "cluster_orchestrate", "test_ca",
                              "controller_tls"],
        "glance-1": ["cluster", "test_ca"],
        "glance-2": ["cluster", "cluster_secondary", "test_ca"],
    }
    for names in top.values():
        for name in names:
            assert (root / f"{name}.sls").read_text() == (REPO / "tests" / "pillar" / f"{name}.sls").read_text()


def test_minions_point_at_the_master_by_its_name_on_the_network():
    group = cluster()
    assert master.minion_config(master.master_node(group))["master"] == "controller"
    config = master.master_config(["/srv/formula"], "/srv/pillar", [], master.master_node(group))
    assert config["auto_accept"] is False and config["id"] == "controller_master"


def test_the_master_groups_salt_is_pinned_in_the_requirements_files():
    from tests.harness import images

    pins = {path.name: images.salt_pin(path) for path in (images.SALT_REQUIREMENTS, images.SALT_3006_REQUIREMENTS)}
    assert pins["salt-3006-requirements.txt"].startswith("salt==3006.")
    assert images.master_salt_pin("debian-12") == pins["salt-3006-requirements.txt"]
    # Salt 3006's master answers no request under Debian 13's Python 3.13.
    assert images.master_salt_pin("debian-13") == pins["salt-requirements.txt"]
    assert set(images.MASTER_SALT_REQUIREMENTS) == set(images.PLATFORMS)
