"""Times as the console shows them: relative ("20 min ago") in the page's language,
with the absolute time in the console's zone (``console.timezone``) on hover.

One helper for every page: ``time_element`` renders a ``<time>`` whose
``datetime`` is the UTC instant (for scripts and tests), whose ``title`` is the
local time with the zone's abbreviation and offset, and whose text is relative to
the moment the page was rendered. Timestamps are stored in UTC; naive values
(SQLite hands some back) and ISO strings (monitor's dicts) are taken as UTC.
Pure functions: the page's ``Clock`` carries the zone, language and "now"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from db.models import utcnow

RELATIVE_DAYS = 30  # older than this: the local date, not "45 d ago"
_UNITS = {"en": ("min", "h", "d"), "zh": ("分钟", "小时", "天")}


@dataclass(frozen=True)
class Clock:
    """What a page's times are relative to and shown in."""

    zone: tzinfo = UTC
    lang: str = "en"
    now: datetime = field(default_factory=utcnow)


def zone_of(name: str | None) -> tzinfo:
    """The zone named (already validated by the config), UTC for None."""
    return ZoneInfo(name) if name else UTC


def as_utc(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime, or None for a missing or unreadable value."""
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def absolute(at: datetime, zone: tzinfo) -> str:
    """``2026-05-01 14:20 CST (UTC+08:00)``; ``... 06:20 UTC`` in UTC itself."""
    local = at.astimezone(zone)
    offset = local.strftime("%z")
    shown = f"UTC{offset[:3]}:{offset[3:]}"
    name = local.tzname() or shown
    if shown == "UTC+00:00" and name in ("UTC", "GMT"):
        return f"{local:%Y-%m-%d %H:%M} UTC"
    if name.startswith(("+", "-")):  # zones without an abbreviation: "+08"
        return f"{local:%Y-%m-%d %H:%M} ({shown})"
    return f"{local:%Y-%m-%d %H:%M} {name} ({shown})"


def relative(at: datetime, now: datetime, lang: str = "en", zone: tzinfo = UTC) -> str:
    """"20 min ago", "3 h ago", "2 d ago", "in 20 min" (Chinese: "20 分钟前", "20 分钟后");
    "just now" under a minute; past ``RELATIVE_DAYS`` the local date."""
    seconds = (now - at).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    zh = lang == "zh"
    if seconds < 60:
        return "刚刚" if zh else "just now"
    if seconds >= RELATIVE_DAYS * 86400:
        return f"{at.astimezone(zone):%Y-%m-%d}"
    minute, hour, day = _UNITS["zh" if zh else "en"]
    if seconds < 3600:
        amount, unit = int(seconds // 60), minute
    elif seconds < 86400:
        amount, unit = int(seconds // 3600), hour
    else:
        amount, unit = int(seconds // 86400), day
    if zh:
        return f"{amount} {unit}{'后' if future else '前'}"
    return f"in {amount} {unit}" if future else f"{amount} {unit} ago"


def time_element(value: datetime | str | None, clock: Clock) -> Markup:
    """``<time datetime="...Z" title="local time">relative</time>``, or "-" for no time."""
    at = as_utc(value)
    if at is None:
        return Markup(escape(value)) if value else Markup("-")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        at.strftime("%Y-%m-%dT%H:%M:%SZ"), absolute(at, clock.zone),
        relative(at, clock.now, clock.lang, clock.zone))


def local_text(value: datetime | str | None, clock: Clock, fmt: str = "%m-%d %H:%M") -> str:
    """The local time as plain text, for places that take no markup (SVG labels)."""
    at = as_utc(value)
    return at.astimezone(clock.zone).strftime(fmt) if at else "-"


# ---------------------------------------------------------------- typed times
# Date and time inputs are read and filled in the console's zone, as everything on
# the page is shown in it; the database and the API stay in UTC.


def local_instant(raw: str, zone: tzinfo) -> datetime | None:
    """A typed date-time (``2026-05-01T14:20``, as ``datetime-local`` sends it) read in
    ``zone``, as UTC; an explicit offset wins; None when it is not a date-time."""
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(UTC)


def input_value(at: datetime, zone: tzinfo) -> str:
    """``at`` as a ``datetime-local`` input's value in ``zone``."""
    return f"{as_utc(at).astimezone(zone):%Y-%m-%dT%H:%M}"


def local_day_bound(raw: str, zone: tzinfo, *, end: bool = False) -> str:
    """A filter's bare date (``2026-05-01``) as the UTC instant its local day starts
    (``end``: the next local day starts, the bound being exclusive), in ISO form;
    anything else (a date-time with a zone, a typo) is left for the filter to judge."""
    raw = raw.strip()
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return raw
    if end:
        day += timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return start.astimezone(UTC).isoformat()
