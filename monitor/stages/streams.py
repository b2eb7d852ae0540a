"""The streams beside the spider: one Jetstream consumer (``crawlers/streams.py``)
per enabled ``bluesky`` source, filtered by the watched brands' keywords.

The firehose carries hundreds of posts a second and almost none name a brand:
the filter keeps only posts that ``BrandIndex`` (one Aho-Corasick scan, the
monitor stage's own matching) says mention an enabled brand, so the store sees
what the monitor stage would have kept anyway. The rules are re-read every
``RULES_TTL_S`` so a brand added in the console is watched without a restart.

``StreamSupervisor.refresh`` (called by the daemon's sweep) starts a consumer for
a new or re-enabled source and stops the one of a source disabled, deleted or
pointed at another URL."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Engine
from sqlmodel import select

from crawlers.jetstream import check_endpoint, plain_allowed
from crawlers.streams import JetstreamConsumer, StreamOptions, StreamThread
from crawlers.urlcheck import check_url
from db.engine import read_session
from db.models import Source
from monitor.stages.score import load_rules
from monitor.text.matching import BrandIndex
from monitor.text.normalize import normalize

log = logging.getLogger("crisiswatch.stream")
STREAM_KINDS = ("bluesky",)
RULES_TTL_S = 30.0


class BrandFilter:
    """``keep(text)``: does the text mention an enabled brand? The rules are loaded
    from the database and re-read every ``ttl`` seconds."""

    def __init__(self, engine: Engine | None, ttl: float = RULES_TTL_S,
                 index: BrandIndex | None = None) -> None:
        self.engine, self.ttl = engine, ttl
        self.index = index
        self.loaded = time.monotonic() if index is not None else float("-inf")

    def keep(self, text: str) -> bool:
        if self.engine is not None and time.monotonic() - self.loaded >= self.ttl:
            self.index, self.loaded = load_rules(self.engine), time.monotonic()
        return bool(self.index.match(normalize(text)))


class StreamSupervisor:
    """Keeps one running consumer per enabled stream source."""

    def __init__(self, engine: Engine, wake: Callable[[], None], *,
                 allow_private: Sequence[str] = (),
                 options: StreamOptions | None = None) -> None:
        self.engine, self.wake = engine, wake
        self.allow_private = list(allow_private)
        self.options = options or StreamOptions()
        self.running: dict[int, tuple[str, StreamThread]] = {}

    def wanted(self) -> dict[int, str]:
        """Enabled stream sources: id -> endpoint URL, refused ones left out (logged)."""
        with read_session(self.engine) as s:
            rows = s.exec(select(Source).where(Source.enabled == True,  # noqa: E712
                                               Source.kind.in_(STREAM_KINDS))).all()
        wanted = {}
        for src in rows:
            refused = check_endpoint(src.url, plain_allowed(self.allow_private))
            if src.managed_by == "console" and refused is None:
                refused = check_url(src.url, self.allow_private, schemes=("ws", "wss"))
            if refused:
                log.error("source %s is not streamed: %s", src.name, refused)
                continue
            wanted[src.id] = src.url
        return wanted

    def refresh(self) -> None:
        try:
            wanted = self.wanted()
        except Exception:  # a locked database must not stop the daemon's sweep
            log.exception("could not read the stream sources; will try again")
            return
        for source_id, (url, thread) in list(self.running.items()):
            if wanted.get(source_id) != url or not thread.alive:
                thread.stop()
                del self.running[source_id]
        for source_id, url in wanted.items():
            if source_id not in self.running:
                consumer = JetstreamConsumer(self.engine, source_id, url,
                                             BrandFilter(self.engine).keep,
                                             on_stored=lambda _new: self.wake(),
                                             options=self.options)
                self.running[source_id] = (url, StreamThread(consumer).start())

    def stop(self) -> None:
        """Stop every consumer; each commits what it read."""
        for _url, thread in self.running.values():
            thread.stop()
        self.running.clear()
