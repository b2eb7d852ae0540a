"""Loopback HTTP servers for the demo and the tests: a site whose feed entries
and phpBB-style forum threads appear over time (feeds with ETag / 304), and a
receiver for apprise's ``json://``.

Both bind 127.0.0.1 on a free port and run in a daemon thread."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape


@dataclass
class Entry:
    id: str
    title: str
    body: str
    appear_at: float = 0.0  # script seconds
    replies: list[tuple[float, int]] = field(default_factory=list)  # (script s, count)

    def replies_at(self, t: float) -> int | None:
        seen = [count for at, count in self.replies if at <= t]
        return seen[-1] if seen else None


@dataclass
class ForumThread:
    """A phpBB-style thread: its posts are Entries (id, author in ``title``, body)."""

    id: int
    title: str
    posts: list[Entry] = field(default_factory=list)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def render_phpbb_listing(threads: list[tuple[ForumThread, int, float]]) -> bytes:
    """viewforum.php as phpBB 3 (prosilver) marks it up; (thread, replies, last post)."""
    rows = "".join(
        f'<li class="row"><dl><dt><a class="topictitle" href="./viewtopic.php?f=1&amp;t={t.id}">'
        f"{escape(t.title)}</a></dt><dd class=\"posts\">{replies}</dd>"
        f'<dd class="views">{10 * (replies + 1)}</dd><dd class="lastpost"><span>'
        f'<time datetime="{_iso(last)}">{_iso(last)}</time></span></dd></dl></li>'
        for t, replies, last in threads)
    return (f'<html><head><meta charset="utf-8"><title>Forum</title></head><body>'
            f'<ul class="topiclist topics">{rows}</ul></body></html>').encode()


def render_phpbb_thread(thread: ForumThread, posts: list[tuple[Entry, float]]) -> bytes:
    """viewtopic.php as phpBB 3 marks it up; one page (the demo's threads are short)."""
    items = "".join(
        f'<div id="p{escape(e.id)}" class="post"><div class="postbody"><p class="author">'
        f'<a href="./viewtopic.php?p={escape(e.id)}#p{escape(e.id)}">#</a> by '
        f'<a class="username" href="#">{escape(e.title)}</a> » '
        f'<time datetime="{_iso(ts)}">{_iso(ts)}</time></p>'
        f'<div class="content">{escape(e.body)}</div></div>'
        f'<dl class="postprofile"><dt><a class="username" href="#">{escape(e.title)}</a>'
        f"</dt></dl></div>" for e, ts in posts)
    return (f'<html><head><meta charset="utf-8"></head><body><h2 class="topic-title">'
            f'<a href="./viewtopic.php?t={thread.id}">{escape(thread.title)}</a></h2>'
            f"{items}</body></html>").encode()


def render_rss(title: str, base: str, entries: list[tuple[Entry, int | None, float]]) -> bytes:
    """RSS 2.0 with slash:comments; every text is XML-escaped."""
    items = []
    for entry, replies, published in entries:
        slash = f"<slash:comments>{replies}</slash:comments>" if replies is not None else ""
        items.append(
            f"<item><title>{escape(entry.title)}</title>"
            f"<link>{base}/posts/{escape(entry.id)}</link><guid>{escape(entry.id)}</guid>"
            f"<description>{escape(entry.body)}</description>"
            f"<pubDate>{formatdate(published, usegmt=True)}</pubDate>{slash}</item>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel>'
            f"<title>{escape(title)}</title><link>{base}/</link>"
            f"<description>{escape(title)}</description>{''.join(items)}</channel></rss>"
            ).encode()


class LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 and a free port; ``start()`` serves in
    a daemon thread, ``stop()`` shuts it down."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with ``reply``."""

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", content_type: str | None = None,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FeedSite:
    """Feeds at ``/<name>.xml``. Entries show once the script clock passes their
    time; ``override[name] = (status, body)`` serves anything instead (errors,
    malformed bodies), ``headers[name]`` adds response headers, ``redirect[name] = url``
    a 302 to ``url``. ``requests`` logs
    (path, If-None-Match, status)."""

    def __init__(self) -> None:
        self.feeds: dict[str, list[Entry]] = {}
        self.threads: list[ForumThread] = []
        self.override: dict[str, tuple[int, bytes]] = {}
        self.redirect: dict[str, str] = {}
        self.headers: dict[str, dict[str, str]] = {}  # extra response headers per feed
        self.requests: list[tuple[str, str | None, int]] = []
        self.speed = 1.0
        self.started = time.monotonic()
        self.appeared: dict[str, float] = {}  # entry id -> wall time it first appeared
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._handler())

    @property
    def base(self) -> str:
        return self.server.base

    def start_clock(self, speed: float = 1.0) -> None:
        self.speed, self.started = speed, time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self.started) * self.speed

    def when_visible(self, entry: Entry, before: float) -> float | None:
        """Monotonic time of the entry's latest change shown before ``before``."""
        wall = [self.started + t / self.speed
                for t in [entry.appear_at, *(at for at, _ in entry.replies)]]
        shown = [w for w in wall if w <= before]
        return max(shown) if shown else None

    def _wall(self, script_t: float) -> float:
        return time.time() - (self.now() - script_t) / self.speed

    def forum_listing(self) -> bytes:
        t = self.now()
        shown = []
        for thread in self.threads:
            visible = [e for e in thread.posts if e.appear_at <= t]
            if visible:
                shown.append((thread, len(visible) - 1, self._wall(visible[-1].appear_at)))
        shown.sort(key=lambda row: row[2], reverse=True)  # latest activity first
        return render_phpbb_listing(shown)

    def forum_thread(self, thread_id: int) -> bytes | None:
        thread = next((x for x in self.threads if x.id == thread_id), None)
        if thread is None:
            return None
        visible = [(e, self._wall(e.appear_at)) for e in thread.posts if e.appear_at <= self.now()]
        return render_phpbb_thread(thread, visible)

    def thread_of(self, post_id: str) -> ForumThread | None:
        return next((t for t in self.threads if any(e.id == post_id for e in t.posts)), None)

    def body(self, name: str) -> bytes:
        t = self.now()
        shown = [(e, e.replies_at(t), time.time() - (t - e.appear_at) / self.speed)
                 for e in self.feeds[name] if e.appear_at <= t]
        return render_rss(name, self.base, list(reversed(shown)))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path.endswith(".php"):
                    return self.forum(parts)
                name = self.path.strip("/").removesuffix(".xml")
                inm = self.headers.get("If-None-Match")
                if name in site.redirect:
                    with site.lock:
                        site.requests.append((self.path, inm, 302))
                    return self.reply(302, b"", "text/plain", {"Location": site.redirect[name]})
                if name in site.override:
                    status, body = site.override[name]
                elif name in site.feeds:
                    status, body = 200, site.body(name)
                else:
                    status, body = 404, b"not found"
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if status == 200 and inm == etag:
                    status, body = 304, b""
                with site.lock:
                    site.requests.append((self.path, inm, status))
                headers = {"ETag": etag} if status in (200, 304) else {}
                self.reply(status, body, "application/rss+xml; charset=utf-8",
                           {**headers, **site.headers.get(name, {})})

            def forum(self, parts) -> None:  # noqa: ANN001
                query = parse_qs(parts.query)
                body = None
                if parts.path.endswith("viewforum.php"):
                    body = site.forum_listing()
                elif parts.path.endswith("viewtopic.php") and query.get("t", [""])[0].isdigit():
                    body = site.forum_thread(int(query["t"][0]))
                with site.lock:
                    site.requests.append((self.path, None, 200 if body else 404))
                self.reply(200 if body else 404, body or b"", "text/html; charset=utf-8")

        return Handler


@dataclass
class Received:
    at: float  # time.monotonic()
    title: str
    body: str
    type: str


class AlertReceiver:
    """Accepts apprise ``json://`` posts; ``down = True`` answers 503 instead, and
    ``redirect_to = url`` a 307 to ``url`` (a hostile webhook pointing inwards)."""

    def __init__(self, on_alert: Callable[[Received], None] | None = None) -> None:
        self.received: list[Received] = []
        self.down = False
        self.redirect_to: str | None = None
        self.on_alert = on_alert
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._handler())

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.down:
                    self.reply(503)
                    return
                if receiver.redirect_to:
                    self.reply(307, headers={"Location": receiver.redirect_to})
                    return
                payload = json.loads(data or b"{}")
                item = Received(time.monotonic(), payload.get("title", ""),
                                payload.get("message", ""), payload.get("type", ""))
                with receiver.lock:
                    receiver.received.append(item)
                self.reply(200, b"ok")
                if receiver.on_alert:
                    receiver.on_alert(item)

        return Handler
