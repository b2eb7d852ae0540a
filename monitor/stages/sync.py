"""Make the database's live watch list match the YAML file.

Rows the file manages (``managed_by == "config"``) are created or updated by
name; the ones the file no longer lists are disabled, never deleted, so their
history stays browsable. Rows added in the console are left alone."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from db.engine import session
from db.models import Brand, Channel, Source
from monitor.config import Config


def _disable_missing(s: Session, model, names: set[str]) -> None:  # noqa: ANN001
    for row in s.exec(select(model).where(model.managed_by == "config")).all():
        if row.name not in names and row.enabled:
            row.enabled = False
            s.add(row)


def _upsert(s: Session, model, name: str, **values) -> None:  # noqa: ANN001, ANN003
    row = s.exec(select(model).where(model.name == name)).first() or model(name=name, **values)
    for key, value in values.items():
        setattr(row, key, value)
    row.enabled = True
    row.managed_by = "config"
    s.add(row)


def sync_config(engine: Engine, config: Config) -> None:
    with session(engine) as s, s.begin():
        for b in config.brands:
            _upsert(s, Brand, b.name, keywords=list(b.keywords), exclude=list(b.exclude))
        for c in config.channels:
            _upsert(s, Channel, c.name, url=c.url, min_severity=c.min_severity,
                    brands=list(c.brands), tags=list(c.tags), tier=c.tier, format=c.format,
                    quiet_hours=c.quiet_hours, timezone=c.timezone,
                    quiet_override=c.quiet_override, rate_limit=c.rate_limit,
                    digest=c.digest, digest_every_s=int(c.digest_every))
        for src in config.sources:
            row = s.exec(select(Source).where(Source.name == src.name)).first()
            if row is not None and row.url != src.url:  # validators belong to the old URL
                row.etag = row.last_modified = None
                row.next_poll_at = None
            _upsert(s, Source, src.name, kind=src.kind, url=src.url,
                    interval_s=int(src.interval), preset=src.preset, rules=src.rules,
                    page=src.page, obey_robots=src.robots,
                    hot_interval_s=int(src.hot_interval))
        _disable_missing(s, Brand, {b.name for b in config.brands})
        _disable_missing(s, Channel, {c.name for c in config.channels})
        _disable_missing(s, Source, {x.name for x in config.sources})
