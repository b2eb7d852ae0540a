"""The dashboard: what needs attention now. Open incidents by severity, mentions and
their negative share per brand (24 h and 7 days) with a sparkline of flagged
mentions per hour over the last 24 h, and sources in trouble.

A mention counts as negative when its sentiment (the probability the post is
positive) is below 0.5. A source is in trouble when its last fetch failed, when
it has not succeeded for three of its polling intervals (a source can fail
silently: an empty page, a changed layout), when the server asked it to wait
(throttled), or when its last fetch worked only in part (a malformed feed whose
items were stored, bytes replaced, GUIDs shared: its health note says which).
The most serious come first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, case, func
from sqlmodel import select

from db.engine import read_session
from db.models import SEVERITIES, Brand, Incident, Mention, Post, Source, utcnow
from monitor.history.health import source_health
from web.auth import Reader, engine_of
from web.i18n import plural, t
from web.pages import page_lang, render
from web.sparkline import HOURS, first_hour, per_hour, sparkline

router = APIRouter(include_in_schema=False)
NEGATIVE_BELOW = 0.5
STALE_INTERVALS = 3
# most serious first: no posts at all, then none lately, then late, then some odd
TROUBLE = ("failing", "stale", "throttled", "partial")


@dataclass(frozen=True)
class BrandVolume:
    brand: str
    mentions: int
    negative: int

    @property
    def negative_share(self) -> float:
        return self.negative / self.mentions if self.mentions else 0.0


def open_incidents(engine: Engine, limit: int = 10) -> tuple[dict[str, int], list[dict]]:
    """Counts of unresolved incidents per severity, and the most severe, newest first."""
    with read_session(engine) as s:
        counts = dict(s.exec(select(Incident.severity, func.count())
                             .where(Incident.resolved_at.is_(None))
                             .group_by(Incident.severity)).all())
        rank = case({sev: i for i, sev in enumerate(SEVERITIES)}, value=Incident.severity,
                    else_=-1)
        rows = s.exec(select(Incident, Brand).join(Brand, Incident.brand_id == Brand.id)
                      .where(Incident.resolved_at.is_(None))
                      .order_by(rank.desc(), Incident.last_seen_at.desc()).limit(limit)).all()
    by_severity = {sev: counts.get(sev, 0) for sev in reversed(SEVERITIES)}
    top = [{"id": i.id, "brand": b.name, "severity": i.severity or "-", "title": i.title,
            "mentions": i.mention_count, "last_seen": i.last_seen_at} for i, b in rows]
    return by_severity, top


def brand_volumes(engine: Engine, since: datetime) -> list[BrandVolume]:
    """Mentions per brand of posts fetched since ``since``, and how many were negative."""
    negative = func.sum(case((Mention.sentiment < NEGATIVE_BELOW, 1), else_=0))
    with read_session(engine) as s:
        rows = s.exec(select(Brand.name, func.count(Mention.id), negative)
                      .join(Mention, Mention.brand_id == Brand.id)
                      .join(Post, Mention.post_id == Post.id)
                      .where(Post.fetched_at >= since)
                      .group_by(Brand.name).order_by(Brand.name)).all()
    return [BrandVolume(name, count, int(neg or 0)) for name, count, neg in rows]


def _hour(dialect: str):  # noqa: ANN202 - a SQL expression
    """The UTC hour of a post's fetch, in the database's own terms."""
    if dialect == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", Post.fetched_at))
    return func.strftime("%Y-%m-%d %H:00:00", Post.fetched_at)


def flagged_per_hour(engine: Engine, now: datetime) -> dict[str, list[int]]:
    """Flagged mentions per brand and hour over the last HOURS hours (web/sparkline.py),
    in one grouped query for the whole dashboard, not one per brand or hour."""
    hour, since = _hour(engine.dialect.name), first_hour(now)
    # the day's posts by the fetch-time index, then their mentions by post, flagged
    # ones counted (not filtered: a WHERE on ``flagged`` sent SQLite through every
    # flagged mention of the year, 1.2 s at a million posts)
    recent = select(Post.id).where(Post.fetched_at >= since)
    flagged = func.sum(case((Mention.flagged == True, 1), else_=0))  # noqa: E712
    with read_session(engine) as s:
        rows = s.exec(select(Brand.name, hour, flagged)
                      .join(Mention, Mention.brand_id == Brand.id)
                      .join(Post, Mention.post_id == Post.id)
                      .where(Post.fetched_at >= since, Mention.post_id.in_(recent))
                      .group_by(Brand.name, hour)).all()
    return per_hour(((b, _as_time(h), n) for b, h, n in rows), now)


def _as_time(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _stale(source: Source, now: datetime, lang: str = "en") -> str | None:
    """Why a source that did not fail looks stuck, or None."""
    stale = now - timedelta(seconds=STALE_INTERVALS * source.interval_s)
    if source.last_success_at is None:
        if source.last_fetch_at is not None and source.last_fetch_at < stale:
            return t(lang, "never fetched successfully")
        return None
    if source.last_success_at < stale:
        return t(lang, "no success in %(n)s intervals", n=STALE_INTERVALS)
    return None


def in_trouble(source: Source, now: datetime, lang: str = "en") -> tuple[str, str] | None:
    """(state, why) when a source needs a look, or None when it is fine. The state
    is one of TROUBLE; the health note itself is shown beside it. ``why`` is in the
    page's ``lang``."""
    state, _reason = source_health(source)
    if state == "disabled":
        return None
    n = source.consecutive_errors
    failed = plural(lang, "%(n)s failed fetch in a row", "%(n)s failed fetches in a row",
                    n) % {"n": n}
    if state == "throttled":
        return state, t(lang, "the server asked to wait (HTTP %(status)s); %(failed)s",
                        status=source.last_status, failed=failed)
    if state == "failing" or n > 0:
        return "failing", failed if n else (source.last_error or "")
    stale = _stale(source, now, lang)
    if stale:
        return "stale", stale
    if state == "partial":
        return state, t(lang, "the last fetch worked only in part (see its note)")
    return None


def troubled_sources(engine: Engine, now: datetime,
                     lang: str = "en") -> list[tuple[Source, str, str]]:
    """(source, state, why) of every source in trouble, most serious first."""
    with read_session(engine) as s:
        sources = s.exec(select(Source).order_by(Source.name)).all()
    found = [(src, *trouble) for src in sources if (trouble := in_trouble(src, now, lang))]
    return sorted(found, key=lambda row: TROUBLE.index(row[1]))


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, user: Reader) -> HTMLResponse:
    engine, now = engine_of(request), utcnow()
    by_severity, top = open_incidents(engine)
    day = {v.brand: v for v in brand_volumes(engine, now - timedelta(hours=24))}
    week = brand_volumes(engine, now - timedelta(days=7))
    hourly = flagged_per_hour(engine, now)
    volumes = [(v.brand, day.get(v.brand), v, sparkline(hourly.get(v.brand, [0] * HOURS)))
               for v in week]
    return render(request, "dashboard.html", by_severity=by_severity, top=top,
                  volumes=volumes, troubled=troubled_sources(engine, now, page_lang(request)))
