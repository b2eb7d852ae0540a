"""Crawl workers claim due sources with leases, so any number of them can share
one source table and a dead one's sources go back to the others.

A claim reads only due rows, through the index on ``next_poll_at``: first the
never-polled ones (NULL), then the longest overdue, skipping rows another worker
holds a live lease on, and it reads only the columns a request needs. On
PostgreSQL the rows are taken ``FOR UPDATE SKIP LOCKED`` (two claims at the same
moment get disjoint rows without waiting on each other) and leases run on the
database's clock, so the workers' own clocks do not matter. On SQLite (one
daemon) the same statements run without row locks: its write transactions
already run one at a time.

A worker renews the leases of what it has in flight, gives a lease back when
the fetch is stored (crawlers/pipelines/store.py), and only the holder of a
lease may move its source's schedule. A worker that dies keeps nothing: its
leases run out within one lease period and the next claim takes those sources.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, or_, select, true, update
from sqlalchemy.sql.elements import ColumnElement

from db.models import Source, as_utc, utcnow

log = logging.getLogger("crisiswatch.crawl")

LEASE_S = 90.0  # a worker renews its leases every third of this
CLAIM_LIMIT = 100  # sources one tick may claim
MAX_CLAIMED = 1000  # sources one worker holds at once (queued or fetching)

_T = Source.__table__.c
_COLUMNS = (_T.id, _T.name, _T.kind, _T.url, _T.preset, _T.rules, _T.page, _T.obey_robots,
            _T.managed_by, _T.etag, _T.last_modified, _T.cursor)
STREAM_KINDS = ("bluesky",)  # read by their own consumers (monitor/stages/streams.py)


@dataclass(frozen=True)
class ClaimedSource:
    """What a poll of one source needs: the columns a request is built from."""

    id: int
    name: str
    kind: str
    url: str
    preset: str | None
    rules: dict | None
    page: str
    obey_robots: bool
    managed_by: str
    etag: str | None
    last_modified: str | None
    cursor: dict | None = None  # search and stream sources: where the poll resumes
    # when this worker took it, on the lease clock (where ``Claimer.poll_started``
    # counts from)
    claimed_at: datetime | None = None


def worker_id() -> str:
    """This process's name on the leases it takes: host, pid and a random part
    (a pid is reused after a restart; the random part is not)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def db_now(conn: Connection) -> datetime | ColumnElement:
    """The clock leases and schedules run on: the database's ``now()`` on
    PostgreSQL (one clock for every worker), this process's on SQLite (one daemon)."""
    return func.now() if conn.dialect.name == "postgresql" else utcnow()


def _soft(conn: Connection) -> Connection:
    """Commit this transaction without waiting for the disk: a lease lost in a
    PostgreSQL crash only frees its source early, and the wait for the WAL flush
    was most of a claim's time (10,000 sources: 6.7 ms a claim with it, 2.8 ms
    without, ``python -m bench.scheduler``)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    return conn


def claim_due(engine: Engine, owner: str, *, lease_s: float = LEASE_S,
              limit: int | None = CLAIM_LIMIT, every: bool = False) -> list[ClaimedSource]:
    """Lease up to ``limit`` due, enabled sources to ``owner`` in one short
    transaction: never-polled ones first, then the longest overdue. ``every``
    claims every enabled source not leased to another worker, due or not (one
    poll of everything)."""
    with engine.begin() as conn:
        now = db_now(_soft(conn))
        if every:
            return _claim(conn, owner, now, lease_s, limit, (), (_T.id,))
        # two index range scans, each stopping at the limit: an ORDER BY id among
        # the never-polled would read (and sort) every one of them on a cold start
        claimed = _claim(conn, owner, now, lease_s, limit, (_T.next_poll_at.is_(None),), ())
        if limit is None or len(claimed) < limit:
            claimed += _claim(conn, owner, now, lease_s,
                              None if limit is None else limit - len(claimed),
                              (_T.next_poll_at <= now,), (_T.next_poll_at,))
    return claimed


def _claim(conn: Connection, owner: str, now: datetime | ColumnElement, lease_s: float,
           limit: int | None, due: tuple[ColumnElement, ...], order: tuple
           ) -> list[ClaimedSource]:
    """One claiming UPDATE over the rows ``due`` selects, in ``order``."""
    pick = (select(_T.id)
            .where(_T.enabled == true(), _T.kind.not_in(STREAM_KINDS),
                   or_(_T.lease_until.is_(None), _T.lease_until < now), *due)
            .order_by(*order).limit(limit))
    lease = {"lease_owner": owner, "lease_until": now + timedelta(seconds=lease_s)}
    if conn.dialect.name == "postgresql":
        picked = pick.with_for_update(skip_locked=True).cte("picked")
        statement = update(Source.__table__).where(_T.id == picked.c.id)
    else:
        statement = update(Source.__table__).where(_T.id.in_(pick.scalar_subquery()))
    rows = conn.execute(statement.values(**lease)
                        .returning(*_COLUMNS, _T.lease_until, _T.next_poll_at)).all()
    rows.sort(key=lambda r: (r.next_poll_at is not None, r.next_poll_at or 0, r.id))
    return [ClaimedSource(*row[:-2], claimed_at=as_utc(row.lease_until)
                          - timedelta(seconds=lease_s)) for row in rows]


def renew(engine: Engine, owner: str, ids: Collection[int], lease_s: float = LEASE_S
          ) -> set[int]:
    """Extend ``owner``'s leases on ``ids`` (what it has in flight); return the ids
    it still holds. A lease that ran out is still ours until another worker claims it."""
    if not ids:
        return set()
    with engine.begin() as conn:
        until = db_now(_soft(conn)) + timedelta(seconds=lease_s)
        rows = conn.execute(update(Source.__table__)
                            .where(_T.lease_owner == owner, _T.id.in_(list(ids)))
                            .values(lease_until=until).returning(_T.id)).all()
    return {r.id for r in rows}


def release_all(engine: Engine, owner: str) -> int:
    """Give back every lease ``owner`` holds (a worker shutting down cleanly), so
    its sources need not wait for the leases to run out."""
    with engine.begin() as conn:
        done = _soft(conn).execute(update(Source.__table__).where(_T.lease_owner == owner)
                            .values(lease_owner=None, lease_until=None))
    return done.rowcount


def holds_lease(source: Source, owner: str | None) -> bool:
    """Whether ``owner`` may move this source's schedule: it still holds the lease
    (even a lapsed one nobody else took). ``None`` is a caller outside the crawl
    workers (a test, a one-off store), which leases do not concern."""
    return owner is None or source.lease_owner == owner


def release(source: Source, owner: str | None) -> None:
    """Give back ``owner``'s lease on a source row about to be saved."""
    if owner is not None and source.lease_owner == owner:
        source.lease_owner = source.lease_until = None


