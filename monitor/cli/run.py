"""``crisiswatch check-config``, ``run`` and ``rescore``: the daemon's commands."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from monitor.cli.common import (
    EXIT_FAILED,
    ConfigOpt,
    LogFormat,
    connect,
    fail,
    log,
    parse_since,
    read_config,
    setup_logging,
)
from monitor.config import DEFAULT_CONFIG, Config, redact_url, source_lookbacks
from monitor.history.summary import summarize
from monitor.stages.sync import sync_config


def check_config(file: Annotated[Path, typer.Argument(help="The YAML file to validate.")]) -> None:
    """Validate a config file without running anything or writing anything."""
    config = read_config(file)
    typer.echo(f"{file}: OK: {len(config.brands)} brands, {len(config.sources)} sources, "
               f"{len(config.channels)} channels")
    for ch in config.channels:
        typer.echo(f"  channel {ch.name}: {redact_url(ch.url)} (min {ch.min_severity})")
    typer.echo(f"  roles (crisiswatch run --role): crawl fetches the {len(config.sources)} "
               f"sources, process scores and detects for the {len(config.brands)} brands, "
               f"dispatch sends to the {len(config.channels)} channels; all (the default) "
               "does the three in one process")
    for src in config.sources:
        token_env = (src.rules or {}).get("token_env") if src.kind == "mastodon" else None
        if token_env and not os.environ.get(token_env):
            typer.echo(f"  source {src.name}: warning: {token_env} is not set here; the "
                       "daemon reads it from its environment (search needs the token)")
        secret = (src.rules or {}).get("app_password_env") if src.kind == "bluesky" else None
        if secret and not os.environ.get(secret):
            typer.echo(f"  source {src.name}: warning: {secret} is not set here; the daemon "
                       "reads it from its environment (back-fill needs the app password)")
        if src.kind == "reddit":
            from crawlers.reddit import credentials, parse_rules

            _creds, why = credentials(parse_rules(src.rules), os.environ)
            if why:
                typer.echo(f"  source {src.name}: warning: {why.removeprefix('disabled: ')} "
                           "(not set here: the daemon reads them from its environment)")


class Role(StrEnum):
    """What one ``crisiswatch run`` process does; ``all`` is every role in one."""

    all = "all"
    crawl = "crawl"
    process = "process"
    dispatch = "dispatch"


ROLES_HELP = ("all: everything in one process (the default). crawl: fetch sources and "
              "store posts, nothing else. process: score, detect and plan alerts from "
              "stored posts, fetching and sending nothing. dispatch: send planned "
              "deliveries. Run one process of each role against the same database "
              "(SQLite or PostgreSQL), or on PostgreSQL any number of each, on any "
              "machines: crawlers lease sources, processors claim posts and lock "
              "brands, dispatchers claim deliveries, and NOTIFY wakes them.")


def run(config: ConfigOpt = Path(DEFAULT_CONFIG),
        role: Annotated[Role, typer.Option(help=ROLES_HELP)] = Role.all,
        once: Annotated[bool, typer.Option(
            help="One pass, then exit: all polls every source once, processes and sends; "
                 "crawl polls every source once; process and dispatch run one pass.")
        ] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
        metrics_port: Annotated[int | None, typer.Option(
            help="Serve /metrics, /healthz and /readyz on this port (0: any free one); "
                 "default: the config's metrics.port, else off.", show_default=False)] = None,
        log_format: Annotated[LogFormat, typer.Option(
            help="text: for people; json: one object a line, for log collectors.")
        ] = LogFormat.text) -> None:
    """Watch the configured sources until Ctrl-C or SIGTERM (or once, with --once);
    --role splits the work into crawl, process and dispatch workers."""
    cfg = read_config(config)
    setup_logging(verbose, log_format.value)
    _exit_on_signals_while_starting()
    engine = connect(cfg.database)
    sync_config(engine, cfg)
    endpoint = _serve_metrics(engine, cfg, metrics_port)
    log.info("%s: watching %d sources for %d brands%s", role.value, len(cfg.sources),
             len(cfg.brands), " (one pass)" if once else "; Ctrl-C stops")
    try:
        _run_role(role, engine, cfg, once,
                  started=endpoint.started.set if endpoint else (lambda: None))
    finally:
        if endpoint is not None:
            endpoint.stop()
    for line in summarize(engine).lines():
        typer.echo(line)


def _exit_on_signals_while_starting() -> None:
    """Until a role installs its own handlers (Scrapy's, or the loop's stop event),
    SIGTERM or Ctrl-C exits 0 at once: a ``docker stop`` or ``systemctl stop``
    while the models load is a clean stop, not a kill or a traceback."""

    def leave(signum: int, _frame: object) -> None:
        log.info("%s while starting: exiting", signal.Signals(signum).name)
        raise SystemExit(0)

    signal.signal(signal.SIGINT, leave)
    signal.signal(signal.SIGTERM, leave)


def _run_role(role: Role, engine: Engine, cfg: Config, once: bool,
              started: Callable[[], None]) -> None:
    """Run ``role`` until stopped (or one pass), calling ``started`` once it works
    (/readyz waits for it). Scrapy installs its reactor on import and the stages
    load the scorers' models: each role imports only what it runs."""
    if role is Role.crawl:
        from monitor.daemon import run_crawler

        run_crawler(cfg, engine, once=once, on_started=started)
        return
    from monitor.stages.chain import Stages

    stages = Stages(engine, cfg)
    if role is Role.all:
        from monitor.daemon import run_daemon

        run_daemon(stages, once=once, on_started=started)
        return
    if role is Role.process:
        def step() -> bool:
            return stages.process().busy
    else:
        def step() -> bool:
            stages.send_pending(ignore_backoff=once)
            return False
    started()
    if once:
        step()
    else:
        _loop(step, role, cfg.database)


