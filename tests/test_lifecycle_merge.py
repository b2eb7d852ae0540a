"""A matter split into two incidents is merged when a post bridges them: real SQLite,
the real scorer and stages on a clock the test sets, and the real command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from alerts.workflow import acknowledge
from db.engine import open_database, session
from db.models import Alert, Incident, IncidentChange, Mention, Post, Source, Thread
from monitor.config import Config, parse_config
from monitor.detection.severity import Rules
from monitor.history.incidents import incident_detail, incident_text, list_incidents
from monitor.scoring.backends import scorer_for
from monitor.stages.detect import run_detect
from monitor.stages.score import run_monitor
from monitor.stages.sync import sync_config
from tests.conftest import crisiswatch

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
QUIET = timedelta(hours=6)
CONFIG = Config()

THREAD_POST = "My Acme phone battery drains overnight, terrible, support was useless."
FEED_POST = "Acme charger cable melted and scorched my desk. Dangerous, awful product."
BRIDGE = ("Same terrible problem: the Acme charger cable melted and scorched my desk. "
          "Dangerous, awful, useless support.")
AFTER = "Another Acme charger cable melted, scorched the carpet, dangerous and awful."


def _engine(tmp_path: Path, url: str | None = None):  # noqa: ANN202 - Engine
    url = url or f"sqlite:///{tmp_path / 'cw.db'}"
    engine = open_database(url)
    sync_config(engine, parse_config({"database": url,
                                      "brands": [{"name": "Acme", "keywords": ["Acme"]}]},
                                     base=tmp_path, env={}))
    with session(engine) as s, s.begin():
        s.add_all([Source(name="forum", url="https://forum.example/"),
                   Source(name="news", url="https://news.example/feed")])
        s.flush()
        forum = s.exec(select(Source).where(Source.name == "forum")).one()
        s.add(Thread(source_id=forum.id, key="t1", url="https://forum.example/t/1",
                     title="Acme battery drain", first_seen_at=T0))
    return engine


def _post(engine, text: str, at: datetime, n: int, *, in_thread: bool) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        source = s.exec(select(Source).where(
            Source.name == ("forum" if in_thread else "news"))).one()
        thread = s.exec(select(Thread)).one() if in_thread else None
        s.add(Post(source_id=source.id, thread_id=thread.id if thread else None,
                   entry_key=f"p{n}", fingerprint=f"f{n}", url=f"https://x.example/{n}",
                   text=text, fetched_at=at, published_at=at))
    run_monitor(engine, scorer_for(CONFIG), CONFIG.detection.risk_threshold)
    run_detect(engine, Rules(), QUIET, now=at)


def _incident_of(engine, n: int) -> int:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(Mention.incident_id).join(Post, Mention.post_id == Post.id)
                      .where(Post.entry_key == f"p{n}")).one()


@pytest.mark.parametrize("backend", ["sqlite",
                                     pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_post_bridging_two_fragments_merges_them_into_the_older(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    engine = _engine(tmp_path, request.getfixturevalue("pg_url") if backend == "postgres"
                     else None)
    _post(engine, THREAD_POST, T0, 1, in_thread=True)
    _post(engine, FEED_POST, T0 + timedelta(minutes=5), 2, in_thread=False)
    first, second = _incident_of(engine, 1), _incident_of(engine, 2)
    assert first < second  # two fragments: the two posts share no distinctive terms
    with session(engine) as s:
        before = [(a.id, a.incident_id, a.dedup_key) for a in s.exec(select(Alert)).all()]

    # in the first fragment's thread, and much like the second (its terms, nearly its text)
    _post(engine, BRIDGE, T0 + timedelta(minutes=20), 3, in_thread=True)
    _post(engine, AFTER, T0 + timedelta(minutes=30), 4, in_thread=False)

    assert {_incident_of(engine, n) for n in (1, 2, 3, 4)} == {first}
    with session(engine) as s:
        survivor, absorbed = s.get(Incident, first), s.get(Incident, second)
        assert absorbed.merged_into == first and absorbed.resolved_at is not None
        assert survivor.merged_into is None and survivor.resolved_at is None
        assert survivor.mention_count == 4 and len(survivor.source_ids) == 2
        assert survivor.opened_at == T0 and survivor.term_counts["charger"] == 3
        merged = s.exec(select(IncidentChange).where(IncidentChange.kind == "merged")
                        .order_by(IncidentChange.incident_id)).all()
        after = [(a.id, a.incident_id, a.dedup_key) for a in s.exec(select(Alert)).all()]
    assert [c.incident_id for c in merged] == [first, second]
    assert merged[0].reasons[0].startswith(f"absorbed #{second}: a new mention matches each")
    assert f"(#{first}: same thread; #{second}: " in merged[0].reasons[0]
    assert merged[1].reasons == [f"merged into #{first}: the same matter (a new mention "
                                 "matches both)"]
    # the alerts of both fragments stay as they were; the matter is not alerted again
    assert after == before and {i for _, i, _ in before} == {first, second}

    rows = {r["id"]: r for r in list_incidents(engine)}
    assert rows[second]["trend"] == "merged"
    assert rows[second]["title"].startswith(f"merged into #{first}: ")
    detail = incident_detail(engine, first)
    assert [e["kind"] for e in detail["timeline"]].count("mention") == 4
    assert "merged" in [e["kind"] for e in detail["timeline"]]
    assert f"merged\n{'':21}  - absorbed #{second}" in incident_text(detail)
    assert f"merged into #{first}" in incident_text(incident_detail(engine, second))


def test_a_mention_joining_the_newer_fragment_goes_to_the_older(tmp_path: Path) -> None:
    """The feed post opens #1, the thread post #2; the bridging reply joins #2 by its
    thread, but #1 is older and keeps the matter. Shown by the real command line."""
    engine = _engine(tmp_path)
    _post(engine, FEED_POST, T0, 1, in_thread=False)
    _post(engine, THREAD_POST, T0 + timedelta(minutes=5), 2, in_thread=True)
    assert (_incident_of(engine, 1), _incident_of(engine, 2)) == (1, 2)
    _post(engine, BRIDGE, T0 + timedelta(minutes=20), 3, in_thread=True)
    assert {_incident_of(engine, n) for n in (1, 2, 3)} == {1}
    with session(engine) as s:
        grouped = s.exec(select(Mention.grouped_by).join(Post, Mention.post_id == Post.id)
                         .where(Post.entry_key == "p3")).one()
    assert grouped == "same thread; its incident #2 merged into #1"
    db = f"sqlite:///{tmp_path / 'cw.db'}"
    shown = crisiswatch("incident", "2", "--database", db)
    assert shown.returncode == 0, shown.stderr
    assert "merged into #1: its mentions are in that incident now" in shown.stdout
    listing = crisiswatch("incidents", "--database", db)
    assert listing.returncode == 0, listing.stderr
    assert "merged into #1: My Acme phone battery" in listing.stdout
    survivor = crisiswatch("incident", "1", "--database", db)
    assert "absorbed #2: a new mention matches each (#1: " in survivor.stdout
    assert "same thread; its incident #2 merged into #1" in survivor.stdout


