"""Secrets under a master: no password or key of the cluster's pillars
appears in the salt-master's job cache (the jobs' arguments and every
minion's returns, the orchestrations' included) or in its log. Runs after
the rolling update (file order), so its jobs are looked at too. Skipped
where the controller runs no salt-master (Test Kitchen runs the cluster
masterless)."""
import json
import pathlib
import shlex
import urllib.parse

import yaml

from glance_checks import pillar_secrets, require_salt_master

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
PILLARS = ["cluster.sls", "cluster_secondary.sls", "cluster_orchestrate.sls", "services.sls", "services_ceph.sls"]
PLACES = ["/var/cache/salt/master/jobs", "/var/log/salt/master"]

# Runs on the controller, the secrets on stdin (one JSON list): which files
# under the given places hold which secret (by its index, never its text).
SCAN = r"""
import json, os, sys
secrets = [s.encode() for s in json.load(sys.stdin)]
found, scanned = {}, 0
for place in sys.argv[1:]:
    paths = [place] if os.path.isfile(place) else [
        os.path.join(d, f) for d, _, files in os.walk(place) for f in files]
    for path in paths:
        with open(path, "rb") as fh:
            data = fh.read()
        scanned += 1
        hits = [i for i, s in enumerate(secrets) if s in data]
        if hits:
            found[path] = hits
print(json.dumps({"scanned": scanned, "found": found}))
"""


def secrets():
    found = pillar_secrets(*(yaml.safe_load((PILLAR_DIR / name).read_text()) for name in PILLARS))
    # As the formula writes them into URLs too.
    return sorted(found | {urllib.parse.quote(s, safe="") for s in found})


def test_no_pillar_secret_in_the_masters_job_cache_or_log(host):
    require_salt_master(host)
    values = secrets()
    assert len(values) >= 6, "fewer secrets than the cluster's pillars hold"
    jobs = host.run("find /var/cache/salt/master/jobs -name return.p | wc -l")
    assert int(jobs.stdout.strip() or 0) > 0, "the master's job cache holds no return"
    assert host.file("/var/log/salt/master").exists
    # The secrets go on stdin, through a root-only temporary file.
    path = host.check_output("mktemp")
    try:
        written = host.run(f"cat > {path} <<'EOF'\n{json.dumps(values)}\nEOF")
        assert written.rc == 0, written.stderr
        scan = host.run(f"python3 -c {shlex.quote(SCAN)} {' '.join(PLACES)} < {path}")
    finally:
        host.run(f"rm -f {path}")
    assert scan.rc == 0, scan.stderr
    result = json.loads(scan.stdout)
    assert result["scanned"] > 1
    assert result["found"] == {}, f"pillar secrets (by index) found in: {result['found']}"
