"""``crisiswatch web``: serve the console.

The CLI never imports web/ (DESIGN.md layout: nothing imports the console); it
hands uvicorn the import string ``web.app:create_app`` and the config path in
CRISISWATCH_CONFIG, and the factory reads the config itself (``serve_console`` in
common.py, shared with ``demo --web``). Only the command function lives here;
monitor/cli/main.py registers it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import DatabaseOpt, connect, read_config, serve_console
from monitor.config import DEFAULT_CONFIG, resolve_sqlite


def web(host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535,
                                          help="Port; 0: a free one (printed).")] = 8080,
        config: Annotated[Path | None, typer.Option(
            "--config", "-c", show_default=False,
            help=f"Config file (YAML). Default: ./{DEFAULT_CONFIG}; with --database and no "
                 "such file, the built-in settings.")] = None,
        database: DatabaseOpt = None) -> None:
    """Serve the web console (dashboard, history, incidents, alerts, admin, JSON API).

    Listens on 127.0.0.1 by default; to expose it, put it behind a reverse proxy that
    terminates HTTPS (cookies are marked Secure when the request is https).
    ``--database URL`` serves that database, with no config file needed."""
    path = config or Path(DEFAULT_CONFIG)
    file = path if database is None or config is not None or path.exists() else None
    cfg = read_config(file) if file else None  # a clear error now, not one in the server
    url = resolve_sqlite(database, Path.cwd()) if database else cfg.database
    connect(url)  # creates or migrates the schema, or names the problem
    serve_console(host, port, database=url if database else None, config=file)
