"""Searching the flagged-post history: filters, sort, keyset pages, export.

The query builders are pure (they return SQLAlchemy statements and touch no
database), so a benchmark can time ``run`` on its own and a later full-text
backend can replace ``_text_clause`` alone. Pages are keyset ("after this row"),
not OFFSET: page 1,000 costs what page 1 costs, and an export walks a million rows
in constant memory. The indexes these queries lean on (post.fetched_at,
mention (flagged, risk) and (flagged, sentiment)) come with migration 0005.

Text search is a case-insensitive substring match over title and text (LIKE; ILIKE
on PostgreSQL), with ``%`` and ``_`` in the query taken literally, of the query or
another spelling of it in Chinese script (``spellings``: Traditional and
Simplified find each other, as brand matching folds them). A trigram index
(migration 0006, ``db/textindex.py``) finds a rare word of 3+ characters without
reading every post: PostgreSQL's planner uses its pg_trgm index (of a post's start
since migration 0023, ``_capped_clause``) by itself; on SQLite
``text_matches_few`` counts the FTS5 table's candidates first,
and a rare word's few candidates are read and sorted (the LIKE still decides, so
results are exactly what the scan would give), while a common word keeps the
newest-first walk, which finds a page of it at once. A two-character word in a
script without spaces (仲裁) goes the same way through the bigram index of
migration 0007, on both databases (PostgreSQL's planner does not know that
``cw_bigrams(...) @> ARRAY[q]`` narrows an ILIKE, so the query says it)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Engine, and_, func, literal_column, not_, or_
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlmodel import select

from db.engine import read_session
from db.messages import said
from db.models import SEVERITIES, Brand, Mention, Post, Source
from db.textindex import (
    BIGRAM_EXPRESSION,
    BIGRAM_TABLE,
    FTS_TABLE,
    LONG_TOKEN,
    MIN_QUERY,
    SEPARATOR,
    TRIGRAM_EXPRESSION,
    bigram_query,
)
from monitor.text.normalize import script_variants

SORTS = {"time": Post.fetched_at, "risk": Mention.risk, "sentiment": Mention.sentiment}
MAX_PAGE = 500
EXPORT_BATCH = MAX_PAGE
COLUMNS = ("id", "time", "posted", "brand", "severity", "sentiment", "risk", "language", "source",
           "title", "text", "link", "reasons", "incident_id", "post_id")


class SearchError(ValueError):
    """A filter, sort or cursor value is malformed; the message names the parameter."""


@dataclass(frozen=True)
class HistoryFilter:
    """What an analyst narrowed the history to; every field optional."""

    brand: str | None = None
    source: str | None = None
    severity: str | None = None  # this level and above
    sentiment_min: float | None = None
    sentiment_max: float | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    next_cursor: str | None


# ------------------------------------------------------------------ parsing


def _float(params: Mapping[str, str], key: str) -> float | None:
    raw = (params.get(key) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SearchError(said("%(key)s: %(raw)r is not a number", key=key, raw=raw)) from None
    if not 0.0 <= value <= 1.0:
        raise SearchError(said("%(key)s: must be between 0 and 1 (got %(raw)s)", key=key,
                                 raw=raw))
    return value


def parse_when(raw: str, key: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or date-time, UTC unless it says otherwise. A bare date as an end
    bound means the end of that day, as people mean it."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise SearchError(said("%(key)s: %(raw)r is not a date (use 2026-11-01 or "
                                "2026-11-01T08:00)", key=key, raw=raw)) from None
    if end_of_day and len(raw.strip()) == 10:
        value += timedelta(days=1)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _when(params: Mapping[str, str], key: str, *, end_of_day: bool = False) -> datetime | None:
    raw = (params.get(key) or "").strip()
    return parse_when(raw, key, end_of_day=end_of_day) if raw else None


FILTER_KEYS = ("brand", "source", "severity", "sentiment_min", "sentiment_max", "language",
               "since", "until", "q")


def _text(params: Mapping[str, str], key: str) -> str | None:
    return (params.get(key) or "").strip() or None


def parse_filter(params: Mapping[str, str]) -> HistoryFilter:
    """Query-string parameters to a filter; ``SearchError`` names a bad one."""
    severity = _text(params, "severity")
    if severity is not None and severity not in SEVERITIES:
        raise SearchError(said("severity: %(severity)r is not one of %(all)s",
                                severity=severity, all=", ".join(SEVERITIES)))
    found = HistoryFilter(brand=_text(params, "brand"), source=_text(params, "source"),
                          severity=severity, sentiment_min=_float(params, "sentiment_min"),
                          sentiment_max=_float(params, "sentiment_max"),
                          language=_text(params, "language"), since=_when(params, "since"),
                          until=_when(params, "until", end_of_day=True),
                          q=_text(params, "q"))
    if found.q is not None and len(found.q) > 200:
        raise SearchError(said("q: at most 200 characters"))
    return found


def parse_sort(sort: str | None, order: str | None) -> tuple[str, bool]:
    """(column key, descending); newest first by default."""
    sort = sort or "time"
    if sort not in SORTS:
        raise SearchError(said("sort: %(sort)r is not one of %(all)s", sort=sort,
                                all=", ".join(SORTS)))
    if order not in (None, "", "asc", "desc"):
        raise SearchError(said("order: %(order)r is not asc or desc", order=order))
    return sort, order != "asc"


# ------------------------------------------------------------------ cursors


def encode_cursor(value: object, mention_id: int) -> str:
    """The last row of a page, opaque to clients."""
    raw = value.isoformat() if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(json.dumps([raw, mention_id]).encode()).decode()


def decode_cursor(cursor: str, sort: str) -> tuple[object, int]:
    try:
        value, mention_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if sort == "time":
            value = parse_when(value, "after")
        elif not isinstance(value, int | float):
            raise TypeError
        if not isinstance(mention_id, int):
            raise TypeError
    except (ValueError, TypeError, SearchError):
        raise SearchError(said("after: not a cursor this search handed out")) from None
    return value, mention_id


# ------------------------------------------------------------------ query builders


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@lru_cache(maxsize=256)
def spellings(q: str) -> tuple[str, ...]:
    """``q`` and its other Chinese scripts (monitor/text/normalize.py
    ``script_variants``): 發燙 finds 发烫 and the reverse, as brand matching folds."""
    return tuple(script_variants(q))


def _text_clause(q: str, dialect: str = "default"):  # noqa: ANN202 - SQL expression
    """The ILIKE over title and text (on PostgreSQL, 3+ characters: ``_capped_clause``)."""
    patterns = [f"%{escape_like(v)}%" for v in spellings(q)]
    decides = or_(*(column.ilike(p, escape="\\") for p in patterns
                    for column in (Post.title, Post.text)))
    if dialect == "postgresql" and all(len(v) >= MIN_QUERY and SEPARATOR not in v
                                       for v in spellings(q)):
        return _capped_clause(patterns, decides)
    return decides


def _capped_clause(patterns: list[str], decides: ColumnElement):  # noqa: ANN202
    """``decides`` as PostgreSQL's trigram index (migration 0023) can answer it: a post
    not marked long is whole in ``TRIGRAM_EXPRESSION``, title and text joined by a
    character no pattern holds, so a pattern matches there exactly when it matches
    title or text; ``decides`` decides a post marked long (few). Not ``AND decides``,
    which the planner counts twice: 'refund' was estimated at 121 posts of 5,529."""
    capped = literal_column(TRIGRAM_EXPRESSION)
    long_post = capped.ilike(f"%{SEPARATOR}{LONG_TOKEN}%")
    in_start = or_(*(capped.ilike(p, escape="\\") for p in patterns))
    return or_(and_(not_(long_post), in_start), and_(long_post, decides))


def fts_phrase(q: str) -> str:
    """``q`` as one FTS5 string: with the trigram tokenizer, a substring of title
    or text (case folded). Quoted so that nothing typed (OR, NEAR, *, ^, :) is
    FTS5 syntax."""
    return '"' + q.replace('"', '""') + '"'


def indexable(q: str, dialect: str) -> bool:
    """Is there an index that can narrow a search for ``q`` (every spelling) here?"""
    if dialect == "sqlite":
        return all(len(v) >= MIN_QUERY or bigram_query(v) for v in spellings(q))
    # 3+ characters: the planner's own pg_trgm
    return dialect == "postgresql" and all(bigram_query(v) for v in spellings(q))


def text_candidates(q: str, dialect: str = "sqlite") -> Select:
    """Ids of posts whose title or text may contain ``q`` or another of its
    ``spellings`` (an ``indexable`` query): a
    superset of the LIKE's matches, as the indexes fold at least the case LIKE folds.
    SQLite: the trigram or the bigram FTS5 table; PostgreSQL: the bigram GIN index.
    Both indexes hold only a post's start (migrations 0011, 0022), so the candidates
    are the posts with the word or with ``LONG_TOKEN`` (longer than that start; few)."""
    variants = spellings(q)
    if dialect == "postgresql":
        pairs = [func.lower(v) for v in variants]
        return select(Post.id).where(
            literal_column(BIGRAM_EXPRESSION).op("&&")(array([*pairs, LONG_TOKEN])))
    table = BIGRAM_TABLE if bigram_query(q) else FTS_TABLE
    fts = sql_table(table, sql_column("rowid"))
    match = " OR ".join([*map(fts_phrase, variants), fts_phrase(LONG_TOKEN)])
    return select(fts.c.rowid).where(literal_column(table).op("MATCH")(match))


def _unindexed(column: ColumnElement) -> ColumnElement:
    """``+column``: SQLite's documented way to keep the planner off an index."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def _kept(column: ColumnElement) -> ColumnElement:
    return column


