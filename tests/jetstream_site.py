"""A fake Jetstream on 127.0.0.1: a real WebSocket server (``websockets``) that
serves events shaped like the real ones and honours ``cursor`` and
``wantedCollections`` as the Jetstream README (github.com/bluesky-social/jetstream)
describes them:

- one JSON object per message: ``{"did", "time_us", "kind": "commit", "commit":
  {"rev", "operation", "collection", "rkey", "record": {"$type", "text",
  "createdAt", "langs", "reply"?}, "cid"}}``; ``kind`` ``identity`` and ``account``
  events carry ``identity`` / ``account`` objects instead, and deletes no record;
- ``cursor`` (Unix microseconds) replays from that time; without it, the live
  tail (only what is published after the connection opened);
- ``wantedCollections`` filters commits; identity and account events always come.

``drops`` makes it cut connections mid-stream (the TCP connection aborted, no
close frame), ``connections`` records each connection's cursor, and ``sent``
counts how often each event went out (a replay after a rewound cursor shows
there)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve


def post_event(time_us: int, did: str, rkey: str, text: str, *,
               reply_to: str | None = None) -> dict:
    record = {"$type": "app.bsky.feed.post", "text": text, "langs": ["en"],
              "createdAt": datetime.fromtimestamp(time_us / 1e6, UTC)
              .isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    if reply_to:
        ref = {"uri": reply_to, "cid": "bafyreiroot"}
        record["reply"] = {"root": ref, "parent": ref}
    return {"did": did, "time_us": time_us, "kind": "commit",
            "commit": {"rev": f"3l{time_us % 10**9:x}", "operation": "create",
                       "collection": "app.bsky.feed.post", "rkey": rkey,
                       "record": record, "cid": f"bafyrei{rkey}"}}


def noise_event(time_us: int, n: int) -> dict:
    """What else the stream carries: likes (filtered out by wantedCollections),
    deletes, identity and account events."""
    did = f"did:plc:noise{n % 17}"
    match n % 3:
        case 0:
            return {"did": did, "time_us": time_us, "kind": "commit",
                    "commit": {"rev": "3lx", "operation": "create",
                               "collection": "app.bsky.feed.like", "rkey": f"l{n}",
                               "record": {"$type": "app.bsky.feed.like",
                                          "createdAt": "2024-09-09T19:46:02.102Z",
                                          "subject": {"uri": "at://x", "cid": "y"}}}}
        case 1:
            return {"did": did, "time_us": time_us, "kind": "commit",
                    "commit": {"rev": "3ly", "operation": "delete",
                               "collection": "app.bsky.feed.post", "rkey": f"d{n}"}}
        case _:
            return {"did": did, "time_us": time_us, "kind": "identity",
                    "identity": {"did": did, "handle": f"n{n}.bsky.social", "seq": n,
                                 "time": "2024-09-09T19:46:02.102Z"}}


def timeline(texts: list[str | None], *, start: datetime | None = None,
             step_us: int = 1000) -> list[dict]:
    """Events one ``step_us`` apart: a post for each text, a noise event for None."""
    t0 = int(((start or datetime.now(UTC) - timedelta(seconds=30)).timestamp()) * 1e6)
    return [post_event(t0 + i * step_us, f"did:plc:user{i % 50}", f"r{i:05d}", text)
            if text is not None else noise_event(t0 + i * step_us, i)
            for i, text in enumerate(texts)]


class FakeJetstream:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.drops: list[int | None] = []  # per connection: abort after this many events
        self.connections: list[int | None] = []  # the cursor each connection asked for
        self.sent: Counter[int] = Counter()  # time_us -> times sent
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop: asyncio.Future | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    def publish(self, events: list[dict]) -> None:
        self._loop.call_soon_threadsafe(self.events.extend, events)

    def start(self) -> FakeJetstream:
        self._thread.start()
        self._started.wait(5)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(self._handler, "127.0.0.1", 0) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._started.set()
            await self._stop

    async def _handler(self, ws) -> None:  # noqa: ANN001
        query = parse_qs(urlsplit(ws.request.path).query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        wanted = set(query.get("wantedCollections", []))
        self.connections.append(cursor)
        drop = self.drops.pop(0) if self.drops else None
        i = len(self.events) if cursor is None else \
            next((k for k, e in enumerate(self.events) if e["time_us"] >= cursor),
                 len(self.events))
        sent = 0
        while True:
            while i < len(self.events):
                event = self.events[i]
                i += 1
                if wanted and event["kind"] == "commit" and \
                        event["commit"]["collection"] not in wanted:
                    continue
                if drop is not None and sent >= drop:
                    ws.transport.abort()  # a drop: no close frame
                    return
                await ws.send(json.dumps(event))
                self.sent[event["time_us"]] += 1
                sent += 1
            try:  # the live tail: wait for more, unless the connection is gone
                await asyncio.wait_for(ws.wait_closed(), 0.01)
                return
            except TimeoutError:
                pass
