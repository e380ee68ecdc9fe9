"""The cluster moves to the next release under load, driven from the
salt-master on the controller by glance.orchestrate.upgrade: on Debian 13
both API nodes go from the distribution's Glance 2025.1 to Glance 2026.1
from PyPI (the SLURP pair), one node drained at a time, while the rolling
client (rolling_client.py) keeps listing, showing, downloading and
uploading images through HAProxy. No request fails, every image uploaded
before (during the failed attempt below) and during the upgrade reads back
intact, the schema is at 2026.1's head, and an apply of the new pillar
afterwards changes nothing.
First, the same upgrade with a package index that cannot be reached
stops at its first step, on every node, and leaves the old release
serving. Then the newest pair, 2026.1 to 2026.2 (Glance 33, uWSGI only),
the same way under the same client. Printed: each node's drained time and
each upgrade's wall time.

Runs after test_rolling_update.py (the suite's pillar back) and leaves the
cluster on the new release for the tests that follow, the nodes' own
included. Debian 12's packaged Zed is not upgraded here: the next release
from PyPI that the formula carries for it (2023.2) is not one OpenStack
supports upgrading Zed to directly; the pypi suite upgrades across a
schema change on that platform."""
import json

import pytest

from glance_checks import UWSGI_INI, require_salt_master, salt_master_json
from rolling_client import (
    NODES,
    SCHEME,
    api_service,
    assert_uploads_read_back,
    healthy,
    on_nodes,
    orchestrate,
    orchestrate_ok,
    run_client,
    step_window,
)
from tempest_checks import platform_name

# Per platform: (the packages' release, the PyPI release the cluster moves
# to, the release after it, the newest).
UPGRADES = {"debian-13": ("2025.1", "2026.1", "2026.2")}
UPGRADE = "glance.orchestrate.upgrade"
PRIMARY = "glance-1"
API_CONF = "/etc/glance/glance-api.conf"
# An index nothing listens on: pip cannot fetch anything.
UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"


def new_release(release, **install):
    return {"glance": {"server": {"version": release, "install": {"method": "pypi", **install}}}}


def serving(host):
    """{node: ExecStart of glance-api}."""
    return on_nodes(host, "systemctl show -p ExecStart --value glance-api")


@pytest.fixture(scope="module")
def release(host):
    require_salt_master(host)
    wanted = UPGRADES.get(platform_name(host))
    if wanted is None:
        pytest.skip(f"no cluster upgrade on {platform_name(host)}: its packaged release has no supported "
                    f"next release from PyPI here")
    return wanted[1]


@pytest.fixture(scope="module")
def newest(host, release):
    return UPGRADES[platform_name(host)][2]


@pytest.fixture(scope="module")
def unreachable_index(host, release):
    """The upgrade with an index that cannot be reached, under the client:
    (exit, steps, the nodes' glance-api and configuration before and
    after, the client's result, whose uploads are the images made before
    the upgrade)."""
    healthy(host)
    before = (serving(host), on_nodes(host, f"sha256sum {API_CONF}"), api_service(host))
    pillar = {"glance_orchestrate": {"pillar": new_release(release, index_url=UNREACHABLE_INDEX)}}
    client, (rc, steps, _, _) = run_client(host, lambda: orchestrate(host, UPGRADE, pillar))
    after = (serving(host), on_nodes(host, f"sha256sum {API_CONF}"), api_service(host))
    return rc, steps, before, after, client


def test_an_unreachable_index_stops_the_upgrade_before_any_node_is_touched(host, release, unreachable_index):
    rc, steps, before, after, client = unreachable_index
    assert client["failures"] == [], f"requests failed during the failed attempt: {client['failures'][:10]}"
    assert rc != 0
    venv = steps["glance-orchestrate-upgrade-venv"]
    assert venv["result"] is False
    # Salt's answer names each node that failed and why.
    for node in NODES:
        assert node in venv["comment"], venv["comment"]
    assert "the package index could not be reached" in json.dumps(venv["changes"]), venv["changes"]
    ran = [sid for sid, step in steps.items()
           if sid != "glance-orchestrate-upgrade-venv" and (step.get("result") is True or step.get("changes"))]
    assert ran == [], f"steps after the failed build ran: {ran}"
    # The packages' Glance serves, unchanged, its configuration as it was.
    assert before == after
    assert not any("/opt/glance/" in command for command in after[0].values()), after[0]
    assert on_nodes(host, f"test -e /opt/glance/{release} && echo built || echo absent") == \
        {node: "absent" for node in NODES}


def drained_seconds(steps, node):
    prefix = f"glance-orchestrate-upgrade-{node}"
    return step_window(steps, f"{prefix}-drain", f"{prefix}-undrain")


def upgrade_under_load(host, release):
    """The upgrade to RELEASE while the client runs: (the client's result,
    the steps, seconds)."""
    healthy(host)
    pillar = {"glance_orchestrate": {"pillar": new_release(release)}}
    result, (steps, seconds) = run_client(host, lambda: orchestrate_ok(host, UPGRADE, pillar))
    return result, steps, seconds


