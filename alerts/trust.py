"""Response-time trust (seed 001): a complainant's trust depends on whether the
company answers within the time it promised.

    trust = (1 - reply_time / promised_reply_time) x 100

100 is an instant reply, 0 a reply exactly at the promised time, below 0 a late
one (the seed's formula is kept as it is, so lateness shows how late). Reply time
runs from the incident opening (the first risky mention was seen) to the first
public reply; the promise is the incident's playbook response time."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from alerts.routing import rank
from db.engine import read_session
from db.models import Brand, Incident


def trust_score(reply_seconds: float, promised_seconds: float) -> float:
    """Seed 001's trust score, rounded to one decimal."""
    if promised_seconds <= 0:
        raise ValueError("the promised reply time must be more than 0")
    if reply_seconds < 0:
        raise ValueError("the reply cannot come before the incident opened")
    return round((1.0 - reply_seconds / promised_seconds) * 100.0, 1)


@dataclass(frozen=True)
class Case:
    """One incident as the report sees it."""

    brand: str
    opened_at: datetime
    severity: str | None
    reply_seconds: float | None
    promised_seconds: float | None


@dataclass(frozen=True)
class ReportRow:
    brand: str
    month: str  # YYYY-MM of opening
    incidents: int
    replied: int
    on_time: int
    median_reply_h: float | None
    mean_trust: float | None


def summarise(cases: Iterable[Case]) -> list[ReportRow]:
    """Per brand and month: how many incidents, how many got a public reply, how many
    within the promise, the median reply time and the mean trust score."""
    groups: dict[tuple[str, str], list[Case]] = {}
    for c in cases:
        groups.setdefault((c.brand, f"{c.opened_at:%Y-%m}"), []).append(c)
    rows = []
    for (brand, month), group in sorted(groups.items()):
        replied = [c for c in group if c.reply_seconds is not None]
        scored = [trust_score(c.reply_seconds, c.promised_seconds) for c in replied
                  if c.promised_seconds]
        rows.append(ReportRow(
            brand, month, len(group), len(replied),
            sum(1 for c in replied if c.promised_seconds
                and c.reply_seconds <= c.promised_seconds),
            round(statistics.median(c.reply_seconds for c in replied) / 3600, 2)
            if replied else None,
            round(statistics.fmean(scored), 1) if scored else None))
    return rows


def load_cases(engine: Engine, *, brand: str | None = None, since: datetime | None = None,
               min_severity: str = "warning") -> list[Case]:
    """Incidents that reached ``min_severity`` (the ones the team is asked to answer)."""
    with read_session(engine) as s:
        query = select(Incident, Brand).join(Brand, Incident.brand_id == Brand.id)
        if brand:
            query = query.where(Brand.name == brand)
        if since:
            query = query.where(Incident.opened_at >= since)
        cases = []
        for inc, b in s.exec(query.order_by(Incident.opened_at)).all():
            if inc.severity is None or rank(inc.severity) < rank(min_severity):
                continue
            reply = ((inc.first_reply_at - inc.opened_at).total_seconds()
                     if inc.first_reply_at else None)
            cases.append(Case(b.name, inc.opened_at, inc.severity, reply,
                              inc.reply_promised_s))
        return cases
