"""Crawl workers claim due sources with leases (issue 20): never-polled first, an
indexed read of the due rows only, disjoint claims on PostgreSQL, a dead worker's
sources back after its lease, and no schedule moved by a worker that lost its lease."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from scrapy import Request
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import func, select

from crawlers.claims import Claimer, claim_due, release_all, renew
from crawlers.items import FetchResult, PostItem
from crawlers.pipelines.store import store_result
from db.engine import open_database, session
from db.models import Post, Source, as_utc, utcnow

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return open_database(f"sqlite:///{tmp_path / 'cw.db'}")
    return open_database(request.getfixturevalue("pg_url"))


def _add(engine: Engine, **due: float | None) -> dict[str, int]:
    """Sources named by the keys, due that many seconds ago (None: never polled)."""
    now = utcnow()
    with session(engine) as s, s.begin():
        rows = {name: Source(name=name, url=f"https://example.org/{name}.xml",
                             next_poll_at=None if ago is None else now - timedelta(seconds=ago))
                for name, ago in due.items()}
        s.add_all(rows.values())
    return {name: row.id for name, row in rows.items()}


def _source(engine: Engine, source_id: int) -> Source:
    with session(engine) as s:
        return s.get(Source, source_id)


def _names(claimed: list) -> list[str]:  # noqa: ANN001
    return [c.name for c in claimed]


def test_never_polled_first_then_longest_overdue(engine: Engine) -> None:
    _add(engine, recent=60, oldest=600, fresh=None, later=-600, fresh2=None)
    with session(engine) as s, s.begin():
        s.add(Source(name="off", url="https://example.org/off.xml", enabled=False))
    assert _names(claim_due(engine, "w1", limit=3)) == ["fresh", "fresh2", "oldest"]
    assert _names(claim_due(engine, "w2", limit=3)) == ["recent"]  # not 'later', not 'off'
    assert claim_due(engine, "w3", limit=3) == []
    # one poll of everything takes what no live lease holds, due or not
    assert _names(claim_due(engine, "w3", every=True)) == ["later"]


def test_claim_carries_what_a_request_needs(engine: Engine) -> None:
    ids = _add(engine, feed=None)
    with session(engine) as s, s.begin():
        row = s.get(Source, ids["feed"])
        row.etag, row.rules = '"v1"', {"posts": "article"}
        row.kind, row.obey_robots = "forum", False
        s.add(row)
    [claimed] = claim_due(engine, "w1")
    assert (claimed.id, claimed.url, claimed.kind) == (ids["feed"], row.url, "forum")
    assert (claimed.etag, claimed.rules, claimed.obey_robots) == ('"v1"', {"posts": "article"},
                                                                  False)
    held = _source(engine, ids["feed"])
    assert held.lease_owner == "w1" and held.lease_until > utcnow()


def test_a_dead_workers_sources_come_back_after_its_lease(engine: Engine) -> None:
    ids = _add(engine, a=None, b=30)
    assert len(claim_due(engine, "dead", lease_s=1.0)) == 2  # then never stores nor renews
    assert claim_due(engine, "alive", lease_s=1.0) == []
    time.sleep(1.2)
    assert sorted(c.id for c in claim_due(engine, "alive", lease_s=60)) == sorted(ids.values())


def test_renewal_keeps_leases_and_reports_the_lost(engine: Engine) -> None:
    ids = _add(engine, a=None, b=None)
    claim_due(engine, "w1", lease_s=1.0)
    assert renew(engine, "w1", list(ids.values()), lease_s=60) == set(ids.values())
    time.sleep(1.2)
    assert claim_due(engine, "w2") == []  # renewed: still held by w1
    assert renew(engine, "w2", list(ids.values())) == set()
    assert release_all(engine, "w1") == 2
    assert len(claim_due(engine, "w2")) == 2


def _fetch(source_id: int, entry: str) -> FetchResult:
    post = PostItem(entry_key=entry, fingerprint=f"fp-{entry}", url=f"https://example.org/{entry}",
                    title="Acme", text=f"post {entry}")
    return FetchResult(source_id=source_id, status=200, posts=[post])


def _posts(engine: Engine) -> int:
    with session(engine) as s:
        return s.exec(select(func.count()).select_from(Post)).one()


def test_a_worker_that_lost_its_lease_cannot_move_the_schedule(engine: Engine) -> None:
    source_id = _add(engine, feed=120)["feed"]
    due_at = _source(engine, source_id).next_poll_at
    claim_due(engine, "slow", lease_s=0.5)
    time.sleep(0.7)
    claim_due(engine, "other", lease_s=60)  # the lease ran out; another worker took it
    assert store_result(engine, _fetch(source_id, "e1"), "slow") == 1  # its posts are kept
    after = _source(engine, source_id)
    assert after.next_poll_at == due_at and after.last_fetch_at is None
    assert after.lease_owner == "other" and after.posts_seen == 1
    assert store_result(engine, _fetch(source_id, "e1"), "other") == 0  # deduplicated
    done = _source(engine, source_id)
    assert done.next_poll_at > utcnow() + timedelta(seconds=250)  # the 300 s interval
    assert done.lease_owner is None and done.lease_until is None  # given back
    assert _posts(engine) == 1


def test_a_poll_starts_when_its_request_went_out_on_the_lease_clock(engine: Engine) -> None:
    """The claim's time is on the lease clock; a poll starts when its first response
    says its request went out (claim + queueing), or at the claim if none came."""
    source_id = _add(engine, feed=None)["feed"]
    worker = Claimer(engine)
    before = utcnow()
    [claimed] = worker.due(in_flight=set())
    assert before - timedelta(seconds=1) <= claimed.claimed_at <= utcnow() + timedelta(seconds=1)
    lease_until = as_utc(_source(engine, source_id).lease_until)
    assert claimed.claimed_at == lease_until - timedelta(seconds=worker.lease_s)
    assert worker.poll_started(source_id) == claimed.claimed_at  # no response yet
    assert worker.poll_started(source_id + 1) is None  # not ours
    time.sleep(0.3)  # queued for its host: the poll went out later than the claim
    worker.response_received(None, Request("https://example.org/feed.xml",
                                           meta={"source_id": source_id,
                                                 "download_latency": 0.1}))
    started = worker.poll_started(source_id)
    assert claimed.claimed_at + timedelta(seconds=0.15) <= started <= utcnow()
    worker.response_received(None, Request("https://example.org/t/1",  # a later page
                                           meta={"source_id": source_id}))
    assert worker.poll_started(source_id) == started
    release_all(engine, worker.owner)
    [again] = worker.due(in_flight=set())  # a new claim: a new start
    assert worker.poll_started(source_id) == again.claimed_at


def test_the_next_poll_counts_from_the_start_not_from_the_store(engine: Engine) -> None:
    """A 300 s source whose poll went out 40 s before it was stored (a slow
    download, the writer's commit) is due again 300 s after the start, not 340 s:
    counted from the store, every re-poll came that much late (bench.crawl_scale)."""
    source_id = _add(engine, feed=None)["feed"]
    claim_due(engine, "w1")
    fetch = _fetch(source_id, "e1")
    fetch.started_at = utcnow() - timedelta(seconds=40)
    store_result(engine, fetch, "w1")
    after = _source(engine, source_id)
    assert as_utc(after.next_poll_at) == fetch.started_at + timedelta(seconds=300)
    assert (after.next_poll_at - after.last_fetch_at).total_seconds() < 261
    # a poll that went out long ago is not repeated at once: half the interval after
    claim_due(engine, "w2", every=True)
    late = _fetch(source_id, "e2")
    late.started_at = utcnow() - timedelta(hours=1)
    store_result(engine, late, "w2")
    after = _source(engine, source_id)
    assert (after.next_poll_at - after.last_fetch_at).total_seconds() == 150


def test_a_lapsed_lease_nobody_took_still_moves_the_schedule(engine: Engine) -> None:
    source_id = _add(engine, feed=120)["feed"]
    claim_due(engine, "slow", lease_s=0.2)
    time.sleep(0.3)
    store_result(engine, _fetch(source_id, "e1"), "slow")
    after = _source(engine, source_id)
    assert after.next_poll_at > utcnow() and after.lease_owner is None


# -- PostgreSQL: concurrency and the plan --------------------------------------


@pytest.mark.postgres
def test_a_claim_skips_rows_another_claim_has_locked(pg_url: str) -> None:
    """While one claim's transaction is still open, a second takes other rows at
    once instead of waiting (it would hit the 2 s lock timeout without SKIP LOCKED)."""
    engine = open_database(pg_url)
    ids = set(_add(engine, **{f"s{i}": None for i in range(10)}).values())
    impatient = create_engine(pg_url, connect_args={"options": "-c lock_timeout=2000"})
    first = engine.connect()
    try:
        with first.begin():
            held = first.execute(text(
                "SELECT id FROM source ORDER BY id LIMIT 4 FOR UPDATE")).scalars().all()
            started = time.monotonic()
            second = {c.id for c in claim_due(impatient, "w2", limit=10)}
            assert time.monotonic() - started < 1.0
        assert second == ids - set(held)
        assert {c.id for c in claim_due(engine, "w1", limit=10)} == set(held)
    finally:
        first.close()
        impatient.dispose()


@pytest.mark.postgres
def test_concurrent_claimers_get_disjoint_sources(pg_url: str) -> None:
    engine = open_database(pg_url)
    ids = set(_add(engine, **{f"s{i}": None for i in range(200)}).values())
    got: dict[str, list[int]] = {f"w{n}": [] for n in range(4)}
    start = threading.Barrier(len(got))

    def work(owner: str) -> None:
        start.wait()
        while claimed := claim_due(engine, owner, limit=7):
            got[owner] += [c.id for c in claimed]

    threads = [threading.Thread(target=work, args=(owner,)) for owner in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    everything = [i for claimed in got.values() for i in claimed]
    assert len(everything) == len(set(everything)) == len(ids)  # none twice, none missed
    assert set(everything) == ids
    assert sum(1 for claimed in got.values() if claimed) >= 2  # they really ran together


def _claim_statements(engine: Engine, work) -> list[tuple[str, object]]:  # noqa: ANN001
    """The claiming UPDATEs ``work`` sends, with their parameters."""
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, many) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith(("WITH", "UPDATE")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


def _plans(engine: Engine, work) -> list[dict]:  # noqa: ANN001
    """The executed plans (EXPLAIN ANALYZE, rolled back) of the UPDATEs ``work`` runs."""
    plans = []
    with engine.connect() as conn:
        for statement, parameters in _claim_statements(engine, work):
            with conn.begin() as tx:
                raw = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}",
                                           parameters).scalar()
                tx.rollback()
            plans.append((raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"])
    return plans


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


@pytest.mark.postgres
def test_a_claim_reads_the_due_rows_through_the_index(pg_url: str) -> None:
    engine = open_database(pg_url)
    with engine.begin() as conn:  # 20,000 sources polled lately, 30 due, 10 never polled
        conn.execute(text(
            "INSERT INTO source (name, kind, url, interval_s, page, obey_robots, hot_interval_s,"
            " enabled, managed_by, error_count, consecutive_errors, posts_seen, next_poll_at)"
            " SELECT 's' || g, 'feed', 'https://example.org/' || g, 300, 'listing', true, 60,"
            " true, 'config', 0, 0, 0, CASE WHEN g <= 10 THEN NULL"
            " WHEN g <= 40 THEN now() - g * interval '1 second'"
            " ELSE now() + g * interval '1 second' END FROM generate_series(1, 20000) g"))
        conn.execute(text("ANALYZE source"))
    plans = _plans(engine, lambda: claim_due(engine, "w1", limit=100))
    assert len(plans) == 2  # the never-polled, then the overdue
    read = 0
    for plan in plans:
        scans = [n for n in _nodes(plan) if n.get("Relation Name") == "source"
                 and "Scan" in n["Node Type"] and n.get("Index Name") != "source_pkey"]
        assert scans and all(n.get("Index Name") == "ix_source_next_poll_at" for n in scans), \
            [(n["Node Type"], n.get("Index Name")) for n in _nodes(plan)]
        read += sum(n["Actual Rows"] + n.get("Rows Removed by Filter", 0) for n in scans)
    assert read <= 40 + 10  # the due rows (and a few more), not 20,000


def test_sqlite_claim_searches_the_index(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'cw.db'}")
    statements = _claim_statements(engine, lambda: claim_due(engine, "w1"))
    assert len(statements) == 2
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = [row[-1] for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters)]
            assert any("USING INDEX ix_source_next_poll_at" in p for p in plan), plan
            assert not any(p.startswith("SCAN source") and "INDEX" not in p for p in plan), plan


def test_a_worker_claims_within_its_cap_renews_and_gives_back(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'cw.db'}")
    _add(engine, **{f"s{i}": None for i in range(5)})
    worker = Claimer(engine, lease_s=0.6, limit=10, max_claimed=3)
    first = worker.due(in_flight=set())
    assert len(first) == 3  # no more than it may hold
    in_flight = {c.id for c in first}
    assert worker.due(in_flight) == []  # full
    time.sleep(0.25)  # past a third of the lease: the next tick renews
    worker.renew_due(in_flight)
    time.sleep(0.45)  # the first leases would have lapsed by now without it
    assert len(claim_due(engine, "other")) == 2  # only the two it never held
    assert all(_source(engine, i).lease_owner == worker.owner for i in in_flight)
    worker.close()
    assert all(_source(engine, i).lease_owner is None for i in in_flight)
