"""The PR team's triage board: one row per open incident, most severe and most urgent
first, titled by its matter rather than by the rule that fired.

An incident is on the board while it is neither resolved nor merged into another,
and once it has reached a severity (below notice nothing was alerted). Its deadline
is the earliest ``respond_by`` of its unresolved alerts: the playbook's response time
counted from the alert (alerts.outbox sets it when the alert is planned). The query
reads a bounded number of incidents and their alerts; the ordering, the title and
the countdown wording are pure functions, tested without a database."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, case, func
from sqlmodel import select

from db.engine import read_session
from db.models import SEVERITIES, Alert, Brand, Incident, Mention, Post, Source

BOARD_LIMIT = 200
TITLE_CHARS = 120
_REPLY_PREFIX = re.compile(r"^(?:(?:re|fw|fwd|回复|答复)\s*[:：]\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class AlertLink:
    id: int
    severity: str
    status: str


@dataclass(frozen=True)
class BoardRow:
    """What one board row shows; ``respond_by`` is None when no alert was planned yet."""

    id: int
    brand: str
    severity: str
    title: str
    sources: tuple[str, ...]
    mentions: int
    newest_post: datetime | None
    respond_by: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    alerts: tuple[AlertLink, ...] = field(default=())

    @property
    def crisis(self) -> bool:
        return self.severity == "crisis"


# ----------------------------------------------------------------- pure parts


def _clip(text: str, limit: int = TITLE_CHARS) -> str:
    """``text`` on one line, cut at a word boundary with an ellipsis when too long."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,.;:，。；：") + "…"


def matter_title(incident_title: str, posts: Iterable[tuple[str, str, float]] = ()) -> str:
    """A human title: the incident's own title (its first post's title or text, minus
    reply prefixes like "Re:"), else the most alarming post's title or first line.
    ``posts`` are (title, text, risk); "" when there is nothing to say."""
    own = _REPLY_PREFIX.sub("", " ".join((incident_title or "").split()))
    if own:
        return _clip(own)
    ranked = sorted(posts, key=lambda p: -p[2])
    for title, text, _risk in ranked:
        lines = [line for line in (text or "").splitlines() if line.strip()]
        chosen = _REPLY_PREFIX.sub("", (title or "").strip()) or (lines[0] if lines else "")
        if chosen.strip():
            return _clip(chosen)
    return ""


