"""A one-shot spider for ``crisiswatch sources test``: fetch a source once and
report what would be extracted, storing nothing (run without the store pipeline)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.extractors.feed import MalformedFeed, parse_feed
from crawlers.forums import Forum, forum_for
from crawlers.items import Listing, ThreadPage
from crawlers.spiders.watch import _describe, _text


@dataclass
class ProbeReport:
    url: str
    status: int | None = None
    error: str | None = None
    posts: list = field(default_factory=list)  # feed entries
    listing: Listing | None = None
    pages: list[tuple[str, ThreadPage | None, str | None]] = field(default_factory=list)


class ProbeSpider(scrapy.Spider):
    name = "probe"

    def __init__(self, *args, kind: str = "feed", url: str = "", preset: str | None = None,
                 rules: dict | None = None, page: str = "listing", threads: int = 1,
                 report: ProbeReport | None = None, robots: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind, self.url, self.page, self.max_threads = kind, url, page, threads
        self.report = report if report is not None else ProbeReport(url)
        self.meta = {} if robots else {"dont_obey_robotstxt": True}
        self.forum: Forum | None = None if kind == "feed" else forum_for(kind, url, preset,
                                                                          rules)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.forum is None:
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

    def parse_thread(self, response: Response) -> None:
        self.report.status = self.report.status or response.status
        try:
            page = self.forum.thread(response.body, _text(response), response.url,
                                     response.meta["key"])
        except ValueError as exc:
            self.report.pages.append((response.url, None, str(exc)))
            return
        self.report.pages.append((response.url, page, None))

    def on_thread_error(self, failure: Failure) -> None:
        self.report.pages.append((failure.request.url, None, _describe(failure)))

    def on_error(self, failure: Failure) -> None:
        self.report.error = _describe(failure)
