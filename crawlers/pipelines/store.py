"""Stores each FetchResult: new posts (deduplicated), engagement changes and the
source's health, in one transaction. The pipeline (crawlers/pipelines/writer.py)
runs these on its writer thread, several fetches to a transaction, and then tells
the daemon there is new work.

The source's schedule and health move only while the storing worker still holds
the source's lease (crawlers/claims.py), and the lease is given back with them;
a worker whose lease another took keeps its posts (deduplicated as always) but
leaves the schedule to the new holder."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crawlers.claims import holds_lease, release
from crawlers.extractors.text import storable
from crawlers.items import FetchResult, PostItem, ThreadRef, ThreadResult
from crawlers.pipelines.post_batch import distinct, store_batch, store_sets
from crawlers.schedule import MAX_BACKOFF_S, next_poll_after, retry_wait
from db.engine import session
from db.models import EngagementSnapshot, Post, Source, Thread, utcnow
from db.queries import notify
from db.wakeup import STORED

log = logging.getLogger("crisiswatch.crawl")


def _store_post(s: Session, source_id: int, item: PostItem, thread_id: int | None = None) -> bool:
    """Insert one post unless its entry id or its content is already there; record
    a snapshot when its reply count changed. True when the post is new."""
    item = _cleaned(item)
    existing = s.exec(select(Post).where(
        Post.source_id == source_id,
        or_(Post.entry_key == item.entry_key, Post.fingerprint == item.fingerprint),
    )).first()
    if existing is not None:
        if _moved(existing, item):
            existing.replies = item.replies
            existing.likes = item.likes if item.likes is not None else existing.likes
            existing.shares = item.shares if item.shares is not None else existing.shares
            s.add(existing)
            s.add(EngagementSnapshot(post_id=existing.id, replies=item.replies,
                                     likes=item.likes, shares=item.shares))
        return False
    post = Post(source_id=source_id, entry_key=item.entry_key, fingerprint=item.fingerprint,
                url=item.url, title=item.title, text=item.text, author=item.author,
                published_at=item.published_at, replies=item.replies, likes=item.likes,
                shares=item.shares, thread_id=thread_id)
    try:
        with s.begin_nested():  # another crawler node may have stored it a moment ago
            s.add(post)
            s.flush()
    except IntegrityError:
        return False
    if item.replies is not None:
        s.add(EngagementSnapshot(post_id=post.id, replies=item.replies, likes=item.likes,
                                 shares=item.shares))
    return True


def _store_posts(s: Session, source_id: int, items: list[PostItem],
                 thread_ids: list[int | None] | None = None) -> int:
    """Store one fetch's posts: as sets (crawlers/pipelines/post_batch.py) where they
    can be, else entry by entry; how many were new."""
    if not items:  # a 304, an empty page: no statement at all
        return 0
    thread_ids = thread_ids if thread_ids is not None else [None] * len(items)
    s.flush()  # the threads, outside the savepoint: a rollback to it must keep them
    try:
        with s.begin_nested():
            new = store_batch(s, source_id, [_cleaned(i) for i in items], thread_ids)
    except IntegrityError:  # an entry the database refuses: entry by entry, as before
        new = None
    if new is not None:
        return new
    return sum(_store_post(s, source_id, item, t)
               for item, t in zip(items, thread_ids, strict=True))


def _moved(post: Post, item: PostItem) -> bool:
    """Whether a post's counters changed: its replies, or (where the source reports
    them, with replies) its likes or boosts. Posts without a reply count get no
    snapshots, as the growth series is one of replies."""
    if item.replies is None:
        return False
    return item.replies != post.replies or (
        item.likes is not None and item.likes != post.likes) or (
        item.shares is not None and item.shares != post.shares)


def _cleaned(item: PostItem) -> PostItem:
    """The item with every text field storable (a NUL in a GUID fails PostgreSQL)."""
    return replace(item, entry_key=storable(item.entry_key) or item.fingerprint,
                   fingerprint=storable(item.fingerprint),
                   title=storable(item.title), text=storable(item.text),
                   url=storable(item.url), author=storable(item.author))


def _schedule(source: Source, now: datetime, retry_after: float | None,
              reason: str = "Retry-After", started_at: datetime | None = None) -> list[str]:
    """Set the next poll (an interval after the poll went out, backoff after
    errors, never before a Retry-After, which is capped); return the health notes
    it made."""
    try:
        source.next_poll_at = next_poll_after(started_at, now, source.interval_s,
                                              source.consecutive_errors)
    except (OverflowError, ValueError):  # an absurd interval must not stop the schedule
        source.next_poll_at = now + timedelta(seconds=MAX_BACKOFF_S)
    if not retry_after:
        return []
    # the server said when to come back: never sooner
    wait, note = retry_wait(retry_after, reason)
    source.next_poll_at = max(source.next_poll_at, now + timedelta(seconds=wait))
    return [note]


def _record_health(source: Source, result: FetchResult, new_posts: int,
                   now: datetime | None = None) -> None:
    now = now or utcnow()
    source.last_fetch_at = now
    source.last_status = result.status
    if result.ok:
        source.last_success_at = now
        source.last_error = None
        source.consecutive_errors = 0
        if not result.not_modified:
            source.etag = result.etag
            source.last_modified = result.last_modified
        source.posts_seen += new_posts
    else:
        source.last_error = storable(result.error)
        source.error_count += 1
        source.consecutive_errors += 1
    notes = [*result.notes, *_schedule(source, now, result.retry_after, result.retry_reason,
                                       result.started_at)]
    if notes or not result.not_modified:  # a 304 is the same body: its note still holds
        source.health_note = storable("; ".join(notes))[:500] if notes else None


def _record_store_failure(engine: Engine, source_id: int, status: int | None,
                          exc: Exception, owner: str | None = None) -> None:
    """Mark the source failing, with backoff, when its fetch could not be stored:
    otherwise its next poll never moves and the site is fetched twice a second."""
    error = f"could not store the fetch: {type(exc).__name__}: {exc}"
    try:
        with session(engine) as s, s.begin():
            source, now = _locked_source(s, source_id)
            if source is None or not holds_lease(source, owner):
                return
            _record_health(source, FetchResult(source_id=source_id, status=status,
                                               error=storable(error)[:300]), 0, now)
            release(source, owner)
            s.add(source)
    except Exception:
        log.exception("source #%s: could not record that its fetch failed to store", source_id,
                      extra={"source": source_id})


def _upsert_thread(s: Session, source_id: int, ref: ThreadRef,
                   replies: int | None = None, views: int | None = None) -> Thread:
    """The thread row for ``ref``, its counters updated; a snapshot when they moved."""
    return _upsert_threads(s, source_id, [ref], replies, views)[ref.key]


def _upsert_threads(s: Session, source_id: int, refs: list[ThreadRef],
                    replies: int | None = None, views: int | None = None
                    ) -> dict[str, Thread]:
    """The rows of a listing's threads, read in one SELECT and the new ones inserted
    in one flush (a SELECT and a flush per thread were most of storing a listing,
    issue 20); then each updated in ``refs``' order."""
    keys = list(dict.fromkeys(ref.key for ref in refs))
    threads: dict[str, Thread] = {}
    for start in range(0, len(keys), 500):
        threads.update((t.key, t) for t in s.exec(select(Thread).where(
            Thread.source_id == source_id, Thread.key.in_(keys[start:start + 500]))))
    fresh = {ref.key: Thread(source_id=source_id, key=ref.key, url=ref.url, title=ref.title)
             for ref in refs if ref.key not in threads}
    if fresh:
        s.add_all(fresh.values())
        s.flush()
        threads.update(fresh)
    for ref in refs:
        _update_thread(s, threads[ref.key], ref, replies, views)
    return threads