def test_acknowledging_an_alert_of_an_absorbed_fragment_acknowledges_the_matter(
        tmp_path: Path) -> None:
    """The PR person opens the older alert of a fragment merged since: the matter is
    theirs now, so the surviving incident and its open alerts are acknowledged too
    (its reminders and escalation stop)."""
    engine = _engine(tmp_path)
    _post(engine, FEED_POST, T0, 1, in_thread=False)
    _post(engine, THREAD_POST, T0 + timedelta(minutes=5), 2, in_thread=True)
    _post(engine, BRIDGE, T0 + timedelta(minutes=20), 3, in_thread=True)
    with session(engine) as s:
        absorbed = s.exec(select(Incident).where(Incident.merged_into != None)).one()  # noqa: E711
        survivor_id = absorbed.merged_into
        [alert] = s.exec(select(Alert.id).where(Alert.incident_id == absorbed.id)).all()
        survivor_alerts = s.exec(select(Alert.id).where(Alert.incident_id == survivor_id)).all()
    assert survivor_alerts
    done = acknowledge(engine, alert, by="pat", now=T0 + timedelta(minutes=30))
    assert done == sorted([alert, *survivor_alerts])
    with session(engine) as s:
        survivor = s.get(Incident, survivor_id)
        assert survivor.acknowledged_at is not None
        assert {a.acknowledged_by for a in s.exec(select(Alert)).all()} == {"pat"}
