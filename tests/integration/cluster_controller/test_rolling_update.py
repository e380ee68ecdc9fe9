"""A configuration change that restarts glance-api, rolled out by the
formula's rolling orchestration (glance/orchestrate/rolling.sls) from the
salt-master on the controller, while a client keeps listing images and
downloading the seeded one through the controller's HAProxy: no request
fails, each node's glance-api is restarted, never both at once. The same
change applied to both nodes at once is measured (printed, not asserted)
for contrast, and brings the suite's pillar back.

Where the controller runs no salt-master (Test Kitchen runs the cluster
masterless) there is nothing to drive: skipped."""
import json
import pathlib
import shlex
import time

import pytest
import yaml

from glance_checks import KEYSTONE_TOKEN, require_salt_master, salt_master_json

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
CLUSTER = yaml.safe_load((PILLAR_DIR / "cluster.sls").read_text())["glance"]
ORCHESTRATE = yaml.safe_load((PILLAR_DIR / "cluster_orchestrate.sls").read_text())
NODES = ORCHESTRATE["glance_orchestrate"]["api_nodes"]
PORT = ORCHESTRATE["test_services"]["haproxy"]["port"]
WORKERS = CLUSTER["server"]["workers"]
CHANGED_WORKERS = WORKERS + 1
SEED = CLUSTER["server"]["images"][0]
IDENTITY = CLUSTER["server"]["identity"]
# At most this many requests per client run (it stops earlier when told to).
MAX_REQUESTS = 20000
STATE_DIR = "/root/rolling-client"

# Runs on the controller (systemd-run): a Keystone token as Glance's service
# user (password from a root-only file), then alternately lists the images
# and downloads the seeded one through HAProxy, each download checked
# against the pillar's digest, until the stop file appears or MAX requests
# went. Every failure is recorded with its time.
CLIENT = KEYSTONE_TOKEN + r"""
import hashlib, json, os, sys, time, urllib.request
state, port, max_requests, name, sha256 = sys.argv[1:6]
password = open(os.path.join(state, "password")).read()
token = keystone_token("http://controller:5000/v3", "glance", password, "service", 30)
api = "http://127.0.0.1:%s/v2/images" % port

def get(url):
    req = urllib.request.Request(url, headers={"X-Auth-Token": token})
    with urllib.request.urlopen(req, timeout=60) as answer:
        return answer.status, answer.read()

image_id = json.loads(get(api + "?name=" + name)[1])["images"][0]["id"]
done, failures = 0, []
while done < int(max_requests) and not os.path.exists(os.path.join(state, "stop")):
    kind = "list" if done % 2 == 0 else "download"
    try:
        if kind == "list":
            status, body = get(api + "?limit=100")
            ok = status == 200 and any(i["id"] == image_id for i in json.loads(body)["images"])
        else:
            status, body = get(api + "/" + image_id + "/file")
            ok = status == 200 and hashlib.sha256(body).hexdigest() == sha256
        if not ok:
            failures.append({"at": time.time(), "kind": kind, "error": "status %s or wrong data" % status})
    except Exception as error:
        failures.append({"at": time.time(), "kind": kind, "error": repr(error)[:300]})
    done += 1
    if done % 20 == 0:
        with open(os.path.join(state, "progress"), "w") as fh:
            fh.write(str(done))
    time.sleep(0.05)
with open(os.path.join(state, "result.json.part"), "w") as fh:
    json.dump({"requests": done, "failures": failures, "stopped": done < int(max_requests)}, fh)
os.rename(os.path.join(state, "result.json.part"), os.path.join(state, "result.json"))
"""


@pytest.fixture(scope="module")
def master(host):
    return require_salt_master(host)


def api_service(host):
    """{node: {MainPID, Active*TimestampMonotonic}} of glance-api."""
    props = "MainPID,ActiveEnterTimestampMonotonic,ActiveExitTimestampMonotonic"
    answers = salt_master_json(host, "-L", ",".join(NODES), "cmd.run",
                        f"systemctl show glance-api --property={props}")
    result = {}
    for node in NODES:
        lines = dict(line.split("=", 1) for line in answers[node].splitlines() if "=" in line)
        result[node] = {key: int(value) for key, value in lines.items()}
    return result


