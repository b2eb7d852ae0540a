"""Two daemons on one PostgreSQL database under a growing stream (issue 17, item 1).

Two writers store real posts (the English and Chinese benchmark streams of
``bench.realstreams``, read in place from ``../shared/data``) in short transactions
that commit out of order, for ``--seconds``; two daemons run every stage after
fetching (score -> detect -> plan -> dispatch to a stub sender) at the same time.
Afterwards it counts what a PR team would lose: posts never scored, posts with more
than one mention of a brand, aborted passes, duplicate alert keys or deliveries.

The baseline is one daemon: the same posts (same texts, same fetch times) are stored
in a fresh database and processed once, and the incidents of both runs are compared
post for post. Run: ``python -m bench.two_daemons [--seconds 120]``; writes
``bench/results/two_daemons.md``. Posts are stored as standalone posts (no threads,
no reply counts): the point is the claims and the grouping order, not the signals.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import Engine
from sqlmodel import func, select

from alerts.notify import SendResult
from bench.machine import cpu_name
from bench.realstreams import real_stream
from db.engine import open_database, session
from db.models import Alert, Delivery, Mention, Post, Source
from monitor.config import Config, parse_config
from monitor.stages.chain import Stages
from monitor.stages.sync import sync_config

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
OUT = Path(__file__).resolve().parent / "results" / "two_daemons.md"
Texts = list[tuple[str, str]]  # (entry key, text)


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards."""
    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stream_texts() -> tuple[Texts, list[dict]]:
    """Every post of the en and zh streams (seed 1) in time order, and their brands."""
    texts, brands = [], []
    for language in ("en", "zh"):
        st = real_stream(language, 1)
        brands.append({"name": st.brand, "keywords": list(st.keywords)})
        texts += [(f"{language}:{r['id']}", f"{r.get('title') or ''}\n{r['text']}".strip())
                  for r in st.records if r.get("text")]
    return texts, brands


def _setup(url: str, brands: list[dict]) -> tuple[Engine, Config, int]:
    engine = open_database(url)
    config = parse_config({"database": url, "brands": brands,
                           "channels": [{"name": "pr", "url": "json://localhost/x"}]},
                          base=Path("."), env={})
    sync_config(engine, config)
    with session(engine) as s, s.begin():
        source = Source(name="stream", url="https://stream.example/")
        s.add(source)
        s.flush()
        return engine, config, source.id


def _writer(engine: Engine, source_id: int, queue: Iterator, lock: threading.Lock,
            pace: float, seed: int) -> None:
    """A fetcher: 1-4 posts per transaction, held open a little, so commits interleave."""
    rng = random.Random(seed)
    while True:
        with session(engine) as s, s.begin():
            for _ in range(rng.randint(1, 4)):
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                key, text = item
                s.add(Post(source_id=source_id, entry_key=key, fingerprint=key, text=text))
                s.flush()
            time.sleep(rng.uniform(0, 0.05))
        time.sleep(pace * rng.uniform(0.5, 1.5))


def live_run(url: str, texts: Texts, brands: list[dict], seconds: float, daemons: int
             ) -> dict:
    """``daemons`` stage runners beside two writers; the counts a PR team cares about."""
    engine, config, source_id = _setup(url, brands)
    stages = [Stages(engine, config, send=lambda m: SendResult(True, None))
              for _ in range(daemons)]
    stop, errors, lock = threading.Event(), [], threading.Lock()
    queue = iter(texts)
    pace = 2 * 2.5 * seconds / len(texts)  # two writers, 2.5 posts a transaction

    def loop(st: Stages) -> None:
        while not stop.is_set():
            try:
                st.run()
            except Exception as exc:  # noqa: BLE001 - an aborted pass is what we count
                errors.append(repr(exc)[:200])

    writers = [threading.Thread(target=_writer, args=(engine, source_id, queue, lock, pace, i))
               for i in range(2)]
    runners = [threading.Thread(target=loop, args=(st,)) for st in stages]
    start = time.monotonic()
    for t in writers + runners:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in runners:
        t.join()
    stages[0].run()
    elapsed = time.monotonic() - start
    return {**counts(engine), "errors": errors, "seconds": elapsed}