def _hiders(time_first: bool, text_first: bool) -> tuple[Callable, Callable]:
    """What to keep the SQLite planner off, for posts' columns and for mentions'.
    ``text_first``: start from the FTS5 candidates (post.id) and look their mentions
    up, rather than from the 200,000 flagged mentions probing each against the
    candidates (360 ms at a million posts; 14 ms this way, bench/console.py)."""
    if time_first:
        return _unindexed, _unindexed
    return _kept, _unindexed if text_first else _kept


def base_query(time_first: bool = False, text_first: bool = False) -> Select:
    """Flagged mentions with their post, source and brand. ``time_first`` (SQLite, newest
    first): walk post.fetched_at's index and look each mention up, rather than let the
    planner start from the flagged mentions and sort them all: 1 ms instead of 1.3 s
    for a page of a million posts, 200,000 of them flagged (measured). ``+post.id`` too:
    without it SQLite still scans every mention and looks its post up by primary key
    for a first page (no cursor bounds fetched_at): 1.5 s (bench/console.py).
    ``text_first``: see ``_hiders``."""
    hide_post, hide_mention = _hiders(time_first, text_first)
    return (select(Mention, Post, Source, Brand)
            .join(Post, Mention.post_id == hide_post(Post.id))
            .join(Source, hide_post(Post.source_id) == Source.id)
            .join(Brand, hide_mention(Mention.brand_id) == Brand.id)
            .where(hide_mention(Mention.flagged) == True))  # noqa: E712


