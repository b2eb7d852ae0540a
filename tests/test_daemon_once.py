"""The real daemon (``crisiswatch run --once``) against loopback feeds and a
loopback json:// endpoint: Scrapy, feedparser, SQLite and apprise all real."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlmodel import func, select

from db.models import Delivery, Post, Source, as_utc, utcnow
from tests.conftest import CHATTER, COMPLAINT, PRAISE, crisiswatch, db_engine, session


def _count(engine, model) -> int:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _source(engine, name: str) -> Source:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(Source).where(Source.name == name)).one()


def test_new_entry_becomes_an_alert_with_a_playbook(site, receiver, make_config):
    site.feeds["forum"] = [CHATTER, PRAISE, COMPLAINT]
    config = make_config(["forum"])
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert len(receiver.received) == 1
    alert = receiver.received[0]
    assert alert.title.startswith("[NOTICE] Acme"), alert.title
    assert alert.type == "info"
    assert f"{site.base}/posts/c1" in alert.body
    assert "First steps:\n1. " in alert.body
    assert "Alert key: acme:1:notice" in alert.body
    assert "company policy" in alert.body  # why: the taboo phrase the post quotes
    assert "posts seen: 3" in result.stdout
    assert "mentions: 2 (1 flagged)" in result.stdout


def test_refetch_and_restart_store_nothing_twice(site, receiver, make_config):
    site.feeds["forum"] = [CHATTER, COMPLAINT]
    config = make_config(["forum"])
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    engine = db_engine(config.parent)
    assert _count(engine, Post) == 2
    # the feed changes (new entry, a re-issued old one with a new id): a 200,
    # so the old entries are parsed again and must be recognised
    reissued = replace(COMPLAINT, id="c1-again")
    site.feeds["forum"] = [CHATTER, COMPLAINT, reissued, PRAISE]
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    assert _count(engine, Post) == 3  # PRAISE is new; reissued is the same content
    assert _count(engine, Delivery) == 1
    assert len(receiver.received) == 1


def test_not_modified_costs_no_parsing(site, receiver, make_config):
    site.feeds["forum"] = [COMPLAINT]
    config = make_config(["forum"])
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    feed_requests = [r for r in site.requests if r[0] == "/forum.xml"]
    assert [r[2] for r in feed_requests] == [200, 304]
    assert feed_requests[1][1] is not None  # sent If-None-Match back
    source = _source(db_engine(config.parent), "forum")
    # an empty 304 body given to the parser would have been a "malformed feed"
    assert source.last_status == 304 and source.last_error is None
    assert source.etag == feed_requests[1][1]
    assert len(receiver.received) == 1


def test_the_next_poll_counts_from_the_start_of_the_poll(site, receiver, make_config):
    """The spider's claim and its response's timing reach the store: the 60 s
    interval runs from when the poll's request went out (before the download, the
    parse and the commit), so the next poll is less than 60 s after the stored
    fetch, and never before 30 s."""
    site.feeds["forum"] = [COMPLAINT]
    config = make_config(["forum"], interval=60)
    started = utcnow()
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    source = _source(db_engine(config.parent), "forum")
    next_poll, fetched = as_utc(source.next_poll_at), as_utc(source.last_fetch_at)
    assert started + timedelta(seconds=60) <= next_poll < fetched + timedelta(seconds=60)
    assert next_poll >= fetched + timedelta(seconds=30)


def test_broken_sources_are_marked_and_others_carry_on(site, receiver, make_config):
    site.feeds["good"] = [COMPLAINT]
    site.override["malformed"] = (200, b"<rss><channel><item><title>cut off")
    site.override["down"] = (500, b"oops")
    site.override["html"] = (200, b"<html><body><p>Moved</p></body></html>")
    config = make_config(["good", "malformed", "down", "html"])
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    engine = db_engine(config.parent)
    assert _source(engine, "good").last_error is None
    # every poll gave its lease back when it was stored (crawlers/claims.py)
    with session(engine) as s:
        assert s.exec(select(Source).where(Source.lease_owner != None)).all() == []  # noqa: E711
    assert len(receiver.received) == 1
    malformed, down, html = (_source(engine, n) for n in ("malformed", "down", "html"))
    assert malformed.last_error.startswith("malformed feed")
    assert down.last_error == "HTTP 500" and down.last_status == 500
    assert html.last_error is not None
    for src in (malformed, down, html):
        assert src.error_count == 1 and src.consecutive_errors == 1
        # backoff: the next poll waits longer than the 60 s interval
        assert (src.next_poll_at - src.last_fetch_at).total_seconds() > 60
    assert "source down unhealthy: HTTP 500" in result.stdout
    # 500s are retried by Scrapy before giving up
    assert sum(1 for r in site.requests if r[0] == "/down.xml") == 3


def test_endpoint_down_gets_the_alert_once_when_back(site, receiver, make_config):
    site.feeds["forum"] = [COMPLAINT]
    config = make_config(["forum"])
    receiver.down = True
    first = crisiswatch("run", "--once", "--config", str(config))
    assert first.returncode == 0
    assert receiver.received == []
    assert "1 waiting to retry" in first.stdout
    engine = db_engine(config.parent)
    with session(engine) as s:
        pending = s.exec(select(Delivery)).one()
    assert pending.status == "pending" and pending.attempts == 1
    assert "503" in (pending.last_error or ""), pending.last_error
    receiver.down = False
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    assert len(receiver.received) == 1
    assert receiver.received[0].title.startswith("[NOTICE] Acme")
    with session(engine) as s:
        assert s.exec(select(Delivery)).one().status == "sent"


def test_slow_and_oversized_sources_fail_clearly_within_the_limits(site, receiver,
                                                                   make_config):
    import time

    from monitor.lab.localsite import LoopbackServer, QuietHandler

    class Slow(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            time.sleep(4)
            self.reply(200)

    slow = LoopbackServer(Slow).start()
    site.feeds["forum"] = [COMPLAINT]
    site.override["huge"] = (200, b"<rss>" + b" " * (2 * 2**20) + b"</rss>")
    config = make_config(
        ["forum", "huge"], extra={"fetch": {"timeout": "1s", "retries": 0, "max_size_mb": 1}},
        extra_sources=[{"name": "slow", "kind": "feed",
                        "url": f"http://127.0.0.1:{slow.server_address[1]}/f"}])
    try:
        started = time.monotonic()
        result = crisiswatch("run", "--once", "--config", str(config))
        took = time.monotonic() - started
    finally:
        slow.stop()
    assert result.returncode == 0, result.stderr
    engine = db_engine(config.parent)
    assert _source(engine, "slow").last_error == "timed out"
    assert _source(engine, "huge").last_error is not None
    assert _source(engine, "forum").last_error is None
    assert len(receiver.received) == 1
    assert took < 30


def test_old_posts_are_stored_but_do_not_alert(site, receiver, make_config):
    """Issue 17 item 9: an item dated 1970, or older than the look-back (7 days by
    default), is news to the daemon only: stored and scored, never an alert."""
    import time

    from db.models import Mention
    epoch = replace(COMPLAINT, id="c-1970", title="Acme phone froze in 1970, support rude",
                    appear_at=-time.time() + 3600)
    old = replace(COMPLAINT, id="c-old", title="Acme phone froze last month, support rude",
                  appear_at=-10 * 86400)
    site.feeds["forum"] = [epoch, old]
    config = make_config(["forum"])
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    engine = db_engine(config.parent)
    with session(engine) as s:
        mentions = s.exec(select(Mention)).all()
    assert len(mentions) == 2 and not any(m.flagged for m in mentions)
    assert all(any("old post" in r for r in m.reasons) for m in mentions)
    assert receiver.received == [] and _count(engine, Delivery) == 0
    site.feeds["forum"] = [epoch, old, COMPLAINT]  # a fresh one still alerts
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    assert len(receiver.received) == 1 and f"{site.base}/posts/c1" in receiver.received[0].body


def test_a_source_look_back_lets_older_posts_alert(site, receiver, make_config):
    old = replace(COMPLAINT, appear_at=-10 * 86400)
    site.feeds["forum"] = [old]
    config = make_config([], extra_sources=[
        {"name": "forum", "kind": "feed", "url": f"{site.base}/forum.xml", "lookback": "30d"}],
        extra={"detection": {"lookback": "1d"}})
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    assert len(receiver.received) == 1