def counts(engine: Engine) -> dict:
    with session(engine) as s:
        per_post = s.exec(select(func.count()).select_from(Mention)
                          .group_by(Mention.post_id, Mention.brand_id)).all()
        keys = s.exec(select(Alert.dedup_key)).all()
        deliveries = s.exec(select(Delivery.alert_id, Delivery.channel_id)).all()
        return {"posts": s.exec(select(func.count()).select_from(Post)).one(),
                "unscored": s.exec(select(func.count()).select_from(Post)
                                   .where(Post.scored_at == None)).one(),  # noqa: E711
                "twice": sum(n > 1 for n in per_post), "mentions": len(per_post),
                "alerts": len(keys), "dup_keys": len(keys) - len(set(keys)),
                "dup_deliveries": len(deliveries) - len(set(deliveries)),
                "incidents": incidents(engine)}


def incidents(engine: Engine) -> frozenset[frozenset[str]]:
    """Each incident as the set of its posts' keys."""
    with session(engine) as s:
        rows = s.exec(select(Mention.incident_id, Post.entry_key)
                      .join(Post, Mention.post_id == Post.id)
                      .where(Mention.incident_id != None)).all()  # noqa: E711
    groups: dict[int, set[str]] = {}
    for inc, key in rows:
        groups.setdefault(inc, set()).add(key)
    return frozenset(frozenset(g) for g in groups.values())


def one_pass(url: str, live_url: str, brands: list[dict]) -> frozenset[frozenset[str]]:
    """The baseline: the live run's posts, fetch times kept, processed by one daemon."""
    with session(open_database(live_url)) as s:
        posts = s.exec(select(Post.entry_key, Post.text, Post.fetched_at)
                       .order_by(Post.fetched_at, Post.id)).all()
    engine, config, source_id = _setup(url, brands)
    with session(engine) as s, s.begin():
        s.add_all([Post(source_id=source_id, entry_key=k, fingerprint=k, text=t, fetched_at=at)
                   for k, t, at in posts])
    Stages(engine, config, send=lambda m: SendResult(True, None)).run()
    return incidents(engine)


def report(live: dict, base: frozenset, seconds: float) -> list[str]:
    same = live["incidents"] == base
    differ = len(live["incidents"] ^ base)
    return [
        "# Two daemons on one PostgreSQL database",
        "",
        f"`python -m bench.two_daemons --seconds {seconds:g}` on {cpu_name()}, "
        f"{datetime.now(UTC):%Y-%m-%d}.",
        "",
        f"Two writers stored {live['posts']:,} real posts in {live['seconds']:.0f} s while "
        "two daemons ran every stage.",
        "",
        "| measure | two daemons | want |",
        "|---|---:|---:|",
        f"| posts never scored | {live['unscored']} | 0 |",
        f"| posts with a brand's mention twice | {live['twice']} | 0 |",
        f"| aborted passes | {len(live['errors'])} | 0 |",
        f"| duplicate alert keys | {live['dup_keys']} | 0 |",
        f"| duplicate deliveries | {live['dup_deliveries']} | 0 |",
        f"| incidents (one daemon, same posts, one pass: {len(base)}) | "
        f"{len(live['incidents'])} | {len(base)} |",
        f"| incidents not identical post for post to the baseline's | {differ} | 0 |",
        "",
        f"Mentions: {live['mentions']:,}; alerts: {live['alerts']:,}; "
        f"same incidents as one daemon: {'yes' if same else 'no'}.",
        *(["", "Aborted passes:", *(f"- `{e}`" for e in live["errors"][:10])]
          if live["errors"] else []),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.two_daemons",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120,
                        help="how long the writers take to store the stream (default 120)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"report file (default {OUT})")
    args = parser.parse_args(argv)
    texts, brands = stream_texts()
    print(f"{len(texts):,} posts over {args.seconds:g} s; two daemons ...", flush=True)
    with fresh_database() as live_url, fresh_database() as base_url:
        live = live_run(live_url, texts, brands, args.seconds, daemons=2)
        print("one daemon on the same posts ...", flush=True)
        base = one_pass(base_url, live_url, brands)
    lines = report(live, base, args.seconds)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
