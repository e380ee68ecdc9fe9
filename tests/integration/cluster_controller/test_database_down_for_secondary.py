"""A secondary applied while the database it shares with the primary does
not take connections (MariaDB stopped on the controller): the apply waits
its bounded time (glance:lookup:db_wait, shortened here), fails naming the
database server, and does not start glance-api, stopped before as on a node
not yet serving. With MariaDB back, the next apply starts it and the node
serves. Driven from the salt-master; skipped where the cluster runs
masterless. Before test_salt_master_secrets.py (file order), so that its
scan covers these jobs too; MariaDB (Keystone's too) is back before the
other modules run."""
import json
import pathlib
import time

import pytest
import yaml

from glance_checks import require_salt_master, salt_master_json
from rolling_client import SCHEME

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
DATABASE = yaml.safe_load((PILLAR_DIR / "cluster.sls").read_text())["glance"]["server"]["database"]
ORCHESTRATE = yaml.safe_load((PILLAR_DIR / "cluster_orchestrate.sls").read_text())["glance_orchestrate"]
SECONDARY = ORCHESTRATE["secondaries"][0]
# 3 checks 5 s apart instead of the default 90 checks 10 s apart.
DB_WAIT = {"attempts": 3, "interval": 5}
SERVICE_STATE = "service_|-glance-server-service-glance-api-running_|-glance-api_|-running"


@pytest.fixture(scope="module")
def database_down(host):
    """glance-api stopped on the secondary, MariaDB stopped, the secondary
    applied; then MariaDB started and the secondary applied again, whatever
    happened. Both applies' (seconds, states), and glance-api's state after
    the first."""
    require_salt_master(host)
    stopped = salt_master_json(host, SECONDARY, "service.stop", "glance-api")
    assert stopped[SECONDARY] is True
    stop = host.run("systemctl stop mariadb")
    assert stop.rc == 0, stop.stderr
    try:
        down = apply_secondary(host, {"glance": {"lookup": {"db_wait": DB_WAIT}}})
        api_after_down = api_state(host)
    finally:
        start = host.run("systemctl start mariadb")
        assert start.rc == 0, start.stderr
        back = apply_secondary(host)
    return down, api_after_down, back


def api_state(host):
    return salt_master_json(host, SECONDARY, "cmd.run", "systemctl is-active glance-api",
                            check=False)[SECONDARY].strip()


def apply_secondary(host, pillar=None):
    """state.apply glance on the secondary: (seconds, its states)."""
    args = [SECONDARY, "state.apply", "glance"] + (["pillar=" + json.dumps(pillar)] if pillar else [])
    started = time.monotonic()
    # A failed apply exits non-zero: the states say what happened.
    answer = salt_master_json(host, *args, check=False)
    states = answer[SECONDARY]
    assert isinstance(states, dict), f"no state results from {SECONDARY}: {states}"
    return time.monotonic() - started, states


def test_the_apply_waits_then_fails_naming_the_database(database_down, capsys):
    (seconds, states), _, _ = database_down
    with capsys.disabled():
        print(f"secondary without its database: failed after {seconds:.0f} s", flush=True)
    failed = {key: value for key, value in states.items() if value["result"] is False}
    [wait] = [value for key, value in failed.items() if key.startswith("glance_db_|-")]
    # Salt's retry reports the last attempt's comment inside its own words.
    assert (f"Glance's mysql database {DATABASE['host']}:{DATABASE['port']} "
            "does not take the connection") in wait["comment"], wait
    # Everything else that failed failed for the wait's sake.
    others = [value["comment"] for value in failed.values() if value is not wait]
    assert all("requisite" in comment.lower() for comment in others), others
    bound = DB_WAIT["attempts"] * DB_WAIT["interval"] + 120
    assert seconds < bound, f"the failed apply took {seconds:.0f} s (bound {bound} s)"


def test_glance_api_is_not_started_without_the_schema(database_down):
    (_, states), api_after_down, _ = database_down
    assert states[SERVICE_STATE]["result"] is False
    assert api_after_down == "inactive", "glance-api started without its database"


def test_the_next_apply_starts_glance_api_and_the_node_serves(host, database_down):
    _, _, (_, states) = database_down
    failed = {key: value["comment"] for key, value in states.items() if value["result"] is not True}
    assert failed == {}, failed
    changed = [key.split("_|-")[1] for key, value in states.items() if value["changes"]]
    assert changed == ["glance-server-service-glance-api-running"], changed
    assert api_state(host) == "active"
    # Served to the controller, as HAProxy reaches it.
    url = f"{SCHEME}://{SECONDARY}:9292/healthcheck"
    probe = f"python3 -c \"import urllib.request; urllib.request.urlopen('{url}', timeout=5)\""
    deadline = time.monotonic() + 90
    while host.run(probe).rc != 0:
        assert time.monotonic() < deadline, f"{SECONDARY} does not serve after the apply"
        time.sleep(2)
