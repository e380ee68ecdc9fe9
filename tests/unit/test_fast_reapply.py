"""What makes a no-change re-apply cheap, with the same guarantees:
glance/lib/packages.py (packages asked of dpkg/rpm at render time, so the
service masks and pkg.installed render only when something is missing) and
glance/files/schema_current.py (the schema answered from alembic_version,
anything doubtful left to `glance-manage db check`). The suites prove both
on real hosts (tests/integration/glance_checks.py); these pin the logic."""
import os
import sqlite3
import stat
import subprocess
import sys
import types

import pytest

from conftest import _renderer
from saltrender import REPO, load_formula_module

packages = load_formula_module("glance/lib/packages.py")
schema_current = load_formula_module("glance/files/schema_current.py")
derive = load_formula_module("glance/lib/derive.py")

MASK = "glance-server-install-glance-api-service-masked-until-configured"


def fake_query(stdout, returncode=0):
    def run(command, **kwargs):
        fake_query.command = command
        return subprocess.CompletedProcess(command, returncode, stdout=stdout, stderr="")
    return run


def test_dpkg_installed_status_only():
    run = fake_query("glance-api\tii \npython3-pymysql\trc \n", returncode=1)
    assert packages.missing(["glance-api", "python3-pymysql", "uwsgi"], "Debian", run) == ["python3-pymysql", "uwsgi"]
    assert fake_query.command[:2] == ["dpkg-query", "--show"]
    assert fake_query.command[-3:] == ["glance-api", "python3-pymysql", "uwsgi"]


def test_rpm_not_installed_lines_count_as_missing():
    run = fake_query("openstack-glance\tii\npackage python3-PyMySQL is not installed\n", returncode=1)
    assert packages.missing(["openstack-glance", "python3-PyMySQL"], "RedHat", run) == ["python3-PyMySQL"]


@pytest.mark.parametrize("failure", [FileNotFoundError("dpkg-query"), subprocess.TimeoutExpired("dpkg-query", 60)])
def test_a_failed_query_counts_everything_missing(failure):
    def run(command, **kwargs):
        raise failure
    assert packages.missing(["glance-api"], "Debian", run) == ["glance-api"]


def test_an_unknown_family_counts_everything_missing():
    assert packages.missing(["glance-api"], "Arch", fake_query("glance-api\tii \n")) == ["glance-api"]


@pytest.fixture
def dpkg_on_path(tmp_path, monkeypatch):
    """A dpkg-query on PATH that reports every package asked for as
    installed: the render of a converged host."""
    script = tmp_path / "dpkg-query"
    script.write_text("#!/bin/sh\nshift 2\nfor p; do printf '%s\\tii \\n' \"$p\"; done\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


def test_converged_host_renders_no_mask_and_no_package_listing(dpkg_on_path):
    # Rendered directly (the render fixture memoizes by pillar, not by host).
    states = _renderer("debian-12").render({}, sls="glance").states
    assert not any(sid.endswith("-service-masked-until-configured") for sid in states)
    [(module, functions)] = [(k, v) for k, v in states["glance-server-install-pkg-installed"].items()
                             if not k.startswith("__")]
    assert module == "test" and "succeed_without_changes" in functions
    assert {"name": "installed: glance-api"} in functions


def test_host_without_the_packages_renders_mask_and_install(render):
    # This machine has no glance-api: the first-installation path.
    rendered = render("debian-12", {})
    _, function, mask = rendered.function(MASK)
    assert function == "masked" and mask["unless"] == [{"fun": "pkg.version", "args": ["glance-api"]}]
    module, function, install = rendered.function("glance-server-install-pkg-installed")
    assert (module, function) == ("pkg", "installed") and install["pkgs"] == ["glance-api"]


def write_migrations(directory, chain):
    """Contract migration files REVISION -> DOWN_REVISION, plus an expand
    file that must not count."""
    directory.mkdir(parents=True, exist_ok=True)
    for revision, down in chain:
        (directory / f"{revision}_x.py").write_text(
            f"revision = '{revision}'\ndown_revision = '{down}'\nbranch_labels = None\n")
    (directory / "zed_expand01_x.py").write_text("revision = 'zed_expand01'\ndown_revision = 'wallaby_expand01'\n")


CHAIN = [("ocata_contract01", "mitaka02"), ("pike_contract01", "ocata_contract01"),
         ("wallaby_contract01", "pike_contract01")]


def test_contract_head_is_the_revision_nothing_follows(tmp_path):
    write_migrations(tmp_path, CHAIN)
    assert schema_current.contract_head(tmp_path) == "wallaby_contract01"


def test_two_contract_heads_mean_no_answer(tmp_path):
    write_migrations(tmp_path, CHAIN + [("xena_contract01", "pike_contract01")])
    assert schema_current.contract_head(tmp_path) is None


@pytest.fixture
def sqlite_glance(tmp_path, monkeypatch):
    versions = tmp_path / "versions"
    write_migrations(versions, CHAIN)
    monkeypatch.setattr(schema_current, "installed_versions_dir", lambda: versions)
    database = tmp_path / "glance.sqlite"
    config = tmp_path / "glance-api.conf"
    config.write_text(f"[DEFAULT]\nbind_port = 9292\n[database]\nconnection = sqlite:///{database}\n")

    def at_revision(*revisions):
        with sqlite3.connect(database) as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32))")
            connection.execute("DELETE FROM alembic_version")
            connection.executemany("INSERT INTO alembic_version VALUES (?)", [(r,) for r in revisions])
        return str(config)
    return at_revision


