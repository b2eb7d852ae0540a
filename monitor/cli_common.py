"""Options and error exits shared by the command modules (monitor/cli_*.py), which
monitor/cli.py mounts; kept apart so they need not import monitor/cli.py at load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Config file (YAML).")]
DatabaseOpt = Annotated[str | None, typer.Option(help="Database URL (instead of the config's).")]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned Exit."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
