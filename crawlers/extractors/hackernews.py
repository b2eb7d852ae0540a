"""Hacker News through its two public JSON APIs: pure functions, they never fetch.

* Algolia's HN Search API (hn.algolia.com/api): ``/search_by_date?query=..&tags=
  (story,comment)&numericFilters=created_at_i>=N`` answers ``hits[]`` newest
  first, with ``nbPages``/``page``. A hit is a story (``title``, ``url``,
  ``story_text``, ``points``, ``num_comments``) or a comment (``comment_text``,
  ``story_id``, ``story_title``); both carry ``objectID``, ``author``,
  ``created_at`` and ``created_at_i``.
* The official item API (github.com/HackerNews/API): ``/v0/item/<id>.json`` has a
  story's ``score`` (points) and ``descendants`` (comments in all).

A source keeps a cursor, ``"<created_at_i>:<objectID>"`` of the newest hit stored:
a poll asks for hits at or after that second and keeps only those after the cursor
in (time, id) order, so two items of one second are neither lost nor repeated.
Every story and comment goes in the thread of its story (key: the story id), so a
flagged mention makes that story "hot" and its growth is read from the item API.
Everything in a body is data from the web: HTML becomes text, names lose control
characters, and links are built from ids, never taken from the body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from crawlers.extractors.discourse import _clean, _dict, _int, _list
from crawlers.extractors.text import fingerprint, html_to_text
from crawlers.items import PostItem, ThreadRef
from db.messages import said

SEARCH_API = "https://hn.algolia.com/api/v1"
ITEMS_API = "https://hacker-news.firebaseio.com/v0"
ITEM_PAGE = "https://news.ycombinator.com/item?id="
TAGS = ("story", "comment")
HITS_PER_PAGE = 100
MAX_PAGES = 5  # per term and poll: Algolia pages no further than its first 1,000 hits
_MAX_NAME, _MAX_TITLE = 100, 500

# HN's HTML opens paragraphs with a bare <p> (never closed): each starts a line
_PARAGRAPH = re.compile(r"(?i)<p\b")

Cursor = tuple[int, int]  # (created_at_i, objectID)


@dataclass(frozen=True)
class Options:
    """A ``hackernews`` source's settings, as stored in ``Source.rules``."""

    query: tuple[str, ...] = ()  # empty: the enabled brands' keywords
    items_url: str = ITEMS_API
    tags: tuple[str, ...] = TAGS


def options_of(rules: dict | None) -> Options:
    """The options a source row holds; missing ones take their defaults."""
    rules = rules or {}
    return Options(query=tuple(rules.get("query") or ()),
                   items_url=str(rules.get("items_url") or ITEMS_API),
                   tags=tuple(rules.get("tags") or TAGS))


def check_query(terms: list[str]) -> list[str]:
    """Search terms, each a non-empty phrase; ValueError names the bad one."""
    seen: list[str] = []
    for term in terms:
        cleaned = " ".join(term.split())
        if not cleaned:
            raise ValueError(said("query: must not contain empty strings"))
        if len(cleaned) > 200:
            raise ValueError(said("query: %(start)r... is longer than 200 characters",
                                  start=term[:40]))
        if cleaned.casefold() not in (s.casefold() for s in seen):
            seen.append(cleaned)
    return seen


def with_default_url(data: object) -> object:
    """A source entry of kind ``hackernews`` without ``url`` gets Algolia's API."""
    if isinstance(data, dict) and data.get("kind") == "hackernews" and "url" not in data:
        return {**data, "url": SEARCH_API}
    return data


