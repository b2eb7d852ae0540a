"""History search folds Traditional to Simplified Chinese as brand matching does
(issue 18): 發燙 finds the posts that say 发烫 and the reverse, through the plain
scan and through each text index (trigram, bigram), on SQLite and PostgreSQL;
the console, the CLI and the API all search through monitor/history/search.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from db.engine import open_database, session
from db.models import Brand, Post
from monitor.history import search as history
from monitor.history.search import HistoryFilter, history_query, indexable, run, search
from monitor.text.normalize import normalize, script_variants
from tests.web_support import T0, add_post

TITLES = ("Acme 充电器发烫了", "Acme 充電器發燙了", "Acme 头发很干", "Acme 頭髮很乾",
          "Acme refund please", "Acme 退款", "Acme 退款 again")
# query -> the titles it must find, whichever script each was written in
FOUND = {
    "发烫": {TITLES[0], TITLES[1]}, "發燙": {TITLES[0], TITLES[1]},  # bigram index
    "充电器发烫": {TITLES[0], TITLES[1]}, "充電器發燙": {TITLES[0], TITLES[1]},  # trigram
    "頭髮": {TITLES[2], TITLES[3]}, "头发很干": {TITLES[2], TITLES[3]},
    "發": {TITLES[0], TITLES[1], TITLES[2], TITLES[3]},  # one character: the scan
    "REFUND": {TITLES[4]}, "退款": {TITLES[5], TITLES[6]},
}


def _fill(engine) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["acme"]))
    for i, title in enumerate(TITLES):
        add_post(engine, title=title, text=f"body {i}", at=T0 - timedelta(minutes=i))


def _titles(engine, q: str, dialect: str, **options) -> set[str]:  # noqa: ANN001
    found = run(engine, history_query(HistoryFilter(q=q), limit=100, dialect=dialect,
                                      **options))
    return {p.title for _m, p, *_ in found}


def test_spellings_fold_as_brand_matching_does() -> None:
    for q in ("发烫", "發燙", "頭髮很乾"):
        variants = script_variants(q)
        assert q in variants and variants[0] == normalize(q)
        assert {normalize(v) for v in variants} == {normalize(q)}
    assert set(script_variants("发烫")) >= {"发烫", "發燙", "髮燙"}  # 发 is 發 or 髮
    assert script_variants("refund") == ["refund"]
    long = "头发发烫了吗我们的产品质量问题"  # 2^8 mixes: only the usual forms
    assert script_variants(long) == [long, "頭髮發燙了嗎我們的產品質量問題"]


def _check(engine, dialect: str) -> None:  # noqa: ANN001
    for q, expected in FOUND.items():
        assert {r["title"] for r in search(engine, HistoryFilter(q=q), limit=100).rows} \
            == expected, q
        assert _titles(engine, q, dialect) == expected, q
        if indexable(q, dialect):  # the index's candidates hold every spelling
            assert _titles(engine, q, dialect, indexed_text=True) == expected, q


def test_sqlite_search_folds_traditional_and_simplified(tmp_path) -> None:  # noqa: ANN001
    engine = open_database(f"sqlite:///{tmp_path / 's.db'}")
    _fill(engine)
    assert indexable("發燙", "sqlite") and indexable("充電器發燙", "sqlite")
    _check(engine, "sqlite")
    with session(engine) as s:
        ids = s.exec(history.text_candidates("發燙", "sqlite")).all()
        titles = {p.title for p in s.exec(select(Post).where(Post.id.in_(ids)))}
    assert {TITLES[0], TITLES[1]} <= titles


@pytest.mark.postgres
def test_postgres_search_folds_traditional_and_simplified(pg_url: str) -> None:
    engine = open_database(pg_url)
    _fill(engine)
    assert indexable("發燙", "postgresql")
    _check(engine, "postgresql")
    query = select(Post.id).where(history._text_clause("充電器發燙", "postgresql"))
    with engine.connect() as conn:  # every spelling still goes through pg_trgm
        conn.exec_driver_sql("SET enable_seqscan = off")
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "ix_post_trgm_capped" in plan and "Seq Scan" not in plan, plan