def schema_is_current(config_file):
    return schema_current.schema_at_head(schema_current.database_url(config_file))


def test_schema_at_the_head_is_current(sqlite_glance):
    assert schema_is_current(sqlite_glance("wallaby_contract01"))


@pytest.mark.parametrize("revisions", [("pike_contract01",), (), ("zed_expand01",)])
def test_schema_behind_or_empty_is_not(sqlite_glance, revisions):
    assert not schema_is_current(sqlite_glance(*revisions))


def test_missing_database_or_table_is_not(tmp_path, monkeypatch):
    write_migrations(tmp_path / "versions", CHAIN)
    monkeypatch.setattr(schema_current, "installed_versions_dir", lambda: tmp_path / "versions")
    config = tmp_path / "glance-api.conf"
    config.write_text(f"[database]\nconnection = sqlite:///{tmp_path}/absent.sqlite\n")
    assert not schema_is_current(str(config))
    sqlite3.connect(tmp_path / "empty.sqlite").close()
    config.write_text(f"[database]\nconnection = sqlite:///{tmp_path}/empty.sqlite\n")
    assert not schema_is_current(str(config))


@pytest.mark.parametrize("url", [
    "mysql+pymysql://glance:pw@db:3306/glance?charset=utf8&unix_socket=/run/mysqld.sock",
    "oracle://glance:pw@db/glance",
])
def test_connections_not_handled_here_are_left_to_glance_manage(url):
    assert schema_current.connect(url) is None


def test_anything_but_current_runs_glance_manage_db_check(sqlite_glance, monkeypatch, capsys):
    config = sqlite_glance("pike_contract01")
    calls = []

    def execvp(program, args):
        calls.append((program, args))
        raise SystemExit(5)
    monkeypatch.setattr(schema_current.os, "execvp", execvp)
    with pytest.raises(SystemExit):
        schema_current.main(["--config-file", config])
    assert calls == [("glance-manage", ["glance-manage", "--config-file", config, "db", "check"])]
    assert capsys.readouterr().out == ""


def test_current_exits_zero_without_glance_manage(sqlite_glance, monkeypatch):
    config = sqlite_glance("wallaby_contract01")
    monkeypatch.setattr(schema_current.os, "execvp", lambda *a: pytest.fail("glance-manage ran"))
    assert schema_current.main(["--config-file", config]) == 0


def test_runs_from_standard_input_in_isolated_mode(sqlite_glance, tmp_path):
    """The way glance.server.db runs it: `python3 -I - --config-file X <
    schema_current.py`. Isolated mode keeps a `glance` directory in the
    working directory (a checkout of this formula) from passing for Glance:
    here a fake one whose migrations would call the schema current."""
    write_migrations(tmp_path / "cwd" / "glance" / "db" / "sqlalchemy" / "alembic_migrations" / "versions",
                     [("fake_contract01", "mitaka02")])
    (tmp_path / "cwd" / "glance" / "__init__.py").write_text("")
    config = sqlite_glance("fake_contract01")
    with open(REPO / "glance" / "files" / "schema_current.py") as script:
        proc = subprocess.run([sys.executable, "-I", "-", "--config-file", config], stdin=script,
                              cwd=tmp_path / "cwd", capture_output=True, text=True, env={"PATH": ""})
    # No Glance installed here and no glance-manage on the (empty) PATH: the
    # fast path cannot answer and the hand-over fails loudly.
    assert proc.returncode != 0
    assert "os.execvp" in proc.stderr or "execvp" in proc.stderr, proc.stderr
    with open(REPO / "glance" / "files" / "schema_current.py") as script:
        unisolated = subprocess.run([sys.executable, "-", "--config-file", config], stdin=script,
                                    cwd=tmp_path / "cwd", capture_output=True, text=True, env={"PATH": ""})
    assert unisolated.returncode == 0, "the fake glance was not picked up: the check above proves nothing"


