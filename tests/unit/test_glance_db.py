"""_states/glance_db.py: db_sync only when the schema check says the schema
is not current, a dry run that predicts it, failures that say why, and a
secondary's wait that fails (for retry) until the schema is there."""
import pytest

import saltmodules

CONFIG = "/etc/glance/glance-api.conf"
CHECK = "runuser -u glance -- /usr/bin/python3 -I - --config-file " + CONFIG
MANAGE = "runuser -u glance -- glance-manage --config-file " + CONFIG + " "
SYNC = MANAGE + "db_sync"
EXPAND, MIGRATE, CONTRACT = MANAGE + "db expand", MANAGE + "db migrate", MANAGE + "db contract"


UNREACHABLE_SAID = ("Glance's mysql database db:3306 does not take the connection: "
                    "(2003, \"Can't connect to MySQL server on 'db' ([Errno 111] Connection refused)\")")


class Host:
    """cmd.run_all and cp.cache_file of a host whose schema check exits
    CHECK_RC and whose db_sync exits SYNC_RC; records the commands."""

    def __init__(self, tmp_path, check_rc=0, sync_rc=0, failing=None):
        self.check_rc, self.sync_rc, self.commands = check_rc, sync_rc, []
        # The one glance-manage db step that fails, if any.
        self.failing = failing
        self.script = tmp_path / "schema_current.py"
        self.script.write_text("# the schema check\n")

    def run_all(self, command, stdin=None, **kwargs):
        assert kwargs["python_shell"] is False
        text = " ".join(command)
        self.commands.append(text)
        if text == CHECK:
            assert stdin == "# the schema check\n" and kwargs["stdin_raw_newlines"] is True
            said = {0: "", 69: UNREACHABLE_SAID, 65: NEWER_SAID}.get(self.check_rc,
                                                                  "Your database is not up to date. Run db expand.")
            return {"retcode": self.check_rc, "stdout": said, "stderr": ""}
        if text in (EXPAND, MIGRATE, CONTRACT):
            failed = text == self.failing
            return {"retcode": 1 if failed else 0, "stdout": "", "stderr": "boom" if failed else ""}
        if text == SYNC:
            refused = "oslo_db.exception.DBConnectionError: (2003, \"Can't connect to MySQL server on 'db'\")"
            return {"retcode": self.sync_rc, "stdout": "", "stderr": "" if self.sync_rc == 0 else refused}
        raise AssertionError(f"unexpected command {text}")

    def cache_file(self, source):
        return str(self.script) if source == "salt://glance/files/schema_current.py" else ""

    def module(self, test=False):
        return saltmodules.load("_states/glance_db.py", __opts__={"test": test},
                                __salt__={"cmd.run_all": self.run_all, "cp.cache_file": self.cache_file})


def test_current_schema_changes_nothing(tmp_path):
    host = Host(tmp_path)
    ret = host.module().synced(CONFIG)
    assert ret["result"] is True and ret["changes"] == {}
    assert host.commands == [CHECK]


def test_schema_behind_is_synced(tmp_path):
    host = Host(tmp_path, check_rc=3)
    ret = host.module().synced(CONFIG)
    assert ret["result"] is True and ret["changes"] == {"schema": "db_sync"}
    assert host.commands == [CHECK, SYNC]


def test_dry_run_predicts_the_sync_without_running_it(tmp_path):
    host = Host(tmp_path, check_rc=3)
    ret = host.module(test=True).synced(CONFIG)
    assert ret["result"] is None and ret["changes"]
    assert "db expand" in ret["comment"]
    assert host.commands == [CHECK]


def test_failed_sync_says_why(tmp_path):
    host = Host(tmp_path, check_rc=1, sync_rc=1)
    ret = host.module().synced(CONFIG)
    assert ret["result"] is False and ret["changes"] == {}
    assert "db_sync failed (exit 1)" in ret["comment"] and "Can't connect to MySQL server on 'db'" in ret["comment"]


def test_missing_check_script_fails_clearly(tmp_path):
    host = Host(tmp_path)
    ret = host.module().synced(CONFIG, check="salt://elsewhere/check.py")
    # Not current as far as anyone can tell: db_sync runs, which is safe.
    assert host.commands == [SYNC]
    assert ret["changes"] == {"schema": "db_sync"}


@pytest.mark.parametrize("test, expected", [(False, False), (True, None)])
def test_secondary_waits_until_the_schema_is_current(tmp_path, test, expected):
    host = Host(tmp_path, check_rc=5)
    ret = host.module(test=test).current(CONFIG)
    assert ret["result"] is expected and ret["changes"] == {}
    assert "not current" in ret["comment"]
    host.check_rc = 0
    assert host.module(test=test).current(CONFIG)["result"] is True
    assert SYNC not in host.commands


@pytest.mark.parametrize("test", [False, True])
def test_unreachable_database_fails_naming_it_without_db_sync(tmp_path, test):
    """db_sync would retry for a minute and end in a traceback."""
    host = Host(tmp_path, check_rc=69)
    ret = host.module(test=test).synced(CONFIG)
    assert (ret["result"], ret["changes"], ret["comment"]) == (False, {}, UNREACHABLE_SAID)
    assert host.commands == [CHECK]


