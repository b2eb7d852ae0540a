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

from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Row
from sqlmodel import Session

from crawlers.items import PostItem
from db.models import EngagementSnapshot, Post, utcnow

CHUNK = 400  # rows a statement: 14 values each stays far below SQLite's 32,766 variables
POSTS = Post.__table__
SNAPSHOTS = EngagementSnapshot.__table__
Entry = tuple[int, PostItem, int | None]  # (source id, item, thread id)


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


def _existing(s: Session, entries: Sequence[Entry]) -> dict[tuple, Row]:
    """The stored posts any entry matches, by (source, "k", entry key) and (source,
    "f", fingerprint): one SELECT per few hundred entries, whatever their sources."""
    found: dict[tuple, Row] = {}
    for chunk in batched(entries, CHUNK):
        sources = sorted({sid for sid, _i, _t in chunk})
        keys = [i.entry_key for _s, i, _t in chunk]
        prints = [i.fingerprint for _s, i, _t in chunk]
        rows = s.execute(select(POSTS.c.id, POSTS.c.source_id, POSTS.c.entry_key,
                                POSTS.c.fingerprint, POSTS.c.replies, POSTS.c.likes,
                                POSTS.c.shares).where(
            POSTS.c.source_id.in_(sources),
            or_(POSTS.c.entry_key.in_(keys), POSTS.c.fingerprint.in_(prints))))
        for row in rows:
            found.setdefault((row.source_id, "k", row.entry_key), row)
            found.setdefault((row.source_id, "f", row.fingerprint), row)
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


def _insert_new(s: Session, insert: Callable, fresh: list[Entry]) -> Counter[int]:
    """Insert the new posts (those another writer stored meanwhile are skipped);
    snapshot the reply counts of those inserted; how many were, per source."""
    if not fresh:
        return Counter()
    now, ids = utcnow(), {}
    # one statement whatever the row count, so it is compiled once and then cached
    # (a VALUES list of its own per fetch was compiled every time); SQLAlchemy sends
    # the rows as multi-row INSERTs ("insertmanyvalues")
    stmt = (insert(POSTS).on_conflict_do_nothing()
            .returning(POSTS.c.id, POSTS.c.source_id, POSTS.c.entry_key))
    for chunk in batched(fresh, CHUNK):
        rows = s.execute(stmt, [_row(sid, i, t, now) for sid, i, t in chunk])
        ids.update({(sid, key): pid for pid, sid, key in rows})
    snaps = [{"post_id": ids[sid, i.entry_key], "thread_id": None, "seen_at": now,
              "views": None, "replies": i.replies, "likes": i.likes, "shares": i.shares,
              "detected_at": None}
             for sid, i, _t in fresh if (sid, i.entry_key) in ids and i.replies is not None]
    if snaps:
        s.execute(SNAPSHOTS.insert(), snaps)
    return Counter(sid for sid, _key in ids)


def store_batch(s: Session, source_id: int, items: Sequence[PostItem],
                thread_ids: Sequence[int | None]) -> int | None:
    """Store one fetch's ``items`` (already ``_cleaned``) as sets; how many were new,
    or None when this fetch must take the per-entry path (see the module's docstring)."""
    if not distinct(items):
        return None
    new = store_sets(s, [(source_id, item, t)
                         for item, t in zip(items, thread_ids, strict=True)])
    return None if new is None else new[source_id]


def store_sets(s: Session, entries: Sequence[Entry]) -> Counter[int] | None:
    """Store the entries of one or more fetches (each fetch's ``distinct``, already
    ``_cleaned``) as sets: how many were new per source, or None when the database
    takes the per-entry path."""
    insert = _dialect_insert(s)
    if insert is None:
        return None
    if not entries:
        return Counter()
    s.flush()  # the ORM's pending rows (threads) before the set statements
    existing = _existing(s, entries)
    fresh, moved = [], []
    for sid, item, thread_id in entries:
        row = existing.get((sid, "k", item.entry_key)) or \
            existing.get((sid, "f", item.fingerprint))
        if row is None:
            fresh.append((sid, item, thread_id))
        elif item.replies is not None and _counts(item, row) != _counts(row):  # moved
            moved.append((row, item))
    _update_moved(s, moved)
    return _insert_new(s, insert, fresh)