def _update_thread(s: Session, thread: Thread, ref: ThreadRef, replies: int | None,
                   views: int | None) -> None:
    replies = ref.replies if ref.replies is not None else replies
    views = ref.views if ref.views is not None else views
    moved = (replies is not None and replies != thread.replies) or \
        (views is not None and views != thread.views) or \
        (ref.likes is not None and ref.likes != thread.likes)
    if moved:
        s.add(EngagementSnapshot(thread_id=thread.id, replies=replies, views=views,
                                 likes=ref.likes))
        thread.replies = replies if replies is not None else thread.replies
        thread.views = views if views is not None else thread.views
        thread.likes = ref.likes if ref.likes is not None else thread.likes
    thread.title = ref.title or thread.title
    thread.last_post_at = ref.last_post_at or thread.last_post_at
    s.add(thread)


def store_result(engine: Engine, result: FetchResult, owner: str | None = None) -> int:
    """Write one fetch's outcome atomically; return how many posts were new. If that
    fails, the failure itself goes on the source's health (with backoff). ``owner``
    is the crawl worker that claimed the source: the schedule moves only if it
    still holds the lease."""
    try:
        return _store_result(engine, result, owner)
    except Exception as exc:
        log.exception("source #%s: storing its fetch failed", result.source_id,
                      extra={"source": result.source_id})
        _record_store_failure(engine, result.source_id, result.status, exc, owner)
        return 0


