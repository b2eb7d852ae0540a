"""Make the database's live watch list match the YAML file.

Rows the file manages (``managed_by == "config"``) are created or updated by
name; the ones the file no longer lists are disabled, never deleted, so their
history stays browsable. Rows added in the console are left alone. A file row an
admin paused in the console (``paused_by`` set) stays disabled until the console
resumes it: the pause is an override of the file, not undone by the next start.

``apply_config`` is the one mapping from a config entry to its row's columns: the
console's admin pages save what an admin typed through it too, so a field added to
a brand, channel or source is stored the same way from either side."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

from sqlalchemy import Connection, Engine, bindparam, insert, select, true, update

from db.engine import setup_lock
from db.models import Brand, Channel, Source
from monitor.config import BrandConfig, ChannelConfig, Config, SourceConfig

Row = Brand | Channel | Source
Item = BrandConfig | ChannelConfig | SourceConfig


def _brand(row: Brand, b: BrandConfig) -> None:
    row.name, row.keywords, row.exclude = b.name, list(b.keywords), list(b.exclude)
    row.names = dict(b.names)


def _channel(row: Channel, c: ChannelConfig) -> None:
    row.name, row.url, row.min_severity = c.name, c.url, c.min_severity
    row.brands, row.tags, row.tier, row.format = list(c.brands), list(c.tags), c.tier, c.format
    row.quiet_hours, row.timezone, row.quiet_override = c.quiet_hours, c.timezone, \
        c.quiet_override
    row.rate_limit, row.digest, row.digest_every_s = c.rate_limit, c.digest, int(c.digest_every)


def _source(row: Source, src: SourceConfig) -> None:
    if row.url != src.url:  # the conditional-GET validators (and ids) belong to the old URL
        row.etag = row.last_modified = None
        row.cursor = None
        row.next_poll_at = None
    row.name, row.kind, row.url = src.name, src.kind, src.url
    row.interval_s, row.hot_interval_s = int(src.interval), int(src.hot_interval)
    row.preset, row.rules, row.page, row.obey_robots = src.preset, src.rules, src.page, src.robots
    if src.kind == "hackernews":  # its options ride in the rules column
        row.rules = {"query": src.query, "items_url": src.items_url}


_APPLY = {BrandConfig: _brand, ChannelConfig: _channel, SourceConfig: _source}
MODELS: dict[type, type] = {BrandConfig: Brand, ChannelConfig: Channel, SourceConfig: Source}


def apply_config(row: Row, item: Item) -> None:
    """Set ``row``'s columns from a validated config entry (not ``enabled``,
    ``paused_by`` or ``managed_by``: who manages the row decides those)."""
    _APPLY[type(item)](row, item)


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    """``values`` a few hundred at a time: one statement's parameters stay well under
    the databases' limits however long the file."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _upsert_all(conn: Connection, items: list[Item]) -> None:
    """Create or update the rows of ``items`` (one kind) as sets: one SELECT per few
    hundred names (whoever manages the row), one batched INSERT of the new rows and
    batched UPDATEs of only the columns that changed. ``apply_config`` sets the
    values, on a plain object standing in for the row, so the mapping stays the one
    the console uses (one ORM query and row per entry made a 10,000-source start
    take minutes, issue 20)."""
    table = MODELS[type(items[0])].__table__
    known: dict[str, dict] = {}
    for chunk in _chunks([item.name for item in items]):
        rows = conn.execute(select(table).where(table.c.name.in_(chunk))).mappings()
        known.update((r["name"], dict(r)) for r in rows)
    new: dict[str, dict] = {}
    changes: dict[tuple[str, ...], list[dict]] = {}
    for item in items:
        old = known.get(item.name)  # names are unique in a valid config
        row = SimpleNamespace(**(old or {"name": item.name, "url": None, "paused_by": None}))
        apply_config(row, item)
        row.enabled = row.paused_by is None  # a console pause outlives the sync
        row.managed_by = "config"
        values = {k: v for k, v in vars(row).items() if k in table.c}
        if old is None:
            new[item.name] = values
        elif diff := {k: v for k, v in values.items() if v != old[k]}:
            changes.setdefault(tuple(sorted(diff)), []).append({**diff, "_id": old["id"]})
    if new:
        conn.execute(insert(table), list(new.values()))
    for rows in changes.values():
        conn.execute(update(table).where(table.c.id == bindparam("_id")), rows)


def _disable_missing(conn: Connection, model, names: set[str]) -> None:  # noqa: ANN001
    table = model.__table__
    gone = [r.id for r in conn.execute(
        select(table.c.id, table.c.name).where(table.c.managed_by == "config",
                                               table.c.enabled == true()))
            if r.name not in names]
    for chunk in _chunks(gone):
        conn.execute(update(table).where(table.c.id.in_(chunk)).values(enabled=False))


def sync_config(engine: Engine, config: Config) -> None:
    """Create, update or disable the config-managed rows to match ``config``."""
    with engine.begin() as conn:
        setup_lock(conn)  # roles started together sync one at a time
        for items in (config.brands, config.channels, config.sources):
            if items:
                _upsert_all(conn, list(items))
        _disable_missing(conn, Brand, {b.name for b in config.brands})
        _disable_missing(conn, Channel, {c.name for c in config.channels})
        _disable_missing(conn, Source, {x.name for x in config.sources})
