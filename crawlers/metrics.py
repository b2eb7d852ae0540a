"""Prometheus counters of the crawl: fetches by outcome, fetch latency, posts stored.

A Scrapy extension fed by signals, so neither the spider nor the store pipeline
does any bookkeeping: the spider puts the source's kind in each request's meta,
``request_scheduled`` remembers it per source, ``response_received`` times the
download, ``item_scraped`` counts each stored fetch result by outcome and
``fetch_stored`` counts new posts. Labels are the source kind (feed, forum,
discourse) and the outcome, never the source name, so the series stay few
however many sources there are. The metrics live in prometheus_client's default
registry; ``crisiswatch run --metrics-port`` serves them.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram
from scrapy import signals

from crawlers import signals as cw_signals
from crawlers.items import FetchResult, ThreadResult

FETCHES = Counter("crisiswatch_fetches", "Fetches of sources (a feed or listing poll, a "
                  "thread page) by source kind and outcome: ok, not_modified, error",
                  ["kind", "state"])
FETCH_SECONDS = Histogram("crisiswatch_fetch_seconds", "Download time of a source's "
                          "request (Scrapy's download_latency)", ["kind"],
                          buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60))
POSTS_STORED = Counter("crisiswatch_posts_stored", "New posts stored", ["kind"])
UNKNOWN = "unknown"


def outcome(item: FetchResult | ThreadResult) -> str:
    """ok, not_modified or error: what one stored fetch result says."""
    if item.error:
        return "error"
    return "not_modified" if getattr(item, "not_modified", False) else "ok"


class CrawlMetrics:
    """The extension (``EXTENSIONS`` in crawlers/settings.py)."""

    def __init__(self) -> None:
        self.kinds: dict[int, str] = {}

    @classmethod
    def from_crawler(cls, crawler) -> CrawlMetrics:  # noqa: ANN001
        ext = cls()
        crawler.signals.connect(ext.scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(ext.received, signal=signals.response_received)
        crawler.signals.connect(ext.scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.stored, signal=cw_signals.fetch_stored)
        return ext

    def scheduled(self, request, spider=None) -> None:  # noqa: ANN001
        meta = request.meta
        if "source_id" in meta:
            self.kinds[meta["source_id"]] = meta.get("source_kind", UNKNOWN)

    def received(self, response, request, spider=None) -> None:  # noqa: ANN001
        meta = request.meta
        if "source_id" in meta and "download_latency" in meta:
            FETCH_SECONDS.labels(meta.get("source_kind", UNKNOWN)).observe(
                meta["download_latency"])

    def scraped(self, item, response=None, spider=None) -> None:  # noqa: ANN001
        if isinstance(item, FetchResult | ThreadResult):
            FETCHES.labels(self.kinds.get(item.source_id, UNKNOWN), outcome(item)).inc()

    def stored(self, source_id: int, new_posts: int, **_kwargs: object) -> None:
        if new_posts:
            POSTS_STORED.labels(self.kinds.get(source_id, UNKNOWN)).inc(new_posts)
