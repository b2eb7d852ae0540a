"""Hostile feeds and headers against the real daemon (``crisiswatch run --once``,
Scrapy and feedparser real, loopback servers): a poisoned item, an absurd
``Retry-After``, a stray byte and repeated GUIDs never lose posts silently, and
every failure lands on the source's health with a next poll that moves (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from crawlers.items import FetchResult, PostItem
from crawlers.pipelines.store import store_result
from crawlers.schedule import MAX_RETRY_AFTER_S
from db.engine import make_engine, open_database
from db.models import Mention, Post, Source
from monitor.history.health import source_health
from tests.conftest import COMPLAINT, crisiswatch, db_engine, session

HEAD = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>t</title>'
TAIL = b"</channel></rss>"


def _item(guid: bytes, title: str, body: str, link: bytes) -> bytes:
    return (b"<item><title>" + title.encode() + b"</title><link>" + link + b"</link><guid>"
            + guid + b"</guid><description>" + body.encode() + b"</description></item>")


def _source(engine, name: str) -> Source:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(Source).where(Source.name == name)).one()


def _posts(engine, name: str) -> list[Post]:  # noqa: ANN001
    with session(engine) as s:
        src = s.exec(select(Source).where(Source.name == name)).one()
        return list(s.exec(select(Post).where(Post.source_id == src.id).order_by(Post.id)))


def _run(config) -> str:  # noqa: ANN001
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- 3. a poisoned item or a hostile header ------------------------------------------


@pytest.mark.postgres
def test_nul_in_guid_and_link_is_stripped_and_stored_on_postgres(site, make_config, pg_url):
    body = HEAD + _item(b"c1\x00x", COMPLAINT.title, COMPLAINT.body, b"http://h.example/c\x00") \
        + _item(b"ok2", "Quiet day", "Nothing to see", b"http://h.example/2") + TAIL
    site.override["poisoned"] = (200, body)
    config = make_config(["poisoned"], extra={"database": pg_url})
    started = datetime.now(UTC)
    _run(config)
    engine = make_engine(pg_url)
    try:
        src = _source(engine, "poisoned")
        posts = _posts(engine, "poisoned")
    finally:
        engine.dispose()
    assert src.last_fetch_at is not None and src.last_error is None
    # scheduled as usual: the 60 s interval counted from the poll's start, not its end
    assert started + timedelta(seconds=60) <= src.next_poll_at
    assert src.next_poll_at < src.last_fetch_at + timedelta(seconds=60)
    assert [p.url for p in posts] == ["http://h.example/c", "http://h.example/2"]
    assert posts[0].entry_key.endswith("c1x") and posts[0].title == COMPLAINT.title


def test_absurd_retry_after_is_capped_and_shown_on_health(site, make_config):
    site.override["busy"] = (429, b"slow down")
    site.headers["busy"] = {"Retry-After": "9" * 400}  # float('inf'): overflowed timedelta
    site.override["quiet"] = (503, b"maintenance")
    site.headers["quiet"] = {"Retry-After": "999999999"}  # 2058
    site.override["polite"] = (503, b"back soon")
    site.headers["polite"] = {"Retry-After": "120"}
    config = make_config(["busy", "quiet", "polite"])
    _run(config)
    engine = db_engine(config.parent)
    for name, status in (("busy", 429), ("quiet", 503)):
        src = _source(engine, name)
        assert src.last_error == f"HTTP {status}" and src.consecutive_errors == 1, name
        wait = (src.next_poll_at - src.last_fetch_at).total_seconds()
        assert 3600 <= wait <= MAX_RETRY_AFTER_S + 1, (name, wait)
        assert "Retry-After" in src.health_note and "capped at 86400 s" in src.health_note
    polite = _source(engine, "polite")
    assert 119 <= (polite.next_poll_at - polite.last_fetch_at).total_seconds() <= 121
    assert polite.health_note == "server asked to wait 120 s (Retry-After)"
    listing = crisiswatch("sources", "list", "--config", str(config)).stdout
    assert "note: server asked to wait 999999999 s (Retry-After); capped" in listing


def test_any_store_failure_goes_on_health_with_backoff(tmp_path):
    """Whatever makes the store fail, the source is marked and its next poll moves."""
    engine = open_database(f"sqlite:///{tmp_path / 'cw.db'}")
    with session(engine) as s:
        src = Source(name="s", url="http://h.example/f.xml", interval_s=60)
        s.add(src)
        s.commit()
        source_id = src.id
    bad = PostItem(entry_key="k", fingerprint="f", title="t", text="x",
                   published_at="not a date")  # type: ignore[arg-type]
    before = datetime.now(UTC)
    assert store_result(engine, FetchResult(source_id=source_id, status=200, posts=[bad])) == 0
    src = _source(engine, "s")
    assert src.last_error.startswith("could not store the fetch: ")
    assert src.error_count == 1 and src.consecutive_errors == 1 and src.last_status == 200
    assert src.next_poll_at >= before + timedelta(seconds=119)  # backoff: twice the interval
    engine.dispose()


# -- 2. one stray byte ---------------------------------------------------------------


def test_stray_byte_does_not_turn_a_chinese_feed_into_mojibake(site, make_config):
    body = HEAD + _item(b"z1", "艾克美手机坏了，客服态度很差", "我要退款，再也不买艾克美",
                        b"http://h.example/z1") \
        + _item(b"z2", "Caf\xe9 review", "Nice coffee", b"http://h.example/z2") + TAIL
    body = body.replace("Caf\xe9".encode(), b"Caf\xe9")  # one byte that is not UTF-8
    site.override["zh"] = (200, body)
    config = make_config(["zh"])
    _run(config)
    engine = db_engine(config.parent)
    posts = _posts(engine, "zh")
    assert [p.title for p in posts] == ["艾克美手机坏了，客服态度很差", "Caf\ufffd review"]
    with session(engine) as s:
        assert s.exec(select(Mention).where(Mention.post_id == posts[0].id)).first() is not None
    src = _source(engine, "zh")
    assert src.last_error is None
    assert src.health_note == "1 byte(s) that are not UTF-8 replaced"


# -- 5. repeated GUIDs ---------------------------------------------------------------


def test_entries_sharing_a_guid_are_all_kept_and_noted(site, make_config):
    items = b"".join(_item(b"same", f"Acme post number {n}", f"Different text {n}",
                           f"http://h.example/{n}".encode()) for n in range(5))
    twice = _item(b"dup", "Same twice", "Same body", b"http://h.example/d") * 2
    site.override["guids"] = (200, HEAD + items + twice + TAIL)
    config = make_config(["guids"])
    _run(config)
    engine = db_engine(config.parent)
    posts = _posts(engine, "guids")
    assert sorted(p.title for p in posts) == ["Acme post number 0", "Acme post number 1",
                                              "Acme post number 2", "Acme post number 3",
                                              "Acme post number 4", "Same twice"]
    keys = {p.entry_key.rsplit("/", 1)[-1] for p in posts}  # feedparser resolves the GUIDs
    assert len(keys) == 6 and "dup" in keys
    assert all(k.startswith("same#") for k in keys - {"dup"})
    note = _source(engine, "guids").health_note
    assert note.startswith("5 different entries share the GUID ")
    assert note.endswith("/same'; kept apart")
    _run(config)  # the derived keys are stable: a second fetch stores nothing again
    assert len(_posts(engine, "guids")) == 6


# -- 7. health that says ok when it is not ---------------------------------------------


def test_truncated_feed_is_partial_not_ok_and_says_what_was_lost(site, make_config):
    two = b"".join(_item(f"t{n}".encode(), f"Complete {n}", "text", b"http://h.example/t")
                   for n in range(2))
    site.override["cut"] = (200, HEAD + two + b"<item><title>Acme cut off in the mid")
    site.override["slow"] = (429, b"too many")
    site.feeds["fine"] = [COMPLAINT]
    config = make_config(["cut", "slow", "fine"])
    out = _run(config)
    listing = crisiswatch("sources", "list", "--config", str(config)).stdout
    states = {line.split()[0]: line.split()[2] for line in listing.splitlines()
              if line and not line.startswith(" ")}
    assert states == {"cut": "partial", "fine": "ok", "slow": "throttled"}
    assert "source cut partial: malformed feed, 2 of 3 entries read" in out
    assert "source slow throttled: HTTP 429" in out
    assert "source fine" not in out
    engine = db_engine(config.parent)
    assert len(_posts(engine, "cut")) == 2
    cut = _source(engine, "cut")
    assert cut.last_error is None and cut.health_note.startswith(
        "malformed feed, 2 of 3 entries read: SAXParseException")


@pytest.mark.parametrize(("fields", "state"), [
    ({}, "ok"),
    ({"health_note": "1 byte(s) that are not UTF-8 replaced"}, "partial"),
    ({"last_error": "HTTP 500", "last_status": 500}, "failing"),
    ({"last_error": "HTTP 503", "last_status": 503}, "failing"),
    ({"last_error": "HTTP 503", "last_status": 503,
      "health_note": "server asked to wait 60 s (Retry-After)"}, "throttled"),
    ({"last_error": "HTTP 429", "last_status": 429}, "throttled"),
    ({"enabled": False, "last_error": "HTTP 500"}, "disabled"),
])
def test_health_states(fields: dict, state: str) -> None:
    got, reason = source_health(Source(name="s", url="http://h.example/", **fields))
    assert got == state
    assert (reason == "") == (state in ("ok", "disabled"))
