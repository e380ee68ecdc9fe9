"""A configuration change that restarts glance-api, rolled out by the
formula's rolling orchestration (glance/orchestrate/rolling.sls) from the
salt-master on the controller, while a client keeps listing images,
showing and downloading the seeded one and uploading its own through the
controller's HAProxy (rolling_client.py): no request fails, every upload
reads back intact, each node's glance-api is restarted, never both at
once. The same change applied to both nodes at once is measured (printed,
not asserted) for contrast, and brings the suite's pillar back. Last, a
node that does not come back healthy stops the run, named, while the
other keeps serving.

Where the controller runs no salt-master (Test Kitchen runs the cluster
masterless) there is nothing to drive: skipped."""
import pytest

from glance_checks import require_salt_master, salt_master_json
from rolling_client import (
    CLUSTER,
    NODES,
    api_service,
    assert_uploads_read_back,
    failed_steps,
    healthy,
    on_nodes,
    orchestrate,
    orchestrate_ok,
    read_back_uploads,
    run_client,
)

WORKERS = CLUSTER["server"]["workers"]
CHANGED_WORKERS = WORKERS + 1


@pytest.fixture(scope="module")
def master(host):
    return require_salt_master(host)


def workers(host):
    """{node: glance-api's worker count}: glance-api.conf's workers under
    eventlet, the uWSGI ini's processes under uWSGI."""
    return on_nodes(host, "cat /etc/glance/glance-api-uwsgi.ini 2>/dev/null | sed -n 's/^processes *= *//p'; "
                          "sed -n 's/^workers *= *//p' /etc/glance/glance-api.conf")


def restart_windows(before, after):
    """[(node, start, end)] of each restart, in the monotonic clock the
    containers share with their host (microseconds)."""
    return sorted((node, after[node]["ActiveExitTimestampMonotonic"], after[node]["ActiveEnterTimestampMonotonic"])
                  for node in NODES if after[node]["MainPID"] != before[node]["MainPID"])


def test_rolling_restart_loses_no_request_then_all_at_once_for_contrast(master, capsys):
    host = master

    def show(line):
        # Shown when the test passes too: the figures are the point.
        with capsys.disabled():
            print(line, flush=True)

    healthy(host)
    assert set(workers(host).values()) == {str(WORKERS)}
    before = api_service(host)

    override = {"glance_orchestrate": {"pillar": {"glance": {"server": {"workers": CHANGED_WORKERS}}}}}
    rolling, (_, seconds) = run_client(host, lambda: orchestrate_ok(host, "glance.orchestrate.rolling", override))
    after = api_service(host)
    show(f"rolling orchestration ({seconds:.0f}s): {rolling['requests']} requests through HAProxy, "
          f"{len(rolling['failures'])} failed")
    assert set(workers(host).values()) == {str(CHANGED_WORKERS)}, "the override did not reach the nodes"
    windows = restart_windows(before, after)
    assert [node for node, _, _ in windows] == sorted(NODES), f"glance-api not restarted everywhere: {after}"
    (first, start1, end1), (second, start2, end2) = sorted(windows, key=lambda w: w[1])
    assert end1 < start2, f"{first} and {second} restarted at the same time: {windows}"
    assert rolling["stopped"], "the client ran out of requests before the orchestration ended"
    assert rolling["failures"] == [], f"requests failed during the rolling update: {rolling['failures'][:10]}"
    assert_uploads_read_back(host, rolling["uploads"], "during the rolling update")

    # Contrast: the suite's own pillar (workers back) on both nodes at once.
    healthy(host)
    before = api_service(host)

    def all_at_once():
        answers = salt_master_json(host, "-L", ",".join(NODES), "state.apply", "glance")
        problems = [f"{node}: {v.get('__id__')}: {v.get('comment')}" for node in NODES
                    for v in (answers[node].values() if isinstance(answers[node], dict) else [{}])
                    if v.get("result") is not True]
        assert not problems, "state.apply glance on both nodes:\n" + "\n".join(problems)

    at_once, _ = run_client(host, all_at_once)
    after = api_service(host)
    show(f"contrast, both nodes at once: {at_once['requests']} requests through HAProxy, "
          f"{len(at_once['failures'])} failed")
    # Its uploads go, whatever became of them.
    read_back_uploads(host, at_once["uploads"])
    assert set(workers(host).values()) == {str(WORKERS)}, "the suite's pillar is not back"
    assert len(restart_windows(before, after)) == len(NODES)
    # The next tests find both nodes serving again.
    healthy(host)


def test_a_node_that_does_not_come_back_stops_the_run_naming_it(master, capsys):
    """A change after which the first node no longer answers where the
    load balancer and the orchestration look (glance-api moved to another
    port): its health step fails after wait_seconds, the run stops there
    naming it, the next node is never touched, and the cluster keeps
    serving through the other node without a failed request. The suite's
    pillar then brings the node back."""
    host = master
    first, second = sorted(NODES)
    healthy(host)
    before = api_service(host)
    moved = {"glance_orchestrate": {"wait_seconds": 15,
                                    "pillar": {"glance": {"server": {"bind": {"port": 9393}}}}}}
    result, (rc, steps, _, _) = run_client(host, lambda: orchestrate(host, "glance.orchestrate.rolling", moved))
    after = api_service(host)
    assert rc != 0
    assert failed_steps(steps)[0].startswith(f"glance-orchestrate-rolling-{first}-healthy: "), failed_steps(steps)
    assert steps[f"glance-orchestrate-rolling-{first}-apply"]["result"] is True
    assert steps[f"glance-orchestrate-rolling-{second}-drain"]["result"] is False
    assert after[second]["MainPID"] == before[second]["MainPID"], f"{second} was restarted"
    assert result["failures"] == [], f"requests failed while {first} was away: {result['failures'][:10]}"
    read_back = read_back_uploads(host, result["uploads"])
    assert set(read_back.values()) == {"intact"}, read_back
    # Back with the suite's pillar.
    answers = salt_master_json(host, first, "state.apply", "glance")
    assert all(v.get("result") is True for v in answers[first].values()), answers[first]
    healthy(host)
