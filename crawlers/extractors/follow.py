"""Per-post follow-up requests: comments a thread page does not all show.

Askbot prints a post's first few comments and loads the rest from
``/post_comments/?post_type=answer&post_id=N`` (a JSON list) when a reader clicks
"see more comments". Selector rules cannot follow that, so a rule set may name an
element inside the post (``follow.at``, e.g. the comments block that has a "see
more" button), a URL template filled from that element's attributes, and which
keys of the JSON answer hold each comment's id, author, time and HTML body.

Only URLs are built here; the spider fetches them through Scrapy like any page
(same politeness, robots.txt and private-address guard), and the answer is read
here as hostile data: anything that is not the expected shape yields nothing.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from parsel import Selector

from crawlers.extractors.parsing import parse_time
from crawlers.extractors.rules import XPATH_PREFIX, FollowRules
from crawlers.extractors.text import fingerprint, html_to_text, safe_link
from crawlers.items import PostItem

_FIELD = re.compile(r"\{([\w:.-]+)\}")


def _matches(node: Selector, query: str) -> list[Selector]:
    try:
        if query.startswith(XPATH_PREFIX):
            return list(node.xpath(query[len(XPATH_PREFIX):]))
        return list(node.css(query))
    except Exception:  # an odd document must not stop the page
        return []


def _fill(template: str, values: dict[str, str]) -> str | None:
    """``template`` with each ``{name}`` replaced, or None when a value is missing."""
    missing = False

    def one(m: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(m.group(1))
        if not value:
            missing = True
            return ""
        return quote(value.strip(), safe="")

    filled = _FIELD.sub(one, template)
    return None if missing else filled


def follow_urls(post: Selector, page_url: str, rules: FollowRules,
                post_id: str | None) -> list[str]:
    """The follow-up URLs one post asks for: one per element ``rules.at`` matches,
    on the page's own host only (a rule never sends the crawler elsewhere)."""
    urls = []
    for match in _matches(post, rules.at):
        attrs = dict(match.attrib) if not isinstance(match.root, str) else {}
        url = _fill(rules.url, {**attrs, "post_id": post_id or ""})
        absolute = safe_link(urljoin(page_url, url)) if url else None
        if absolute and urlsplit(absolute).netloc == urlsplit(page_url).netloc:
            urls.append(absolute)
    return urls


def _path(data: object, dotted: str) -> object:
    for part in filter(None, dotted.split(".")):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _string(entry: dict, key: str | None) -> str:
    value = entry.get(key) if key else None
    return str(value).strip() if isinstance(value, str | int | float) else ""


def extract_followed(body: bytes, page_url: str, rules: FollowRules, thread_key: str,
                     title: str) -> list[PostItem]:
    """The comments in one follow-up answer, keyed like the page's posts
    (``post:<id>``) so those the page also showed are not stored twice."""
    try:
        items = _path(json.loads(body), rules.items)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    page = urldefrag(page_url)[0]
    posts, seen = [], set()
    for entry in items if isinstance(items, list) else []:
        if not isinstance(entry, dict):
            continue
        text = html_to_text(_string(entry, rules.body))
        if not text:
            continue
        post_id, author = _string(entry, rules.id)[:200], _string(entry, rules.author)[:200]
        fp = fingerprint(author, text)
        if fp in seen:  # a double comment: kept, salted with its id like a double post
            fp = fingerprint(author, f"{text}\n#{post_id or len(posts)}")
        seen.add(fp)
        posts.append(PostItem(
            entry_key=f"post:{post_id}" if post_id else fp, fingerprint=fp, title=title,
            text=text, url=f"{page}#{post_id}" if post_id else page, author=author or None,
            published_at=parse_time(_string(entry, rules.time)), thread_key=thread_key))
    return posts
