"""The text indexes behind history search (migrations 0006 and 0007,
monitor/history/search.py): a rare word is read through the trigram index (3+ characters)
or the bigram index (two-character words such as 仲裁), a common one by the
newest-first walk, and either way the rows are exactly those of a plain LIKE scan,
whatever the query holds (FTS5 syntax, quotes, ``%`` and ``_``, Chinese, full-width
letters, punctuation). The indexes follow inserts, edits and deletes, and the
migrations fill them for posts already stored."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlmodel import select

from db.engine import MIGRATIONS, make_engine, open_database, session
from db.models import Brand, Mention, Post
from monitor.history import search as history
from monitor.history.search import (
    HistoryFilter,
    history_query,
    indexable,
    run,
    search,
    text_matches_few,
)
from tests.web_support import T0, add_post

TITLES = (
    [f"Acme complaint {i}" for i in range(30)]
    + ["Acme ARBITRATION notice", "acme arbitration again", "Acme 100%_fine", "Acme 100% fine",
       'Acme said "refund" twice', "Acme a OR b", "Acme NEAR(x y)", "Acme star* power",
       "艾克美退款退不了", "艾克美客服", "Ünïcode Acme", "Acme tab\tsplit", "起诉",
       "Acme 我要起诉", "仲裁，起诉了", "ＡＢ全角 Acme", "Éclair ÉÉ Acme"]
)
QUERIES = ["complaint", "OMPLAIN", "complaint 2", "arbitration", "100%_", "0%_f", '"refund"',
           'd "re', "a OR b", "OR", "NEAR(x", "star*", "r*", "退款退", "退款", "客服", "ünï",
           "zzz-nothing", "ab", "%", "_", "tab\ts", "起诉", "仲裁", "诉了", "，起", "ＡＢ",
           "ａｂ", "ÉÉ", "éé", "起", "美客"]


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setattr(history, "FTS_SELECTIVE", 10)
    engine = open_database(f"sqlite:///{tmp_path / 's.db'}")
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["acme"]))
    for i, title in enumerate(TITLES):
        add_post(engine, title=title, text=f"body {i}", at=T0 - timedelta(minutes=i))
    return engine


def _expected(q: str) -> list[str]:
    """A LIKE's answer, newest first: ASCII case folded, substring of title or text."""
    fold = q.encode().lower()
    return [t for i, t in enumerate(TITLES)
            if fold in t.encode().lower() or fold in f"body {i}".encode()]


def _titles(engine, f: HistoryFilter, dialect: str = "sqlite", **options) -> list[str]:  # noqa: ANN001
    return [p.title for _m, p, *_ in run(engine, history_query(f, limit=100, dialect=dialect,
                                                               **options))]


@pytest.mark.parametrize("q", QUERIES)
def test_indexed_and_scanned_plans_match_a_plain_like(engine, q: str) -> None:  # noqa: ANN001
    f = HistoryFilter(q=q)
    scanned = _titles(engine, f)
    assert scanned == _expected(q)
    if indexable(q, "sqlite"):
        assert _titles(engine, f, indexed_text=True) == scanned
    assert [r["title"] for r in search(engine, f, limit=100).rows] == scanned


def test_rare_words_use_the_index_and_common_ones_walk(engine) -> None:  # noqa: ANN001
    assert text_matches_few(engine, HistoryFilter(q="arbitration"))
    assert text_matches_few(engine, HistoryFilter(q="zzz-nothing"))
    assert not text_matches_few(engine, HistoryFilter(q="complaint"))  # 30 > 10 candidates
    assert text_matches_few(engine, HistoryFilter(q="退款"))  # the bigram index
    assert not text_matches_few(engine, HistoryFilter(q="起"))  # one character: no index
    assert not text_matches_few(engine, HistoryFilter(q="，起"))  # punctuation: not indexed
    assert not text_matches_few(engine, HistoryFilter(brand="Acme"))
    sql = str(history_query(HistoryFilter(q="arbitration"), dialect="sqlite",
                            indexed_text=True).compile()).lower()
    assert "post_fts match" in sql and "like" in sql
    sql = str(history_query(HistoryFilter(q="起诉"), dialect="sqlite",
                            indexed_text=True).compile()).lower()
    assert "post_bigram match" in sql and "like" in sql


