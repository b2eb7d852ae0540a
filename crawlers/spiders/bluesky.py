"""The watch spider's ``kind: bluesky`` half (a mixin of ``WatchSpider``): the hot
re-reads of flagged posts. Posts come from the Jetstream consumer; their likes,
reposts and replies do not (the firehose carries each like as its own event, for
every post on the network). So a thread with a flagged post is re-read every
``hot_interval_s``, like a forum's, from the public AppView's
``app.bsky.feed.getPosts``: keyless, and up to 25 posts per request, so a burst of
hot posts costs few requests. Each answer becomes the post's engagement snapshot
(replies, likes, reposts) and its thread's (replies, likes). The requests go
through Scrapy with the source's meta: politeness, robots.txt and the private-
address guard of console-added sources apply as to any fetch."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers import bluesky as bsky
from crawlers.items import ThreadRef, ThreadResult
from db.models import Source, Thread

log = logging.getLogger("crisiswatch.crawl")
KIND = "bluesky"


class BlueskyEngagement:
    """Uses WatchSpider's ``_meta``, ``threads_in_flight`` and ``why``."""

    def bsky_requests(self, hot: list[tuple[Source, Thread]]) -> Iterator[scrapy.Request]:
        """One getPosts request per source and 25 hot threads of it."""
        by_source: dict[int, tuple[Source, list[Thread]]] = {}
        for source, thread in hot:
            if source.kind == KIND:
                by_source.setdefault(source.id, (source, []))[1].append(thread)
        for source, threads in by_source.values():
            try:
                options = bsky.parse_options(source.rules)
            except ValueError as exc:
                log.error("source %s: hot posts not re-read: %s", source.name, exc)
                continue
            for batch in bsky.batches(threads):
                refs = [ThreadRef(key=t.key, url=t.url, title=t.title) for t in batch]
                self.threads_in_flight.update((source.id, r.key) for r in refs)
                yield scrapy.Request(
                    bsky.getposts_url(options.appview, [r.key for r in refs]),
                    callback=self.parse_bsky_posts, errback=self.on_bsky_error,
                    dont_filter=True, headers={"Accept": "application/json"},
                    meta=self._meta(source, source=source, refs=refs))

    def parse_bsky_posts(self, response: Response) -> Iterator[ThreadResult]:
        source, refs = response.meta["source"], response.meta["refs"]
        try:
            found = bsky.engagement(json.loads(response.body))
        except ValueError as exc:
            yield from self._bsky_failed(source, refs, response.url,
                                         f"cannot read {response.url}: {exc}"[:300])
            return
        for ref in refs:
            self.threads_in_flight.discard((source.id, ref.key))
            if ref.key not in found:
                yield ThreadResult(source_id=source.id, ref=ref, page_url=response.url,
                                   done=True, notes=[f"post {ref.key} is deleted or hidden"])
                continue
            post, counted = found[ref.key]
            counted.title = ref.title
            yield ThreadResult(source_id=source.id, ref=counted, page_url=response.url,
                               posts=[post], replies=counted.replies, done=True)

    def on_bsky_error(self, failure: Failure) -> Iterator[ThreadResult]:
        meta = failure.request.meta
        yield from self._bsky_failed(meta["source"], meta["refs"], failure.request.url,
                                     self.why(failure))

    def _bsky_failed(self, source: Source, refs: list[ThreadRef], url: str, error: str
                     ) -> Iterator[ThreadResult]:
        for ref in refs:
            self.threads_in_flight.discard((source.id, ref.key))
            yield ThreadResult(source_id=source.id, ref=ref, page_url=url, error=error)
