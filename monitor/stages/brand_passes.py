"""Detection's coordination: which mentions and reply-count snapshots a pass reads, the hot
threads it marks (written in id order), and on PostgreSQL one pass per brand
under that brand's advisory lock, so several process workers decide different
brands at once and each brand's incidents are decided by one worker at a time
(``monitor/stages/detect.py`` does the deciding).

The locks are transaction-level (``pg_try_advisory_xact_lock``): a worker killed
mid-pass loses its transaction and its lock with it, and nothing it half-wrote
is kept. SQLite has one writer at a time and keeps one pass over every brand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, func, select, update

from db.engine import session
from db.models import EngagementSnapshot, Incident, Mention, Post, Thread, utcnow
from db.queries import lock_key, try_lock_key


def pending(s: Session, batch: int, brand_id: int | None = None
            ) -> list[tuple[Mention, Post]]:
    """Up to ``batch`` mentions not grouped yet (flagged ones, and unflagged ones
    not yet checked for being a copy), in the order their posts were fetched, and only those fetched
    before the oldest post still waiting for its score: with two daemons one may
    score a later batch first, and grouping a mention before an earlier one would
    give other incidents than one daemon does. The rest wait for the next pass.
    ``brand_id``: that brand's only (a per-brand pass, PostgreSQL)."""
    # min() of an expression: over a bare column SQLite walks ix_post_fetched_at from
    # the oldest post until an unscored one, the whole history when all are scored;
    # this reads the unscored ones alone (ix_post_unscored)
    horizon = s.exec(select(func.min(func.coalesce(Post.fetched_at, Post.fetched_at)))
                     .where(Post.scored_at == None)).one()  # noqa: E711
    waiting = (Mention.incident_id == None, Mention.grouped_by == None)  # noqa: E711
    # the ids first, through the queue's own index (ix_mention_pending): joined to the
    # posts, SQLite's planner walks every post in fetched_at order to find them
    query = (select(Mention, Post).join(Post, Mention.post_id == Post.id)
             .where(Mention.id.in_(select(Mention.id).where(*waiting)), *waiting))
    if brand_id is not None:
        query = query.where(Mention.brand_id == brand_id)
    if horizon is not None:
        query = query.where(Post.fetched_at < horizon)
    return list(s.exec(query.order_by(Post.fetched_at, Post.id, Mention.id).limit(batch)).all())


#: one brand's pass in an open transaction: (mentions read, grouped, alerts)
BrandPass = Callable[[Session, int], tuple[int, int, int]]


def mark_hot(hot: dict[int, datetime], post: Post, hot_for: timedelta) -> None:
    """Re-read a thread with a flagged mention often for a while: replies come fast.
    Noted in ``hot`` (thread id: until) and written by ``write_hot`` at the end."""
    if post.thread_id is None:
        return
    until = post.fetched_at + hot_for
    hot[post.thread_id] = max(hot.get(post.thread_id, until), until)


def write_hot(s: Session, hot: dict[int, datetime]) -> None:
    """Write the pass's hot threads in thread id order: threads are shared by the
    brands, and two brand passes on PostgreSQL updating two threads in opposite
    orders would deadlock."""
    for thread_id in sorted(hot):
        thread = s.get(Thread, thread_id)
        thread.hot_until = max(thread.hot_until or hot[thread_id], hot[thread_id])
        s.add(thread)


def affected_by_snapshots(s: Session, batch: int) -> tuple[set[int], list[int]]:
    """Incidents that reply-count snapshots not read yet touch, and those snapshots."""
    snaps = s.exec(select(EngagementSnapshot)
                   .where(EngagementSnapshot.detected_at == None)  # noqa: E711
                   .order_by(EngagementSnapshot.id).limit(batch)).all()
    if not snaps:
        return set(), []
    posts = {x.post_id for x in snaps if x.post_id is not None}
    threads = {x.thread_id for x in snaps if x.thread_id is not None}
    in_thread = select(Post.id).where(Post.thread_id.in_(threads))
    ids = s.exec(select(Mention.incident_id).where(
        Mention.post_id.in_(posts) | Mention.post_id.in_(in_thread),
        Mention.incident_id != None)).all()  # noqa: E711
    return set(ids), [x.id for x in snaps]


def replied_brands(s: Session, snaps: list[int], floor: float) -> set[int]:
    """Brands with a mention at least ``floor`` risky on a post whose reply count
    the snapshots ``snaps`` moved, grouped or not: replies under an unflagged post
    near the risk threshold count in the brand alarm (``alarm.near_weight``), and no
    incident holds that post to bring its brand's alarm round."""
    if not snaps:
        return set()
    posts = select(EngagementSnapshot.post_id).where(EngagementSnapshot.id.in_(snaps))
    return set(s.exec(select(Mention.brand_id).where(Mention.post_id.in_(posts),
                                                     Mention.risk >= floor).distinct()).all())


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


def each_brand(engine: Engine, step: BrandPass, batch: int) -> tuple[int, int]:
    """Run ``step`` for each brand with pending mentions, a transaction per batch,
    each under the brand's advisory lock taken without waiting: a brand another
    worker is deciding is skipped (that worker drains it; a notification or the
    sweep brings any later ones). Returns (grouped, alerts)."""
    grouped = alerts = 0
    for brand_id in pending_brands(engine):
        while True:
            with session(engine) as s, s.begin():
                if not try_lock_key(s, "detect:brand", brand_id):
                    break
                read, g, a = step(s, brand_id)
            grouped, alerts = grouped + g, alerts + a
            if read < batch:
                break
    return grouped, alerts


def snapshot_passes(engine: Engine, reassess: Callable[[Session, set[int], set[int]], int],
                    batch: int, floor: float = 1.0) -> int:
    """Read the reply-count snapshots, one worker at a time, and ``reassess`` the
    incidents they touch (and the alarms of the brands with a post at least ``floor``
    risky among them: ``replied_brands``) under their brands' locks, taken in id order (a brand pass
    holds one lock and never waits, so this cannot deadlock). Returns alerts."""
    alerts = 0
    while True:
        with session(engine) as s, s.begin():
            if not try_lock_key(s, "detect:snapshots", 0):
                return alerts
            touched, snaps = affected_by_snapshots(s, batch)
            brands = set(s.exec(select(Incident.brand_id).where(Incident.id.in_(touched))
                                .distinct()).all()) if touched else set()
            replied = replied_brands(s, snaps, floor)
            for brand_id in sorted(brands | replied):
                lock_key(s, "detect:brand", brand_id)
            alerts += reassess(s, touched, replied)
            mark_read(s, snaps)
        if len(snaps) < batch:
            return alerts