def test_a_rare_word_starts_from_its_candidates_not_the_flagged_mentions(engine) -> None:  # noqa: ANN001
    """Started from ix_mention_flagged_*, SQLite probed every flagged mention against
    the candidates: 360 ms at a million posts instead of 14 (bench/console.py)."""
    query = history_query(HistoryFilter(q="arbitration", language="en", sentiment_max=0.9),
                          dialect="sqlite", indexed_text=True)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        plan = [r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]
    assert plan[0].startswith("SEARCH post USING INTEGER PRIMARY KEY"), plan
    assert any("post_fts" in step for step in plan), plan
    assert any("mention USING INDEX ix_mention_post_id" in step for step in plan), plan


def test_the_index_follows_edits_and_deletes(engine) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        post = s.exec(select(Post).where(Post.title == "Acme ARBITRATION notice")).one()
        post.title = "Acme mediation notice"
        s.add(post)
        gone = s.exec(select(Post).where(Post.title == "acme arbitration again")).one()
        s.exec(text("DELETE FROM mention WHERE post_id = :p").bindparams(p=gone.id))
        s.delete(gone)
        sued = s.exec(select(Post).where(Post.title == "Acme 我要起诉")).one()
        sued.title, sued.text = "Acme 我要投诉", "仲裁"
        s.add(sued)
        dropped = s.exec(select(Post).where(Post.title == "起诉")).one()
        s.exec(text("DELETE FROM mention WHERE post_id = :p").bindparams(p=dropped.id))
        s.delete(dropped)
    assert _titles(engine, HistoryFilter(q="arbitration"), indexed_text=True) == []
    assert _titles(engine, HistoryFilter(q="mediation"), indexed_text=True) == [
        "Acme mediation notice"]
    assert _titles(engine, HistoryFilter(q="起诉"), indexed_text=True) == ["仲裁，起诉了"]
    assert _titles(engine, HistoryFilter(q="投诉"), indexed_text=True) == ["Acme 我要投诉"]
    assert _titles(engine, HistoryFilter(q="仲裁"), indexed_text=True) == [
        "Acme 我要投诉", "仲裁，起诉了"]
    with engine.connect() as conn:  # FTS5's own consistency check of the external content
        conn.exec_driver_sql("INSERT INTO post_fts(post_fts) VALUES ('integrity-check')")
        conn.exec_driver_sql("INSERT INTO post_bigram(post_bigram) VALUES ('integrity-check')")


def _alembic(engine) -> Config:  # noqa: ANN001
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = engine.connect()
    return cfg


def test_migration_indexes_posts_already_stored_and_downgrades(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = _alembic(engine)
    command.upgrade(cfg, "0005")
    cfg.attributes["connection"].commit()
    with engine.begin() as conn:  # the 0005 schema: the ORM's Brand has later columns
        conn.exec_driver_sql("INSERT INTO brand (name, keywords, exclude, enabled, managed_by) "
                             "VALUES ('Acme', '[\"acme\"]', '[]', 1, 'console')")
    add_post(engine, title="Acme arbitration threat 仲裁", at=T0)
    command.upgrade(cfg, "head")
    cfg.attributes["connection"].commit()
    for q in ("arbitration", "仲裁"):
        assert _titles(engine, HistoryFilter(q=q), indexed_text=True) == [
            "Acme arbitration threat 仲裁"]
    command.downgrade(cfg, "0005")
    cfg.attributes["connection"].commit()
    with engine.connect() as conn:
        left = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE name LIKE "
                                    "'post_fts%' OR name LIKE 'post_bigram%'").all()
    assert left == []
    add_post(engine, title="Acme arbitration again", at=T0 + timedelta(minutes=1))
    command.upgrade(cfg, "head")  # the rebuild picks up what came while it was gone
    cfg.attributes["connection"].commit()
    assert len(_titles(engine, HistoryFilter(q="arbitration"), indexed_text=True)) == 2
    with session(engine) as s:
        assert len(s.exec(select(Mention)).all()) == 2
    cfg.attributes["connection"].close()


