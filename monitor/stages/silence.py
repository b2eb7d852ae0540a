"""Raise and clear "source went silent" alerts; the rule is monitor/detection/silence.py.

The alert goes through the outbox like an incident's, as a system alert (``Alert.kind``
"source_silent", see db/models.py): it concerns a source, so it has no incident and
no brand, and it is written rendered (plain text) with its deliveries, one per
enabled tier-0 channel that takes every brand (a channel limited to some brands
is a brand team's, not the operators') and whose ``min_severity`` admits a
warning. Quiet hours hold it like any warning; digests and rate limits do not (an
operations message should not wait a day in a digest). It never escalates (no
response time) and is resolved, without a message, when the source stores a post
again.

One grouped query reads the newest post of each hour of each source over twice
the rule's ``days`` (the rule counts days back from the last post, so a source
silent for a while still shows its busy week), at most every ``EVERY``."""

from __future__ import annotations

import logging
import shlex
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from alerts.render import inert
from alerts.routing import route, wants
from db.engine import session
from db.models import Alert, Channel, Delivery, Post, Source
from db.queries import lock_stage
from monitor.config import SilenceConfig
from monitor.detection.silence import (
    DAY,
    Silence,
    SilenceRule,
    silence_key,
    spoken_since,
    went_silent,
)

log = logging.getLogger("crisiswatch.silence")
KIND = "source_silent"
SEVERITY = "warning"
EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class SilenceReport:
    raised: int = 0
    cleared: int = 0


def rule_of(config: SilenceConfig) -> SilenceRule:
    return SilenceRule(days=config.days, active_days=config.active_days,
                       min_gap=timedelta(seconds=config.min_gap), gap_factor=config.gap_factor)


def _span(d: timedelta) -> str:
    hours = d.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def silence_message(name: str, kind: str, url: str, silence: Silence, days: int,
                    last_error: str | None) -> tuple[str, str]:
    """The alert's title and plain-text body. Pure; names and errors are made inert."""
    name = inert(name, 80)
    title = f"[WARNING] source went silent: {name}"
    lines = [f"Source {name} ({kind}, {inert(url, 200)}) has stored no new post for "
             f"{_span(silence.quiet_for)}, since {silence.last_post_at:%Y-%m-%d %H:%M} UTC.",
             f"Before that it posted on {silence.active_days} of {days} days, usually every "
             f"{_span(silence.usual_gap)} (median); the alert fires after "
             f"{_span(silence.threshold)} of quiet.",
             f"Last fetch error: {inert(last_error, 300)}" if last_error
             else "Its fetches succeed: the site may have changed its address or layout.",
             f"Check it: crisiswatch sources test {shlex.quote(name)}",
             "This alert clears when the source stores a post again."]
    return title, "\n".join(lines)


def _history(s: Session, engine: Engine, since: datetime) -> dict[int, list[datetime]]:
    """Per source, the newest post time of each hour since ``since``."""
    if engine.dialect.name == "postgresql":
        hour = func.date_trunc("hour", Post.fetched_at)
    else:
        hour = func.strftime("%Y-%m-%d %H", Post.fetched_at)
    rows = s.exec(select(Post.source_id, func.max(Post.fetched_at))
                  .where(Post.fetched_at >= since).group_by(Post.source_id, hour)).all()
    found: dict[int, list[datetime]] = defaultdict(list)
    for source_id, at in rows:
        found[source_id].append(at)
    return found


def _clear(s: Session, history: dict[int, list[datetime]], now: datetime) -> tuple[int, set[int]]:
    """Resolve the open silence alerts whose source posted again; the sources still silent."""
    cleared, still = 0, set()
    for alert in s.exec(select(Alert).where(Alert.kind == KIND, Alert.status == "open")).all():
        last = s.get(Post, alert.post_ids[0]) if alert.post_ids else None
        episode = last.fetched_at if last is not None else alert.created_at
        if not spoken_since(episode, max(history.get(alert.source_id, []), default=None)):
            still.add(alert.source_id)
            continue
        alert.status, alert.resolved_at = "resolved", now
        s.add(alert)
        cleared += 1
        log.info("source #%s posts again: alert %s cleared", alert.source_id, alert.dedup_key,
                 extra={"source": alert.source_id, "alert": alert.dedup_key})
    return cleared, still


def _raise(s: Session, source: Source, silence: Silence, days: int,
           channels: list[Channel], now: datetime) -> bool:
    key = silence_key(source.id, silence.last_post_at)
    if s.exec(select(Alert.id).where(Alert.dedup_key == key)).first() is not None:
        return False  # this episode alerted already
    last_id = s.exec(select(Post.id).where(Post.source_id == source.id,
                                           Post.fetched_at == silence.last_post_at)).first()
    title, body = silence_message(source.name, source.kind, source.url, silence, days,
                                  source.last_error)
    alert = Alert(kind=KIND, source_id=source.id, severity=SEVERITY, dedup_key=key,
                  reasons=[f"no post for {_span(silence.quiet_for)}"],
                  post_ids=[last_id] if last_id else [], title=title, body=body,
                  rendered_at=now, created_at=now)
    s.add(alert)
    s.flush()
    for ch in channels:
        if ch.tier == 0 and not ch.brands and wants(ch.min_severity, [], SEVERITY, ""):
            r = route(severity=SEVERITY, now=now, digest=None, quiet_hours=ch.quiet_hours,
                      timezone=ch.timezone, quiet_override=ch.quiet_override,
                      rate_limit=None, sent_in_period=0)
            s.add(Delivery(alert_id=alert.id, channel_id=ch.id, next_attempt_at=r.not_before,
                           created_at=now))
    log.warning("source %s went silent: no post for %s", source.name,
                _span(silence.quiet_for),
                extra={"source": source.id, "source_name": source.name, "alert": key})
    return True


def check_silence(engine: Engine, rule: SilenceRule, *, now: datetime) -> SilenceReport:
    """Clear the silence alerts of sources that posted again; raise one for each
    enabled source that went silent and has no alert for this episode yet."""
    with session(engine) as s, s.begin():
        lock_stage(s, "silence")  # two daemons would both raise the same episode
        history = _history(s, engine, now - 2 * rule.days * DAY)
        cleared, still = _clear(s, history, now)
        sources = s.exec(select(Source).where(Source.enabled == True)  # noqa: E712
                         .order_by(Source.id)).all()
        channels = list(s.exec(select(Channel).where(Channel.enabled == True)  # noqa: E712
                               .order_by(Channel.id)).all())
        raised = 0
        for source in sources:
            silence = None if source.id in still else went_silent(
                history.get(source.id, []), now, rule)
            if silence is not None:
                raised += _raise(s, source, silence, rule.days, channels, now)
    return SilenceReport(raised, cleared)
