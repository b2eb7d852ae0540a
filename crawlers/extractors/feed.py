"""RSS/Atom/JSON-feed bodies to PostItems with feedparser (which never fetches here)."""

from __future__ import annotations

import calendar
import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import feedparser

from crawlers.extractors.feeddecode import decode_feed
from crawlers.extractors.text import fingerprint, html_to_text, safe_link
from crawlers.items import PostItem

log = logging.getLogger("crisiswatch.crawl")

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
    # comments_count: RSSHub's <stats><comments_count> (Weibo routes fill it)
    for key in ("slash_comments", "thr_total", "comments_count"):
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


@dataclass
class FeedRead:
    """A feed's posts, and what was odd about it (goes on the source's health)."""

    items: list[PostItem]
    notes: list[str] = field(default_factory=list)


def split_shared_keys(items: list[PostItem], url: str = "") -> tuple[list[PostItem], list[str]]:
    """Give entries that share a GUID but differ in link or content keys of their
    own (GUID + a hash of link and content), so none is dropped as a duplicate;
    the key depends on the entry alone, so it is the same on every fetch."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[item.entry_key].append(i)
    out, notes = list(items), []
    for key, where in groups.items():
        if len({(items[i].url, items[i].fingerprint) for i in where}) < 2:
            continue
        for i in where:
            digest = hashlib.sha1(f"{items[i].url}\n{items[i].fingerprint}".encode()).hexdigest()
            out[i] = replace(items[i], entry_key=f"{key[:480]}#{digest[:16]}")
        notes.append(f"{len(where)} different entries share the GUID {key[:80]!r}; kept apart")
        log.warning("feed %s: %d different entries share the GUID %r; each is kept",
                    url, len(where), key[:200])
    return out, notes


def read_feed(body: bytes, *, url: str, content_type: str | None = None) -> FeedRead:
    """Entries of a feed body and notes on it; raise ``MalformedFeed`` when nothing
    readable is there.

    A slightly ill-formed feed that still yields entries is accepted: real feeds
    often are, and dropping their posts would lose mentions. A few bytes that are
    not UTF-8 in a UTF-8 feed are replaced, not allowed to re-decode it all.
    """
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    decoded = decode_feed(body, content_type)
    parsed = feedparser.parse(decoded.body, response_headers=headers, sanitize_html=True)
    items = [item for e in parsed.entries if (item := entry_to_item(e)) is not None]
    notes = [f"{decoded.replaced} byte(s) that are not UTF-8 replaced"] if decoded.replaced else []
    if items:
        problem = parsed.get("bozo_exception")
        if parsed.get("bozo") and not isinstance(problem, _SOFT_PROBLEMS):
            notes.append(f"malformed feed, {len(items)} of {len(parsed.entries)} entries read: "
                         f"{type(problem).__name__}: {problem}"[:300])
        items, shared = split_shared_keys(items, url)
        return FeedRead(items, notes + shared)
    return FeedRead(_no_items(parsed), notes)


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> list[PostItem]:
    """Entries of a feed body (``read_feed`` without the notes)."""
    return read_feed(body, url=url, content_type=content_type).items


def _no_items(parsed: dict) -> list[PostItem]:
    """[] for a real feed without entries; ``MalformedFeed`` for anything else."""
    if parsed.get("version") and isinstance(parsed.get("bozo_exception"), _SOFT_PROBLEMS):
        return []  # a real feed, only served with a missing or wrong content type
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        raise MalformedFeed(f"malformed feed: {type(problem).__name__}: {problem}"[:300])
    if not parsed.get("version"):
        raise MalformedFeed("not a feed: no RSS, Atom or JSON feed found in the body")
    return []
