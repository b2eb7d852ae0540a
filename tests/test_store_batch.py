"""The store pipeline writes a fetch's posts as sets (crawlers/pipelines/post_batch.py),
on real SQLite and PostgreSQL: a handful of statements a fetch however many entries
it holds, and the per-entry guarantees kept: nothing stored twice (by entry key or by
content), nothing lost, poisoned text made storable, a snapshot only when a counter
moved, a post another writer stored meanwhile skipped, and a failed store recorded
on the source's health."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text
from sqlmodel import select

from crawlers.items import FetchResult, PostItem
from crawlers.pipelines import post_batch
from crawlers.pipelines.store import store_result
from db.engine import open_database, session
from db.models import EngagementSnapshot, Post, Source

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    url = (f"sqlite:///{tmp_path / 'cw.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    engine = open_database(url)
    with session(engine) as s, s.begin():
        s.add(Source(name="feed", url="https://example.org/feed.xml"))
    return engine


def _item(n: int, replies: int | None = None, **changes: object) -> PostItem:
    fields = {"entry_key": f"e{n}", "fingerprint": f"f{n}", "title": f"Post {n}",
              "text": f"body of post {n}", "replies": replies, **changes}
    return PostItem(**fields)


def _fetch(*items: PostItem) -> FetchResult:
    return FetchResult(source_id=1, status=200, posts=list(items))


def _rows(engine: Engine) -> list[tuple]:
    with session(engine) as s:
        return [(p.entry_key, p.fingerprint, p.title, p.text, p.replies, p.likes)
                for p in s.exec(select(Post).order_by(Post.id))]


def _snapshots(engine: Engine) -> list[tuple]:
    with session(engine) as s:
        return [(x.post_id, x.replies, x.likes) for x in
                s.exec(select(EngagementSnapshot).order_by(EngagementSnapshot.id))]


def _statements(engine: Engine, work) -> int:  # noqa: ANN001
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, many) -> None:  # noqa: ANN001
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_a_fetch_costs_a_few_statements_however_many_entries(engine: Engine) -> None:
    first = _statements(engine, lambda: store_result(engine, _fetch(*map(_item, range(60)))))
    again = _statements(engine, lambda: store_result(
        engine, _fetch(*(_item(n, replies=1) for n in range(40, 100)))))
    assert len(_rows(engine)) == 100
    # per entry it was a SELECT, a SAVEPOINT, an INSERT and a RELEASE: 240+ statements
    assert first <= 12 and again <= 14, (first, again)


def test_existing_posts_by_key_or_content_are_not_stored_again(engine: Engine) -> None:
    assert store_result(engine, _fetch(_item(1), _item(2))) == 2
    same_content = _item(3, fingerprint="f2")  # a new GUID on a post already stored
    same_key = _item(1, fingerprint="f-edited", title="Post 1, edited")
    assert store_result(engine, _fetch(same_key, same_content, _item(4))) == 1
    assert [r[0] for r in _rows(engine)] == ["e1", "e2", "e4"]
    assert _rows(engine)[0][2] == "Post 1"  # the stored post is kept as first seen


def test_snapshots_only_when_a_counter_moves(engine: Engine) -> None:
    store_result(engine, _fetch(_item(1, replies=2, likes=5), _item(2)))
    store_result(engine, _fetch(_item(1, replies=2, likes=5), _item(2)))  # nothing moved
    store_result(engine, _fetch(_item(1, replies=2), _item(2)))  # likes not reported: kept
    assert _snapshots(engine) == [(1, 2, 5)]
    store_result(engine, _fetch(_item(1, replies=3), _item(2, replies=0)))
    assert _snapshots(engine) == [(1, 2, 5), (1, 3, None), (2, 0, None)]
    assert [r[4:] for r in _rows(engine)] == [(3, 5), (0, None)]


def test_repeats_within_one_fetch_are_stored_once(engine: Engine) -> None:
    twice = _fetch(_item(1, replies=1), _item(1, replies=4), _item(2, entry_key="e1b",
                                                                   fingerprint="f1"))
    assert store_result(engine, twice) == 1
    assert [r[0] for r in _rows(engine)] == ["e1"]
    assert _snapshots(engine) == [(1, 1, None), (1, 4, None)]  # as entry by entry


def test_poisoned_text_is_made_storable(engine: Engine) -> None:
    poisoned = _item(1, entry_key="e\x001", title="Post\x00 1", text="bo\x00dy",
                     url="https://h.example/\x00", author="a\x00b")
    assert store_result(engine, _fetch(poisoned, _item(2))) == 2
    key, _fp, title, body, *_ = _rows(engine)[0]
    assert "\x00" not in key + title + body and key.startswith("e")
    assert store_result(engine, _fetch(poisoned)) == 0  # and found again when re-read


def test_an_entry_the_database_refuses_does_not_cost_the_others(engine: Engine) -> None:
    bad = _item(1, text=None)  # post.text is NOT NULL: the set INSERT fails as a whole
    assert store_result(engine, _fetch(bad, _item(2))) == 1  # entry by entry, as before
    assert [r[0] for r in _rows(engine)] == ["e2"]
    with session(engine) as s:
        source = s.get(Source, 1)
    assert source.last_error is None and source.posts_seen == 1


def test_a_failed_store_is_recorded_on_the_source(engine: Engine) -> None:
    huge = _item(1, replies=2**70)  # no integer column holds it: the fetch fails
    assert store_result(engine, _fetch(huge, _item(2))) == 0
    with session(engine) as s:
        source = s.get(Source, 1)
    assert source.last_error and "could not store the fetch" in source.last_error
    assert source.consecutive_errors == 1 and _rows(engine) == []  # all or nothing


@pytest.mark.postgres
def test_a_post_another_writer_stored_meanwhile_is_skipped(pg_url: str, monkeypatch) -> None:  # noqa: ANN001
    """Between the batch's SELECT and its INSERT another connection commits one of the
    posts (as a thread page stored by another worker can): ON CONFLICT skips it, the
    others are stored, nothing fails."""
    engine = open_database(pg_url)
    with session(engine) as s, s.begin():
        s.add(Source(name="feed", url="https://example.org/feed.xml"))
    real = post_batch._existing

    def then_another_writer_commits(s, entries):  # noqa: ANN001, ANN202
        found = real(s, entries)
        with engine.begin() as other:
            other.execute(text("INSERT INTO post (source_id, entry_key, fingerprint, title, "
                               "text, fetched_at) VALUES (1, 'e2', 'f2', 'x', 'x', now())"))
        return found

    monkeypatch.setattr(post_batch, "_existing", then_another_writer_commits)
    with session(engine) as s, s.begin():
        new = post_batch.store_batch(s, 1, [_item(1), _item(2), _item(3)], [None] * 3)
    assert new == 2
    assert sorted(r[0] for r in _rows(engine)) == ["e1", "e2", "e3"]
