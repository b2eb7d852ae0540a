"""Escalation: a warning or crisis nobody acknowledged within its playbook's
response time goes to the next tier of channels, once per tier.

Tier 1 is due at ``respond_by`` (created + response time), tier 2 one response
time later, and so on. Acknowledging or resolving the alert (or a later alert of
the same incident) stops it. Only the newest open alert of an incident
escalates, so a warning followed by a crisis escalates once, as the crisis."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from alerts.routing import rank, wants
from db.engine import session
from db.models import Alert, Brand, Channel, Delivery, utcnow
from db.queries import lock_stage

log = logging.getLogger("crisiswatch.alerts")
OPEN = ("open", "escalated")


def next_tier(current: int, tiers: list[int]) -> int | None:
    """The lowest configured tier above ``current``, if any."""
    higher = sorted(t for t in set(tiers) if t > current)
    return higher[0] if higher else None


def escalation_due(alert_created: datetime, respond_by: datetime, step: int) -> datetime:
    """When escalation number ``step`` (1, 2 ...) is due: each step one response time."""
    return alert_created + (respond_by - alert_created) * step


def _newest_open(alerts: list[Alert]) -> list[Alert]:
    newest: dict[int, Alert] = {}
    for a in alerts:
        if a.incident_id not in newest or a.id > newest[a.incident_id].id:
            newest[a.incident_id] = a
    return list(newest.values())


def escalate(engine: Engine, *, now: datetime | None = None) -> int:
    """Queue escalation deliveries that are due; returns how many were queued."""
    now = now or utcnow()
    queued = 0
    with session(engine) as s, s.begin():
        lock_stage(s, "escalate")
        channels = s.exec(select(Channel).where(Channel.enabled == True,  # noqa: E712
                                                Channel.tier > 0)).all()
        if not channels:
            return 0
        tiers = [c.tier for c in channels]
        candidates = s.exec(select(Alert).where(Alert.status.in_(OPEN),
                                                Alert.respond_by != None)).all()  # noqa: E711
        for alert in _newest_open(candidates):
            if rank(alert.severity) < rank("warning"):
                continue
            tier = next_tier(alert.escalation_tier, tiers)
            step = sorted(set(tiers)).index(tier) + 1 if tier is not None else 0
            if tier is None or now < escalation_due(alert.created_at, alert.respond_by, step):
                continue
            brand = s.get(Brand, alert.brand_id).name
            for ch in channels:
                if ch.tier == tier and wants(ch.min_severity, ch.brands, alert.severity, brand):
                    s.add(Delivery(alert_id=alert.id, channel_id=ch.id, kind="escalation",
                                   next_attempt_at=now, created_at=now))
                    queued += 1
            alert.escalation_tier, alert.escalated_at, alert.status = tier, now, "escalated"
            s.add(alert)
            log.warning("alert %s not acknowledged by %s: escalated to tier %d",
                        alert.dedup_key, alert.respond_by, tier,
                        extra={"alert": alert.dedup_key, "brand": brand,
                               "incident": alert.incident_id})
    return queued
