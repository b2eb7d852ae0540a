"""The watch spider's Hacker News polls (``kind: hackernews``), kept apart from the
forum and feed code: a search poll, and the item re-reads of hot stories.

A poll asks Algolia for each search term in turn (page by page while a page still
holds hits after the cursor) and yields one ``FetchResult`` at the end: every new
hit, the stories they belong to and the new cursor, stored in one transaction so a
restart neither loses nor repeats hits. A story whose thread has a flagged mention
is "hot" (``Thread.hot_until``): every ``hot_interval_s`` the official item API
gives its points and comment count, which become engagement snapshots.
All requests go through Scrapy with the source's meta, so politeness, robots.txt
and the private-address guard of console-added sources apply as to any fetch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import scrapy
from scrapy.http import Response
from sqlmodel import select

from crawlers.extractors import hackernews as hn
from crawlers.items import FetchResult, PostItem, ThreadRef, ThreadResult
from crawlers.pipelines.store import store_result
from db.engine import read_session
from db.models import Brand, Source, Thread

log = logging.getLogger("crisiswatch.crawl")


CURSOR_KEY = "search"  # this source's place in Source.cursor (a JSON object)


def _cursor(newest: hn.Cursor | None) -> dict[str, str] | None:
    text = hn.format_cursor(newest)
    return {CURSOR_KEY: text} if text else None


class HackerNewsPolls:
    """Mixed into ``WatchSpider``: uses its ``_meta``, ``in_flight``,
    ``threads_in_flight``, ``engine``, ``on_error`` and ``on_thread_error``."""

    def _brand_keywords(self) -> list[str]:
        with read_session(self.engine) as s:
            rows = s.exec(select(Brand.keywords).where(Brand.enabled == True)).all()  # noqa: E712
        return [k for keywords in rows for k in keywords]

    def hn_request(self, source: Source) -> scrapy.Request | None:
        """The first search request of a poll; None, with the reason on the source's
        health (and its backoff), when there is nothing to search for."""
        options = hn.options_of(source.rules)
        try:
            terms = hn.terms_for(options, self._brand_keywords())
        except ValueError as exc:
            terms, why = [], str(exc)
        else:
            why = "no search terms: set query: on the source, or add a brand with keywords"
        if not terms:
            self.in_flight.discard(source.id)
            store_result(self.engine, FetchResult(source_id=source.id, error=why))
            return None
        poll = {"source": source, "options": options, "terms": terms, "term": 0, "page": 0,
                "cursor": hn.parse_cursor((source.cursor or {}).get(CURSOR_KEY)),
                "posts": {}, "threads": {}, "newest": None, "notes": []}
        return self._hn_search(poll)

    def _hn_search(self, poll: dict) -> scrapy.Request:
        source = poll["source"]
        url = hn.search_url(source.url, poll["terms"][poll["term"]], poll["options"].tags,
                            poll["cursor"], poll["page"])
        return scrapy.Request(url, callback=self.parse_hn_search, errback=self.on_error,
                              dont_filter=True, meta=self._meta(source, hn_poll=poll))

    def parse_hn_search(self, response: Response) -> Iterator[FetchResult | scrapy.Request]:
        poll = response.meta["hn_poll"]
        source = poll["source"]
        try:
            page = hn.read_hits(hn.parse_json(response.body), poll["cursor"])
        except ValueError as exc:
            self.in_flight.discard(source.id)
            yield FetchResult(source_id=source.id, status=response.status,
                              error=f"cannot read the search answer: {exc}"[:300])
            return
        _merge(poll, page)
        if page.more and poll["page"] + 1 < hn.MAX_PAGES:
            poll["page"] += 1
            yield self._hn_search(poll)
            return
        if page.more:
            poll["notes"].append(f"more than {hn.MAX_PAGES * hn.HITS_PER_PAGE} new hits for "
                                 f"{poll['terms'][poll['term']]!r}; the oldest were skipped "
                                 "(poll more often)")
        if poll["term"] + 1 < len(poll["terms"]):
            poll["term"], poll["page"] = poll["term"] + 1, 0
            yield self._hn_search(poll)
            return
        self.in_flight.discard(source.id)
        newest = poll["newest"] or poll["cursor"]
        # oldest first: a story stored before its comments is its thread's opener
        posts = sorted(poll["posts"].values(), key=lambda p: (p.published_at, p.entry_key))
        yield FetchResult(source_id=source.id, status=response.status, posts=posts,
                          threads=list(poll["threads"].values()),
                          cursor=_cursor(newest), notes=poll["notes"])

    def hn_item_request(self, source: Source, thread: Thread) -> scrapy.Request:
        """Re-read a hot story's points and comment count from the item API."""
        ref = ThreadRef(key=thread.key, url=thread.url, title=thread.title)
        self.threads_in_flight.add((source.id, ref.key))
        url = hn.item_url(hn.options_of(source.rules).items_url, ref.key)
        return scrapy.Request(url, callback=self.parse_hn_item, errback=self.on_thread_error,
                              dont_filter=True,
                              meta=self._meta(source, ref=ref, source=source, is_poll=False))

    def parse_hn_item(self, response: Response) -> Iterator[ThreadResult]:
        source, ref = response.meta["source"], response.meta["ref"]
        self.threads_in_flight.discard((source.id, ref.key))
        try:
            read = hn.read_item(hn.parse_json(response.body), ref.key)
        except ValueError as exc:
            read, error = None, f"cannot read {response.url}: {exc}"[:300]
        else:
            error = None
        if read is not None:
            read.title = read.title or ref.title
        gone = [] if read or error else [f"story {ref.key} is deleted or dead ({response.url})"]
        yield ThreadResult(source_id=source.id, ref=read or ref, page_url=response.url,
                           replies=read.replies if read else None, error=error,
                           done=error is None, notes=gone)


