"""The store pipeline: the crawl's database writes, off the reactor thread and
several to a commit.

The store pipeline used to commit each fetch and each thread page on the reactor
thread: while the database worked (a round trip per statement, a commit, an fsync)
no response was parsed and no request sent; that was most of the gap between a
forum crawl and bare Scrapy on the same pages (issue 20). Now one writer thread
takes the items in the order they were handed over and stores whatever has queued
up meanwhile (at most ``max_batch``) in one transaction, so a busy crawl commits
less often and an idle one commits each item at once (no timer, no added wait).
At most ``PENDING_BATCHES`` batches wait: beyond that the crawl waits for the
database rather than holding ever more responses in memory.

Nothing is acknowledged early: an item's Deferred fires only after the
transaction holding its rows committed, and a fetch's schedule, cursor and lease
move inside that same transaction (crawlers/pipelines/store.py), so a crash loses
only uncommitted work whose sources were never moved on: their leases lapse and
they are polled again. If a batch fails (a deadlock with another worker, a row
the database refuses), it is rolled back and its items are stored one by one, each
failure going on its own source's health as before.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from sqlalchemy import Engine
from sqlmodel import Session
from twisted.internet.defer import Deferred

from crawlers import signals as cw_signals
from crawlers.items import FetchResult, ThreadResult
from crawlers.pipelines.store import (
    plain_fetch,
    store_fetches_in,
    store_result,
    store_result_in,
    store_thread_page,
    store_thread_page_in,
)
from db.engine import make_engine, session

log = logging.getLogger("crisiswatch.crawl")

MAX_BATCH = 50  # items a transaction: bounds the time a batch holds its source rows
# items waiting for the writer, in batches: past this, handing one over blocks the
# reactor until the writer catches up (without it a crawl faster than its database
# held every waiting response in memory: 10,000 feeds grew one worker past 600 MB)
PENDING_BATCHES = 4
Item = FetchResult | ThreadResult
_STOP = object()


def store_one(engine: Engine, item: Item, owner: str | None) -> int:
    """One item in its own transaction; a failure goes on its source's health."""
    if isinstance(item, ThreadResult):
        return store_thread_page(engine, item)
    return store_result(engine, item, owner)


def store_many(engine: Engine, items: list[Item], owner: str | None) -> list[int]:
    """Store ``items`` in one transaction, in order; how many posts each added.
    If that transaction fails, each item is stored in its own."""
    if len(items) > 1:
        try:
            with session(engine) as s, s.begin():
                return _store_in(s, items, owner)
        except Exception as exc:
            log.warning("storing %d fetches together failed (%s: %s); storing them one by "
                        "one", len(items), type(exc).__name__, str(exc)[:200])
    return [store_one(engine, item, owner) for item in items]


def _store_in(s: Session, items: list[Item], owner: str | None) -> list[int]:
    """Each run of plain fetches together (``store_fetches_in``), the rest one by
    one, all in ``items``' order."""
    counts: list[int] = []
    start = 0
    while start < len(items):
        end = start
        while end < len(items) and plain_fetch(items[end]):
            end += 1
        if end > start:
            counts += store_fetches_in(s, items[start:end], owner)
            start = end
            continue
        item = items[start]
        counts.append(store_thread_page_in(s, item) if isinstance(item, ThreadResult)
                      else store_result_in(s, item, owner))
        start += 1
    return counts


