"""The one long-running spider: polls every enabled source when it is due.

It stays open on ``spider_idle`` and feeds due requests to the engine from a
reactor timer (the engine's idle check runs only every 5 s, so scheduling from
``spider_idle`` alone would add up to 5 s to every poll). Re-polled URLs carry
``dont_filter=True`` or the dupefilter would drop them. With ``once=True`` it
polls every enabled source one time, ignoring backoff, and closes when done.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import scrapy
from scrapy import signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DontCloseSpider,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    NotConfigured,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from sqlmodel import select
from twisted.internet import task
from twisted.python.failure import Failure

from crawlers.extractors.feed import MalformedFeed, parse_feed
from crawlers.items import FetchResult
from crawlers.schedule import is_due
from db.engine import open_database, read_session
from db.models import Source, utcnow

log = logging.getLogger("crisiswatch.crawl")


_CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (DownloadTimeoutError, "timed out"),
    (CannotResolveHostError, "DNS lookup failed"),
    (DownloadConnectionRefusedError, "connection refused"),
    (ResponseDataLossError, "connection closed before the whole body arrived"),
)


def describe_failure(failure: Failure) -> str:
    """A short, human cause for a failed fetch (goes on the source's health)."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    for kind, text in _CAUSES:
        if isinstance(exc, kind):
            return text
    if isinstance(exc, DownloadCancelledError):  # DOWNLOAD_MAXSIZE exceeded
        return f"too large: {exc}"[:300]
    detail = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {detail}"[:300]


class WatchSpider(scrapy.Spider):
    name = "watch"
    custom_settings: dict = {}

    def __init__(self, *args, once: bool | str = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.once = once in (True, "1", "true", "yes")
        self.in_flight: set[int] = set()
        self.closing = False
        self._timer: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs) -> WatchSpider:  # noqa: ANN001
        spider = super().from_crawler(crawler, *args, **kwargs)
        url = crawler.settings.get("CRISISWATCH_DATABASE")
        if not url:
            raise NotConfigured("set CRISISWATCH_DATABASE to the database URL")
        spider.engine = open_database(url)  # also lets `scrapy crawl watch` start cold
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        return spider

    # -- scheduling ------------------------------------------------------

    def due_sources(self) -> list[Source]:
        """Enabled sources whose next poll time has come and that are not in flight."""
        now = utcnow()
        with read_session(self.engine) as s:
            rows = s.exec(select(Source).where(Source.enabled == True)).all()  # noqa: E712
        return [r for r in rows if r.id not in self.in_flight
                and (self.once or is_due(r.next_poll_at, now))]

    def request_for(self, source: Source) -> scrapy.Request:
        headers = {}
        if source.etag:
            headers["If-None-Match"] = source.etag
        if source.last_modified:
            headers["If-Modified-Since"] = source.last_modified
        self.in_flight.add(source.id)
        return scrapy.Request(
            source.url, headers=headers, callback=self.parse_feed_response,
            errback=self.on_error, dont_filter=True,
            meta={"source_id": source.id, "source_name": source.name,
                  "handle_httpstatus_list": [304]},
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.due_sources():
            yield self.request_for(source)
        if not self.once:
            tick = self.crawler.settings.getfloat("CRISISWATCH_TICK", 0.5)
            self._timer = task.LoopingCall(self._schedule_due)
            self._timer.start(tick, now=False)

    def _schedule_due(self) -> None:
        if self.closing:
            return
        try:
            for source in self.due_sources():
                self.crawler.engine.crawl(self.request_for(source))
        except Exception:  # a locked or unreachable database must not kill the timer
            log.exception("could not schedule due sources; will try again")

    def _on_idle(self) -> None:
        if not self.once and not self.closing:
            raise DontCloseSpider

    def _on_closed(self, spider: scrapy.Spider, reason: str) -> None:
        self.closing = True
        if self._timer is not None and self._timer.running:
            self._timer.stop()

    # -- responses -------------------------------------------------------

    def parse_feed_response(self, response: Response) -> Iterator[FetchResult]:
        source_id = response.meta["source_id"]
        self.in_flight.discard(source_id)
        result = FetchResult(source_id=source_id, status=response.status)
        if response.status == 304:
            result.not_modified = True
            yield result
            return
        try:
            content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
            result.posts = parse_feed(response.body, url=response.url, content_type=content_type)
        except MalformedFeed as exc:
            result.error = str(exc)
        else:
            result.etag = _header(response, b"ETag")
            result.last_modified = _header(response, b"Last-Modified")
        yield result

    def on_error(self, failure: Failure) -> Iterator[FetchResult]:
        source_id = failure.request.meta["source_id"]
        self.in_flight.discard(source_id)
        status = failure.value.response.status if isinstance(failure.value, HttpError) else None
        try:
            error = describe_failure(failure)
        except Exception:  # the source must be marked whatever went wrong here
            error = f"fetch failed: {type(failure.value).__name__}"
        yield FetchResult(source_id=source_id, status=status, error=error)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1")[:500] if value else None