def test_secondary_waits_for_an_unreachable_database(tmp_path):
    ret = Host(tmp_path, check_rc=69).module().current(CONFIG)
    assert (ret["result"], ret["comment"]) == (False, UNREACHABLE_SAID)


NEWER_SAID = ("Glance 27.1.1 does not know the schema revision 2024_1_contract01 of its mysql database "
              "db:3306/glance: a later release has upgraded it, and Glance has no downgrade")
GUARD = "runuser -u glance -- /usr/bin/python3 -I - --newer-only"
CONNECTION = "mysql+pymysql://glance:s3cr%24t@db:3306/glance?charset=utf8"


class GuardedHost(Host):
    """A host whose guard (--newer-only) exits GUARD_RC; records the
    environment it was given."""

    def __init__(self, tmp_path, guard_rc=0, **kwargs):
        super().__init__(tmp_path, **kwargs)
        self.guard_rc, self.envs = guard_rc, []

    def run_all(self, command, stdin=None, **kwargs):
        text = " ".join(command)
        if text == GUARD:
            self.commands.append(text)
            self.envs.append(kwargs["env"])
            return {"retcode": self.guard_rc, "stdout": NEWER_SAID if self.guard_rc == 65 else "", "stderr": ""}
        return super().run_all(command, stdin=stdin, **kwargs)


def test_guard_passes_a_schema_that_is_not_newer_with_the_connection_in_the_environment(tmp_path):
    host = GuardedHost(tmp_path)
    ret = host.module().not_newer(CONFIG, CONNECTION)
    assert ret["result"] is True and ret["changes"] == {}
    assert host.commands == [GUARD] and host.envs == [{"GLANCE_DATABASE_CONNECTION": CONNECTION}]
    assert "s3cr" not in str(ret)


def test_guard_refuses_a_newer_schema_with_the_checks_words(tmp_path):
    ret = GuardedHost(tmp_path, guard_rc=65).module().not_newer(CONFIG, CONNECTION)
    assert ret["result"] is False and ret["comment"] == NEWER_SAID


def test_sync_does_not_run_against_a_newer_schema(tmp_path):
    host = Host(tmp_path, check_rc=65)
    ret = host.module().synced(CONFIG)
    assert ret["result"] is False and host.commands == [CHECK]


# A rolling upgrade: while nodes of the previous release serve, only the
# steps before the contract run, each only when db check says it is due.
@pytest.mark.parametrize("check_rc, commands, changes", [
    (3, [EXPAND, MIGRATE], "db expand + db migrate"),
    (4, [MIGRATE], "db migrate"),
])
def test_rolling_schema_step_runs_expand_and_migrate_as_due_never_the_contract(tmp_path, check_rc, commands, changes):
    host = Host(tmp_path, check_rc=check_rc)
    ret = host.module().synced(CONFIG, contract=False)
    assert ret["result"] is True and ret["changes"] == {"schema": changes}
    assert host.commands == [CHECK, *commands]
    assert "all but the contract" in ret["comment"]


@pytest.mark.parametrize("state", ["synced", "current"])
def test_rolling_a_schema_left_to_contract_is_ready(tmp_path, state):
    host = Host(tmp_path, check_rc=5)
    ret = getattr(host.module(), state)(CONFIG, contract=False)
    assert ret["result"] is True and ret["changes"] == {}
    assert "contract waits until every API node runs this release" in ret["comment"]
    assert host.commands == [CHECK]


def test_the_contract_alone_when_only_it_is_due(tmp_path):
    """After a rolling expand the online contract, not db_sync's offline
    one, removes what the expand added for both releases."""
    host = Host(tmp_path, check_rc=5)
    ret = host.module().synced(CONFIG)
    assert ret["result"] is True and ret["changes"] == {"schema": "db contract"}
    assert host.commands == [CHECK, CONTRACT]


def test_rolling_migrate_failing_says_the_expand_was_done(tmp_path):
    host = Host(tmp_path, check_rc=3, failing=MIGRATE)
    ret = host.module().synced(CONFIG, contract=False)
    assert ret["result"] is False and ret["changes"] == {"schema": "db expand"}
    assert ret["comment"] == "glance-manage db migrate failed (exit 1): boom"


def test_rolling_dry_run_names_the_steps(tmp_path):
    host = Host(tmp_path, check_rc=3)
    ret = host.module(test=True).synced(CONFIG, contract=False)
    assert ret["result"] is None and ret["changes"] == {"schema": "db expand + db migrate"}
    assert ret["comment"].startswith("glance-manage db expand, glance-manage db migrate would run")
    assert host.commands == [CHECK]


def test_rolling_an_unclear_check_runs_nothing(tmp_path):
    """db_sync would contract under the previous release's nodes."""
    host = Host(tmp_path, check_rc=1)
    ret = host.module().synced(CONFIG, contract=False)
    assert ret["result"] is False and host.commands == [CHECK]
    assert ret["comment"].startswith("The schema check did not say which step is due")


def test_a_secondary_still_waits_for_the_contract_outside_a_rolling_upgrade(tmp_path):
    ret = Host(tmp_path, check_rc=5).module().current(CONFIG)
    assert ret["result"] is False and "not current" in ret["comment"]
