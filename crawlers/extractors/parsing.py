"""Counters and dates as forums print them, turned into numbers and UTC datetimes.

Forum templates show "1.2k", "3 replies", "回复 45", "Dec  5, 2024 21:45",
"2024-1-5 12:30" or "3 小时前"; nothing here guesses beyond a fixed list of
shapes, so an unknown shape gives None rather than a wrong value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_COUNT = re.compile(
    r"(?<![\d.,])(\d{1,3}(?:[,\u00a0\u202f ]\d{3})+|\d+(?:\.\d+)?)\s*([km万千w](?![a-z])|)",
    re.IGNORECASE,
)
_SCALE = {"": 1, "k": 1_000, "千": 1_000, "m": 1_000_000, "w": 10_000, "万": 10_000}


def parse_count(text: str | None) -> int | None:
    """The first number in a counter label; None when the label has none.

    "1,234" and "1 234" are thousands, "1.2k"/"3.4M"/"1.2万" are scaled, so a
    listing's "12 comments" or "回复 45" reads as 12 or 45 and "—" as unknown.
    """
    if not text:
        return None
    m = _COUNT.search(text)
    if not m:
        return None
    digits, unit = m.group(1), m.group(2).lower()
    digits = re.sub(r"[,\u00a0\u202f ]", "", digits)
    try:
        return int(float(digits) * _SCALE[unit])
    except (ValueError, OverflowError):
        return None


_WEEKDAY = re.compile(r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
_MONTH = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?=\s|$|\d)",
                    re.IGNORECASE)
_ZONE_WORD = re.compile(r"\s*\b(?:utc|gmt)\b\s*$", re.IGNORECASE)
_FORMATS = (
    "%b %d %Y %I:%M %p", "%b %d %Y %I:%M:%S %p", "%b %d %Y %H:%M", "%b %d %Y %H:%M:%S",
    "%b %d %H:%M:%S %Y", "%b %d %Y",
    "%d %b %Y %I:%M %p", "%d %b %Y %H:%M", "%d %b %Y %H:%M:%S", "%d %b %Y",
    "%H:%M %b %d %Y", "%I:%M %p %b %d %Y",
    "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d",
    "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d",
    "%m-%d-%Y %I:%M %p", "%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%Y年%m月%d日 %H:%M", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日",
)


def _utc(value: datetime) -> datetime:
    """Naive times are taken as UTC: forums rarely say their zone, and guessing is worse."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _from_unix(s: str, now: datetime) -> datetime | None:
    if not re.fullmatch(r"\d{9,13}(?:\.\d+)?", s):
        return None
    seconds = float(s) / (1000 if len(s.split(".")[0]) > 11 else 1)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_iso(s: str, now: datetime) -> datetime | None:
    if not re.match(r"\d{4}-\d{2}-\d{2}", s):
        return None
    try:
        return _utc(datetime.fromisoformat(s.replace(" UTC", "Z").replace("z", "Z")))
    except ValueError:
        return None


def _from_rfc2822(s: str, now: datetime) -> datetime | None:
    if not re.search(r"\d{1,2}:\d{2}", s) or not re.match(r"[A-Za-z]{3},", s):
        return None
    try:
        return _utc(parsedate_to_datetime(s))
    except (TypeError, ValueError, IndexError):
        return None


def _normalise(s: str) -> str:
    """One spelling for the many: no weekday, commas, "at", dots in a.m. or long months."""
    s = _ZONE_WORD.sub("", s)
    s = _WEEKDAY.sub("", s)
    s = _MONTH.sub(lambda m: m.group(1).capitalize(), s)
    s = re.sub(r"\b([ap])\.m\.?", r"\1m", s, flags=re.IGNORECASE)
    s = re.sub(r",|\bat\b|@", " ", s)
    s = re.sub(r"(\d)([ap]m)\b", r"\1 \2", s, flags=re.IGNORECASE)
    return " ".join(s.split())


def _from_formats(s: str, now: datetime) -> datetime | None:
    s = _normalise(s)
    for fmt in _FORMATS:
        try:
            return _utc(datetime.strptime(s, fmt))
        except ValueError:
            continue
    return None


