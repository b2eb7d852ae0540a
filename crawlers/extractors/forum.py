"""Forum HTML pages to Listings and ThreadPages, driven only by selector rules.

No engine-specific code lives here: what differs between vBulletin, phpBB or
Discuz is in the presets (crawlers/presets/*.yaml). Pages are hostile input:
nothing from them is executed, only http(s) links survive, markup becomes
plain text, and a page that does not fit the rules yields empty results
instead of an exception, so one odd page never stops a crawl.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector

from crawlers.extractors.follow import follow_urls
from crawlers.extractors.parsing import parse_count, parse_time
from crawlers.extractors.rules import XPATH_PREFIX, ForumRules, ListingRules, ThreadRules
from crawlers.extractors.text import fingerprint, html_to_text, safe_link
from crawlers.items import Listing, PostItem, ThreadPage, ThreadRef

T = TypeVar("T")
log = logging.getLogger("crisiswatch.crawl")

# query parameters that only choose a page (or a session) of the same thread
_PAGE_PARAMS = frozenset({"page", "pagenumber", "start", "perpage", "pn", "pg", "offset", "p",
                          "sid", "extra"})
_ATTR_TAIL = re.compile(r"(::attr\([^)]*\)|/@[\w:-]+)\s*$")
# html_to_text breaks lines at closing tags; forums like HN only open their <p>s
_BLOCK_OPEN = re.compile(r"(?i)<(?:p|div|li|blockquote|tr|h[1-6])\b")


def thread_key(url: str, rules: ForumRules) -> str:
    """The thread's stable id: ``key_pattern``'s group, else the URL minus fragment and
    page/session parameters, so page 1 and page 7 of a thread share one key."""
    if rules.key_pattern:
        m = re.search(rules.key_pattern, url)
        if m and m.group(1):
            return m.group(1)
    parts = urlsplit(urldefrag(url)[0])
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in _PAGE_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


_key_of = thread_key  # extract_thread's ``thread_key`` argument shadows the function


def _page(text: str) -> Selector | None:
    try:
        return Selector(text=text or "<html></html>")
    except Exception:  # lxml refusing a document is a bad page, not a crash
        return None


def select(node: Selector, query: str | None) -> list[Selector]:
    """What ``query`` (CSS, or XPath after ``xpath:``) matches in ``node``; [] on failure."""
    return _select(node, query)


def as_text(match: Selector) -> str:
    """One match as plain text (see ``_as_text``)."""
    return _as_text(match)


def _select(node: Selector, query: str | None) -> list[Selector]:
    if not query:
        return []
    try:
        if query.startswith(XPATH_PREFIX):
            return list(node.xpath(query[len(XPATH_PREFIX):]))
        return list(node.css(query))
    except Exception:  # a selector that compiles may still fail on an odd document
        return []


def _as_text(match: Selector) -> str:
    """One match as plain text: strings as they are, elements without their markup."""
    root = match.root
    if isinstance(root, str):  # a text node or attribute: no markup, maybe control characters
        kept = (c for c in root if c.isspace() or unicodedata.category(c)[0] != "C")
        return " ".join("".join(kept).split())
    if isinstance(root, bool):
        return ""
    if isinstance(root, int | float):
        return f"{root:.0f}" if root == root else ""
    return html_to_text(_BLOCK_OPEN.sub(lambda m: "\n" + m.group(0), match.get()))


def _texts(node: Selector, query: str | None) -> list[str]:
    return [t for m in _select(node, query) if (t := _as_text(m))]


def _first(node: Selector, query: str | None) -> str | None:
    texts = _texts(node, query)
    return texts[0] if texts else None


def _first_parsed(node: Selector, query: str | None, parse: Callable[[str], T | None]
                  ) -> T | None:
    """The first match that ``parse`` understands: lets a rule list fallbacks
    ("time::attr(datetime), p.author::text") and skip labels like "by"."""
    for text in _texts(node, query):
        value = parse(text)
        if value is not None:
            return value
    return None


def _link(node: Selector, query: str | None, base: str) -> tuple[str | None, str]:
    """First safe absolute link the query yields, with the text of its element."""
    for match in _select(node, query):
        element = not isinstance(match.root, str)
        raw = match.attrib.get("href") if element else str(match.root)
        href = safe_link(urljoin(base, raw.strip())) if raw else None
        if href:
            label = _as_text(match) if element else _first(node, _ATTR_TAIL.sub("", query or ""))
            return href, label or ""
    return None, ""


def _next_page(page: Selector, query: str | None, url: str) -> str | None:
    href, _ = _link(page, query, url)
    return href if href and urldefrag(href)[0] != urldefrag(url)[0] else None


def _listing_row(row: Selector, url: str, rules: ForumRules, lr: ListingRules
                 ) -> ThreadRef | None:
    href, label = _link(row, lr.link, url)
    if href is None:
        return None
    href = urldefrag(href)[0]
    title = (_first(row, lr.title) if lr.title else None) or label
    return ThreadRef(
        key=thread_key(href, rules),
        url=href,
        title=title[:500],
        replies=_first_parsed(row, lr.replies, parse_count),
        views=_first_parsed(row, lr.views, parse_count),
        last_post_at=_first_parsed(row, lr.last_post, parse_time),
    )


def extract_listing(text: str, url: str, rules: ForumRules) -> Listing:
    """The threads on one page of a forum's thread list, each once, with its counters."""
    if rules.listing is None:
        raise ValueError("these forum rules have no listing section; set page: thread")
    page = _page(text)
    if page is None:
        return Listing()
    threads: dict[str, ThreadRef] = {}
    for row in _select(page, rules.listing.thread):
        ref = _listing_row(row, url, rules, rules.listing)
        if ref is not None and ref.key not in threads:
            threads[ref.key] = ref
    return Listing(threads=list(threads.values()),
                   next_page=_next_page(page, rules.listing.next_page, url))