def report(capsys, label, upgrade):
    """Prints (does not assert) what an upgrade took."""
    result, steps, seconds = upgrade
    with capsys.disabled():
        drained = ", ".join(f"{node} {drained_seconds(steps, node):.0f}s" for node in NODES)
        print(f"\nupgrade {label}: {seconds:.0f}s in all; drained: {drained}; "
              f"{result['requests']} requests through HAProxy, {len(result['failures'])} failed, "
              f"{len(result['uploads'])} uploads", flush=True)


def assert_serves_from_its_virtualenv(host, release):
    """The wheel's uWSGI in the release's virtualenv, or with HTTPS the
    distribution's uWSGI loading that virtualenv (the pyuwsgi wheel has no
    TLS)."""
    loaded = on_nodes(host, f"sed -n 's/^virtualenv *= *//p' {UWSGI_INI}")
    for node, command in serving(host).items():
        if SCHEME == "https":
            assert "path=/usr/bin/uwsgi" in command and loaded[node] == f"/opt/glance/{release}", \
                (node, command, loaded[node])
        else:
            assert f"path=/opt/glance/{release}/bin/uwsgi" in command, (node, command)


def assert_schema_at_head(host, release):
    answer = salt_master_json(host, PRIMARY, "cmd.run_all",
                              f"runuser -u glance -- /opt/glance/{release}/bin/glance-manage "
                              f"--config-file {API_CONF} db check")
    assert answer[PRIMARY]["retcode"] == 0, answer[PRIMARY]


def assert_applied_again_changes_nothing(host, release):
    answers = salt_master_json(host, "-L", ",".join(NODES), "state.apply", "glance",
                               "pillar=" + json.dumps(new_release(release)))
    for node in NODES:
        states = answers[node]
        assert isinstance(states, dict), states
        changed = [f"{v.get('__id__')}: {v.get('comment')}" for v in states.values()
                   if v.get("result") is not True or v.get("changes")]
        assert changed == [], f"{node}: " + "\n".join(changed)
    healthy(host)


@pytest.fixture(scope="module")
def upgraded(host, release, unreachable_index):
    """The upgrade under load: (the client's result, the steps, seconds)."""
    return upgrade_under_load(host, release)


def test_no_request_failed_during_the_upgrade(host, release, upgraded, capsys):
    report(capsys, f"{platform_name(host)} to {release}", upgraded)
    result, _, _ = upgraded
    assert result["stopped"], "the client ran out of requests before the upgrade ended"
    assert result["failures"] == [], f"requests failed during the upgrade: {result['failures'][:10]}"


def test_the_primary_went_first_and_the_contract_came_last(upgraded):
    _, steps, _ = upgraded
    order = sorted(steps, key=lambda sid: steps[sid]["__run_num__"])
    assert order[0] == "glance-orchestrate-upgrade-venv"
    assert order[1] == f"glance-orchestrate-upgrade-{PRIMARY}-drain"
    assert order[-1] == "glance-orchestrate-upgrade-contract"


def test_every_node_serves_the_new_release_from_its_virtualenv(host, release, upgraded):
    assert_serves_from_its_virtualenv(host, release)
    # Removed, not purged: "rc" (its configuration files kept).
    packages = on_nodes(host, "dpkg-query -W -f '${db:Status-Abbrev}' glance-api glance-common 2>&1")
    assert all(status.split() == ["rc", "rc"] for status in packages.values()), packages


def test_the_schema_is_at_the_new_releases_head(host, release, upgraded):
    assert_schema_at_head(host, release)


def test_every_image_uploaded_during_the_upgrade_reads_back(host, upgraded):
    result, _, _ = upgraded
    assert_uploads_read_back(host, result["uploads"], "during the upgrade")


def test_every_image_uploaded_before_the_upgrade_reads_back(host, unreachable_index, upgraded):
    *_, client = unreachable_index
    assert_uploads_read_back(host, client["uploads"], "before the upgrade")


def test_the_new_pillar_applied_again_changes_nothing(host, release, upgraded):
    assert_applied_again_changes_nothing(host, release)


@pytest.fixture(scope="module")
def upgraded_again(host, newest, upgraded):
    """Then the newest pair, the same way under the same client: 2026.1 to
    2026.2, whose Glance (33) runs only under uWSGI, with no listening
    options left in glance-api.conf."""
    return upgrade_under_load(host, newest)


def test_the_newest_pair_upgrades_the_same_way(host, release, newest, upgraded_again, capsys):
    report(capsys, f"{platform_name(host)} {release} to {newest}", upgraded_again)
    result, _, _ = upgraded_again
    assert result["stopped"] and result["failures"] == [], result["failures"][:10]
    assert_serves_from_its_virtualenv(host, newest)
    # The previous release's virtualenv goes once the new one serves.
    assert on_nodes(host, f"test -e /opt/glance/{release} && echo kept || echo gone") == \
        {node: "gone" for node in NODES}
    # cmd.run answers with grep's count whatever its exit status.
    assert on_nodes(host, f"grep -c '^bind_port' {API_CONF}") == {node: "0" for node in NODES}
    assert_schema_at_head(host, newest)
    assert_uploads_read_back(host, result["uploads"], "during the upgrade")
    assert_applied_again_changes_nothing(host, newest)
