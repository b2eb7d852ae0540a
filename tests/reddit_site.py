"""A fake Reddit (token endpoint and OAuth API) on 127.0.0.1 for the crawl tests.

No recorded Reddit JSON is in ../shared/data (only an old.reddit HTML page), so the
shapes are copied from Reddit's API documentation (https://www.reddit.com/dev/api:
``POST /api/v1/access_token``, ``GET /r/{sub}/new``, ``/r/{sub}/comments``,
``/r/{sub}/search``, ``/comments/{article}``) and the OAuth2 wiki
(https://github.com/reddit-archive/reddit/wiki/OAuth2): the token answer is
``{"access_token", "token_type": "bearer", "expires_in": 86400, "scope": "*"}``;
a listing is ``{"kind": "Listing", "data": {"after", "before", "dist", "children":
[{"kind": "t3", "data": {...}}]}}`` with the fields a post (``name``, ``id``,
``title``, ``selftext``, ``author``, ``created_utc``, ``score``, ``num_comments``,
``permalink``, ``url``, ``subreddit``) and a comment (``name``, ``body``,
``link_id``, ``parent_id``, ``link_title``, ``link_permalink``, ``replies``: a
listing or "") carry; every API answer has ``x-ratelimit-used``,
``x-ratelimit-remaining`` (a decimal) and ``x-ratelimit-reset`` (seconds).
Paging follows the documented ``before``/``after`` fullnames: ``before=X`` gives
the ``limit`` items right after X (newer), newest first, and ``data.before`` set
when still newer ones exist.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from monitor.lab.localsite import LoopbackServer, QuietHandler

RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


@dataclass
class Thing:
    """A post (``post`` None) or a comment on post ``post``."""

    id: int
    author: str
    text: str
    sub: str = "acme"
    title: str = ""
    post: int | None = None
    parent: int | None = None  # a comment replying to a comment
    score: int = 1

    @property
    def fullname(self) -> str:
        return f"{'t1' if self.post else 't3'}_{b36(self.id)}"


@dataclass
class FakeReddit:
    things: dict[int, Thing] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    grants: list[dict] = field(default_factory=list)
    client_id: str = "app-id"
    secret: str = "app-secret"
    tokens_issued: int = 0
    remaining: float = 598.0
    refuse: bool = False

    def __post_init__(self) -> None:
        self.server = LoopbackServer(self._handler()).start()

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def token(self) -> str:
        return f"tok-{self.tokens_issued}"

    def stop(self) -> None:
        self.server.stop()

    def add(self, thing: Thing) -> Thing:
        self.things[thing.id] = thing
        return thing

    def revoke(self) -> None:
        """The token given out stops working (as one that expired)."""
        self.tokens_issued += 1000

    def comments_of(self, post: int) -> list[Thing]:
        return [t for t in self.things.values() if t.post == post]

    def permalink(self, t: Thing) -> str:
        post = self.things[t.post] if t.post else t
        tail = f"{b36(t.id)}/" if t.post else ""
        return f"/r/{post.sub}/comments/{b36(post.id)}/slug/{tail}"

    def data(self, t: Thing) -> dict:
        created = (RECENT + timedelta(seconds=t.id % 3000)).timestamp()
        common = {"id": b36(t.id), "name": t.fullname, "author": t.author, "score": t.score,
                  "created_utc": created, "permalink": self.permalink(t), "subreddit": t.sub,
                  "ups": t.score, "downs": 0}
        if t.post is None:
            return {**common, "title": t.title, "selftext": t.text, "is_self": True,
                    "url": f"https://www.reddit.com{self.permalink(t)}",
                    "num_comments": len(self.comments_of(t.id)), "over_18": False}
        post = self.things[t.post]
        return {**common, "body": t.text, "link_id": post.fullname,
                "parent_id": self.things[t.parent].fullname if t.parent else post.fullname,
                "link_title": post.title,
                "link_permalink": f"https://www.reddit.com{self.permalink(post)}"}

    def listing(self, chosen: list[Thing], query: dict) -> dict:
        limit = int(query.get("limit", ["25"])[0])
        chosen = sorted(chosen, key=lambda t: t.id)
        before = query.get("before", [None])[0]
        more_newer = None
        if before:
            anchor = int(before.split("_", 1)[1], 36)
            if anchor not in self.things:  # as Reddit: nothing after a deleted thing
                chosen = []
            newer = [t for t in chosen if t.id > anchor]
            chosen = newer[:limit]
            more_newer = chosen[-1].fullname if len(newer) > limit else None
        else:
            chosen = chosen[-limit:]
        kids = [{"kind": t.fullname[:2], "data": self.data(t)} for t in reversed(chosen)]
        return {"kind": "Listing", "data": {"after": None, "before": more_newer,
                                            "dist": len(kids), "children": kids}}

    def tree(self, post: int, parent: int | None) -> dict | str:
        kids = [t for t in self.comments_of(post) if t.parent == parent]
        if not kids:
            return ""
        return {"kind": "Listing", "data": {"after": None, "before": None, "children": [
            {"kind": "t1", "data": {**self.data(t), "replies": self.tree(post, t.id)}}
            for t in sorted(kids, key=lambda t: -t.id)]}}

    def answer(self, path: str, query: dict) -> tuple[int, object]:
        posts = [t for t in self.things.values() if t.post is None]
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "r" and parts[2] == "new":
            return 200, self.listing([t for t in posts if t.sub == parts[1]], query)
        if len(parts) == 3 and parts[0] == "r" and parts[2] == "comments":
            return 200, self.listing([t for t in self.things.values() if t.post
                                      and self.things[t.post].sub == parts[1]], query)
        if parts[-1] == "search":
            words = query["q"][0].casefold()
            sub = parts[1] if len(parts) == 3 and query.get("restrict_sr") == ["1"] else None
            return 200, self.listing([t for t in posts if words in (t.title + " " + t.text)
                                      .casefold() and sub in (None, t.sub)], query)
        if len(parts) == 2 and parts[0] == "comments":
            post = self.things.get(int(parts[1], 36))
            if post is None:
                return 404, {"message": "Not Found", "error": 404}
            head = {"kind": "Listing", "data": {"after": None, "before": None, "children": [
                {"kind": "t3", "data": self.data(post)}]}}
            return 200, [head, self.tree(post.id, None) or {
                "kind": "Listing", "data": {"after": None, "before": None, "children": []}}]
        return 404, {"message": "Not Found", "error": 404}

    def grant(self, basic: str | None, form: dict) -> tuple[int, object]:
        expected = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        self.grants.append(form)
        if basic != f"Basic {expected}":
            return 401, {"message": "Unauthorized", "error": 401}
        self.tokens_issued += 1
        return 200, {"access_token": self.token, "token_type": "bearer",
                     "expires_in": 86400, "scope": "*"}

    def _handler(self) -> type[QuietHandler]:
        site = self

        class Handler(QuietHandler):
            def _send(self, status: int, data: object, headers: dict | None = None) -> None:
                self.reply(status, json.dumps(data).encode(), "application/json; charset=UTF-8",
                           headers)

            def do_POST(self) -> None:  # noqa: N802
                site.requests.append(f"POST {self.path}")
                site.agents.append(self.headers.get("User-Agent", ""))
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                self._send(*site.grant(self.headers.get("Authorization"), form))

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path == "/robots.txt":
                    self.reply(404)
                    return
                site.requests.append(self.path)
                site.auth.append(self.headers.get("Authorization"))
                site.agents.append(self.headers.get("User-Agent", ""))
                headers = {"x-ratelimit-used": str(int(600 - site.remaining)),
                           "x-ratelimit-remaining": f"{max(0.0, site.remaining):.1f}",
                           "x-ratelimit-reset": "300"}
                if self.headers.get("Authorization") != f"bearer {site.token}":
                    self._send(401, {"message": "Unauthorized", "error": 401})
                    return
                site.remaining -= 1
                if site.refuse:
                    self._send(429, {"message": "Too Many Requests", "error": 429}, headers)
                    return
                self._send(*site.answer(parts.path, parse_qs(parts.query)), headers)

        return Handler
