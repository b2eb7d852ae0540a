"""The streams beside the spider: one Jetstream consumer (``crawlers/streams.py``)
per enabled ``bluesky`` source, filtered by the watched brands' keywords, and one
server-sent-events consumer (``crawlers/mastodon_stream.py``) per enabled
``mastodon`` source whose token is set (without one, the spider polls it).

The firehose carries hundreds of posts a second and almost none name a brand:
the filter keeps only posts that ``BrandIndex`` (one Aho-Corasick scan, the
monitor stage's own matching) says mention an enabled brand, so the store sees
what the monitor stage would have kept anyway. The rules are re-read every
``RULES_TTL_S`` so a brand added in the console is watched without a restart.

``StreamSupervisor.refresh`` (called by the daemon's sweep) starts a consumer for
a new or re-enabled source and stops the one of a source disabled, deleted or
pointed at another URL."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Engine
from sqlmodel import select

from crawlers import bluesky as bsky
from crawlers.bsky_backfill import Backfill
from crawlers.jetstream import check_endpoint, plain_allowed
from crawlers.mastodon import parse_rules
from crawlers.mastodon_sse import token_for
from crawlers.mastodon_stream import MastodonStreamConsumer
from crawlers.streams import JetstreamConsumer, StreamOptions, StreamThread
from crawlers.urlcheck import check_url
from db.engine import read_session
from db.models import Brand, Source
from monitor.stages.score import load_rules
from monitor.text.matching import BrandIndex
from monitor.text.normalize import normalize

log = logging.getLogger("crisiswatch.stream")
STREAM_KINDS = ("bluesky", "mastodon")
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
        self.sources: dict[int, Source] = {}

    def wanted(self) -> dict[int, str]:
        """Enabled stream sources: id -> what they read (URL, and a mastodon
        source's rules), refused ones left out (logged)."""
        with read_session(self.engine) as s:
            rows = s.exec(select(Source).where(Source.enabled == True,  # noqa: E712
                                               Source.kind.in_(STREAM_KINDS))).all()
        wanted = {}
        for src in rows:
            if src.kind == "mastodon":
                spec = mastodon_spec(src)
                refused = None if spec is None or src.managed_by != "console" else \
                    check_url(src.url, self.allow_private)
            else:
                spec = json.dumps([src.url, src.rules], sort_keys=True) if src.rules else src.url
                refused = check_endpoint(src.url, plain_allowed(self.allow_private))
                if src.managed_by == "console" and refused is None:
                    refused = check_url(src.url, self.allow_private, schemes=("ws", "wss"))
                refused = refused or options_problem(src.rules)
            if refused:
                log.error("source %s is not streamed: %s", src.name, refused)
                continue
            if spec is not None:
                wanted[src.id], self.sources[src.id] = spec, src
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
                consumer = self.consumer(self.sources[source_id])
                self.running[source_id] = (url, StreamThread(consumer).start())

    def guard(self, src: Source) -> Callable[[str], str | None]:
        """Why a URL a console-added source leads to is refused (None: it is not)."""
        if src.managed_by != "console":
            return lambda _url: None
        return lambda url: check_url(url, self.allow_private)

    def consumer(self, src: Source) -> JetstreamConsumer | MastodonStreamConsumer:
        if src.kind == "mastodon":
            rules = parse_rules(src.rules)
            return MastodonStreamConsumer(self.engine, src.id, src.url, rules,
                                          token_for(rules) or "",
                                          on_stored=lambda _new: self.wake(),
                                          options=self.options,
                                          poll_s=float(src.interval_s or 60),
                                          guard=self.guard(src))
        keep = BrandFilter(self.engine).keep
        options = bsky.parse_options(src.rules)
        backfill = Backfill(self.engine, src.id, options, lambda: brand_keywords(self.engine),
                            keep, on_stored=lambda _new: self.wake()) \
            if options.backfill else None
        return JetstreamConsumer(self.engine, src.id, src.url, keep, backfill=backfill,
                                 on_stored=lambda _new: self.wake(), options=self.options)

    def stop(self) -> None:
        """Stop every consumer; each commits what it read."""
        for _url, thread in self.running.values():
            thread.stop()
        self.running.clear()


def mastodon_spec(src: Source) -> str | None:
    """What a mastodon source streams (its URL and rules), or None when it is polled:
    no token set in this process, or rules that do not validate (the spider says why)."""
    try:
        rules = parse_rules(src.rules)
    except ValueError:
        return None
    if token_for(rules) is None:
        return None
    return json.dumps([src.url, rules.as_dict(), src.interval_s], sort_keys=True)


def options_problem(rules: dict | None) -> str | None:
    try:
        bsky.parse_options(rules)
    except ValueError as exc:
        return str(exc)
    return None


def brand_keywords(engine: Engine) -> list[str]:
    """The enabled brands' keywords: what a back-fill searches for."""
    with read_session(engine) as s:
        rows = s.exec(select(Brand.keywords).where(Brand.enabled == True)).all()  # noqa: E712
    return [k for keywords in rows for k in keywords]
