"""The store writer (crawlers/pipelines/writer.py) on real SQLite and PostgreSQL:
several fetches in one transaction, each acknowledged only once its rows and its
source's schedule and lease committed, and a batch one item of which fails stored
item by item, the failure on that item's source alone."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func
from sqlmodel import select

from crawlers.items import FetchResult, PostItem
from crawlers.pipelines.writer import StoreWriter, store_many
from db.engine import open_database, session
from db.models import Post, Source, utcnow

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
OWNER = "worker-1"


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    url = (f"sqlite:///{tmp_path / 'cw.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    engine = open_database(url)
    with session(engine) as s, s.begin():
        for n in range(3):  # each leased to the worker storing its fetch
            s.add(Source(name=f"feed{n}", url=f"https://example.org/{n}.xml",
                         lease_owner=OWNER, lease_until=utcnow() + timedelta(minutes=5)))
    return engine


def _fetch(source_id: int, **changes: object) -> FetchResult:
    posts = [PostItem(entry_key=f"s{source_id}-{n}", fingerprint=f"s{source_id}-f{n}",
                      title=f"post {n}", text=f"post {n} of source {source_id}")
             for n in range(3)]
    return FetchResult(source_id=source_id, status=200, posts=posts, **changes)


def _state(engine: Engine, source_id: int) -> tuple[int, str | None, bool, int]:
    """Posts stored, lease owner, whether the next poll is set, consecutive errors:
    read on a connection of its own, so only committed rows count."""
    with session(engine) as s:
        posts = s.exec(select(func.count()).select_from(Post)
                       .where(Post.source_id == source_id)).one()
        source = s.get(Source, source_id)
        return posts, source.lease_owner, source.next_poll_at is not None, \
            source.consecutive_errors


def test_a_fetch_is_acknowledged_only_after_its_rows_and_schedule_commit(
        engine: Engine) -> None:
    seen: dict[int, tuple] = {}

    def acknowledged(source_id: int) -> None:
        seen[source_id] = _state(engine, source_id)

    writer = StoreWriter(engine, OWNER, call_in_reactor=lambda f, *a: f(*a))
    for source_id in (1, 2, 3):
        done = writer.submit(_fetch(source_id))
        done.addCallback(lambda new, sid=source_id: (new, acknowledged(sid)))
    writer.close()
    assert seen == {sid: (3, None, True, 0) for sid in (1, 2, 3)}


def test_one_transaction_for_several_fetches(engine: Engine) -> None:
    assert store_many(engine, [_fetch(1), _fetch(2)], OWNER) == [3, 3]
    assert store_many(engine, [_fetch(1), _fetch(2)], None) == [0, 0]  # nothing twice
    assert _state(engine, 1) == _state(engine, 2) == (3, None, True, 0)


def test_a_batch_with_a_failing_fetch_is_stored_one_by_one(engine: Engine) -> None:
    bad = _fetch(2, cursor={"since": object()})  # no JSON for it: its store fails
    assert store_many(engine, [_fetch(1), bad, _fetch(3)], OWNER) == [3, 0, 3]
    assert _state(engine, 1) == _state(engine, 3) == (3, None, True, 0)
    posts, owner, scheduled, errors = _state(engine, 2)
    assert (posts, owner, scheduled, errors) == (0, None, True, 1)  # backed off, not lost


def test_plain_fetches_share_their_statements(engine: Engine) -> None:
    """Three feeds' fetches (one a 304) in one transaction: their sources locked in
    one SELECT and their posts looked up and inserted as one set, so the statements
    do not add up per fetch; what each stored and its schedule are as one by one."""
    sent: list[str] = []
    listen = lambda *a: sent.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    not_modified = FetchResult(source_id=3, status=304, not_modified=True)
    assert store_many(engine, [_fetch(1), _fetch(2), not_modified], OWNER) == [3, 3, 0]
    event.remove(engine, "before_cursor_execute", listen)
    posts = [q for q in sent if re.search(r"\b(FROM|INTO) post\b", q)]
    assert len(posts) <= 2, posts  # one SELECT of the stored keys, one INSERT
    assert len(sent) <= 12, sent
    assert [_state(engine, sid) for sid in (1, 2, 3)] == [(3, None, True, 0)] * 2 + \
        [(0, None, True, 0)]


def test_in_a_shared_batch_a_lost_lease_a_deleted_source_and_repeats_keep_their_rules(
        engine: Engine) -> None:
    with session(engine) as s, s.begin():
        taken = s.get(Source, 2)
        taken.lease_owner = "worker-2"  # another worker claimed it after ours lapsed
        s.add(taken)
    repeats = _fetch(3)
    repeats.posts.append(repeats.posts[0])  # one entry twice: the per-entry path
    assert store_many(engine, [_fetch(1), _fetch(2), _fetch(99), repeats], OWNER) == \
        [3, 3, 0, 3]
    assert _state(engine, 1) == (3, None, True, 0)
    assert _state(engine, 2) == (3, "worker-2", False, 0)  # posts kept, schedule not moved
    assert _state(engine, 3) == (3, None, True, 0)
    with session(engine) as s:
        assert s.get(Source, 2).posts_seen == 3
