"""``kind: hackernews``: Algolia's search API for brand mentions, the official item
API for a flagged story's growth, through the real daemon against a local server.

The JSON fixtures are ours, shaped like the real responses documented at
https://hn.algolia.com/api (search) and https://github.com/HackerNews/API (items):
see ``tests/hn_site.py`` for the fields copied.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlmodel import func, select

from crawlers.extractors import hackernews as hn
from db.models import EngagementSnapshot, Post, Source, Thread, utcnow
from monitor.config import ConfigError, parse_config
from tests.conftest import ROOT, cli_env, crisiswatch, db_engine, session, wait_for
from tests.hn_site import STORY, FakeHackerNews, load_fixture


@pytest.fixture
def hnsite():
    site = FakeHackerNews()
    yield site
    site.stop()


def hn_source(site: FakeHackerNews, **extra: object) -> dict:
    return {"name": "hn", "kind": "hackernews", "url": site.search_api,
            "items_url": site.items_api, **extra}


def run_once(config) -> None:  # noqa: ANN001
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr


def searches(site: FakeHackerNews) -> list[str]:
    return [r for r in site.requests if r.startswith("/api/v1/search_by_date")]


# --- reading the answers ----------------------------------------------------------

def test_hits_become_posts_in_their_story_threads():
    page = hn.read_hits(load_fixture("search_by_date.json"), None)
    by_key = {p.entry_key: p for p in page.posts}
    story, comment = by_key["hn:41230001"], by_key["hn:41230007"]
    assert story.title == "Acme phones are dying after the 4.2 update"
    assert story.text == ("My Acme phone died a day after the update and support was rude. "
                          "I want a refund.\nAnyone else?")
    assert story.author == "anna_k" and story.url == "https://news.ycombinator.com/item?id=41230001"
    assert (story.replies, story.likes, story.thread_key) == (2, 12, "41230001")
    assert story.published_at.isoformat() == "2024-08-14T10:00:00+00:00"
    # comment HTML: entities decoded, markup gone, the link's words kept
    assert comment.text == ('Same here: my Acme phone died too. Support said it\'s "expected".\n'
                            "Their forum thread: https://forum.example.com/t/1")
    assert comment.title == "Re: Acme phones are dying after the 4.2 update"
    assert (comment.thread_key, comment.replies) == ("41230001", None)
    threads = {t.key: t for t in page.threads}
    assert (threads["41230001"].replies, threads["41230001"].likes) == (2, 12)
    assert threads["41229950"].title.startswith("Ask HN: Which cloud")
    assert page.newest == (1723629900, 41230007) and not page.more


def test_cursor_keeps_only_later_hits_with_the_id_breaking_ties():
    data = load_fixture("search_by_date.json")
    # two comments share second 1723629900: the cursor on the lower id keeps the other
    page = hn.read_hits(data, (1723629900, 41230005))
    assert [p.entry_key for p in page.posts] == ["hn:41230007"]
    assert hn.read_hits(data, (1723629900, 41230007)).posts == []
    assert hn.parse_cursor(hn.format_cursor((5, 7))) == (5, 7)
    assert hn.parse_cursor("junk") is None and hn.parse_cursor("1:x") is None
    url = hn.search_url("https://h/api/v1/", "acme cloud", hn.TAGS, (1723629900, 1))
    assert url == ("https://h/api/v1/search_by_date?query=acme+cloud&tags=%28story%2Ccomment"
                   "%29&hitsPerPage=100&numericFilters=created_at_i%3E%3D1723629900")


def test_item_answer_gives_points_and_comment_count():
    ref = hn.read_item(load_fixture(f"item_{STORY}.json"), str(STORY))
    assert (ref.replies, ref.likes, ref.key) == (2, 12, str(STORY))
    assert hn.read_item({"id": STORY, "deleted": True}, str(STORY)) is None
    assert hn.read_item({"id": 1, "score": 3}, str(STORY)) is None  # not the story asked


# --- configuration -----------------------------------------------------------------

def _config_error(source: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config({"sources": [source]}, base=ROOT, env={})
    return str(caught.value)


def test_config_validates_the_options_with_clear_errors():
    ok = parse_config({"sources": [{"name": "hn", "kind": "hackernews"}]}, base=ROOT, env={})
    assert ok.sources[0].url == "https://hn.algolia.com/api/v1"  # no url: the real API
    assert "sources[0]: query: list at least one term" in _config_error(
        {"name": "hn", "kind": "hackernews", "query": []})
    assert "query: must not contain empty strings" in _config_error(
        {"name": "hn", "kind": "hackernews", "query": ["acme", " "]})
    assert "items_url: 'ftp://x' is not an http(s) URL" in _config_error(
        {"name": "hn", "kind": "hackernews", "items_url": "ftp://x"})
    assert "query: is for kind hackernews, not feed" in _config_error(
        {"name": "f", "kind": "feed", "url": "https://e.com/f.xml", "query": ["acme"]})
    assert "preset and rules are for kind forum" in _config_error(
        {"name": "hn", "kind": "hackernews", "preset": "hackernews"})


def test_check_config_names_the_bad_option(tmp_path):
    path = tmp_path / "crisiswatch.yaml"
    path.write_text("sources:\n  - name: hn\n    kind: hackernews\n    query: []\n")
    result = crisiswatch("check-config", str(path))
    assert result.returncode != 0
    assert "sources[0]: query: list at least one term" in result.stderr + result.stdout


# --- crawling ----------------------------------------------------------------------

def test_polls_store_hits_in_threads_and_resume_after_the_cursor(hnsite, make_config):
    config = make_config([], extra_sources=[hn_source(hnsite)])
    run_once(config)
    engine = db_engine(config.parent)
    with session(engine) as s:
        posts = {p.entry_key: p for p in s.exec(select(Post)).all()}
        threads = {t.key: t for t in s.exec(select(Thread)).all()}
        source = s.exec(select(Source)).one()
    assert set(posts) == {"hn:41230001", "hn:41230005", "hn:41230007"}
    story = threads[str(STORY)]
    assert posts["hn:41230001"].thread_id == posts["hn:41230007"].thread_id == story.id
    assert (story.replies, story.likes, story.url) == (
        2, 12, "https://news.ycombinator.com/item?id=41230001")
    newest = max(h["created_at_i"] for h in hnsite.hits)
    assert source.cursor == {"search": f"{newest}:41230007"} and source.last_error is None
    # the brands' keywords are the terms; the first poll reads one page, no time filter
    assert [r.split("?")[1].split("&")[0] for r in searches(hnsite)] == [
        "query=Acme", "query=%E8%89%BE%E5%85%8B%E7%BE%8E"]
    assert "numericFilters" not in searches(hnsite)[0]

    # new hits: one in the cursor's own second with a higher id, one later, and one in
    # that second with a lower id (already stored before the cursor: not repeated)
    hnsite.requests.clear()
    hnsite.comment(41230009, newest, "Acme support never called me back")
    hnsite.comment(41230012, newest + 30, "Acme lost my order twice")
    hnsite.comment(41230006, newest, "acme anvils are fine")
    run_once(config)  # a new process: the cursor came from the database
    assert all(f"numericFilters=created_at_i%3E%3D{newest}" in r for r in searches(hnsite))
    with session(engine) as s:
        keys = sorted(p.entry_key for p in s.exec(select(Post)).all())
        source = s.exec(select(Source)).one()
    assert keys == ["hn:41230001", "hn:41230005", "hn:41230007", "hn:41230009",
                    "hn:41230012"]
    assert source.cursor == {"search": f"{newest + 30}:41230012"}

    # a busy spell: more new hits than one page holds are read page by page, once
    for i in range(1, 151):
        hnsite.comment(41240000 + i, newest + 30 + i, f"Acme outage report {i}")
    hnsite.requests.clear()
    run_once(config)
    acme = [r for r in searches(hnsite) if "query=Acme" in r]
    assert len(acme) == 2 and "page=1" in acme[1]
    with session(engine) as s:
        assert s.exec(select(func.count()).select_from(Post)).one() == 155


def test_no_search_terms_is_a_failing_source_not_a_silent_one(hnsite, make_config):
    config = make_config([], extra_sources=[hn_source(hnsite)],
                         extra={"brands": []})
    run_once(config)
    with session(db_engine(config.parent)) as s:
        source = s.exec(select(Source)).one()
    assert source.last_error.startswith("no search terms")
    assert source.consecutive_errors == 1 and not searches(hnsite)


def test_growing_comments_of_a_flagged_story_are_tracked(hnsite, receiver, make_config):
    """The story is flagged (notice), turns hot, and the item API's growing comment
    count becomes its thread's engagement series and a warning."""
    config = make_config([], extra_sources=[hn_source(hnsite, interval=3600,
                                                      hot_interval=1)])
    grow = {"n": 0}
    item = hnsite.items[STORY]

    def growing() -> None:  # each item read shows four more comments and three points
        grow["n"] += 1
        item["descendants"] = 2 + 4 * grow["n"]
        item["score"] = 12 + 3 * grow["n"]

    original = hnsite.server.RequestHandlerClass.do_GET

    def do_get(handler) -> None:  # noqa: ANN001
        if handler.path.startswith("/v0/item/"):
            growing()
        original(handler)

    hnsite.server.RequestHandlerClass.do_GET = do_get
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--config",
                             str(config)], cwd=ROOT, env=cli_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: any(a.title.startswith("[WARNING]") for a in receiver.received),
                 40, "a warning from the story's comment growth")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    titles = [a.title for a in receiver.received]
    assert titles[0].startswith("[NOTICE] Acme")
    warning = next(a for a in receiver.received if a.title.startswith("[WARNING]"))
    assert re.search(r'replies 2 -> \d+ in \d+ min on thread "Acme phones are dying',
                     warning.body), warning.body
    engine = db_engine(config.parent)
    with session(engine) as s:
        thread = s.exec(select(Thread).where(Thread.key == str(STORY))).one()
        snaps = s.exec(select(EngagementSnapshot).where(
            EngagementSnapshot.thread_id == thread.id).order_by(EngagementSnapshot.id)).all()
    assert thread.hot_until > utcnow() + timedelta(hours=5)
    replies = [x.replies for x in snaps]
    assert replies[:3] == [2, 6, 10]  # the search hit, then two item reads
    assert [x.likes for x in snaps][:3] == [12, 15, 18]
    assert any(r.startswith(f"/v0/item/{STORY}.json") for r in hnsite.requests)
    assert len(searches(hnsite)) == 2  # one poll (two terms): growth came from the item API


