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
``contract``
    (``synced``, ``current``) False while API nodes of the previous release
    still serve (a rolling upgrade): ``synced`` then runs only
    ``glance-manage db expand`` and ``db migrate`` when ``db check`` says
    they are due, and both take a schema whose contract is all that is
    left as ready; the contract runs once every node runs the new release.
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
# `glance-manage db check`'s exit statuses: the step that is due.
EXPAND_DUE, MIGRATE_DUE, CONTRACT_DUE = 3, 4, 5


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


def _steps(status, contract):
    """The glance-manage commands due for a schema of check STATUS: all
    three phases at once (db_sync, offline), the contract alone when only
    it is left, or, while CONTRACT is false, only expand and migrate (none
    for a status that names neither)."""
    if contract:
        return [["db", "contract"]] if status == CONTRACT_DUE else [["db_sync"]]
    if status == EXPAND_DUE:
        return [["db", "expand"], ["db", "migrate"]]
    return [["db", "migrate"]] if status == MIGRATE_DUE else []


def _named(steps):
    """STEPS as a change reports them: "db expand + db migrate"."""
    return " + ".join(" ".join(step) for step in steps)


def _ready(status, contract):
    """Whether a schema of check STATUS serves the installed release."""
    return status == 0 or (status == CONTRACT_DUE and not contract)


CONTRACT_LEFT = ("The database schema is expanded and migrated; its contract waits until every API node "
                 "runs this release (contract is false)")


def synced(name, user="glance", python="/usr/bin/python3", check=CHECK, manage="glance-manage", contract=True):
    """Run the schema steps ``glance-manage db check`` says are due (all of
    them with ``db_sync``, or without the contract while CONTRACT is false)
    unless the schema is current."""
    ret = {"name": name, "changes": {}, "result": True, "comment": ""}
    status, said = _check(name, user, python, check)
    if _ready(status, contract):
        ret["comment"] = "The database schema is current" if status == 0 else CONTRACT_LEFT
        return ret
    if status in (UNREACHABLE, NEWER):
        ret.update(result=False, comment=said)
        return ret
    steps = _steps(status, contract)
    if not steps:
        # Not a status db check gives before the contract: nothing safe to
        # run while the previous release still serves.
        ret.update(result=False, comment=f"The schema check did not say which step is due: {said}")
        return ret
    commands = ", ".join("glance-manage " + " ".join(step) for step in steps)
    changes = {"schema": _named(steps)}
    if __opts__["test"]:
        ret.update(result=None, comment=f"{commands} would run: {said}", changes=changes)
        return ret
    for done, step in enumerate(steps):
        run = __salt__["cmd.run_all"](_as_user(user, manage, "--config-file", name, *step),
                                      python_shell=False, ignore_retcode=True, output_loglevel="quiet")
        if run["retcode"] != 0:
            output = (run["stdout"] + "\n" + run["stderr"]).strip()[-OUTPUT_TAIL:]
            # A later step failing leaves the earlier ones done: say so.
            ret.update(result=False, changes={"schema": _named(steps[:done])} if done else {},
                       comment=f"glance-manage {' '.join(step)} failed (exit {run['retcode']}): {output}")
            return ret
    ret.update(comment=f"{commands} brought the schema to the installed release"
                       + ("" if contract else " (all but the contract)"),
               changes=changes)
    return ret


def current(name, user="glance", python="/usr/bin/python3", check=CHECK, contract=True):
    """Succeed when the schema is current; fail (for ``retry`` to ask again)
    when it is not, without changing anything: a secondary waits for the
    primary's schema (expanded and migrated is enough while CONTRACT is
    false)."""
    ret = {"name": name, "changes": {}, "result": True, "comment": "The database schema is current"}
    status, said = _check(name, user, python, check)
    if status == CONTRACT_DUE and not contract:
        ret["comment"] = CONTRACT_LEFT
    elif status != 0:
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