@pytest.mark.postgres
def test_postgres_search_uses_the_trigram_indexes(pg_url: str) -> None:
    engine = open_database(pg_url)
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["acme"]))
    for i, title in enumerate(TITLES):
        add_post(engine, title=title, text=f"body {i}", at=T0 - timedelta(minutes=i))
    for q in ("arbitration", "100%_", "a OR b", '"refund"', "退款退", "zzz-nothing", "起诉",
              "仲裁", "ＡＢ", "ÉÉ", "，起"):
        rows = search(engine, HistoryFilter(q=q), limit=100).rows
        assert [r["title"] for r in rows] == _expected(q), q
        if indexable(q, "postgresql"):  # the bigram index's own plan, same rows
            assert _titles(engine, HistoryFilter(q=q), indexed_text=True,
                           dialect="postgresql") == _expected(q), q
    assert text_matches_few(engine, HistoryFilter(q="起诉"))
    assert not text_matches_few(engine, HistoryFilter(q="arbitration"))  # pg_trgm: the planner
    query = select(Post.id).where(history._text_clause("arbitration", "postgresql"))
    with engine.connect() as conn:
        names = {r[0] for r in conn.exec_driver_sql(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'post'")}
        assert "ix_post_trgm_capped" in names  # migration 0023: 0006's two are replaced
        conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: would be scanned
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "ix_post_trgm_capped" in plan, plan
    bigram = history.text_candidates("起诉", "postgresql")
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        compiled = bigram.compile(engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "ix_post_bigrams" in plan, plan


# --- a long post (issue 17 item 8): the bigram index reads its start, in linear time ---

LONG_CHARS = 20_000


def _zh(n: int, seed: int = 0) -> str:
    """n Chinese characters with few repeated pairs, none of them 仲裁 or 起诉."""
    text = "".join(chr(0x4E00 + ((i + seed) * 7919) % 20000) for i in range(n))
    return text.replace("仲", "一").replace("起", "一")


def _long_posts(engine) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["acme"]))
    add_post(engine, title="Acme 长帖 early", text="仲裁" + _zh(LONG_CHARS), at=T0)
    add_post(engine, title="Acme 长帖 late", text=_zh(LONG_CHARS) + "起诉",
             at=T0 - timedelta(minutes=1))
    add_post(engine, title="Acme short", text="起诉了", at=T0 - timedelta(minutes=2))
    add_post(engine, title="Acme 长帖 latin", text=_zh(LONG_CHARS) + " arbitration",
             at=T0 - timedelta(minutes=3))


def _long_post_searches(engine, dialect: str) -> None:  # noqa: ANN001
    """Both plans give the LIKE's rows: a word within the indexed start, and a word
    only beyond it (the index marks the post long, so it stays a candidate)."""
    for q, expected in (("仲裁", ["Acme 长帖 early"]), ("起诉", ["Acme 长帖 late", "Acme short"]),
                        ("arbitration", ["Acme 长帖 latin"]), ("长帖 l", ["Acme 长帖 late",
                                                                         "Acme 长帖 latin"])):
        f = HistoryFilter(q=q)
        assert _titles(engine, f, dialect=dialect) == expected, q
        if indexable(q, dialect):
            assert _titles(engine, f, dialect=dialect, indexed_text=True) == expected, q
        assert [r["title"] for r in search(engine, f, limit=100).rows] == expected, q


def _bigram_chars(engine, text_: str) -> int:  # noqa: ANN001
    """Length of the bigram string one post's index entry is built from, as the insert
    trigger (SQLite) or the index expression (PostgreSQL) computes it."""
    sql = ("SELECT cardinality(cw_bigrams(:t))" if engine.dialect.name == "postgresql" else
           "SELECT length(grams) FROM post_bigram_src WHERE id = "
           "(SELECT id FROM post WHERE text = :t)")
    with engine.connect() as conn:
        return conn.execute(text(sql).bindparams(t=text_)).scalar()


def _assert_linear_and_capped(engine) -> None:  # noqa: ANN001
    """The index reads the first 2,000 characters of a long post, so its cost cannot
    grow with the post (the time itself is measured by ``python -m bench.ingest``)."""
    long_text, cut_text = _zh(LONG_CHARS, seed=1), _zh(2000, seed=1)
    if engine.dialect.name == "sqlite":
        add_post(engine, title="t", text=long_text)
        add_post(engine, title="t", text=cut_text)
    assert _bigram_chars(engine, long_text) <= _bigram_chars(engine, cut_text) + 40


def test_a_long_post_is_indexed_by_its_start_and_still_found(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'long.db'}")
    _long_posts(engine)
    _long_post_searches(engine, "sqlite")
    _assert_linear_and_capped(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("INSERT INTO post_bigram(post_bigram) VALUES ('integrity-check')")
        conn.exec_driver_sql("INSERT INTO post_fts(post_fts) VALUES ('integrity-check')")
        indexed = conn.exec_driver_sql(
            "SELECT length(text) FROM post_fts_src ORDER BY length(text) DESC").scalar()
    assert indexed == 2000 + len(" cwlongpost")  # the trigram table's text is capped too


def test_migration_0022_downgrades_to_the_whole_text_trigram_index(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'm22.db'}")
    _long_posts(engine)
    cfg = _alembic(engine)
    command.downgrade(cfg, "0021")
    cfg.attributes["connection"].commit()
    with engine.connect() as conn:
        conn.exec_driver_sql("INSERT INTO post_fts(post_fts) VALUES ('integrity-check')")
        found = conn.exec_driver_sql("SELECT count(*) FROM post_fts WHERE post_fts MATCH "
                                     "'\"arbitration\"'").scalar()
        views = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master "
                                     "WHERE name = 'post_fts_src'").scalar()
    assert (found, views) == (1, 0)  # 0006's index reads the whole text again
    cfg.attributes["connection"].close()


@pytest.mark.postgres
def test_postgres_a_long_post_is_indexed_by_its_start_and_still_found(pg_url: str) -> None:
    engine = open_database(pg_url)
    _long_posts(engine)
    _long_post_searches(engine, "postgresql")
    _assert_linear_and_capped(engine)


def test_migration_0011_downgrades_to_the_0007_index(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = _alembic(engine)
    view = "SELECT sql FROM sqlite_master WHERE name = 'post_bigram_src'"
    with engine.connect() as conn:
        assert "cwlongpost" in conn.exec_driver_sql(view).scalar()
    command.downgrade(cfg, "0010")
    cfg.attributes["connection"].commit()
    with engine.connect() as conn:
        assert "cwlongpost" not in conn.exec_driver_sql(view).scalar()
    with engine.begin() as conn:  # the 0010 schema: the ORM's Brand has later columns
        conn.exec_driver_sql("INSERT INTO brand (name, keywords, exclude, names, enabled, "
                             "managed_by) VALUES ('Acme', '[\"acme\"]', '[]', '{}', 1, 'config')")
    add_post(engine, title="仲裁 again", at=T0)
    with engine.connect() as conn:  # 0007's index, read in SQL (later columns are gone)
        post_id = conn.exec_driver_sql("SELECT id FROM post").scalar_one()
        found = conn.exec_driver_sql(
            "SELECT rowid FROM post_bigram WHERE post_bigram MATCH '\"仲裁\"'").scalars().all()
    assert found == [post_id]
    cfg.attributes["connection"].close()
