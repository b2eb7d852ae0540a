"""Storage contracts: migrations match the models; the Scrapy project works from
the checkout; unreachable databases give a clear error."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import db.models  # noqa: F401 - registers tables
from db.engine import open_database
from db.textindex import outside_models
from tests.conftest import ROOT, cli_env, crisiswatch


def test_migrations_create_exactly_the_models(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": outside_models})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_opening_twice_is_harmless(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    open_database(url)
    with open_database(url).connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"


def test_scrapy_project_lists_the_watch_spider():
    result = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=ROOT, env=cli_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["probe", "watch"]


def test_unreachable_database_is_named_without_its_password(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("database: postgresql+psycopg://cw:s3cret@127.0.0.1:1/none\n",
                      encoding="utf-8")
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 1
    assert "cannot open database postgresql+psycopg://cw:***@127.0.0.1:1/none" in result.stderr
    assert "s3cret" not in result.stderr
    missing = crisiswatch("history", "--database", f"sqlite:///{tmp_path / 'typo.db'}")
    assert missing.returncode == 2 and "no database at" in missing.stderr
    assert not (tmp_path / "typo.db").exists()


def _upgrade_populated(url: str) -> None:
    """A database with rows at revision 0001 upgrades to head without losing them, and
    the posts and snapshots the old id cursors had passed stay done (0013)."""
    from alembic import command
    from alembic.config import Config

    from db.engine import MIGRATIONS, make_engine

    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO source (name, kind, url, interval_s, enabled, "
                             "managed_by, error_count, consecutive_errors, posts_seen) VALUES "
                             "('s', 'feed', 'http://h/f', 60, true, 'config', 0, 0, 0)")
    with engine.begin() as conn:  # posts at 0012, before the monitor stage claimed by state
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0012")
        for n in (1, 2, 3):
            conn.exec_driver_sql("INSERT INTO post (source_id, entry_key, fingerprint, title, "
                                 f"text, fetched_at) VALUES (1, 'e{n}', 'f{n}', '', 'x', "
                                 "'2026-01-01 00:00:00')")
            conn.exec_driver_sql("INSERT INTO engagementsnapshot (post_id, seen_at, replies) "
                                 f"VALUES ({n}, '2026-01-01 00:00:00', {n})")
        conn.exec_driver_sql("INSERT INTO stagecursor (name, position, updated_at) VALUES "
                             "('monitor.posts', 2, '2026-01-01 00:00:00'), "
                             "('detect.snapshots', 1, '2026-01-01 00:00:00')")
    engine = open_database(url)
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT name, page, obey_robots, hot_interval_s FROM source"
                                   ).one()
        unscored = conn.exec_driver_sql("SELECT id FROM post WHERE scored_at IS NULL "
                                        "ORDER BY id").all()
        unread = conn.exec_driver_sql("SELECT id FROM engagementsnapshot "
                                      "WHERE detected_at IS NULL ORDER BY id").all()
    assert tuple(row) == ("s", "listing", True, 60)
    assert [r[0] for r in unscored] == [3]  # the old cursor had passed posts 1 and 2
    assert [r[0] for r in unread] == [2, 3]


def test_upgrading_a_populated_database_sqlite(tmp_path):
    _upgrade_populated(f"sqlite:///{tmp_path / 'old.db'}")


def test_upgrading_a_populated_database_postgres(pg_url):
    _upgrade_populated(pg_url)


def _pause_override(url: str) -> None:
    """0014: the sync keeps a file row the console paused disabled; resuming hands it
    back to the file; the migration downgrades with plain DROP COLUMNs."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlmodel import select

    from db.engine import MIGRATIONS, session
    from db.models import Source
    from monitor.config import parse_config
    from monitor.stages.sync import sync_config
    from web.admin.common import set_paused

    config = parse_config({"database": url, "sources": [
        {"name": "s", "kind": "feed", "url": "http://h/f"}]}, base=ROOT, env={})
    engine = open_database(url)
    for by, enabled in (("ada", False), (None, True)):
        sync_config(engine, config)
        with session(engine) as s, s.begin():
            set_paused(s.exec(select(Source)).one(), by)
        sync_config(engine, config)
        with session(engine) as s:
            row = s.exec(select(Source)).one()
            assert (row.enabled, row.paused_by, row.paused_at is None) == (enabled, by, enabled)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013")
    with engine.connect() as conn:
        columns = conn.exec_driver_sql("SELECT * FROM channel").keys()
    assert "paused_by" not in columns and "managed_by" in columns


def test_console_pause_override_sqlite(tmp_path):
    _pause_override(f"sqlite:///{tmp_path / 'p.db'}")


def test_console_pause_override_postgres(pg_url):
    _pause_override(pg_url)
