"""``crisiswatch history``, ``incidents`` and ``incident``: the analyst's read side,
through the same queries as the console (monitor/history/)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import (
    EXIT_FAILED,
    ConfigOpt,
    DatabaseOpt,
    Fmt,
    Level,
    existing_database,
    fail,
    parse_since,
)
from monitor.config import DEFAULT_CONFIG
from monitor.history import incidents as view
from monitor.history.posts import FORMATS, flagged_posts


def history(config: ConfigOpt = Path(DEFAULT_CONFIG),
            database: DatabaseOpt = None,
            brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
            severity: Annotated[Level | None, typer.Option(help="This level and above.")] = None,
            since: Annotated[str | None, typer.Option(help="2h, 7d or a date.")] = None,
            fmt: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
            limit: Annotated[int, typer.Option(min=1)] = 100) -> None:
    """List flagged posts, newest first."""
    since_at = parse_since(since) if since else None
    rows = flagged_posts(existing_database(config, database), brand=brand,
                         min_severity=severity.value if severity else None,
                         since=since_at, limit=limit)
    typer.echo(FORMATS[fmt.value](rows).rstrip("\n"))


def incidents(config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None,
              brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
              severity: Annotated[Level | None, typer.Option(help="This level and above.")] = None,
              since: Annotated[str | None, typer.Option(help="Active since: 2h, 7d or a "
                                                        "date.")] = None,
              as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
              limit: Annotated[int, typer.Option(min=1)] = 50) -> None:
    """List incidents with severity, trend, category and forecast, most recent first."""
    rows = view.list_incidents(existing_database(config, database), brand=brand,
                               min_severity=severity.value if severity else None,
                               since=parse_since(since) if since else None, limit=limit)
    typer.echo(view.as_json(rows) if as_json else view.incidents_table(rows))


def incident(incident_id: Annotated[int, typer.Argument(help="The incident number.")],
             config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None,
             as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False
             ) -> None:
    """Print one incident's timeline: mentions, replies over time, severity changes."""
    detail = view.incident_detail(existing_database(config, database), incident_id)
    if detail is None:
        raise fail(f"no incident #{incident_id}", code=EXIT_FAILED)
    typer.echo(view.as_json(detail) if as_json else view.incident_text(detail))
