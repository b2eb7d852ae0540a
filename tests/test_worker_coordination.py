"""Several process and dispatch workers on PostgreSQL (issue 20): detection per
brand under an advisory lock (a brand another worker is deciding is left to it,
the other brands go on), scoring claims disjoint batches, and LISTEN/NOTIFY
wakes the process workers when a crawl worker stores posts and the dispatchers
when deliveries are planned."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func as sa_func
from sqlmodel import select

from crawlers.items import FetchResult, PostItem
from crawlers.pipelines.store import store_result
from db.engine import open_database, session
from db.models import Brand, Mention, Post, Source
from db.wakeup import OUTBOX, STORED, Listener
from monitor.config import parse_config
from monitor.detection.severity import Rules
from monitor.scoring.backends import scorer_for
from monitor.stages.chain import Stages
from monitor.stages.detect import run_detect
from monitor.stages.score import run_monitor
from monitor.stages.sync import sync_config

pytestmark = pytest.mark.postgres

COMPLAINT = "My {b} phone battery caught fire overnight and burned the desk, this is dangerous"


def _setup(url: str, tmp_path: Path):  # noqa: ANN202 - (Engine, Config)
    engine = open_database(url)
    config = parse_config({"database": url,
                           "brands": [{"name": "Acme", "keywords": ["Acme"]},
                                      {"name": "Globex", "keywords": ["Globex"]}],
                           "channels": [{"name": "pr", "url": "json://localhost/x"}]},
                          base=tmp_path, env={})
    sync_config(engine, config)
    with session(engine) as s, s.begin():
        s.add(Source(name="forum", url="https://forum.example/"))
    return engine, config


def _store(engine, n: int, brand: str) -> int:  # noqa: ANN001
    with session(engine) as s:
        source_id = s.exec(select(Source.id)).one()
    item = PostItem(entry_key=f"{brand}-{n}", fingerprint=f"fp-{brand}-{n}",
                    url=f"https://forum.example/{brand}/{n}", title="",
                    text=COMPLAINT.format(b=brand) + f" #{n}")
    return store_result(engine, FetchResult(source_id=source_id, status=200, posts=[item]))


def _ungrouped(engine, brand: str) -> int:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(sa_func.count()).select_from(Mention).join(Brand).where(
            Brand.name == brand, Mention.incident_id == None)).one()  # noqa: E711


def test_a_brand_another_worker_is_deciding_is_left_to_it_and_the_others_go_on(
        pg_url, tmp_path):
    engine, _config = _setup(pg_url, tmp_path)
    for brand in ("Acme", "Globex"):
        _store(engine, 1, brand)
    assert run_monitor(engine, scorer_for(_config), 0.5).posts == 2
    with session(engine) as s:
        acme = s.exec(select(Brand.id).where(Brand.name == "Acme")).one()
    other = session(engine)  # another process worker, mid-way through Acme
    other.begin()
    other.execute(select(sa_func.pg_advisory_xact_lock(
        sa_func.hashtext("crisiswatch:detect:brand"), acme)))
    report = run_detect(engine, Rules(), timedelta(hours=6))
    assert report.mentions == 1  # Globex's, without waiting for Acme's lock
    assert (_ungrouped(engine, "Acme"), _ungrouped(engine, "Globex")) == (1, 0)
    other.rollback()  # that worker died: its lock went with its transaction
    other.close()
    assert run_detect(engine, Rules(), timedelta(hours=6)).mentions == 1
    assert (_ungrouped(engine, "Acme"), _ungrouped(engine, "Globex")) == (0, 0)


def test_scoring_skips_a_batch_another_worker_holds_and_scores_the_next(pg_url, tmp_path):
    engine, config = _setup(pg_url, tmp_path)
    for n in range(3):
        _store(engine, n, "Acme")
    held = session(engine)  # another process worker scoring the oldest post
    held.begin()
    first = held.exec(select(Post.id).order_by(Post.id).limit(1).with_for_update()).one()
    assert run_monitor(engine, scorer_for(config), 0.5).posts == 2  # not blocked on it
    held.rollback()
    held.close()
    assert run_monitor(engine, scorer_for(config), 0.5).posts == 1  # it lapsed to us
    with session(engine) as s:
        assert s.get(Post, first).scored_at is not None
        assert s.exec(select(sa_func.count()).select_from(Mention)).one() == 3


def test_a_stored_fetch_wakes_process_workers_and_planned_deliveries_dispatchers(
        pg_url, tmp_path):
    engine, config = _setup(pg_url, tmp_path)
    stored, outbox = threading.Event(), threading.Event()
    listeners = [Listener(pg_url, (STORED,), stored).start(),
                 Listener(pg_url, (OUTBOX,), outbox).start()]
    try:
        for listener in listeners:
            assert listener.ready.wait(30), "LISTEN never ran"
        assert _store(engine, 1, "Acme") == 1
        assert stored.wait(30) and not outbox.is_set()
        _store(engine, 1, "Acme")  # nothing new: no wake-up
        stored.clear()
        Stages(engine, config, scorer=scorer_for(config)).process()  # plans a delivery
        assert outbox.wait(30)
        assert not stored.is_set()
    finally:
        for listener in listeners:
            listener.close()
