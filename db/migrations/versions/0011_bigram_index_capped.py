"""bigram index in linear time over the first 2,000 characters

0007 took the pairs with ``substr(text, i, 2)`` for every i: on UTF-8 text both
databases find character i by walking from the start, so a post cost time
quadratic in its length (8,000 Chinese characters: 354 ms on SQLite, 1.5 s on
PostgreSQL, with the write lock held). Now only the first ``CAP`` characters of
title + " " + text are indexed (scoring reads 2,000 too), in linear time: SQLite
cuts them into 65-character pieces, each piece carrying on from where the last
ended, and takes the pairs within each; PostgreSQL splits the text into an array
of characters once and pairs each with the next. A longer post also gets the
token ``LONG`` (no pair of non-ASCII characters can be it), and a search asks for
the word OR ``LONG``, so a word beyond the indexed start is still found by the
LIKE that decides (db/textindex.py, monitor/history/search.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 12:00:00
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

CAP = 2000  # characters indexed; db.textindex.INDEXED_CHARS
LONG = "cwlongpost"  # db.textindex.LONG_TOKEN
PIECE = 64  # pairs per piece: short pieces keep each substr() cheap

_JOINED = "p.title || ' ' || p.text"
_PAIRS = (
    f"WITH RECURSIVE c(rest) AS (SELECT substr({_JOINED}, 1, {CAP}) UNION ALL "
    f"SELECT substr(rest, {PIECE + 1}) FROM c WHERE length(rest) > {PIECE + 1}), "
    f"n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {PIECE}), "
    f"g(pair) AS (SELECT substr(substr(rest, 1, {PIECE + 1}), i, 2) FROM c, n) "
    f"SELECT group_concat(pair, ' ') FROM g "
    f"WHERE length(pair) = 2 AND pair NOT GLOB '*[ -~]*'")
_LONG = f"CASE WHEN length({_JOINED}) > {CAP} THEN ' {LONG}' ELSE '' END"
_TAKE_OUT = ("INSERT INTO post_bigram(post_bigram, rowid, grams) "
             "SELECT 'delete', id, grams FROM post_bigram_src WHERE id = old.id;")
_PUT_IN = ("INSERT INTO post_bigram(rowid, grams) "
           "SELECT id, grams FROM post_bigram_src WHERE id = new.id;")
SQLITE_UP = [
    f"CREATE VIEW post_bigram_src(id, grams) AS SELECT p.id, "
    f"coalesce(({_PAIRS}), '') || {_LONG} FROM post AS p",
    "CREATE VIRTUAL TABLE post_bigram USING fts5(grams, content='post_bigram_src', "
    "content_rowid='id', tokenize='unicode61', detail='none')",
    f"CREATE TRIGGER post_bigram_insert AFTER INSERT ON post BEGIN {_PUT_IN} END",
    f"CREATE TRIGGER post_bigram_delete BEFORE DELETE ON post BEGIN {_TAKE_OUT} END",
    f"CREATE TRIGGER post_bigram_edit_old BEFORE UPDATE OF title, text ON post BEGIN "
    f"{_TAKE_OUT} END",
    f"CREATE TRIGGER post_bigram_edit_new AFTER UPDATE OF title, text ON post BEGIN "
    f"{_PUT_IN} END",
    "INSERT INTO post_bigram(post_bigram) VALUES ('rebuild')",
]
PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION cw_bigrams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE STRICT AS $$ SELECT coalesce(array_agg(DISTINCT g), '{}') || "
    f"CASE WHEN length(t) > {CAP} THEN ARRAY['{LONG}'] ELSE '{{}}'::text[] END FROM "
    "(SELECT c || lead(c) OVER (ORDER BY i) AS g FROM "
    f"unnest(string_to_array(left(t, {CAP}), NULL)) WITH ORDINALITY AS u(c, i)) AS s "
    "WHERE g !~ '[\\x01-\\x7f]' $$")
PG_INDEX = ("CREATE INDEX IF NOT EXISTS ix_post_bigrams ON post USING gin "
            "(cw_bigrams(lower(title || ' ' || text)))")


def _v0007():  # noqa: ANN202 - the module of migration 0007, whose definitions come back
    path = Path(__file__).with_name("0007_post_bigram_index.py")
    spec = importlib.util.spec_from_file_location("cw_migration_0007", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _redefine(sqlite: list[str], pg_function: str) -> None:
    dialect = op.get_bind().dialect.name
    old = _v0007()
    if dialect == "sqlite":
        for statement in old.SQLITE_DOWN + sqlite:
            op.execute(statement)
    elif dialect == "postgresql":  # the index holds the old function's values: rebuild it
        op.execute("DROP INDEX IF EXISTS ix_post_bigrams")
        op.execute(pg_function)
        op.execute(PG_INDEX)


def upgrade() -> None:
    _redefine(SQLITE_UP, PG_FUNCTION)


def downgrade() -> None:
    old = _v0007()
    _redefine(old.SQLITE_UP, old.PG_UP[0])
