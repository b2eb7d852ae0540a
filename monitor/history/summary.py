"""What a run did, from the database: printed after ``run --once`` and the demo."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Engine, func
from sqlmodel import select

from db.engine import read_session
from db.models import Alert, Delivery, Mention, Post, Source
from monitor.history.health import source_health


@dataclass(frozen=True)
class Summary:
    posts: int
    mentions: int
    flagged: int
    alerts: dict[str, int]
    delivered: int
    pending: int  # pending or being sent: will be tried again
    unhealthy: list[tuple[str, str, str]]  # (source, state, reason): all that are not ok
    dead: int = 0  # dead-lettered after alerts.max_attempts: never retried by itself
    held: int = 0  # waiting for the next digest

    def lines(self) -> list[str]:
        by_sev = ", ".join(f"{k} {v}" for k, v in self.alerts.items()) or "none"
        out = [f"posts seen: {self.posts}", f"mentions: {self.mentions} "
               f"({self.flagged} flagged)", f"alerts: {by_sev}",
               f"deliveries: {self.delivered} sent, {self.pending} waiting to retry"
               + (f", {self.held} held for a digest" if self.held else "")
               + (f", {self.dead} failed for good (crisiswatch alerts failed)"
                  if self.dead else "")]
        out += [f"source {name} {'unhealthy' if state == 'failing' else state}: {why}"
                for name, state, why in self.unhealthy]
        return out


def summarize(engine: Engine) -> Summary:
    with read_session(engine) as s:
        count = lambda q: s.exec(q).one()  # noqa: E731
        alerts = Counter(s.exec(select(Alert.severity)).all())
        unhealthy = [(src.name, *source_health(src)) for src in s.exec(
            select(Source).where(Source.enabled == True).order_by(Source.name)).all()]  # noqa: E712
        unhealthy = [row for row in unhealthy if row[1] != "ok"]
        deliveries = dict(s.exec(select(Delivery.status, func.count())
                                 .group_by(Delivery.status)).all())
        return Summary(
            posts=count(select(func.count()).select_from(Post)),
            mentions=count(select(func.count()).select_from(Mention)),
            flagged=count(select(func.count()).select_from(Mention).where(Mention.flagged)),
            alerts={k: alerts[k] for k in ("notice", "warning", "crisis") if alerts[k]},
            delivered=deliveries.get("sent", 0),
            pending=deliveries.get("pending", 0) + deliveries.get("sending", 0),
            unhealthy=unhealthy,
            dead=deliveries.get("dead", 0),
            held=deliveries.get("held", 0),
        )
