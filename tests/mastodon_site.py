"""A fake Mastodon instance on 127.0.0.1 for the crawl tests.

Statuses are shaped like the recorded responses in
../shared/data/forums/mastodon/ (``get_timeline_hashtag_anonymous.yml``: a JSON list
of Status objects with ``id``, ``created_at``, ``in_reply_to_id``, ``spoiler_text``,
``uri``, ``url``, ``replies_count``, ``reblogs_count``, ``favourites_count``,
``content`` as HTML with Mastodon's hashtag and link markup, ``account.acct``;
``get_context_anonymous.yml``: ``{"ancestors": [], "descendants": [...]}``; the
``x-ratelimit-limit/remaining/reset`` headers every answer carries). Paging follows
Mastodon's documented timeline parameters: ``min_id`` returns the statuses right
after it (oldest first, then listed newest first), without it the newest ``limit``.

Streaming follows docs.joinmastodon.org/methods/streaming/: ``/api/v1/streaming/
hashtag?tag=``, ``/public`` and ``/public/local`` answer ``text/event-stream`` to a
Bearer token (401 without), with ``:thump`` heartbeats and ``event: update`` /
``data: <Status JSON>`` for each status ``push``ed after the connection opened.
``drops`` cuts a connection (no more bytes, socket closed) after that many
updates; ``add`` without ``push`` is a status the stream never carried.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import parse_qs, urlsplit

from monitor.lab.localsite import LoopbackServer, QuietHandler

RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@dataclass
class Toot:
    id: int
    acct: str
    text: str
    tags: tuple[str, ...] = ()
    reply_to: int | None = None
    local: bool = True
    boosts: int = 0
    favourites: int = 0


@dataclass
class FakeMastodon:
    toots: dict[int, Toot] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    remaining: int = 299
    refuse: bool = False  # answer 429, as an instance whose budget is spent
    token: str = "s3cret"
    pushed: list[int] = field(default_factory=list)  # toot ids, in the order streamed
    drops: list[int | None] = field(default_factory=list)  # per connection: cut after n
    streamed: list[str] = field(default_factory=list)  # streaming paths connected to
    heartbeat_s: float = 0.2
    streaming: str | None = None  # another host named for streaming (/api/v2/instance)

    def __post_init__(self) -> None:
        self.closed = threading.Event()
        self.server = LoopbackServer(self._handler()).start()

    @property
    def base(self) -> str:
        return self.server.base

    def stop(self) -> None:
        self.closed.set()
        self.server.stop()

    def push(self, toot: Toot) -> Toot:
        """A status that appears on the instance and goes out on its open streams."""
        self.add(toot)
        self.pushed.append(toot.id)
        return toot

    def _carries(self, path: str, query: dict, toot: Toot) -> bool:
        if toot.reply_to is not None:
            return False
        if path.endswith("/hashtag"):
            return query.get("tag", [""])[0].casefold() in (t.casefold() for t in toot.tags)
        return toot.local or not path.endswith("/local")

    def stream_to(self, handler: QuietHandler, path: str, query: dict) -> None:
        """Serve one SSE connection: heartbeats and the statuses pushed from now on."""
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            handler.reply(401, b'{"error":"The access token is invalid"}', "application/json")
            return
        self.streamed.append(path + (f"?tag={query['tag'][0]}" if "tag" in query else ""))
        drop = self.drops.pop(0) if self.drops else None
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        at, sent, beat = len(self.pushed), 0, 0.0
        try:
            while not self.closed.is_set():
                while at < len(self.pushed):
                    toot = self.toots[self.pushed[at]]
                    at += 1
                    if not self._carries(path, query, toot):
                        continue
                    if drop is not None and sent >= drop:
                        return
                    data = json.dumps(self.status(toot))
                    handler.wfile.write(f"event: update\ndata: {data}\n\n".encode())
                    handler.wfile.flush()
                    sent += 1
                if time.monotonic() - beat >= self.heartbeat_s:
                    handler.wfile.write(b":thump\n\n")
                    handler.wfile.flush()
                    beat = time.monotonic()
                time.sleep(0.02)
        except OSError:  # the client went away
            return

    def add(self, toot: Toot) -> Toot:
        self.toots[toot.id] = toot
        return toot

    def replies_to(self, toot_id: int) -> list[Toot]:
        return [t for t in self.toots.values() if t.reply_to == toot_id]

    def status(self, t: Toot) -> dict:
        """A Status as the recorded timelines carry it (only the fields we read, and
        the markup Mastodon puts in ``content``)."""
        tags = " ".join(f'<a href="{self.base}/tags/{x}" class="mention hashtag" rel="tag">'
                        f"#<span>{x}</span></a>" for x in t.tags)
        return {
            "id": str(t.id), "created_at": (RECENT + timedelta(seconds=t.id)).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"),
            "in_reply_to_id": str(t.reply_to) if t.reply_to else None,
            "in_reply_to_account_id": None, "sensitive": False, "spoiler_text": "",
            "visibility": "public", "language": "en",
            "uri": f"{self.base}/users/{t.acct}/statuses/{t.id}",
            "url": f"{self.base}/@{t.acct}/{t.id}",
            "replies_count": len(self.replies_to(t.id)), "reblogs_count": t.boosts,
            "favourites_count": t.favourites, "edited_at": None,
            "content": f"<p>{escape(t.text)} {tags}</p>", "reblog": None,
            "account": {"id": str(abs(hash(t.acct)) % 10**9), "username": t.acct,
                        "acct": t.acct, "display_name": t.acct.title(),
                        "url": f"{self.base}/@{t.acct}"},
            "media_attachments": [], "mentions": [], "tags": [], "emojis": [],
            "card": None, "poll": None,
        }

    def page(self, chosen: list[Toot], query: dict) -> list[dict]:
        limit = int(query.get("limit", ["20"])[0])
        chosen = sorted(chosen, key=lambda t: t.id)
        if "min_id" in query:
            after = int(query["min_id"][0])
            chosen = [t for t in chosen if t.id > after][:limit]
        else:
            chosen = chosen[-limit:]
        return [self.status(t) for t in reversed(chosen)]

    def answer(self, path: str, query: dict, auth: str | None) -> tuple[int, object]:
        top = [t for t in self.toots.values() if t.reply_to is None]
        if path.startswith("/api/v1/timelines/tag/"):
            tag = path.rsplit("/", 1)[1].casefold()
            return 200, self.page([t for t in top if tag in (x.casefold() for x in t.tags)],
                                  query)
        if path == "/api/v1/timelines/public":
            local = query.get("local", ["false"])[0] == "true"
            return 200, self.page([t for t in top if t.local or not local], query)
        if path == "/api/v2/search":
            if auth != f"Bearer {self.token}":
                return 401, {"error": "The access token is invalid"}
            words = query["q"][0].casefold()
            found = [t for t in self.toots.values() if words in t.text.casefold()]
            return 200, {"accounts": [], "hashtags": [], "statuses": self.page(found, query)}
        if path == "/api/v2/instance":  # who streams: itself unless told otherwise
            return 200, {"domain": "127.0.0.1", "configuration": {"urls": {
                "streaming": (self.streaming or self.base).replace("http://", "ws://")}}}
        parts = path.split("/")
        if path.startswith("/api/v1/statuses/") and parts[4].isdigit():
            toot = self.toots.get(int(parts[4]))
            if toot is None:
                return 404, {"error": "Record not found"}
            if len(parts) == 5:
                return 200, self.status(toot)
            if parts[5] == "context":
                return 200, {"ancestors": [], "descendants": [
                    self.status(t) for t in self._descendants(toot.id)]}
        return 404, {"error": "Not found"}

    def _descendants(self, toot_id: int) -> list[Toot]:
        out = []
        for reply in sorted(self.replies_to(toot_id), key=lambda t: t.id):
            out += [reply, *self._descendants(reply.id)]
        return out

    def _handler(self) -> type[QuietHandler]:
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path == "/robots.txt":
                    self.reply(404)
                    return
                if parts.path.startswith("/api/v1/streaming/"):
                    site.stream_to(self, parts.path, parse_qs(parts.query))
                    return
                site.requests.append(self.path)
                site.auth.append(self.headers.get("Authorization"))
                reset = (datetime.now(UTC) + timedelta(minutes=5)).strftime(
                    "%Y-%m-%dT%H:%M:%S.%fZ")
                headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Reset": reset,
                           "X-RateLimit-Remaining": str(max(0, site.remaining))}
                site.remaining -= 1
                if site.refuse:
                    self.reply(429, b'{"error":"Too many requests"}', "application/json",
                               headers)
                    return
                status, data = site.answer(parts.path, parse_qs(parts.query),
                                           self.headers.get("Authorization"))
                self.reply(status, json.dumps(data).encode(), "application/json; charset=utf-8",
                           headers)

        return Handler
