"""Podman harness that converges the formula's suites in systemd containers.

The suites are read from `.kitchen.yml`; see `tests/harness/kitchen.py`.
"""
import pathlib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache" / "converge"