class Claimer:
    """One crawl worker's side of the leases: what it claims each tick, renewing
    what it has in flight, and giving everything back when it stops."""

    def __init__(self, engine: Engine, *, lease_s: float = LEASE_S,
                 limit: int = CLAIM_LIMIT, max_claimed: int = MAX_CLAIMED) -> None:
        self.engine, self.lease_s = engine, lease_s
        self.limit, self.max_claimed = limit, max_claimed
        self.owner = worker_id()
        self._renewed_at = time.monotonic()
        # source id: when this worker last claimed it, on the lease clock and on this
        # process's monotonic clock; and (monotonic) when that poll's request went out
        self._claims: dict[int, tuple[datetime, float]] = {}
        self._sent: dict[int, float] = {}

    def due(self, in_flight: Collection[int], *, every: bool = False) -> list[ClaimedSource]:
        """Due sources now leased to us and not already in flight: a few per
        tick, up to ``max_claimed`` held at once (with ``every``, all of them)."""
        room = self.max_claimed - len(in_flight)
        if room <= 0 and not every:
            return []
        rows = claim_due(self.engine, self.owner, lease_s=self.lease_s, every=every,
                         limit=None if every else min(room, self.limit))
        # a lease of ours that lapsed unrenewed comes back here: that poll is running
        fresh = [r for r in rows if r.id not in in_flight]
        mono = time.monotonic()
        for row in fresh:
            self._claims[row.id] = (row.claimed_at, mono)
            self._sent.pop(row.id, None)
        return fresh

    def response_received(self, response: object, request: object, spider: object = None
                          ) -> None:
        """Scrapy's ``response_received`` signal: the first response since a source's
        claim tells when its poll's request went out (its download latency before)."""
        meta = getattr(request, "meta", {})
        source_id = meta.get("source_id")
        if source_id in self._claims and source_id not in self._sent:
            self._sent[source_id] = time.monotonic() - float(meta.get("download_latency") or 0)

    def poll_started(self, source_id: int) -> datetime | None:
        """When this worker's poll of ``source_id`` went out, on the lease clock: the
        claim plus the time the request then waited in this process's queues (the
        claim alone if no response came). The next poll counts from it (crawlers/
        schedule.py): from the claim, the up to ``max_claimed`` sources a worker
        claims ahead came due again as one burst (10,000 feeds: 92.5% of re-polls
        within 5 s of the interval, against 97.0% counted from the store)."""
        if (claim := self._claims.get(source_id)) is None:
            return None
        at, mono = claim
        return at + timedelta(seconds=max(0.0, self._sent.get(source_id, mono) - mono))

    def renew_due(self, in_flight: Collection[int]) -> None:
        """Every third of a lease, extend the leases of the sources in flight (a
        slow site's queued requests keep theirs; a dead worker's lapse)."""
        if time.monotonic() - self._renewed_at < self.lease_s / 3:
            return
        self._renewed_at = time.monotonic()
        held = renew(self.engine, self.owner, in_flight, self.lease_s)
        if lost := len(in_flight) - len(held):
            log.warning("%d leases lost to other workers (their polls still run here)", lost)

    def close(self) -> None:
        """Give back every lease (polls cut short need not wait for them to lapse)."""
        try:
            release_all(self.engine, self.owner)
        except Exception:
            log.exception("could not give back this worker's leases; they lapse on their own")
