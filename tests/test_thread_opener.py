"""A forum reply is judged on its own words and the thread title counts for the
opening post only (monitor/stages/score.py). Which post opens a thread is read
from the posts themselves (published, then fetched, then id), not from the
smallest id: with two writers on PostgreSQL a reply can be stored, and take its
id, before the opener. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from db.engine import open_database, session
from db.models import Brand, Mention, Post, Source, Thread
from monitor.config import Config
from monitor.scoring.backends import scorer_for
from monitor.stages.rescore import rescore
from monitor.stages.score import run_monitor, thread_openers

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TITLE = "Acme refused my refund after the phone exploded"
OPENER = "The phone exploded on my desk and support refused a refund. Terrible, furious."
REPLY = "Same here, terrible, I am furious too."  # no brand: the title is not its words


def _post(engine, thread_id: int, key: str, text: str, *, published: datetime | None,  # noqa: ANN001
          fetched: datetime) -> int:
    with session(engine) as s, s.begin():
        source = s.exec(select(Source)).one()
        post = Post(source_id=source.id, thread_id=thread_id, entry_key=key,
                    fingerprint=key, title=TITLE, text=text, published_at=published,
                    fetched_at=fetched)
        s.add(post)
        s.flush()
        return post.id


def _mentioned(engine) -> set[int]:  # noqa: ANN001
    with session(engine) as s:
        return set(s.exec(select(Mention.post_id)).all())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN201
    url = (request.getfixturevalue("pg_url") if request.param == "postgres"
           else f"sqlite:///{tmp_path / 'cw.db'}")
    engine = open_database(url)
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["Acme"]))
        source = Source(name="forum", url="https://forum.example/")
        s.add(source)
        s.flush()
        s.add(Thread(source_id=source.id, key="t1", url="https://forum.example/t/1",
                     title=TITLE))
    yield engine
    engine.dispose()


def _thread(engine) -> int:  # noqa: ANN001
    with session(engine) as s:
        return s.exec(select(Thread.id)).one()


def test_an_opener_stored_after_its_reply_is_still_the_opener(engine) -> None:  # noqa: ANN001
    thread = _thread(engine)
    # the reply's writer committed first: it holds the smaller id
    reply = _post(engine, thread, "post:2", REPLY, published=T0 + timedelta(minutes=5),
                  fetched=T0 + timedelta(minutes=6))
    opener = _post(engine, thread, "post:1", OPENER, published=T0,
                   fetched=T0 + timedelta(minutes=6, seconds=1))
    assert reply < opener
    with session(engine) as s:
        posts = list(s.exec(select(Post)).all())
    assert thread_openers(engine, posts) == {opener}
    run_monitor(engine, scorer_for(Config()), 0.5)
    assert _mentioned(engine) == {opener}  # the title counts for the opener only
    rescore(engine, scorer_for(Config()), 0.5)
    assert _mentioned(engine) == {opener}


def test_without_dates_the_first_fetched_opens_then_the_smallest_id(engine) -> None:  # noqa: ANN001
    thread = _thread(engine)
    reply = _post(engine, thread, "post:2", REPLY, published=None, fetched=T0 + timedelta(1))
    opener = _post(engine, thread, "post:1", OPENER, published=None, fetched=T0)
    with session(engine) as s:
        posts = list(s.exec(select(Post)).all())
    assert thread_openers(engine, posts) == {opener}
    with session(engine) as s, s.begin():  # fetched at the same time: the smaller id
        s.get(Post, opener).fetched_at = T0 + timedelta(1)
    assert thread_openers(engine, posts) == {reply}
