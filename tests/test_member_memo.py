"""Incidents' members kept from one detect pass to the next
(``monitor/stages/member_memo.py``): used again only while the incident's mentions
are as a pass left them, read again after anything else changed them (a rescore,
another worker's join). Real SQLite, the real scorer and stages.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import select

from db.engine import session
from db.models import Incident, Mention, utcnow
from monitor.detection.severity import Rules
from monitor.stages import member_memo
from monitor.stages.detect import run_detect
from monitor.stages.member_memo import memo_for
from monitor.stages.pass_cache import pass_cache
from monitor.stages.readings import member_rows
from monitor.stages.rescore import _apply
from tests.test_copies import QUIET, _engine
from tests.test_detect_pass import T0, TEXTS, _store


def _biggest(engine) -> int:  # noqa: ANN001
    with session(engine) as s:
        return max(s.exec(select(Incident).where(Incident.merged_into == None)).all(),  # noqa: E711
                   key=lambda i: i.mention_count).id


def _read(engine, inc_id: int, reads: list) -> list:  # noqa: ANN001
    """The members a new pass gets for ``inc_id``, noting whether it read the rows."""
    with session(engine) as s, s.begin():
        inc = s.get(Incident, inc_id)
        members = pass_cache(s).members_of(s, inc, ("Acme",))
        fresh = member_rows(s, inc_id)
        assert [x.mention.id for x in members] == [r[0] for r in fresh]
        assert [(x.evidence.risk, x.evidence.post_id) for x in members] == \
            [(r[3], r[6]) for r in fresh]
        return members


def _counting(monkeypatch) -> list:  # noqa: ANN001
    reads: list[int] = []
    original = member_rows

    def counted(s, inc_id):  # noqa: ANN001, ANN202
        reads.append(inc_id)
        return original(s, inc_id)

    monkeypatch.setattr("monitor.stages.pass_cache.member_rows", counted)
    return reads


def test_members_kept_across_passes(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    engine = _engine(tmp_path)
    _store(engine, TEXTS)
    reads = _counting(monkeypatch)
    run_detect(engine, Rules(), QUIET, now=T0)
    inc_id = _biggest(engine)
    assert inc_id in memo_for_engine(engine).entries  # its pass left its members
    reads.clear()
    _read(engine, inc_id, reads)
    assert reads == []  # nothing changed: not read again


def memo_for_engine(engine) -> member_memo.MemberMemo:  # noqa: ANN001
    with session(engine) as s:
        return memo_for(s)


def test_rescore_and_other_writers_make_it_read_again(tmp_path: Path,
                                                      monkeypatch) -> None:  # noqa: ANN001
    engine = _engine(tmp_path)
    _store(engine, TEXTS)
    reads = _counting(monkeypatch)
    run_detect(engine, Rules(), QUIET, now=T0)
    inc_id = _biggest(engine)
    with session(engine) as s, s.begin():  # a rescore changes one member's scores
        old = s.exec(select(Mention).where(Mention.incident_id == inc_id)).first()
        new = Mention(**{**old.model_dump(), "risk": 0.123})
        _apply(s, old, new)
    reads.clear()
    members = _read(engine, inc_id, reads)
    assert reads == [inc_id] and 0.123 in [x.evidence.risk for x in members]
    with session(engine) as s, s.begin():  # another worker's join, same scored_at
        other = s.exec(select(Mention.id).where((Mention.incident_id != inc_id)
                                                | (Mention.incident_id == None))).first()  # noqa: E711
        assert other is not None
        s.execute(update(Mention).where(Mention.id == other).values(incident_id=inc_id))
    reads.clear()
    members = _read(engine, inc_id, reads)
    assert reads == [inc_id] and other in [x.mention.id for x in members]
    reads.clear()
    _read(engine, inc_id, reads)
    assert reads == []  # as the last read left them


def test_rescore_moves_scored_at(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _store(engine, TEXTS[:1])
    with session(engine) as s, s.begin():
        old = s.exec(select(Mention)).first()
        s.execute(update(Mention).values(scored_at=utcnow() + timedelta(days=1)))
        s.refresh(old)
        before = old.scored_at
        _apply(s, old, Mention(**old.model_dump()))
        assert old.scored_at > before  # even a clock behind the last score moves it


def test_planner_views_read_at_once_equal_one_by_one(tmp_path: Path) -> None:
    """``outbox.alert_views`` (the planner's: a few queries for every new alert) says
    what ``alert_view`` says of each alert."""
    from alerts.outbox import alert_view, alert_views
    from db.models import Alert

    engine = _engine(tmp_path)
    _store(engine, TEXTS)
    run_detect(engine, Rules(), QUIET, now=T0 + timedelta(hours=1))
    with session(engine) as s:
        alerts = s.exec(select(Alert).order_by(Alert.id)).all()
        assert alerts and any(len(a.post_ids) > 1 for a in alerts)
        views = alert_views(s, alerts, "https://console.example", {"product_failure": "x"})
        assert views == [alert_view(s, a, "https://console.example", {"product_failure": "x"})
                         for a in alerts]
