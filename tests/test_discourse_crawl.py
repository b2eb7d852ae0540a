"""A Discourse source through the real daemon: /latest.json, then each changed
topic's posts.json pages, continuing after the last post read."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import func, select

from db.models import Post, Thread
from monitor.lab.localsite import LoopbackServer, QuietHandler
from tests.conftest import crisiswatch, db_engine, session
from tests.forum_site import RECENT

CHUNK = 20


class FakeDiscourse:
    """Answers like the captured Discourse API: ``posts.json`` gives the first 20
    posts; ``?post_number=N`` gives up to 20 posts numbered below N, newest first,
    or the last 20 when N is past the end."""

    def __init__(self) -> None:
        self.topics: dict[int, list[dict]] = {}
        self.requests: list[str] = []
        self.server = LoopbackServer(self._handler()).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add_posts(self, topic: int, texts: list[str]) -> None:
        posts = self.topics.setdefault(topic, [])
        for text in texts:
            n = len(posts) + 1
            posts.append({"id": topic * 1000 + n, "post_number": n, "username": f"user{n}",
                          "created_at": f"{RECENT.strftime('%Y-%m-%dT%H')}:{n % 60:02d}:00.000Z",
                          "cooked": f"<p>{text}</p>", "topic_id": topic,
                          "topic_slug": f"topic-{topic}", "like_count": n % 3})

    def latest(self) -> dict:
        return {"topic_list": {"topics": [
            {"id": t, "slug": f"topic-{t}", "title": f"Topic {t}", "posts_count": len(p),
             "views": 10 * len(p), "last_posted_at": p[-1]["created_at"]}
            for t, p in self.topics.items()]}}

    def posts(self, topic: int, before: int | None) -> dict:
        posts = self.topics[topic]
        if before is None:
            chosen = posts[:CHUNK]
        else:
            below = [p for p in posts if p["post_number"] < before]
            chosen = list(reversed(below[-CHUNK:] if before <= len(posts) + 1
                                   else posts[-CHUNK:]))
        return {"id": topic, "post_stream": {"posts": chosen}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.requests.append(self.path)
                parts = urlsplit(self.path)
                if parts.path == "/latest.json":
                    data = site.latest()
                elif parts.path.startswith("/t/") and parts.path.endswith("/posts.json"):
                    before = parse_qs(parts.query).get("post_number", [None])[0]
                    data = site.posts(int(parts.path.split("/")[2]),
                                      int(before) if before else None)
                else:
                    self.reply(404)
                    return
                self.reply(200, json.dumps(data).encode(), "application/json")

        return Handler


@pytest.fixture
def discourse():
    site = FakeDiscourse()
    yield site
    site.server.stop()


def test_discourse_topics_are_read_to_the_end_and_resumed(discourse, receiver, make_config):
    discourse.add_posts(7, [f"post {i} about cameras" for i in range(1, 26)])
    discourse.add_posts(8, ["My Acme phone broke and support was rude, I want a refund"])
    config = make_config([], extra_sources=[{"name": "disc", "kind": "discourse",
                                             "url": discourse.base}])
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    engine = db_engine(config.parent)
    with session(engine) as s:
        assert s.exec(select(func.count()).select_from(Post)).one() == 26
        first = s.exec(select(Post).where(Post.entry_key == "post:7001")).one()
        threads = s.exec(select(Thread)).all()
    assert first.author == "user1" and first.text == "post 1 about cameras"
    assert first.url == f"{discourse.base}/t/topic-7/7/1"
    assert {t.key for t in threads} == {"t:7", "t:8"}
    assert len(receiver.received) == 1 and receiver.received[0].title.startswith("[NOTICE]")
    discourse.requests.clear()
    discourse.add_posts(7, ["post 26 about cameras", "post 27 about cameras"])
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    with session(engine) as s:
        assert s.exec(select(func.count()).select_from(Post)).one() == 28
    topic7 = [r for r in discourse.requests if r.startswith("/t/7/")]
    assert "/t/7/posts.json" not in topic7  # resumed, not re-read from the start
    assert not any(r.startswith("/t/8/") for r in discourse.requests)  # unchanged topic
