"""``crisiswatch alerts ...`` and ``crisiswatch report``: the PR team's commands."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from alerts.render import inert
from alerts.trust import load_cases, summarise
from alerts.workflow import (
    WorkflowError,
    acknowledge,
    failed_deliveries,
    list_alerts,
    resolve,
    retry,
)
from monitor.cli.common import (
    EXIT_FAILED,
    ConfigOpt,
    DatabaseOpt,
    existing_database,
    fail,
    parse_since,
)
from monitor.config import DEFAULT_CONFIG

alerts_app = typer.Typer(help="Work the alerts: list, acknowledge, resolve; dead letters.",
                         no_args_is_help=True)


class Status(StrEnum):
    open = "open"
    escalated = "escalated"
    acknowledged = "acknowledged"
    resolved = "resolved"


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


@alerts_app.command("list")
def alerts_list(config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None,
                status: Annotated[Status | None, typer.Option(help="Only this state.")] = None,
                brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
                limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50
                ) -> None:
    """Alerts newest first: state, severity, when a reply is due, who acknowledged."""
    rows = list_alerts(existing_database(config, database), status=status.value if status else None,
                       brand=brand, limit=limit)
    if not rows:
        typer.echo("no alerts")
        return
    typer.echo(f"{'id':>5}  {'created (UTC)':16}  {'severity':8}  {'status':12}  "
               f"{'respond by':16}  {'brand':12}  title")
    for r in rows:
        state = r.status + (f" t{r.escalation_tier}" if r.escalation_tier else "")
        who = f" (ack: {inert(r.acknowledged_by, 30)})" if r.acknowledged_by else ""
        typer.echo(f"{r.id:>5}  {_when(r.created_at):16}  {r.severity:8}  {state:12}  "
                   f"{_when(r.respond_by):16}  {inert(r.brand, 12):12}  "
                   f"{inert(r.title, 80)}{who}")


@alerts_app.command("ack")
def alerts_ack(alert_id: Annotated[int, typer.Argument(help="The alert number.")],
               by: Annotated[str | None, typer.Option(help="Who takes it (name).")] = None,
               config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None) -> None:
    """Acknowledge an alert (and the earlier ones of its incident): stops escalation."""
    try:
        done = acknowledge(existing_database(config, database), alert_id, by)
    except WorkflowError as exc:
        raise fail(str(exc), code=EXIT_FAILED) from None
    if not done:
        typer.echo(f"alert #{alert_id} was already acknowledged")
        return
    typer.echo(f"acknowledged {', '.join(f'#{i}' for i in done)}" + (f" by {by}" if by else ""))


def _reply_time(value: str) -> datetime:
    if value == "now":
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use an ISO time such as 2026-11-23T14:05 "
                                 "(UTC unless it has an offset) or 'now'") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@alerts_app.command("resolve")
def alerts_resolve(alert_id: Annotated[int, typer.Argument(help="The alert number.")],
                   reply_at: Annotated[str, typer.Option(
                       "--reply-at", help="When the first public reply went out: ISO time "
                       "(UTC unless it has an offset) or 'now'.")],
                   config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None
                   ) -> None:
    """Resolve an alert's incident and record the first public reply (trust score)."""
    try:
        trust = resolve(existing_database(config, database), alert_id, _reply_time(reply_at))
    except WorkflowError as exc:
        raise fail(str(exc), code=EXIT_FAILED) from None
    shown = "unknown (no promised reply time)" if trust is None else f"{trust:.1f}"
    typer.echo(f"resolved alert #{alert_id} and its incident; trust score {shown}")


@alerts_app.command("failed")
def alerts_failed(config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None
                  ) -> None:
    """Dead letters: messages that failed every attempt, with the last error."""
    rows = failed_deliveries(existing_database(config, database))
    if not rows:
        typer.echo("no failed deliveries")
        return
    for r in rows:
        typer.echo(f"delivery #{r.id}: alert #{r.alert_id} ({r.kind}) to {inert(r.channel, 40)}"
                   f", {r.attempts} attempts; last error: {inert(r.last_error or '-', 300)}")
    typer.echo("retry with: crisiswatch alerts retry --all (or a delivery number)")


@alerts_app.command("retry")
def alerts_retry(delivery_ids: Annotated[list[int] | None, typer.Argument(
                     help="Delivery numbers from 'alerts failed'.")] = None,
                 all_failed: Annotated[bool, typer.Option("--all", help="Every dead letter.")
                                       ] = False,
                 config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None
                 ) -> None:
    """Put dead letters back in the outbox; the running daemon sends them."""
    if not delivery_ids and not all_failed:
        raise fail("name delivery numbers or pass --all")
    try:
        count = retry(existing_database(config, database),
                      None if all_failed else list(delivery_ids))
    except WorkflowError as exc:
        raise fail(str(exc), code=EXIT_FAILED) from None
    typer.echo(f"{count} deliveries queued again")


def report(config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None,
           brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
           since: Annotated[str | None, typer.Option(help="Opened since: 30d or a date.")
                            ] = None) -> None:
    """Response times and trust per brand and month (seed 001: trust = (1 - reply time /
    promised time) x 100), over incidents that reached warning."""
    rows = summarise(load_cases(existing_database(config, database), brand=brand,
                                since=parse_since(since) if since else None))
    if not rows:
        typer.echo("no incidents at warning or above")
        return
    typer.echo(f"{'brand':14}  {'month':7}  {'incidents':>9}  {'replied':>7}  {'on time':>7}  "
               f"{'median reply h':>14}  {'trust':>6}")
    for r in rows:
        median = "-" if r.median_reply_h is None else f"{r.median_reply_h:.2f}"
        trust = "-" if r.mean_trust is None else f"{r.mean_trust:.1f}"
        typer.echo(f"{inert(r.brand, 14):14}  {r.month:7}  {r.incidents:>9}  {r.replied:>7}  "
                   f"{r.on_time:>7}  {median:>14}  {trust:>6}")
