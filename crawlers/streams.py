"""The Jetstream consumer of a ``bluesky`` source: one WebSocket, read for as long
as the daemon runs, in a thread of its own (``StreamThread``) beside the spider.

A firehose is a stream, not a poll: it reconnects with exponential backoff and
resumes from the cursor stored with the last batch of posts (rewound a little,
``jetstream.resume_from``). Posts the ``keep`` filter accepts (the brands'
keywords, passed in by the daemon: crawlers know no brands) are stored in
batches: every ``batch`` kept posts or ``flush_s`` seconds, whichever comes first,
each batch with the cursor of the last event read before it. Nothing stored is
read again but the rewind, and nothing read is lost: a crash loses only what was
not yet committed, and that is read again from the cursor.

Uses ``websockets`` (asyncio, pure Python with a C speed-up, maintained since
2013, no dependencies): Scrapy has no WebSocket client, and a firehose wants one
long connection rather than requests."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import websockets
from sqlalchemy import Engine
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from crawlers.items import PostItem
from crawlers.jetstream import MARGIN_US, event_time, read_event, resume_from, subscribe_url
from crawlers.pipelines.stream_store import (
    CONNECTED,
    RECONNECTING,
    STOPPED,
    record_stream_state,
    store_stream_batch,
    stored_cursor,
)

log = logging.getLogger("crisiswatch.stream")
USER_AGENT = "crisiswatch/0.1 (brand monitoring)"


@dataclass
class StreamOptions:
    batch: int = 500  # kept posts per commit at most
    flush_s: float = 1.0  # a commit at least this often while events arrive
    margin_us: int = MARGIN_US
    backoff_s: float = 1.0  # first wait after a lost connection; doubles each failure
    max_backoff_s: float = 60.0
    open_timeout_s: float = 10.0


async def reconnecting(connection: Callable[[], Awaitable[str | None]], engine: Engine,
                       source_id: int, options: StreamOptions, *,
                       before: Callable[[], Awaitable[object]] | None = None) -> None:
    """Run ``connection()`` until cancelled: it returns an error, or None when the
    server closed a stream that had worked (the backoff starts again). Each wait
    doubles up to ``max_backoff_s`` and shows on the source's health. Shared by the
    Jetstream and Mastodon consumers, which differ only in what one connection reads."""
    failures = 0
    while True:
        if before is not None:
            await before()
        error = await connection()
        if error is None:
            failures = 0
            error = "the server closed the stream"
        failures += 1
        wait = min(options.max_backoff_s, options.backoff_s * 2 ** (failures - 1))
        log.warning("source #%s: %s; reconnecting in %g s", source_id, error, wait)
        record_stream_state(engine, source_id, RECONNECTING,
                            f"{error}; reconnecting in {wait:g} s")
        await asyncio.sleep(wait)


@dataclass
class JetstreamConsumer:
    """Reads one source's stream until cancelled. ``on_stored(new_posts)`` is called
    (in the consumer's thread) after each commit that stored new posts."""

    engine: Engine
    source_id: int
    url: str
    keep: Callable[[str], bool]
    on_stored: Callable[[int], None] = lambda new: None
    options: StreamOptions = field(default_factory=StreamOptions)
    # before each connection: read what the replay cannot reach (crawlers/bsky_backfill.py)
    backfill: Callable[[], Awaitable[int]] | None = None
    events: int = 0  # events read, for tests and the bench
    pending: list[PostItem] = field(default_factory=list)
    cursor: int | None = None  # time_us of the last event read, not yet committed
    last_flush: float = 0.0

    async def run(self) -> None:
        """Connect, read, and on any failure wait and reconnect from the stored
        cursor; on cancellation commit what was read and say ``stopped``."""
        try:
            await reconnecting(self._connection, self.engine, self.source_id, self.options,
                               before=self.backfill)
        finally:
            self._flush_quietly()
            record_stream_state(self.engine, self.source_id, STOPPED)

    async def _connection(self) -> str | None:
        """One connection, read to its end; None when it delivered events (so the
        backoff starts again), else why it failed."""
        start = resume_from(stored_cursor(self.engine, self.source_id), self.options.margin_us)
        read_before = self.events
        try:
            async with connect(subscribe_url(self.url, start), user_agent_header=USER_AGENT,
                               open_timeout=self.options.open_timeout_s,
                               close_timeout=2) as ws:
                record_stream_state(self.engine, self.source_id, CONNECTED)
                log.info("source #%s: stream connected from cursor %s", self.source_id, start)
                flusher = asyncio.create_task(self._flush_every(ws))
                try:
                    async for message in ws:
                        self.handle(message)
                finally:
                    flusher.cancel()
                self.flush()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever it was, back off and resume from the cursor
            self.pending, self.cursor = [], None  # read again from the stored cursor
            return describe(exc)
        return None if self.events > read_before else "the stream sent no events"

    def handle(self, message: str | bytes) -> None:
        """One message: parse, filter, batch; commit when the batch is full or old."""
        try:
            seen = read_event(json.loads(message), self.keep)
        except ValueError:  # not JSON: nothing to resume from, nothing to store
            return
        if seen is None:
            return
        self.events += 1
        if seen.post is not None:
            self.pending.append(seen.post)
        if self.cursor is None or seen.time_us > self.cursor:
            self.cursor = seen.time_us
        if len(self.pending) >= self.options.batch or \
                time.monotonic() - self.last_flush >= self.options.flush_s:
            self.flush()

    def flush(self) -> None:
        """Commit the kept posts with the cursor; raises when the database refuses
        (the connection then ends and is read again from the stored cursor)."""
        self.last_flush = time.monotonic()
        if self.cursor is None:
            return
        posts, cursor = self.pending, self.cursor
        new = store_stream_batch(self.engine, self.source_id, posts, cursor,
                                 event_time(cursor))
        self.pending, self.cursor = [], None
        if new:
            log.info("source #%s: %d new posts", self.source_id, new)
            self.on_stored(new)

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:
            log.exception("source #%s: the last batch could not be stored; it is read "
                          "again from the stored cursor at the next start", self.source_id)

    async def _flush_every(self, ws) -> None:  # noqa: ANN001 - a websockets connection
        """Commits what waits when the stream goes quiet (``handle`` commits only
        when a message arrives); a commit that fails ends the connection, which is
        then read again from the stored cursor."""
        while True:
            await asyncio.sleep(self.options.flush_s)
            if time.monotonic() - self.last_flush < self.options.flush_s:
                continue
            try:
                self.flush()
            except Exception:
                log.exception("source #%s: could not store a batch", self.source_id)
                await ws.close(1011, "could not store")
                return


def describe(exc: BaseException) -> str:
    """A short, human cause for a lost or refused connection (goes on health)."""
    if isinstance(exc, InvalidStatus):
        return f"HTTP {exc.response.status_code} on connecting"
    if isinstance(exc, ConnectionClosed):
        return f"connection lost ({exc})"[:300]
    if isinstance(exc, TimeoutError):
        return "timed out connecting"
    if isinstance(exc, OSError):
        return f"cannot connect: {exc.strerror or exc}"[:300]
    if isinstance(exc, websockets.exceptions.WebSocketException):
        return f"WebSocket error: {exc}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


class StreamThread:
    """Runs a consumer in a thread with its own event loop; ``stop`` cancels it,
    which commits what was read, and waits for the thread."""

    def __init__(self, consumer: JetstreamConsumer) -> None:
        self.consumer = consumer
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self.thread = threading.Thread(target=self._main, daemon=True,
                                       name=f"stream-{consumer.source_id}")

    def start(self) -> StreamThread:
        self.thread.start()
        self._ready.wait(5)
        return self

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._task = self._loop.create_task(self.consumer.run())
        self._ready.set()
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("source #%s: the stream stopped", self.consumer.source_id)
        finally:
            self._loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._task.cancel)
            except RuntimeError:  # the loop closed in between
                pass
        self.thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()


@dataclass
class Sample:
    """What ``sources test`` saw of a stream: events read and the posts kept."""

    url: str
    events: int = 0
    posts: list[PostItem] = field(default_factory=list)
    error: str | None = None


async def sample(url: str, keep: Callable[[str], bool], *, seconds: float,
                 max_events: int, open_timeout_s: float = 10.0) -> Sample:
    """Read the live tail for ``seconds`` (or ``max_events``), storing nothing."""
    found = Sample(subscribe_url(url, None))
    try:
        async with connect(found.url, user_agent_header=USER_AGENT,
                           open_timeout=open_timeout_s, close_timeout=2) as ws:
            async with asyncio.timeout(seconds):
                async for message in ws:
                    seen = read_event(json.loads(message), keep)
                    found.events += seen is not None
                    if seen is not None and seen.post is not None:
                        found.posts.append(seen.post)
                    if found.events >= max_events:
                        break
    except TimeoutError:
        if not found.events:
            found.error = "no event within the time given"
    except Exception as exc:
        found.error = describe(exc)
    return found
