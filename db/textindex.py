"""The trigram index over post title and text (migration 0006), as far as code
outside the migration needs to know it: the FTS5 table's name on SQLite, and
which schema objects are not in ``db.models`` so Alembic's comparison skips them.

On SQLite it is an FTS5 table with the trigram tokenizer (``post_fts``, plus the
shadow tables FTS5 keeps beside it); on PostgreSQL two pg_trgm GIN indexes."""

from __future__ import annotations

FTS_TABLE = "post_fts"
TRIGRAM_INDEXES = frozenset({"ix_post_title_trgm", "ix_post_text_trgm"})
MIN_QUERY = 3  # characters: a trigram index cannot narrow a shorter substring


def outside_models(name: str | None, type_: str, _parent_names: object = None) -> bool:
    """Alembic ``include_name`` hook: False for the index's own objects, which the
    migration creates and the models do not declare."""
    if type_ == "table" and name is not None and (name == FTS_TABLE
                                                  or name.startswith(FTS_TABLE + "_")):
        return False
    return not (type_ == "index" and name in TRIGRAM_INDEXES)
