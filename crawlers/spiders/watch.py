"""The one long-running spider: polls every enabled source when it is due.

Feeds are one request. Forums are a listing (or one thread) and then the
threads whose listing entry changed, each read from where the last visit
ended (``Thread.resume_url``) to its last page; threads with a flagged
mention stay "hot" and are re-read every ``hot_interval_s`` for a while.

It stays open on ``spider_idle`` and feeds due requests to the engine from a
reactor timer (the engine's idle check runs only every 5 s, so scheduling from
``spider_idle`` alone would add up to 5 s to every poll). Each tick claims a few
due sources with leases (crawlers/claims.py: an indexed read of the due rows,
never-polled first), so several crawl workers can share one PostgreSQL database;
the leases of sources in flight are renewed, and given back on a clean close.
Re-polled URLs carry ``dont_filter=True`` or the dupefilter would drop them. With
``once=True`` it polls every enabled source one time, ignoring backoff, and
closes when done.
"""

from __future__ import annotations

import json
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
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from sqlmodel import select
from twisted.internet import task
from twisted.python.failure import Failure

from crawlers import claims
from crawlers.claims import ClaimedSource
from crawlers.extractors.feed import MalformedFeed, read_feed
from crawlers.extractors.text import sniff_text
from crawlers.forums import Forum, forum_for, repeated_page, signature
from crawlers.guard import GUARD_META, PrivateAddressRefused
from crawlers.items import FetchResult, ThreadPage, ThreadRef, ThreadResult
from crawlers.mastodon_sse import streamed
from crawlers.schedule import is_due, retry_after_seconds
from crawlers.spiders.bluesky import BlueskyEngagement
from crawlers.spiders.hackernews import HackerNewsPolls
from crawlers.spiders.mastodon import MastodonCrawl
from crawlers.spiders.reddit import RedditCrawl
from db.engine import open_database, read_session
from db.models import Source, Thread, utcnow

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
    if isinstance(exc, PrivateAddressRefused):
        return str(exc)[:300]
    for kind, text in _CAUSES:
        if isinstance(exc, kind):
            return text
    if isinstance(exc, DownloadCancelledError):  # DOWNLOAD_MAXSIZE exceeded
        return f"too large: {exc}"[:300]
    detail = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {detail}"[:300]


MAX_PAGES_PER_VISIT = 50
NOTHING = "extraction returned nothing"
# Askbot answers /post_comments/ only to XMLHttpRequest; the JSON is what we want anyway
FOLLOW_HEADERS = {"X-Requested-With": "XMLHttpRequest", "Accept": "application/json"}


# kinds whose polls never revisit a thread: their hot threads are re-read with --once too
REREAD_HOT_ONCE = ("mastodon", "reddit")


