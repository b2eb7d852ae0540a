"""Growth (issue 20): per-post CPU of store and of process (score + detect + plan)
with a small and a large history already stored, on SQLite and PostgreSQL.

The history is filled set-based (one ``INSERT ... SELECT`` per table, rows made by
the database itself): ``--small`` and ``--large`` posts, all older than the
baselines detection reads (``FILL_AGE``, 35 to 365 days before the stream), each
source's share of them, a third mentioning a brand, a tenth of those flagged and
grouped into resolved incidents of ten, the rest checked (``grouped_by`` empty):
what months of a running daemon leave behind. Then the same stream as
``bench/ingest.py`` (real posts served as RSS polls) is stored and processed, and
the CPU seconds of this process per stored post are compared: issue 20 asks that
the large history cost at most 1.3x the small one.

    python -m bench.growth [--days 2] [--small 10000] [--large 1000000] [--no-pg]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import Engine, text
from sqlmodel import select

from bench.ingest import Poll, _fresh_pg, _server_cpu, build_polls, open_bench_database
from bench.machine import cpu_name
from crawlers.extractors.feed import read_feed
from crawlers.items import FetchResult
from crawlers.pipelines.store import store_result
from db.engine import session
from db.models import Brand, Post, Source
from monitor.stages.chain import Stages

FILL_AGE = (35, 365)  # days before the stream's first post the history spans
RESULTS = Path(__file__).parent / "results" / "growth.md"
CHUNK = 100_000  # rows per INSERT ... SELECT


def _numbers(dialect: str, start: int, count: int) -> str:
    """A row source of integers ``start`` .. ``start + count - 1`` named ``i``."""
    if dialect == "postgresql":
        return f"generate_series({start}::bigint, {start + count - 1}) AS g(i)"
    return (f"(WITH RECURSIVE n(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM n "
            f"WHERE i < {start + count - 1}) SELECT i FROM n)")


def _ts(dialect: str, first: datetime, seconds: str) -> str:
    """A timestamp ``seconds`` (an SQL expression) after ``first``, in the column's form."""
    if dialect == "postgresql":
        return f"(TIMESTAMP '{first:%Y-%m-%d %H:%M:%S}' + ({seconds}) * INTERVAL '1 second')"
    return f"datetime('{first:%Y-%m-%d %H:%M:%S}', '+' || ({seconds}) || ' seconds')"


def fill(engine: Engine, posts: int, first: datetime) -> None:
    """``posts`` stored, scored and grouped posts between ``FILL_AGE`` days before
    ``first``, with their mentions and incidents (see the module's docstring)."""
    if posts <= 0:
        return
    d = engine.dialect.name
    start = first - timedelta(days=FILL_AGE[1])
    span = (FILL_AGE[1] - FILL_AGE[0]) * 86400
    with session(engine) as s:
        sources = [x.id for x in s.exec(select(Source).order_by(Source.id)).all()]
        brands = [x.id for x in s.exec(select(Brand).order_by(Brand.id)).all()]
    at = _ts(d, start, f"i * {span} / {posts}")
    source = f"(CASE (i % {len(sources)}) " + " ".join(
        f"WHEN {k} THEN {sid}" for k, sid in enumerate(sources)) + " END)"

    def brand(block: str) -> str:  # brands take turns in blocks of 3,000 posts
        return f"(CASE (({block}) % {len(brands)}) " + " ".join(
            f"WHEN {k} THEN {bid}" for k, bid in enumerate(brands)) + " END)"
    incidents = posts // 300 + 1  # one per ten flagged mentions
    with engine.begin() as conn:
        for lo in range(0, incidents, CHUNK):
            n = min(CHUNK, incidents - lo)
            conn.execute(text(
                "INSERT INTO incident (id, brand_id, opened_at, last_seen_at, severity, "
                "mention_count, source_ids, cues, title, category_confidence, thread_keys, "
                "fingerprints, part_prints, term_counts, signals, resolved_at) "
                f"SELECT 1000000 + i, {brand('i / 10')}, "
                f"{_ts(d, start, f'i * 300 * {span} / {posts}')}, "
                f"{_ts(d, start, f'i * 300 * {span} / {posts} + 3600')}, 'notice', 10, '[]', "
                "'[]', 'filled', 0, '[]', '[]', '[]', '{}', '{}', "
                f"{_ts(d, start, f'i * 300 * {span} / {posts} + 7200')} "
                f"FROM {_numbers(d, lo, n)}"))
        for lo in range(0, posts, CHUNK):
            n = min(CHUNK, posts - lo)
            conn.execute(text(
                "INSERT INTO post (source_id, entry_key, fingerprint, url, title, text, "
                "published_at, fetched_at, scored_at) "
                f"SELECT {source}, 'fill-' || i, 'fill-' || i, NULL, '', "
                f"'filler post ' || i || ' about nothing in particular', {at}, {at}, {at} "
                f"FROM {_numbers(d, lo, n)}"))
        conn.execute(text(
            "INSERT INTO mention (post_id, brand_id, language, sentiment, risk, flagged, "
            "strong, cues, reasons, scored_at, incident_id, terms, grouped_by) "
            f"SELECT p.id, {brand('i / 3000')}, 'en', 0.5, "
            "CASE WHEN i % 30 = 0 THEN 0.9 ELSE 0.1 END, i % 30 = 0, false, '[]', '[]', "
            "p.fetched_at, CASE WHEN i % 30 = 0 THEN 1000000 + i / 300 ELSE NULL END, '[]', "
            "CASE WHEN i % 30 = 0 THEN 'filled' ELSE '' END "
            "FROM (SELECT id, fetched_at, CAST(substr(entry_key, 6) AS INTEGER) AS i "
            "FROM post WHERE entry_key LIKE 'fill-%') AS p WHERE i % 3 = 0"))
    with engine.connect() as conn:  # the planner's statistics, as autovacuum would
        conn.execute(text("ANALYZE"))
        conn.commit()


