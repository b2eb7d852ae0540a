"""``crisiswatch web``: serve the console.

The CLI never imports web/ (DESIGN.md layout: nothing imports the console); it
hands uvicorn the import string ``web.app:create_app`` and the config path in
CRISISWATCH_CONFIG, and the factory reads the config itself. Only the command
function lives here; monitor/cli/main.py registers it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import ConfigOpt, connect, read_config
from monitor.config import DEFAULT_CONFIG, ENV_CONFIG

APP_FACTORY = "web.app:create_app"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def web(host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8080,
        config: ConfigOpt = Path(DEFAULT_CONFIG)) -> None:
    """Serve the web console (dashboard, history, incidents, alerts, admin, JSON API).

    Listens on 127.0.0.1 by default; to expose it, put it behind a reverse proxy that
    terminates HTTPS (cookies are marked Secure when the request is https)."""
    import uvicorn  # the server loads only for this command

    cfg = read_config(config)  # a clear error now, not a traceback in the server
    connect(cfg.database)  # creates or migrates the schema, or names the problem
    os.environ[ENV_CONFIG] = str(config.resolve())
    if host not in LOCAL_HOSTS:
        typer.echo(f"note: listening on {host}; serve it over HTTPS (a reverse proxy) so "
                   "passwords and session cookies are not sent in the clear", err=True)
    typer.echo(f"console on http://{host}:{port}/ (Ctrl-C stops); add accounts with "
               "`crisiswatch users add NAME --role admin`", err=True)
    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, proxy_headers=True,
                forwarded_allow_ips="127.0.0.1", log_level="info")
