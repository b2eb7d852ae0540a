"""``crisiswatch users ...``: console accounts and API tokens.

Passwords are read from stdin (``--password-stdin``, for scripts) or a hidden
prompt, never from an argument, so they stay out of shell history and ``ps``.
An API token is printed once, at creation; only its hash is stored."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli_common import ConfigOpt, DatabaseOpt, fail
from monitor.config import DEFAULT_CONFIG

users_app = typer.Typer(help="Console accounts: add, list, API tokens, disable.",
                        no_args_is_help=True)


class Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    pr = "pr"


def _engine(config: Path, database: str | None):  # noqa: ANN202 - Engine
    from monitor.cli import connect, database_url

    return connect(database_url(config, database))


def _read_password(from_stdin: bool) -> str:
    from monitor.users import MIN_PASSWORD

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"Password (at least {MIN_PASSWORD} characters)",
                                hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise fail(f"the password must have at least {MIN_PASSWORD} characters", code=2)
    return password


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="Login name.")],
              role: Annotated[Role, typer.Option(help="admin, analyst or pr.")],
              password_stdin: Annotated[bool, typer.Option(
                  "--password-stdin", help="Read the password from the first line of "
                  "stdin instead of prompting.")] = False,
              config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None) -> None:
    """Create a console account."""
    from monitor.users import UserError, add_user

    password = _read_password(password_stdin)
    try:
        add_user(_engine(config, database), name, role.value, password)
    except UserError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"added {name} ({role.value})")


@users_app.command("list")
def users_list(config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None) -> None:
    """Accounts: name, role, created, disabled."""
    from alerts.render import inert
    from monitor.users import list_users

    rows = list_users(_engine(config, database))
    if not rows:
        typer.echo("no users yet (crisiswatch users add NAME --role admin)")
    for u in rows:
        state = "disabled" if u.disabled else "active"
        typer.echo(f"{inert(u.name, 30):<30} {u.role:<8} {state:<8} "
                   f"created {u.created_at:%Y-%m-%d %H:%M}")


@users_app.command("token")
def users_token(name: Annotated[str, typer.Argument(help="The user the token acts as.")],
                label: Annotated[str, typer.Option("--name", help="What the token is for "
                                                   "(e.g. grafana).")],
                config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None) -> None:
    """Create an API token and print it once: send it as 'Authorization: Bearer TOKEN'."""
    from monitor.users import UserError, create_token

    try:
        token = create_token(_engine(config, database), name, label)
    except UserError as exc:
        raise fail(str(exc)) from None
    typer.echo(token)
    typer.echo(f"API token {label!r} for {name}: shown once, store it now.", err=True)


@users_app.command("role")
def users_role(name: Annotated[str, typer.Argument(help="The account to change.")],
               role: Annotated[Role, typer.Option(help="admin, analyst or pr.")],
               config: ConfigOpt = Path(DEFAULT_CONFIG),
               database: DatabaseOpt = None) -> None:
    """Change an account's role; it applies to the user's next request."""
    from monitor.users import UserError, set_role

    try:
        set_role(_engine(config, database), name, role.value)
    except UserError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{name} is now {role.value}")


def _set_disabled(name: str, disabled: bool, config: Path, database: str | None) -> None:
    from monitor.users import UserError, set_disabled

    try:
        set_disabled(_engine(config, database), name, disabled)
    except UserError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{'disabled' if disabled else 'enabled'} {name}")


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="The account to unlock.")],
                 config: ConfigOpt = Path(DEFAULT_CONFIG),
                 database: DatabaseOpt = None) -> None:
    """Unlock a disabled account (its old sessions stay ended; it logs in again)."""
    _set_disabled(name, False, config, database)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="The account to lock.")],
                  config: ConfigOpt = Path(DEFAULT_CONFIG),
                  database: DatabaseOpt = None) -> None:
    """Lock an account: its sessions end at once and its API tokens stop working."""
    _set_disabled(name, True, config, database)