def workers(host):
    answers = salt_master_json(host, "-L", ",".join(NODES), "cmd.run",
                        "sed -n 's/^workers *= *//p' /etc/glance/glance-api.conf")
    return {node: answers[node].strip() for node in NODES}


def healthy(host, seconds=180):
    """Wait until HAProxy's check of every node passes (its stats socket is
    not configured: ask each node's healthcheck, then give HAProxy its two
    checks)."""
    deadline = time.monotonic() + seconds
    for node in NODES:
        while host.run(f"python3 -c \"import urllib.request; "
                       f"urllib.request.urlopen('http://{node}:9292/healthcheck', timeout=5)\"").rc != 0:
            assert time.monotonic() < deadline, f"{node}'s healthcheck does not answer"
            time.sleep(1)
    time.sleep(3)


def run_client(host, action):
    """Start the client, run ACTION once it is going, stop it; its result."""
    host.run(f"rm -rf {STATE_DIR} && install -d -m 0700 {STATE_DIR}")
    written = host.run(f"umask 077 && cat > {STATE_DIR}/password <<'EOF'\n{IDENTITY['password']}\nEOF\n"
                       f"truncate -s -1 {STATE_DIR}/password")
    assert written.rc == 0, written.stderr
    host.run("systemctl reset-failed glance-rolling-client 2>/dev/null || true")
    started = host.run("systemd-run --unit=glance-rolling-client --collect python3 -c "
                       + shlex.quote(CLIENT) + " " + shlex.join(
                           [STATE_DIR, str(PORT), str(MAX_REQUESTS), SEED["name"], SEED["checksums"]["sha256"]]))
    assert started.rc == 0, started.stderr
    deadline = time.monotonic() + 60
    while not host.file(f"{STATE_DIR}/progress").exists:
        assert time.monotonic() < deadline, host.run("journalctl -u glance-rolling-client -n 30").stdout
        time.sleep(0.5)
    try:
        outcome = action()
    finally:
        host.run(f"touch {STATE_DIR}/stop")
        deadline = time.monotonic() + 120
        while not host.file(f"{STATE_DIR}/result.json").exists:
            assert time.monotonic() < deadline, host.run("journalctl -u glance-rolling-client -n 30").stdout
            time.sleep(0.5)
    result = json.loads(host.file(f"{STATE_DIR}/result.json").content_string)
    host.run(f"rm -rf {STATE_DIR}")
    return result, outcome


def orchestrate_rolling(host, pillar=None):
    cmd = ["salt-run", "--out=json", "state.orchestrate", "glance.orchestrate.rolling"]
    if pillar:
        cmd.append("pillar=" + json.dumps(pillar))
    started = time.monotonic()
    run = host.run("timeout 1800 " + shlex.join(cmd))
    seconds = time.monotonic() - started
    # Runners print before the JSON (test.sleep its seconds).
    text = run.stdout if run.stdout.startswith("{") else run.stdout.partition("\n{")[2] and \
        "{" + run.stdout.partition("\n{")[2]
    data = json.loads(text) if text else {}
    steps = next(iter(data.get("data", {}).values()), {}) if isinstance(data.get("data"), dict) else {}
    failed = [f"{v.get('__id__')}: {v.get('comment')}" for v in steps.values()
              if isinstance(v, dict) and v.get("result") is not True]
    assert run.rc == 0 and steps and not failed, \
        f"rolling orchestration: exit {run.rc}\n" + "\n".join(failed) + run.stderr[-2000:]
    return seconds


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
    rolling, seconds = run_client(host, lambda: orchestrate_rolling(host, override))
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
    assert set(workers(host).values()) == {str(WORKERS)}, "the suite's pillar is not back"
    assert len(restart_windows(before, after)) == len(NODES)
    # The next tests find both nodes serving again.
    healthy(host)
