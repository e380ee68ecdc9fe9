"""Run `salt-call state.apply` in a container and read its JSON result."""
import dataclasses
import json
import time

from .podman import exec_


@dataclasses.dataclass
class StateRun:
    """One state.apply: the parsed per-state results plus what went wrong."""

    node: str
    label: str
    retcode: int
    seconds: float
    states: dict  # state key -> result dict
    errors: list  # render/compile errors, or why the output was unusable
    raw: str  # the JSON as printed, for the secret check only; never shown

    def followed_by(self, other):
        """This run and OTHER, one after the other on the same node, as one
        run of the same label."""
        return StateRun(node=self.node, label=self.label, retcode=self.retcode or other.retcode,
                        seconds=self.seconds + other.seconds, states={**self.states, **other.states},
                        errors=self.errors + other.errors, raw=self.raw + "\n" + other.raw)

    def failed(self):
        """[(id, comment)] of states whose result is False."""
        return [(_sid(k, v), _short(v.get("comment"))) for k, v in self._ordered()
                if v.get("result") is False]

    def changed(self):
        """[(id, comment)] of states that changed something."""
        return [(_sid(k, v), _short(v.get("comment"))) for k, v in self._ordered()
                if v.get("changes")]

    def predicted(self):
        """[(id, comment)] of states a test=True run says would change:
        result None (would change) or non-empty changes."""
        return [(_sid(k, v), _short(v.get("comment"))) for k, v in self._ordered()
                if v.get("result") is None or v.get("changes")]

    def slowest(self, count=3):
        """The COUNT slowest states, "id 12.3s", from Salt's durations (ms)."""
        timed = sorted(self.states.items(), key=lambda kv: -float(kv[1].get("duration") or 0))
        return ", ".join(f"{v.get('__id__', k)} {float(v.get('duration') or 0) / 1000:.1f}s"
                         for k, v in timed[:count])

    def seconds_in_sls(self, prefix):
        """Seconds spent in the states of SLS files PREFIX or PREFIX.*."""
        return sum(float(v.get("duration") or 0) for v in self.states.values()
                   if str(v.get("__sls__", "")).split(".")[0] == prefix) / 1000

    def _ordered(self):
        return sorted(self.states.items(), key=lambda kv: kv[1].get("__run_num__", 0))


def _sid(key, value):
    # key is "module_|-id_|-name_|-function"; __id__ is the SLS ID.
    parts = key.split("_|-")
    func = f"{parts[0]}.{parts[-1]}" if len(parts) == 4 else key
    return f"{value.get('__id__', parts[1] if len(parts) > 1 else key)} ({func})"


def _short(text, limit=300):
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit] + "..."


def describe(items):
    return "\n".join(f"  - {sid}: {comment}" for sid, comment in items) or "  (none)"


def state_apply(container, node, label, test=False, env_vars=None, timeout=3600, pillar=None, sls=None):
    """Highstate of the container's minion (top file from the harness), or
    the SLS files of the list SLS; PILLAR: a pillar override (merged over
    the suite's)."""
    args = ["salt-call", "--local", "--retcode-passthrough", "--out=json",
            "--log-level=warning", "state.apply"]
    if sls:
        args.append(",".join(sls))
    if test:
        args.append("test=True")
    if pillar:
        args.append("pillar=" + json.dumps(pillar))
    start = time.monotonic()
    proc = exec_(container, *args, check=False, timeout=timeout, env_vars=env_vars)
    seconds = time.monotonic() - start
    states, errors = {}, []
    try:
        data = json.loads(proc.stdout)
        local = data.get("local", data) if isinstance(data, dict) else data
        if isinstance(local, dict):
            states = local
        else:
            # Render and compile errors come back as a list of strings.
            errors = [_short(e, 2000) for e in (local if isinstance(local, list) else [local])]
    except (json.JSONDecodeError, AttributeError):
        errors = [f"salt-call printed no JSON (exit {proc.returncode}); "
                  f"stderr: {_short(proc.stderr, 3000)}; stdout: {_short(proc.stdout, 1000)}"]
    if not states and not errors:
        errors = ["state.apply ran no state at all: is the top file empty?"]
    return StateRun(node=node, label=label, retcode=proc.returncode, seconds=seconds,
                    states=states, errors=errors, raw=proc.stdout or "")
