"""A small dynamic forum on 127.0.0.1 for crawl tests: threads gain posts
between polls, pages hold three posts, and every request is logged."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from monitor.lab.localsite import LoopbackServer, QuietHandler

# posts are dated two hours ago: older ones fall outside the default look-back (7 days)
# and would be stored but never alerted
RECENT = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
RECENT_ISO = RECENT.strftime("%Y-%m-%dT%H:%M:%SZ")

PAGE_SIZE = 3
RULES = {
    "key_pattern": r"/t/(\d+)",
    "listing": {"thread": "tr.thread", "link": "a.title::attr(href)",
                "title": "a.title::text", "replies": "td.replies::text",
                "views": "td.views::text"},
    "thread": {"post": "div.post", "id": "::attr(id)", "author": "span.author::text",
               "time": "time::attr(datetime)", "body": "div.body", "likes": "span.likes::text",
               "title": "h1::text", "next_page": "a.next::attr(href)"},
}


@dataclass
class FPost:
    id: int
    author: str
    body: str
    time: str = RECENT_ISO
    likes: int = 0


@dataclass
class FThread:
    id: int
    title: str
    posts: list[FPost] = field(default_factory=list)
    views: int = 10


class Forum:
    def __init__(self) -> None:
        self.threads: dict[int, FThread] = {}
        self.requests: list[str] = []
        self.stamps: list[float] = []  # time.monotonic() of each request, for benchmarks
        self.special: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.listing_broken = False
        self.lock = threading.Lock()
        self.server = LoopbackServer(self._handler()).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, thread_id: int, title: str, *posts: FPost) -> FThread:
        thread = self.threads.setdefault(thread_id, FThread(thread_id, title))
        thread.posts.extend(posts)
        return thread

    def stop(self) -> None:
        self.server.stop()

    def listing(self) -> str:
        if self.listing_broken:
            return "<html><body><div class='new-layout'>nothing here</div></body></html>"
        rows = "".join(
            f"<tr class='thread'><td><a class='title' href='/t/{t.id}'>{escape(t.title)}</a>"
            f"</td><td class='replies'>{len(t.posts) - 1}</td><td class='views'>{t.views}</td>"
            "</tr>" for t in self.threads.values())
        return f"<html><body><table>{rows}</table></body></html>"

    def thread_page(self, thread: FThread, page: int) -> str:
        chunk = thread.posts[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        posts = "".join(
            f"<div class='post' id='p{p.id}'><span class='author'>{escape(p.author)}</span>"
            f"<time datetime='{p.time}'>{p.time}</time><div class='body'>{escape(p.body)}</div>"
            f"<span class='likes'>{p.likes}</span></div>" for p in chunk)
        more = page * PAGE_SIZE < len(thread.posts)
        nxt = f"<a class='next' href='/t/{thread.id}?page={page + 1}'>next</a>" if more else ""
        return (f"<html><body><h1>{escape(thread.title)}</h1>{posts}{nxt}</body></html>")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        forum = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                with forum.lock:
                    forum.requests.append(self.path)
                    forum.stamps.append(time.monotonic())
                status, headers, body = self.route()
                headers = dict(headers)  # a copy: the special answers are reused
                self.reply(status, body, headers.pop("Content-Type", "text/html; charset=utf-8"),
                           headers)

            def route(self) -> tuple[int, dict[str, str], bytes]:
                parts = urlsplit(self.path)
                if self.path in forum.special:
                    return forum.special[self.path]
                if parts.path == "/forum":
                    return 200, {}, forum.listing().encode()
                if parts.path.startswith("/t/"):
                    thread = forum.threads.get(int(parts.path[3:]))
                    page = int(parse_qs(parts.query).get("page", ["1"])[0])
                    if thread:
                        return 200, {}, forum.thread_page(thread, page).encode()
                return 404, {}, b"not found"

        return Handler
