"""Jetstream consumer throughput on one core while matching 100 brands, beside
a baseline measured in the same run: bare ``json.loads`` of the same messages.

Events are shaped like Jetstream's (tests/jetstream_site.py): posts of 8-40
words, 0.5 % naming one of the 100 brands, plus deletes and identity events.
Two measures:

- ``handle``: the consumer's own work per message (parse, filter with the
  brands' ``BrandIndex``, batch, store the kept posts and the cursor in SQLite),
  messages handed over in a loop: what one core can do.
- ``websocket``: the same messages served over a loopback WebSocket by a fake
  Jetstream in a child process, the consumer reading them in this one: from the
  first event to the cursor of the last one stored, beside a bare client that
  only reads and parses the same socket (the fake server's own limit shows there).

Run: ``python -m bench.jetstream [--events N]``. The issue's target: 2,000 events/s."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import tempfile
import time
from pathlib import Path

from crawlers.streams import JetstreamConsumer, StreamOptions, StreamThread
from db.engine import open_database, read_session, session
from db.models import Brand, Source
from monitor.stages.streams import BrandFilter
from tests.jetstream_site import FakeJetstream, noise_event, post_event

WORDS = ("the a my new phone app update battery screen order delivery support today "
         "again really love hate slow fast broken great awful price store refund "
         "camera charger coffee train weather music game friend city night morning "
         "why how is was it so very just not never always").split()
TARGET = 2_000


def brands(n: int = 100) -> list[tuple[str, list[str]]]:
    return [(f"Brand{i}", [f"Brand{i}", f"Gizmo{i} Pro"]) for i in range(n)]


def events(n: int, rng: random.Random) -> list[dict]:
    t0 = int(time.time() * 1e6) - n * 1000
    out = []
    for i in range(n):
        if i % 10 == 9:
            out.append(noise_event(t0 + i * 1000, 1 + (i // 10) % 2))  # delete / identity
            continue
        words = rng.choices(WORDS, k=rng.randint(8, 40))
        if rng.random() < 0.005:
            words.insert(rng.randrange(len(words)), f"Brand{rng.randrange(100)}")
        out.append(post_event(t0 + i * 1000, f"did:plc:u{i % 5000}", f"r{i:07d}",
                              " ".join(words)))
    return out


def fresh(folder: Path, name: str):  # noqa: ANN201
    engine = open_database(f"sqlite:///{folder / f'{name}.db'}")
    with session(engine) as s, s.begin():
        s.add_all([Brand(name=b, keywords=k) for b, k in brands()])
        s.add(Source(name="bsky", kind="bluesky", url="ws://127.0.0.1/subscribe"))
    return engine


def bench_json(messages: list[str]) -> float:
    start = time.perf_counter()
    for m in messages:
        json.loads(m)
    return len(messages) / (time.perf_counter() - start)


def bench_handle(messages: list[str], folder: Path) -> tuple[float, int]:
    engine = fresh(folder, "handle")
    consumer = JetstreamConsumer(engine, 1, "ws://127.0.0.1/", BrandFilter(engine).keep)
    consumer.keep("warm up")  # load the rules outside the timing
    start = time.perf_counter()
    for m in messages:
        consumer.handle(m)
    consumer.flush()
    rate = len(messages) / (time.perf_counter() - start)
    with read_session(engine) as s:
        return rate, s.get(Source, 1).posts_seen


def _serve(evs: list[dict], port: multiprocessing.Queue, done: multiprocessing.Event) -> None:
    server = FakeJetstream().start()
    server.publish(evs)
    port.put(server.port)
    done.wait()
    server.stop()


def _serving(evs: list[dict]) -> tuple[str, multiprocessing.Event, multiprocessing.Process]:
    port, done = multiprocessing.Queue(), multiprocessing.Event()
    child = multiprocessing.Process(target=_serve, args=(evs, port, done))
    child.start()
    return f"ws://127.0.0.1:{port.get(timeout=30)}/subscribe", done, child


def bench_bare_websocket(evs: list[dict]) -> float:
    """A bare client reading the same socket, ``json.loads`` only: the baseline of
    the socket measure (and the fake server's own limit)."""
    import asyncio

    from websockets.asyncio.client import connect

    url, done, child = _serving(evs)

    async def read() -> float:
        async with connect(f"{url}?cursor={evs[0]['time_us']}") as ws:
            start = time.perf_counter()
            for _ in evs:
                json.loads(await ws.recv())
            return len(evs) / (time.perf_counter() - start)

    try:
        return asyncio.run(read())
    finally:
        done.set()
        child.join(10)


def bench_websocket(evs: list[dict], folder: Path) -> float:
    engine = fresh(folder, "ws")
    with session(engine) as s, s.begin():
        s.get(Source, 1).stream_cursor = evs[0]["time_us"] - 1
    url, done, child = _serving(evs)
    keep = BrandFilter(engine)
    keep.keep("warm up")
    consumer = JetstreamConsumer(engine, 1, url, keep.keep, options=StreamOptions(margin_us=0))
    start = time.perf_counter()
    runner = StreamThread(consumer).start()
    last = evs[-1]["time_us"]
    while True:
        with read_session(engine) as s:
            if s.get(Source, 1).stream_cursor == last:
                break
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    runner.stop()
    done.set()
    child.join(10)
    return consumer.events / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    evs = events(args.events, random.Random(19))
    messages = [json.dumps(e) for e in evs]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = bench_json(messages)
        rate, kept = bench_handle(messages, folder)
        bare_ws = bench_bare_websocket(evs)
        over_ws = bench_websocket(evs, folder)
    print(f"{len(messages)} Jetstream events ({sum(len(m) for m in messages) // len(messages)} "
          f"bytes each on average), 100 brands, {kept} posts kept and stored")
    print(f"  baseline json.loads only      {baseline:>10,.0f} events/s")
    print(f"  consumer handle (one core)    {rate:>10,.0f} events/s "
          f"({rate / baseline:.0%} of the baseline)")
    print(f"  baseline bare socket client   {bare_ws:>10,.0f} events/s (json.loads only)")
    print(f"  consumer over the same socket {over_ws:>10,.0f} events/s")
    print(f"  target                        {TARGET:>10,} events/s: "
          f"{'met' if min(rate, over_ws) >= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
