"""RSS/Atom/JSON-feed bodies to PostItems with feedparser (which never fetches here)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import feedparser

from crawlers.extractors.text import fingerprint, html_to_text, safe_link
from crawlers.items import PostItem

# feedparser flags these but still parses the document correctly
_SOFT_PROBLEMS = (type(None), feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


class MalformedFeed(ValueError):
    """The body is not a feed we can read; the message says why."""


def _when(entry: dict) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _replies(entry: dict) -> int | None:
    for key in ("slash_comments", "thr_total"):
        value = entry.get(key)
        if value is not None:
            try:
                return max(0, int(str(value).strip()))
            except ValueError:
                return None
    return None


def _body(entry: dict) -> str:
    contents = entry.get("content") or []
    html = contents[0].get("value", "") if contents else ""
    return html_to_text(html or entry.get("summary", ""))


def entry_to_item(entry: dict) -> PostItem | None:
    """One feedparser entry as a PostItem; None when it has no text at all."""
    title = html_to_text(entry.get("title", ""))
    text = _body(entry)
    if not title and not text:
        return None
    link = safe_link(entry.get("link"))
    fp = fingerprint(title, text)
    key = entry.get("id") or entry.get("guid") or link or fp
    return PostItem(
        entry_key=str(key)[:500],
        fingerprint=fp,
        title=title[:500],
        text=text,
        url=link,
        author=(html_to_text(entry.get("author", "")) or None),
        published_at=_when(entry),
        replies=_replies(entry),
    )


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> list[PostItem]:
    """Entries of a feed body; raise ``MalformedFeed`` when nothing readable is there.

    A slightly ill-formed feed that still yields entries is accepted: real feeds
    often are, and dropping their posts would lose mentions.
    """
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    items = [item for e in parsed.entries if (item := entry_to_item(e)) is not None]
    if items:
        return items
    if parsed.get("version") and isinstance(parsed.get("bozo_exception"), _SOFT_PROBLEMS):
        return []  # a real feed, only served with a missing or wrong content type
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        raise MalformedFeed(f"malformed feed: {type(problem).__name__}: {problem}"[:300])
    if not parsed.get("version"):
        raise MalformedFeed("not a feed: no RSS, Atom or JSON feed found in the body")
    return []