def apply_filter(query: Select, f: HistoryFilter, time_first: bool = False,
                 text_ids: Select | None = None, text_first: bool = False,
                 dialect: str = "default") -> Select:
    """The filter's conditions on a ``base_query`` (same ``time_first`` and
    ``text_first``). ``text_ids``: narrow the text search to these candidate posts
    (``text_candidates``) first. ``dialect``: the engine's (``_text_clause``)."""
    hide_post, hide = _hiders(time_first, text_first)
    if f.brand and time_first:  # as a subquery, so brand stays an inner lookup
        query = query.where(hide(Mention.brand_id).in_(
            select(Brand.id).where(Brand.name == f.brand).scalar_subquery()))
    elif f.brand:
        query = query.where(Brand.name == f.brand)
    if f.source and time_first:
        query = query.where(hide_post(Post.source_id).in_(
            select(Source.id).where(Source.name == f.source).scalar_subquery()))
    elif f.source:
        query = query.where(Source.name == f.source)
    if f.severity:
        query = query.where(hide(Mention.severity).in_(
            SEVERITIES[SEVERITIES.index(f.severity):]))
    if f.sentiment_min is not None:
        query = query.where(hide(Mention.sentiment) >= f.sentiment_min)
    if f.sentiment_max is not None:
        query = query.where(hide(Mention.sentiment) <= f.sentiment_max)
    if f.language:
        query = query.where(hide(Mention.language) == f.language)
    if f.since:
        query = query.where(Post.fetched_at >= f.since)
    if f.until:
        query = query.where(Post.fetched_at < f.until)
    if f.q and text_ids is not None:
        query = query.where(Post.id.in_(text_ids))
    if f.q:
        query = query.where(_text_clause(f.q, dialect))
    return query


def history_query(f: HistoryFilter, *, sort: str = "time", descending: bool = True,
                  after: tuple[object, int] | None = None, limit: int = 50,
                  dialect: str = "default", few: bool = False,
                  indexed_text: bool = False) -> Select:
    """One page of the filtered history, ordered by ``sort`` then mention id; ``after``
    is the (sort value, mention id) of the last row of the previous page. ``dialect``
    (the engine's) picks planner hints; PostgreSQL's planner needs none. ``few``: the
    filter is known to match few mentions (``is_selective``), so SQLite should start
    from them and sort, rather than walk every post newest first looking for them.
    ``indexed_text``: the text query is rare in its index (``text_matches_few``), so
    start from its candidates, which implies ``few``."""
    column = SORTS[sort]
    time_first = dialect == "sqlite" and sort == "time" and not (few or indexed_text)
    text_first = dialect == "sqlite" and indexed_text  # "+column" is SQLite's hint only
    text_ids = text_candidates(f.q, dialect) if indexed_text and f.q else None
    query = apply_filter(base_query(time_first, text_first), f, time_first, text_ids,
                         text_first, dialect)
    if after is not None:  # "column <= v AND ..." first: an index can seek to it
        value, last_id = after
        mention_id = _unindexed(Mention.id) if time_first else Mention.id
        if descending:
            query = query.where(column <= value,
                                or_(column < value, mention_id < last_id))
        else:
            query = query.where(column >= value,
                                or_(column > value, mention_id > last_id))
    order = (column.desc(), Mention.id.desc()) if descending else (column.asc(), Mention.id.asc())
    return query.order_by(*order).limit(limit)


