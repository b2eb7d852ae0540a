"""The streaming consumer of a ``kind: mastodon`` source with a token: one
server-sent-events connection per hashtag or timeline (``crawlers/mastodon_sse.py``),
read for as long as the daemon runs, in a ``StreamThread`` beside the spider (as
the Bluesky Jetstream consumer is).

Each connection opens its streams first and only then catches up by REST from
the stored cursor (``min_id``, the newest status id stored per stream), so what
was posted while it was away (a restart, a dropped connection) is read by the
catch-up and what comes after by the stream: nothing falls between. A status
seen twice (by both) is stored once: posts are deduplicated by their key, and
the cursor only moves forward. Each streamed status is stored at once with its
stream's new cursor, in one transaction. Searches have no stream: they are
polled on the source's interval. On any failure it waits (exponential backoff),
says so on the source's health, and reconnects.

The streams are read from the host the instance names in ``/api/v2/instance``
(``configuration.urls.streaming``; an instance may stream from another host),
else from the instance's own address.

Lag on health (``stream_event_at``): the creation time of the last status
stored, or the time of the last heartbeat, whichever is later: up to then the
stream is known complete.

Uses ``httpx`` (async, maintained, already the test client): Scrapy fetches
pages and cannot hold one response open for hours and hand it over line by
line; an SSE stream wants exactly that."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import Engine

from crawlers.extractors.mastodon import extract_stream, status_id, status_item, thread_ref
from crawlers.items import FetchResult, PostItem
from crawlers.mastodon import (
    MAX_PAGES,
    MastodonRules,
    Stream,
    base_of,
    newest,
    stream_url,
    streams,
)
from crawlers.mastodon_sse import (
    UPDATE,
    EventReader,
    instance_url,
    streaming_base,
    streaming_url,
)
from crawlers.pipelines.store import store_result
from crawlers.pipelines.stream_store import (
    CONNECTED,
    STOPPED,
    record_stream_state,
)
from crawlers.streams import USER_AGENT, StreamOptions, reconnecting
from db.engine import read_session, session
from db.models import Source, utcnow

log = logging.getLogger("crisiswatch.stream")


@dataclass
class MastodonStreamConsumer:
    """Reads one source's streams until cancelled; ``on_stored(new)`` after each
    commit that stored new posts (in the consumer's thread)."""

    engine: Engine
    source_id: int
    base: str
    rules: MastodonRules
    token: str
    on_stored: Callable[[int], None] = lambda new: None
    options: StreamOptions = field(default_factory=StreamOptions)
    poll_s: float = 60.0  # how often searches (which have no stream) are polled
    read_timeout_s: float = 90.0  # no byte, not even a heartbeat, for this long: reconnect
    guard: Callable[[str], str | None] = lambda url: None  # why a URL is refused, if it is
    events: int = 0  # updates read, for tests
    last_stored: datetime | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "User-Agent": USER_AGENT}

    async def run(self) -> None:
        try:
            await reconnecting(self._connection, self.engine, self.source_id, self.options)
        finally:
            record_stream_state(self.engine, self.source_id, STOPPED)

    async def _connection(self) -> str | None:
        """Open every stream, catch up by REST, then read until one ends; None when
        it delivered something (the backoff starts again), else why it failed."""
        before = self.events
        timeout = httpx.Timeout(self.options.open_timeout_s, read=self.read_timeout_s)
        polled = [s for s in streams(self.rules) if streaming_url(self.base, s) is None]
        try:
            async with httpx.AsyncClient(headers=self.headers, timeout=timeout) as client, \
                    AsyncExitStack() as stack:
                host = await self.streaming_host(client)
                live = [(s, u) for s in streams(self.rules) if (u := streaming_url(host, s))]
                opened = []
                for stream, url in live:
                    response = await stack.enter_async_context(client.stream("GET", url))
                    response.raise_for_status()
                    opened.append((stream, response))
                record_stream_state(self.engine, self.source_id, CONNECTED)
                await self.catch_up(client, [s for s, _ in live] + polled)
                tasks = [asyncio.create_task(self._read(s, r)) for s, r in opened]
                if polled:
                    tasks.append(asyncio.create_task(self._poll_every(client, polled)))
                try:
                    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for t in tasks:
                        t.cancel()
                for t in done:
                    t.result()  # raises what ended it
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return describe(exc)
        return None if self.events > before else "the stream ended without a status"

    async def streaming_host(self, client: httpx.AsyncClient) -> str:
        """The host the instance streams from (``/api/v2/instance``), its own
        address when it names none or cannot say; a host the URL guard refuses
        (a console-added source) is an error."""
        try:
            answer = await client.get(instance_url(self.base))
            host = streaming_base(answer.json() if answer.status_code == 200 else None,
                                  self.base)
        except (httpx.HTTPError, ValueError):
            host = base_of(self.base)
        if host != base_of(self.base) and (why := self.guard(host)):
            raise ValueError(f"the streaming host {host} is refused: {why}")
        return host

    async def _read(self, stream: Stream, response: httpx.Response) -> None:
        reader = EventReader()
        async for line in response.aiter_lines():
            event = reader.feed(line.rstrip("\r"))
            if event is None:
                continue
            if event.heartbeat:
                self._heard()
            elif event.name == UPDATE:
                self.events += 1
                self.handle(stream, event.data)

    def handle(self, stream: Stream, data: str) -> None:
        """One streamed status: stored with its stream's new cursor."""
        try:
            status = json.loads(data)
        except ValueError:
            return
        item, sid = status_item(status), status_id(status) if isinstance(status, dict) else None
        if item is None or sid is None:
            return
        cursor = newest([sid], self._cursor().get(stream.name))
        self._store([item], {stream.name: cursor} if cursor else {})

    async def catch_up(self, client: httpx.AsyncClient, polled: list[Stream]) -> None:
        """Each stream from its stored cursor, page after page (``min_id``), as the
        spider's poll reads it; a stream never read starts at its newest page."""
        for stream in polled:
            cursor = self._cursor().get(stream.name)
            for _page in range(MAX_PAGES):
                response = await client.get(stream_url(self.base, stream, cursor))
                response.raise_for_status()
                page = extract_stream(response.json())
                following = newest(page.ids, cursor)
                self._store(page.posts[::-1],  # a page lists newest first: store in order
                            {stream.name: following} if following else {})
                if cursor is None or not page.ids or page.count < self.rules.limit:
                    break
                cursor = following

    async def _poll_every(self, client: httpx.AsyncClient, polled: list[Stream]) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            await self.catch_up(client, polled)

    def _cursor(self) -> dict:
        with read_session(self.engine) as s:
            source = s.get(Source, self.source_id)
            return dict(source.cursor or {}) if source is not None else {}

    def _store(self, posts: list[PostItem], cursor: dict[str, str]) -> None:
        result = FetchResult(source_id=self.source_id, status=200, posts=posts,
                             threads=[thread_ref(p) for p in posts], cursor=cursor)
        new = store_result(self.engine, result)
        times = [p.published_at for p in posts if p.published_at is not None]
        self._mark(max(times) if times else None)
        if new:
            log.info("source #%s: %d new statuses", self.source_id, new)
            self.on_stored(new)

    def _heard(self) -> None:
        self._mark(utcnow())

    def _mark(self, when: datetime | None) -> None:
        """Move ``stream_event_at`` (the lag on health) forward to ``when``."""
        if when is None or (self.last_stored is not None and when <= self.last_stored):
            return
        self.last_stored = when = min(when, utcnow())
        with session(self.engine) as s, s.begin():
            source = s.get(Source, self.source_id)
            if source is not None:
                source.stream_event_at = when
                s.add(source)


def describe(exc: BaseException) -> str:
    """A short cause for a lost or refused connection (goes on health)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.path}"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out (no heartbeat)" if isinstance(exc, httpx.ReadTimeout) \
            else "timed out connecting"
    if isinstance(exc, httpx.TransportError):
        return f"connection lost: {type(exc).__name__} {exc}"[:300]
    if isinstance(exc, ValueError):  # ours, or an answer that is not JSON
        return f"{exc}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