def _locked_source(s: Session, source_id: int) -> tuple[Source | None, datetime]:
    """The source row and the time on the clock leases run on (crawlers/claims.py).
    On PostgreSQL the row stays locked until commit, so no claim can take its
    lease between our check and our write; SQLite's writers run one at a time."""
    if s.get_bind().dialect.name != "postgresql":
        return s.get(Source, source_id), utcnow()
    row = s.exec(select(Source, func.now()).where(Source.id == source_id)
                 .with_for_update(of=Source)).first()
    return (row[0], row[1].astimezone(UTC)) if row else (None, utcnow())


def _store_result(engine: Engine, result: FetchResult, owner: str | None) -> int:
    with session(engine) as s, s.begin():
        return store_result_in(s, result, owner)


def store_result_in(s: Session, result: FetchResult, owner: str | None) -> int:
    """``store_result``'s writes inside the caller's transaction (the store writer
    commits several fetches in one, crawlers/pipelines/writer.py)."""
    source, now = _locked_source(s, result.source_id)
    if source is None:  # deleted while its request was in flight
        return 0
    threads = _upsert_threads(s, source.id, result.threads) if result.threads else {}
    # threads first: a search hit (hackernews) or a stream's status (mastodon) goes in
    # the thread its post names
    new = _store_posts(s, source.id, result.posts,
                       [_thread_id(threads, item) for item in result.posts])
    _finish_fetch(s, source, result, new, now, owner)
    return new


def _finish_fetch(s: Session, source: Source, result: FetchResult, new: int, now: datetime,
                  owner: str | None) -> None:
    """After a fetch's posts: its cursor, the wake-up, and (while ``owner`` holds
    the lease) its health and next poll, the lease given back."""
    if result.cursor:  # saved with the posts it covers: a restart resumes exactly
        source.cursor = {**(source.cursor or {}), **result.cursor}
    if new or result.threads or any(i.replies is not None for i in result.posts):
        notify(s, STORED)  # new posts or counters: wake the process workers
    if holds_lease(source, owner):
        _record_health(source, result, new, now)
        release(source, owner)
    else:  # another worker claimed it after our lease ran out: its poll decides
        source.posts_seen += new
        log.warning("source %s: lease lost to %s; %d new posts kept, schedule not moved",
                    source.name, source.lease_owner, new)
    s.add(source)


def _locked_sources(s: Session, ids: list[int]) -> tuple[dict[int, Source], datetime]:
    """``_locked_source`` for several sources in one SELECT, locked in id order."""
    if s.get_bind().dialect.name != "postgresql":
        rows = s.exec(select(Source).where(Source.id.in_(ids))).all()
        return {r.id: r for r in rows}, utcnow()
    rows = s.exec(select(Source, func.now()).where(Source.id.in_(ids)).order_by(Source.id)
                  .with_for_update(of=Source)).all()
    now = rows[0][1].astimezone(UTC) if rows else utcnow()
    return {r[0].id: r[0] for r in rows}, now


