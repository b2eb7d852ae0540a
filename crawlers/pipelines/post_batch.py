"""One fetch's posts written as sets: one SELECT for the keys already stored, one
``INSERT ... ON CONFLICT DO NOTHING`` for the new posts, one executemany for the
counters that moved and one for their engagement snapshots.

Per entry the store pipeline used to run a SELECT, a SAVEPOINT and a flush for
each new post (4.8-5.2 ms of CPU a post, issue 20). The guarantees stay: a post
already stored (by entry key or by content) is not stored again, and one stored a
moment ago by another crawler is skipped by ON CONFLICT where the SAVEPOINT caught
it; items are made storable first (``_cleaned``); a snapshot is written only when
a counter moved, and for a new post that has a reply count, as before.

A fetch that repeats an entry key or a content fingerprint within itself, or a
database other than SQLite and PostgreSQL, takes the per-entry path, whose
sequential reading of its own earlier inserts decides those cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Row
from sqlmodel import Session

from crawlers.items import PostItem
from db.models import EngagementSnapshot, Post, utcnow

CHUNK = 400  # rows a statement: 14 values each stays far below SQLite's 32,766 variables
POSTS = Post.__table__
SNAPSHOTS = EngagementSnapshot.__table__


def batched(rows: Sequence, n: int) -> Iterator[Sequence]:
    """``itertools.batched`` (Python 3.12) for 3.11."""
    for start in range(0, len(rows), n):
        yield rows[start:start + n]


def _dialect_insert(s: Session) -> Callable | None:
    name = s.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        return None
    return insert


def distinct(items: Sequence[PostItem]) -> bool:
    """No two items share an entry key or a fingerprint."""
    return (len({i.entry_key for i in items}) == len(items)
            == len({i.fingerprint for i in items}))


def _existing(s: Session, source_id: int, items: Sequence[PostItem]) -> dict[tuple, Row]:
    """The stored posts any item matches, by ("k", entry key) and ("f", fingerprint)."""
    found: dict[tuple, Row] = {}
    for chunk in batched(items, CHUNK):
        keys = [i.entry_key for i in chunk]
        prints = [i.fingerprint for i in chunk]
        rows = s.execute(select(POSTS.c.id, POSTS.c.entry_key, POSTS.c.fingerprint,
                                POSTS.c.replies, POSTS.c.likes, POSTS.c.shares).where(
            POSTS.c.source_id == source_id,
            or_(POSTS.c.entry_key.in_(keys), POSTS.c.fingerprint.in_(prints))))
        for row in rows:
            found.setdefault(("k", row.entry_key), row)
            found.setdefault(("f", row.fingerprint), row)
    return found


def _counts(item: PostItem, row: Row | None = None) -> dict:
    """The counters to store: a count the source did not report keeps the stored one
    (replies are always taken: a snapshot is taken only when they are reported)."""
    likes = item.likes if item.likes is not None or row is None else row.likes
    shares = item.shares if item.shares is not None or row is None else row.shares
    return {"replies": item.replies, "likes": likes, "shares": shares}


def _update_moved(s: Session, moved: list[tuple[Row, PostItem]]) -> None:
    if not moved:
        return
    counts = [(row.id, _counts(item, row)) for row, item in moved]
    s.execute(update(POSTS).where(POSTS.c.id == bindparam("b_id")).values(
        replies=bindparam("b_replies"), likes=bindparam("b_likes"),
        shares=bindparam("b_shares")),
        [{"b_id": pid, **{f"b_{k}": v for k, v in c.items()}} for pid, c in counts])
    now = utcnow()  # the snapshot records what the item reported, as before
    s.execute(SNAPSHOTS.insert(), [
        {"post_id": row.id, "thread_id": None, "seen_at": now, "views": None,
         "replies": item.replies, "likes": item.likes, "shares": item.shares,
         "detected_at": None} for row, item in moved])


def _row(source_id: int, item: PostItem, thread_id: int | None, now: object) -> dict:
    return {"source_id": source_id, "entry_key": item.entry_key,
            "fingerprint": item.fingerprint, "url": item.url, "title": item.title,
            "text": item.text, "author": item.author, "published_at": item.published_at,
            "fetched_at": now, "replies": item.replies, "likes": item.likes,
            "shares": item.shares, "thread_id": thread_id, "scored_at": None}


def _insert_new(s: Session, insert: Callable, source_id: int,
                fresh: list[tuple[PostItem, int | None]]) -> int:
    """Insert the new posts (those another writer stored meanwhile are skipped);
    snapshot the reply counts of those inserted; return how many were."""
    if not fresh:
        return 0
    now, ids = utcnow(), {}
    for chunk in batched(fresh, CHUNK):
        stmt = (insert(POSTS).values([_row(source_id, i, t, now) for i, t in chunk])
                .on_conflict_do_nothing().returning(POSTS.c.id, POSTS.c.entry_key))
        ids.update({key: pid for pid, key in s.execute(stmt)})
    snaps = [{"post_id": ids[i.entry_key], "thread_id": None, "seen_at": now, "views": None,
              "replies": i.replies, "likes": i.likes, "shares": i.shares, "detected_at": None}
             for i, _t in fresh if i.entry_key in ids and i.replies is not None]
    if snaps:
        s.execute(SNAPSHOTS.insert(), snaps)
    return len(ids)


def store_batch(s: Session, source_id: int, items: Sequence[PostItem],
                thread_ids: Sequence[int | None]) -> int | None:
    """Store ``items`` (already ``_cleaned``) as sets; how many were new, or None when
    this fetch must take the per-entry path (see the module's docstring)."""
    insert = _dialect_insert(s)
    if insert is None or not distinct(items):
        return None
    if not items:
        return 0
    s.flush()  # the ORM's pending rows (threads) before the set statements
    existing = _existing(s, source_id, items)
    fresh, moved = [], []
    for item, thread_id in zip(items, thread_ids, strict=True):
        row = existing.get(("k", item.entry_key)) or existing.get(("f", item.fingerprint))
        if row is None:
            fresh.append((item, thread_id))
        elif item.replies is not None and _counts(item, row) != _counts(row):  # moved
            moved.append((row, item))
    _update_moved(s, moved)
    return _insert_new(s, insert, source_id, fresh)
