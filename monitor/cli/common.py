"""What every ``crisiswatch`` command shares: options, logging, the one error exit,
and opening the config and the database.

The CLI is a tree: ``main.py`` imports the command modules, each command module
imports this one, and this one imports no command module. Exit codes, the same
for every command (README "Exit status"): 0 done; 1 the command ran and failed (a
database that cannot be opened, a record it names that is missing or refuses the
action, a failed fetch, something to fix); 2 usage or bad input (options, an
invalid config or input file, a name the config does not have)."""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from alerts.playbooks import Playbook, PlaybookError
from db.engine import open_database
from monitor.config import (
    BUILTIN_CONFIG,
    DEFAULT_CONFIG,
    ENV_CONFIG,
    ENV_DATABASE,
    Config,
    ConfigError,
    load_config,
    parse_duration,
)
from monitor.detection.category import playbooks_for

EXIT_FAILED = 1  # the command ran and failed
EXIT_USAGE = 2  # usage or bad input (typer's own usage errors exit 2 too)

log = logging.getLogger("crisiswatch")


class Fmt(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Level(StrEnum):
    notice = "notice"
    warning = "warning"
    crisis = "crisis"


class Lang(StrEnum):
    zh = "zh"
    en = "en"


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Config file (YAML).")]
OptionalConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", show_default=False,
    help=f"Config file (YAML); a file named here must exist. Default: ./{DEFAULT_CONFIG} "
         "if there is one, else the built-in settings.")]
PlaybooksConfigOpt = Annotated[Path, typer.Option(
    "--config", "-c",
    help="Config file; its playbooks_dir adds or replaces playbooks. If the file does not "
         "exist, only the built-in playbooks are used.")]
DatabaseOpt = Annotated[str | None, typer.Option(help="Database URL (instead of the config's).")]


class _QuietLibraries(logging.Filter):
    """Scrapy and Twisted talk a lot at INFO; keep their warnings and errors only.
    A filter on our handler survives Scrapy resetting the root logger's level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith("crisiswatch")


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def setup_logging(verbose: bool = False, fmt: str = "text") -> None:
    """Log to stderr: the human format, or one JSON object a line (monitor/cli/logs.py)."""
    from monitor.cli.logs import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        handler.addFilter(_QuietLibraries())
    logging.basicConfig(level=logging.DEBUG, handlers=[handler], force=True)
    logging.getLogger("apprise").propagate = False  # its failures reach us via the outbox


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise: ``EXIT_USAGE``
    (2) for usage and bad input, ``EXIT_FAILED`` (1) for a run-time failure."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def connect(url: str) -> Engine:
    """Open and migrate the database, or exit with a message that names it."""
    try:
        return open_database(url)
    except SQLAlchemyError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
        raise fail(f"cannot open database {shown}: {reason}", code=EXIT_FAILED) from None


def read_config(path: Path, *, scorers: bool = True) -> Config:
    """The config file, validated, with the scorers it names checked (unless
    ``scorers`` is false: ``model train`` makes the model the config names); exit 2
    if not."""
    # numpy and the model files load with the scorers: --help and other commands stay fast
    from monitor.scoring.backends import check_scoring

    try:
        config = load_config(path)
    except ConfigError as exc:
        raise fail(f"{path}: invalid configuration\n{exc}") from None
    if scorers and (problems := check_scoring(config)):
        raise fail(f"{path}: invalid configuration\n" + "\n".join(problems))
    return config


def config_or_default(path: Path | None, *, scorers: bool = True) -> Config:
    """For commands that work without a config file (``score``, ``model``,
    ``backtest``): with no ``--config`` (None), ./crisiswatch.yaml if there is one,
    else the defaults; a file the user named must exist, so a typo never runs
    silently on the defaults. ``scorers`` as for ``read_config``."""
    if path is None:
        path = Path(DEFAULT_CONFIG)
        if not path.exists():
            return Config(data_dir=str(Path.cwd()))
    elif path.is_dir():
        raise fail(f"--config {path}: is a directory, not a config file")
    elif not path.exists():
        raise fail(f"--config {path}: no such file")
    return read_config(path, scorers=scorers)


APP_FACTORY = "web.app:create_app"  # by name: the CLI never imports web/ (DESIGN.md)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve_console(host: str, port: int, database: str | None = None,
                  config: Path | None = None, login: str = "") -> None:
    """Serve the console until Ctrl-C: ``config``'s file (None: the built-in settings)
    with ``database`` over its own. The port is bound here, so port 0 takes a free
    one and the printed URL is the real one."""
    import socket

    import uvicorn  # the server loads only for the commands that serve

    os.environ[ENV_CONFIG] = str(config.resolve()) if config else BUILTIN_CONFIG
    if database:
        os.environ[ENV_DATABASE] = database
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                   code=EXIT_FAILED) from None
    shown = f"[{host}]" if ":" in host else host
    if host not in LOCAL_HOSTS:
        typer.echo(f"note: listening on {host}; serve it over HTTPS (a reverse proxy) so "
                   "passwords and session cookies are not sent in the clear", err=True)
    typer.echo(f"console on http://{shown}:{sock.getsockname()[1]}/ (Ctrl-C stops); "
               f"{login or 'add accounts with `crisiswatch users add NAME --role admin`'}",
               err=True)
    server = uvicorn.Server(uvicorn.Config(APP_FACTORY, factory=True, proxy_headers=True,
                                           forwarded_allow_ips="127.0.0.1", log_level="info"))
    server.run(sockets=[sock])


def parse_since(value: str) -> datetime:
    """``2h``, ``7d`` (ago) or an ISO date/time (UTC)."""
    if re.fullmatch(r"\s*\d+(\.\d+)?\s*[smhd]?\s*", value):
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    try:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use a duration (2h, 7d) or a date "
                                 "(2026-11-01 or 2026-11-01T08:00)") from None


def database_url(config: Path, database: str | None) -> str:
    if database:
        return database
    if config.exists():
        return read_config(config).database
    if os.environ.get(ENV_DATABASE):
        return os.environ[ENV_DATABASE]
    raise fail(f"no database: {config} does not exist; pass --config, --database or set "
               f"{ENV_DATABASE}")


def existing_database(config: Path, database: str | None) -> Engine:
    """The database a read-only command looks at; a clear error if it was never made."""
    url = database_url(config, database)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        raise fail(f"no database at {parsed.database} (has the daemon run yet?)")
    return connect(url)


def config_playbooks(config_path: Path) -> tuple[Playbook, ...]:
    """The playbooks the daemon would use with this config: the built-ins plus its
    ``playbooks_dir``; the built-ins alone when the file does not exist. Exit 2 on an
    invalid config or playbook."""
    if not config_path.exists():
        return playbooks_for(Config())
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise fail(f"{config_path}: invalid configuration\n{exc}") from None
    try:
        return playbooks_for(config)
    except PlaybookError as exc:
        raise fail(f"invalid playbooks\n{exc}") from None