_DAY_WORD = re.compile(
    r"(今天|昨天|前天|today|yesterday)[\s,]*(?:at\s+)?(?:(\d{1,2}):(\d{2})\s*([ap])?\.?m?\.?)?",
    re.IGNORECASE,
)
_DAYS_BACK = {"今天": 0, "today": 0, "昨天": 1, "yesterday": 1, "前天": 2}


def _from_day_word(s: str, now: datetime) -> datetime | None:
    """"昨天 12:30" / "Yesterday, 12:30 PM": a clock time on a day counted back from now."""
    m = _DAY_WORD.search(s)
    if not m:
        return None
    day = now - timedelta(days=_DAYS_BACK[m.group(1).lower()])
    if m.group(2) is None:
        return day
    hour, minute = int(m.group(2)), int(m.group(3))
    if m.group(4):
        hour = hour % 12 + (12 if m.group(4).lower() == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


_UNIT = {
    "second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600,
    "day": 86400, "week": 604800, "month": 2592000, "year": 31536000,
    "秒": 1, "分钟": 60, "分": 60, "小时": 3600, "个小时": 3600, "天": 86400, "日": 86400,
    "周": 604800, "星期": 604800, "个星期": 604800, "个月": 2592000, "月": 2592000,
    "年": 31536000,
}
_AGO_EN = re.compile(r"\b(\d+|an?|one)\s*(second|sec|minute|min|hour|hr|day|week|month|year)s?"
                     r"\s+ago\b", re.IGNORECASE)
_AGO_ZH = re.compile(r"(\d+|半|一|两)\s*"
                     r"(秒|分钟|分|个小时|小时|天|日|个星期|星期|周|个月|月|年)\s*前")
_NOW_WORDS = re.compile(r"^(?:just now|moments? ago|now|刚刚|刚才)$", re.IGNORECASE)
_AMOUNT = {"a": 1, "an": 1, "one": 1, "一": 1, "两": 2, "半": 0.5}


def _from_relative(s: str, now: datetime) -> datetime | None:
    """"5 hours ago", "3 小时前", "just now": now minus the amount (months are 30 days)."""
    if _NOW_WORDS.match(s):
        return now
    m = _AGO_EN.search(s) or _AGO_ZH.search(s)
    if not m:
        return None
    amount = m.group(1).lower()
    count = float(amount) if amount.isdigit() else _AMOUNT[amount]
    try:
        return now - timedelta(seconds=count * _UNIT[m.group(2).lower()])
    except OverflowError:
        return None


_EMBEDDED = (
    re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
    re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"),
    re.compile(r"\d{4}年\d{1,2}月\d{1,2}日(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"),
    re.compile(r"(?:\d{1,2}:\d{2}\s*(?:[ap]m)?\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov"
               r"|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}(?:,?\s+(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?"
               r"(?:\s*[ap]\.?m\.?)?)?", re.IGNORECASE),
)


def _from_embedded(s: str, now: datetime) -> datetime | None:
    """A known date shape inside other words: "发表于 2024-1-5 12:30", "by bob » Wed Jan 05..."."""
    for pattern in _EMBEDDED:
        m = pattern.search(s)
        if m:
            found = _from_iso(m.group(0), now) or _from_formats(m.group(0), now)
            if found:
                return found
    return None


_PARSERS = (_from_unix, _from_iso, _from_rfc2822, _from_formats, _from_embedded,
            _from_day_word, _from_relative)


def parse_time(text: str | None, now: datetime | None = None) -> datetime | None:
    """A forum's date label as an aware UTC datetime, or None when it has no date we know.

    Relative labels ("3 days ago", "昨天 12:30") count back from ``now`` (default:
    the current time), in ``now``'s zone, since the site's own zone is unknown.
    """
    if not text:
        return None
    s = " ".join(text.replace("\u00a0", " ").split())
    if not s:
        return None
    now = _utc(now) if now is not None else datetime.now(UTC)
    for parser in _PARSERS:
        found = parser(s, now)
        if found is not None:
            return found
    return None
