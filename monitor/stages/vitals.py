"""What the metrics endpoint and the readiness check read from the database, at
scrape time: one cheap query each, never a count kept up on every post.

- the oldest post still waiting for its score (``ix_post_unscored``: the first row
  of a partial index) and the oldest flagged mention not yet in an incident
  (``ix_mention_pending``): how far the stages are behind;
- deliveries waiting to be sent and the oldest of them, and dead letters (the
  ``status`` index);
- sources by kind and state (healthy, failing, never polled, paused): one grouped
  pass over the source table, which holds one row per watched site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, func
from sqlmodel import select

from db.engine import read_session
from db.models import Delivery, Mention, Post, Source

WAITING = ("pending", "sending")  # held deliveries wait for a digest on purpose


@dataclass(frozen=True)
class Vitals:
    oldest_unscored: datetime | None = None
    oldest_pending_mention: datetime | None = None
    deliveries_pending: int = 0
    oldest_pending_delivery: datetime | None = None
    dead_letters: int = 0
    sources: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, state) -> n


def read_vitals(engine: Engine) -> Vitals:
    """The numbers above; raises SQLAlchemyError when the database cannot answer."""
    with read_session(engine) as s:
        unscored = s.exec(select(Post.fetched_at).where(Post.scored_at == None)  # noqa: E711
                          .order_by(Post.id).limit(1)).first()
        mention = s.exec(select(func.min(Mention.scored_at)).where(  # ix_mention_pending
            Mention.flagged == True, Mention.incident_id == None,  # noqa: E711, E712
            Mention.grouped_by == None)).one()  # noqa: E711
        pending, oldest = s.exec(select(func.count(), func.min(Delivery.created_at))
                                 .where(Delivery.status.in_(WAITING))).one()
        dead = s.exec(select(func.count()).where(Delivery.status == "dead")).one()
        state = case((Source.enabled == False, "paused"),  # noqa: E712
                     (Source.last_fetch_at == None, "never_polled"),  # noqa: E711
                     (Source.consecutive_errors > 0, "failing"), else_="healthy")
        sources = {(kind, st): n for kind, st, n in s.exec(
            select(Source.kind, state, func.count()).group_by(Source.kind, state)).all()}
    return Vitals(unscored, mention, pending, oldest, dead, sources)


def age(at: datetime | None, now: datetime) -> float:
    """Seconds since ``at`` (0 when there is nothing waiting)."""
    return max((now - at).total_seconds(), 0.0) if at is not None else 0.0


def stage_lags(v: Vitals, now: datetime) -> dict[str, float]:
    """Seconds the oldest waiting work has waited, per stage."""
    return {"score": age(v.oldest_unscored, now), "detect": age(v.oldest_pending_mention, now)}


def not_ready(v: Vitals, now: datetime, max_lag: timedelta) -> str | None:
    """Why the process should not count as ready (a stage too far behind), or None."""
    for stage, lag in stage_lags(v, now).items():
        if lag > max_lag.total_seconds():
            return (f"stage {stage} is {lag:.0f} s behind (more than "
                    f"{max_lag.total_seconds():.0f} s)")
    return None
