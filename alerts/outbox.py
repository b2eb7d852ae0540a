"""The outbox: Alerts are rendered once, then one Delivery row per matching
channel is sent at most once and retried with backoff until it is.

A dispatcher claims rows (status ``sending`` with a lease) in a short
transaction, sends outside any transaction, then records the outcome. A
dispatcher that dies mid-send leaves a lease that expires, so the row is
retried, never lost. On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED`` so
several dispatchers never take the same row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, or_
from sqlmodel import Session, select

from alerts.notify import SendResult, send_apprise
from alerts.playbooks import Playbook, choose_playbook
from alerts.render import AlertView, PostLine, render_body, render_title
from db.engine import read_session, session
from db.models import SEVERITIES, Alert, Brand, Channel, Delivery, Mention, Post, Source, utcnow

log = logging.getLogger("crisiswatch.alerts")
LEASE = timedelta(minutes=2)
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 600.0

Sender = Callable[[str, str, str, str], SendResult]


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 10 min."""
    return timedelta(seconds=min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def wants(channel: Channel, severity: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(channel.min_severity)


def _view(s: Session, alert: Alert) -> tuple[AlertView, set[str]]:
    brand = s.get(Brand, alert.brand_id)
    lines, cues = [], set()
    for pid in alert.post_ids:
        post, source = s.exec(select(Post, Source).join(Source, Post.source_id == Source.id)
                              .where(Post.id == pid)).one()
        mention = s.exec(select(Mention).where(Mention.post_id == pid,
                                               Mention.brand_id == alert.brand_id)).first()
        lang = mention.language if mention else "en"
        lines.append(PostLine(post.title or post.text[:140], source.name, post.url, lang))
    for m in s.exec(select(Mention).where(Mention.incident_id == alert.incident_id)).all():
        cues.update(m.cues)
    view = AlertView(alert.severity, brand.name, alert.incident_id, alert.dedup_key,
                     tuple(alert.reasons), tuple(lines))
    return view, cues


def plan_deliveries(engine: Engine, playbooks: Sequence[Playbook]) -> int:
    """Render new alerts and queue one delivery per channel that wants them."""
    planned = 0
    with session(engine) as s, s.begin():
        fresh = s.exec(select(Alert).where(Alert.rendered_at == None)  # noqa: E711
                       .order_by(Alert.id)).all()
        channels = s.exec(select(Channel).where(Channel.enabled == True)).all()  # noqa: E712
        for alert in fresh:
            view, cues = _view(s, alert)
            book = choose_playbook(playbooks, cues)
            alert.playbook = book.name
            alert.title = render_title(view)
            alert.body = render_body(view, book)
            alert.rendered_at = utcnow()
            s.add(alert)
            for ch in channels:
                if wants(ch, alert.severity):
                    s.add(Delivery(alert_id=alert.id, channel_id=ch.id))
                    planned += 1
            log.info("alert %s: %s", alert.dedup_key, alert.title)
    return planned


def _claim(engine: Engine, limit: int, ignore_backoff: bool, skip: set[int]) -> list[int]:
    now = utcnow()
    with session(engine) as s, s.begin():
        due = or_(Delivery.status == "pending",
                  (Delivery.status == "sending") & (Delivery.claimed_until < now))
        query = select(Delivery).where(due).order_by(Delivery.id).limit(limit)
        if skip:
            query = query.where(Delivery.id.not_in(skip))
        if not ignore_backoff:
            query = query.where(Delivery.next_attempt_at <= now)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = s.exec(query).all()
        for d in rows:
            d.status, d.claimed_until = "sending", now + LEASE
            d.attempts += 1
            s.add(d)
        return [d.id for d in rows]


def _send_one(engine: Engine, delivery_id: int, send: Sender) -> bool:
    with read_session(engine) as s:
        d = s.get(Delivery, delivery_id)
        alert, channel = s.get(Alert, d.alert_id), s.get(Channel, d.channel_id)
    result = send(channel.url, alert.title, alert.body, alert.severity)
    with session(engine) as s, s.begin():
        d = s.get(Delivery, delivery_id)
        if result.ok:
            d.status, d.sent_at, d.last_error = "sent", utcnow(), None
            log.info("delivered %s to %s", alert.dedup_key, channel.name)
        else:
            d.status, d.last_error = "pending", result.error
            d.next_attempt_at = utcnow() + backoff(d.attempts)
            log.warning("delivery of %s to %s failed (attempt %d, retry after %s): %s",
                        alert.dedup_key, channel.name, d.attempts, d.next_attempt_at, result.error)
        d.claimed_until = None
        s.add(d)
    return result.ok


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    failed: int = 0


def dispatch(engine: Engine, *, send: Sender = send_apprise, ignore_backoff: bool = False,
             batch: int = 20) -> DispatchReport:
    """Send every due delivery once; failures stay pending for a later attempt."""
    sent = failed = 0
    attempted: set[int] = set()
    while ids := _claim(engine, batch, ignore_backoff, attempted):
        for delivery_id in ids:
            attempted.add(delivery_id)
            if _send_one(engine, delivery_id, send):
                sent += 1
            else:
                failed += 1
    return DispatchReport(sent, failed)
