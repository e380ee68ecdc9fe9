"""Suite groups driven through a salt-master.

A group is one when a node's pillar files hold the orchestration's pillar
key (glance_orchestrate, see glance/orchestrate/settings.jinja): that node
(the cluster's controller) runs salt-master, the group's other nodes run
salt-minion pointed at it, and those are converged by
`salt-run state.orchestrate glance.orchestrate.deploy` on the master instead
of `salt-call --local`. The master node's own states (its test services)
still apply locally. All nodes run one Salt: 3006 LTS where its master works
(images.MASTER_SALT_REQUIREMENTS, images.ensure_master_image).

The master serves the repository snapshot as its file root and the suite's
pillars from a pillar root of its own, whose top file gives each minion the
pillar files of its suite in .kitchen.yml and the master's id (for the
orchestration) the master node's.

Each orchestration is read back per minion: every step's job comes from the
master's job cache (jobs.lookup_jid), so the usual checks (no failure, no
change, test=True predicting none, no secret) see every state of every node.
"""
import json
import pathlib
import re
import time

import yaml

from .podman import PodmanError, exec_, podman
from .salt import StateRun, _short, state_apply

ORCHESTRATE_KEY = "glance_orchestrate"
DEPLOY = "glance.orchestrate.deploy"
ROLLING = "glance.orchestrate.rolling"
MASTER_PILLAR = "master-pillar"

MASTER_UNIT = """\
[Unit]
Description=The Salt Master Server
After=network.target

[Service]
Type=simple
ExecStart=/opt/saltenv/bin/salt-master
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""

# KillMode=process: a state that restarts the minion does not kill the job.
MINION_UNIT = """\
[Unit]
Description=The Salt Minion
After=network.target

[Service]
Type=simple
KillMode=process
{environment}ExecStart=/opt/saltenv/bin/salt-minion
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def master_node(group):
    """The node of GROUP whose pillar holds glance_orchestrate, or None."""
    found = [node for node in group.nodes if ORCHESTRATE_KEY in pillar_keys(node)]
    if len(found) > 1:
        raise ValueError(f"group {group.name}: more than one node has {ORCHESTRATE_KEY} "
                         f"({[n.name for n in found]})")
    return found[0] if found else None


def pillar_keys(node):
    from . import REPO_ROOT

    keys = set()
    for src in node.pillar_files.values():
        keys |= set(yaml.safe_load((REPO_ROOT / src).read_text()) or {})
    for fname, content in node.pillars.items():
        if fname != "top.sls" and isinstance(content, dict):
            keys |= set(content)
    return keys


def minion_id(node):
    """As the harness names the node's host (containers.py)."""
    return node.hostname or re.sub(r"[^a-z0-9-]+", "-", node.name.lower()).strip("-")


def master_id(node):
    """The master's own id: its orchestrations get this id's pillar."""
    return f"{minion_id(node)}_master"


def minions(group, master):
    return [n for n in group.nodes if n is not master]


def pillar_sls(node, fname):
    """The name a pillar file of NODE takes in the master's pillar root:
    the stem of its source file (tests/pillar/cluster.sls -> cluster), so
    nodes that share a file share one copy; inline pillars get the node's
    name in front."""
    if fname in node.pillar_files:
        return pathlib.PurePath(node.pillar_files[fname]).stem
    return f"{minion_id(node)}_{fname[:-4]}".replace("-", "_")


def write_master_pillar(root, group, master, source_root):
    """The master's pillar root under ROOT: every node's pillar files and a
    top file targeting each minion id and the master's id."""
    target = root / MASTER_PILLAR
    target.mkdir(parents=True, exist_ok=True)
    top = {}
    for node in group.nodes:
        names = []
        for fname, src in node.pillar_files.items():
            name = pillar_sls(node, fname)
            (target / f"{name}.sls").write_text((source_root / src).read_text())
            names.append(name)
        for fname, content in node.pillars.items():
            if fname == "top.sls":
                continue
            name = pillar_sls(node, fname)
            (target / f"{name}.sls").write_text(yaml.safe_dump(content, default_flow_style=False))
            names.append(name)
        top[master_id(node) if node is master else minion_id(node)] = names
    (target / "top.sls").write_text(yaml.safe_dump({"base": top}, default_flow_style=False, sort_keys=False))
    return target


def master_config(file_roots, pillar_root, file_ignore_regex, node):
    return {
        "id": master_id(node),
        "file_roots": {"base": file_roots},
        "pillar_roots": {"base": [pillar_root]},
        "file_ignore_regex": file_ignore_regex,
        # Keys are accepted by the harness, for the group's minions only.
        "auto_accept": False,
        # A loaded two-core host: give minions time to answer.
        "timeout": 30,
        "gather_job_timeout": 30,
        "log_level_logfile": "info",
    }