class WatchSpider(HackerNewsPolls, MastodonCrawl, BlueskyEngagement, RedditCrawl, scrapy.Spider):
    name = "watch"

    def __init__(self, *args, once: bool | str = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.once = once in (True, "1", "true", "yes")
        self.in_flight: set[int] = set()
        self.threads_in_flight: set[tuple[int, str]] = set()
        self.forums: dict[int, Forum] = {}
        self.forum_specs: dict[int, str] = {}
        # per source, per thread: why its last visit stopped early (kept on health)
        self.visit_notes: dict[int, dict[str, str]] = {}
        self.mastodon_quiet = {}  # source id: no request before (its rate limit)
        self.reddit_tokens, self.reddit_waiting = {}, {}  # OAuth tokens, and who awaits one
        self.closing = False
        self._timer: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs) -> WatchSpider:  # noqa: ANN001
        spider = super().from_crawler(crawler, *args, **kwargs)
        url = crawler.settings.get("CRISISWATCH_DATABASE")
        if not url:
            raise NotConfigured("set CRISISWATCH_DATABASE to the database URL")
        spider.engine = open_database(url)  # also lets `scrapy crawl watch` start cold
        get = crawler.settings
        spider.claimer = claims.Claimer(
            spider.engine, lease_s=get.getfloat("CRISISWATCH_LEASE", claims.LEASE_S),
            limit=get.getint("CRISISWATCH_CLAIM_LIMIT", claims.CLAIM_LIMIT),
            max_claimed=get.getint("CRISISWATCH_MAX_CLAIMED", claims.MAX_CLAIMED))
        spider.worker_id = spider.claimer.owner  # the store pipeline checks leases by it
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        return spider

    # -- scheduling ------------------------------------------------------

    def due_sources(self) -> list[ClaimedSource]:
        """Due sources now leased to this worker, not in flight (with ``once``, all);
        stream kinds are read by their own consumers, never claimed here."""
        return self.claimer.due(self.in_flight, every=self.once)

    def due_hot_threads(self) -> list[tuple[Source, Thread]]:
        """Threads with a flagged mention, due for their next quick re-read."""
        now = utcnow()
        with read_session(self.engine) as s:
            rows = s.exec(select(Source, Thread).join(Thread, Thread.source_id == Source.id)
                          .where(Source.enabled == True, Thread.hot_until > now)).all()  # noqa: E712
        return [(src, t) for src, t in rows if (src.id, t.key) not in self.threads_in_flight
                and (self.once or is_due(t.next_visit_at, now)) and not self.held_back(src)]

    def _forum(self, source: ClaimedSource | Source) -> Forum:
        """The source's forum reader, rebuilt when its URL, preset or rules change
        (an admin may edit a source in the console while the daemon runs)."""
        spec = json.dumps([source.kind, source.url, source.preset, source.rules],
                          sort_keys=True, default=str)
        if self.forum_specs.get(source.id) != spec or source.id not in self.forums:
            self.forums[source.id] = forum_for(source.kind, source.url, source.preset,
                                               source.rules)
            self.forum_specs[source.id] = spec
        return self.forums[source.id]

    def _meta(self, src: ClaimedSource | Source, **extra: object) -> dict:
        meta = {"source_id": src.id, "source_name": src.name, "source_kind": src.kind,
                GUARD_META: src.managed_by == "console", **extra}
        if not src.obey_robots:
            meta["dont_obey_robotstxt"] = True
        return meta

    def request_for(self, source: ClaimedSource) -> scrapy.Request | None:
        self.in_flight.add(source.id)
        if source.kind == "mastodon":
            if not self.once and streamed(source.rules):  # its stream reads it
                self.in_flight.discard(source.id)
                return None
            return self.mastodon_poll(source)
        if source.kind == "reddit":
            return self.reddit_poll(source)
        if source.kind == "feed":
            headers = {}
            if source.etag:
                headers["If-None-Match"] = source.etag
            if source.last_modified:
                headers["If-Modified-Since"] = source.last_modified
            return scrapy.Request(
                source.url, headers=headers, callback=self.parse_feed_response,
                errback=self.on_error, dont_filter=True,
                meta=self._meta(source, handle_httpstatus_list=[304]))
        if source.kind == "hackernews":
            return self.hn_request(source)
        forum = self._forum(source)
        if source.page == "thread":
            ref = ThreadRef(key=forum.key(source.url), url=source.url)
            return self.thread_request(source, ref, resume=self._resume_url(source.id, ref),
                                       signature=None, is_poll=True)
        return scrapy.Request(forum.listing_url(source.url), callback=self.parse_listing,
                              errback=self.on_error, dont_filter=True,
                              meta=self._meta(source, source=source))

    def thread_request(self, source: ClaimedSource | Source, ref: ThreadRef, *,
                       resume: str | None, signature: str | None, is_poll: bool = False,
                       pages: int = 1, visit: dict | None = None) -> scrapy.Request:
        self.threads_in_flight.add((source.id, ref.key))
        if source.kind in ("mastodon", "reddit"):  # reddit's is None without credentials
            return (self.mastodon_thread if source.kind == "mastodon" else self.reddit_thread)(
                source, ref)
        visit = visit if visit is not None else {"urls": set(), "pages": set(), "last": None}
        return scrapy.Request(
            resume or ref.url, callback=self.parse_thread, errback=self.on_thread_error,
            dont_filter=True,
            meta=self._meta(source, ref=ref, signature=signature, is_poll=is_poll,
                            pages=pages, source=source, visit=visit))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self._requests_due():
            yield request
        if not self.once:
            tick = self.crawler.settings.getfloat("CRISISWATCH_TICK", 0.5)
            self._timer = task.LoopingCall(self._schedule_due)
            self._timer.start(tick, now=False)

    def _requests_due(self) -> Iterator[scrapy.Request]:
        for source in self.due_sources():
            try:
                request = self.request_for(source)
            except ValueError as exc:  # rules that no longer validate
                self.in_flight.discard(source.id)
                log.error("source %s cannot be crawled: %s", source.name, exc)
                continue
            if request is not None:
                yield request
        hot = self.due_hot_threads()
        yield from self.bsky_requests(hot)  # batched, and with --once too: never polled
        for source, thread in hot:
            if source.kind == "bluesky" or (self.once and source.kind not in REREAD_HOT_ONCE):
                continue
            if source.kind == "hackernews":
                yield self.hn_item_request(source, thread)
            else:
                ref = ThreadRef(key=thread.key, url=thread.url, title=thread.title)
                yield from filter(None, [self.thread_request(  # None: nothing to read
                    source, ref, resume=thread.resume_url, signature=thread.crawled_signature)])

    def _schedule_due(self) -> None:
        if self.closing:
            return
        try:
            self.claimer.renew_due(self.in_flight)
            for request in self._requests_due():
                self.crawler.engine.crawl(request)
        except Exception:  # a locked or unreachable database must not kill the timer
            log.exception("could not schedule due sources; will try again")

    def _on_idle(self) -> None:
        if not self.once and not self.closing:
            raise DontCloseSpider

    def _on_closed(self, spider: scrapy.Spider, reason: str) -> None:
        self.closing = True
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.claimer.close()

    # -- feeds -----------------------------------------------------------

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
            read = read_feed(response.body, url=response.url, content_type=content_type)
        except MalformedFeed as exc:
            result.error = str(exc)
        except Exception as exc:  # whatever it was, the source must be marked and backed off
            log.exception("feed %s could not be read", response.url)
            result.error = f"cannot read the feed: {type(exc).__name__}: {exc}"[:300]
        else:
            result.posts, result.notes = read.items, read.notes
            result.etag = _header(response, b"ETag")
            result.last_modified = _header(response, b"Last-Modified")
        yield result

    # -- forums ----------------------------------------------------------

    def _known_threads(self, source_id: int, keys: list[str]) -> dict[str, Thread]:
        with read_session(self.engine) as s:
            rows = s.exec(select(Thread).where(Thread.source_id == source_id,
                                               Thread.key.in_(keys))).all()
        return {t.key: t for t in rows}

    def _resume_url(self, source_id: int, ref: ThreadRef) -> str | None:
        known = self._known_threads(source_id, [ref.key]).get(ref.key)
        return known.resume_url if known else None

    def parse_listing(self, response: Response) -> Iterator[FetchResult | scrapy.Request]:
        source_id = response.meta["source_id"]
        self.in_flight.discard(source_id)
        result = FetchResult(source_id=source_id, status=response.status)
        try:
            listing = self.forums[source_id].listing(response.body, _text(response),
                                                      response.url)
        except ValueError as exc:
            result.error = f"cannot read the listing: {exc}"[:300]
            yield result
            return
        if not listing.threads:
            result.error = f"{NOTHING}: no threads on {response.url} (layout changed?)"
            yield result
            return
        result.threads = listing.threads
        result.notes += list(self.visit_notes.get(source_id, {}).values())
        yield result
        known = self._known_threads(source_id, [t.key for t in listing.threads])
        source = response.meta["source_name"]
        src = response.meta["source"]
        for ref in listing.threads:
            thread = known.get(ref.key)
            sig = signature(ref)
            if (source_id, ref.key) in self.threads_in_flight:
                continue
            if thread is None or thread.crawled_signature != sig:
                log.debug("%s: thread %s changed", source, ref.key)
                yield self.thread_request(src, ref, resume=thread.resume_url if thread else None,
                                          signature=sig)

    def parse_thread(self, response: Response) -> Iterator[ThreadResult | FetchResult
                                                           | scrapy.Request]:
        meta = response.meta
        source, ref, visit = meta["source"], meta["ref"], meta["visit"]
        result = ThreadResult(source_id=source.id, ref=ref, page_url=response.url,
                              signature=meta["signature"])
        try:
            page = self.forums[source.id].thread(response.body, _text(response), response.url,
                                                  ref.key)
        except ValueError as exc:
            page, result.error = None, f"cannot read {response.url}: {exc}"[:300]
        here = {response.url, response.request.url if response.request else response.url}
        if page is not None and (note := repeated_page(visit, response.url, here, page, ref)):
            page, result.page_url, result.notes = None, visit["last"], [note]
            log.warning("source %s: %s", source.name, note)
        if page is not None:
            result.posts, result.replies, result.views = page.posts, page.replies, page.views
            if page.title and not ref.title:
                ref.title = page.title
            if not page.posts and meta["pages"] == 1:
                result.error = f"{NOTHING}: no posts on {response.url} (layout changed?)"
            yield from self._follow_ups(source, ref, response.url, page)
        next_page = page.next_page if page else None
        more = bool(next_page) and next_page not in here and result.error is None
        if more and next_page in visit["urls"]:
            more, result.notes = False, [f"thread {ref.key}: the next-page link of "
                                         f"{response.url} leads back to {next_page}, already "
                                         "read in this visit; stopped there"]
            log.warning("source %s: %s", source.name, result.notes[0])
        if more and meta["pages"] < MAX_PAGES_PER_VISIT:
            yield result
            yield self.thread_request(source, ref, resume=next_page, signature=meta["signature"],
                                      is_poll=meta["is_poll"], pages=meta["pages"] + 1,
                                      visit=visit)
            return
        if more:
            log.info("source %s: thread %s: %d pages read, the rest next visit", source.name,
                     ref.key, meta["pages"])
        yield from self._end_visit(source, ref, result, more, response.status, meta["is_poll"])

    def _end_visit(self, source: Source, ref: ThreadRef, result: ThreadResult, more: bool,
                   status: int, is_poll: bool) -> Iterator[ThreadResult | FetchResult]:
        result.done = result.error is None and not more
        self.threads_in_flight.discard((source.id, ref.key))
        notes = self.visit_notes.setdefault(source.id, {})
        if result.notes:
            notes[ref.key] = result.notes[0]
        elif result.error is None:
            notes.pop(ref.key, None)
        yield result
        if is_poll:
            self.in_flight.discard(source.id)
            yield FetchResult(source_id=source.id, status=status, error=result.error,
                              notes=list(notes.values()))

    def _follow_ups(self, source: Source, ref: ThreadRef, page_url: str, page: ThreadPage
                    ) -> Iterator[scrapy.Request]:
        """One request per post whose comments the page does not all show."""
        for url in page.follow:
            yield scrapy.Request(
                url, callback=self.parse_followed, errback=self.on_follow_error,
                dont_filter=True, headers=FOLLOW_HEADERS,
                meta=self._meta(source, ref=ref, page_url=page_url, title=page.title))

    def parse_followed(self, response: Response) -> Iterator[ThreadResult]:
        meta = response.meta
        ref = meta["ref"]
        posts = self.forums[meta["source_id"]].followed(
            response.body, meta["page_url"], ref.key, meta["title"] or ref.title)
        yield ThreadResult(source_id=meta["source_id"], ref=ref, page_url=meta["page_url"],
                           posts=posts, extra=True)

    def on_follow_error(self, failure: Failure) -> None:
        """A post's extra comments could not be read: the page's posts are stored
        already; the comments come with the next visit of the thread."""
        log.warning("source %s: follow-up %s failed: %s", failure.request.meta["source_name"],
                    failure.request.url, _describe(failure))

    def on_thread_error(self, failure: Failure) -> Iterator[ThreadResult | FetchResult]:
        meta = failure.request.meta
        source, ref = meta["source"], meta["ref"]
        self.threads_in_flight.discard((source.id, ref.key))
        error = _describe(failure)
        yield ThreadResult(source_id=source.id, ref=ref, page_url=failure.request.url,
                           error=error)
        if meta["is_poll"]:
            self.in_flight.discard(source.id)
            yield _failed(failure, source.id, error)

    @staticmethod
    def why(failure: Failure) -> str:
        """Why a fetch failed, in a few words (for the mixins' errbacks)."""
        return _describe(failure)

    def on_error(self, failure: Failure) -> Iterator[FetchResult]:
        source_id = failure.request.meta["source_id"]
        self.in_flight.discard(source_id)
        yield _failed(failure, source_id, _describe(failure))


def _describe(failure: Failure) -> str:
    try:
        return describe_failure(failure)
    except Exception:  # the source must be marked whatever went wrong here
        return f"fetch failed: {type(failure.value).__name__}"


def _failed(failure: Failure, source_id: int, error: str) -> FetchResult:
    response = getattr(failure.value, "response", None)
    status = response.status if response is not None else None
    wait = retry_after_seconds(_header(response, b"Retry-After")) if response is not None else None
    return FetchResult(source_id=source_id, status=status, error=error, retry_after=wait)


def _text(response: Response) -> str:
    """Decoded page text: the declared encoding (header, BOM, meta), else sniffed;
    empty for non-text bodies."""
    if not isinstance(response, TextResponse):
        return ""
    content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
    sniffed = sniff_text(response.body, content_type)
    return sniffed if sniffed is not None else response.text


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1")[:500] if value else None
