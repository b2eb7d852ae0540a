"""Forum readers behind one interface, so the watch spider treats an HTML
forum (preset or rules) and Discourse's JSON API the same way: a listing of
threads, and thread pages of posts with a next page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from crawlers.extractors import discourse
from crawlers.extractors.follow import extract_followed
from crawlers.extractors.forum import extract_listing, extract_thread, thread_key
from crawlers.extractors.rules import ForumRules, resolve_rules
from crawlers.items import Listing, PostItem, ThreadPage, ThreadRef


class Forum(Protocol):
    """Reads one forum: where its listing is, thread keys, listings and thread pages."""

    def listing_url(self, url: str) -> str: ...
    def key(self, url: str) -> str: ...
    def listing(self, body: bytes, text: str, url: str) -> Listing: ...
    def thread(self, body: bytes, text: str, url: str, key: str) -> ThreadPage: ...
    def followed(self, body: bytes, page_url: str, key: str, title: str) -> list[PostItem]: ...


@dataclass(frozen=True)
class HtmlForum:
    rules: ForumRules

    def listing_url(self, url: str) -> str:
        return url

    def key(self, url: str) -> str:
        return thread_key(url, self.rules)

    def listing(self, body: bytes, text: str, url: str) -> Listing:
        return extract_listing(text, url, self.rules)  # ValueError without listing rules

    def thread(self, body: bytes, text: str, url: str, key: str) -> ThreadPage:
        return extract_thread(text, url, self.rules, key)

    def followed(self, body: bytes, page_url: str, key: str, title: str) -> list[PostItem]:
        """The posts a follow-up request answered (see crawlers/extractors/follow.py)."""
        if self.rules.follow is None:
            return []
        return extract_followed(body, page_url, self.rules.follow, key, title)


@dataclass(frozen=True)
class Discourse:
    base: str

    def listing_url(self, url: str) -> str:
        return discourse.latest_url(self.base)

    def key(self, url: str) -> str:
        return url

    def listing(self, body: bytes, text: str, url: str) -> Listing:
        return discourse.extract_latest(discourse.parse_json(body), self.base)

    def thread(self, body: bytes, text: str, url: str, key: str) -> ThreadPage:
        return discourse.extract_posts(discourse.parse_json(body), self.base, key)

    def followed(self, body: bytes, page_url: str, key: str, title: str) -> list[PostItem]:
        return []  # Discourse's JSON pages carry every post: nothing to follow


def forum_for(kind: str, url: str, preset: str | None, rules: dict | None) -> Forum:
    """The reader a source of ``kind`` uses; raises ValueError for bad rules."""
    if kind == "forum":
        return HtmlForum(resolve_rules(preset, rules))
    if kind == "discourse":
        return Discourse(url.rstrip("/"))
    raise ValueError(f"no forum reader for kind {kind!r}")


def signature(ref: ThreadRef) -> str:
    """What a listing says about a thread; when it changes there is something new."""
    last = ref.last_post_at.isoformat() if ref.last_post_at else ""
    return f"{ref.replies}|{last}"


def repeated_page(visit: dict, url: str, here: set[str], page: ThreadPage, ref: ThreadRef
              ) -> str | None:
    """Why this page is one already read in this visit (same URL, or the same posts
    under another URL: Askbot's hidden "next" on the last page, ``?page=None``,
    serves page 1 again), else None after remembering it."""
    posts = tuple(p.entry_key for p in page.posts)
    again = here & visit["urls"] or (posts and posts in visit["pages"])
    if again and visit["last"] is not None:
        return (f"thread {ref.key}: {url} repeats a page already read in this "
                f"visit (a next-page link that leads back?); stopped after {visit['last']}")
    visit["urls"] |= here
    visit["pages"].add(posts)
    visit["last"] = url
    return None