def minion_config(master):
    return {
        "master": minion_id(master),
        "acceptance_wait_time": 2,
        "random_reauth_delay": 0,
        "log_level_logfile": "info",
    }


def _install_unit(container, name, text):
    podman("exec", "-i", container, "sh", "-c", f"cat > /etc/systemd/system/{name}.service", input=text)
    exec_(container, "systemctl", "daemon-reload")
    exec_(container, "systemctl", "enable", "--now", f"{name}.service")


def start(deployment, master, nodes, timeout=180):
    """salt-master on MASTER, salt-minion on NODES; accept exactly their
    keys and wait until every minion answers."""
    mcont = deployment.container(master)
    _install_unit(mcont, "salt-master", MASTER_UNIT)
    # The services do not inherit the container's environment: pip (the
    # formula's Salt-side libraries) reaches PyPI through the host's CA.
    environment = "".join(f"Environment={key}={value}\n" for key, value in deployment.salt_env().items())
    for node in nodes:
        _install_unit(deployment.container(node), "salt-minion", MINION_UNIT.format(environment=environment))
    wanted = {minion_id(n) for n in nodes}
    deadline = time.monotonic() + timeout
    accepted = set()
    while time.monotonic() < deadline:
        keys = json.loads(exec_(mcont, "salt-key", "--out=json", "-L").stdout or "{}")
        accepted = set(keys.get("minions", []))
        pending = set(keys.get("minions_pre", []))
        stray = (accepted | pending) - wanted
        if stray:
            raise PodmanError(f"unexpected minion keys on the master: {sorted(stray)}")
        for minion in sorted(pending & wanted):
            exec_(mcont, "salt-key", "-y", "-a", minion)
        if accepted == wanted:
            break
        time.sleep(2)
    else:
        raise PodmanError(f"minion keys not accepted within {timeout}s: {sorted(wanted - accepted)}")
    while time.monotonic() < deadline:
        proc = exec_(mcont, "salt", "--out=json", "--static", "-t", "10", "-L", ",".join(sorted(wanted)),
                     "test.ping", check=False)
        try:
            answered = {k for k, v in json.loads(proc.stdout or "{}").items() if v is True}
        except ValueError:
            answered = set()
        if answered == wanted:
            return
        time.sleep(2)
    raise PodmanError(f"minions did not answer the master within {timeout}s")