@dataclass
class Grown:
    database: str
    history: int
    posts: int
    store: float
    process: float
    fill_s: float
    server: float = 0.0  # PostgreSQL's backends, same machine (0 on SQLite: in process)

    def ms(self, part: str) -> float:
        return getattr(self, part) / self.posts * 1000


def run(url: str, polls: list[Poll], brands: dict[str, tuple[str, ...]], history: int) -> Grown:
    engine, config, _sources, ids = open_bench_database(url, polls, brands)
    started = time.perf_counter()
    fill(engine, history, polls[0].at - timedelta(hours=1))
    _cold()
    fill_s = time.perf_counter() - started
    stages = Stages(engine, config)
    store = process = 0.0
    server = _server_cpu(engine)
    for poll in polls:
        for name, body in poll.bodies:
            items = read_feed(body, url=f"https://bench.invalid/{name}").items
            t0 = time.process_time()
            store_result(engine, FetchResult(source_id=ids[name], status=200, posts=items))
            store += time.process_time() - t0
        t0 = time.process_time()
        stages.process()
        process += time.process_time() - t0
    server = _server_cpu(engine) - server
    with session(engine) as s:
        stored = len(s.exec(select(Post.id).where(~Post.entry_key.startswith("fill-"))).all())
    engine.dispose()
    return Grown(engine.dialect.name, history, stored, store, process, fill_s, server)


def _cold() -> None:
    """Empty the per-text caches of detection, so no run reads what the one before
    it computed for the same posts."""
    from monitor.detection import category
    from monitor.stages import detect, readings

    for module, name in ((category, "_text_terms"), (detect, "_post_terms"),
                         (readings, "_cue_context")):
        cached = getattr(module, name, None)  # older code lacks some: bench it too
        if cached is not None:
            cached.cache_clear()


def _sqlite(polls: list[Poll], brands: dict, history: int) -> Grown:
    with TemporaryDirectory() as tmp:
        return run(f"sqlite:///{tmp}/growth.db", polls, brands, history)


def _pg(polls: list[Poll], brands: dict, history: int) -> Grown:
    url, drop = _fresh_pg()
    try:
        return run(url, polls, brands, history)
    finally:
        drop()


def report(runs: list[Grown]) -> list[str]:
    lines = ["| database | history posts | fill s (wall) | posts | store ms/post | "
             "process ms/post | store+process ms/post | x small history | "
             "server ms/post | x small history, with server |", "|---" * 10 + "|"]
    small: dict[str, tuple[float, float]] = {}
    for r in runs:
        both = r.ms("store") + r.ms("process")
        small.setdefault(r.database, (both, both + r.ms("server")))
        lines.append(f"| {r.database} | {r.history:,} | {r.fill_s:.0f} | {r.posts:,} | "
                     f"{r.ms('store'):.2f} | {r.ms('process'):.2f} | {both:.2f} | "
                     f"{both / small[r.database][0]:.2f} | {r.ms('server'):.2f} | "
                     f"{(both + r.ms('server')) / small[r.database][1]:.2f} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    polls, brands, _ = build_polls(args.days, args.seeds, 3600, 5)
    _sqlite(polls, brands, 0)  # warm up: models, patterns and caches fill on first use
    runs = []
    for history in (args.small, args.large):
        runs.append(_sqlite(polls, brands, history))
        print(*report(runs)[-1:], flush=True)
        if not args.no_pg:
            runs.append(_pg(polls, brands, history))
            print(*report(runs)[-1:], flush=True)
    runs.sort(key=lambda r: (r.database != "sqlite", r.history))
    lines = [f"# Growth: per-post CPU with {args.small:,} and {args.large:,} posts stored "
             f"(python -m bench.growth --days {args.days} --seeds {args.seeds} "
             f"--small {args.small} --large {args.large})", "",
             f"{datetime.now(UTC):%Y-%m-%d}, {cpu_name()}, {os.cpu_count()} cores (shared with "
             "other work); CPU seconds of this process per stream post stored; the history "
             f"spans {FILL_AGE[0]}-{FILL_AGE[1]} days before the stream.", "", *report(runs)]
    print("\n".join(lines))
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
