"""The detect pass's cache (``monitor/stages/pass_cache.py``) reads each incident's
members, keys and open incidents once a pass and keeps them up to date as mentions
join: what a pass decides must be what reading everything again would decide. Real
SQLite, the real scorer and stages; posts stored first and grouped in one pass, so
every mention after the first finds the incident in the cache.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import func, select

from db.engine import session
from db.models import Incident, Mention, Post, Source
from monitor.detection.severity import Rules
from monitor.scoring.backends import scorer_for
from monitor.stages.detect import run_detect
from monitor.stages.merge import candidates, incident_key
from monitor.stages.pass_cache import PassCache
from monitor.stages.readings import member_rows
from monitor.stages.score import load_rules, mention_rows, run_monitor
from tests.test_copies import COMPLAINT, CONFIG, QUIET, _engine

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
TEXTS = [COMPLAINT, f"转发微博 //@小王: {COMPLAINT}", f"RT @angry: {COMPLAINT}",
         f"{COMPLAINT} again today", "Acme has a nice new logo, I like it a lot",
         f"Same here. {COMPLAINT}", "Acme support refused my refund for the melted charger, "
         "the charger scorched the desk, dangerous"]


def _store(engine, texts: list[str]) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        for n, name in enumerate(("weibo-2", "forum", "news")):
            s.add(Source(name=name, url=f"https://{n}.example/feed"))
    with session(engine) as s, s.begin():
        sources = s.exec(select(Source).order_by(Source.id)).all()
        for n, text in enumerate(texts):
            at = T0 + timedelta(minutes=2 * n)
            s.add(Post(source_id=sources[n % len(sources)].id, entry_key=f"p{n}",
                       fingerprint=f"f{n}", url=f"https://x.example/{n}", text=text,
                       fetched_at=at, published_at=at))
    run_monitor(engine, scorer_for(CONFIG), CONFIG.detection.risk_threshold)


def test_one_pass_counts_every_member_it_grouped(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _store(engine, TEXTS)
    run_detect(engine, Rules(), QUIET, now=T0)  # one pass: each mention at its own time
    with session(engine) as s:
        incidents = s.exec(select(Incident).where(Incident.merged_into == None)).all()  # noqa: E711
        assert incidents
        grouped = 0
        for inc in incidents:
            held = s.exec(select(func.count()).select_from(Mention)
                          .where(Mention.incident_id == inc.id)).one()
            sources = s.exec(select(Post.source_id).join(Mention, Mention.post_id == Post.id)
                             .where(Mention.incident_id == inc.id).distinct()).all()
            assert inc.mention_count == held  # the cached members saw each join
            assert inc.source_ids == sorted(sources)
            grouped += held
        assert max(i.mention_count for i in incidents) >= 4  # the copies joined one


def test_cached_readings_equal_fresh_ones(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _store(engine, TEXTS)
    run_detect(engine, Rules(), QUIET, now=T0)
    with session(engine) as s:
        brand_id = s.exec(select(Mention.brand_id)).first()
        cache = PassCache()
        for since in (T0 - QUIET, T0, T0 + timedelta(minutes=5), T0 - QUIET):
            fresh = candidates(s, brand_id, since)
            assert cache.candidates(s, brand_id, since) == fresh
            assert [cache.key(i) for i in fresh] == [incident_key(i) for i in fresh]
            for inc in fresh:
                held = cache.members_of(s, inc, ("Acme",))
                assert [x.mention.id for x in held] == [r[0] for r in member_rows(s, inc.id)]
                assert len(held) == inc.mention_count
        inc = fresh[0]
        before = cache.key(inc)
        inc.last_seen_at += timedelta(minutes=1)  # a change the key must not miss
        assert cache.key(inc) != before and cache.key(inc) == incident_key(inc)


def test_mention_rows_fill_every_column(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _store(engine, TEXTS[:1])
    with session(engine) as s:
        post = s.exec(select(Post)).one()
    rows = mention_rows(post, load_rules(engine), scorer_for(CONFIG),
                        CONFIG.detection.risk_threshold)
    columns = {c.name for c in Mention.__table__.columns} - {"id"}
    assert rows and all(set(r) == columns for r in rows)
