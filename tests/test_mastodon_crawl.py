"""Mastodon sources through the real daemon against a fake instance on 127.0.0.1
(tests/mastodon_site.py): polls that read only new statuses, a cursor that
survives restarts, a complaint whose replies grow reaching warning through its
thread context, rate limits honoured, and the token sent only where configured."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import func, select

from db.models import EngagementSnapshot, Post, Source, Thread, utcnow
from monitor.history.health import source_health
from tests.conftest import crisiswatch, db_engine, session
from tests.mastodon_site import RECENT, FakeMastodon, Toot

COMPLAINT = ("My Acme phone died after a day and Acme support was rude. I want a refund! "
             "https://example.com/acme-receipt")


@pytest.fixture
def instance():
    site = FakeMastodon()
    yield site
    site.stop()


def mastodon_source(instance: FakeMastodon, **extra: object) -> dict:
    source = {"name": "masto", "kind": "mastodon", "url": instance.base,
              "hashtags": ["acme"], **extra}
    return {k: v for k, v in source.items() if v is not None}


def run_once(config) -> None:  # noqa: ANN001
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr


def _source(engine) -> Source:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(Source).where(Source.name == "masto")).one()


def _posts(engine) -> list[Post]:  # noqa: ANN001
    with session(engine) as s:
        return list(s.exec(select(Post).order_by(Post.id)).all())


def api_requests(instance: FakeMastodon) -> list[str]:
    return [r for r in instance.requests if r.startswith("/api/")]


def test_complaint_whose_replies_grow_reaches_warning(instance, receiver, make_config):
    instance.add(Toot(100, "anna@example.social", COMPLAINT, tags=("acme",)))
    instance.add(Toot(101, "bob", "Trying the new Acme blender today", tags=("acme",)))
    config = make_config([], extra_sources=[mastodon_source(instance)])
    run_once(config)
    engine = db_engine(config.parent)
    posts = _posts(engine)
    assert [p.entry_key for p in posts] == ["status:101", "status:100"]  # as listed
    toot = posts[1]
    assert toot.author == "anna@example.social" and toot.url == f"{instance.base}/@anna" \
        "@example.social/100"
    assert toot.text == COMPLAINT + " #acme"  # HTML to text, the link kept whole
    assert toot.published_at is not None and toot.replies == 0 and toot.shares == 0
    assert [a.title[:14] for a in receiver.received] == ["[NOTICE] Acme:"]
    with session(engine) as s:
        thread = s.exec(select(Thread).where(Thread.key == "s:100")).one()
    assert toot.thread_id == thread.id and thread.hot_until > utcnow()
    assert _source(engine).cursor == {"tag:acme": "101"}

    instance.requests.clear()
    for i in range(8):  # the complaint draws replies (and replies to replies)
        instance.add(Toot(200 + i, f"user{i}", "same here, so annoying",
                          reply_to=100 if i < 6 else 200))
    instance.toots[100].boosts, instance.toots[100].favourites = 12, 30
    run_once(config)
    assert api_requests(instance) == ["/api/v1/timelines/tag/acme?limit=40&min_id=101",
                                      "/api/v1/statuses/100",
                                      "/api/v1/statuses/100/context"]
    titles = [a.title for a in receiver.received]
    assert len(titles) == 2 and titles[1].startswith("[WARNING] Acme"), titles
    assert re.search(r"replies 0 -> 6 in \d+ min on thread", receiver.received[1].body)
    posts = _posts(engine)
    assert len(posts) == 10 and {p.thread_id for p in posts[2:]} == {thread.id}
    with session(engine) as s:
        snaps = s.exec(select(EngagementSnapshot).where(
            EngagementSnapshot.post_id == toot.id).order_by(EngagementSnapshot.id)).all()
        counts = s.exec(select(EngagementSnapshot.replies).where(
            EngagementSnapshot.thread_id == thread.id).order_by(EngagementSnapshot.id)).all()
    assert [(x.replies, x.shares, x.likes) for x in snaps] == [(0, 0, 0), (6, 12, 30)]
    assert counts == [0, 6]


def test_cursor_survives_restarts_and_pages_through_a_burst(instance, make_config):
    for i in range(3):
        instance.add(Toot(10 + i, "a", f"hello {i}", tags=("acme",)))
    config = make_config([], extra_sources=[mastodon_source(instance, limit=2)])
    run_once(config)  # first poll: the newest page only, no history
    engine = db_engine(config.parent)
    assert [p.entry_key for p in _posts(engine)] == ["status:12", "status:11"]
    for i in range(5):  # a burst bigger than a page
        instance.add(Toot(20 + i, "b", f"burst {i}", tags=("acme",)))
    instance.requests.clear()
    run_once(config)  # a new process: the cursor comes from the database
    assert api_requests(instance) == [
        "/api/v1/timelines/tag/acme?limit=2&min_id=12",
        "/api/v1/timelines/tag/acme?limit=2&min_id=21",
        "/api/v1/timelines/tag/acme?limit=2&min_id=23"]  # one status: the end
    assert sorted(p.entry_key for p in _posts(engine))[-5:] == [
        f"status:{20 + i}" for i in range(5)]
    assert len(_posts(engine)) == 7 and _source(engine).cursor == {"tag:acme": "24"}


def test_low_rate_limit_pauses_the_source_and_shows_throttled(instance, make_config):
    instance.add(Toot(10, "a", "hello", tags=("acme",)))
    instance.add(Toot(11, "a", "local chatter"))
    instance.remaining = 2  # below the floor: stop until the reset
    config = make_config([], extra_sources=[mastodon_source(instance, timeline="local")])
    run_once(config)
    engine = db_engine(config.parent)
    src = _source(engine)
    assert api_requests(instance) == ["/api/v1/timelines/tag/acme?limit=40"]
    assert [p.entry_key for p in _posts(engine)] == ["status:10"]  # what it read is kept
    state, reason = source_health(src)
    assert state == "throttled" and "2 of 300 requests left" in reason
    assert "not read before the reset: local" in reason
    wait = (src.next_poll_at - src.last_fetch_at).total_seconds()
    assert 240 < wait < 310  # until the reset five minutes on, not the 60 s interval
    listed = crisiswatch("sources", "list", "--config", str(config)).stdout
    assert "throttled" in listed


def test_refused_with_429_is_throttled(instance, make_config):
    instance.refuse = True
    config = make_config([], extra_sources=[mastodon_source(instance)])
    run_once(config)
    src = _source(db_engine(config.parent))
    assert src.last_status == 429 and source_health(src)[0] == "throttled"
    assert (src.next_poll_at - src.last_fetch_at).total_seconds() > 240


def test_search_sends_the_token_from_the_environment(instance, make_config, monkeypatch):
    instance.add(Toot(10, "a", "Acme refund please"))
    monkeypatch.setenv("MASTO_TEST_TOKEN", instance.token)
    config = make_config([], extra_sources=[mastodon_source(
        instance, hashtags=None, timeline="federated", search=["acme refund"],
        token_env="MASTO_TEST_TOKEN")])
    run_once(config)
    engine = db_engine(config.parent)
    assert api_requests(instance)[1].startswith("/api/v2/search?q=acme+refund&type=statuses")
    assert instance.auth == [f"Bearer {instance.token}"] * 2
    # both streams listed the status: one post, one thread
    assert [p.entry_key for p in _posts(engine)] == ["status:10"]
    with session(engine) as s:
        assert s.exec(select(func.count()).select_from(Thread)).one() == 1
    assert _source(engine).cursor == {"federated": "10", "search:acme refund": "10"}


def test_missing_token_is_said_on_health(instance, make_config, monkeypatch):
    monkeypatch.delenv("MASTO_TEST_TOKEN", raising=False)
    config = make_config([], extra_sources=[mastodon_source(
        instance, search=["acme"], token_env="MASTO_TEST_TOKEN")])
    run_once(config)
    src = _source(db_engine(config.parent))
    state, reason = source_health(src)
    assert state == "partial" and "MASTO_TEST_TOKEN is not set" in reason
    assert "search:acme: HTTP 401" in reason
    assert instance.auth == [None, None]


def test_sources_test_prints_what_would_be_stored(instance, make_config):
    instance.add(Toot(10, "anna@example.social", COMPLAINT, tags=("acme",), boosts=3,
                      favourites=5))
    instance.add(Toot(11, "bob", "a reply", reply_to=10))
    config = make_config([], extra_sources=[mastodon_source(instance)])
    result = crisiswatch("sources", "test", "masto", "--full", "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"stream {instance.base}/api/v1/timelines/tag/acme?limit=40: 1 posts" in out
    when = (RECENT + timedelta(seconds=10)).isoformat(timespec="minutes")
    assert f"  - anna@example.social at {when} likes=5" in out
    assert f"likes=5 replies=1 boosts=3 {instance.base}/@anna@example.social/10" in out
    assert f"{COMPLAINT} #acme" in out
    assert not (config.parent / "cw.db").exists()  # nothing stored


def test_check_config_names_the_bad_option(instance, make_config, monkeypatch):
    monkeypatch.delenv("MASTO_TEST_TOKEN", raising=False)
    config = make_config([], extra_sources=[mastodon_source(instance, hashtags=["acme phones"],
                                                            timeline="home")])
    result = crisiswatch("check-config", str(config))
    assert result.returncode == 2
    assert "sources[0]: hashtags: 'acme phones' is not a hashtag" in result.stderr
    config = make_config([], extra_sources=[mastodon_source(instance, search=["acme"])])
    result = crisiswatch("check-config", str(config))
    assert result.returncode == 2 and "search: Mastodon's search needs an access token" \
        in result.stderr
    config = make_config([], extra_sources=[mastodon_source(
        instance, search=["acme"], token_env="MASTO_TEST_TOKEN")])
    result = crisiswatch("check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert "source masto: warning: MASTO_TEST_TOKEN is not set here" in result.stdout


def test_console_added_instance_goes_through_the_url_guard(instance, make_config):
    config = make_config([], extra_sources=[mastodon_source(instance)])
    run_once(config)  # the YAML's own source on 127.0.0.1: not checked
    assert api_requests(instance) == ["/api/v1/timelines/tag/acme?limit=40"]
    engine = db_engine(config.parent)
    with session(engine) as s:  # as the console saved it; "localhost" stands for a rebind
        s.add(Source(name="sneaky", kind="mastodon", managed_by="console", interval_s=60,
                     url=instance.base.replace("127.0.0.1", "localhost"),
                     rules={"hashtags": ["acme"], "timeline": "local"}))
        s.commit()
    instance.requests.clear()
    run_once(config)
    with session(engine) as s:
        sneaky = s.exec(select(Source).where(Source.name == "sneaky")).one()
    assert "refused" in sneaky.last_error and "console.allow_private" in sneaky.last_error
    assert "tag:acme: refused" in sneaky.last_error and "local: refused" in sneaky.last_error
    # only the YAML source's poll reached the instance (no status yet: no cursor)
    assert api_requests(instance) == ["/api/v1/timelines/tag/acme?limit=40"]
