"""Stores what a stream source (kind ``bluesky``) read: the kept posts and the
cursor that covers them in ONE transaction, so a restart resumes exactly after
what was stored (neither lost nor stored twice), and the connection's state on
the source's health.

Posts go through the store pipeline's own ``_store_post`` (deduplicated by
entry key): events replayed after a rewound cursor find their posts there. Each
post is in a thread keyed by its conversation's root post (its own AT URI for a
post that replies to none), so a flagged post can turn hot and its likes,
reposts and replies be re-read as engagement (``crawlers/spiders/bluesky.py``).
A post read off the firehose was just created: its thread starts at zero."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from crawlers.extractors.text import storable
from crawlers.items import PostItem, ThreadRef
from crawlers.jetstream import POST, post_url
from crawlers.pipelines.store import _store_post, _upsert_thread
from db.engine import read_session, session
from db.models import Source, Thread, utcnow
from db.queries import notify
from db.wakeup import STORED

log = logging.getLogger("crisiswatch.stream")
CONNECTED, RECONNECTING, STOPPED = "connected", "reconnecting", "stopped"


def stored_cursor(engine: Engine, source_id: int) -> int | None:
    """Where the last commit left the stream (None: never read, start live)."""
    with read_session(engine) as s:
        source = s.get(Source, source_id)
        return source.stream_cursor if source is not None else None


def store_stream_batch(engine: Engine, source_id: int, posts: Sequence[PostItem],
                       cursor: int, event_at: datetime) -> int:
    """Store ``posts`` and move the cursor to ``cursor`` (never backwards: a rewound
    replay must not undo progress) together; return how many posts were new.
    Raises when the database refuses: the caller re-reads from the stored cursor."""
    with session(engine) as s, s.begin():
        source = s.get(Source, source_id)
        if source is None:  # deleted while its stream ran
            return 0
        new = sum(_store_post(s, source_id, item, _thread_of(s, source_id, item))
                  for item in posts)
        if source.stream_cursor is None or cursor > source.stream_cursor:
            source.stream_cursor = cursor
            source.stream_event_at = event_at
        now = utcnow()
        source.last_fetch_at = source.last_success_at = now
        source.posts_seen += new
        s.add(source)
        if new:
            notify(s, STORED)  # wake the process workers (PostgreSQL)
    return new


def store_backfill(engine: Engine, source_id: int, posts: Sequence[PostItem]) -> int:
    """Store posts a search found (a back-fill): the stream's cursor stays where it
    is; posts already stored (by the stream or an earlier back-fill) are skipped."""
    with session(engine) as s, s.begin():
        source = s.get(Source, source_id)
        if source is None:
            return 0
        new = sum(_store_post(s, source_id, item, _thread_of(s, source_id, item))
                  for item in posts)
        source.posts_seen += new
        s.add(source)
        if new:
            notify(s, STORED)  # wake the process workers (PostgreSQL)
    return new


def _thread_of(s: Session, source_id: int, item: PostItem) -> int:
    """The thread of the post's conversation, opened (with the opener's counters:
    zero for a post just created) when this is its first post seen."""
    key = item.thread_key or item.entry_key
    known = s.exec(select(Thread.id).where(Thread.source_id == source_id,
                                           Thread.key == key)).first()
    if known is not None:
        return known
    opener = item.thread_key is None
    replies = (item.replies if item.replies is not None else 0) if opener else None
    likes = (item.likes if item.likes is not None else 0) if opener else None
    return _upsert_thread(s, source_id, ThreadRef(key=key, url=_web_url(key), replies=replies,
                                                  likes=likes)).id


def _web_url(uri: str) -> str:
    did, _, rkey = uri.removeprefix("at://").partition(f"/{POST}/")
    return post_url(did, rkey) if rkey else uri


def record_stream_state(engine: Engine, source_id: int, state: str,
                        error: str | None = None) -> None:
    """The connection's state on health: ``connected`` clears the error; a lost
    connection counts as an error (with backoff) until the next one works."""
    try:
        with session(engine) as s, s.begin():
            source = s.get(Source, source_id)
            if source is None:
                return
            source.stream_state = state
            source.last_fetch_at = utcnow()
            if state == CONNECTED:
                source.last_status, source.last_error = 101, None  # 101: protocol switched
                source.consecutive_errors = 0
            elif error:
                source.last_status = None
                source.last_error = storable(error)[:300]
                source.error_count += 1
                source.consecutive_errors += 1
            s.add(source)
    except Exception:  # the stream goes on; its health catches up at the next change
        log.exception("source #%s: could not record the stream's state %s", source_id, state)