@pytest.mark.parametrize("address, expected", [
    ("0.0.0.0", "http://127.0.0.1:9292"), ("::", "http://[::1]:9292"),
    ("fd00::5", "http://[fd00::5]:9292"), ("10.0.0.5", "http://10.0.0.5:9292"),
])
def test_api_endpoint_for_clients_on_this_host(address, expected):
    assert derive.api_endpoint(address, 9292) == expected


def test_database_that_refuses_the_connection_is_named_not_handed_over(tmp_path, monkeypatch, capsys):
    """A server that does not take the connection: one line naming it (never
    the password), exit 69, no `glance-manage db check` (which would retry
    for a minute and end in a traceback)."""
    write_migrations(tmp_path / "versions", CHAIN)
    monkeypatch.setattr(schema_current, "installed_versions_dir", lambda: tmp_path / "versions")
    refused = "(2003, \"Can't connect to MySQL server on 'db.example.org' ([Errno 111] Connection refused)\")"

    class OperationalError(Exception):
        pass

    def connect(**kwargs):
        assert (kwargs["host"], kwargs["port"], kwargs["password"]) == ("db.example.org", 3307, "s3cr$t")
        raise OperationalError(refused)

    fake = types.ModuleType("pymysql")
    fake.err = types.SimpleNamespace(OperationalError=OperationalError)
    fake.connect = connect
    monkeypatch.setitem(sys.modules, "pymysql", fake)
    monkeypatch.setattr(schema_current.os, "execvp", lambda *args: pytest.fail(f"handed over: {args}"))
    config = tmp_path / "glance-api.conf"
    config.write_text("[database]\nconnection = mysql+pymysql://glance:s3cr%24t@db.example.org:3307/glance"
                      "?charset=utf8\n")
    assert schema_current.main(["--config-file", str(config)]) == 69
    said = capsys.readouterr().out
    assert said == f"Glance's mysql database db.example.org:3307 does not take the connection: {refused}\n"


def test_schema_newer_than_the_installed_glance_is_refused_naming_it(sqlite_glance, monkeypatch, capsys):
    """A database a later release has upgraded: exit 65 with one line, and no
    hand-over (glance-manage would fail on the unknown revision with a
    traceback)."""
    config = sqlite_glance("2024_1_contract01")
    monkeypatch.setattr(schema_current.os, "execvp", lambda *args: pytest.fail(f"handed over: {args}"))
    assert schema_current.main(["--config-file", config]) == 65
    said = capsys.readouterr().out
    assert said.startswith("The installed Glance does not know the schema revision 2024_1_contract01 of its "
                           "sqlite database ")
    assert "Glance has no downgrade" in said and said.count("\n") == 1


@pytest.mark.parametrize("revisions, expected", [
    (("wallaby_contract01",), 0),  # current
    (("pike_contract01",), 0),  # behind: the schema step upgrades it
    (("zed_expand01", "wallaby_contract01"), 0),  # expanded, as during a rolling upgrade
    ((), 0),  # no schema yet
    (("2024_1_expand01", "wallaby_contract01"), 65),
])
def test_newer_only_answers_from_the_environments_connection(sqlite_glance, monkeypatch, tmp_path, revisions,
                                                             expected):
    sqlite_glance(*revisions)
    monkeypatch.setenv("GLANCE_DATABASE_CONNECTION", f"sqlite:///{tmp_path}/glance.sqlite")
    monkeypatch.setattr(schema_current.os, "execvp", lambda *args: pytest.fail(f"handed over: {args}"))
    assert schema_current.main(["--newer-only"]) == expected


def test_newer_only_leaves_an_unreachable_server_to_the_schema_step(monkeypatch, tmp_path):
    write_migrations(tmp_path / "versions", CHAIN)
    monkeypatch.setattr(schema_current, "installed_versions_dir", lambda: tmp_path / "versions")

    def unreachable(url):
        raise schema_current.Unreachable("mysql database db:3306 does not take the connection")
    monkeypatch.setattr(schema_current, "connect", unreachable)
    monkeypatch.setenv("GLANCE_DATABASE_CONNECTION", "mysql+pymysql://glance:pw@db:3306/glance")
    assert schema_current.main(["--newer-only"]) == 0
