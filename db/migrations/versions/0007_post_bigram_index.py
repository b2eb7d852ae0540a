"""history search: a bigram index for two-character words

Most Chinese words are two characters (退款, 仲裁, 起诉), too short for the trigram
index of 0006, so a rare one read every post (850 ms at a million posts). This
indexes each pair of adjacent non-ASCII characters of title + " " + text.
SQLite: an FTS5 table (unicode61 tokens, no positions) whose external content is
a view that computes the pairs, kept in step by triggers (the old pairs are taken
out BEFORE a delete or an edit, while the view still shows them). PostgreSQL: an
immutable SQL function and a GIN index over it. Neither is in db/models.py
(``db.textindex.outside_models``).

A later migration that rebuilds the post table on SQLite (batch "move and copy")
drops these triggers and must create them again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:00:00
"""
import sys

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LARGE = 100_000  # stored posts above which the build is announced: it takes a while

_JOINED = "p.title || ' ' || p.text"
_PAIRS = (
    f"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g "
    f"WHERE i < length({_JOINED}) - 1) "
    f"SELECT group_concat(substr({_JOINED}, i, 2), ' ') FROM g "
    f"WHERE substr({_JOINED}, i, 2) NOT GLOB '*[ -~]*'")
_TAKE_OUT = ("INSERT INTO post_bigram(post_bigram, rowid, grams) "
             "SELECT 'delete', id, grams FROM post_bigram_src WHERE id = old.id;")
_PUT_IN = ("INSERT INTO post_bigram(rowid, grams) "
           "SELECT id, grams FROM post_bigram_src WHERE id = new.id;")
SQLITE_UP = [
    f"CREATE VIEW post_bigram_src(id, grams) AS SELECT p.id, ({_PAIRS}) FROM post AS p",
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
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS post_bigram_edit_new",
               "DROP TRIGGER IF EXISTS post_bigram_edit_old",
               "DROP TRIGGER IF EXISTS post_bigram_delete",
               "DROP TRIGGER IF EXISTS post_bigram_insert",
               "DROP TABLE IF EXISTS post_bigram", "DROP VIEW IF EXISTS post_bigram_src"]
PG_UP = [
    "CREATE OR REPLACE FUNCTION cw_bigrams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE STRICT AS $$ SELECT coalesce(array_agg(DISTINCT g), '{}') FROM "
    "(SELECT substr(t, i, 2) AS g FROM generate_series(1, length(t) - 1) AS i) AS s "
    "WHERE g !~ '[\\x01-\\x7f]' $$",
    "CREATE INDEX IF NOT EXISTS ix_post_bigrams ON post USING gin "
    "(cw_bigrams(lower(title || ' ' || text)))",
]
PG_DOWN = ["DROP INDEX IF EXISTS ix_post_bigrams", "DROP FUNCTION IF EXISTS cw_bigrams(text)"]


def _announce() -> None:
    """Say why the upgrade pauses (about a minute per million posts, bench/console.py),
    on stderr: every command migrates on opening, and not all of them set up logging."""
    posts = op.get_bind().exec_driver_sql("SELECT count(*) FROM post").scalar() or 0
    if posts > LARGE:
        print(f"database upgrade: indexing {posts:,} stored posts for two-character "
              "search words (about a minute per million posts)", file=sys.stderr, flush=True)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _announce()
    for statement in {"sqlite": SQLITE_UP, "postgresql": PG_UP}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": PG_DOWN}.get(dialect, []):
        op.execute(statement)