def _merge(poll: dict, page: hn.SearchPage) -> None:
    """Add a page's hits to the poll's (a hit two terms found is stored once)."""
    posts: dict[str, PostItem] = poll["posts"]
    for post in page.posts:
        posts.setdefault(post.entry_key, post)
    threads: dict[str, ThreadRef] = poll["threads"]
    for ref in page.threads:
        if ref.key not in threads or threads[ref.key].replies is None:
            threads[ref.key] = ref
    if page.newest is not None:
        poll["newest"] = max(poll["newest"] or page.newest, page.newest)



# --- sources test ----------------------------------------------------------------

def hn_probe_requests(probe: scrapy.Spider, url: str, rules: dict | None
                      ) -> Iterator[scrapy.Request]:
    """The searches ``sources test`` makes: each term's first page, as a first poll
    reads it (``rules["query"]``: the terms, resolved by the caller)."""
    options = hn.options_of(rules)
    meta = dict(probe.meta)
    for term in options.query:
        yield scrapy.Request(hn.search_url(url, term, options.tags, None),
                             callback=lambda r: _probe_search(probe, options, r),
                             errback=probe.on_error, meta=meta)


def _probe_search(probe: scrapy.Spider, options: hn.Options, response: Response
                  ) -> Iterator[scrapy.Request]:
    report = probe.report
    report.status = report.status or response.status
    try:
        page = hn.read_hits(hn.parse_json(response.body), None)
    except ValueError as exc:
        report.error = f"{response.url}: {exc}"
        return
    report.searches.append((response.url, page.posts, page.threads))
    if page.threads and not report.items:  # one story's counters: the item API answers
        key = page.threads[0].key
        report.items.append(("", page.threads[0]))
        yield scrapy.Request(hn.item_url(options.items_url, key), errback=probe.on_thread_error,
                             callback=lambda r: _probe_item(probe, key, r), meta=probe.meta)


def _probe_item(probe: scrapy.Spider, key: str, response: Response) -> None:
    try:
        ref = hn.read_item(hn.parse_json(response.body), key)
    except ValueError as exc:
        probe.report.pages.append((response.url, None, str(exc)))
        return
    probe.report.items[:] = [(response.url, ref or ThreadRef(key=key, url=response.url))]
