"""What the cluster's rolling tests (test_rolling_update.py,
test_rolling_upgrade.py) share, run from the salt-master on the
controller: a client that keeps using Glance through the controller's
HAProxy while an orchestration runs, the orchestration itself, and the
state of glance-api on the nodes."""
import datetime
import json
import pathlib
import shlex
import time

import yaml

from glance_checks import KEYSTONE_TOKEN, api_scheme, salt_master_json

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
CLUSTER = yaml.safe_load((PILLAR_DIR / "cluster.sls").read_text())["glance"]
ORCHESTRATE = yaml.safe_load((PILLAR_DIR / "cluster_orchestrate.sls").read_text())
NODES = ORCHESTRATE["glance_orchestrate"]["api_nodes"]
PORT = ORCHESTRATE["test_services"]["haproxy"]["port"]
# The nodes' scheme, HAProxy's too (it terminates TLS when the nodes serve it).
SCHEME = api_scheme(CLUSTER["server"])
FRONT = f"{SCHEME}://127.0.0.1:{PORT}"
SEED = CLUSTER["server"]["images"][0]
IDENTITY = CLUSTER["server"]["identity"]
# At most this many requests per client run (it stops earlier when told to).
MAX_REQUESTS = 20000
# One request in this many is an upload (two calls: create, then the data).
UPLOAD_EVERY = 20
STATE_DIR = "/root/rolling-client"

# Runs on the controller (systemd-run): a Keystone token as Glance's service
# user (password from a root-only file), then in turn lists the images,
# shows the seeded one, downloads it (checked against the pillar's digest)
# and, one request in UPLOAD_EVERY, uploads an image of its own (64 KiB of
# random data, its digest recorded), through HAProxy, until the stop file
# appears or MAX requests went. Every failure is recorded with its time.
CLIENT = KEYSTONE_TOKEN + r"""
import hashlib, json, os, sys, time, urllib.request
state, front, max_requests, name, sha256, upload_every = sys.argv[1:7]
password = open(os.path.join(state, "password")).read()
token = keystone_token("http://controller:5000/v3", "glance", password, "service", 30)
api = front + "/v2/images"

def call(url, method="GET", body=None, ctype="application/json"):
    req = urllib.request.Request(url, body, {"X-Auth-Token": token, "Content-Type": ctype}, method=method)
    with urllib.request.urlopen(req, timeout=60) as answer:
        return answer.status, answer.read()

def upload(number):
    data = os.urandom(64 * 1024)
    meta = {"name": "rolling-upload-%d" % number, "disk_format": "raw", "container_format": "bare"}
    status, body = call(api, "POST", json.dumps(meta).encode())
    image_id = json.loads(body)["id"]
    uploads.append({"id": image_id, "sha256": hashlib.sha256(data).hexdigest(), "stored": False})
    status, _ = call(api + "/" + image_id + "/file", "PUT", data, "application/octet-stream")
    uploads[-1]["stored"] = status == 204
    return status == 204

image_id = json.loads(call(api + "?name=" + name)[1])["images"][0]["id"]
done, failures, uploads = 0, [], []
kinds = ["list", "show", "download"]
while done < int(max_requests) and not os.path.exists(os.path.join(state, "stop")):
    kind = "upload" if done % int(upload_every) == int(upload_every) - 1 else kinds[done % 3]
    try:
        if kind == "list":
            status, body = call(api + "?limit=1000")
            ok = status == 200 and any(i["id"] == image_id for i in json.loads(body)["images"])
        elif kind == "show":
            status, body = call(api + "/" + image_id)
            ok = status == 200 and json.loads(body)["os_hash_value"] is not None
        elif kind == "download":
            status, body = call(api + "/" + image_id + "/file")
            ok = status == 200 and hashlib.sha256(body).hexdigest() == sha256
        else:
            status, ok = None, upload(done)
        if not ok:
            failures.append({"at": time.time(), "kind": kind, "error": "status %s or wrong data" % status})
    except Exception as error:
        failures.append({"at": time.time(), "kind": kind, "error": repr(error)[:300]})
    done += 1
    if done % 20 == 0:
        with open(os.path.join(state, "progress"), "w") as fh:
            fh.write(str(done))
    time.sleep(0.05)
result = {"requests": done, "failures": failures, "uploads": uploads, "stopped": done < int(max_requests)}
with open(os.path.join(state, "result.json.part"), "w") as fh:
    json.dump(result, fh)
os.rename(os.path.join(state, "result.json.part"), os.path.join(state, "result.json"))
"""

# Reads back, through HAProxy, each image the client uploaded (a JSON list
# on stdin, after the password line): {id: "intact" or what is wrong}, then
# deletes them.
READ_BACK = KEYSTONE_TOKEN + r"""
import hashlib, json, sys, urllib.request
password, uploads = sys.stdin.readline().rstrip("\n"), json.loads(sys.stdin.read())
front = sys.argv[1]
token = keystone_token("http://controller:5000/v3", "glance", password, "service", 30)
api = front + "/v2/images/"

def call(url, method="GET"):
    req = urllib.request.Request(url, None, {"X-Auth-Token": token}, method=method)
    with urllib.request.urlopen(req, timeout=60) as answer:
        return answer.read()

found = {}
for image in uploads:
    meta = json.loads(call(api + image["id"]))
    data = call(api + image["id"] + "/file") if meta["status"] == "active" else b""
    found[image["id"]] = "intact" if hashlib.sha256(data).hexdigest() == image["sha256"] \
        else "status %s, %d bytes" % (meta["status"], len(data))
    call(api + image["id"], "DELETE")
print(json.dumps(found))
"""


