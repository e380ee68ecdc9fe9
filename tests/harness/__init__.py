"""Podman harness that converges the formula's suites in systemd containers.

`make converge [SUITE=...] [PLATFORM=...]` runs tests/integration/test_converge.py
and the newcomer check, tests/integration/test_newcomer.py (newcomer.py: `make
deploy` in a clone of the working tree on a bare Debian; SUITE=newcomer):

* suites come from `.kitchen.yml` (kitchen.py): state top, pillars,
  kitchen-salt `dependencies`, testinfra directory, multi-node groups;
* a base image per Debian release (images.py, tests/images/), built once per
  machine from debootstrap and tagged with a hash of its inputs, with the
  Salt of salt-requirements.txt and nothing else of the formula's; service
  hosts (nodes made only of test services: the cluster's controller) start
  from an image with those services' packages installed;
* per suite group and platform, a podman network and one systemd container
  per node (containers.py), the repository mounted read-only as Salt's file
  root, removed afterwards (unless KEEP_CONTAINERS=1);
* the two-apply protocol (salt.py): first state.apply without failures, a
  second with zero changes, test=True predicting zero changes, no pillar
  secret in any state output; a group whose node holds the pillar key
  glance_orchestrate (the cluster) runs a salt-master on that node (Salt
  3006 LTS on Debian 12, 3008 on Debian 13: images.MASTER_SALT_REQUIREMENTS)
  and is applied through `salt-run state.orchestrate` (master.py); then the
  suite's testinfra tests
  (`pytest --hosts=podman://<container> tests/integration/<suite>`);
* each suite group on each platform, and the newcomer check on each, is a
  unit of work (converge.py, newcomer.py); CONVERGE_JOBS units run side by
  side, longest first (schedule.py);
* Debian packages and pip's downloads are fetched once per machine, into
  a cache shared by every container (caches.py; GLANCE_TEST_CACHE);
* wall times go to .cache/converge/times.jsonl and the table at the end of
  the run (report.py; `python -m tests.harness.report` prints every recorded
  run).

Environment: SUITE, PLATFORM (selection.py), CONVERGE_JOBS, GLANCE_TEST_CACHE, KEEP_CONTAINERS,
DEBIAN_MIRROR (default http://deb.debian.org/debian), HOST_CA_BUNDLE (CA
bundle that pip in the containers trusts; default the host's).
"""
import pathlib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache" / "converge"
