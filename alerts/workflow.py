"""The PR team's side of an alert: list, acknowledge, resolve with the time of
the first public reply; and the outbox's dead letters: list and retry.

Acknowledging an alert acknowledges every earlier open alert of its incident
too (one incident, one owner) and stops escalation and reminders. Resolving
records the first public reply, from which the incident's trust score comes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from alerts.trust import trust_score
from db.engine import read_session, session
from db.messages import said
from db.models import Alert, Brand, Channel, Delivery, Incident, utcnow

STATUSES = ("open", "escalated", "acknowledged", "resolved")


class WorkflowError(ValueError):
    """The alert or delivery does not exist, or the request does not fit its state."""


@dataclass(frozen=True)
class AlertRow:
    id: int
    created_at: datetime
    severity: str
    brand: str
    incident_id: int
    status: str
    title: str
    respond_by: datetime | None
    acknowledged_by: str | None
    escalation_tier: int


def list_alerts(engine: Engine, *, status: str | None = None, brand: str | None = None,
                limit: int = 50) -> list[AlertRow]:
    """Newest first; ``status`` one of STATUSES, or None for all."""
    with read_session(engine) as s:
        query = select(Alert, Brand).join(Brand, Alert.brand_id == Brand.id)
        if status:
            query = query.where(Alert.status == status)
        if brand:
            query = query.where(Brand.name == brand)
        rows = s.exec(query.order_by(Alert.id.desc()).limit(limit)).all()
        return [AlertRow(a.id, a.created_at, a.severity, b.name, a.incident_id, a.status,
                         a.title or "", a.respond_by, a.acknowledged_by, a.escalation_tier)
                for a, b in rows]


def _alert(s, alert_id: int) -> Alert:  # noqa: ANN001 - Session
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise WorkflowError(said("no alert #%(id)s", id=alert_id))
    if alert.incident_id is None:
        raise WorkflowError(said("alert #%(id)s is a system alert (%(kind)s): it has no "
                                 "incident and clears by itself when its source posts again",
                                 id=alert_id, kind=alert.kind))
    return alert


def _survivor(s, incident: Incident) -> Incident | None:  # noqa: ANN001 - Session
    """The incident a merged one lives on in (following merges of merges), or None."""
    seen = {incident.id}
    while incident.merged_into is not None and incident.merged_into not in seen:
        incident = s.get(Incident, incident.merged_into)
        seen.add(incident.id)
    return None if len(seen) == 1 else incident


def _acknowledge_open(s, incident_id: int, up_to: int | None, by: str | None,  # noqa: ANN001
                      now: datetime) -> list[int]:
    query = select(Alert).where(Alert.incident_id == incident_id,
                                Alert.status.in_(("open", "escalated")))
    if up_to is not None:
        query = query.where(Alert.id <= up_to)
    done = []
    for a in s.exec(query).all():
        a.status, a.acknowledged_at, a.acknowledged_by = "acknowledged", now, by
        s.add(a)
        done.append(a.id)
    incident = s.get(Incident, incident_id)
    if incident.acknowledged_at is None:
        incident.acknowledged_at = now
        s.add(incident)
    return done


def acknowledge(engine: Engine, alert_id: int, by: str | None = None,
                now: datetime | None = None) -> list[int]:
    """Acknowledge an alert and the earlier open alerts of its incident; returns their ids.

    An alert of an incident since merged into another (a fragment of the matter)
    acknowledges the matter: the surviving incident and its open alerts too, so its
    reminders and escalation stop as they would for an alert of the survivor."""
    now = now or utcnow()
    with session(engine) as s, s.begin():
        alert = _alert(s, alert_id)
        if alert.status == "resolved":
            raise WorkflowError(said("alert #%(id)s is already resolved", id=alert_id))
        done = _acknowledge_open(s, alert.incident_id, alert.id, by, now)
        survivor = _survivor(s, s.get(Incident, alert.incident_id))
        if survivor is not None and survivor.resolved_at is None:
            done += _acknowledge_open(s, survivor.id, None, by, now)
        return sorted(done)


def resolve(engine: Engine, alert_id: int, reply_at: datetime,
            now: datetime | None = None) -> float | None:
    """Resolve the alert's incident (all its alerts) and record the first public reply;
    returns the incident's trust score, if a promised time is known."""
    now = now or utcnow()
    with session(engine) as s, s.begin():
        alert = _alert(s, alert_id)
        incident = s.get(Incident, alert.incident_id)
        if reply_at < incident.opened_at:
            raise WorkflowError(said(
                "the reply time %(reply)s UTC is before the incident opened (%(opened)s UTC)",
                reply=f"{reply_at:%Y-%m-%d %H:%M}", opened=f"{incident.opened_at:%Y-%m-%d %H:%M}"))
        for a in s.exec(select(Alert).where(Alert.incident_id == incident.id,
                                            Alert.status != "resolved")).all():
            a.status, a.resolved_at = "resolved", now
            a.acknowledged_at = a.acknowledged_at or now
            s.add(a)
        if incident.first_reply_at is None or reply_at < incident.first_reply_at:
            incident.first_reply_at = reply_at
        incident.acknowledged_at = incident.acknowledged_at or now
        incident.resolved_at = now
        s.add(incident)
        if not incident.reply_promised_s:
            return None
        reply_s = (incident.first_reply_at - incident.opened_at).total_seconds()
        return trust_score(reply_s, incident.reply_promised_s)


@dataclass(frozen=True)
class FailedRow:
    id: int
    alert_id: int
    kind: str
    channel: str
    attempts: int
    last_error: str | None
    created_at: datetime


def failed_deliveries(engine: Engine) -> list[FailedRow]:
    """Dead letters: deliveries that used up their attempts."""
    with read_session(engine) as s:
        rows = s.exec(select(Delivery, Channel).join(Channel, Delivery.channel_id == Channel.id)
                      .where(Delivery.status == "dead").order_by(Delivery.id)).all()
        return [FailedRow(d.id, d.alert_id, d.kind, c.name, d.attempts, d.last_error,
                          d.created_at) for d, c in rows]


def retry(engine: Engine, delivery_ids: list[int] | None = None,
          now: datetime | None = None) -> int:
    """Put dead letters (these, or all) back in the outbox with fresh attempts."""
    now = now or utcnow()
    with session(engine) as s, s.begin():
        query = select(Delivery).where(Delivery.status == "dead")
        if delivery_ids is not None:
            found = s.exec(select(Delivery).where(Delivery.id.in_(delivery_ids))).all()
            missing = set(delivery_ids) - {d.id for d in found if d.status == "dead"}
            if missing:
                raise WorkflowError(said("not dead-lettered deliveries: %(ids)s",
                                         ids=", ".join(f"#{i}" for i in sorted(missing))))
            query = query.where(Delivery.id.in_(delivery_ids))
        rows = s.exec(query).all()
        for d in rows:
            d.status, d.attempts, d.next_attempt_at, d.claimed_until = "pending", 0, now, None
            s.add(d)
        return len(rows)
