"""history search: a trigram index over post title and text

SQLite: an FTS5 table (trigram tokenizer) with the post table as its external
content, kept in step by triggers. PostgreSQL: pg_trgm GIN indexes, which ILIKE
'%word%' uses directly. Both find a rare substring without reading every post
(monitor/search.py). Neither is in db/models.py: ``db.schema.outside_models``
tells Alembic's comparison to leave them alone.

A later migration that rebuilds the post table on SQLite (batch "move and copy")
drops these triggers and must create them again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 23:00:00
"""
import logging

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE_UP = [
    "CREATE VIRTUAL TABLE post_fts USING fts5(title, text, content='post', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER post_fts_insert AFTER INSERT ON post BEGIN "
    "INSERT INTO post_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER post_fts_delete AFTER DELETE ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER post_fts_update AFTER UPDATE OF title, text ON post BEGIN "
    "INSERT INTO post_fts(post_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO post_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO post_fts(post_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS post_fts_update", "DROP TRIGGER IF EXISTS post_fts_delete",
               "DROP TRIGGER IF EXISTS post_fts_insert", "DROP TABLE IF EXISTS post_fts"]
PG_INDEXES = {"ix_post_title_trgm": "title", "ix_post_text_trgm": "text"}


def _postgres_up() -> None:
    bind = op.get_bind()
    available = bind.exec_driver_sql(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first()
    if available is None:
        log.warning("pg_trgm is not installed on this PostgreSQL server (Debian: "
                    "postgresql-contrib); history search will read every post for a word")
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in PG_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON post USING gin ({column} gin_trgm_ops)")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        _postgres_up()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        for name in PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
