"""Forum sources through the real daemon: incremental thread reading,
engagement snapshots and growth alerts, broken layouts, politeness."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlmodel import func, select

from db.models import EngagementSnapshot, Post, Source, Thread, utcnow
from tests.conftest import crisiswatch, db_engine, session
from tests.forum_site import RECENT, RECENT_ISO, RULES, Forum, FPost


@pytest.fixture
def forum():
    f = Forum()
    yield f
    f.stop()


def forum_source(forum: Forum, **extra: object) -> dict:
    return {"name": "board", "kind": "forum", "url": f"{forum.base}/forum", "rules": RULES,
            **extra}


def _count(engine, model) -> int:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _source(engine) -> Source:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(Source).where(Source.name == "board")).one()


def pages(forum: Forum) -> list[str]:
    """Requests other than robots.txt (each new process reads that once)."""
    return [r for r in forum.requests if r != "/robots.txt"]


def run_once(config, *flags: str) -> str:  # noqa: ANN001
    result = crisiswatch("run", "--once", "--config", str(config), *flags)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_threads_are_read_incrementally(forum, make_config):
    forum.add(1, "Camera tips", *(FPost(i, f"user{i}", f"tip number {i}") for i in range(1, 6)))
    forum.add(2, "Hiking", FPost(10, "walker", "nice trail"))
    config = make_config([], extra_sources=[forum_source(forum)])
    log = run_once(config, "--verbose")  # a log line's context once broke the store
    assert "Traceback" not in log and re.search(r"thread Camera tips: \d+ new posts", log)
    engine = db_engine(config.parent)
    assert _count(engine, Post) == 6
    assert sorted(forum.requests) == sorted(["/robots.txt", "/forum", "/t/1", "/t/1?page=2",
                                             "/t/2"])
    forum.requests.clear()
    forum.add(1, "Camera tips", FPost(6, "user6", "tip six"), FPost(7, "user7", "tip seven"))
    run_once(config)
    # only the changed thread, resumed at its last page: page 1 is not read again
    assert pages(forum) == ["/forum", "/t/1?page=2", "/t/1?page=3"]
    assert _count(engine, Post) == 8
    with session(engine) as s:
        t1 = s.exec(select(Thread).where(Thread.key == "1")).one()
        snaps = s.exec(select(EngagementSnapshot.replies).where(
            EngagementSnapshot.thread_id == t1.id).order_by(EngagementSnapshot.id)).all()
        post = s.exec(select(Post).where(Post.entry_key == "post:p7")).one()
    assert snaps == [4, 6]
    assert t1.resume_url.endswith("/t/1?page=3") and t1.title == "Camera tips"
    assert post.author == "user7" and post.thread_id == t1.id
    assert post.published_at is not None and post.likes == 0
    forum.requests.clear()
    run_once(config)
    assert pages(forum) == ["/forum"]  # nothing changed: nothing re-read


def test_growing_complaint_thread_escalates_and_turns_hot(forum, receiver, make_config):
    forum.add(1, "Acme phone broken", FPost(1, "anna", "My Acme phone died after a day and "
                                            "support was rude. I want a refund."))
    config = make_config([], extra_sources=[forum_source(forum)])
    run_once(config)
    assert [a.title[:14] for a in receiver.received] == ["[NOTICE] Acme:"]
    engine = db_engine(config.parent)
    with session(engine) as s:
        thread = s.exec(select(Thread)).one()
    assert thread.hot_until is not None and thread.hot_until > utcnow() + timedelta(hours=5)
    forum.add(1, "Acme phone broken", *(FPost(i, f"u{i}", "same here, annoying")
                                         for i in range(2, 8)))
    run_once(config)
    titles = [a.title for a in receiver.received]
    assert len(titles) == 2 and titles[1].startswith("[WARNING] Acme")
    assert re.search(r'replies 0 -> 6 in \d+ min on thread "Acme phone broken"',
                     receiver.received[1].body)
    # replies are judged on their own words: "same here" is not an Acme mention,
    # even though the thread title names Acme
    rows = crisiswatch("history", "--config", str(config), "-f", "json").stdout
    assert rows.count('"brand": "Acme"') == 1


def test_hot_thread_is_reread_between_listing_polls(forum, receiver, make_config):
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT, cli_env, wait_for

    forum.add(1, "Acme phone broken", FPost(1, "anna", "My Acme phone died and support was "
                                            "rude. I want a refund."))
    config = make_config([], extra_sources=[forum_source(forum, interval=3600,
                                                         hot_interval=1)])
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--config",
                             str(config)], cwd=ROOT, env=cli_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: receiver.received, 30, "the first alert")
        forum.add(1, "Acme phone broken", FPost(2, "ben", "Acme never answered me either"))
        engine = db_engine(config.parent)
        wait_for(lambda: _count(engine, Post) == 2, 20, "the hot thread to be re-read")
        assert forum.requests.count("/forum") == 1  # the listing was not polled again
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_changed_layout_is_reported_not_ignored(forum, make_config):
    forum.add(1, "Camera tips", FPost(1, "a", "hello"))
    forum.listing_broken = True
    config = make_config([], extra_sources=[forum_source(forum)])
    run_once(config)
    source = _source(db_engine(config.parent))
    assert source.last_error.startswith("extraction returned nothing")
    assert source.consecutive_errors == 1


def test_retry_after_is_honoured(forum, make_config):
    forum.special["/forum"] = (429, {"Retry-After": "7200"}, b"slow down")
    config = make_config([], extra_sources=[forum_source(forum, interval=60)])
    run_once(config)
    source = _source(db_engine(config.parent))
    assert source.last_error == "HTTP 429"
    assert source.next_poll_at - source.last_fetch_at >= timedelta(seconds=7200)
    assert forum.requests.count("/forum") == 1  # not retried at once


def test_redirect_loop_and_robots_are_clear_errors(forum, make_config):
    forum.special["/loop"] = (302, {"Location": "/loop"}, b"")
    forum.special["/robots.txt"] = (200, {"Content-Type": "text/plain"},
                                    b"User-agent: *\nDisallow: /private\n")
    forum.special["/private"] = (200, {}, b"<html><table></table></html>")
    config = make_config([], extra_sources=[
        {"name": "loop", "kind": "forum", "url": f"{forum.base}/loop", "rules": RULES},
        {"name": "private", "kind": "forum", "url": f"{forum.base}/private", "rules": RULES},
        {"name": "private-ok", "kind": "forum", "url": f"{forum.base}/private", "rules": RULES,
         "robots": False}])
    run_once(config)
    engine = db_engine(config.parent)
    with session(engine) as s:
        errors = {r.name: r.last_error for r in s.exec(select(Source)).all()}
    assert "redirect" in errors["loop"].lower()
    assert "robots.txt" in errors["private"]
    # fetched despite robots.txt, and then the (empty) page is reported as such
    assert errors["private-ok"].startswith("extraction returned nothing")
    assert forum.requests.count("/private") == 1


def test_sources_test_prints_extraction_and_stores_nothing(forum, make_config):
    forum.add(1, "Camera tips", FPost(1, "ann", "use a tripod", likes=4))
    config = make_config([], extra_sources=[forum_source(forum)])
    started = time.monotonic()
    result = crisiswatch("sources", "test", "board", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "1 threads" in result.stdout and "[1] Camera tips" in result.stdout
    assert f"ann at {RECENT.strftime('%Y-%m-%dT%H:%M')}+00:00 likes=4 (12 chars): use a tripod" \
        in result.stdout
    assert not (config.parent / "cw.db").exists()
    assert time.monotonic() - started < 60
    bad = crisiswatch("sources", "test", "nope", "--config", str(config))
    assert bad.returncode == 2 and "no source named 'nope'" in bad.stderr


def _one_post_page(title: str, author: str, body: str) -> str:
    return (f"<html><head>{{meta}}</head><body><h1>{title}</h1><div class='post' id='p1'>"
            f"<span class='author'>{author}</span><time datetime='{RECENT_ISO}'></time>"
            f"<div class='body'>{body}</div></div></body></html>")


def test_legacy_chinese_encodings_decode_declared_or_not(forum, receiver, make_config):
    gbk = _one_post_page("艾克美手机问题", "张三", "艾克美手机坏了，客服不理人，我要找记者曝光")
    big5 = _one_post_page("艾克美手機問題", "李四", "艾克美手機壞了，客服不理人，我要找記者曝光")
    forum.special["/t/1"] = (200, {"Content-Type": "text/html"},
                             gbk.replace("{meta}", "<meta charset='gbk'>").encode("gbk"))
    forum.special["/t/2"] = (200, {"Content-Type": "text/html; charset=big5"},
                             big5.replace("{meta}", "").encode("big5"))
    forum.special["/t/3"] = (200, {"Content-Type": "text/html"},  # declared nowhere
                             gbk.replace("{meta}", "").replace("张三", "王五").encode("gb18030"))
    config = make_config([], extra_sources=[
        {"name": f"t{i}", "kind": "forum", "url": f"{forum.base}/t/{i}", "rules": RULES,
         "page": "thread"} for i in (1, 2, 3)])
    run_once(config)
    engine = db_engine(config.parent)
    with session(engine) as s:
        posts = {p.author: p.text for p in s.exec(select(Post)).all()}
    assert posts["张三"] == "艾克美手机坏了，客服不理人，我要找记者曝光"
    assert posts["李四"] == "艾克美手機壞了，客服不理人，我要找記者曝光"  # stored as written
    assert posts["王五"] == "艾克美手机坏了，客服不理人，我要找记者曝光"
    # Traditional folded for matching: all three are flagged Acme mentions
    assert len(receiver.received) >= 1
    rows = crisiswatch("history", "--config", str(config), "-f", "json").stdout
    assert rows.count('"brand": "Acme"') == 3
