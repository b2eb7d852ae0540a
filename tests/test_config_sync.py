"""The config sync (monitor/stages/sync.py) on SQLite and PostgreSQL: rows by
name, a moved URL forgets its validators, dropped rows are disabled not deleted,
console rows are left alone, and the writes are sets: the statements a sync
sends do not grow with the number of sources (issue 20: one ORM round trip per
entry made a 10,000-source start take minutes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from db.engine import open_database, session
from db.models import Brand, Channel, Source, utcnow
from monitor.config import parse_config
from monitor.stages.sync import sync_config
from tests.conftest import ROOT


def _config(url: str, sources: list[dict], brands: tuple[str, ...] = ("Acme",)):
    return parse_config({"database": url, "brands": [{"name": b, "keywords": [b.lower()]}
                                                     for b in brands],
                         "channels": [{"name": "ops", "url": "json://127.0.0.1:9/x"}],
                         "sources": sources}, base=ROOT, env={})


def _feed(i: int, **extra: object) -> dict:
    return {"name": f"feed-{i}", "kind": "feed", "url": f"http://h{i}.example/f.xml", **extra}


def _rows(engine) -> dict[str, Source]:  # noqa: ANN001
    with session(engine) as s:
        return {r.name: r for r in s.exec(select(Source)).all()}


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path) -> str:  # noqa: ANN001
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sync.db'}"
    return request.getfixturevalue("pg_url")


def test_sync_creates_updates_and_disables_by_name(url):
    engine = open_database(url)
    sync_config(engine, _config(url, [_feed(1), _feed(2, interval=600), _feed(3)]))
    rows = _rows(engine)
    assert sorted(rows) == ["feed-1", "feed-2", "feed-3"]
    assert (rows["feed-2"].interval_s, rows["feed-2"].enabled, rows["feed-2"].managed_by) == \
        (600, True, "config")
    with session(engine) as s, s.begin():  # a poll happened; the console added one
        for row in s.exec(select(Source)).all():
            row.etag, row.next_poll_at = f'"{row.name}"', utcnow() + timedelta(minutes=5)
            s.add(row)
        s.add(Source(name="mine", url="http://c.example/f.xml", managed_by="console"))
    moved = {**_feed(1), "url": "http://elsewhere.example/f.xml"}
    sync_config(engine, _config(url, [moved, _feed(2, interval=900)], brands=("Beta",)))
    rows = _rows(engine)
    assert (rows["feed-1"].url, rows["feed-1"].etag, rows["feed-1"].next_poll_at) == \
        ("http://elsewhere.example/f.xml", None, None)  # validators belonged to the old URL
    assert (rows["feed-2"].interval_s, rows["feed-2"].etag) == (900, '"feed-2"')
    assert rows["feed-3"].enabled is False and rows["feed-3"].etag == '"feed-3"'  # kept
    assert (rows["mine"].enabled, rows["mine"].managed_by) == (True, "console")
    with session(engine) as s:
        brands = {b.name: b.enabled for b in s.exec(select(Brand)).all()}
        channel = s.exec(select(Channel)).one()
    assert brands == {"Acme": False, "Beta": True}
    assert (channel.name, channel.enabled) == ("ops", True)
    sync_config(engine, _config(url, [_feed(1), _feed(2), _feed(3)]))  # listed again
    assert all(r.enabled for r in _rows(engine).values())


def test_a_paused_row_stays_disabled_and_a_console_row_of_that_name_is_taken_over(url):
    engine = open_database(url)
    with session(engine) as s, s.begin():
        s.add(Source(name="feed-1", url="http://old.example/f.xml", managed_by="console",
                     paused_by="ada", enabled=False))
    sync_config(engine, _config(url, [_feed(1), _feed(2)]))
    row = _rows(engine)["feed-1"]
    assert (row.url, row.managed_by, row.enabled, row.paused_by) == \
        ("http://h1.example/f.xml", "config", False, "ada")


def test_sync_statements_do_not_grow_with_the_sources(url):
    engine = open_database(url)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    many = _config(url, [_feed(i) for i in range(3000)])
    sync_config(engine, many)
    first = len(sent)
    sent.clear()
    sync_config(engine, many)  # a restart: nothing to write
    assert first <= 25 and len(sent) <= 20, (first, len(sent))
    assert not [q for q in sent if q.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert len(_rows(engine)) == 3000
