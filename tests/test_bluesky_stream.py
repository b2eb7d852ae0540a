"""kind bluesky: the Jetstream consumer against a fake Jetstream on 127.0.0.1
(tests/jetstream_site.py, shaped after the Jetstream README): brand posts kept,
the rest dropped; resume from the stored cursor without loss or repeats across
dropped connections and a restart; lag and connection state on health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from crawlers.jetstream import read_event, resume_from, subscribe_url
from crawlers.streams import JetstreamConsumer, StreamOptions, StreamThread
from db.engine import open_database, read_session, session
from db.models import Brand, Post, Source
from monitor.config import ConfigError, parse_config
from monitor.history.health import source_health
from monitor.stages.streams import BrandFilter
from tests.conftest import wait_for
from tests.jetstream_site import FakeJetstream, noise_event, post_event, timeline

FAST = StreamOptions(batch=5, flush_s=0.05, margin_us=20_000, backoff_s=0.05,
                     max_backoff_s=0.2, open_timeout_s=2)


@pytest.fixture
def jetstream():
    server = FakeJetstream().start()
    yield server
    server.stop()


@pytest.fixture
def engine(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'cw.db'}")
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["Acme"], exclude=["acme anvil"]))
        s.add(Source(name="bsky", kind="bluesky", url="ws://127.0.0.1:1/subscribe"))
    yield engine
    engine.dispose()


def texts(n: int, every: int = 7) -> list[str | None]:
    """n events: every ``every``-th a post naming Acme, every 3rd other one a post
    that does not, the rest noise (likes, deletes, identity events)."""
    return [f"Acme app crashed again #{i}" if i % every == 0 else
            (f"lovely weather #{i}" if i % 3 == 0 else None) for i in range(n)]


def consumer(engine, url: str) -> JetstreamConsumer:
    return JetstreamConsumer(engine, 1, url, BrandFilter(engine).keep, options=FAST)


def stored(engine) -> tuple[list[str], Source]:
    with read_session(engine) as s:
        keys = [p.entry_key for p in s.exec(select(Post).order_by(Post.id)).all()]
        return keys, s.get(Source, 1)


def expected_keys(events: list[dict]) -> list[str]:
    return [f"at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}" for e in events
            if e["kind"] == "commit" and "Acme" in e["commit"].get("record", {}).get("text", "")]


def test_a_created_post_naming_a_brand_is_kept_with_its_author_link_and_time():
    keep = BrandFilter(None, index=None)
    from monitor.stages.score import BrandIndex, BrandRule

    keep.index = BrandIndex.build([BrandRule.build(1, "Acme", ["Acme"], ["acme anvil"])])
    ev = post_event(1725911162329308, "did:plc:abc", "3l3qo2vuowo2b",
                    "My Acme phone died", reply_to="at://did:plc:x/app.bsky.feed.post/1")
    seen = read_event(ev, keep.keep)
    assert seen.time_us == 1725911162329308
    assert seen.post.author == "did:plc:abc"
    assert seen.post.url == "https://bsky.app/profile/did:plc:abc/post/3l3qo2vuowo2b"
    assert seen.post.entry_key == "at://did:plc:abc/app.bsky.feed.post/3l3qo2vuowo2b"
    assert seen.post.published_at == datetime(2024, 9, 9, 19, 46, 2, 329000, tzinfo=UTC)
    assert seen.post.thread_key == "at://did:plc:x/app.bsky.feed.post/1"
    ev["commit"]["record"]["text"] = "an acme anvil fell"  # the brand's exclude
    assert read_event(ev, keep.keep).post is None
    for n in range(3):  # like, delete, identity: a time to resume from, no post
        assert read_event(noise_event(5, n), keep.keep).post is None
    assert read_event({"kind": "commit"}, keep.keep) is None  # no time_us: not an event
    assert read_event([1, 2], keep.keep) is None


def test_subscribe_url_asks_for_posts_from_a_rewound_cursor():
    url = subscribe_url("wss://jet.example/subscribe?compress=false&cursor=9", 1_000)
    assert url == ("wss://jet.example/subscribe?compress=false&"
                   "wantedCollections=app.bsky.feed.post&cursor=1000")
    assert subscribe_url("wss://jet.example/subscribe", None).endswith(
        "?wantedCollections=app.bsky.feed.post")
    assert resume_from(5_000_000, 2_000_000) == 3_000_000
    assert resume_from(None) is None


def test_resume_across_dropped_connections_loses_and_repeats_nothing(engine, jetstream):
    events = timeline(texts(400))
    jetstream.drops = [90, 150]  # the 1st and 2nd connections are cut mid-stream
    with session(engine) as s, s.begin():  # read before: resume from the first event
        s.get(Source, 1).stream_cursor = events[0]["time_us"] - 1
    jetstream.publish(events)
    runner = StreamThread(consumer(engine, jetstream.url)).start()
    try:
        wait_for(lambda: stored(engine)[1].stream_cursor == events[-1]["time_us"], 20,
                 "the stream to be read to its end")
    finally:
        runner.stop()
    keys, source = stored(engine)
    assert keys == expected_keys(events)  # every brand post, once, in order
    assert len(keys) == 58 and source.posts_seen == 58
    # each reconnect asked for the stored cursor rewound by the margin, not the start
    assert len(jetstream.connections) == 3
    assert jetstream.connections[0] == events[0]["time_us"] - 1 - FAST.margin_us
    assert events[0]["time_us"] < jetstream.connections[1] < jetstream.connections[2]
    assert max(jetstream.sent.values()) >= 2  # events were replayed: dedupe was needed
    assert source.stream_state == "stopped" and source.stream_cursor == events[-1]["time_us"]


def test_a_restart_resumes_from_the_stored_cursor(engine, jetstream):
    events = timeline(texts(300, every=5))
    with session(engine) as s, s.begin():
        s.get(Source, 1).stream_cursor = events[0]["time_us"] - 1
    jetstream.publish(events[:120])
    first = StreamThread(consumer(engine, jetstream.url)).start()
    wait_for(lambda: stored(engine)[1].stream_cursor == events[119]["time_us"], 10,
             "the first half")
    first.stop()  # the daemon stops: what was read is committed
    assert stored(engine)[1].stream_state == "stopped"
    jetstream.publish(events[120:])  # posted while it was down
    second = StreamThread(consumer(engine, jetstream.url)).start()
    try:
        wait_for(lambda: stored(engine)[1].stream_cursor == events[-1]["time_us"], 10,
                 "the second half")
    finally:
        second.stop()
    keys, source = stored(engine)
    assert keys == expected_keys(events) and source.posts_seen == len(keys) == 60
    assert jetstream.connections[1] == events[119]["time_us"] - FAST.margin_us


def test_health_shows_the_connection_and_the_lag(engine, jetstream):
    behind = datetime.now(UTC) - timedelta(seconds=40)
    events = timeline(texts(30), start=behind)
    with session(engine) as s, s.begin():
        s.get(Source, 1).stream_cursor = events[0]["time_us"] - 1
    jetstream.publish(events)
    runner = StreamThread(consumer(engine, jetstream.url)).start()
    try:
        wait_for(lambda: stored(engine)[1].stream_cursor == events[-1]["time_us"], 10,
                 "the events")
        state, reason = source_health(stored(engine)[1])
        assert state == "ok" and reason.startswith("stream connected, lag ")
        assert 39 <= float(reason.split("lag ")[1].split(" s")[0]) < 60
        jetstream.stop()  # the server goes away: reconnecting, with backoff, on health
        wait_for(lambda: stored(engine)[1].stream_state == "reconnecting", 10, "a lost stream")
        state, reason = source_health(stored(engine)[1])
        assert state == "failing" and "reconnecting in" in reason
        assert stored(engine)[1].consecutive_errors >= 1
    finally:
        runner.stop()
        jetstream.stop = lambda: None  # stopped already


@pytest.mark.parametrize("url, allow, error", [
    ("wss://jetstream2.us-east.bsky.network/subscribe", [], None),
    ("ws://127.0.0.1:6008/subscribe", [], None),
    ("ws://jetstream.lan:6008/subscribe", ["jetstream.lan"], None),
    ("ws://10.1.2.3:6008/subscribe", ["10.0.0.0/8"], None),
    ("ws://jetstream.example/subscribe", [], "plain ws:// only to a loopback host"),
    ("https://jetstream.example/subscribe", [], "is not a ws(s):// URL"),
])
def test_check_config_validates_the_endpoint(tmp_path, url, allow, error):
    data = {"sources": [{"name": "bsky", "kind": "bluesky", "url": url}],
            "console": {"allow_private": allow}}
    if error is None:
        assert parse_config(data, base=tmp_path).sources[0].kind == "bluesky"
        return
    with pytest.raises(ConfigError, match="sources") as exc:
        parse_config(data, base=tmp_path)
    assert error in str(exc.value)


def test_a_feed_cannot_have_a_websocket_url_nor_bluesky_a_preset(tmp_path):
    with pytest.raises(ConfigError, match="not an http"):
        parse_config({"sources": [{"name": "f", "kind": "feed", "url": "wss://x.example/"}]},
                     base=tmp_path)
    with pytest.raises(ConfigError, match="preset"):
        parse_config({"sources": [{"name": "b", "kind": "bluesky", "preset": "phpbb",
                                   "url": "wss://x.example/subscribe"}]}, base=tmp_path)


def test_sources_test_prints_the_brand_posts_of_the_live_tail(tmp_path, jetstream):
    import threading

    import yaml
    from typer.testing import CliRunner

    from monitor.cli.main import app

    def crisiswatch(*args: str):  # in-process: the command's own code, no start-up
        return CliRunner().invoke(app, list(args))

    config = tmp_path / "crisiswatch.yaml"
    config.write_text(yaml.safe_dump({
        "brands": [{"name": "Acme", "keywords": ["Acme"]}],
        "sources": [{"name": "bsky", "kind": "bluesky", "url": jetstream.url}]}))
    events = timeline(texts(40, every=10))

    def publish_when_connected() -> None:
        wait_for(lambda: jetstream.connections, 30, "the test to connect")
        jetstream.publish(events)

    threading.Thread(target=publish_when_connected, daemon=True).start()
    result = crisiswatch("sources", "test", "bsky", "--config", str(config), "--seconds", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("40 events in at most 1 s, 4 posts naming a brand:")
    assert lines[1].startswith("  - did:plc:user0 at ")
    assert lines[1].endswith("https://bsky.app/profile/did:plc:user0/post/r00000: "
                             "Acme app crashed again #0")
    assert len(lines) == 5
    down = crisiswatch("sources", "test", "--kind", "bluesky", "--url",
                       "ws://127.0.0.1:9/subscribe")
    assert down.exit_code == 1 and "FAILED: cannot connect" in down.output
