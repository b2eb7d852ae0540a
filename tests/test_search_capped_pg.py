"""PostgreSQL's trigram index over a post's first 2,000 characters (migration 0023,
issue 20: a 20,000-character post put every trigram into 0006's whole-column
indexes). A long post is indexed by its start and marked long, so a word only
beyond that start is still found, through the index; a short word's search still
uses it; the downgrade brings 0006's indexes back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlmodel import select

from db.engine import open_database
from db.models import Post
from db.textindex import INDEXED_CHARS, LONG_TOKEN, SEPARATOR, TRIGRAM_INDEX
from monitor.history import search as history
from tests.test_search_index import _alembic, _long_posts

pytestmark = pytest.mark.postgres

OLD_INDEXES = {"ix_post_title_trgm", "ix_post_text_trgm"}


def _index_names(conn) -> set[str]:  # noqa: ANN001
    return {r[0] for r in conn.exec_driver_sql(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'post'")}


def _bigram_definition(conn) -> str:  # noqa: ANN001
    return conn.exec_driver_sql("SELECT indexdef FROM pg_indexes "
                                "WHERE indexname = 'ix_post_bigrams'").scalar()


def _through_index(engine, q: str) -> tuple[list[str], str]:  # noqa: ANN001
    """The titles the search's text clause finds, and its plan, with the planner
    kept off a sequential scan (the table is tiny)."""
    query = select(Post.title).where(history._text_clause(q, "postgresql")).order_by(
        Post.title)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
        titles = list(conn.exec_driver_sql(str(compiled)).scalars())
    return titles, plan


def test_a_word_past_the_cut_is_found_through_the_capped_index(pg_url: str) -> None:
    engine = open_database(pg_url)
    _long_posts(engine)  # 20,000 Chinese characters; "arbitration" only at the end of one
    for q, expected in (("arbitration", ["Acme 长帖 latin"]),  # only past the cut
                        ("长帖 l", ["Acme 长帖 late", "Acme 长帖 latin"]),  # in the start
                        ("ACME SHORT", ["Acme short"]), ("zzz-nothing", []),
                        ("short 起诉", []),  # not across title and text
                        (LONG_TOKEN, [])):  # nor the long posts' mark
        titles, plan = _through_index(engine, q)
        assert titles == expected, q
        assert TRIGRAM_INDEX in plan and "Seq Scan" not in plan, plan
    with engine.connect() as conn:
        definition = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s", (TRIGRAM_INDEX,)).scalar()
        indexed = conn.exec_driver_sql("SELECT max(length(cw_capped(title || chr(1) || text))) "
                                       "FROM post").scalar()
        assert not OLD_INDEXES & _index_names(conn)  # nothing reads the whole text any more
    assert "cw_capped" in definition and "gin_trgm_ops" in definition, definition
    with engine.connect() as conn:  # lower() inside, after the cut: not of the whole text
        assert "lower(" not in _bigram_definition(conn), _bigram_definition(conn)
    assert indexed == INDEXED_CHARS + len(SEPARATOR + LONG_TOKEN)


def test_migration_0023_downgrades_to_the_whole_column_indexes(pg_url: str) -> None:
    engine = open_database(pg_url)
    _long_posts(engine)
    cfg = _alembic(engine)
    command.downgrade(cfg, "0022")
    cfg.attributes["connection"].commit()
    with engine.connect() as conn:
        assert OLD_INDEXES <= _index_names(conn) and TRIGRAM_INDEX not in _index_names(conn)
        assert conn.exec_driver_sql("SELECT to_regproc('cw_capped')").scalar() is None
        assert "cw_bigrams(lower(" in _bigram_definition(conn)  # 0011's, over lower(...)
        language = conn.exec_driver_sql("SELECT l.lanname FROM pg_proc p JOIN pg_language l "
                                        "ON l.oid = p.prolang WHERE proname = 'cw_bigrams'")
        assert language.scalar() == "sql"
    command.upgrade(cfg, "head")
    cfg.attributes["connection"].commit()
    titles, plan = _through_index(engine, "arbitration")
    assert (titles, TRIGRAM_INDEX in plan) == (["Acme 长帖 latin"], True), plan
    cfg.attributes["connection"].close()
