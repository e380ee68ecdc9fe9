"""The reclass classes give the same glance:server pillar as the scenario
pillars they stand for, once their ${_param:...} references are resolved."""
import re
from pathlib import Path

import pytest
import yaml

from saltrender import REPO, load_pillar

PARAM = re.compile(r"^\$\{_param:([a-z0-9_]+)\}$")

SINGLE_PARAMS = {
    "glance_workers": 2,
    "glance_bind_address": "0.0.0.0",
    "single_address": "127.0.0.1",
    "openstack_region": "RegionTwo",
    "mysql_glance_password": "Gl@nce$db/1:x",
    "keystone_glance_password": "Ks$ecret@glance",
    "rabbitmq_openstack_password": "R4bbit@pass:word",
    "glance_image_cache_max_size": 8388608,
}
CLUSTER_PARAMS = {
    "glance_role": "primary",
    "glance_workers": 2,
    "glance_bind_address": "0.0.0.0",
    "openstack_database_address": "controller",
    "openstack_control_address": "controller",
    "openstack_region": "RegionOne",
    "openstack_message_queue_node01_address": "controller",
    "openstack_message_queue_node01_port": 5672,
    "openstack_message_queue_node02_address": "controller",
    "openstack_message_queue_node02_port": 5673,
    "mysql_glance_password": "Cluster$db@pw",
    "keystone_glance_password": "Cluster$ks@pw",
    "rabbitmq_openstack_password": "Cluster$mq@pw",
    "ceph_mon_address": "controller",
    "glance_ceph_client_key": "AQAyoghrZFnpMRAAqNR3MbUnsfIg2d82hMJVQA==",
    **{f"glance_api_ssl_{key}": value
       for key, value in load_pillar("cluster")["glance"]["server"]["bind"]["ssl"].items() if key != "enabled"},
}


def resolve(node, params, used):
    if isinstance(node, dict):
        return {key: resolve(value, params, used) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, params, used) for value in node]
    match = PARAM.match(node) if isinstance(node, str) else None
    if match:
        used.add(match.group(1))
        return params[match.group(1)]
    return node


@pytest.mark.parametrize("name, params", [("single", SINGLE_PARAMS), ("cluster", CLUSTER_PARAMS)])
def test_class_gives_the_scenario_pillar(name, params):
    cls = yaml.safe_load(Path(REPO, "metadata", "service", "server", f"{name}.yml").read_text())
    assert cls["applications"] == ["glance"]
    used = set()
    server = resolve(cls["parameters"]["glance"]["server"], params, used)
    expected = load_pillar(name)["glance"]["server"]
    # The suites' seeded images are test data, not part of a service class.
    expected.pop("images")
    # Nor is the single suite's CORS origin (a dashboard's address: site data).
    expected.pop("cors", None)
    # Nor its property protections (the cloud's own rules).
    expected.pop("property_protection", None)
    assert server == expected
    # Addresses and passwords come from parameters, not literals.
    assert used == set(params)
