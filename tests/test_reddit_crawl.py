"""Reddit sources through the real daemon against a fake Reddit on 127.0.0.1
(tests/reddit_site.py): the app's own OAuth credentials from the environment, a
complaint whose comments grow reaching warning through its hot re-reads, a 401
answered by one fresh token, missing credentials refused or shown disabled, and
rate-limit headers honoured."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from db.models import EngagementSnapshot, Post, Source, Thread, utcnow
from monitor.history.health import source_health
from tests.conftest import crisiswatch, db_engine, session
from tests.reddit_site import FakeReddit, Thing, b36

COMPLAINT = "My Acme phone died after a day and Acme support was rude. I want a refund!"
ID_ENV, SECRET_ENV = "REDDIT_TEST_ID", "REDDIT_TEST_SECRET"


@pytest.fixture
def api(monkeypatch):
    site = FakeReddit()
    monkeypatch.setenv(ID_ENV, site.client_id)
    monkeypatch.setenv(SECRET_ENV, site.secret)
    yield site
    site.stop()


def reddit_source(api: FakeReddit, **extra: object) -> dict:
    source = {"name": "rd", "kind": "reddit", "url": api.base, "subreddits": ["acme"],
              "client_id_env": ID_ENV, "client_secret_env": SECRET_ENV,
              "token_url": f"{api.base}/api/v1/access_token",
              "user_agent": "test:crisiswatch:1.0 (by /u/tester)", **extra}
    return {k: v for k, v in source.items() if v is not None}


def run_once(config) -> None:  # noqa: ANN001
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr


def _source(engine) -> Source:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(Source).where(Source.name == "rd")).one()


def _posts(engine) -> list[Post]:  # noqa: ANN001
    with session(engine) as s:
        return list(s.exec(select(Post).order_by(Post.id)).all())


def test_complaint_whose_comments_grow_reaches_warning(api, receiver, make_config):
    post = api.add(Thing(5000, "anna", COMPLAINT, title="Acme phone dead, support rude"))
    api.add(Thing(5001, "bob", "Trying the new Acme blender today", title="Blender"))
    config = make_config([], extra_sources=[reddit_source(api)])
    run_once(config)
    engine = db_engine(config.parent)
    assert api.requests[:2] == ["POST /api/v1/access_token", "/r/acme/new?limit=100&raw_json=1"]
    assert api.grants == [{"grant_type": "client_credentials"}]
    assert set(api.agents) == {"test:crisiswatch:1.0 (by /u/tester)"}
    posts = _posts(engine)
    assert [p.entry_key for p in posts] == [f"t3_{b36(5001)}", f"t3_{b36(5000)}"]
    toot = posts[1]
    assert toot.author == "anna" and toot.text == COMPLAINT and toot.replies == 0
    assert toot.url == f"https://www.reddit.com/r/acme/comments/{b36(5000)}/slug/"
    assert [a.title[:14] for a in receiver.received] == ["[NOTICE] Acme:"]
    with session(engine) as s:
        thread = s.exec(select(Thread).where(Thread.key == post.fullname)).one()
    assert thread.hot_until > utcnow() and toot.thread_id == thread.id
    assert _source(engine).cursor == {"new:acme": f"t3_{b36(5001)}"}

    api.requests.clear()
    for i in range(7):  # the complaint draws comments, one a reply to another
        api.add(Thing(9000 + i, f"user{i}", "same here, so annoying", post=5000,
                      parent=9000 if i == 6 else None))
    post.score = 40
    run_once(config)  # the token is fetched again: a new process holds none
    # one token for the poll and the hot re-read, fetched while both waited for it; no
    # new post after the cursor: the newest page is read again (the cursor's post may
    # have been deleted, and Reddit lists nothing after a deleted one)
    assert api.requests[0] == "POST /api/v1/access_token"
    assert sorted(api.requests[1:]) == [
        f"/comments/{b36(5000)}?sort=new&limit=100&raw_json=1",
        "/r/acme/new?limit=100&raw_json=1",
        f"/r/acme/new?limit=100&raw_json=1&before=t3_{b36(5001)}"]
    titles = [a.title for a in receiver.received]
    assert len(titles) == 2 and titles[1].startswith("[WARNING] Acme"), titles
    assert re.search(r"replies 0 -> 7 in \d+ min on thread", receiver.received[1].body)
    posts = _posts(engine)
    assert len(posts) == 9 and {p.thread_id for p in posts[2:]} == {thread.id}
    with session(engine) as s:
        snaps = s.exec(select(EngagementSnapshot).where(
            EngagementSnapshot.thread_id == thread.id).order_by(EngagementSnapshot.id)).all()
    assert [(x.replies, x.likes) for x in snaps] == [(0, 1), (7, 40)]


def test_a_401_fetches_one_fresh_token(api, make_config):
    api.add(Thing(5000, "anna", "hello", title="Acme"))
    config = make_config([], extra_sources=[reddit_source(api, comments=True)])
    engine = db_engine(config.parent)
    run_once(config)
    assert api.tokens_issued == 1
    # a token revoked between two requests of one poll: one new token, then on
    api.add(Thing(5002, "c", "again", title="Acme again"))
    api.add(Thing(9001, "d", "a comment", post=5000))
    api.requests.clear()
    api.auth.clear()
    original = api.answer

    def revoke_after_first(path: str, query: dict):  # noqa: ANN202
        if path.endswith("/new"):
            api.revoke()
        return original(path, query)
    api.answer = revoke_after_first
    run_once(config)
    assert api.requests == ["POST /api/v1/access_token", f"/r/acme/new?limit=100&raw_json=1"
                            f"&before=t3_{b36(5000)}", "/r/acme/comments?limit=100&raw_json=1",
                            "POST /api/v1/access_token", "/r/acme/comments?limit=100&raw_json=1"]
    assert api.auth[-1] == f"bearer {api.token}" and api.auth[-2] != api.auth[-1]
    src = _source(engine)
    assert src.last_error is None, src.last_error
    assert src.cursor == {"new:acme": f"t3_{b36(5002)}", "comments:acme": f"t1_{b36(9001)}"}


def test_wrong_secret_and_a_second_401_are_errors(api, make_config, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "not-the-secret")
    config = make_config([], extra_sources=[reddit_source(api)])
    run_once(config)
    src = _source(db_engine(config.parent))
    state, reason = source_health(src)
    assert state == "failing" and "cannot get a Reddit token" in reason
    assert "HTTP 401 (check the app's client id and secret)" in reason
    assert api.requests == ["POST /api/v1/access_token"]  # no API call without a token


def test_missing_credentials_are_refused_or_shown_disabled(api, make_config, monkeypatch):
    config = make_config([], extra_sources=[reddit_source(api, client_secret_env=None)])
    result = crisiswatch("check-config", str(config))
    assert result.returncode == 2
    assert "client_secret_env: Reddit's API needs your own app's credentials" in result.stderr
    monkeypatch.delenv(SECRET_ENV)
    config = make_config([], extra_sources=[reddit_source(api)])
    result = crisiswatch("check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"source rd: warning: {SECRET_ENV} not set in the daemon's environment" \
        in result.stdout
    run_once(config)
    src = _source(db_engine(config.parent))
    state, reason = source_health(src)
    assert state == "disabled" and reason.startswith(f"{SECRET_ENV} not set")
    assert api.requests == []  # nothing was asked of Reddit
    listed = crisiswatch("sources", "list", "--config", str(config)).stdout
    assert "disabled" in listed and f"{SECRET_ENV} not set" in listed


def test_rate_limit_headers_show_throttled(api, make_config):
    api.add(Thing(5000, "anna", "hello", title="Acme"))
    api.remaining = 2.0  # below the floor: stop until the reset
    config = make_config([], extra_sources=[reddit_source(api, search=["refund"])])
    run_once(config)
    engine = db_engine(config.parent)
    src = _source(engine)
    assert api.requests == ["POST /api/v1/access_token", "/r/acme/new?limit=100&raw_json=1"]
    assert [p.entry_key for p in _posts(engine)] == [f"t3_{b36(5000)}"]
    state, reason = source_health(src)
    assert state == "throttled" and "2 of 600 requests left" in reason, reason
    assert "not read before the reset: search:acme:refund" in reason
    wait = (src.next_poll_at - src.last_fetch_at).total_seconds()
    assert 240 < wait < 310


def test_refused_with_429_is_throttled(api, make_config):
    api.refuse = True
    config = make_config([], extra_sources=[reddit_source(api)])
    run_once(config)
    src = _source(db_engine(config.parent))
    assert src.last_status == 429 and source_health(src)[0] == "throttled"


def test_search_and_password_grant(api, make_config, monkeypatch):
    monkeypatch.setenv("REDDIT_TEST_USER", "me")
    monkeypatch.setenv("REDDIT_TEST_PASS", "pw")
    api.add(Thing(5000, "anna", "Acme refund please", title="Refund", sub="gadgets"))
    api.add(Thing(5001, "bob", "no words of interest", title="Other", sub="gadgets"))
    config = make_config([], extra_sources=[reddit_source(
        api, subreddits=None, search=["acme refund"], username_env="REDDIT_TEST_USER",
        password_env="REDDIT_TEST_PASS")])
    run_once(config)
    assert api.grants == [{"grant_type": "password", "username": "me", "password": "pw"}]
    assert api.requests[1] == "/search?q=acme+refund&sort=new&type=link&limit=100&raw_json=1"
    engine = db_engine(config.parent)
    assert [p.entry_key for p in _posts(engine)] == [f"t3_{b36(5000)}"]
    assert _source(engine).cursor == {"search:acme refund": f"t3_{b36(5000)}"}


def test_sources_test_prints_what_would_be_stored(api, make_config):
    api.add(Thing(5000, "anna", COMPLAINT, title="Acme phone dead", score=12))
    api.add(Thing(9000, "bob", "me too", post=5000))
    config = make_config([], extra_sources=[reddit_source(api)])
    result = crisiswatch("sources", "test", "rd", "--full", "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"stream {api.base}/r/acme/new?limit=100&raw_json=1: 1 posts" in out
    assert "  - anna at " in out and "likes=12 (74 chars)" in out and COMPLAINT in out
    assert not (config.parent / "cw.db").exists()  # nothing stored


def test_console_added_source_goes_through_the_url_guard(api, make_config):
    config = make_config([], extra_sources=[reddit_source(api)])
    run_once(config)  # the YAML's own source on 127.0.0.1: not checked
    engine = db_engine(config.parent)
    sneaky = api.base.replace("127.0.0.1", "localhost")  # stands for a DNS rebind
    with session(engine) as s:  # as the console would have saved it
        s.add(Source(name="sneaky", kind="reddit", managed_by="console", interval_s=60,
                     url=sneaky, rules={"subreddits": ["acme"], "client_id_env": ID_ENV,
                                        "client_secret_env": SECRET_ENV,
                                        "token_url": f"{sneaky}/api/v1/access_token"}))
        s.commit()
    api.requests.clear()
    run_once(config)
    with session(engine) as s:
        row = s.exec(select(Source).where(Source.name == "sneaky")).one()
    assert "cannot get a Reddit token" in row.last_error and "refused" in row.last_error
    assert "console.allow_private" in row.last_error
    assert api.requests.count("POST /api/v1/access_token") == 1  # the YAML source's only


def test_a_deleted_cursor_post_does_not_stop_the_stream(api, make_config):
    api.add(Thing(5000, "anna", "first", title="Acme one"))
    api.add(Thing(5001, "bob", "second", title="Acme two"))
    config = make_config([], extra_sources=[reddit_source(api)])
    run_once(config)
    engine = db_engine(config.parent)
    del api.things[5001]  # removed by the moderators: the cursor names a deleted post
    api.add(Thing(5002, "cy", "third", title="Acme three"))
    api.requests.clear()
    run_once(config)
    assert api.requests[1:] == [f"/r/acme/new?limit=100&raw_json=1&before=t3_{b36(5001)}",
                                "/r/acme/new?limit=100&raw_json=1"]
    assert [p.entry_key for p in _posts(engine)] == [f"t3_{b36(n)}" for n in (5001, 5000,
                                                                             5002)]
    assert _source(engine).cursor == {"new:acme": f"t3_{b36(5002)}"}
