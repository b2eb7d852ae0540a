"""PostgreSQL: one trigram index over the first 2,000 characters (as SQLite's since 0022)
and a faster bigram function

0006's two pg_trgm GIN indexes read the whole title and the whole text: a
20,000-character Chinese post put about 20,000 trigrams into them, 56 ms more to
store than a 200-character one (bench/ingest.py; issue 20 asks under 10). They are
replaced by one index over ``cw_capped(title || chr(1) || text)``: the first ``CAP``
characters, followed by chr(1) and the token ``LONG`` when the post is longer (the
scheme of SQLite's table since 0022). The planner uses it only for a condition on
that same expression, so a PostgreSQL search says it (monitor/history/search.py):
a post not marked long matches when the word is in that expression (chr(1), which
no query holds, keeps a match within title or within text), a post marked long
when the ILIKE over its whole columns does. A word beyond the indexed start is
still found, by reading only the long posts.

The bigram index (0011) cost about as much again for a long post: its function
took the pairs of the first 2,000 characters through a window, a regular
expression and a sort per pair, after lower-casing the whole text. ``cw_bigrams``
now zips each character with the next (plpgsql, same pairs; GIN drops duplicates)
and lower-cases only the first 2,000: the index is over
``cw_bigrams(title || ' ' || text)`` (db.textindex.BIGRAM_EXPRESSION).

``cw_capped`` is created even where pg_trgm is missing (0006 then made no index):
the search's condition names it.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 19:00:00
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

CAP = 2000  # characters indexed; db.textindex.INDEXED_CHARS
LONG = "cwlongpost"  # db.textindex.LONG_TOKEN
INDEX = "ix_post_trgm_capped"  # db.textindex.TRIGRAM_INDEX

FUNCTION = (  # chr(1): db.textindex.SEPARATOR
    "CREATE OR REPLACE FUNCTION cw_capped(t text) RETURNS text LANGUAGE sql IMMUTABLE "
    f"PARALLEL SAFE STRICT AS $$ SELECT left(t, {CAP}) || CASE WHEN length(t) > {CAP} "
    f"THEN chr(1) || '{LONG}' ELSE '' END $$")
CREATE_INDEX = (f"CREATE INDEX IF NOT EXISTS {INDEX} ON post USING gin "
                "(cw_capped(title || chr(1) || text) gin_trgm_ops)")
# 0011's pairs (duplicates left to GIN, which drops them), each character zipped with
# the next, lower-cased after the cut: 19-22 ms for 0011's function on 2,000 Chinese
# characters, 2-7 ms for this one (median of 21 calls, machine loaded)
BIGRAMS = (
    "CREATE OR REPLACE FUNCTION cw_bigrams(t text) RETURNS text[] LANGUAGE plpgsql "
    "IMMUTABLE PARALLEL SAFE STRICT AS $$ DECLARE c text[] := "
    f"string_to_array(lower(left(t, {CAP})), NULL); BEGIN RETURN coalesce((SELECT "
    f"array_agg(a || b) FROM unnest(c[1:{CAP - 1}], c[2:{CAP}]) AS u(a, b) WHERE "
    f"ascii(a) > 127 AND ascii(b) > 127), '{{}}') || CASE WHEN length(t) > {CAP} THEN "
    f"ARRAY['{LONG}'] ELSE '{{}}'::text[] END; END $$")
BIGRAM_INDEX = ("CREATE INDEX IF NOT EXISTS ix_post_bigrams ON post USING gin "
                "(cw_bigrams(title || ' ' || text))")  # db.textindex.BIGRAM_EXPRESSION


def _migration(name: str):  # noqa: ANN202 - an earlier migration's module, whose definitions come back
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"cw_migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _v0006():  # noqa: ANN202
    return _migration("0006_post_text_index.py")


def _bigrams(function: str, index: str) -> None:
    """Redefine cw_bigrams and build the index over it again (as 0011 did)."""
    op.execute("DROP INDEX IF EXISTS ix_post_bigrams")
    op.execute(function)
    op.execute(index)


def _has_trgm() -> bool:
    return op.get_bind().exec_driver_sql(
        "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first() is not None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in _v0006().PG_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute(FUNCTION)
    if _has_trgm():
        op.execute(CREATE_INDEX)
    _bigrams(BIGRAMS, BIGRAM_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    op.execute("DROP FUNCTION IF EXISTS cw_capped(text)")
    _v0006()._postgres_up()  # the whole-column indexes again
    old = _migration("0011_bigram_index_capped.py")
    _bigrams(old.PG_FUNCTION, old.PG_INDEX)
