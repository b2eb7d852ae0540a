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
from sqlalchemy import Engine

from alerts.render import inert
from monitor.cli.common import EXIT_FAILED, ConfigOpt, DatabaseOpt, connect, database_url, fail
from monitor.config import DEFAULT_CONFIG
from monitor.users import (
    MIN_PASSWORD,
    UserError,
    add_user,
    create_token,
    list_users,
    set_disabled,
    set_role,
)

users_app = typer.Typer(help="Console accounts: add, list, API tokens, disable.",
                        no_args_is_help=True)


class Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    pr = "pr"


def _engine(config: Path, database: str | None) -> Engine:
    """The accounts' database, created if new (the first admin is added before any run)."""
    return connect(database_url(config, database))


def _read_password(from_stdin: bool) -> str:

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"Password (at least {MIN_PASSWORD} characters)",
                                hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise fail(f"the password must have at least {MIN_PASSWORD} characters")
    return password


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument(help="Login name.")],
              role: Annotated[Role, typer.Option(help="admin, analyst or pr.")],
              password_stdin: Annotated[bool, typer.Option(
                  "--password-stdin", help="Read the password from the first line of "
                  "stdin instead of prompting.")] = False,
              config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None) -> None:
    """Create a console account."""
    password = _read_password(password_stdin)
    try:
        add_user(_engine(config, database), name, role.value, password)
    except UserError as exc:
        raise fail(str(exc), code=EXIT_FAILED) from None
    typer.echo(f"added {name} ({role.value})")


@users_app.command("list")
def users_list(config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None) -> None:
    """Accounts: name, role, created, disabled."""
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
    try:
        token = create_token(_engine(config, database), name, label)
    except UserError as exc:
        raise fail(str(exc), code=EXIT_FAILED) from None
    typer.echo(token)
    typer.echo(f"API token {label!r} for {name}: shown once, store it now.", err=True)


@users_app.command("role")
def users_role(name: Annotated[str, typer.Argument(help="The account to change.")],
               role: Annotated[Role, typer.Option(help="admin, analyst or pr.")],
               config: ConfigOpt = Path(DEFAULT_CONFIG),
               database: DatabaseOpt = None) -> None:
    """Change an account's role; it applies to the user's next request."""
    try:
        set_role(_engine(config, database), name, role.value)
    except UserError as exc:
        raise fail(str(exc), code=EXIT_FAILED) from None
    typer.echo(f"{name} is now {role.value}")


def _set_disabled(name: str, disabled: bool, config: Path, database: str | None) -> None:

    try:
        set_disabled(_engine(config, database), name, disabled)
    except UserError as exc:
        raise fail(str(exc), code=EXIT_FAILED) from None
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
