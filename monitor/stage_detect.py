"""Detect stage runner: flagged Mentions and engagement snapshots -> Incidents,
and one Alert row each time an incident's severity rises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from db.engine import session
from db.models import (
    Alert,
    Brand,
    EngagementSnapshot,
    Incident,
    Mention,
    Post,
    Source,
    Thread,
)
from db.queries import get_cursor, set_cursor
from monitor.detect import Evidence, Rules, assess, reply_growth, rises

SNAPSHOTS = "detect.snapshots"
BATCH = 500
MAX_ALERT_POSTS = 5


@dataclass(frozen=True)
class DetectReport:
    mentions: int = 0
    alerts: int = 0


def _open_incident(s: Session, m: Mention, at, quiet: timedelta) -> Incident:  # noqa: ANN001
    inc = s.exec(select(Incident).where(Incident.brand_id == m.brand_id,
                                        Incident.last_seen_at >= at - quiet)
                 .order_by(Incident.id.desc())).first()
    if inc is None:
        inc = Incident(brand_id=m.brand_id, opened_at=at, last_seen_at=at)
        s.add(inc)
        s.flush()
    return inc


def _evidence(s: Session, inc: Incident) -> list[Evidence]:
    rows = s.exec(select(Mention, Post, Source).join(Post, Mention.post_id == Post.id)
                  .join(Source, Post.source_id == Source.id)
                  .where(Mention.incident_id == inc.id)).all()
    return [Evidence(p.fetched_at, p.id, src.name, m.risk, m.strong, tuple(m.reasons))
            for m, p, src in rows]


def _series(s: Session, column, key: int) -> list[int | None]:  # noqa: ANN001
    return list(s.exec(select(EngagementSnapshot.replies).where(column == key)
                       .order_by(EngagementSnapshot.id)).all())


def _growth(s: Session, post_ids: list[int]) -> list:
    """Reply growth of the incident's posts, or of their threads for forum posts."""
    out, threads = [], set()
    for pid in post_ids:
        post = s.get(Post, pid)
        if post.thread_id is not None:
            threads.add(post.thread_id)
            continue
        label = f'"{(post.title or post.text)[:60]}"'
        if (g := reply_growth(pid, _series(s, EngagementSnapshot.post_id, pid), label)):
            out.append(g)
    for tid in sorted(threads):
        thread = s.get(Thread, tid)
        label = f'thread "{thread.title[:60]}"' if thread.title else f"thread {thread.key}"
        if (g := reply_growth(-tid, _series(s, EngagementSnapshot.thread_id, tid), label)):
            out.append(g)
    return out


def _mark_hot(s: Session, post: Post, hot_for: timedelta) -> None:
    """Re-read a thread with a flagged mention often for a while: replies come fast."""
    if post.thread_id is None:
        return
    thread = s.get(Thread, post.thread_id)
    thread.hot_until = max(thread.hot_until or post.fetched_at, post.fetched_at + hot_for)
    s.add(thread)


def _reassess(s: Session, inc: Incident, rules: Rules) -> Alert | None:
    evidence = _evidence(s, inc)
    growth = _growth(s, [e.post_id for e in evidence])
    result = assess(evidence, growth, rules)
    inc.mention_count = len(evidence)
    inc.source_ids = sorted({sid for sid in s.exec(select(Post.source_id).where(
        Post.id.in_([e.post_id for e in evidence]))).all()})
    s.add(inc)
    if not rises(inc.severity, result.severity):
        return None
    inc.severity = result.severity
    brand = s.get(Brand, inc.brand_id)
    newest = sorted(evidence, key=lambda e: e.at, reverse=True)
    grown = [g.post_id for g in growth if g.post_id > 0]
    post_ids = list(dict.fromkeys([*grown, *(e.post_id for e in newest)]))[:MAX_ALERT_POSTS]
    alert = Alert(incident_id=inc.id, brand_id=inc.brand_id, severity=result.severity,
                  dedup_key=f"{brand.name.casefold()}:{inc.id}:{result.severity}",
                  reasons=list(result.reasons), post_ids=post_ids)
    s.add(alert)
    return alert


def _affected_by_snapshots(s: Session, start: int) -> tuple[set[int], int]:
    snaps = s.exec(select(EngagementSnapshot).where(EngagementSnapshot.id > start)
                   .order_by(EngagementSnapshot.id).limit(BATCH)).all()
    if not snaps:
        return set(), start
    posts = {x.post_id for x in snaps if x.post_id is not None}
    threads = {x.thread_id for x in snaps if x.thread_id is not None}
    in_thread = select(Post.id).where(Post.thread_id.in_(threads))
    ids = s.exec(select(Mention.incident_id).where(
        Mention.post_id.in_(posts) | Mention.post_id.in_(in_thread),
        Mention.incident_id != None)).all()  # noqa: E711
    return set(ids), snaps[-1].id


def run_detect(engine: Engine, rules: Rules, quiet: timedelta,
               hot_for: timedelta = timedelta(hours=6)) -> DetectReport:
    """Attach flagged mentions not yet in an incident, and re-assess what changed.

    Mentions are picked by state (flagged, no incident), not by an id cursor, so a
    mention that ``rescore`` flags later is detected exactly once too."""
    total = DetectReport()
    while True:
        with session(engine) as s, s.begin():
            rows = s.exec(select(Mention, Post).join(Post, Mention.post_id == Post.id)
                          .where(Mention.flagged == True, Mention.incident_id == None)  # noqa: E711, E712
                          .order_by(Mention.id).limit(BATCH)).all()
            touched, snap_end = _affected_by_snapshots(s, get_cursor(s, SNAPSHOTS))
            alerts = 0
            for m, post in rows:
                inc = _open_incident(s, m, post.fetched_at, quiet)
                inc.last_seen_at = max(inc.last_seen_at, post.fetched_at)
                m.incident_id = inc.id
                s.add(m)
                _mark_hot(s, post, hot_for)
                s.flush()
                alerts += _reassess(s, inc, rules) is not None
                m.severity = inc.severity
            for inc_id in touched:
                alerts += _reassess(s, s.get(Incident, inc_id), rules) is not None
            set_cursor(s, SNAPSHOTS, snap_end)
        total = DetectReport(total.mentions + len(rows), total.alerts + alerts)
        if len(rows) < BATCH and not touched:
            return total
