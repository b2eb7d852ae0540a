"""Unflagged reposts of an incident's posts join it (issue 15): the matter's spread
counts as its volume. Real SQLite, the real scorer and stages, clock set by the test;
plus the pure rule (``grouping.copy_of``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from db.engine import open_database, session
from db.models import Incident, Mention, Post, Source
from monitor.config import Config, parse_config
from monitor.detection.grouping import IncidentKey, MentionKey, copy_of
from monitor.detection.severity import Rules
from monitor.detection.simhash import post_fingerprints
from monitor.scoring.backends import scorer_for
from monitor.stages.detect import run_detect
from monitor.stages.score import run_monitor
from monitor.stages.sync import sync_config

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
QUIET = timedelta(hours=6)
CONFIG = Config()
COMPLAINT = ("My Acme charger melted overnight and scorched the desk, support refused a "
             "refund, this is dangerous and disgusting")
ANNOUNCEMENT = ("Acme announces the new X2 charger with faster charging and a longer cable, "
                "available in stores from Friday")


def _engine(tmp_path: Path):  # noqa: ANN202 - Engine
    url = f"sqlite:///{tmp_path / 'cw.db'}"
    engine = open_database(url)
    sync_config(engine, parse_config({"database": url,
                                      "brands": [{"name": "Acme", "keywords": ["Acme"]}]},
                                     base=tmp_path, env={}))
    with session(engine) as s, s.begin():
        s.add(Source(name="weibo", url="https://weibo.example/feed"))
    return engine


def _post(engine, n: int, text: str, at: datetime) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        source = s.exec(select(Source)).one()
        s.add(Post(source_id=source.id, entry_key=f"p{n}", fingerprint=f"f{n}",
                   url=f"https://weibo.example/{n}", text=text, fetched_at=at,
                   published_at=at))
    run_monitor(engine, scorer_for(CONFIG), CONFIG.detection.risk_threshold)
    run_detect(engine, Rules(), QUIET, now=at)


def _mention(engine, n: int) -> Mention:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(Mention).join(Post, Mention.post_id == Post.id)
                      .where(Post.entry_key == f"p{n}")).one()


def test_unflagged_reposts_of_a_complaint_join_its_incident(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _post(engine, 1, COMPLAINT, T0)
    complaint = _mention(engine, 1)
    assert complaint.flagged and complaint.incident_id is not None
    _post(engine, 2, f"转发微博 //@小王: {COMPLAINT}", T0 + timedelta(minutes=3))
    _post(engine, 3, f"RT @angry: {COMPLAINT}", T0 + timedelta(minutes=4))
    _post(engine, 4, "Acme has a nice new logo, I like it a lot", T0 + timedelta(minutes=5))
    copies = [_mention(engine, n) for n in (2, 3)]
    other = _mention(engine, 4)
    assert not other.flagged and other.incident_id is None and other.grouped_by == ""
    for copy in copies:
        if copy.flagged:  # the scorer may flag a copy; then the usual rules group it
            assert copy.incident_id == complaint.incident_id
            continue
        assert copy.incident_id == complaint.incident_id
        assert copy.grouped_by.startswith(f"copy of a post in incident #{complaint.incident_id}")
    with session(engine) as s:
        assert s.get(Incident, complaint.incident_id).mention_count == 3


def _key(text: str, at: datetime) -> MentionKey:
    whole, *parts = post_fingerprints("", text, "en")
    return MentionKey(1, None, "weibo", at, whole, (), tuple(parts))


def test_a_repost_of_what_a_complaint_quoted_does_not_join() -> None:
    quoting = _key(f"This is a scam, refund me! //@acme: {ANNOUNCEMENT}", T0)
    incident = IncidentKey.from_mention(7, quoting)
    plain_repost = _key(f"RT @acme: {ANNOUNCEMENT}", T0 + timedelta(minutes=1))
    assert copy_of(plain_repost, [incident], window=QUIET) is None
    same_complaint = _key(f"RT @x: This is a scam, refund me! //@acme: {ANNOUNCEMENT}",
                          T0 + timedelta(minutes=1))
    match = copy_of(same_complaint, [incident], window=QUIET)
    assert match is not None and match.incident_id == 7 and match.rule == "copy"
    late = _key(f"RT @x: This is a scam, refund me! //@acme: {ANNOUNCEMENT}",
                T0 + timedelta(hours=7))
    assert copy_of(late, [incident], window=QUIET) is None
