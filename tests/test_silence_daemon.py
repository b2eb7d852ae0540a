"""A source that posted every day and stopped: ``crisiswatch run`` delivers one
"source went silent" alert to a json:// receiver; the same silence alerts once,
and the alert clears when the source posts again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from alerts.workflow import WorkflowError, acknowledge
from db.engine import open_database
from db.models import Alert, Delivery, Post, Source, utcnow
from monitor.config import load_config
from monitor.stages.silence import SilenceReport, check_silence, rule_of
from monitor.stages.sync import sync_config
from tests.conftest import crisiswatch, session

pytestmark = pytest.mark.slow


def seed_history(engine, name: str) -> int:  # noqa: ANN001
    """Posts every 3 hours for a week, the last two days ago; the source's id."""
    last = utcnow() - timedelta(days=2)
    with session(engine) as s:
        source = s.exec(select(Source).where(Source.name == name)).one()
        for i in range(7 * 8):
            at = last - timedelta(hours=3 * i)
            s.add(Post(source_id=source.id, entry_key=f"old{i}", fingerprint=f"fp{i}",
                       title=f"old post {i}", fetched_at=at, scored_at=at))
        s.commit()
        return source.id


def test_a_silent_source_alerts_once_and_clears_when_it_posts_again(
        site, receiver, make_config):
    site.feeds["forum"] = []
    site.feeds["news"] = []
    config = make_config(["forum", "news"])
    cfg = load_config(config)
    engine = open_database(cfg.database)
    sync_config(engine, cfg)
    forum = seed_history(engine, "forum")

    run = crisiswatch("run", "--once", "--config", str(config))
    assert run.returncode == 0, run.stderr
    assert [r.title for r in receiver.received] == ["[WARNING] source went silent: forum"]
    body = receiver.received[0].body
    assert "has stored no new post for 2.0 days" in body
    assert "posted on 7 of 7 days, usually every 3.0 h (median)" in body
    assert "source forum went silent" in run.stderr
    with session(engine) as s:
        alert = s.exec(select(Alert).where(Alert.kind == "source_silent")).one()
        assert (alert.incident_id, alert.brand_id, alert.source_id) == (None, None, forum)
        assert s.exec(select(Delivery.status).where(Delivery.alert_id == alert.id)).all() \
            == ["sent"]

    rule = rule_of(cfg.alerts.silent_source)
    assert check_silence(engine, rule, now=utcnow()) == SilenceReport(0, 0)  # once
    with pytest.raises(WorkflowError, match="system alert"):
        acknowledge(engine, alert.id)
    with session(engine) as s:  # it posts again
        s.add(Post(source_id=forum, entry_key="new", fingerprint="new", title="back"))
        s.commit()
    assert check_silence(engine, rule, now=utcnow()) == SilenceReport(0, 1)
    with session(engine) as s:
        assert s.get(Alert, alert.id).status == "resolved"
        assert s.exec(select(Delivery)).all() != []
    assert len(receiver.received) == 1


def _upgrade_with_deliveries(url: str) -> None:
    """0018 makes alert.incident_id optional: on SQLite that rebuilds the alert table,
    which deliveries reference; alerts and deliveries stored at 0017 survive it."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from db.engine import MIGRATIONS, make_engine

    engine = make_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0017")
    rows = [
        "INSERT INTO brand (name, keywords, exclude, names, enabled, managed_by) "
        "VALUES ('Acme', '[]', '[]', '{}', true, 'config')",
        "INSERT INTO incident (brand_id, opened_at, last_seen_at, mention_count, source_ids, "
        "cues, title, category_confidence, thread_keys, fingerprints, part_prints, "
        "term_counts, signals) VALUES (1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, "
        "'[]', '[]', 't', 0, '[]', '[]', '[]', '{}', '{}')",
        "INSERT INTO alert (incident_id, brand_id, severity, dedup_key, created_at, reasons, "
        "post_ids, status, escalation_tier) VALUES (1, 1, 'warning', 'acme:1:warning', "
        "'2026-01-01 00:00:00', '[]', '[]', 'open', 0)",
        "INSERT INTO channel (name, url, min_severity, enabled, managed_by, brands, tags, "
        "tier, format, timezone, quiet_override, digest_every_s) VALUES ('c', 'json://h', "
        "'notice', true, 'config', '[]', '[]', 0, 'plain', 'UTC', 'crisis', 3600)",
        "INSERT INTO delivery (alert_id, channel_id, status, kind, members, attempts, "
        "next_attempt_at, created_at) VALUES (1, 1, 'sent', 'alert', '[]', 1, "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
    ]
    with engine.begin() as conn:
        for row in rows:
            conn.execute(text(row))
    engine = open_database(url)
    with engine.connect() as conn:
        alert = conn.execute(text("SELECT id, kind, source_id, incident_id FROM alert")).all()
        delivery = conn.execute(text("SELECT alert_id, status FROM delivery")).all()
    assert [tuple(r) for r in alert] == [(1, "incident", None, 1)]
    assert [tuple(r) for r in delivery] == [(1, "sent")]
    with session(engine) as s:  # a system alert fits now, and foreign keys still hold
        s.add(Alert(kind="source_silent", source_id=1, severity="warning", dedup_key="x"))
        s.commit()
    with pytest.raises(Exception, match="(?i)foreign key"), session(engine) as s:
        s.add(Delivery(alert_id=99, channel_id=1))
        s.commit()


def test_alerts_and_deliveries_survive_migration_0018_sqlite(tmp_path):
    _upgrade_with_deliveries(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
def test_alerts_and_deliveries_survive_migration_0018_postgres(pg_url):
    _upgrade_with_deliveries(pg_url)