class StoreWriter:
    """One thread storing handed-over items in order, a batch per transaction;
    each ``submit`` answers with a Deferred fired (on the reactor) after commit."""

    def __init__(self, engine: Engine, owner: str | None, *, max_batch: int = MAX_BATCH,
                 call_in_reactor: Callable[..., None] | None = None) -> None:
        if call_in_reactor is None:
            from twisted.internet import reactor

            call_in_reactor = reactor.callFromThread
        self.engine, self.owner, self.max_batch = engine, owner, max(1, max_batch)
        self._call = call_in_reactor
        self._queue: queue.Queue = queue.Queue(maxsize=self.max_batch * PENDING_BATCHES)
        self._thread = threading.Thread(target=self._run, name="crisiswatch-store",
                                         daemon=True)
        self._thread.start()

    def submit(self, item: Item) -> Deferred:
        """Hand ``item`` over (waiting while the queue is full)."""
        done: Deferred = Deferred()
        self._queue.put((item, done))
        return done

    def close(self) -> None:
        """Store what is queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _next_batch(self) -> tuple[list[tuple[Item, Deferred]], bool]:
        """The next items (waiting for the first), and whether to stop after them."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is _STOP:
                return batch, True
            batch.append(more)
        return batch, False

    def _run(self) -> None:
        stop = False
        while not stop:
            batch, stop = self._next_batch()
            if not batch:
                continue
            try:
                counts = store_many(self.engine, [item for item, _ in batch], self.owner)
            except Exception:  # store_one records its own failures; this is a bug
                log.exception("the store writer failed on %d items", len(batch))
                counts = [0] * len(batch)
            for (_, done), new in zip(batch, counts, strict=True):
                self._call(done.callback, new)


class StorePipeline:
    """Connects in ``open_spider`` and disposes in ``close_spider`` (Scrapy's DB
    example); the writes go through one writer thread (crawlers/pipelines/writer.py),
    and an item moves on (its ``fetch_stored`` sent) only once its rows committed."""

    def __init__(self, url: str, crawler) -> None:  # noqa: ANN001
        self.url = url
        self.crawler = crawler
        self.engine: Engine | None = None
        self.writer: StoreWriter | None = None
        self.poll_started: Callable[[int], datetime | None] = lambda source_id: None

    @classmethod
    def from_crawler(cls, crawler) -> StorePipeline:  # noqa: ANN001
        url = crawler.settings.get("CRISISWATCH_DATABASE")
        if not url:
            raise NotConfigured("CRISISWATCH_DATABASE is not set")
        return cls(url, crawler)

    def open_spider(self, spider=None) -> None:  # noqa: ANN001
        self.engine = make_engine(self.url)
        claimer = getattr(self.crawler.spider, "claimer", None)  # the watch spider's leases
        if claimer is not None:  # when each poll went out: its next is counted from it
            self.poll_started = claimer.poll_started
            self.crawler.signals.connect(claimer.response_received,
                                         signal=signals.response_received)
        self.writer = StoreWriter(
            self.engine, getattr(self.crawler.spider, "worker_id", None),
            max_batch=self.crawler.settings.getint("CRISISWATCH_STORE_BATCH", MAX_BATCH))

    def close_spider(self, spider=None) -> None:  # noqa: ANN001
        if self.writer is not None:
            self.writer.close()
        if self.engine is not None:
            self.engine.dispose()

    async def process_item(self, item, spider=None):  # noqa: ANN001, ANN201
        if not isinstance(item, ThreadResult | FetchResult):
            return item
        if isinstance(item, FetchResult) and item.started_at is None:
            item.started_at = self.poll_started(item.source_id)
        new = await maybe_deferred_to_future(self.writer.submit(item))
        if isinstance(item, ThreadResult):
            ctx = {"source": item.source_id, "thread_key": item.ref.key}
            if item.error:
                log.warning("thread %s failed: %s", item.ref.key, item.error, extra=ctx)
            elif new:
                log.info("thread %s: %d new posts", item.ref.title or item.ref.key, new,
                         extra={**ctx, "new_posts": new})
        else:
            _log_fetch(item, new)
        self.crawler.signals.send_catch_log(
            cw_signals.fetch_stored, source_id=item.source_id, new_posts=new)
        return item


def _log_fetch(item: FetchResult, new: int) -> None:
    name, ctx = f"source #{item.source_id}", {"source": item.source_id}
    if item.error:
        log.warning("%s failed: %s", name, item.error, extra=ctx)
    elif item.not_modified:
        log.debug("%s not modified", name, extra=ctx)
    elif item.threads:
        log.info("%s listing: %d threads", name, len(item.threads), extra=ctx)
    else:
        log.info("%s fetched: %d entries, %d new", name, len(item.posts), new,
                 extra={**ctx, "new_posts": new})
