"""_states/glance_store.py: an rbd store's client either reaches its pool
with its keyring or the state fails naming the keyring, client and pool and
what Ceph said; a dry run checks the same way (nothing changes), and only
answers None while the files are not written yet."""
import pytest

import saltmodules

KEYRING = "/etc/ceph/ceph.client.glance.keyring"
CONF = "/etc/ceph/ceph.conf"
ARGS = {"name": "rbd", "user": "glance", "pool": "images", "keyring": KEYRING, "conf": CONF}
CHECK = f"runuser -u glance -- /usr/bin/python3 -I - {CONF} glance {KEYRING} images 30"
DENIED = "PermissionDeniedError: [errno 13] RADOS permission denied (error connecting to the cluster)"


class Host:
    """file.file_exists and cmd.run_all of a host whose files are EXISTING
    and whose check prints SAID and exits RC; records the commands."""

    def __init__(self, rc=0, said="", existing=(KEYRING, CONF)):
        self.rc, self.said, self.existing, self.commands = rc, said, set(existing), []

    def run_all(self, command, stdin=None, **kwargs):
        assert kwargs["python_shell"] is False and kwargs["stdin_raw_newlines"] is True
        # Bounded even when Ceph does not answer.
        assert kwargs["timeout"] == 75
        assert "import rados" in stdin
        self.commands.append(" ".join(command))
        return {"retcode": self.rc, "stdout": self.said, "stderr": ""}

    def module(self, test=False):
        return saltmodules.load("_states/glance_store.py", __opts__={"test": test},
                                __salt__={"cmd.run_all": self.run_all,
                                          "file.file_exists": lambda path: path in self.existing})


@pytest.mark.parametrize("test", [False, True])
def test_reachable_pool_passes_without_changes(test):
    host = Host()
    ret = host.module(test).rbd_reachable(**ARGS)
    assert (ret["result"], ret["changes"]) == (True, {})
    assert ret["comment"] == f"client.glance reaches pool images with {KEYRING}"
    assert host.commands == [CHECK]


@pytest.mark.parametrize("test", [False, True])
def test_refused_key_fails_naming_keyring_client_and_pool(test):
    # A dry run says what the apply will: the check changes nothing.
    host = Host(rc=1, said=DENIED + "\n")
    ret = host.module(test).rbd_reachable(**ARGS)
    assert (ret["result"], ret["changes"]) == (False, {})
    for part in [KEYRING, "client.glance", "pool images", "permission denied", CONF]:
        assert part in ret["comment"], part


@pytest.mark.parametrize("said", [
    "TimedOut: [errno 110] RADOS timed out (error connecting to the cluster)",  # monitors
    "Timeout: [errno 110] RBD operation timeout (error listing images)",  # OSDs
])
def test_ceph_that_does_not_answer_fails_with_its_reason(said):
    host = Host(rc=1, said=said)
    ret = host.module().rbd_reachable(**ARGS, timeout=30)
    assert ret["result"] is False and ret["comment"].endswith(said)
    assert "(Ceph did not answer within 30 s: monitors or OSDs down or unreachable?)" in ret["comment"]
    assert "client_glance_key" not in ret["comment"]


def test_refused_key_is_hinted_as_such():
    ret = Host(rc=1, said=DENIED).module().rbd_reachable(**ARGS)
    assert "(wrong client_glance_key, caps or monitors?)" in ret["comment"]


def test_failure_without_output_still_says_something():
    host = Host(rc=1)
    ret = host.module().rbd_reachable(**ARGS)
    assert ret["result"] is False and ret["comment"].endswith(": exit 1")


def test_dry_run_before_the_keyring_is_written_predicts_nothing_wrong():
    host = Host(existing=(CONF,))
    ret = host.module(test=True).rbd_reachable(**ARGS)
    assert (ret["result"], ret["changes"]) == (None, {})
    assert KEYRING in ret["comment"]
    assert host.commands == []


def test_missing_keyring_fails_the_real_run():
    host = Host(rc=1, said="ObjectNotFound: [errno 2] RADOS object not found (error connecting to the cluster)",
                existing=(CONF,))
    ret = host.module().rbd_reachable(**ARGS)
    assert ret["result"] is False and "RADOS object not found" in ret["comment"]
    assert host.commands == [CHECK]


def test_service_user_python_and_files_are_passed_on():
    host = Host()
    host.module().rbd_reachable("ceph", "glance-images", "vms", "/etc/ceph/x.client.glance-images.keyring",
                                conf="/etc/ceph/x.conf", service_user="glance", python="/opt/glance/bin/python3",
                                timeout=30)
    assert host.commands == ["runuser -u glance -- /opt/glance/bin/python3 -I - /etc/ceph/x.conf glance-images "
                             "/etc/ceph/x.client.glance-images.keyring vms 30"]
