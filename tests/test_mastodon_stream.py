"""Mastodon streaming in the real daemon (``crisiswatch run`` in a subprocess)
against the fake instance's server-sent events (tests/mastodon_site.py): with a
token, statuses streamed are stored and alert, and a connection cut mid-stream
loses nothing (the reconnect catches up by REST from the stored ``min_id``);
without a token the spider polls as before and nothing is streamed."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from crawlers.mastodon import parse_rules
from crawlers.mastodon_sse import Event, EventReader
from crawlers.mastodon_stream import MastodonStreamConsumer
from crawlers.streams import StreamOptions, StreamThread
from db.engine import open_database
from db.models import Post, Source
from monitor.history.health import source_health
from tests.conftest import db_engine, session, wait_for
from tests.mastodon_site import FakeMastodon, Toot
from tests.test_bluesky_daemon import COMPLAINTS, start, stop
from tests.test_mastodon_crawl import api_requests, mastodon_source

TOKEN_ENV = "MASTO_STREAM_TOKEN"


@pytest.fixture
def instance():
    site = FakeMastodon()
    yield site
    site.stop()


def _source(engine) -> Source | None:  # noqa: ANN001
    try:
        with session(engine) as s:
            return s.exec(select(Source).where(Source.name == "masto")).first()
    except OperationalError:  # the daemon has not created its tables yet
        return None


def _keys(engine) -> list[str]:  # noqa: ANN001
    with session(engine) as s:
        return [p.entry_key for p in s.exec(select(Post).order_by(Post.id)).all()]


def _cursor(engine) -> dict:  # noqa: ANN001
    src = _source(engine)
    return (src.cursor or {}) if src is not None else {}


def test_event_reader_reads_events_heartbeats_and_multiline_data():
    reader = EventReader()
    lines = [":thump", "event: update", 'data: {"id":', 'data: "1"}', "", "", "event: delete",
             "data: 7", "id: 3", ""]
    events = [e for e in map(reader.feed, lines) if e is not None]
    assert events == [Event("", "", heartbeat=True), Event("update", '{"id":\n"1"}'),
                      Event("delete", "7")]


@pytest.mark.slow
def test_streamed_statuses_alert_and_a_dropped_connection_loses_nothing(
        instance, make_config, receiver, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, instance.token)
    instance.add(Toot(10, "old", "an older Acme post", tags=("acme",)))
    instance.drops = [2]  # the first connection is cut after two statuses
    config = make_config([], extra_sources=[mastodon_source(instance, token_env=TOKEN_ENV)])
    engine = db_engine(config.parent)
    proc = start(config)
    try:
        wait_for(lambda: _cursor(engine).get("tag:acme") == "10", 60,
                 "the first catch-up by REST")
        assert instance.streamed == ["/api/v1/streaming/hashtag?tag=acme"]
        for i, text in enumerate(COMPLAINTS[:5]):
            instance.push(Toot(100 + i, f"user{i}@example.social", text, tags=("acme",)))
        wait_for(lambda: _cursor(engine).get("tag:acme") == "104", 30,
                 "every status, streamed or caught up")
        wait_for(lambda: receiver.received, 30, "an alert on the complaints")
        src = _source(engine)
    finally:
        out, _ = stop(proc)
    assert len(instance.streamed) == 2  # cut, then reconnected
    polls = [r for r in api_requests(instance) if r.startswith("/api/v1/timelines/tag/")]
    # the first connection's catch-up started live (newest page); the second from
    # the last status the cut stream delivered: the three it did not are read there
    assert polls == ["/api/v1/timelines/tag/acme?limit=40",
                     "/api/v1/timelines/tag/acme?limit=40&min_id=101"]
    assert _keys(engine) == ["status:10"] + [f"status:{100 + i}" for i in range(5)]
    assert receiver.received[0].title.startswith(("[NOTICE] Acme", "[WARNING] Acme"))
    assert src.stream_state == "connected" and src.stream_event_at is not None
    state, reason = source_health(src)
    assert state == "ok" and reason.startswith("stream connected, lag ")
    assert _source(engine).stream_state == "stopped"
    assert "posts seen: 6" in out


@pytest.mark.slow
def test_without_the_token_the_source_is_polled_not_streamed(instance, make_config,
                                                             monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    instance.add(Toot(10, "a", "Acme news", tags=("acme",)))
    config = make_config([], extra_sources=[mastodon_source(instance, token_env=TOKEN_ENV)])
    engine = db_engine(config.parent)
    proc = start(config)
    try:
        wait_for(lambda: _cursor(engine).get("tag:acme") == "10", 60, "the first poll")
        instance.push(Toot(11, "b", "Acme again", tags=("acme",)))
    finally:
        stop(proc)
    assert instance.streamed == []
    assert api_requests(instance)[0] == "/api/v1/timelines/tag/acme?limit=40"
    assert instance.auth[0] is None
    assert _keys(engine) == ["status:10"]  # the next poll is an interval away
    assert _source(engine).stream_state is None


FAST = StreamOptions(backoff_s=0.05, max_backoff_s=0.2, open_timeout_s=2)


@pytest.fixture
def engine(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'cw.db'}")
    with session(engine) as s, s.begin():
        s.add(Source(name="masto", kind="mastodon", url="http://127.0.0.1:1",
                     rules={"hashtags": ["acme"], "token_env": TOKEN_ENV}))
    yield engine
    engine.dispose()


def _consumer(engine, instance: FakeMastodon, **extra: object) -> StreamThread:  # noqa: ANN001
    consumer = MastodonStreamConsumer(engine, 1, instance.base, parse_rules(
        {"hashtags": ["acme"], "token_env": TOKEN_ENV}), instance.token, options=FAST,
        **extra)
    return StreamThread(consumer).start()


def test_streams_come_from_the_host_the_instance_names(engine, instance):
    streamer = FakeMastodon(token=instance.token)
    instance.streaming = streamer.base  # e.g. streaming.example.social
    instance.add(Toot(10, "a", "Acme news", tags=("acme",)))
    thread = _consumer(engine, instance)
    try:
        wait_for(lambda: _cursor(engine).get("tag:acme") == "10", 10, "the catch-up")
        wait_for(lambda: streamer.streamed, 10, "the stream on the other host")
        streamer.push(Toot(11, "b", "Acme again", tags=("acme",)))
        wait_for(lambda: _cursor(engine).get("tag:acme") == "11", 10, "the streamed status")
    finally:
        thread.stop()
        streamer.stop()
    assert instance.streamed == [] and streamer.streamed == ["/api/v1/streaming/hashtag?tag=acme"]
    assert "/api/v2/instance" in instance.requests
    assert _keys(engine) == ["status:10", "status:11"]


def test_a_streaming_host_the_guard_refuses_is_not_contacted(engine, instance):
    streamer = FakeMastodon(token=instance.token)
    instance.streaming = streamer.base
    thread = _consumer(engine, instance, guard=lambda url: "a private address")
    try:
        wait_for(lambda: (_source(engine).last_error or "").startswith("the streaming host"),
                 10, "the refusal on health")
    finally:
        thread.stop()
        streamer.stop()
    assert f"streaming host {streamer.base} is refused: a private address" in \
        _source(engine).last_error
    assert streamer.streamed == [] and streamer.requests == []
