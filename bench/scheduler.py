"""The crawl scheduler's cost per tick as sources grow (issue 20).

Seeds 1,000 / 10,000 / 100,000 feed sources in a fresh PostgreSQL database (and
10,000 in SQLite) and times, in the same run on the same rows:

- the old tick: ``due_sources`` as it was before issue 20, every enabled source
  loaded as an ORM object and filtered in Python (``legacy_due_sources`` below);
- a claim (``crawlers.claims.claim_due``, 100 sources a tick, the default) in
  three states: *steady* (next polls spread over a 5-minute interval, so about
  one six-hundredth of the sources falls due each half-second tick), *busy*
  (steady, plus 1,000 due sources leased to another worker, which every claim
  must step over) and *cold start* (every source never polled).

Each claim is followed, untimed, by giving its leases back, so every timed
claim sees the same state. Times are wall-clock (the database's work included),
median and slowest of the claims. Run: ``python -m bench.scheduler``; writes
``bench/results/scheduler.md``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, update
from sqlmodel import select

from bench.machine import cpu_name
from crawlers.claims import claim_due, release_all
from crawlers.schedule import is_due
from db.engine import open_database, read_session
from db.models import Source, utcnow

OUT = Path(__file__).resolve().parent / "results" / "scheduler.md"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
INTERVAL_S = 300
CLAIMS = 20
TARGET_MS = 20.0  # the target for a claim at 100,000 sources


def legacy_due_sources(engine: Engine) -> list[Source]:
    """The tick before issue 20 (crawlers/spiders/watch.py ``due_sources``)."""
    now = utcnow()
    with read_session(engine) as s:
        rows = s.exec(select(Source).where(Source.enabled == True)).all()  # noqa: E712
    return [r for r in rows if is_due(r.next_poll_at, now)]


def seed(engine: Engine, n: int, *, cold: bool) -> None:
    """``n`` feed sources, all never polled (``cold``) or spread over the interval."""
    rng = random.Random(20)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(Source.__table__.delete())
        for start in range(0, n, 5000):
            conn.execute(insert(Source.__table__), [
                {"name": f"feed-{i}", "url": f"https://site{i % 997}.example/{i}.xml",
                 "kind": "feed", "interval_s": INTERVAL_S, "page": "listing",
                 "obey_robots": True, "hot_interval_s": 60, "enabled": True,
                 "managed_by": "config", "error_count": 0, "consecutive_errors": 0,
                 "posts_seen": 0, "etag": f'"{i}"',
                 "next_poll_at": None if cold else
                 now + timedelta(seconds=rng.uniform(-0.5, INTERVAL_S - 0.5))}
                for i in range(start, min(n, start + 5000))])


def lease_to_another(engine: Engine, count: int) -> None:
    """Make ``count`` sources due and leased to a live other worker."""
    now = utcnow()
    t = Source.__table__.c
    with engine.begin() as conn:
        conn.execute(update(Source.__table__).where(t.id <= count).values(
            next_poll_at=now - timedelta(seconds=1), lease_owner="other",
            lease_until=now + timedelta(hours=1)))


def time_claims(engine: Engine) -> tuple[list[float], int]:
    """Milliseconds per claim, and sources per claim."""
    times, got = [], 0
    for n in range(CLAIMS):
        owner = f"bench-{n}"
        started = time.perf_counter()
        claimed = claim_due(engine, owner)
        times.append((time.perf_counter() - started) * 1000)
        got = len(claimed)
        release_all(engine, owner)
    return times, got


def time_legacy(engine: Engine, repeats: int) -> tuple[float, int]:
    times, due = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        due = len(legacy_due_sources(engine))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), due


@contextmanager
def postgres(admin: str) -> Iterator[str]:
    import psycopg

    name = f"cw_bench_sched_{uuid.uuid4().hex[:8]}"
    conn = psycopg.connect(admin, autocommit=True)
    conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@contextmanager
def sqlite(folder: Path) -> Iterator[str]:
    path = folder / f"bench-scheduler-{uuid.uuid4().hex[:8]}.db"
    try:
        yield f"sqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def measure(url: str, n: int, log: Callable[[str], None]) -> dict:
    """One backend at ``n`` sources: the old tick and the three claim states."""
    engine = open_database(url)
    row: dict = {"n": n}
    seed(engine, n, cold=False)
    _analyze(engine)
    row["legacy_ms"], row["legacy_due"] = time_legacy(engine, 2 if n >= 100_000 else 5)
    row["steady"] = time_claims(engine)
    lease_to_another(engine, 1000)
    _analyze(engine)
    row["busy"] = time_claims(engine)
    seed(engine, n, cold=True)
    _analyze(engine)
    row["cold"] = time_claims(engine)
    engine.dispose()
    log(f"{engine.dialect.name} {n:,}: old {row['legacy_ms']:.1f} ms, claim "
        f"{statistics.median(row['steady'][0]):.2f} / {statistics.median(row['busy'][0]):.2f}"
        f" / {statistics.median(row['cold'][0]):.2f} ms")
    return row


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics, as autovacuum would have after a bulk load."""
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE source" if engine.dialect.name == "postgresql"
                             else "ANALYZE")
        conn.commit()


def _claim_cell(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} ms (max {max(times):.1f})"


def report(rows: list[tuple[str, dict]]) -> str:
    day = datetime.now(UTC).date().isoformat()
    lines = [
        "# Crawl scheduler: a due-source claim against the old full-load tick", "",
        f"`python -m bench.scheduler` on {cpu_name()}, {day} (2 cores, other work running). "
        f"Wall-clock per call, the database's work included; each claim asks for up to 100 "
        f"sources (the default per tick) and is the median of {CLAIMS}. Steady: polls "
        f"spread over a {INTERVAL_S} s interval. Busy: steady plus 1,000 due sources leased "
        "to another worker. Cold start: every source never polled.", "",
        "| database | sources | old tick: load all (due found) | claim, steady (claimed) "
        "| claim, busy | claim, cold start | old / steady |",
        "|---|---:|---:|---:|---:|---:|---:|"]
    for backend, r in rows:
        steady = statistics.median(r["steady"][0])
        lines.append(
            f"| {backend} | {r['n']:,} | {r['legacy_ms']:,.1f} ms ({r['legacy_due']:,}) | "
            f"{_claim_cell(r['steady'][0])} ({r['steady'][1]}) | {_claim_cell(r['busy'][0])} | "
            f"{_claim_cell(r['cold'][0])} | {r['legacy_ms'] / steady:,.0f}x |")
    big = [r for b, r in rows if b == "PostgreSQL" and r["n"] == 100_000]
    if big:
        worst = max(statistics.median(big[0][k][0]) for k in ("steady", "busy", "cold"))
        verdict = "met" if worst < TARGET_MS else "NOT met"
        lines += ["", f"Target: a due-source claim under {TARGET_MS:.0f} ms at 100,000 sources "
                      f"on PostgreSQL: {verdict} (slowest median of the three states: "
                      f"{worst:.2f} ms)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--sqlite-sizes", type=int, nargs="*", default=[10_000])
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        with postgres(args.pg_admin) as url:
            rows.append(("PostgreSQL", measure(url, n, print)))
    for n in args.sqlite_sizes:
        with sqlite(args.out.parent) as url:
            rows.append(("SQLite", measure(url, n, print)))
    args.out.write_text(report(rows), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