def plain_fetch(item: object) -> bool:
    """A fetch ``store_fetches_in`` can take with others: no threads (a feed)."""
    return isinstance(item, FetchResult) and not item.threads and \
        all(p.thread_key is None for p in item.posts)


def store_fetches_in(s: Session, results: list[FetchResult], owner: str | None
                     ) -> list[int]:
    """``store_result_in`` for several plain fetches, with a few statements for all of
    them instead of several each: their sources locked in one SELECT, their posts
    looked up and inserted as one set (a round trip per statement per fetch made
    the writer, not the crawl, the limit of a 10,000-feed worker, issue 20). A fetch
    whose entries repeat a key, or a set the database refuses, takes the per-fetch
    path as before."""
    ids = [r.source_id for r in results]
    if len(set(ids)) < len(ids):  # one source twice: in order, one by one
        return [store_result_in(s, r, owner) for r in results]
    sources, now = _locked_sources(s, ids)
    posts = [[_cleaned(p) for p in r.posts] for r in results]
    together = [r.source_id in sources and distinct(p)
                for r, p in zip(results, posts, strict=True)]
    entries = [(r.source_id, item, None)
               for r, p, ok in zip(results, posts, together, strict=True) if ok for item in p]
    try:
        with nullcontext() if not entries else s.begin_nested():
            new = store_sets(s, entries)
    except IntegrityError:  # an entry the database refuses: fetch by fetch, as before
        new = None
    counts = []
    for result, ok in zip(results, together, strict=True):
        if new is None or not ok:
            counts.append(store_result_in(s, result, owner))
            continue
        counts.append(new[result.source_id])
        _finish_fetch(s, sources[result.source_id], result, counts[-1], now, owner)
    return counts


def _thread_id(threads: dict[str, Thread], item: PostItem) -> int | None:
    thread = threads.get(item.thread_key) if item.thread_key else None
    return thread.id if thread is not None else None


def store_thread_page(engine: Engine, result: ThreadResult) -> int:
    """Store one thread page's posts and where the next visit resumes; a failure
    to store goes on the source's health."""
    try:
        return _store_thread_page(engine, result)
    except Exception as exc:
        log.exception("source #%s: storing thread %s failed", result.source_id, result.ref.key,
                      extra={"source": result.source_id})
        _record_store_failure(engine, result.source_id, None, exc)
        return 0


def _store_thread_page(engine: Engine, result: ThreadResult) -> int:
    with session(engine) as s, s.begin():
        return store_thread_page_in(s, result)


def store_thread_page_in(s: Session, result: ThreadResult) -> int:
    """``store_thread_page``'s writes inside the caller's transaction."""
    now = utcnow()
    source = s.get(Source, result.source_id)
    if source is None:
        return 0
    thread = _upsert_thread(s, source.id, result.ref, result.replies, result.views)
    if result.extra:  # a follow-up's comments: the visit's place and state are kept
        new = _store_posts(s, source.id, result.posts, [thread.id] * len(result.posts))
        if new or result.posts:
            notify(s, STORED)
        source.posts_seen += new
        s.add_all([thread, source])
        return new
    thread.last_visit_at = now
    if result.notes:  # e.g. a next-page link that loops back: the source is partial
        source.health_note = storable("; ".join(result.notes))[:500]
    if result.error:
        thread.last_error = result.error
        source.last_error, source.error_count = result.error, source.error_count + 1
        s.add(source)
        return 0
    new = _store_posts(s, source.id, result.posts, [thread.id] * len(result.posts))
    if new or result.posts:
        notify(s, STORED)
    thread.resume_url, thread.last_error = result.page_url, None
    if result.done:
        thread.crawled_signature = result.signature
        if thread.hot_until and thread.hot_until > now:
            thread.next_visit_at = now + timedelta(seconds=source.hot_interval_s)
    source.posts_seen += new
    s.add_all([thread, source])
    return new
