"""Exit 0 when Glance's database schema is current, as `glance-manage db
check` would say; otherwise let `glance-manage db check` decide.

glance.server.db runs this on every apply (as the glance user, with the
Python that runs Glance) to decide whether db_sync is needed, and on a
secondary to wait for the primary's schema. `glance-manage db check` takes
about a second to start; this answers the usual case, a schema at the
installed release's head, in a tenth of that:

- the head is the newest revision of the contract branch among the
  installed Glance's alembic migrations (read from their files, without
  importing Glance);
- the database's revisions are read from its alembic_version table with
  the driver Glance itself uses (sqlite3, PyMySQL, psycopg2), with the
  connection of [database] in the given configuration file.

`glance-manage db check` reports the schema current exactly when that head
is among the database's revisions. A database server that cannot be
reached or refuses the connection exits 69 with one line naming its host
and port and what the driver said (glance-manage would retry for a minute
and end in a traceback). Anything else (the head not found, a different
revision, a connection option not handled here) runs `glance-manage db
check` itself, whose exit status and message are the answer. Nothing is
printed on the fast path, and the database password is never printed.

A database at a revision the installed Glance does not know (a later
release has upgraded it) exits 65 with one line saying so: Glance has no
downgrade, and glance-manage would fail on it with a traceback.
`--newer-only` answers only that question (0 unless the schema is newer):
the formula asks it before it writes an older release's configuration.
The connection comes from [database] of --config-file, or else from the
environment (GLANCE_DATABASE_CONNECTION), never from the command line.

    python3 schema_current.py --config-file /etc/glance/glance-api.conf
    GLANCE_DATABASE_CONNECTION=... python3 schema_current.py --newer-only
"""
import argparse
import configparser
import importlib.util
import os
import pathlib
import re
import sys
import urllib.parse

