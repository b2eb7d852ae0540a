"""Detection's coordination: the reply-count snapshots a pass reads, and on
PostgreSQL one pass per brand under that brand's advisory lock, so several
process workers decide different brands at once and each brand's incidents are
decided by one worker at a time (``monitor/stages/detect.py`` does the deciding).

The locks are transaction-level (``pg_try_advisory_xact_lock``): a worker killed
mid-pass loses its transaction and its lock with it, and nothing it half-wrote
is kept. SQLite has one writer at a time and keeps one pass over every brand.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select, update

from db.engine import session
from db.models import EngagementSnapshot, Incident, Mention, Post, utcnow
from db.queries import lock_key, try_lock_key
from monitor.stages.detect import (
    BATCH,
    DetectReport,
    RulesFor,
    _brand_rules,
    _pending,
    _reassess,
    detect_rows,
)


def affected_by_snapshots(s: Session) -> tuple[set[int], list[int]]:
    """Incidents that reply-count snapshots not read yet touch, and those snapshots."""
    snaps = s.exec(select(EngagementSnapshot)
                   .where(EngagementSnapshot.detected_at == None)  # noqa: E711
                   .order_by(EngagementSnapshot.id).limit(BATCH)).all()
    if not snaps:
        return set(), []
    posts = {x.post_id for x in snaps if x.post_id is not None}
    threads = {x.thread_id for x in snaps if x.thread_id is not None}
    in_thread = select(Post.id).where(Post.thread_id.in_(threads))
    ids = s.exec(select(Mention.incident_id).where(
        Mention.post_id.in_(posts) | Mention.post_id.in_(in_thread),
        Mention.incident_id != None)).all()  # noqa: E711
    return set(ids), [x.id for x in snaps]


def reassess(s: Session, touched: set[int], rules_for: RulesFor, at: datetime) -> int:
    """Reassess incidents whose reply counts moved; how many alerts that raised."""
    alerts = 0
    for inc_id in sorted(touched):
        inc = s.get(Incident, inc_id)
        if inc.merged_into is not None:  # its survivor holds its mentions now
            continue
        brand_rules = _brand_rules(s, rules_for, inc.brand_id)
        alerts += _reassess(s, inc, brand_rules, at) is not None
    return alerts


def mark_read(s: Session, snaps: list[int]) -> None:
    """The snapshots ``snaps`` are read: no pass reads them again."""
    if snaps:
        s.execute(update(EngagementSnapshot).where(EngagementSnapshot.id.in_(snaps))
                  .values(detected_at=utcnow()))


# ------------------------------------------------------------------ PostgreSQL: per brand


def pending_brands(engine: Engine) -> list[int]:
    """Brands with mentions waiting to be grouped (the pending index's rows)."""
    with session(engine) as s:
        return sorted(s.exec(select(Mention.brand_id).where(
            Mention.incident_id == None, Mention.grouped_by == None)  # noqa: E711
            .distinct()).all())


def by_brand(engine: Engine, rules_for: RulesFor, quiet: timedelta, hot_for: timedelta,
             now: datetime | None) -> DetectReport:
    """Each brand with pending mentions in passes of its own, each under the brand's
    transaction-level advisory lock taken without waiting: a brand another worker
    is deciding is skipped (that worker drains it; a notification or the sweep
    brings any later ones). Then the reply-count snapshots, in one pass at a time
    that takes the locks of the brands they touch, in id order."""
    total = DetectReport()
    for brand_id in pending_brands(engine):
        while True:
            at = now or utcnow()
            with session(engine) as s, s.begin():
                if not try_lock_key(s, "detect:brand", brand_id):
                    break
                rows = _pending(s, brand_id)
                grouped, alerts = detect_rows(s, rows, set(), rules_for, quiet, hot_for, at)
            total = DetectReport(total.mentions + grouped, total.alerts + alerts)
            if len(rows) < BATCH:
                break
    while True:
        at = now or utcnow()
        with session(engine) as s, s.begin():
            if not try_lock_key(s, "detect:snapshots", 0):
                return total
            touched, snaps = affected_by_snapshots(s)
            brands = s.exec(select(Incident.brand_id).where(Incident.id.in_(touched))
                            .distinct()).all() if touched else []
            for brand_id in sorted(brands):
                lock_key(s, "detect:brand", brand_id)
            alerts = reassess(s, touched, rules_for, at)
            mark_read(s, snaps)
        total = DetectReport(total.mentions, total.alerts + alerts)
        if len(snaps) < BATCH:
            return total