def check_pillar(deployment, master, node, expected):
    """Fail early when NODE's suite pillar does not reach it through the
    master (key names only are compared and shown)."""
    # pillar.ls: key names only, so no pillar value lands in the master's
    # job cache.
    proc = exec_(deployment.container(master), "salt", "--out=json", "--static", minion_id(node),
                 "pillar.ls", check=False)
    try:
        keys = json.loads(proc.stdout)[minion_id(node)]
        assert isinstance(keys, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise PodmanError(f"{node.name}: pillar.ls through the master printed no list of keys "
                          f"(exit {proc.returncode})") from None
    problems = []
    if "_errors" in keys:
        problems.append("the pillar has errors (salt-call pillar.items on the node shows them)")
    missing = expected - set(keys)
    if missing:
        problems.append(f"pillar keys missing on the minion: {sorted(missing)}")
    if problems:
        raise PodmanError(f"{node.name}: " + "; ".join(problems))


def _json(text):
    """The JSON document salt-run printed, after what runners print
    themselves (test.sleep prints its seconds)."""
    text = text or ""
    start = 0 if text.startswith(("{", "[")) else min(
        (i + 1 for i in (text.find("\n{"), text.find("\n[")) if i >= 0), default=0)
    try:
        return json.loads(text[start:])
    except ValueError:
        return None


def _unwrap(data):
    """The runner's return without the {"outputter", "data"} wrapping."""
    while isinstance(data, dict) and set(data) & {"data", "return"} and \
            set(data) <= {"data", "return", "outputter", "retcode", "success", "jid"}:
        data = data.get("data", data.get("return"))
    return data


def orchestrate(deployment, master, nodes, label, sls=DEPLOY, test=False, pillar=None, timeout=3600):
    """`salt-run state.orchestrate SLS` on the master; {node name: StateRun}
    of every state each minion ran, plus the orchestration's own run."""
    container = deployment.container(master)
    args = ["salt-run", "--out=json", "--log-level=warning", "state.orchestrate", sls]
    if test:
        args.append("test=True")
    if pillar is not None:
        args.append("pillar=" + json.dumps(pillar))
    start_time = time.monotonic()
    proc = exec_(container, *args, check=False, timeout=timeout, env_vars=deployment.salt_env())
    seconds = time.monotonic() - start_time
    raw = [proc.stdout or ""]
    errors = []
    steps = {}
    data = _unwrap(_json(proc.stdout))
    if isinstance(data, dict) and master_id(master) in data:
        data = data[master_id(master)]
    if isinstance(data, dict):
        steps = data
    elif isinstance(data, list):
        errors = [_short(e, 2000) for e in data]
    else:
        errors = [f"salt-run printed no JSON (exit {proc.returncode}); stderr: {_short(proc.stderr, 3000)}; "
                  f"stdout: {_short(proc.stdout, 1000)}"]
    by_minion = {minion_id(n): {} for n in nodes}
    ordered = sorted(steps.items(), key=lambda kv: kv[1].get("__run_num__", 0))
    for key, step in ordered:
        sid = step.get("__id__", key)
        if step.get("result") is False:
            errors.append(f"orchestration step {sid}: {_short(step.get('comment'), 1500)}")
        jid = step.get("__jid__")
        if not jid or not key.startswith("salt_|-") or not key.endswith("_|-state"):
            continue
        lookup = exec_(container, "salt-run", "--out=json", "jobs.lookup_jid", jid, check=False)
        raw.append(lookup.stdout or "")
        returns = _unwrap(_json(lookup.stdout))
        if not isinstance(returns, dict):
            errors.append(f"orchestration step {sid}: no return for job {jid}")
            continue
        for minion, states in returns.items():
            if minion not in by_minion:
                continue
            if not isinstance(states, dict):
                errors.append(f"{minion} in {sid}: {_short(states, 2000)}")
                continue
            for skey, value in states.items():
                if not isinstance(value, dict):
                    continue
                value = dict(value, __step__=sid)
                target = by_minion[minion]
                target[skey if skey not in target else f"{sid}: {skey}"] = value
    runs = {}
    for node in nodes:
        states = by_minion[minion_id(node)]
        node_errors = list(errors)
        if not states and not node_errors:
            node_errors.append("the orchestration ran no state on this minion")
        runs[node.name] = StateRun(node=node.name, label=label, retcode=proc.returncode, seconds=seconds,
                                   states=states, errors=node_errors, raw="\n".join(raw))
    return runs


def apply_fixtures(converge, nodes, label, test=False):
    """{node name: StateRun} of the minions' own test fixtures (the
    test_services.* of their state tops, a site's configuration that the
    orchestration builds on), each applied on its minion with salt-call
    --local, before the orchestration of LABEL."""
    dep = converge.deployment
    return {node.name: state_apply(dep.container(node), node.name, label, test=test, env_vars=dep.salt_env(),
                                   sls=node.fixture_states())
            for node in nodes if node.fixture_states()}


def record_with_fixtures(converge, fixtures, runs):
    """Each minion's orchestration RUNS, after its FIXTURES run, as the
    node's one run of the label."""
    for run in runs.values():
        fixture = fixtures.get(run.node)
        converge.record(fixture.followed_by(run) if fixture else run)


def protocol(converge):
    """The two-apply protocol of a group driven through its master: the
    master node's own states locally, the minions by the orchestration.
    CONVERGE is tests/harness/converge.py's Converge."""
    dep = converge.deployment
    master = dep.master
    nodes = minions(dep.group, master)
    dep.check_pillar(master)
    started = time.monotonic()
    start(dep, master, nodes)
    converge.log(f"[{dep.platform}] salt-master on {master.name}, minions {[minion_id(n) for n in nodes]} "
                 f"accepted in {time.monotonic() - started:.0f}s")
    for node in nodes:
        dep.check_pillar(node)
    labels = (("first apply", False), ("second apply", False), ("test=True apply", True))
    phase_started = time.monotonic()
    first = converge.apply(master, "first apply")
    if first.errors or first.failed():
        # The orchestration needs the master node's services.
        for node in nodes:
            for skipped, _ in labels:
                converge.runs[(node.name, skipped)] = StateRun(
                    node=node.name, label=skipped, retcode=1, seconds=0, states={}, raw="",
                    errors=[f"not run: the first apply of {master.name} failed"])
        for skipped, skipped_test in labels[1:]:
            converge.apply(master, skipped, test=skipped_test)
        return
    fixtures = apply_fixtures(converge, nodes, "first apply")
    record_with_fixtures(converge, fixtures, orchestrate(dep, master, nodes, "first apply"))
    converge.phase("first apply", time.monotonic() - phase_started)
    for label, test in labels[1:]:
        # The master node's own apply first, then the orchestration, as in
        # the first phase. Side by side they saved about 40 s a phase, but
        # in an overloaded run the cluster's secondary on Debian 13 logged
        # an eventlet traceback during that test=True phase (the clean-log
        # check failed); until that is understood, one after the other.
        phase_started = time.monotonic()
        converge.apply(master, label, test=test)
        fixtures = apply_fixtures(converge, nodes, label, test=test)
        record_with_fixtures(converge, fixtures, orchestrate(dep, master, nodes, label, test=test))
        converge.phase(label, time.monotonic() - phase_started)