def severity_rank(severity: str | None) -> int:
    """crisis 2, warning 1, notice 0; anything else below."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def board_order(rows: Sequence[BoardRow]) -> list[BoardRow]:
    """Most severe first; within a severity the earliest deadline first (overdue ones
    lead), rows without a deadline after those with one, then the freshest post."""
    def key(r: BoardRow) -> tuple:
        newest = -r.newest_post.timestamp() if r.newest_post else 0.0
        deadline = r.respond_by.timestamp() if r.respond_by else 0.0
        return (-severity_rank(r.severity), r.respond_by is None, deadline, newest, r.id)

    return sorted(rows, key=key)


COUNTDOWN_EN = {"days": "{d} d {h} h", "hours": "{h} h {m} min",
                "minutes": "{m} min {s} s", "overdue": "overdue by {span}"}


def countdown_text(seconds_left: float, words: Mapping[str, str] = COUNTDOWN_EN) -> str:
    """The countdown's words (web/static/app.js says the same in the browser):
    "1 h 05 min", "12 min 30 s", or "overdue by 3 min 10 s"; ``words`` gives the
    phrases in the page's language (web/i18n.py)."""
    late = seconds_left < 0
    total = int(abs(seconds_left))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        span = words["days"].format(d=hours // 24, h=hours % 24)
    elif hours:
        span = words["hours"].format(h=hours, m=f"{minutes:02d}")
    else:
        span = words["minutes"].format(m=minutes, s=f"{secs:02d}")
    return words["overdue"].format(span=span) if late else span


def newest_post_time(max_published: datetime | None, max_seen: datetime) -> datetime:
    """When the newest post was made: its publication time, but never later than the
    latest time a post was seen (a feed's future-dated entry cannot be newer)."""
    return min(max_published, max_seen) if max_published else max_seen


# --------------------------------------------------------------------- query


def _open_incidents(s, limit: int) -> list[tuple[Incident, str]]:  # noqa: ANN001
    rank = case({sev: i for i, sev in enumerate(SEVERITIES)}, value=Incident.severity,
                else_=-1)
    return list(s.exec(select(Incident, Brand.name).join(Brand, Incident.brand_id == Brand.id)
                       .where(Incident.resolved_at.is_(None), Incident.merged_into.is_(None),
                              Incident.severity.in_(SEVERITIES))
                       .order_by(rank.desc(), Incident.last_seen_at.desc()).limit(limit)).all())


def _post_stats(s, ids: list[int]) -> dict[int, tuple[datetime, int]]:  # noqa: ANN001
    """(newest post's time, number of posts) per incident, in one grouped query."""
    rows = s.exec(select(Mention.incident_id, func.max(Post.published_at),
                         func.max(Post.fetched_at), func.count(Mention.id))
                  .join(Post, Mention.post_id == Post.id)
                  .where(Mention.incident_id.in_(ids)).group_by(Mention.incident_id)).all()
    return {i: (newest_post_time(pub, seen), n) for i, pub, seen, n in rows if seen}


def _fallback_titles(s, ids: list[int]) -> dict[int, str]:  # noqa: ANN001
    """Titles from posts, for the (rare) incidents stored without one."""
    if not ids:
        return {}
    found: dict[int, list[tuple[str, str, float]]] = {}
    for i, title, text, risk in s.exec(
            select(Mention.incident_id, Post.title, Post.text, Mention.risk)
            .join(Post, Mention.post_id == Post.id).where(Mention.incident_id.in_(ids))
            .order_by(Mention.risk.desc()).limit(50 * len(ids))).all():
        found.setdefault(i, []).append((title, text[:400], risk))
    return {i: matter_title("", posts) for i, posts in found.items()}


def _alerts(s, ids: list[int]) -> dict[int, list[Alert]]:  # noqa: ANN001
    found: dict[int, list[Alert]] = {}
    for a in s.exec(select(Alert).where(Alert.incident_id.in_(ids))
                    .order_by(Alert.id.desc())).all():
        found.setdefault(a.incident_id, []).append(a)
    return found


def _row(inc: Incident, brand: str, title: str, sources: dict[int, str],
         stats: tuple[datetime, int] | None, alerts: list[Alert]) -> BoardRow:
    newest, count = stats or (inc.last_seen_at, 0)
    waiting = [a.respond_by for a in alerts if a.status != "resolved" and a.respond_by]
    acked = [a for a in alerts if a.acknowledged_by]
    return BoardRow(
        id=inc.id, brand=brand, severity=inc.severity or "-", title=title,
        sources=tuple(sources[i] for i in inc.source_ids if i in sources),
        mentions=count, newest_post=newest,
        respond_by=min(waiting) if waiting else None,
        acknowledged_by=acked[0].acknowledged_by if acked else None,
        acknowledged_at=inc.acknowledged_at,
        alerts=tuple(AlertLink(a.id, a.severity, a.status) for a in alerts))


def triage_board(engine: Engine, limit: int = BOARD_LIMIT) -> list[BoardRow]:
    """The board's rows, in board order."""
    with read_session(engine) as s:
        found = _open_incidents(s, limit)
        ids = [inc.id for inc, _ in found]
        if not ids:
            return []
        wanted = {i for inc, _ in found for i in inc.source_ids}
        sources = dict(s.exec(select(Source.id, Source.name)
                              .where(Source.id.in_(wanted))).all()) if wanted else {}
        stats, alerts = _post_stats(s, ids), _alerts(s, ids)
        titles = {inc.id: matter_title(inc.title) for inc, _ in found}
        titles.update(_fallback_titles(s, [i for i, t in titles.items() if not t]))
    rows = [_row(inc, brand, titles.get(inc.id, ""), sources, stats.get(inc.id),
                 alerts.get(inc.id, [])) for inc, brand in found]
    return board_order(rows)