def _body(post: Selector, query: str) -> str:
    """The first matching element's text, or all matched text nodes when the rule uses ::text."""
    matches = _select(post, query)
    if matches and isinstance(matches[0].root, str):
        return "\n".join(t for m in matches if (t := _as_text(m)))
    return next((t for m in matches if (t := _as_text(m))), "")


def _repeat(item: PostItem, post_id: str | None, n: int) -> PostItem:
    """A double post (same author and text as one before it on the page) kept as its
    own entry: its fingerprint is salted with its id, else its place among the
    copies, so both survive storage and the same copy gets the same key next time."""
    salt = f"#{post_id}" if post_id else f"#{n}"
    fp = fingerprint(item.author or "", f"{item.text}\n{salt}")
    return replace(item, fingerprint=fp, entry_key=item.entry_key if post_id else fp)


def _post(node: Selector, url: str, tr: ThreadRules, title: str, key: str) -> PostItem | None:
    text = _body(node, tr.body)
    if not text:
        return None
    post_id = (_first(node, tr.id) or "")[:200] or None
    author = _first(node, tr.author)
    permalink, _ = _link(node, tr.permalink, url)
    page_url = urldefrag(url)[0]
    fp = fingerprint(author or "", text)
    return PostItem(
        entry_key=f"post:{post_id}" if post_id else fp,
        fingerprint=fp,
        title=title,
        text=text,
        url=permalink or (f"{page_url}#{post_id}" if post_id else page_url),
        author=author[:200] if author else None,
        published_at=_first_parsed(node, tr.time, parse_time),
        likes=_first_parsed(node, tr.likes, parse_count),
        thread_key=key,
    )


def extract_thread(text: str, url: str, rules: ForumRules, thread_key: str | None = None
                   ) -> ThreadPage:
    """The posts on one page of a thread (empty bodies skipped), its title, counters
    and next page. ``thread_key`` defaults to the key of ``url``."""
    page = _page(text)
    if page is None:
        return ThreadPage()
    tr = rules.thread
    key = thread_key or _key_of(url, rules)
    title = (_first(page, tr.title) or "")[:500]
    posts: dict[str, PostItem] = {}
    copies: dict[str, int] = {}
    follow: list[str] = []
    for node in _select(page, tr.post):
        item = _post(node, url, tr, title, key)
        if item is None:
            continue
        post_id = item.entry_key[5:] if item.entry_key.startswith("post:") else None
        n = copies[item.fingerprint] = copies.get(item.fingerprint, 0) + 1
        if n > 1:
            log.info("%s: %s posted the same text again; both are kept", url, item.author)
            item = _repeat(item, post_id, n)
        if item.entry_key in posts:  # the post rule matched one post twice
            log.info("%s: post %s matched twice; read once", url, item.entry_key)
            continue
        posts[item.entry_key] = item
        if rules.follow is not None:
            follow += follow_urls(node, url, rules.follow, post_id)
    return ThreadPage(
        posts=list(posts.values()),
        follow=list(dict.fromkeys(follow)),
        next_page=_next_page(page, tr.next_page, url),
        title=title,
        replies=_first_parsed(page, tr.replies, parse_count),
        views=_first_parsed(page, tr.views, parse_count),
    )

