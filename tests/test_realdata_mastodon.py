"""Real Mastodon API responses (../shared/data/forums/mastodon, YAML cassettes read
in place): every status of the recorded timelines becomes a post with its author,
time, link and counters; the 59-reply context becomes one thread; the recorded
rate-limit headers are read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from crawlers.extractors.mastodon import extract_context, extract_stream, parse_body
from crawlers.mastodon import rate_limit, throttle

DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "forums" / "mastodon"
pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not DIR.is_dir(), reason=f"{DIR} is absent")]
_HREF = re.compile(r'<a href="(https?://[^"]+)"(?![^>]*class="[^"]*(?:mention|hashtag))')


def response(name: str) -> dict:
    return yaml.safe_load((DIR / name).read_text(encoding="utf-8"))[
        "http_interactions"][0]["response"]


def body(name: str) -> bytes:
    return response(name)["body"]["string"].encode("utf-8")


@pytest.mark.parametrize("name", ["get_timeline_public_anonymous.yml",
                                  "get_timeline_hashtag_anonymous.yml"])
def test_recorded_timelines(name):
    raw = json.loads(body(name))
    page = extract_stream(parse_body(body(name)))
    with_words = [s for s in raw if s["content"].strip() or s["media_attachments"]]
    assert sum(len(_HREF.findall(s["content"])) for s in raw) >= 3  # links to check
    assert len(page.posts) == len(with_words) and page.count == len(raw)
    assert page.ids == [s["id"] for s in raw]
    for status, post in zip(with_words, page.posts, strict=True):
        assert post.entry_key == f"status:{status['id']}"
        assert post.author == status["account"]["acct"] and post.url == status["url"]
        assert post.published_at.isoformat()[:19] == status["created_at"][:19]
        assert (post.replies, post.shares, post.likes) == (
            status["replies_count"], status["reblogs_count"], status["favourites_count"])
        for href in _HREF.findall(status["content"]):  # every link kept whole
            assert href.replace("&amp;", "&") in post.text, (href, post.text)


def test_recorded_context_is_one_thread():
    raw = json.loads(body("get_context_anonymous.yml"))
    assert len(raw["descendants"]) == 59
    page = extract_context(None, parse_body(body("get_context_anonymous.yml")),
                           "s:109294719267373593")
    with_words = [s for s in raw["descendants"] if s["content"].strip()
                  or s["media_attachments"]]
    assert len(page.posts) == len(with_words) > 50
    assert {p.thread_key for p in page.posts} == {"s:109294719267373593"}
    assert all(p.author and p.published_at and p.url for p in page.posts)


def test_recorded_rate_limit_headers():
    headers = response("get_status_anonymous.yml")["headers"]
    rl = rate_limit({k.lower(): v for k, v in headers.items()})
    assert (rl.limit, rl.remaining) == (300, 292) and rl.reset.year == 2025
    assert throttle(rl, rl.reset) is None  # 292 left: room
