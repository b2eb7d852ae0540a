"""Engine and session factory.

Built per call (never at import time) so each test and each command can point
at its own database. SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE``
transactions: a deferred transaction that reads and then writes fails at once
with "database is locked", ignoring the busy timeout.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "crisiswatch_sqlite_begin"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and safe pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, echo=echo, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API object
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    # Alembic (~0.15 s) loads when a database is opened, not with every module that
    # names a table: `crisiswatch --help` stays quick
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:  # a batch copy drops a table others reference (alembic's advice)
            _pragma(conn, "PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                setup_lock(conn)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                if sqlite and (bad := conn.exec_driver_sql("PRAGMA foreign_key_check").first()):
                    raise RuntimeError(f"migration broke a foreign key: {tuple(bad)}")
        finally:
            if sqlite:
                _pragma(conn, "PRAGMA foreign_keys=ON")


SETUP_LOCK = 0x63770001  # any constant: the advisory lock key of schema and config setup


def setup_lock(conn) -> None:  # noqa: ANN001 - Connection
    """On PostgreSQL, hold an advisory lock until this transaction ends, so workers
    started together (one of each role) migrate and sync the config one at a time
    instead of racing to create the same tables and rows. SQLite's write lock does
    that already."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SETUP_LOCK})")


def _pragma(conn, statement: str) -> None:  # noqa: ANN001 - Connection
    """Run a PRAGMA outside any transaction (inside one, foreign_keys is ignored)."""
    cur = conn.connection.dbapi_connection.cursor()
    cur.execute(statement)
    cur.close()


def open_database(url: str) -> Engine:
    """Engine for ``url`` with the schema migrated: what every command calls first."""
    engine = make_engine(url)
    upgrade(engine)
    return engine


def session(engine: Engine) -> Session:
    """A session for work that writes; keeps loaded values readable after commit."""
    return Session(engine, expire_on_commit=False)


def read_session(engine: Engine) -> Session:
    """A session that only reads: on SQLite it begins DEFERRED, so it never waits
    for a writer (WAL readers see the last commit) and never blocks one."""
    return Session(engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"}),
                   expire_on_commit=False)
