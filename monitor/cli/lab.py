"""``crisiswatch backtest`` and ``demo``: offline runs of the lab (monitor/lab/)."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import (
    OptionalConfigOpt,
    config_or_default,
    connect,
    fail,
    serve_console,
    setup_logging,
)
from monitor.config import parse_duration
from monitor.users import add_user


def backtest(posts: Annotated[Path, typer.Option("--posts", help="Recorded stream: JSONL (or "
                                                 ".csv) with at, source, id, brand, thread, "
                                                 "title, text, replies, likes, views.")],
             config: OptionalConfigOpt = None,
             step: Annotated[str, typer.Option(help="Simulated polling interval.")] = "5m",
             as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
             keep: Annotated[Path | None, typer.Option(help="Keep the replay database here "
                                                       "(a new SQLite file).")] = None) -> None:
    """Replay recorded posts through scoring and detection in simulated time and print
    each alert with the time it would have fired. Nothing is delivered."""
    # the replay loads the stages and the scorers' models: only this command pays for it
    from monitor.lab.backtest import RecordError, alert_lines, read_records, replay
    from monitor.scoring.backends import scorer_for

    cfg = config_or_default(config)
    try:
        interval = timedelta(seconds=parse_duration(step))
        records = read_records(posts)
    except (OSError, ValueError) as exc:
        raise fail(f"{posts}: {exc}") from None
    if keep is not None and keep.exists():
        raise fail(f"{keep} exists; give a new file name")
    shown = {"at": 0}

    def progress(done: int, total: int) -> None:
        if done == total or done - shown["at"] >= 2000:
            shown["at"] = done
            typer.echo(f"replayed {done}/{total} records", err=True)

    try:
        report = replay(records, cfg, scorer_for(cfg), step=interval, database=keep,
                        progress=progress)
    except RecordError as exc:
        raise fail(f"{posts}: {exc}") from None
    if as_json:
        typer.echo(json.dumps([{"at": a.at.isoformat(), "severity": a.severity,
                                "brand": a.brand, "incident": a.incident_id,
                                "title": a.incident_title, "reasons": list(a.reasons),
                                "posts": list(a.post_ids)} for a in report.alerts],
                              ensure_ascii=False, indent=2))
        return
    for line in alert_lines(report):
        typer.echo(line)
    span = f"{report.first:%Y-%m-%d %H:%M} to {report.last:%Y-%m-%d %H:%M}" \
        if report.first else "nothing"
    typer.echo(f"{report.records} records ({report.posts} posts) from {span}: "
               f"{len(report.alerts)} alerts in {report.incidents} incidents")


DEMO_ADMIN = "demo-admin"


def demo(speed: Annotated[float, typer.Option(min=0.5, max=20, help="Play the scripted minute "
                                              "this many times faster.")] = 1.0,
         keep: Annotated[bool, typer.Option(help="Keep the demo database and print "
                                            "its path.")] = False,
         web: Annotated[bool, typer.Option("--web", help="Then serve the console on the "
                                           "demo's database, with an admin login printed; "
                                           "Ctrl-C stops it.")] = False,
         port: Annotated[int, typer.Option(min=0, max=65535, help="With --web: the console's "
                                           "port on 127.0.0.1; 0: a free one.")] = 8080) -> None:
    """Play a scripted crisis on a local simulated site (127.0.0.1 only) and watch
    the daemon catch it: alerts as they arrive, then a summary."""
    from monitor.lab.demo import run_demo  # Scrapy installs its reactor on import

    setup_logging()
    logging.getLogger("crisiswatch").setLevel(logging.WARNING)  # the demo prints its own
    if not web:
        raise typer.Exit(run_demo(speed=speed, keep=keep, echo=typer.echo))
    folder = Path(tempfile.mkdtemp(prefix="crisiswatch-demo-"))
    try:
        code = run_demo(speed=speed, keep=keep, echo=typer.echo, folder=folder)
        url = f"sqlite:///{folder / 'demo.db'}"
        password = secrets.token_urlsafe(12)
        add_user(connect(url), DEMO_ADMIN, "admin", password)
        setup_logging()  # uvicorn's own lines: where it listens, requests
        serve_console("127.0.0.1", port, database=url,
                      login=f"log in as {DEMO_ADMIN} with password {password}")
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    raise typer.Exit(code)
