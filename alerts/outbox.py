"""The outbox: Alerts are planned once into Delivery rows, one per channel that
wants them, and each row is sent at most once, retried with backoff until it is,
and dead-lettered after ``max_attempts`` (``crisiswatch alerts failed|retry``).

A dispatcher claims rows (status ``sending`` with a lease) in a short
transaction, sends outside any transaction, then records the outcome. A
dispatcher that dies mid-send leaves a lease that expires, so the row is
retried, never lost. On PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED`` so
several dispatchers never take the same row. Messages are rendered when sent,
in the channel's format, from the stored alert: a restart changes nothing.

Alerts a channel digests (or that pass its rate limit) are ``held``; the
digest planner gathers them into one ``digest`` row when the channel's digest
is due. Escalations are rows of kind ``escalation`` (alerts/escalation.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, update
from sqlmodel import Session, select

from alerts.notify import Screen, SendResult, send_apprise
from alerts.playbooks import Playbook, choose_playbook
from alerts.render import AlertView, PostLine, Rendered, render_alert, render_digest
from alerts.render import render_body as render_plain_body
from alerts.render import render_title as render_plain_title
from alerts.routing import digest_due, rank, rate_window, route, wants
from db.engine import read_session, session
from db.models import Alert, Brand, Channel, Delivery, Incident, Mention, Post, Source, utcnow
from db.queries import lock_stage

log = logging.getLogger("crisiswatch.alerts")
LEASE = timedelta(minutes=2)
BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 600.0
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Message:
    """One message for one channel, ready to send."""

    url: str
    title: str
    body: str
    severity: str
    fmt: str = "plain"
    tags: tuple[str, ...] = ()
    console_added: bool = False  # the daemon checks such a channel's host before sending
    # with tags: what each entry of the apprise configuration must pass (console channels)
    screen: Screen | None = field(default=None, compare=False)


Sender = Callable[[Message], SendResult]


def send_message(message: Message) -> SendResult:
    """The production sender: apprise."""
    return send_apprise(message.url, message.title, message.body, message.severity,
                        fmt=message.fmt, tags=message.tags,
                        follow_redirects=not message.console_added, screen=message.screen)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at 10 min."""
    return timedelta(seconds=min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


# ---------------------------------------------------------------- views


def alert_view(s: Session, alert: Alert, console_url: str | None = None,
               labels: Mapping[str, str] | None = None) -> AlertView:
    """What a message says about an alert, read from the database."""
    brand = s.get(Brand, alert.brand_id)
    incident = s.get(Incident, alert.incident_id)
    lines = []
    for pid in alert.post_ids:
        post, source = s.exec(select(Post, Source).join(Source, Post.source_id == Source.id)
                              .where(Post.id == pid)).one()
        mention = s.exec(select(Mention).where(Mention.post_id == pid,
                                               Mention.brand_id == alert.brand_id)).first()
        lang = mention.language if mention else "en"
        lines.append(PostLine(post.title or post.text[:140], source.name, post.url, lang))
    return _view(alert, brand, incident, lines, console_url, labels)


def _view(alert: Alert, brand: Brand, incident, lines: list[PostLine],  # noqa: ANN001
          console_url: str | None, labels: Mapping[str, str] | None) -> AlertView:
    ack = f"{console_url.rstrip('/')}/alerts/{alert.id}" if console_url else None
    return AlertView(alert.severity, brand.name, alert.incident_id, alert.dedup_key,
                     tuple(alert.reasons), tuple(lines), alert_id=alert.id,
                     category=incident.category if incident else None,
                     category_label=(labels or {}).get(incident.category)
                     if incident and incident.category else None,
                     opened_at=incident.opened_at if incident else None, ack_url=ack,
                     brand_names=dict(brand.names or {}))


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def alert_views(s: Session, alerts: Sequence[Alert], console_url: str | None = None,
                labels: Mapping[str, str] | None = None) -> list[AlertView]:
    """``alert_view`` of each alert, read in a few queries for all of them: the
    planner renders every new alert of a pass, and two queries per post each cost
    more than rendering it (issue 20). An alert naming a post that is gone is read
    by ``alert_view``, which fails on it as before."""
    pids = sorted({pid for a in alerts for pid in a.post_ids})
    posts, langs = {}, {}
    for chunk in _chunks(pids):
        posts.update((r[0], r[1:]) for r in s.exec(
            select(Post.id, Post.title, Post.text, Post.url, Source.name)
            .join(Source, Post.source_id == Source.id).where(Post.id.in_(chunk))))
        langs.update(((pid, b), lang) for pid, b, lang in s.exec(
            select(Mention.post_id, Mention.brand_id, Mention.language)
            .where(Mention.post_id.in_(chunk))))
    brands = {b.id: b for b in s.exec(select(Brand).where(
        Brand.id.in_(sorted({a.brand_id for a in alerts}))))}
    incidents = {r.id: r for r in s.exec(select(Incident.id, Incident.category,
                                                Incident.opened_at).where(
        Incident.id.in_(sorted({a.incident_id for a in alerts} - {None}))))}
    views = []
    for a in alerts:
        if a.brand_id not in brands or any(pid not in posts for pid in a.post_ids):
            views.append(alert_view(s, a, console_url, labels))
            continue
        lines = [PostLine(title or text[:140], source, url, langs.get((pid, a.brand_id), "en"))
                 for pid in a.post_ids for title, text, url, source in [posts[pid]]]
        views.append(_view(a, brands[a.brand_id], incidents.get(a.incident_id), lines,
                           console_url, labels))
    return views


def _incident_cues(s: Session, alert: Alert) -> set[str]:
    cues: set[str] = set()
    for found in s.exec(select(Mention.cues).where(Mention.incident_id == alert.incident_id)):
        cues.update(found)  # the column alone: an incident may hold thousands of mentions
    return cues


def _cues_of(s: Session, incident_ids: list[int]) -> dict[int, set[str]]:
    """``_incident_cues`` of several incidents in one query each 500."""
    out: dict[int, set[str]] = {}
    for chunk in _chunks(sorted(set(incident_ids))):
        for inc_id, found in s.exec(select(Mention.incident_id, Mention.cues)
                                    .where(Mention.incident_id.in_(chunk))):
            out.setdefault(inc_id, set()).update(found)
    return out


def playbook_for(playbooks: Sequence[Playbook], name: str | None) -> Playbook:
    """The playbook an alert was planned with (or the default, if it was removed since)."""
    return next((b for b in playbooks if b.name == name), None) or choose_playbook(playbooks, ())


# ---------------------------------------------------------------- planning


def _sent_in_period(s: Session, channel: Channel, now: datetime) -> int:
    if not channel.rate_limit:
        return 0
    _limit, period = rate_window(channel.rate_limit)
    return s.exec(select(func.count()).select_from(Delivery).where(
        Delivery.channel_id == channel.id, Delivery.kind != "escalation",
        Delivery.status.in_(("pending", "sending", "sent", "dead")),
        Delivery.created_at > now - period)).one()


def _route_alert(s: Session, alert: Alert, brand: str, channels: Sequence[Channel],
                 now: datetime) -> int:
    """One Delivery per tier-0 channel that wants the alert: pending or held."""
    planned = 0
    for ch in channels:
        if ch.tier != 0 or not wants(ch.min_severity, ch.brands, alert.severity, brand):
            continue
        r = route(severity=alert.severity, now=now, digest=ch.digest,
                  quiet_hours=ch.quiet_hours, timezone=ch.timezone,
                  quiet_override=ch.quiet_override, rate_limit=ch.rate_limit,
                  sent_in_period=_sent_in_period(s, ch, now))
        status = "held" if r.action == "hold" else "pending"
        s.add(Delivery(alert_id=alert.id, channel_id=ch.id, status=status,
                       next_attempt_at=r.not_before, created_at=now))
        s.flush()  # the next alert's rate count sees this one
        if r.why:
            log.info("alert %s on %s: %s", alert.dedup_key, ch.name, r.why,
                     extra={"alert": alert.dedup_key, "channel": ch.name, "brand": brand})
        planned += 1
    return planned


def plan_deliveries(engine: Engine, playbooks: Sequence[Playbook], *,
                    now: datetime | None = None) -> int:
    """Choose each new alert's playbook, render its stored plain text, and queue
    it for every channel that wants it."""
    now = now or utcnow()
    planned = 0
    with session(engine) as s, s.begin():
        lock_stage(s, "plan_deliveries")  # two planners would queue one alert twice
        fresh = s.exec(select(Alert).where(Alert.rendered_at == None)  # noqa: E711
                       .order_by(Alert.id)).all()
        channels = s.exec(select(Channel).where(Channel.enabled == True)  # noqa: E712
                          .order_by(Channel.id)).all()
        incidents = {r[0]: list(r[1:]) for r in s.exec(
            select(Incident.id, Incident.category, Incident.reply_promised_s)
            .where(Incident.id.in_(sorted({a.incident_id for a in fresh} - {None}))))}
        cues = _cues_of(s, [a.incident_id for a in fresh if a.incident_id is not None])
        for alert, view in zip(fresh, alert_views(s, fresh), strict=True):
            incident = incidents.get(alert.incident_id)
            book = choose_playbook(playbooks, cues.get(alert.incident_id, set())
                                   if alert.incident_id is not None
                                   else _incident_cues(s, alert),
                                   category=incident[0] if incident else None)
            alert.playbook = book.name
            alert.title = render_plain_title(view)
            alert.body = render_plain_body(view, book)
            alert.rendered_at = now
            alert.respond_by = alert.created_at + timedelta(seconds=book.response_seconds)
            if incident is not None and incident[1] is None:
                incident[1] = book.response_seconds
                s.execute(update(Incident).where(Incident.id == alert.incident_id)
                          .values(reply_promised_s=book.response_seconds))
            s.add(alert)
            planned += _route_alert(s, alert, view.brand, channels, now)
            log.info("alert %s: %s", alert.dedup_key, alert.title,
                     extra={"alert": alert.dedup_key, "brand": view.brand,
                            "incident": alert.incident_id})
    return planned


def plan_digests(engine: Engine, *, now: datetime | None = None) -> int:
    """Gather each channel's held alerts into one digest row when its digest is due."""
    now = now or utcnow()
    made = 0
    with session(engine) as s, s.begin():
        lock_stage(s, "plan_digests")
        for ch in s.exec(select(Channel).where(Channel.enabled == True)).all():  # noqa: E712
            held = s.exec(select(Delivery).where(Delivery.channel_id == ch.id,
                                                 Delivery.status == "held")
                          .order_by(Delivery.alert_id)).all()
            if not held or not digest_due(
                    now, held_since=min(d.created_at for d in held),
                    last_digest_at=ch.last_digest_at,
                    every=timedelta(seconds=ch.digest_every_s),
                    quiet_hours=ch.quiet_hours, timezone=ch.timezone):
                continue
            members = [d.alert_id for d in held]
            s.add(Delivery(alert_id=members[-1], channel_id=ch.id, kind="digest",
                           members=members, next_attempt_at=now, created_at=now))
            for d in held:
                d.status = "digested"
                s.add(d)
            ch.last_digest_at = now
            s.add(ch)
            made += 1
            log.info("digest of %d alerts queued for %s", len(members), ch.name)
    return made


# ---------------------------------------------------------------- sending


def _claim(engine: Engine, limit: int, ignore_backoff: bool, skip: set[int],
           now: datetime, lease: timedelta = LEASE) -> list[int]:
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
            d.status, d.claimed_until = "sending", now + lease
            d.attempts += 1
            s.add(d)
        return [d.id for d in rows]


@dataclass(frozen=True)
class Outbox:
    """What sending needs besides the database: playbooks, templates, links, limits."""

    playbooks: Sequence[Playbook]
    templates_dir: str | None = None
    console_url: str | None = None
    max_attempts: int = MAX_ATTEMPTS
    category_labels: Mapping[str, str] = field(default_factory=dict)  # key -> "safety incident"
    lease: timedelta = LEASE  # a dispatcher's hold on a delivery it claimed (alerts.lease)


def compose(s: Session, d: Delivery, channel: Channel, box: Outbox) -> Message:
    """The message of one delivery in its channel's format."""
    alert = s.get(Alert, d.alert_id)
    folder = box.templates_dir
    if d.kind == "digest":
        alerts = [s.get(Alert, i) for i in d.members]
        views = [alert_view(s, a, box.console_url, box.category_labels)
                 for a in alerts if a is not None]
        out: Rendered = render_digest(views, channel.format, folder)
        severity = max((a.severity for a in alerts if a), key=rank, default="notice")
        return Message(channel.url, out.title, out.body, severity, channel.format,
                       tuple(channel.tags), channel.managed_by == "console")
    if alert.incident_id is None:  # a system alert (a silent source): stored rendered
        return Message(channel.url, alert.title or "", alert.body or "", alert.severity,
                       "plain", tuple(channel.tags), channel.managed_by == "console")
    view = alert_view(s, alert, box.console_url, box.category_labels)
    out = render_alert(view, playbook_for(box.playbooks, alert.playbook), channel.format, folder)
    title, body = out.title, out.body
    if d.kind == "escalation":
        title = f"[ESCALATED tier {channel.tier}] {title}"
        body = (f"Not acknowledged by {alert.respond_by:%Y-%m-%d %H:%M} UTC, the playbook's "
                f"response time; escalated to tier {channel.tier}.\n\n{body}")
    return Message(channel.url, title, body, alert.severity, channel.format, tuple(channel.tags),
                   channel.managed_by == "console")


def _send_one(engine: Engine, delivery_id: int, send: Sender, box: Outbox,
              now: datetime) -> bool:
    with read_session(engine) as s:
        d = s.get(Delivery, delivery_id)
        channel = s.get(Channel, d.channel_id)
        message = compose(s, d, channel, box)
        key = s.get(Alert, d.alert_id).dedup_key
    result = send(message)
    with session(engine) as s, s.begin():
        d = s.get(Delivery, delivery_id)
        if result.ok:
            d.status, d.sent_at, d.last_error = "sent", now, None
            log.info("delivered %s (%s) to %s", key, d.kind, channel.name,
                     extra={"alert": key, "channel": channel.name, "delivery": d.id})
        else:
            _failed(d, result.error, box.max_attempts, now)
            log.warning("delivery of %s to %s failed (attempt %d, %s): %s", key, channel.name,
                        d.attempts, "dead-lettered" if d.status == "dead"
                        else f"retry after {d.next_attempt_at:%H:%M:%S}", result.error,
                        extra={"alert": key, "channel": channel.name, "delivery": d.id})
        d.claimed_until = None
        s.add(d)
    return result.ok


def _failed(d: Delivery, error: str | None, max_attempts: int, now: datetime) -> None:
    d.last_error = error
    if d.attempts >= max_attempts:
        d.status = "dead"
    else:
        d.status, d.next_attempt_at = "pending", now + backoff(d.attempts)


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    failed: int = 0


def dispatch(engine: Engine, box: Outbox, *, send: Sender = send_message,
             ignore_backoff: bool = False, batch: int = 20,
             now: datetime | None = None) -> DispatchReport:
    """Send every due delivery once; failures stay pending for a later attempt.
    ``now`` moves on with the pass: a claim made after a minute of slow sends must
    not date its lease from the pass's start (it would lapse early and another
    dispatcher would send the same deliveries)."""
    start, began = now or utcnow(), time.monotonic()
    sent = failed = 0
    attempted: set[int] = set()
    while ids := _claim(engine, batch, ignore_backoff, attempted,
                        now := start + timedelta(seconds=time.monotonic() - began), box.lease):
        for delivery_id in ids:
            attempted.add(delivery_id)
            if _send_one(engine, delivery_id, send, box, now):
                sent += 1
            else:
                failed += 1
    return DispatchReport(sent, failed)