def check_options(kind: str, query: list[str] | None, items_url: str | None) -> None:
    """A source entry's Hacker News options; ValueError("field: why") when wrong."""
    if kind != "hackernews":
        if query is not None or items_url is not None:
            field = "query" if query is not None else "items_url"
            raise ValueError(said("%(field)s: is for kind hackernews, not %(kind)s",
                                  field=field, kind=kind))
        return
    if query is not None:
        if not query:
            raise ValueError(said("query: list at least one term, or leave query out to "
                                  "search for the brands' keywords"))
        check_query(query)
    if items_url is not None:
        parts = urlsplit(items_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(said("items_url: %(value)r is not an http(s) URL with a host",
                                  value=items_url))


def terms_for(options: Options, keywords: list[str]) -> list[str]:
    """What to search for: the source's own query, else the brands' keywords."""
    return check_query(list(options.query) or [k for k in keywords if k.strip()])


# --- cursor ----------------------------------------------------------------------

def parse_cursor(value: str | None) -> Cursor | None:
    """``"1700000000:38291234"`` as a tuple; None for no or an unreadable cursor."""
    if not value or ":" not in value:
        return None
    when, _, ident = value.partition(":")
    if not (when.isdecimal() and ident.isdecimal()):
        return None
    return int(when), int(ident)


def format_cursor(cursor: Cursor | None) -> str | None:
    return f"{cursor[0]}:{cursor[1]}" if cursor else None


# --- URLs ------------------------------------------------------------------------

def search_url(base: str, term: str, tags: tuple[str, ...], cursor: Cursor | None,
               page: int = 0) -> str:
    """One page of ``term``'s hits, newest first, none older than the cursor's second."""
    params = {"query": term, "tags": f"({','.join(tags)})", "hitsPerPage": HITS_PER_PAGE}
    if cursor is not None:
        params["numericFilters"] = f"created_at_i>={cursor[0]}"
    if page:
        params["page"] = page
    return f"{base.strip().rstrip('/')}/search_by_date?{urlencode(params)}"


def item_url(base: str, item_id: str | int) -> str:
    return f"{base.strip().rstrip('/')}/item/{int(item_id)}.json"


def item_page(item_id: int) -> str:
    return f"{ITEM_PAGE}{int(item_id)}"


# --- search hits -----------------------------------------------------------------

@dataclass
class SearchPage:
    """What one page of search hits holds after the cursor."""

    posts: list[PostItem] = field(default_factory=list)
    threads: list[ThreadRef] = field(default_factory=list)
    newest: Cursor | None = None  # the greatest (time, id) among the new hits
    more: bool = False  # a next page holds hits after the cursor too
    total: int | None = None  # nbHits: every hit the query matched


def parse_json(body: bytes) -> dict:
    """The response as a dict; ValueError when it is no JSON object."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"not JSON: {exc}"[:200]) from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _when(seconds: int | None) -> datetime | None:
    if seconds is None or not 0 <= seconds < 2**33:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _hit(hit: dict) -> tuple[Cursor, PostItem, ThreadRef] | None:
    """One hit as a post in its story's thread; None for junk or an empty one."""
    ident, when = _int(hit.get("objectID")), _int(hit.get("created_at_i"))
    if ident is None or when is None or ident <= 0:
        return None
    tags = [t for t in _list(hit.get("_tags")) if isinstance(t, str)]
    is_comment = "comment" in tags or hit.get("comment_text") is not None
    story = _int(hit.get("story_id")) if is_comment else ident
    story = story if story and story > 0 else ident
    raw = hit.get("comment_text") if is_comment else hit.get("story_text")
    text = html_to_text(_PARAGRAPH.sub("\n<p", raw)) if isinstance(raw, str) else ""
    story_title = _clean(hit.get("story_title") if is_comment else hit.get("title"),
                         _MAX_TITLE)
    title = f"Re: {story_title}" if is_comment and story_title else story_title
    if not text and not title:
        return None
    author = _clean(hit.get("author"), _MAX_NAME) or None
    points, comments = _int(hit.get("points")), _int(hit.get("num_comments"))
    post = PostItem(entry_key=f"hn:{ident}", fingerprint=fingerprint(title, text),
                    title=title, text=text or title, url=item_page(ident), author=author,
                    published_at=_when(when), thread_key=str(story),
                    replies=None if is_comment else comments,
                    likes=None if is_comment else points)
    ref = ThreadRef(key=str(story), url=item_page(story), title=story_title,
                    replies=None if is_comment else comments,
                    likes=None if is_comment else points)
    return (when, ident), post, ref


def read_hits(data: dict, cursor: Cursor | None) -> SearchPage:
    """The hits of a ``search_by_date`` page that come after ``cursor``: posts, the
    threads (stories) they belong to, the newest (time, id), and whether the next
    page may hold more of them (the hits are newest first)."""
    data = _dict(data)
    out = SearchPage(total=_int(data.get("nbHits")))
    threads: dict[str, ThreadRef] = {}
    oldest: Cursor | None = None
    for raw in _list(data.get("hits")):
        read = _hit(_dict(raw))
        if read is None:
            continue
        at, post, ref = read
        oldest = at if oldest is None else min(oldest, at)
        if cursor is not None and at <= cursor:
            continue
        out.posts.append(post)
        out.newest = at if out.newest is None else max(out.newest, at)
        known = threads.get(ref.key)
        if known is None or (known.replies is None and ref.replies is not None):
            threads[ref.key] = ref  # a story's own hit carries its counters
    out.threads = list(threads.values())
    page, pages = _int(data.get("page")) or 0, _int(data.get("nbPages")) or 0
    # the first poll (no cursor) reads one page: the newest hits, not the archive
    out.more = (page + 1 < pages and cursor is not None and oldest is not None
                and oldest > cursor)
    return out


# --- item API --------------------------------------------------------------------

def read_item(data: dict, key: str) -> ThreadRef | None:
    """A story's counters from ``/item/<id>.json``: ``descendants`` as replies and
    ``score`` as likes; None when the item is gone, dead or not that story."""
    data = _dict(data)
    if _int(data.get("id")) != _int(key) or data.get("deleted") or data.get("dead"):
        return None
    comments, score = _int(data.get("descendants")), _int(data.get("score"))
    return ThreadRef(key=key, url=item_page(int(key)), title=_clean(data.get("title"),
                                                                     _MAX_TITLE),
                     replies=max(0, comments) if comments is not None else None,
                     likes=score)
