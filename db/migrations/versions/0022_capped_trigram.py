"""trigram index over the first 2,000 characters, as the bigram index since 0011

SQLite's trigram FTS5 table (0006) indexed every character of a post: linear, but
a 20,000-character Chinese post cost about 30 ms on the write lock, one hostile
post a stall for every source. Now its external content is a view holding only
the first ``CAP`` characters of title and of text, the text followed by the token
``LONG`` when either was longer, and a search asks for the word OR that token
(monitor/history/search.py), so a word beyond the indexed start is still found
by the LIKE that decides. The triggers index the same capped values themselves.

PostgreSQL keeps its pg_trgm indexes (0006): they do not read Chinese characters
(the server's locale does not count them as word characters), and its planner
uses them for ILIKE only over the whole column.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 16:30:00
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

CAP = 2000  # characters of title and of text indexed; db.textindex.INDEXED_CHARS
LONG = "cwlongpost"  # db.textindex.LONG_TOKEN


def _title(row: str) -> str:
    return f"substr({row}.title, 1, {CAP})"


def _text(row: str) -> str:
    return (f"substr({row}.text, 1, {CAP}) || CASE WHEN length({row}.title) > {CAP} "
            f"OR length({row}.text) > {CAP} THEN ' {LONG}' ELSE '' END")


def _put_in(row: str) -> str:
    return (f"INSERT INTO post_fts(rowid, title, text) "
            f"VALUES ({row}.id, {_title(row)}, {_text(row)});")


def _take_out(row: str) -> str:
    return (f"INSERT INTO post_fts(post_fts, rowid, title, text) "
            f"VALUES ('delete', {row}.id, {_title(row)}, {_text(row)});")


SQLITE_UP = [
    f"CREATE VIEW post_fts_src(id, title, text) AS SELECT p.id, {_title('p')}, {_text('p')} "
    "FROM post AS p",
    "CREATE VIRTUAL TABLE post_fts USING fts5(title, text, content='post_fts_src', "
    "content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER post_fts_insert AFTER INSERT ON post BEGIN {_put_in('new')} END",
    f"CREATE TRIGGER post_fts_delete AFTER DELETE ON post BEGIN {_take_out('old')} END",
    f"CREATE TRIGGER post_fts_update AFTER UPDATE OF title, text ON post BEGIN "
    f"{_take_out('old')} {_put_in('new')} END",
    "INSERT INTO post_fts(post_fts) VALUES ('rebuild')",
]


def _v0006():  # noqa: ANN202 - the module of migration 0006, whose definitions come back
    path = Path(__file__).with_name("0006_post_text_index.py")
    spec = importlib.util.spec_from_file_location("cw_migration_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in _v0006().SQLITE_DOWN + SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in _v0006().SQLITE_DOWN + ["DROP VIEW IF EXISTS post_fts_src"]:
        op.execute(statement)
    for statement in _v0006().SQLITE_UP:
        op.execute(statement)
