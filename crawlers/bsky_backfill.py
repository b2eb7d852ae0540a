"""Back-fill of a ``bluesky`` source: the posts Jetstream cannot replay, read from
``app.bsky.feed.searchPosts`` with an app password (``crawlers/bluesky.py`` for the
shapes). The firehose replays from a cursor only so far back; posts made before
a source's first start, or during a disconnect longer than that, would be lost.

It runs in the Jetstream consumer before it connects: at the consumer's start
(from the last event stored, at most ``backfill_hours`` back), and again whenever
the stored stream has fallen further behind than ``REPLAY_S``. Each of the
brands' keywords is searched newest first, page by page back to that time; the
posts the brand filter keeps are stored, each once (entry keys are the AT URIs
Jetstream's posts have), and the stream's cursor is left alone. A failure (a
wrong password, the service down) goes on the source's health and the stream
starts anyway."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine

from crawlers import bluesky as bsky
from crawlers.extractors.text import storable
from crawlers.items import PostItem
from crawlers.pipelines.stream_store import store_backfill
from db.engine import read_session, session
from db.models import Source, as_utc, utcnow

log = logging.getLogger("crisiswatch.stream")
# how far back we assume a Jetstream instance replays: a day (an assumption, not
# measured; an instance may keep more or less)
REPLAY_S = 24 * 3600.0
USER_AGENT = "crisiswatch/0.1 (brand monitoring)"


@dataclass
class Backfill:
    engine: Engine
    source_id: int
    options: bsky.BlueskyOptions
    terms: Callable[[], list[str]]  # the brands' keywords, searched one by one
    keep: Callable[[str], bool]
    on_stored: Callable[[int], None] = lambda new: None
    started: bool = False
    timeout_s: float = 20.0

    def since(self, now: datetime) -> datetime | None:
        """Where to read back from now, or None when the stream's replay covers it."""
        with read_session(self.engine) as s:
            source = s.get(Source, self.source_id)
            last = as_utc(source.stream_event_at) if source and source.stream_event_at else None
        floor = now - timedelta(hours=self.options.backfill_hours)
        if self.started and last is not None and (now - last).total_seconds() <= REPLAY_S:
            return None
        return max(floor, last) if last is not None else floor

    async def __call__(self) -> int:
        """Back-fill if due; the number of new posts (errors go on health)."""
        since = self.since(utcnow())
        self.started = True
        if since is None:
            return 0
        try:
            new = await self.run(since)
        except Exception as exc:  # the stream goes on; health says why there is a gap
            why = describe(exc)
            log.error("source #%s: back-fill failed: %s", self.source_id, why)
            note(self.engine, self.source_id, f"back-fill failed: {why}")
            return 0
        note(self.engine, self.source_id, None)
        if new:
            log.info("source #%s: back-fill stored %d posts", self.source_id, new)
            self.on_stored(new)
        return new

    async def run(self, since: datetime) -> int:
        env = self.options.app_password_env or ""
        password = os.environ.get(env, "").strip()
        if not password:
            raise ValueError(f"{env} is not set in the daemon's environment (the app "
                             "password for back-fill)")
        async with httpx.AsyncClient(timeout=self.timeout_s,
                                     headers={"User-Agent": USER_AGENT}) as client:
            answer = await client.post(bsky.session_url(self.options.pds), json={
                "identifier": self.options.handle, "password": password})
            answer.raise_for_status()
            auth = {"Authorization": f"Bearer {bsky.access_token(answer.json())}"}
            found: dict[str, PostItem] = {}
            for term in dict.fromkeys(self.terms()):
                for post in await self._search(client, auth, term, since):
                    found.setdefault(post.entry_key, post)
        posts = sorted(found.values(), key=lambda p: (p.published_at or since, p.entry_key))
        return store_backfill(self.engine, self.source_id, posts)

    async def _search(self, client: httpx.AsyncClient, auth: dict, term: str,
                      since: datetime) -> list[PostItem]:
        out, cursor = [], None
        for _page in range(bsky.SEARCH_PAGES):
            answer = await client.get(bsky.search_url(self.options.pds, term, since, cursor),
                                      headers=auth)
            answer.raise_for_status()
            posts, cursor = bsky.search_page(answer.json())
            out += [p for p in posts if self.keep(p.text)]
            if cursor is None or not posts:
                break
        return out


def note(engine: Engine, source_id: int, text: str | None) -> None:
    """The back-fill's trouble on the source's health (None: it worked)."""
    with session(engine) as s, s.begin():
        source = s.get(Source, source_id)
        if source is not None and (text or (source.health_note or "").startswith("back-fill")):
            source.health_note = storable(text)[:500] if text else None
            s.add(source)


def describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.path}"
    if isinstance(exc, httpx.TransportError):
        return f"cannot reach the service: {type(exc).__name__} {exc}"[:300]
    return str(exc)[:300] if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"[:300]
