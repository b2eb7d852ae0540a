"""The text indexes behind history search (migrations 0006 and 0007), as far as
code outside the migrations needs to know them: table, index and function names,
which queries each can narrow, and which schema objects are not in ``db.models``
so Alembic's comparison skips them.

- Trigram (0006), for queries of 3+ characters: on SQLite an FTS5 table with the
  trigram tokenizer (``post_fts``); on PostgreSQL two pg_trgm GIN indexes, one
  since 0023 (below).
- Bigram (0007), for two-character words in scripts without spaces (退款, 仲裁,
  起诉: most Chinese words are two characters, too short for a trigram): the
  pairs of adjacent non-ASCII characters of title + text. On SQLite an FTS5 table
  (``post_bigram``) over a view that computes them, kept by triggers; on
  PostgreSQL a GIN index over ``cw_bigrams(...)``, an immutable SQL function.
  Since 0011 only the first ``INDEXED_CHARS`` characters, in linear time (a long
  post cost quadratic time to store); a longer post also holds ``LONG_TOKEN``, so
  a search asks for the pair OR that token and still finds a word further on.
  Since 0023 the function lower-cases only those characters (``BIGRAM_EXPRESSION``).
  Since 0022 SQLite's trigram table too holds only the first ``INDEXED_CHARS`` of
  title and of text, and the token after the text of a longer post. Since 0023
  PostgreSQL's one pg_trgm index is over ``TRIGRAM_EXPRESSION``: the first
  ``INDEXED_CHARS`` of title + ``SEPARATOR`` + text, and the token when longer; its
  planner uses it only for a condition on that expression, so the search says it."""

from __future__ import annotations

import unicodedata

FTS_TABLE = "post_fts"
TRIGRAM_INDEX = "ix_post_trgm_capped"  # PostgreSQL, since 0023
TRIGRAM_INDEXES = frozenset({"ix_post_title_trgm", "ix_post_text_trgm", TRIGRAM_INDEX})
# the indexed expression as a query writes it (cw_capped: migration 0023); title and
# text joined by SEPARATOR, which no search holds, so a match is within one of them
TRIGRAM_EXPRESSION = "cw_capped(post.title || chr(1) || post.text)"
SEPARATOR = "\x01"  # also before LONG_TOKEN in it
MIN_QUERY = 3  # characters: a trigram index cannot narrow a shorter substring

BIGRAM_TABLE = "post_bigram"
BIGRAM_INDEX = "ix_post_bigrams"  # PostgreSQL
# the indexed expression as a query writes it: PostgreSQL uses the index only for it
BIGRAM_EXPRESSION = "cw_bigrams(post.title || ' ' || post.text)"  # lower() inside (0023)
INDEXED_CHARS = 2000  # of title and text joined (0011; 0023, trigram); of each (0022, trigram)
LONG_TOKEN = "cwlongpost"  # in both indexes of a longer post: never a pair of non-ASCII
_WORD_CHARS = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"})  # FTS5 unicode61 token chars


def bigram_query(q: str) -> bool:
    """Can the bigram index narrow a search for ``q``? Only two non-ASCII letters or
    digits: the index holds no pair with an ASCII character, and SQLite's
    tokenizer would split a pair at punctuation, so anything else could be missed."""
    return len(q) == 2 and all(ord(ch) > 127 and unicodedata.category(ch) in _WORD_CHARS
                               for ch in q)


def _ours(name: str, table: str) -> bool:
    return name == table or name.startswith(table + "_")


def outside_models(name: str | None, type_: str, _parent_names: object = None) -> bool:
    """Alembic ``include_name`` hook: False for the indexes' own objects, which the
    migrations create and the models do not declare."""
    if type_ == "table" and name is not None and (_ours(name, FTS_TABLE)
                                                  or _ours(name, BIGRAM_TABLE)):
        return False
    return not (type_ == "index" and name in TRIGRAM_INDEXES | {BIGRAM_INDEX})
