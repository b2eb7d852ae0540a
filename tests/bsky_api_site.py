"""A fake Bluesky AppView and PDS on 127.0.0.1 (plain HTTP): the three XRPC
methods a ``bluesky`` source calls besides Jetstream, shaped as the lexicons on
docs.bsky.app describe them:

- ``GET /xrpc/app.bsky.feed.getPosts?uris=..&uris=..`` (at most 25) ->
  ``{"posts": [PostView]}``, posts not found left out;
- ``POST /xrpc/com.atproto.server.createSession`` with ``{"identifier",
  "password"}`` -> ``{"accessJwt", "refreshJwt", "handle", "did"}``, else 401
  ``{"error": "AuthenticationRequired", "message": "Invalid identifier or password"}``;
- ``GET /xrpc/app.bsky.feed.searchPosts?q=&sort=latest&since=&limit=&cursor=`` with
  ``Authorization: Bearer <accessJwt>`` -> ``{"cursor"?, "hitsTotal", "posts":
  [PostView]}``, newest first, ``since`` inclusive, ``cursor`` an opaque offset.

A PostView: ``{"uri", "cid", "author": {"did", "handle"}, "record": {"$type",
"text", "createdAt"}, "replyCount", "repostCount", "likeCount", "quoteCount",
"indexedAt"}``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from monitor.lab.localsite import LoopbackServer, QuietHandler


@dataclass
class BskyPost:
    did: str
    rkey: str
    text: str
    created: datetime
    likes: int = 0
    reposts: int = 0
    replies: int = 0

    @property
    def uri(self) -> str:
        return f"at://{self.did}/app.bsky.feed.post/{self.rkey}"

    def view(self) -> dict:
        when = self.created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {"uri": self.uri, "cid": f"bafyrei{self.rkey}",
                "author": {"did": self.did, "handle": f"{self.rkey}.bsky.social"},
                "record": {"$type": "app.bsky.feed.post", "text": self.text,
                           "createdAt": when, "langs": ["en"]},
                "replyCount": self.replies, "repostCount": self.reposts,
                "likeCount": self.likes, "quoteCount": 0, "indexedAt": when}


@dataclass
class FakeBskyApi:
    posts: dict[str, BskyPost] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    handle: str = "acme.bsky.social"
    password: str = "abcd-efgh-ijkl-mnop"
    page_size: int | None = None  # cap searchPosts pages (default: the limit asked)

    def __post_init__(self) -> None:
        self.server = LoopbackServer(self._handler()).start()

    @property
    def base(self) -> str:
        return self.server.base

    def stop(self) -> None:
        self.server.stop()

    def add(self, post: BskyPost) -> BskyPost:
        self.posts[post.uri] = post
        return post

    def get_posts(self, query: dict) -> tuple[int, dict]:
        uris = query.get("uris", [])
        if len(uris) > 25:
            return 400, {"error": "InvalidRequest", "message": "uris must not have more "
                         "than 25 elements"}
        return 200, {"posts": [self.posts[u].view() for u in uris if u in self.posts]}

    def search(self, query: dict, auth: str | None) -> tuple[int, dict]:
        if auth != "Bearer jwt-for-" + self.handle:
            return 401, {"error": "AuthenticationRequired", "message": "Authentication Required"}
        words = query["q"][0].casefold()
        since = datetime.fromisoformat(query["since"][0].replace("Z", "+00:00"))
        hits = sorted((p for p in self.posts.values()
                       if words in p.text.casefold() and p.created >= since),
                      key=lambda p: p.created, reverse=True)
        limit = min(int(query.get("limit", ["25"])[0]), self.page_size or 100)
        start = int(query.get("cursor", ["0"])[0])
        page = hits[start:start + limit]
        out: dict = {"hitsTotal": len(hits), "posts": [p.view() for p in page]}
        if start + limit < len(hits):
            out["cursor"] = str(start + limit)
        return 200, out

    def login(self, body: bytes) -> tuple[int, dict]:
        data = json.loads(body or b"{}")
        if data.get("identifier") != self.handle or data.get("password") != self.password:
            return 401, {"error": "AuthenticationRequired",
                         "message": "Invalid identifier or password"}
        return 200, {"accessJwt": "jwt-for-" + self.handle, "refreshJwt": "refresh",
                     "handle": self.handle, "did": "did:plc:acmebrand"}

    def _handler(self) -> type[QuietHandler]:
        site = self

        class Handler(QuietHandler):
            def _answer(self, status: int, data: dict) -> None:
                self.reply(status, json.dumps(data).encode(), "application/json")

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path == "/robots.txt":
                    self.reply(404)
                    return
                site.requests.append(self.path)
                query = parse_qs(parts.query)
                if parts.path == "/xrpc/app.bsky.feed.getPosts":
                    self._answer(*site.get_posts(query))
                elif parts.path == "/xrpc/app.bsky.feed.searchPosts":
                    self._answer(*site.search(query, self.headers.get("Authorization")))
                else:
                    self._answer(404, {"error": "MethodNotImplemented"})

            def do_POST(self) -> None:  # noqa: N802
                site.requests.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/xrpc/com.atproto.server.createSession":
                    self._answer(*site.login(body))
                else:
                    self._answer(404, {"error": "MethodNotImplemented"})

        return Handler
