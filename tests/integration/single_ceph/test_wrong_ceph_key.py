"""Single-ceph suite: a wrong client_glance_key fails the apply at the
formula's access check (glance_store.rbd_reachable in glance.server.storage)
with a message naming the keyring, the client and the pool and what Ceph
said, never the key; the suite's own pillar then converges the host again.
Last in the suite (file order): it rewrites the keyring and restarts
glance-api."""
import base64
import json
import pathlib

import pytest
import yaml

from glance_checks import (
    apply_suite_pillar_once,
    assert_service_running,
    changed_or_failed,
    salt_call,
    salt_call_shown,
    wait_listening,
)

PILLAR_DIR = pathlib.Path(__file__).resolve().parents[2] / "pillar"
STORAGE = yaml.safe_load((PILLAR_DIR / "single_ceph.sls").read_text())["glance"]["server"]["storage"]
KEYRING = f"/etc/ceph/ceph.client.{STORAGE['user']}.keyring"
CHECK = "glance-server-storage-rbd-rbd-reachable"


def wrong_key(key):
    """The same Ceph key layout (type, creation time, length) with another
    secret: well-formed, so Ceph refuses it rather than the parser."""
    raw = base64.b64decode(key)
    return base64.b64encode(raw[:-16] + bytes(b ^ 0x5A for b in raw[-16:])).decode()


WRONG = wrong_key(STORAGE["client_glance_key"])


def check_state(states):
    found = [v for k, v in states.items() if k.startswith("glance_store_|-") and f"-{CHECK}_|-" in k]
    assert len(found) == 1, sorted(states)
    return found[0]


def keyring_lines(host):
    return [line.strip() for line in host.file(KEYRING).content_string.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def reapplied():
    """The suite's own pillar applied again, once: the result, when it ran."""
    return []


@pytest.fixture(scope="module")
def refused(host, reapplied):
    """What applying glance with the wrong key returned and printed; the
    suite's own pillar is applied again afterwards whatever happened."""
    differs = WRONG != STORAGE["client_glance_key"]
    assert differs, "the wrong key is the right one"
    override = {"glance": {"server": {"storage": {"client_glance_key": WRONG}}}}
    try:
        yield salt_call_shown(host, "state.apply", "glance", "pillar=" + json.dumps(override))
    finally:
        apply_suite_pillar_once(host, reapplied)


def test_wrong_key_fails_the_apply_at_the_access_check(host, refused):
    rc, states, shown = refused
    assert rc != 0
    check = check_state(states)
    assert check["result"] is False
    comment = check["comment"]
    for part in [KEYRING, f"client.{STORAGE['user']}", f"pool {STORAGE['pool']}"]:
        assert part in comment, comment
    assert "permission" in comment.lower() and "(wrong client_glance_key, caps or monitors?)" in comment, comment
    # Neither key shows anywhere in what the run printed (compared, never shown).
    leaked = [name for name, key in [("wrong", WRONG), ("right", STORAGE["client_glance_key"])] if key in shown]
    assert not leaked, f"the {leaked} client key shows in the state output"
    # glance-api was not restarted onto the wrong key.
    service = [v for k, v in states.items() if k.startswith("service_|-glance-server-service-glance-api-running")]
    assert [s["result"] for s in service] == [False]
    # What a user with a wrong key gets: the formula wrote it.
    wrote = keyring_lines(host) == [f"[client.{STORAGE['user']}]", f"key = {WRONG}"]
    assert wrote, "the keyring does not hold the overriding key"


def test_suite_pillar_converges_again(host, refused, reapplied):
    rc, states = apply_suite_pillar_once(host, reapplied)
    assert rc == 0, changed_or_failed(states)
    assert check_state(states)["result"] is True
    same = keyring_lines(host) == [f"[client.{STORAGE['user']}]", f"key = {STORAGE['client_glance_key']}"]
    assert same, "the keyring does not hold the pillar's key again"
    assert_service_running(host, "glance-api")
    wait_listening(host, "0.0.0.0:9292")
    # Converged: a dry run predicts nothing, the check passing.
    rc, dry = salt_call(host, "state.apply", "glance", "test=True")
    assert rc == 0 and changed_or_failed(dry) == {}
    assert "reaches pool" in check_state(dry)["comment"]