# ------------------------------------------------------------------ running


def to_row(mention: Mention, post: Post, source: Source, brand: Brand) -> dict:
    """One result as plain values (the same shape for pages, CSV, JSON and the API)."""
    posted = post.published_at.isoformat(timespec="seconds") if post.published_at else ""
    return {"id": mention.id, "time": post.fetched_at.isoformat(timespec="seconds"),
            "posted": posted,
            "brand": brand.name, "severity": mention.severity or "",
            "sentiment": round(mention.sentiment, 3), "risk": round(mention.risk, 3),
            "language": mention.language, "source": source.name, "title": post.title,
            "text": post.text[:500], "link": post.url or "", "reasons": list(mention.reasons),
            "incident_id": mention.incident_id, "post_id": post.id}


def _sort_value(row: tuple, sort: str) -> object:
    mention, post = row[0], row[1]
    return {"time": post.fetched_at, "risk": mention.risk, "sentiment": mention.sentiment}[sort]


SELECTIVE = 1_000  # matching flagged mentions below which sorting them beats walking posts


def _may_be_rare(f: HistoryFilter) -> bool:
    """Only filters on mention columns can make the newest-first walk read the whole
    year; a date range bounds the walk, a source is checked on the post walked, and a
    text search cannot be counted cheaply."""
    narrowing = (f.brand, f.severity, f.sentiment_min, f.sentiment_max, f.language)
    bounded = (f.since, f.until, f.source, f.q)
    return any(v is not None for v in narrowing) and all(v is None for v in bounded)


def is_selective(engine: Engine, f: HistoryFilter) -> bool:
    """On SQLite, does a filter on mention columns match fewer than SELECTIVE flagged
    mentions? Walking posts newest first finds a page at once when matches are
    common, but reads the whole year for a rare combination (710 ms at a million
    posts, bench/console.py); counting at most SELECTIVE of them tells which."""
    if engine.dialect.name != "sqlite" or not _may_be_rare(f):
        return False
    probe = apply_filter(base_query(), f).with_only_columns(Mention.id).limit(SELECTIVE)
    counted = select(func.count()).select_from(probe.subquery())
    with read_session(engine) as s:
        return s.exec(counted).one() < SELECTIVE


FTS_SELECTIVE = 5_000  # candidate posts of a text query below which they are read and sorted


def text_matches_few(engine: Engine, f: HistoryFilter) -> bool:
    """Is the text query ``indexable`` and in fewer than FTS_SELECTIVE posts' title or
    text? Counting that many ids in the index is cheap; then reading and sorting the
    candidates beats walking every post newest first, which for a rare word reads
    the whole year (511 ms at a million posts; 850 ms for a rare two-character
    Chinese word) and for a word that matches nothing always does (837 ms;
    bench/console.py)."""
    if not f.q or not indexable(f.q, engine.dialect.name):
        return False
    counted = select(func.count()).select_from(
        text_candidates(f.q, engine.dialect.name).limit(FTS_SELECTIVE).subquery())
    with read_session(engine) as s:
        return s.exec(counted).one() < FTS_SELECTIVE


def run(engine: Engine, query: Select) -> list[tuple]:
    """Execute a built query: the one place that touches the database."""
    with read_session(engine) as s:
        return list(s.exec(query).all())


def search(engine: Engine, f: HistoryFilter, *, sort: str = "time", descending: bool = True,
           after: str | None = None, limit: int = 50) -> Page:
    """One page of results and the cursor of the next page (None on the last)."""
    limit = max(1, min(limit, MAX_PAGE))
    position = decode_cursor(after, sort) if after else None
    indexed = text_matches_few(engine, f)
    few = sort == "time" and not indexed and is_selective(engine, f)
    found = run(engine, history_query(f, sort=sort, descending=descending, after=position,
                                      limit=limit + 1, dialect=engine.dialect.name, few=few,
                                      indexed_text=indexed))
    more = len(found) > limit
    found = found[:limit]
    cursor = encode_cursor(_sort_value(found[-1], sort), found[-1][0].id) if more else None
    return Page([to_row(*r) for r in found], cursor)


def iter_rows(engine: Engine, f: HistoryFilter, *, sort: str = "time",
              descending: bool = True, batch: int | None = None) -> Iterator[dict]:
    """Every matching row, a keyset batch at a time (for streaming exports)."""
    after, batch = None, batch or EXPORT_BATCH
    while True:
        page = search(engine, f, sort=sort, descending=descending, after=after, limit=batch)
        yield from page.rows
        if page.next_cursor is None:
            return
        after = page.next_cursor