def test_sources_test_prints_what_would_be_stored(hnsite, make_config):
    config = make_config([], extra_sources=[hn_source(hnsite, query=["acme"])])
    result = crisiswatch("sources", "test", "hn", "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "3 posts would be stored, in 2 stories" in out
    assert "[story 41230001] anna_k at" in out and "item?id=41230007" in out
    assert "story 41230001: points=12 comments=2" in out
    assert f"item API {hnsite.items_api}/item/41230001.json: points=12 comments=2" in out
    hnsite.stop()
    failed = crisiswatch("sources", "test", "hn", "--config", str(config))
    assert failed.returncode == 1 and "FAILED" in failed.stderr


def test_a_console_added_source_goes_through_the_url_guard(hnsite, make_config):
    """A console source's search and item requests are checked like any fetch: a
    host that resolves to loopback is refused and nothing is sent to it."""
    from urllib.parse import urlsplit

    from db.engine import open_database

    config = make_config([])
    port = urlsplit(hnsite.base).port
    engine = open_database(f"sqlite:///{config.parent / 'cw.db'}")
    with session(engine) as s:  # as the console saves it; "localhost" stands for a rebinding name
        s.add(Source(name="hn-console", kind="hackernews", url=f"http://localhost:{port}/api/v1",
                     rules={"query": ["acme"], "items_url": None}, managed_by="console"))
        s.commit()
    run_once(config)
    with session(engine) as s:
        source = s.exec(select(Source).where(Source.name == "hn-console")).one()
    assert "refused" in source.last_error and "console.allow_private" in source.last_error
    assert not searches(hnsite)
