"""Wall times of the converges, collected across test processes.

Every apply appends one line to .cache/converge/times.jsonl; the summary at
the end of the run (and `python -m tests.harness.report`) reads it back.
"""
import fcntl
import json
import time

from . import CACHE_DIR

TIMES = CACHE_DIR / "times.jsonl"


def record(run_id, **fields):
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"run": run_id, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **fields})
    with open(TIMES, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(line + "\n")


def summary(run_id=None):
    """Text table of the records of RUN_ID (default: every record)."""
    if not TIMES.exists():
        return "no converge times recorded"
    rows = [json.loads(line) for line in TIMES.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if run_id is None or r.get("run") == run_id]
    if not rows:
        return "no converge times recorded"
    # Lines printed: recorded for the newcomer's deploys only.
    with_lines = any("lines" in r for r in rows)
    out = [f"{'group':<14}{'platform':<11}{'node':<20}{'step':<16}{'seconds':>8}"
           + (f"{'lines':>7}" if with_lines else "")]
    for r in rows:
        out.append(f"{r.get('group', ''):<14}{r.get('platform', ''):<11}{r.get('node', ''):<20}"
                   f"{r.get('step', ''):<16}{r.get('seconds', 0):>8.1f}"
                   + (f"{r['lines']:>7}" if "lines" in r else ""))
    return "\n".join(out)


if __name__ == "__main__":
    print(summary())
