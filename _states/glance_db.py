"""
Glance's database schema: brought to the installed release on the primary,
awaited on a secondary.

.. code-block:: yaml

    glance-schema:
      glance_db.synced:
        - name: /etc/glance/glance-api.conf
        - user: glance

    glance-schema-not-newer:
      glance_db.not_newer:
        - name: /etc/glance/glance-api.conf
        - connection: mysql+pymysql://glance:...@db:3306/glance
        - user: glance

    glance-schema-ready:
      glance_db.current:
        - name: /etc/glance/glance-api.conf
        - user: glance
        - retry: {attempts: 90, interval: 10, until: true}

``name``
    The configuration file whose ``[database] connection`` Glance uses.
``user``
    The user glance-manage and the check run as (``runuser -u``), so that
    its logs and an SQLite database stay the service's.
``python``
    The Python that runs Glance (default ``/usr/bin/python3``).
``manage``
    (``synced``) Its ``glance-manage`` (default: the one on the PATH).
``connection``
    (``not_newer``) The database URL the configuration is about to hold:
    the guard runs before that file is written. It reaches the check in its
    environment, not on a command line.
``check``
    The schema check, ``salt://glance/files/schema_current.py`` by default:
    it exits 0 when the schema is current and otherwise hands over to
    ``glance-manage db check`` (see that file).

Why a state rather than ``cmd.run`` with ``unless``: any ``unless``,
``onlyif`` or ``creates`` makes Salt look for the state module's
``mod_run_check`` and, not finding it, load every state and execution
module once per run (half a second), which on a converged host was most of
the cost of a run that changes nothing.
"""

__virtualname__ = "glance_db"

CHECK = "salt://glance/files/schema_current.py"
# The check's exit status for a database server that does not take the
# connection (EX_UNAVAILABLE; glance-manage db check exits 3 to 5 for a
# schema behind): db_sync would only fail the same way, after a minute.
UNREACHABLE = 69
# The check's exit status for a schema newer than the installed Glance
# (EX_DATAERR): an older release than the one that upgraded the database.
NEWER = 65
# What a failure shows of glance-manage's output: its last lines say why.
OUTPUT_TAIL = 2000


def __virtual__():
    return __virtualname__


def _as_user(user, *command):
    return ["runuser", "-u", user, "--", *command]


def _check(name, user, python, check, connection=None):
    """(exit status, what the check or glance-manage db check said);
    None for a check that could not be fetched. With CONNECTION, asks only
    whether the schema is newer than the installed Glance."""
    script = __salt__["cp.cache_file"](check)
    if not script:
        return None, f"the schema check {check} could not be fetched"
    with open(script, encoding="utf-8") as handle:
        source = handle.read()
    args, env = ["--config-file", name], None
    if connection is not None:
        args, env = ["--newer-only"], {"GLANCE_DATABASE_CONNECTION": connection}
    # stdin_raw_newlines: the script as it is (Salt would otherwise turn
    # each backslash-n of it into a newline).
    run = __salt__["cmd.run_all"](_as_user(user, python, "-I", "-", *args), stdin=source, env=env,
                                  stdin_raw_newlines=True, python_shell=False, ignore_retcode=True,
                                  output_loglevel="quiet")
    said = (run["stdout"] + "\n" + run["stderr"]).strip()
    return run["retcode"], said[-OUTPUT_TAIL:]


def synced(name, user="glance", python="/usr/bin/python3", check=CHECK, manage="glance-manage"):
    """Run ``glance-manage db_sync`` unless the schema is current."""
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    status, said = _check(name, user, python, check)
    if status == 0:
        ret["comment"] = "The database schema is current"
        return ret
    if status in (UNREACHABLE, NEWER):
        ret.update(result=False, comment=said)
        return ret
    if __opts__["test"]:
        ret.update(result=None, comment=f"glance-manage db_sync would run: {said}",
                   changes={"schema": "synced"})
        return ret
    sync = __salt__["cmd.run_all"](_as_user(user, manage, "--config-file", name, "db_sync"),
                                   python_shell=False, ignore_retcode=True, output_loglevel="quiet")
    if sync["retcode"] != 0:
        output = (sync["stdout"] + "\n" + sync["stderr"]).strip()[-OUTPUT_TAIL:]
        ret.update(result=False, comment=f"glance-manage db_sync failed (exit {sync['retcode']}): {output}")
        return ret
    ret.update(comment="glance-manage db_sync brought the schema to the installed release",
               changes={"schema": "synced"})
    return ret


def current(name, user="glance", python="/usr/bin/python3", check=CHECK):
    """Succeed when the schema is current; fail (for ``retry`` to ask again)
    when it is not, without changing anything: a secondary waits for the
    primary's schema."""
    ret = {"name": name, "changes": {}, "result": True, "comment": "The database schema is current"}
    status, said = _check(name, user, python, check)
    if status != 0:
        # An unreachable server says nothing about the schema, and a newer
        # one is not for the primary to fix: their messages as they are.
        if status not in (UNREACHABLE, NEWER):
            said = f"The database schema is not current (the primary creates it): {said}"
        ret.update(result=None if __opts__["test"] else False, comment=said)
    return ret


def not_newer(name, connection, user="glance", python="/usr/bin/python3", check=CHECK):
    """Fail when the database of CONNECTION has a schema newer than the
    installed Glance knows: a release older than the one that upgraded it,
    refused before its configuration replaces the serving one. Anything
    else (no schema yet, a server that cannot be reached) passes: the
    schema step after the configuration deals with it."""
    ret = {"name": name, "changes": {}, "result": True,
           "comment": "The database schema is not newer than the installed Glance"}
    status, said = _check(name, user, python, check, connection=connection)
    if status == NEWER:
        ret.update(result=False, comment=said)
    elif status is None:
        ret["comment"] = f"Not checked: {said}"
    return ret