UNREACHABLE = 69  # EX_UNAVAILABLE; glance-manage db check uses 3 to 5
NEWER = 65  # EX_DATAERR: the database's schema is newer than the installed Glance
CONNECTION_ENV = "GLANCE_DATABASE_CONNECTION"
REVISION = re.compile(r"""^(down_revision|revision)\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)
CONNECT_TIMEOUT = 10
DEFAULT_PORTS = {"mysql": 3306, "postgresql": 5432}


def contract_head(versions_dir):
    """The contract branch's head among the migration files, or None when
    there is not exactly one."""
    parents = {}
    for path in pathlib.Path(versions_dir).glob("*contract*.py"):
        found = dict(REVISION.findall(path.read_text()))
        if "revision" in found:
            parents[found["revision"]] = found.get("down_revision")
    heads = set(parents) - set(parents.values())
    return heads.pop() if len(heads) == 1 else None


def known_revisions(versions_dir):
    """Every revision among the migration files, expand and contract."""
    return {found for path in pathlib.Path(versions_dir).glob("*.py")
            for key, found in REVISION.findall(path.read_text()) if key == "revision"}


def installed_versions_dir():
    spec = importlib.util.find_spec("glance")
    if spec is None or not spec.origin:
        return None
    return pathlib.Path(spec.origin).parent / "db" / "sqlalchemy" / "alembic_migrations" / "versions"


def database_url(config_file):
    parser = configparser.RawConfigParser(strict=False)
    parser.read(config_file)
    return parser.get("database", "connection", fallback=None)


def server_address(parts):
    """host:port of a split database URL, the engine's port by default."""
    return f"{parts.hostname}:{parts.port or DEFAULT_PORTS.get(parts.scheme.split('+')[0])}"


class Unreachable(Exception):
    """The database server cannot be reached or refuses the connection."""


def connect(url):
    """A DB-API connection for URL, or None for a URL not handled here.
    Raises Unreachable when the server does not take the connection."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    query = dict(urllib.parse.parse_qsl(parts.query))
    if scheme == "sqlite":
        import sqlite3
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path or not os.path.exists(path):
            return None
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=CONNECT_TIMEOUT)
    credentials = {
        "host": parts.hostname,
        "user": urllib.parse.unquote(parts.username or ""),
        "password": urllib.parse.unquote(parts.password or ""),
    }
    database = parts.path.lstrip("/")
    where = f"{scheme} database {server_address(parts)}"
    if scheme == "mysql":
        if set(query) - {"charset", "ssl_ca"}:
            return None
        import pymysql
        tls = {"ssl": {"ca": query["ssl_ca"]}} if "ssl_ca" in query else {}
        try:
            return pymysql.connect(port=parts.port or 3306, database=database, charset=query.get("charset", "utf8"),
                                   connect_timeout=CONNECT_TIMEOUT, **credentials, **tls)
        except pymysql.err.OperationalError as exc:
            raise Unreachable(f"{where} does not take the connection: {exc}") from None
    if scheme == "postgresql":
        import psycopg2
        try:
            return psycopg2.connect(port=parts.port or 5432, dbname=database, connect_timeout=CONNECT_TIMEOUT,
                                    **credentials, **query)
        except psycopg2.OperationalError as exc:
            raise Unreachable(f"{where} does not take the connection: {' '.join(str(exc).split())}") from None
    return None


class Newer(Exception):
    """The database is at a revision the installed Glance does not know."""


def database_revisions(url):
    """The revisions in the database's alembic_version table, or None when
    they cannot be read here. Raises Unreachable."""
    if not url:
        return None
    try:
        connection = connect(url)
        if connection is None:
            return None
    except Unreachable:
        raise
    except Exception:  # noqa: BLE001 - a driver missing, say: glance-manage decides and says why
        return None
    try:
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT version_num FROM alembic_version")
            return {row[0] for row in cursor.fetchall()}
        finally:
            connection.close()
    except Exception:  # noqa: BLE001 - no table yet, say: glance-manage decides and says why
        return None


def refuse_newer(versions_dir, revisions, url):
    """Raise Newer when REVISIONS hold one the migrations do not know."""
    if not versions_dir or not revisions:
        return
    unknown = sorted(revisions - known_revisions(versions_dir))
    if unknown:
        from importlib.metadata import PackageNotFoundError, version
        try:
            glance = f"Glance {version('glance')}"
        except PackageNotFoundError:
            glance = "The installed Glance"
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        where = url.split(":///", 1)[-1] if scheme == "sqlite" else server_address(parts) + parts.path
        raise Newer(f"{glance} does not know the schema revision {', '.join(unknown)} of its "
                    f"{scheme} database {where}: a later "
                    "release has upgraded it, and Glance has no downgrade (to go back, restore the database "
                    "from before the upgrade)")


def schema_at_head(url, newer_only=False):
    """Whether the schema at URL is at the installed Glance's head (with
    NEWER_ONLY: True unless it is newer). Raises Unreachable, Newer."""
    versions_dir = installed_versions_dir()
    revisions = database_revisions(url)
    refuse_newer(versions_dir, revisions, url)
    if newer_only:
        return True
    head = contract_head(versions_dir) if versions_dir else None
    return bool(head and revisions and head in revisions)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-file")
    parser.add_argument("--newer-only", action="store_true")
    args = parser.parse_args(argv)
    url = database_url(args.config_file) if args.config_file else os.environ.get(CONNECTION_ENV)
    try:
        if schema_at_head(url, args.newer_only):
            return 0
    except Unreachable as exc:
        if args.newer_only:
            return 0  # the schema step says so, with the same words
        print(f"Glance's {exc}")
        return UNREACHABLE
    except Newer as exc:
        print(exc)
        return NEWER
    if not args.config_file:
        parser.error("--config-file is needed to hand over to glance-manage db check")
    sys.stdout.flush()
    # The glance-manage of the Python that runs this check (a virtualenv's),
    # else the one on the PATH (the packages').
    beside = os.path.join(os.path.dirname(sys.executable), "glance-manage")
    manage = beside if os.access(beside, os.X_OK) else "glance-manage"
    os.execvp(manage, [manage, "--config-file", args.config_file, "db", "check"])


if __name__ == "__main__":
    sys.exit(main())
