"""An incident's life after the PR team resolves it: a new mention of the matter
reopens it and alerts again, saying so. Real SQLite, the real scorer and stages,
on a clock the test sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from alerts.render import REOPENED, AlertView, render_title
from alerts.workflow import resolve
from db.engine import open_database, session
from db.models import Alert, Brand, Incident, IncidentChange, Mention, Post, Source, Thread
from monitor.config import Config, parse_config
from monitor.detection.severity import Rules
from monitor.scoring.backends import scorer_for
from monitor.stages.detect import run_detect
from monitor.stages.score import run_monitor
from monitor.stages.sync import sync_config

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
QUIET = timedelta(hours=6)
CONFIG = Config()


def _engine(tmp_path: Path):  # noqa: ANN202 - Engine
    url = f"sqlite:///{tmp_path / 'cw.db'}"
    engine = open_database(url)
    sync_config(engine, parse_config({"database": url,
                                      "brands": [{"name": "Acme", "keywords": ["Acme"]}]},
                                     base=tmp_path, env={}))
    with session(engine) as s, s.begin():
        src = Source(name="forum", url="https://forum.example/")
        s.add(src)
        s.flush()
        s.add(Thread(source_id=src.id, key="t1", url="https://forum.example/t/1",
                     title="Acme phone overheating", first_seen_at=T0))
    return engine


def _post(engine, text: str, at: datetime, n: int) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        src = s.exec(select(Source)).one()
        thread = s.exec(select(Thread)).one()
        s.add(Post(source_id=src.id, thread_id=thread.id, entry_key=f"p{n}",
                   fingerprint=f"f{n}", url=f"https://forum.example/t/1#{n}",
                   title="Acme phone overheating" if n == 1 else "", text=text,
                   fetched_at=at, published_at=at))


def _stages(engine, now: datetime) -> None:  # noqa: ANN001
    run_monitor(engine, scorer_for(CONFIG), CONFIG.detection.risk_threshold)
    run_detect(engine, Rules(), QUIET, now=now)


def _alerts(engine) -> list[Alert]:  # noqa: ANN001
    with session(engine) as s:
        return list(s.exec(select(Alert).order_by(Alert.id)).all())


def test_a_new_threat_after_resolve_reopens_the_incident_and_alerts(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _post(engine, "My Acme phone overheats and support was rude and useless. Terrible.",
          T0, 1)
    _stages(engine, T0)
    first = _alerts(engine)
    assert [a.severity for a in first] == ["notice"]
    resolve(engine, first[0].id, T0 + timedelta(minutes=30), now=T0 + timedelta(minutes=40))

    later = T0 + timedelta(hours=2)
    _post(engine, "Still no fix from Acme. I have called my lawyer and will sue Acme in "
                  "court over this overheating phone.", later, 2)
    _stages(engine, later)

    alerts = _alerts(engine)
    assert len(alerts) == 2, [a.reasons for a in alerts]
    again = alerts[1]
    assert again.incident_id == first[0].incident_id  # the same matter, not a new incident
    assert again.reasons[0] == REOPENED
    assert again.dedup_key.endswith(":reopen1")  # not swallowed as a resend of the first
    with session(engine) as s:
        inc = s.get(Incident, again.incident_id)
        assert inc.resolved_at is None and inc.acknowledged_at is None
        kinds = [c.kind for c in s.exec(select(IncidentChange).where(
            IncidentChange.incident_id == inc.id).order_by(IncidentChange.id)).all()]
        brand = s.exec(select(Brand)).one()
    assert kinds == ["rise", "reopened", "rise"]
    view = AlertView(severity=again.severity, brand=brand.name, incident_id=inc.id,
                     dedup_key=again.dedup_key, reasons=tuple(again.reasons), posts=())
    assert render_title(view).startswith(f"[{again.severity.upper()}] Acme: {REOPENED}: ")


def test_without_a_resolve_a_new_mention_only_rises(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _post(engine, "My Acme phone overheats and support was rude and useless. Terrible.",
          T0, 1)
    _stages(engine, T0)
    _post(engine, "Acme support was rude to me too, awful service, the phone gets hot.",
          T0 + timedelta(minutes=10), 2)
    _stages(engine, T0 + timedelta(minutes=10))
    assert all(REOPENED not in a.reasons for a in _alerts(engine))
    with session(engine) as s:
        assert not s.exec(select(IncidentChange).where(
            IncidentChange.kind == "reopened")).all()


def test_the_term_background_leaves_out_the_last_day(tmp_path: Path) -> None:
    """A burst's own posts must not make its words 'everyday' while it grows: the
    background that decides which shared terms may group reads the week before the
    last day (``TERM_LAG``), so within the day the burst's words stay rare."""
    from monitor.stages.background import TERM_DAYS, TERM_LAG, term_background

    engine = _engine(tmp_path)
    now = T0 + timedelta(days=10)
    old_texts = ["Acme battery lasts all day", "Acme camera is decent"]
    burst = "Acme icloud outage again"
    with session(engine) as s, s.begin():
        src = s.exec(select(Source)).one()
        brand = s.exec(select(Brand)).one()
        at = [now - TERM_LAG - timedelta(days=2)] * 20 + [now - timedelta(hours=2)] * 20 \
            + [now - TERM_LAG - timedelta(days=TERM_DAYS + 1)] * 5
        texts = old_texts * 10 + [burst] * 20 + ["Acme icloud outage in 2025"] * 5
        for n, (when, text) in enumerate(zip(at, texts, strict=True)):
            post = Post(source_id=src.id, entry_key=f"b{n}", fingerprint=f"bf{n}", title="",
                        text=text, fetched_at=when)
            s.add(post)
            s.flush()
            s.add(Mention(post_id=post.id, brand_id=brand.id, language="en", risk=0.2))
        s.flush()
        background = term_background(s, brand, now)
    assert background.docs == 20  # the week before the lag: neither the burst nor older
    assert background.counts.get("battery") == 10
    assert "outage" not in background.counts and "icloud" not in background.counts


def test_a_resolved_incident_reads_resolved_until_it_reopens(tmp_path: Path) -> None:
    from monitor.history.incidents import incident_detail, list_incidents

    engine = _engine(tmp_path)
    _post(engine, "My Acme phone overheats and support was rude and useless. Terrible.",
          T0, 1)
    _stages(engine, T0)
    alert = _alerts(engine)[0]
    assert list_incidents(engine)[0]["trend"] != "resolved"
    resolve(engine, alert.id, T0 + timedelta(minutes=30), now=T0 + timedelta(minutes=40))
    assert list_incidents(engine)[0]["trend"] == "resolved"
    detail = incident_detail(engine, alert.incident_id)
    assert detail["trend"] == "resolved" and detail["resolved"]
    _post(engine, "Acme still ignores me, I will sue Acme in court with my lawyer.",
          T0 + timedelta(hours=2), 2)
    _stages(engine, T0 + timedelta(hours=2))
    assert list_incidents(engine)[0]["trend"] != "resolved"
    assert not incident_detail(engine, alert.incident_id)["resolved"]
