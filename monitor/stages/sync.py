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

from sqlalchemy import Engine
from sqlmodel import Session, select

from db.engine import session, setup_lock
from db.models import Brand, Channel, Source
from monitor.config import BrandConfig, ChannelConfig, Config, SourceConfig

Row = Brand | Channel | Source
Item = BrandConfig | ChannelConfig | SourceConfig


def _disable_missing(s: Session, model, names: set[str]) -> None:  # noqa: ANN001
    for row in s.exec(select(model).where(model.managed_by == "config")).all():
        if row.name not in names and row.enabled:
            row.enabled = False
            s.add(row)


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


def _upsert(s: Session, item: Item) -> None:
    model = MODELS[type(item)]
    row = s.exec(select(model).where(model.name == item.name)).first() or model(name=item.name)
    apply_config(row, item)
    row.enabled = row.paused_by is None  # a console pause outlives the sync
    row.managed_by = "config"
    s.add(row)


def sync_config(engine: Engine, config: Config) -> None:
    """Create, update or disable the config-managed rows to match ``config``."""
    with session(engine) as s, s.begin():
        setup_lock(s.connection())  # roles started together sync one at a time
        for item in (*config.brands, *config.channels, *config.sources):
            _upsert(s, item)
        _disable_missing(s, Brand, {b.name for b in config.brands})
        _disable_missing(s, Channel, {c.name for c in config.channels})
        _disable_missing(s, Source, {x.name for x in config.sources})
