"""A one-shot spider for ``crisiswatch sources test``: fetch a source once and
report what would be extracted, storing nothing (run without the store pipeline)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.extractors.checks import check_thread
from crawlers.extractors.feed import MalformedFeed, parse_feed
from crawlers.extractors.mastodon import extract_stream, parse_body
from crawlers.forums import Forum, HtmlForum, forum_for
from crawlers.items import Listing, ThreadPage, ThreadRef
from crawlers.mastodon import parse_rules, rate_limit, stream_url, streams, throttle
from crawlers.spiders.hackernews import hn_probe_requests
from crawlers.spiders.mastodon import headers_of, request_headers
from crawlers.spiders.reddit import reddit_probe_requests
from crawlers.spiders.watch import FOLLOW_HEADERS, _describe, _text


@dataclass
class ProbeReport:
    url: str
    status: int | None = None
    error: str | None = None
    posts: list = field(default_factory=list)  # feed entries
    listing: Listing | None = None
    pages: list[tuple[str, ThreadPage | None, str | None]] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)  # page URL: what looks off
    follow_errors: list[str] = field(default_factory=list)
    # kind hackernews: per search URL, the posts and stories a first poll would store
    searches: list[tuple[str, list, list]] = field(default_factory=list)
    items: list[tuple[str, ThreadRef]] = field(default_factory=list)  # a story's counters
    label: str = "thread"  # what a page is: a forum thread's, or a stream's (mastodon)

    @property
    def failure(self) -> str | None:
        """Why the test fetch failed, if it did: a page that could not be fetched or
        read, or no answer at all (a request dropped on the way)."""
        if self.error:
            return self.error
        errors = [f"{url}: {error}" for url, _page, error in self.pages if error]
        if errors:
            return "; ".join(errors)
        if self.status is None:
            return "no response was received"
        return None


class ProbeSpider(scrapy.Spider):
    name = "probe"

    def __init__(self, *args, kind: str = "feed", url: str = "", preset: str | None = None,
                 rules: dict | None = None, page: str = "listing", threads: int = 1,
                 report: ProbeReport | None = None, robots: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind, self.url, self.page, self.max_threads = kind, url, page, threads
        self.report = report if report is not None else ProbeReport(url)
        self.meta = {} if robots else {"dont_obey_robotstxt": True}
        self.rules = rules
        self.forum: Forum | None = None if kind in (
            "feed", "hackernews", "mastodon", "reddit") else forum_for(kind, url, preset, rules)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.kind in ("hackernews", "mastodon", "reddit"):
            requests = (hn_probe_requests(self, self.url, self.rules)
                        if self.kind == "hackernews" else reddit_probe_requests(self)
                        if self.kind == "reddit" else self.stream_requests())
            for request in requests:
                yield request
        elif self.forum is None:
            yield scrapy.Request(self.url, self.parse_feed, errback=self.on_error,
                                 meta=self.meta)
        elif self.page == "thread":
            yield scrapy.Request(self.url, self.parse_thread, errback=self.on_error,
                                 meta={**self.meta, "key": self.forum.key(self.url)})
        else:
            yield scrapy.Request(self.forum.listing_url(self.url), self.parse_listing,
                                 errback=self.on_error, meta=self.meta)

    def parse_feed(self, response: Response) -> None:
        self.report.status = response.status
        try:
            self.report.posts = parse_feed(response.body, url=response.url)
        except MalformedFeed as exc:
            self.report.error = str(exc)

    def stream_requests(self) -> list[scrapy.Request]:
        """Each stream of a mastodon source once, newest statuses first (no cursor)."""
        rules = parse_rules(self.rules)
        headers, note = request_headers(rules)
        urls = [stream_url(self.url, stream, None) for stream in streams(rules)]
        self.report.label = "stream"
        if note:
            self.report.warnings.setdefault(urls[0], []).append(note)
        return [scrapy.Request(url, self.parse_stream, headers=headers,
                               errback=self.on_thread_error, meta=self.meta) for url in urls]

    def parse_stream(self, response: Response) -> None:
        """A stream's statuses as the crawl would store them, as a page of posts."""
        self.report.status = self.report.status or response.status
        wait = throttle(rate_limit(headers_of(response)), datetime.now(UTC))
        if wait is not None:
            self.report.warnings.setdefault(response.url, []).append(wait[1])
        try:
            page = extract_stream(parse_body(response.body))
        except ValueError as exc:
            self.report.pages.append((response.url, None, str(exc)))
            return
        self.report.pages.append((response.url, ThreadPage(posts=page.posts), None))

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        self.report.status = response.status
        try:
            self.report.listing = self.forum.listing(response.body, _text(response),
                                                     response.url)
        except ValueError as exc:
            self.report.error = str(exc)
            return
        for ref in self.report.listing.threads[: self.max_threads]:
            yield scrapy.Request(ref.url, self.parse_thread, errback=self.on_thread_error,
                                 meta={**self.meta, "key": ref.key})

    def parse_thread(self, response: Response) -> Iterator[scrapy.Request]:
        self.report.status = self.report.status or response.status
        text = _text(response)
        try:
            page = self.forum.thread(response.body, text, response.url, response.meta["key"])
        except ValueError as exc:
            self.report.pages.append((response.url, None, str(exc)))
            return
        self.report.pages.append((response.url, page, None))
        if isinstance(self.forum, HtmlForum):
            self.report.warnings[response.url] = check_thread(text, self.forum.rules, page)
        for url in page.follow:
            yield scrapy.Request(url, self.parse_followed, errback=self.on_follow_error,
                                 headers=FOLLOW_HEADERS,
                                 meta={**self.meta, "page": page, "key": response.meta["key"],
                                       "page_url": response.url})

    def parse_followed(self, response: Response) -> None:
        """A follow-up's comments join the page's posts, as the crawl would store them."""
        page, known = response.meta["page"], {p.entry_key for p in response.meta["page"].posts}
        posts = self.forum.followed(response.body, response.meta["page_url"],
                                    response.meta["key"], page.title)
        page.posts += [p for p in posts if p.entry_key not in known]

    def on_follow_error(self, failure: Failure) -> None:
        self.report.follow_errors.append(f"{failure.request.url}: {_describe(failure)}")

    def on_thread_error(self, failure: Failure) -> None:
        self.report.pages.append((failure.request.url, None, _describe(failure)))

    def on_error(self, failure: Failure) -> None:
        self.report.error = _describe(failure)
