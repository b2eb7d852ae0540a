"""kind bluesky beyond the firehose, against a fake AppView and PDS on 127.0.0.1
(tests/bsky_api_site.py): a flagged post's likes, reposts and replies re-read
from getPosts (25 to a request) as engagement that raises the incident; the
back-fill with an app password storing the posts Jetstream cannot replay, each
once; and the app password asked for only when back-fill is."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from crawlers import bluesky as bsky
from crawlers.bsky_backfill import Backfill
from crawlers.jetstream import read_event
from crawlers.pipelines.stream_store import store_stream_batch
from crawlers.streams import StreamOptions
from db.engine import open_database, read_session, session
from db.models import Brand, EngagementSnapshot, Post, Source, Thread, utcnow
from monitor.history.health import source_health
from monitor.stages.streams import StreamSupervisor
from tests.bsky_api_site import BskyPost, FakeBskyApi
from tests.conftest import crisiswatch, db_engine, wait_for
from tests.jetstream_site import FakeJetstream, post_event
from tests.test_mastodon_crawl import COMPLAINT, run_once

PASSWORD_ENV = "BSKY_TEST_PASSWORD"
FAST = StreamOptions(batch=5, flush_s=0.05, backoff_s=0.05, max_backoff_s=0.2,
                     open_timeout_s=2)


@pytest.fixture
def api():
    site = FakeBskyApi()
    yield site
    site.stop()


def bsky_source(api: FakeBskyApi, **extra: object) -> dict:
    return {"name": "bsky", "kind": "bluesky", "url": "ws://127.0.0.1:9/subscribe",
            "appview": api.base, **extra}


def from_firehose(engine, source_id: int, posts: list[BskyPost]) -> None:  # noqa: ANN001
    """Store posts as the Jetstream consumer does (same event shape, same store)."""
    items, last = [], 0
    for p in posts:
        last = int(p.created.timestamp() * 1e6)
        items.append(read_event(post_event(last, p.did, p.rkey, p.text), lambda _t: True).post)
    store_stream_batch(engine, source_id, items, last, datetime.now(UTC))


def getposts_calls(api: FakeBskyApi) -> list[list[str]]:
    return [parse_qs(urlsplit(r).query)["uris"] for r in api.requests
            if r.startswith("/xrpc/app.bsky.feed.getPosts")]


def test_a_flagged_posts_growth_is_engagement_and_raises_the_incident(
        api, make_config, receiver):
    config = make_config([], extra_sources=[bsky_source(api)])
    run_once(config)  # the tables and the source row
    engine = db_engine(config.parent)
    with session(engine) as s:
        source_id = s.exec(select(Source.id).where(Source.name == "bsky")).one()
    post = api.add(BskyPost("did:plc:anna", "3kx1", COMPLAINT, datetime.now(UTC)))
    from_firehose(engine, source_id, [post])
    run_once(config)  # scored and flagged: the post's thread turns hot
    assert [a.title[:14] for a in receiver.received] == ["[NOTICE] Acme:"]
    assert getposts_calls(api) == []
    post.likes, post.reposts, post.replies = 40, 12, 6
    run_once(config)  # the hot re-read
    assert getposts_calls(api) == [[post.uri]]
    titles = [a.title for a in receiver.received]
    assert len(titles) == 2 and titles[1].startswith("[WARNING] Acme"), titles
    with session(engine) as s:
        stored = s.exec(select(Post)).one()
        thread = s.exec(select(Thread).where(Thread.key == post.uri)).one()
        by_post = s.exec(select(EngagementSnapshot).where(
            EngagementSnapshot.post_id == stored.id)).all()
        by_thread = s.exec(select(EngagementSnapshot).where(
            EngagementSnapshot.thread_id == thread.id).order_by(EngagementSnapshot.id)).all()
    assert stored.thread_id == thread.id and (stored.likes, stored.shares) == (40, 12)
    assert [(x.replies, x.likes, x.shares) for x in by_post] == [(6, 40, 12)]
    assert [(x.replies, x.likes) for x in by_thread] == [(0, 0), (6, 40)]


def test_hot_posts_are_re_read_25_to_a_request(api, make_config):
    config = make_config([], extra_sources=[bsky_source(api)])
    run_once(config)
    engine = db_engine(config.parent)
    with session(engine) as s:
        source_id = s.exec(select(Source.id).where(Source.name == "bsky")).one()
    now = datetime.now(UTC)
    posts = [api.add(BskyPost(f"did:plc:u{i}", f"3k{i:03d}", f"chatter {i}", now, likes=i))
             for i in range(30)]
    from_firehose(engine, source_id, posts)
    with session(engine) as s, s.begin():
        for thread in s.exec(select(Thread)).all():
            thread.hot_until = utcnow() + timedelta(hours=1)
    run_once(config)
    calls = getposts_calls(api)
    assert [len(c) for c in calls] == [25, 5]
    assert sorted(u for c in calls for u in c) == sorted(p.uri for p in posts)
    with session(engine) as s:
        likes = dict(s.exec(select(Post.entry_key, Post.likes)).all())
    assert likes == {p.uri: p.likes for p in posts}


@pytest.fixture
def engine(tmp_path, api):
    engine = open_database(f"sqlite:///{tmp_path / 'cw.db'}")
    yield engine
    engine.dispose()


def _setup(engine, jetstream: FakeJetstream, api: FakeBskyApi) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["Acme"]))
        s.add(Source(name="bsky", kind="bluesky", url=jetstream.url, rules={
            "handle": api.handle, "app_password_env": PASSWORD_ENV, "pds": api.base,
            "appview": api.base}))


def _keys(engine) -> list[str]:  # noqa: ANN001
    with read_session(engine) as s:
        return [p.entry_key for p in s.exec(select(Post).order_by(Post.id)).all()]


def _searches(api: FakeBskyApi) -> list[dict]:
    return [parse_qs(urlsplit(r).query) for r in api.requests
            if r.startswith("/xrpc/app.bsky.feed.searchPosts")]


def test_backfill_stores_the_posts_the_stream_missed_once(engine, api, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, api.password)
    api.page_size = 1  # one post a page: the back-fill follows the cursor
    jetstream = FakeJetstream().start()
    _setup(engine, jetstream, api)
    now = datetime.now(UTC)
    early = api.add(BskyPost("did:plc:a", "3ka", "Acme phone froze, refund please",
                             now - timedelta(hours=2)))
    late = api.add(BskyPost("did:plc:b", "3kb", "Acme support was rude",
                            now - timedelta(hours=1)))
    api.add(BskyPost("did:plc:c", "3kc", "lovely weather", now - timedelta(hours=1)))
    api.add(BskyPost("did:plc:d", "3kd", "Acme from last week", now - timedelta(days=2)))
    streams = StreamSupervisor(engine, lambda: None, options=FAST)
    try:
        streams.refresh()
        wait_for(lambda: jetstream.connections, 10, "the stream to connect after back-fill")
        assert _keys(engine) == [early.uri, late.uri]  # oldest first; 2 days ago: too old
        assert api.requests[0] == "/xrpc/com.atproto.server.createSession"
        searches = _searches(api)
        # a post a page; the second page has no cursor: the end
        assert [(s["q"], s.get("cursor")) for s in searches] == [(["Acme"], None),
                                                                  (["Acme"], ["1"])]
        since = datetime.fromisoformat(searches[0]["since"][0].replace("Z", "+00:00"))
        assert abs((now - since) - timedelta(hours=24)) < timedelta(minutes=1)
        t = int(datetime.now(UTC).timestamp() * 1e6)
        jetstream.publish([post_event(t, late.did, late.rkey, late.text),  # seen by both
                           post_event(t + 1000, "did:plc:e", "3ke", "Acme, again")])
        wait_for(lambda: len(_keys(engine)) == 3, 10, "the stream's new post")
        streams.stop()
        with session(engine) as s, s.begin():  # down longer than Jetstream replays
            s.get(Source, 1).stream_event_at = utcnow() - timedelta(hours=30)
        missed = api.add(BskyPost("did:plc:f", "3kf", "Acme outage while you were away",
                                  now - timedelta(minutes=5)))
        streams = StreamSupervisor(engine, lambda: None, options=FAST)
        streams.refresh()
        wait_for(lambda: len(jetstream.connections) == 2, 10, "the reconnection")
    finally:
        streams.stop()
        jetstream.stop()
    assert _keys(engine) == [early.uri, late.uri, "at://did:plc:e/app.bsky.feed.post/3ke",
                             missed.uri]
    with read_session(engine) as s:
        src = s.get(Source, 1)
    assert src.posts_seen == 4 and source_health(src)[0] == "ok"


def test_backfill_without_its_password_says_so_on_health(engine, api, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    jetstream = FakeJetstream().start()
    _setup(engine, jetstream, api)
    streams = StreamSupervisor(engine, lambda: None, options=FAST)
    try:
        streams.refresh()
        wait_for(lambda: jetstream.connections, 10, "the stream to connect anyway")
    finally:
        streams.stop()
        jetstream.stop()
    with read_session(engine) as s:
        state, reason = source_health(s.get(Source, 1))
    assert state == "partial"
    assert reason.startswith(f"back-fill failed: {PASSWORD_ENV} is not set in the daemon's")
    assert api.requests == []


def test_the_app_password_is_required_only_for_backfill(api, make_config, monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    config = make_config([], extra_sources=[bsky_source(api, handle="acme.bsky.social")])
    result = crisiswatch("check-config", str(config))
    assert result.returncode == 2
    assert "sources[0]: app_password_env: back-fill (handle) needs an app password" \
        in result.stderr
    config = make_config([], extra_sources=[bsky_source(api)])
    result = crisiswatch("check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stdout
    config = make_config([], extra_sources=[bsky_source(
        api, handle="acme.bsky.social", app_password_env=PASSWORD_ENV)])
    result = crisiswatch("check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"source bsky: warning: {PASSWORD_ENV} is not set here" in result.stdout


@pytest.mark.parametrize(("rules", "error"), [
    ({"handel": "a.bsky.social"}, "handel: unknown key for kind bluesky"),
    ({"app_password_env": "X"}, "handle: app_password_env is for back-fill"),
    ({"handle": "a b"}, "handle: 'a b' is not a Bluesky handle"),
    ({"appview": "ftp://x"}, "appview: 'ftp://x' is not a service address"),
    ({"handle": "a.bsky.social", "app_password_env": "X", "backfill_hours": 0},
     "backfill_hours: hours to read back, 1 to 168"),
])
def test_bad_bluesky_options_name_the_key(rules, error):
    with pytest.raises(ValueError, match="^" + re.escape(error)):
        bsky.parse_options(rules)
    assert bsky.parse_options({"pds": "http://127.0.0.1:8/"}).pds == "http://127.0.0.1:8"


def test_backfill_runs_at_start_and_again_only_after_a_gap_beyond_the_replay(engine, api):
    jetstream = FakeJetstream()  # not started: only its URL is used
    _setup(engine, jetstream, api)
    backfill = Backfill(engine, 1, bsky.parse_options({
        "handle": api.handle, "app_password_env": PASSWORD_ENV, "backfill_hours": 6}),
        lambda: ["Acme"], lambda _text: True)
    now = utcnow()
    assert backfill.since(now) == now - timedelta(hours=6)  # never streamed: the window
    backfill.started = True
    for behind, since in ((timedelta(hours=2), None),  # the stream's replay covers it
                          (timedelta(hours=3), None),
                          (timedelta(hours=30), now - timedelta(hours=6))):
        with session(engine) as s, s.begin():
            s.get(Source, 1).stream_event_at = now - behind
        assert backfill.since(now) == since, behind
    backfill.started = False  # a restart two hours after the last event: from there
    with session(engine) as s, s.begin():
        s.get(Source, 1).stream_event_at = now - timedelta(hours=2)
    assert backfill.since(now) == now - timedelta(hours=2)
