"""Re-run the monitor stage over stored posts with the current scorer.

Mentions get their new scores in place. The detect stage picks up flagged
mentions that are in no incident yet, so one that becomes flagged here is
detected exactly once; an incident can only rise, and alerts carry a unique
key, so nothing already sent is sent again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import select

from db.engine import read_session, session
from db.models import Mention, Post, as_utc, utcnow
from monitor.scoring.risk import Scorer
from monitor.stages.score import (
    LOOKBACK,
    load_rules,
    lookbacks_by_source,
    mentions_for,
    thread_openers,
)

BATCH = 500


@dataclass(frozen=True)
class RescoreReport:
    posts: int = 0
    updated: int = 0
    added: int = 0
    newly_flagged: int = 0


def _apply(s, old: Mention | None, new: Mention) -> str:  # noqa: ANN001
    """Write one recomputed mention; say what happened to it."""
    if old is None:
        s.add(new)
        return "added"
    outcome = "newly_flagged" if new.flagged and not old.flagged else "updated"
    for field in ("language", "sentiment", "risk", "flagged", "strong", "cues", "reasons"):
        setattr(old, field, getattr(new, field))
    # scored again: a detect worker's kept members of its incident are stale now
    # (monitor/stages/member_memo.py reads them again when this moves)
    old.scored_at = max(utcnow(), as_utc(old.scored_at) + timedelta(microseconds=1))
    if outcome == "newly_flagged" and old.incident_id is None:
        old.grouped_by = None  # checked as a possible copy before: detect it now
    s.add(old)
    return outcome


def rescore(engine: Engine, scorer: Scorer, threshold: float,
            since: datetime | None = None, lookback: timedelta = LOOKBACK,
            by_source: Mapping[str, float] | None = None) -> RescoreReport:
    """Score stored posts again; old posts stay unflagged (``run_monitor``'s look-back)."""
    rules = load_rules(engine)
    lookbacks = lookbacks_by_source(engine, lookback, by_source)
    counts = {"posts": 0, "updated": 0, "added": 0, "newly_flagged": 0}
    last = 0
    while True:
        with read_session(engine) as s:
            q = select(Post).where(Post.id > last).order_by(Post.id).limit(BATCH)
            if since is not None:
                q = q.where(Post.fetched_at >= since)
            posts = s.exec(q).all()
        if not posts:
            return RescoreReport(**counts)
        openers = thread_openers(engine, posts)
        fresh = {(m.post_id, m.brand_id): m for p in posts for m in mentions_for(
            p, rules, scorer, threshold, with_title=p.thread_id is None or p.id in openers,
            lookback=lookbacks.get(p.source_id, lookback))}
        with session(engine) as s, s.begin():
            old = {(m.post_id, m.brand_id): m for m in s.exec(
                select(Mention).where(Mention.post_id.in_([p.id for p in posts]))).all()}
            for key, mention in fresh.items():
                counts[_apply(s, old.get(key), mention)] += 1
        counts["posts"] += len(posts)
        last = posts[-1].id
