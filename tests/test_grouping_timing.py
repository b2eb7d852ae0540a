"""The same posts give the same incidents whenever detection runs (issue 17, item 1):
a daemon that groups each post as it comes and one that catches up hours later (busy,
restarted, or a second daemon that scored a later batch first) must agree. Real
SQLite, the real scorer and stages; only the clock is set by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from db.engine import open_database, session
from db.models import Incident, Mention, Post, Source
from monitor.config import Config, parse_config
from monitor.detection.severity import Rules
from monitor.scoring.backends import scorer_for
from monitor.stages.detect import run_detect
from monitor.stages.score import run_monitor
from monitor.stages.sync import sync_config

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=10)
QUIET = timedelta(hours=6)
CONFIG = Config()
TEXTS = ["My Acme charger melted and burned my desk, dangerous and awful, refund now!",
         "RT @a: My Acme charger melted and burned my desk, dangerous and awful, refund now!",
         "RT @b: My Acme charger melted and burned my desk, dangerous and awful, refund now!",
         "RT @c: My Acme charger melted and burned my desk, dangerous and awful, refund now!",
         "RT @d: My Acme charger melted and burned my desk, dangerous and awful, refund now!"]
# four reposts within half an hour (a growing matter), then one after seven quiet hours
TIMES = [T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20),
         T0 + timedelta(minutes=30), T0 + timedelta(hours=7, minutes=30)]


def _engine(tmp_path: Path, name: str):  # noqa: ANN202 - Engine
    url = f"sqlite:///{tmp_path / name}"
    engine = open_database(url)
    sync_config(engine, parse_config({"database": url,
                                      "brands": [{"name": "Acme", "keywords": ["Acme"]}]},
                                     base=tmp_path, env={}))
    with session(engine) as s, s.begin():
        s.add(Source(name="news", url="https://news.example/feed"))
    return engine


def _store(engine, n: int) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        source = s.exec(select(Source)).one()
        s.add(Post(source_id=source.id, entry_key=f"p{n}", fingerprint=f"f{n}",
                   url=f"https://news.example/{n}", text=TEXTS[n], fetched_at=TIMES[n],
                   published_at=TIMES[n]))


def _incidents(engine) -> list[tuple]:  # noqa: ANN001
    """Each incident as (its posts, opened, last seen), in a comparable form."""
    with session(engine) as s:
        rows = s.exec(select(Post.entry_key, Incident.opened_at, Incident.last_seen_at)
                      .join(Mention, Mention.post_id == Post.id)
                      .join(Incident, Mention.incident_id == Incident.id)).all()
    groups: dict[tuple, list[str]] = {}
    for key, opened, last in rows:
        groups.setdefault((opened, last), []).append(key)
    return sorted((tuple(sorted(keys)), opened, last) for (opened, last), keys in groups.items())


def test_catching_up_hours_later_gives_the_incidents_of_grouping_as_posts_come(tmp_path):
    scorer, threshold = scorer_for(CONFIG), CONFIG.detection.risk_threshold
    timely = _engine(tmp_path, "timely.db")
    for n, at in enumerate(TIMES):
        _store(timely, n)
        run_monitor(timely, scorer, threshold)
        run_detect(timely, Rules(), QUIET, now=at)
    late = _engine(tmp_path, "late.db")
    for n in range(len(TIMES)):
        _store(late, n)
    run_monitor(late, scorer, threshold)
    run_detect(late, Rules(), QUIET, now=TIMES[-1] + timedelta(hours=1))
    expected = _incidents(timely)
    assert [keys for keys, *_ in expected] == [("p0", "p1", "p2", "p3"), ("p4",)]
    assert _incidents(late) == expected
