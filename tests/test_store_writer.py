"""The store writer (crawlers/pipelines/writer.py) on real SQLite and PostgreSQL:
several fetches in one transaction, each acknowledged only once its rows and its
source's schedule and lease committed, and a batch one item of which fails stored
item by item, the failure on that item's source alone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
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