def _loop(step, role: Role, database: str) -> None:  # noqa: ANN001
    """Run ``step`` until stopped: on PostgreSQL woken by notifications (a crawl
    worker stored posts: process; a process worker planned deliveries: dispatch)
    with a slower sweep as the net, on SQLite by the sweep alone."""
    import threading

    from db.wakeup import OUTBOX, STORED, Listener, listens
    from monitor.stages.loop import LISTENING_SWEEP_S, SWEEP_S, repeat, stop_on_signals

    if not listens(database):
        repeat(step, stop_on_signals(), every=SWEEP_S, name=role.value)
        return
    wake = threading.Event()
    listener = Listener(database, (STORED,) if role is Role.process else (OUTBOX,),
                        wake).start()
    try:
        repeat(step, stop_on_signals(wake), every=LISTENING_SWEEP_S, name=role.value,
               wake=wake)
    finally:
        listener.close()


def _serve_metrics(engine, cfg, port: int | None):  # noqa: ANN001, ANN202
    """The metrics endpoint (monitor/stages/observe.py) if a port is given, else None."""
    from monitor.stages.observe import serve_endpoint

    port = port if port is not None else cfg.metrics.port
    if port is None:
        return None
    try:
        endpoint = serve_endpoint(engine, cfg.metrics.host, port,
                                  timedelta(seconds=cfg.metrics.ready_lag))
    except OSError as exc:
        raise fail(f"cannot serve metrics on {cfg.metrics.host}:{port}: "
                   f"{exc.strerror or exc}", code=EXIT_FAILED) from None
    log.info("metrics on http://%s:%d/metrics (/healthz, /readyz)", cfg.metrics.host,
             endpoint.port, extra={"metrics_port": endpoint.port})
    return endpoint


def rescore(config: ConfigOpt = Path(DEFAULT_CONFIG),
            since: Annotated[str | None, typer.Option(help="2h, 7d or a date; default: "
                                                      "every stored post.")] = None) -> None:
    """Score stored posts again with the configured scorer; alerts are not repeated."""
    # the scorers' models (numpy, snownlp) load only for the commands that score
    from monitor.scoring.backends import scorer_for
    from monitor.stages.chain import Stages
    from monitor.stages.rescore import rescore as run_rescore

    cfg = read_config(config)
    engine = connect(cfg.database)
    report = run_rescore(engine, scorer_for(cfg), cfg.detection.risk_threshold,
                         parse_since(since) if since else None,
                         timedelta(seconds=cfg.detection.lookback), source_lookbacks(cfg))
    typer.echo(f"rescored {report.posts} posts: {report.updated} mentions updated, "
               f"{report.added} new, {report.newly_flagged} newly flagged")
    setup_logging()
    Stages(engine, cfg).run(ignore_backoff=True)  # detect and alert on what changed