def healthy(host, seconds=180):
    """Wait until HAProxy's check of every node passes (its stats socket is
    not configured: ask each node's healthcheck, then give HAProxy its two
    checks)."""
    deadline = time.monotonic() + seconds
    for node in NODES:
        while host.run(f"python3 -c \"import urllib.request; "
                       f"urllib.request.urlopen('{SCHEME}://{node}:9292/healthcheck', timeout=5)\"").rc != 0:
            assert time.monotonic() < deadline, f"{node}'s healthcheck does not answer"
            time.sleep(1)
    time.sleep(3)


def run_client(host, action):
    """Start the client, run ACTION once it is going, stop it; (its result,
    what ACTION returned)."""
    host.run(f"rm -rf {STATE_DIR} && install -d -m 0700 {STATE_DIR}")
    written = host.run(f"umask 077 && cat > {STATE_DIR}/password <<'EOF'\n{IDENTITY['password']}\nEOF\n"
                       f"truncate -s -1 {STATE_DIR}/password")
    assert written.rc == 0, written.stderr
    host.run("systemctl reset-failed glance-rolling-client 2>/dev/null || true")
    started = host.run("systemd-run --unit=glance-rolling-client --collect python3 -c "
                       + shlex.quote(CLIENT) + " " + shlex.join(
                           [STATE_DIR, FRONT, str(MAX_REQUESTS), SEED["name"], SEED["checksums"]["sha256"],
                            str(UPLOAD_EVERY)]))
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


def read_back_uploads(host, uploads):
    """{image id: "intact" or what differs} of the client's UPLOADS, read
    through HAProxy; the images are deleted then."""
    stdin = IDENTITY["password"] + "\n" + json.dumps(uploads)
    cmd = host.run(f"python3 -c {shlex.quote(READ_BACK)} {FRONT} <<'EOF'\n{stdin}\nEOF")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return json.loads(cmd.stdout.strip().splitlines()[-1])


def assert_uploads_read_back(host, uploads, when):
    """The client's UPLOADS (made WHEN, as the message says) all read back
    intact; they are deleted then."""
    assert uploads, f"the client uploaded nothing {when}"
    read_back = read_back_uploads(host, uploads)
    assert set(read_back.values()) == {"intact"}, read_back


def orchestrate(host, sls, pillar=None):
    """`salt-run state.orchestrate SLS` on the master: (exit status, its
    steps by state ID, seconds)."""
    cmd = ["salt-run", "--out=json", "state.orchestrate", sls]
    if pillar:
        cmd.append("pillar=" + json.dumps(pillar))
    started = time.monotonic()
    run = host.run("timeout 1800 " + shlex.join(cmd))
    seconds = time.monotonic() - started
    # Runners print before the JSON (test.sleep its seconds).
    text = run.stdout if run.stdout.startswith("{") else run.stdout.partition("\n{")[2] and \
        "{" + run.stdout.partition("\n{")[2]
    data = json.loads(text) if text else {}
    raw = next(iter(data.get("data", {}).values()), {}) if isinstance(data.get("data"), dict) else {}
    steps = {v.get("__id__"): v for v in raw.values() if isinstance(v, dict)} if isinstance(raw, dict) else {}
    assert steps or run.rc != 0, f"no steps in the orchestration's answer: {run.stdout[-2000:]}"
    return run.rc, steps, seconds, run.stderr


def failed_steps(steps):
    return [f"{sid}: {step.get('comment')}" for sid, step in steps.items() if step.get("result") is not True]


def orchestrate_ok(host, sls, pillar=None):
    """Orchestrate SLS, every step succeeding: (steps, seconds)."""
    rc, steps, seconds, stderr = orchestrate(host, sls, pillar)
    failed = failed_steps(steps)
    assert rc == 0 and steps and not failed, f"{sls}: exit {rc}\n" + "\n".join(failed) + stderr[-2000:]
    return steps, seconds


def step_window(steps, first, last):
    """Seconds from the start of step FIRST to the end of step LAST (Salt's
    start_time and duration of each)."""
    def start(step):
        return datetime.datetime.strptime(step["start_time"], "%H:%M:%S.%f")
    begin = start(steps[first])
    end = start(steps[last]) + datetime.timedelta(milliseconds=float(steps[last]["duration"]))
    return (end - begin).total_seconds()


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


def on_nodes(host, command):
    """{node: stdout} of COMMAND on every API node."""
    answers = salt_master_json(host, "-L", ",".join(NODES), "cmd.run", command)
    return {node: answers[node].strip() for node in NODES}
