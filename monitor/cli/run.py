"""``crisiswatch check-config``, ``run`` and ``rescore``: the daemon's commands."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

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
from monitor.config import DEFAULT_CONFIG, redact_url, source_lookbacks
from monitor.history.summary import summarize
from monitor.stages.sync import sync_config


def check_config(file: Annotated[Path, typer.Argument(help="The YAML file to validate.")]) -> None:
    """Validate a config file without running anything or writing anything."""
    config = read_config(file)
    typer.echo(f"{file}: OK: {len(config.brands)} brands, {len(config.sources)} sources, "
               f"{len(config.channels)} channels")
    for ch in config.channels:
        typer.echo(f"  channel {ch.name}: {redact_url(ch.url)} (min {ch.min_severity})")
    for src in config.sources:
        token_env = (src.rules or {}).get("token_env") if src.kind == "mastodon" else None
        if token_env and not os.environ.get(token_env):
            typer.echo(f"  source {src.name}: warning: {token_env} is not set here; the "
                       "daemon reads it from its environment (search needs the token)")


def run(config: ConfigOpt = Path(DEFAULT_CONFIG),
        once: Annotated[bool, typer.Option(help="Poll every source once, process, exit.")] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
        metrics_port: Annotated[int | None, typer.Option(
            help="Serve /metrics, /healthz and /readyz on this port (0: any free one); "
                 "default: the config's metrics.port, else off.", show_default=False)] = None,
        log_format: Annotated[LogFormat, typer.Option(
            help="text: for people; json: one object a line, for log collectors.")
        ] = LogFormat.text) -> None:
    """Watch the configured sources until Ctrl-C (or once, with --once)."""
    # Scrapy installs its reactor on import, and the stages load the scorers' models:
    # only the commands that run them pay for it
    from monitor.daemon import run_daemon
    from monitor.stages.chain import Stages

    cfg = read_config(config)
    setup_logging(verbose, log_format.value)
    engine = connect(cfg.database)
    sync_config(engine, cfg)
    endpoint = _serve_metrics(engine, cfg, metrics_port)
    log.info("watching %d sources for %d brands%s", len(cfg.sources), len(cfg.brands),
             " (one pass)" if once else "; Ctrl-C stops")
    try:
        run_daemon(Stages(engine, cfg), once=once)
    finally:
        if endpoint is not None:
            endpoint.stop()
    for line in summarize(engine).lines():
        typer.echo(line)


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
