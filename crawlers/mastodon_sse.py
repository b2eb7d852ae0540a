"""Mastodon's streaming API (server-sent events) for a ``kind: mastodon`` source
with a token: which streams it can follow, their URLs, and the event format. Pure.

Mastodon documents (docs.joinmastodon.org/methods/streaming/) one long HTTP GET
per stream, answered as ``text/event-stream``::

    GET /api/v1/streaming/hashtag?tag=acme        (hashtag/local for local only)
    GET /api/v1/streaming/public                  (public/local: the local timeline)
    Authorization: Bearer <token>

    :thump                          <- a heartbeat comment, every few seconds

    event: update
    data: {"id": "1093", "content": "<p>...</p>", ...}   <- a Status, as in timelines

    event: delete
    data: 1093

An event is its ``event:`` and ``data:`` lines up to a blank line; several
``data:`` lines join with a newline. Searches have no stream: they stay polled.
An instance may serve streaming on another host: ``/api/v2/instance`` names it
in ``configuration.urls.streaming`` (``wss://streaming.example.social``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode, urlsplit

from crawlers.mastodon import MastodonRules, Stream, base_of, parse_rules

UPDATE = "update"


def token_for(rules: MastodonRules, environ: Mapping[str, str] | None = None) -> str | None:
    """The source's access token when one is configured (``token_env``) and set in
    this process's environment: then the source is streamed, else polled."""
    if not rules.token_env:
        return None
    token = (environ if environ is not None else os.environ).get(rules.token_env, "")
    return token.strip() or None


def streamed(rules: dict | None) -> bool:
    """Whether a source with these rules is streamed by its consumer (the daemon's
    spider then leaves its timelines alone; ``--once`` still polls it)."""
    try:
        return token_for(parse_rules(rules)) is not None
    except ValueError:
        return False


def instance_url(base: str) -> str:
    return f"{base_of(base)}/api/v2/instance"


def streaming_base(instance: object, base: str) -> str:
    """Where the instance serves its streams: the host ``/api/v2/instance`` names
    (``wss://`` read as ``https://``), else the instance's own address."""
    config = instance.get("configuration") if isinstance(instance, dict) else None
    urls = config.get("urls") if isinstance(config, dict) else None
    named = urls.get("streaming") if isinstance(urls, dict) else None
    if not isinstance(named, str):
        return base_of(base)
    parts = urlsplit(named.strip())
    scheme = {"wss": "https", "ws": "http", "https": "https", "http": "http"}.get(parts.scheme)
    return f"{scheme}://{parts.netloc}" if scheme and parts.hostname else base_of(base)


def streaming_url(base: str, stream: Stream) -> str | None:
    """The SSE endpoint that carries what ``stream`` polls; None for a search."""
    root = f"{base_of(base)}/api/v1/streaming"
    if stream.name.startswith("tag:"):
        tag = stream.path.rsplit("/", 1)[1]
        return f"{root}/hashtag?{urlencode({'tag': unquote(tag)})}"
    if stream.name == "local":
        return f"{root}/public/local"
    if stream.name == "federated":
        return f"{root}/public"
    return None


@dataclass(frozen=True)
class Event:
    """One server-sent event: its name (``update``, ``delete``, ...) and data;
    a heartbeat comment is ``Event("", "", heartbeat=True)``."""

    name: str
    data: str
    heartbeat: bool = False


@dataclass
class EventReader:
    """Turns the stream's lines into events (``feed`` one line, without its end)."""

    name: str = ""
    data: list[str] = field(default_factory=list)

    def feed(self, line: str) -> Event | None:
        if line == "":
            if not self.data and not self.name:
                return None
            event = Event(self.name or "message", "\n".join(self.data))
            self.name, self.data = "", []
            return event
        if line.startswith(":"):
            return Event("", "", heartbeat=True)
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "event":
            self.name = value
        elif key == "data":
            self.data.append(value)
        return None  # id:, retry: and unknown fields are not used
