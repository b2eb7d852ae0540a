"""The watch spider's ``kind: mastodon`` half (a mixin of ``WatchSpider``).

A poll reads the source's streams one after another (hashtags, a timeline,
searches: ``crawlers/mastodon.py``), each from its cursor (``min_id``) and up to
``MAX_PAGES`` pages while pages come back full, and yields one FetchResult: every
status as a post opening its own thread, and the new cursors, stored in one
transaction. A hot thread (a flagged status) is re-read as its status (fresh
counters) and then its context (the replies). Every answer's ``X-RateLimit-*``
headers are read: when the budget is nearly spent (or the instance says 429) the
poll stops, the source waits until the reset (its health says throttled), and hot
re-reads of its statuses wait too.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import datetime, timedelta

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.extractors.mastodon import extract_context, extract_stream, parse_body
from crawlers.items import FetchResult, ThreadRef, ThreadResult
from crawlers.mastodon import (
    MAX_PAGES,
    MastodonRules,
    Stream,
    closed_visit,
    context_url,
    newest,
    parse_rules,
    picked_headers,
    rate_limit,
    status_url,
    stream_url,
    streams,
    throttle,
)
from db.models import Source, utcnow

log = logging.getLogger("crisiswatch.crawl")
KIND = "mastodon"


def headers_of(response: Response) -> dict[str, str]:
    """The rate-limit headers of a response, lower-cased."""
    return picked_headers(response.headers, (b"X-RateLimit-Limit", b"X-RateLimit-Remaining",
                                             b"X-RateLimit-Reset"))


def request_headers(rules: MastodonRules, environ: dict | None = None) -> tuple[dict, str | None]:
    """Headers for the instance (the token, when configured and set) and a health
    note when ``token_env`` names a variable this process does not have."""
    headers = {"Accept": "application/json"}
    if not rules.token_env:
        return headers, None
    token = (environ if environ is not None else os.environ).get(rules.token_env, "").strip()
    if not token:
        return headers, (f"{rules.token_env} is not set in the daemon's environment: "
                         "read without a token (search finds nothing without one)")
    return {**headers, "Authorization": f"Bearer {token}"}, None


class MastodonCrawl:
    """Polls and hot re-reads of Mastodon sources; needs WatchSpider's ``_meta``,
    ``why``, ``in_flight``, ``threads_in_flight`` and ``on_thread_error``."""

    mastodon_quiet: dict[int, datetime]  # source id: no request before (rate limit)

    def held_back(self, source: Source) -> bool:
        """Whether the source's instance asked us to wait (its hot re-reads wait too)."""
        until = self.mastodon_quiet.get(source.id)
        return until is not None and until > utcnow()

    def _rate(self, source_id: int, response: Response | None, refused: bool = False
              ) -> tuple[float, str] | None:
        if response is None:
            return None
        wait = throttle(rate_limit(headers_of(response)), utcnow(), refused)
        if wait is not None:
            self.mastodon_quiet[source_id] = utcnow() + timedelta(seconds=min(wait[0], 86400.0))
        return wait

    # -- polls -------------------------------------------------------------------

    def mastodon_poll(self, source: Source) -> scrapy.Request:
        """The first request of a poll (``ValueError`` when the rules do not validate)."""
        rules = parse_rules(source.rules)
        headers, note = request_headers(rules)
        visit = {"source": source, "streams": streams(rules), "headers": headers,
                 "limit": rules.limit,
                 "cursor": dict(source.cursor or {}), "errors": [], "done": 0,
                 "result": FetchResult(source_id=source.id, notes=[note] if note else [],
                                       cursor={})}
        return self._stream_request(visit, visit["streams"].pop(0), 1)

    def _stream_request(self, visit: dict, stream: Stream, page: int) -> scrapy.Request:
        min_id = visit["result"].cursor.get(stream.name) or visit["cursor"].get(stream.name)
        return scrapy.Request(
            stream_url(visit["source"].url, stream, min_id), headers=visit["headers"],
            callback=self.parse_mastodon_stream, errback=self.on_mastodon_stream_error,
            dont_filter=True, meta=self._meta(visit["source"], visit=visit, stream=stream,
                                              page=page, min_id=min_id))

    def parse_mastodon_stream(self, response: Response) -> Iterator[scrapy.Request | FetchResult]:
        meta = response.meta
        visit, stream = meta["visit"], meta["stream"]
        result: FetchResult = visit["result"]
        result.status = response.status
        try:
            page = extract_stream(parse_body(response.body))
        except ValueError as exc:
            visit["errors"].append(f"{stream.name}: {exc}"[:300])
        else:
            visit["done"] += 1
            known = {t.key for t in result.threads}
            result.posts += [p for p in page.posts if p.thread_key not in known]
            result.threads += [t for t in page.threads if t.key not in known]
            cursor = newest(page.ids, meta["min_id"])
            if cursor:
                result.cursor[stream.name] = cursor
            full = page.count >= visit["limit"] and meta["min_id"] is not None and page.ids
            if self._stop(visit, response) is None and full and meta["page"] < MAX_PAGES:
                yield self._stream_request(visit, stream, meta["page"] + 1)
                return
        yield from self._next_stream(visit, response)

    def _stop(self, visit: dict, response: Response | None, refused: bool = False
              ) -> tuple[float, str] | None:
        """The wait the instance's rate limit asks for, noted on the poll's result."""
        wait = self._rate(visit["source"].id, response, refused)
        if wait is not None and visit["result"].retry_after is None:
            visit["result"].retry_after, visit["result"].retry_reason = wait[0], "X-RateLimit"
            visit["result"].notes.append(wait[1])
        return wait

    def _next_stream(self, visit: dict, response: Response | None
                     ) -> Iterator[scrapy.Request | FetchResult]:
        if visit["streams"] and visit["result"].retry_after is None:
            yield self._stream_request(visit, visit["streams"].pop(0), 1)
            return
        self.in_flight.discard(visit["source"].id)
        yield closed_visit(visit)

    def on_mastodon_stream_error(self, failure: Failure) -> Iterator[scrapy.Request | FetchResult]:
        meta = failure.request.meta
        visit, stream = meta["visit"], meta["stream"]
        response = getattr(failure.value, "response", None)
        if response is not None:
            visit["result"].status = response.status
        refused = isinstance(failure.value, HttpError) and response.status == 429
        self._stop(visit, response, refused)
        visit["errors"].append(f"{stream.name}: {self.why(failure)}"[:300])
        yield from self._next_stream(visit, response)

    # -- hot statuses ------------------------------------------------------------

    def mastodon_thread(self, source: Source, ref: ThreadRef) -> scrapy.Request:
        """Re-read a flagged status: first the status (its counters), then its context."""
        headers, _note = request_headers(parse_rules(source.rules))
        sid = ref.key.removeprefix("s:")
        return scrapy.Request(
            status_url(source.url, sid), headers=headers, callback=self.parse_mastodon_status,
            errback=self.on_thread_error, dont_filter=True,
            meta=self._meta(source, ref=ref, source=source, is_poll=False, sid=sid,
                            headers=headers))

    def parse_mastodon_status(self, response: Response) -> Iterator[scrapy.Request
                                                                     | ThreadResult]:
        meta = response.meta
        source, ref = meta["source"], meta["ref"]
        self._rate(source.id, response)
        try:
            root = parse_body(response.body)
        except ValueError as exc:
            yield from self._thread_failed(source, ref, response.url, str(exc))
            return
        yield scrapy.Request(
            context_url(source.url, meta["sid"]), headers=meta["headers"],
            callback=self.parse_mastodon_context, errback=self.on_thread_error,
            dont_filter=True, meta={**meta, "root": root})

    def parse_mastodon_context(self, response: Response) -> Iterator[ThreadResult]:
        meta = response.meta
        source, ref = meta["source"], meta["ref"]
        self._rate(source.id, response)
        try:
            page = extract_context(meta["root"], parse_body(response.body), ref.key)
        except ValueError as exc:
            yield from self._thread_failed(source, ref, response.url, str(exc))
            return
        if page.title and not ref.title:
            ref.title = page.title
        self.threads_in_flight.discard((source.id, ref.key))
        yield ThreadResult(source_id=source.id, ref=ref, page_url=response.url,
                           posts=page.posts, replies=page.replies, done=True)

    def _thread_failed(self, source: Source, ref: ThreadRef, url: str, error: str
                       ) -> Iterator[ThreadResult]:
        self.threads_in_flight.discard((source.id, ref.key))
        yield ThreadResult(source_id=source.id, ref=ref, page_url=url,
                           error=f"cannot read {url}: {error}"[:300])
