"""monitor/history/search.py's plan choice on SQLite: a filter that matches few mentions is
read from the mentions and sorted, a common one by walking posts newest first; both
plans must return the same rows in the same order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from db.engine import open_database, session
from db.models import Brand
from monitor.history import search as history
from monitor.history.search import HistoryFilter, history_query, is_selective, run
from tests.web_support import T0, add_post


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setattr(history, "SELECTIVE", 10)
    engine = open_database(f"sqlite:///{tmp_path / 's.db'}")
    with session(engine) as s, s.begin():
        s.add_all([Brand(name="Acme", keywords=["acme"]), Brand(name="Delta", keywords=["d"])])
    for i in range(40):
        add_post(engine, title=f"Acme complaint {i}", at=T0 - timedelta(minutes=i),
                 language="zh" if i % 2 else "en", severity="crisis" if i % 5 == 0 else "notice")
    for i in range(4):
        add_post(engine, title=f"Delta complaint {i}", brand="Delta",
                 at=T0 - timedelta(minutes=3 * i + 1))
    return engine


def test_few_matches_are_detected(engine) -> None:  # noqa: ANN001
    assert is_selective(engine, HistoryFilter(brand="Delta"))
    assert not is_selective(engine, HistoryFilter(brand="Acme"))
    assert is_selective(engine, HistoryFilter(brand="Acme", severity="crisis"))  # 8 of 40
    assert not is_selective(engine, HistoryFilter())  # no mention filter: always walk posts
    assert not is_selective(engine, HistoryFilter(brand="Delta", q="complaint"))
    # a date range or a source bounds the newest-first walk: no need to count
    assert not is_selective(engine, HistoryFilter(brand="Delta", since=T0 - timedelta(days=1)))
    assert not is_selective(engine, HistoryFilter(brand="Delta", source="forum"))


@pytest.mark.parametrize("f", [HistoryFilter(brand="Delta"),
                               HistoryFilter(brand="Acme", severity="crisis"),
                               HistoryFilter(brand="Acme", language="zh")])
def test_both_plans_return_the_same_page(engine, f: HistoryFilter) -> None:  # noqa: ANN001
    pages = [[(m.id, p.fetched_at) for m, p, *_ in run(engine, history_query(
        f, limit=5, dialect="sqlite", few=few))] for few in (True, False)]
    assert pages[0] == pages[1] and pages[0]
    assert [t for _, t in pages[0]] == sorted((t for _, t in pages[0]), reverse=True)
    page = history.search(engine, f, limit=3)
    assert [r["id"] for r in page.rows] == [i for i, _ in pages[0][:3]]
