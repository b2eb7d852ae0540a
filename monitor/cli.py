"""The ``crisiswatch`` command.

Commands import the heavy parts (Scrapy and its reactor, the stages) when they
run, not at module import: ``--help`` and ``check-config`` stay instant, and the
reactor is installed by Scrapy only in commands that crawl."""

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

from monitor.config import (
    DEFAULT_CONFIG,
    ENV_DATABASE,
    Config,
    ConfigError,
    load_config,
    parse_duration,
    redact_url,
)

app = typer.Typer(help="Watch feeds for brand mentions, flag complaints early, alert the PR "
                       "team with a first-response playbook.", no_args_is_help=True,
                  add_completion=False)
log = logging.getLogger("crisiswatch")


class Fmt(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Level(StrEnum):
    notice = "notice"
    warning = "warning"
    crisis = "crisis"


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Config file (YAML).")]


class _QuietLibraries(logging.Filter):
    """Scrapy and Twisted talk a lot at INFO; keep their warnings and errors only.
    A filter on our handler survives Scrapy resetting the root logger's level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.startswith("crisiswatch")


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                                           "%H:%M:%S"))
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        handler.addFilter(_QuietLibraries())
    logging.basicConfig(level=logging.DEBUG, handlers=[handler], force=True)
    logging.getLogger("apprise").propagate = False  # its failures reach us via the outbox


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def connect(url: str):  # noqa: ANN201 - sqlalchemy Engine
    """Open and migrate the database, or exit with a message that names it."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from db.engine import open_database

    try:
        return open_database(url)
    except SQLAlchemyError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
        raise fail(f"cannot open database {shown}: {reason}", code=1) from None


def read_config(path: Path) -> Config:
    from monitor.scorers import check_scoring

    try:
        config = load_config(path)
    except ConfigError as exc:
        raise fail(f"{path}: invalid configuration\n{exc}") from None
    if problems := check_scoring(config):
        raise fail(f"{path}: invalid configuration\n" + "\n".join(problems))
    return config


def config_or_default(path: Path) -> Config:
    """The config file if there is one, else the defaults (for commands that can
    work without a file, such as ``score``)."""
    return read_config(path) if path.exists() else Config(data_dir=str(Path.cwd()))


@app.command("check-config")
def check_config(file: Annotated[Path, typer.Argument(help="The YAML file to validate.")]) -> None:
    """Validate a config file without running anything or writing anything."""
    config = read_config(file)
    typer.echo(f"{file}: OK: {len(config.brands)} brands, {len(config.sources)} sources, "
               f"{len(config.channels)} channels")
    for ch in config.channels:
        typer.echo(f"  channel {ch.name}: {redact_url(ch.url)} (min {ch.min_severity})")


@app.command()
def run(config: ConfigOpt = Path(DEFAULT_CONFIG),
        once: Annotated[bool, typer.Option(help="Poll every source once, process, exit.")] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Watch the configured sources until Ctrl-C (or once, with --once)."""
    from monitor.daemon import run_daemon
    from monitor.stages import Stages
    from monitor.summary import summarize
    from monitor.sync import sync_config

    cfg = read_config(config)
    setup_logging(verbose)
    engine = connect(cfg.database)
    sync_config(engine, cfg)
    log.info("watching %d sources for %d brands%s", len(cfg.sources), len(cfg.brands),
             " (one pass)" if once else "; Ctrl-C stops")
    run_daemon(Stages(engine, cfg), once=once)
    for line in summarize(engine).lines():
        typer.echo(line)


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


@app.command()
def history(config: ConfigOpt = Path(DEFAULT_CONFIG),
            database: Annotated[str | None, typer.Option(help="Database URL (instead of "
                                                         "the config's).")] = None,
            brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
            severity: Annotated[Level | None, typer.Option(help="This level and above.")] = None,
            since: Annotated[str | None, typer.Option(help="2h, 7d or a date.")] = None,
            fmt: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
            limit: Annotated[int, typer.Option(min=1)] = 100) -> None:
    """List flagged posts, newest first."""
    from monitor.history import FORMATS, flagged_posts

    since_at = parse_since(since) if since else None
    rows = flagged_posts(existing_database(config, database), brand=brand,
                         min_severity=severity.value if severity else None,
                         since=since_at, limit=limit)
    typer.echo(FORMATS[fmt.value](rows).rstrip("\n"))


def existing_database(config: Path, database: str | None):  # noqa: ANN201 - Engine
    """The database a read-only command looks at; a clear error if it was never made."""
    from sqlalchemy.engine import make_url

    url = database_url(config, database)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        raise fail(f"no database at {parsed.database} (has the daemon run yet?)")
    return connect(url)


DatabaseOpt = Annotated[str | None, typer.Option(help="Database URL (instead of the config's).")]


@app.command()
def incidents(config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None,
              brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
              severity: Annotated[Level | None, typer.Option(help="This level and above.")] = None,
              since: Annotated[str | None, typer.Option(help="Active since: 2h, 7d or a "
                                                        "date.")] = None,
              as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
              limit: Annotated[int, typer.Option(min=1)] = 50) -> None:
    """List incidents with severity, trend, category and forecast, most recent first."""
    from monitor import incidents as view

    rows = view.list_incidents(existing_database(config, database), brand=brand,
                               min_severity=severity.value if severity else None,
                               since=parse_since(since) if since else None, limit=limit)
    typer.echo(view.as_json(rows) if as_json else view.incidents_table(rows))


@app.command()
def incident(incident_id: Annotated[int, typer.Argument(help="The incident number.")],
             config: ConfigOpt = Path(DEFAULT_CONFIG), database: DatabaseOpt = None,
             as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False
             ) -> None:
    """Print one incident's timeline: mentions, replies over time, severity changes."""
    from monitor import incidents as view

    detail = view.incident_detail(existing_database(config, database), incident_id)
    if detail is None:
        raise fail(f"no incident #{incident_id}", code=1)
    typer.echo(view.as_json(detail) if as_json else view.incident_text(detail))


@app.command()
def backtest(posts: Annotated[Path, typer.Option("--posts", help="Recorded stream: JSONL (or "
                                                 ".csv) with at, source, id, brand, thread, "
                                                 "title, text, replies, likes, views.")],
             config: ConfigOpt = Path(DEFAULT_CONFIG),
             step: Annotated[str, typer.Option(help="Simulated polling interval.")] = "5m",
             as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
             keep: Annotated[Path | None, typer.Option(help="Keep the replay database here "
                                                       "(a new SQLite file).")] = None) -> None:
    """Replay recorded posts through scoring and detection in simulated time and print
    each alert with the time it would have fired. Nothing is delivered."""
    import json

    from monitor.backtest import RecordError, alert_lines, read_records, replay
    from monitor.scorers import scorer_for

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


sources_app = typer.Typer(help="Inspect sources: health, and a dry-run fetch.",
                          no_args_is_help=True)
app.add_typer(sources_app, name="sources")


class Kind(StrEnum):
    feed = "feed"
    forum = "forum"
    discourse = "discourse"


@sources_app.command("list")
def sources_list(config: ConfigOpt = Path(DEFAULT_CONFIG),
                 database: Annotated[str | None, typer.Option(help="Database URL.")] = None
                 ) -> None:
    """Health of every source: last success, last error, error count, posts seen."""
    from sqlmodel import select

    from db.engine import read_session
    from db.models import Source

    with read_session(connect(database_url(config, database))) as s:
        rows = s.exec(select(Source).order_by(Source.name)).all()
    if not rows:
        typer.echo("no sources yet (run the daemon with a config first)")
    for r in rows:
        ok = r.last_success_at.isoformat(timespec="seconds") if r.last_success_at else "never"
        state = "disabled" if not r.enabled else ("FAILING" if r.last_error else "ok")
        typer.echo(f"{r.name:<20} {r.kind:<9} {state:<8} last ok {ok:<25} errors "
                   f"{r.error_count:<3} posts {r.posts_seen:<6} {r.url}")
        if r.last_error:
            typer.echo(f"{'':<20} last error: {r.last_error}")


@sources_app.command("test")
def sources_test(
        name: Annotated[str | None, typer.Argument(help="A source in the config.")] = None,
        config: ConfigOpt = Path(DEFAULT_CONFIG),
        url: Annotated[str | None, typer.Option(help="Test this URL instead.")] = None,
        kind: Annotated[Kind, typer.Option(help="With --url.")] = Kind.forum,
        preset: Annotated[str | None, typer.Option(help="With --url: a forum preset.")] = None,
        page: Annotated[str, typer.Option(help="With --url: listing or thread.")] = "listing",
        threads: Annotated[int, typer.Option(min=0, help="Threads to open from a "
                                             "listing.")] = 1) -> None:
    """Fetch a source once and print what would be extracted; stores nothing."""
    from pydantic import ValidationError

    from monitor.config import FetchConfig, SourceConfig, format_errors
    from monitor.daemon import crawler_settings, fetch_settings
    from monitor.probe import format_report, run_probe

    if (name is None) == (url is None):
        raise fail("give a source NAME from the config, or --url (with --kind/--preset)")
    if name is not None:
        cfg = read_config(config)
        found = [src for src in cfg.sources if src.name == name]
        if not found:
            raise fail(f"no source named {name!r} in {config} "
                       f"(known: {', '.join(x.name for x in cfg.sources) or 'none'})")
        src, fetch = found[0], cfg.fetch
    else:
        try:
            src = SourceConfig(name="probe", kind=kind.value, url=url, preset=preset, page=page)
        except ValidationError as exc:
            raise fail(format_errors(exc)) from None
        fetch = FetchConfig()
    setup_logging()
    settings = crawler_settings(None, LOG_INSTALL_ROOT_HANDLER=False,
                                **fetch_settings(Config(fetch=fetch)))
    report = run_probe(settings, kind=src.kind, url=src.url, preset=src.preset,
                       rules=src.rules, page=src.page, threads=threads, robots=src.robots)
    typer.echo(format_report(report))
    if report.error:
        raise typer.Exit(1)


class Lang(StrEnum):
    zh = "zh"
    en = "en"


@app.command()
def score(text: Annotated[str, typer.Argument(help="The text to score (quote it).")],
          config: ConfigOpt = Path(DEFAULT_CONFIG),
          as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """Score one text as the daemon would: language, sentiment, risk, reasons."""
    import json as json_mod

    from monitor.scorers import scorer_for

    cfg = config_or_default(config)
    result = scorer_for(cfg).score(text)
    flagged = result.risk >= cfg.detection.risk_threshold
    if as_json:
        typer.echo(json_mod.dumps({"language": result.language, "sentiment": result.sentiment,
                                   "risk": result.risk, "flagged": flagged,
                                   "probability": result.probability,
                                   "cues": list(result.cues), "reasons": list(result.reasons)},
                                  ensure_ascii=False))
        return
    backend = getattr(cfg.scoring, result.language)
    typer.echo(f"language: {result.language} (sentiment by {backend})")
    typer.echo(f"sentiment: {result.sentiment:.2f} (probability positive)")
    typer.echo(f"risk: {result.risk:.2f} ({'flagged' if flagged else 'not flagged'} at "
               f"{cfg.detection.risk_threshold:g})")
    if result.probability is not None:
        typer.echo(f"probability of a complaint: {result.probability:.2f} (calibrated on the "
                   "model's labelled data)")
    for reason in result.reasons or ("no crisis cues, tone not negative",):
        typer.echo(f"  - {reason}")


model_app = typer.Typer(help="Train and evaluate sentiment models on labelled CSV files.",
                        no_args_is_help=True)
app.add_typer(model_app, name="model")
DataOpt = Annotated[Path, typer.Option("--data", help="UTF-8 CSV with text and label columns "
                                       "(label 1/negative/complaint or 0/positive/neutral).")]


def _labelled(path: Path) -> tuple[list[str], list[int]]:
    from monitor.textmodel import read_labelled_csv

    try:
        texts, labels = read_labelled_csv(path)
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: {exc}") from None
    if len(set(labels)) < 2:
        raise fail(f"{path}: needs both negative (1) and other (0) rows")
    return texts, labels


@model_app.command("train")
def model_train(data: DataOpt, language: Annotated[Lang, typer.Option(help="zh or en.")],
                config: ConfigOpt = Path(DEFAULT_CONFIG),
                out: Annotated[Path | None, typer.Option(help="Where to save (default: "
                                                         "<data_dir>/models/LANG.npz).")] = None
                ) -> None:
    """Fit a model on 90% of the file, report it on the other 10%, save it."""
    from dataclasses import asdict, replace

    from monitor.scorers import trained_model_path
    from monitor.textmodel import evaluate, save, split, train

    cfg = config_or_default(config)
    texts, labels = _labelled(data)
    train_idx, test_idx = split(len(texts), test_fraction=0.1)
    typer.echo(f"training a {language.value} model on {len(train_idx)} rows "
               f"({sum(labels[i] for i in train_idx)} negative)...")
    model = train([texts[i] for i in train_idx], [labels[i] for i in train_idx], language.value)
    held_texts, held_labels = [texts[i] for i in test_idx], [labels[i] for i in test_idx]
    held = evaluate(model, held_texts, held_labels)
    model = replace(model, metrics={"held_out": asdict(held)}, trained_on=data.name,
                    risk_calibration=_risk_calibration(model, held_texts, held_labels))
    target = out or trained_model_path(Path(cfg.data_dir), language.value)
    target.parent.mkdir(parents=True, exist_ok=True)
    save(model, target)
    typer.echo(f"held-out {len(test_idx)} rows: {_metrics_line(held)} at threshold "
               f"{model.threshold:.2f}")
    typer.echo(f"saved {target}; use it with `scoring: {{{language.value}: trained}}`"
               if out is None else f"saved {target}")


def _risk_calibration(model, texts: list[str], labels: list[int]):  # noqa: ANN001, ANN202
    """Platt-fit the whole risk (tone, cues, intensity) on the held-out rows, so
    `score` can say how likely a complaint is; printed with its ECE before/after."""
    from monitor.scoring import LexiconScorer
    from monitor.textmodel import auc_and_f1, calibrated, fit_platt

    if len(set(labels)) < 2:
        typer.echo("risk calibration skipped: the held-out rows have one label only")
        return None
    scorer = LexiconScorer(sentiment=lambda text, _language: 1.0 - model.probability(text))
    risks = [scorer.score(t).risk for t in texts]
    fit = fit_platt(risks, labels)
    before = auc_and_f1(risks, labels, 0.5).ece
    after = auc_and_f1([calibrated(r, fit) for r in risks], labels, 0.5).ece
    typer.echo(f"risk calibrated on the held-out rows: ECE {before:.3f} -> {after:.3f} "
               "(fitted and measured on the same rows)")
    return fit


@model_app.command("eval")
def model_eval(data: DataOpt, config: ConfigOpt = Path(DEFAULT_CONFIG),
               language: Annotated[Lang | None, typer.Option(help="Evaluate the configured "
                                                            "backend for this language.")] = None
               ) -> None:
    """AUC, precision, recall, F1 and calibration on a labelled file: of the configured
    sentiment backend at 0.5, and of the whole risk score at detection.risk_threshold."""
    from monitor.scorers import resolve_backend, scorer_for
    from monitor.textmodel import auc_and_f1

    cfg = config_or_default(config)
    texts, labels = _labelled(data)
    if language is None:
        from monitor.normalize import detect_language

        votes = [detect_language(t) for t in texts[:200]]
        language = Lang(max(set(votes), key=votes.count))
    backend = getattr(cfg.scoring, language.value)
    sentiment = resolve_backend(backend, language.value, Path(cfg.data_dir))
    negative = [1.0 - sentiment(t) for t in texts]
    m = auc_and_f1(negative, labels, threshold=0.5)
    typer.echo(f"{len(texts)} rows, language {language.value}, backend {backend}")
    typer.echo(f"  sentiment: {_metrics_line(m)} at 0.5")
    scorer, threshold = scorer_for(cfg), cfg.detection.risk_threshold
    m = auc_and_f1([scorer.score(t).risk for t in texts], labels, threshold=threshold)
    typer.echo(f"  risk:      {_metrics_line(m)} at risk_threshold {threshold:g}")


def _metrics_line(m) -> str:  # noqa: ANN001
    return (f"AUC {m.auc:.3f}, precision {m.precision:.3f}, recall {m.recall:.3f}, "
            f"F1 {m.f1:.3f}, Brier {m.brier:.3f}, ECE {m.ece:.3f}")


@app.command()
def rescore(config: ConfigOpt = Path(DEFAULT_CONFIG),
            since: Annotated[str | None, typer.Option(help="2h, 7d or a date; default: "
                                                      "every stored post.")] = None) -> None:
    """Score stored posts again with the configured scorer; alerts are not repeated."""
    from monitor.rescore import rescore as run_rescore
    from monitor.scorers import scorer_for
    from monitor.stages import Stages

    cfg = read_config(config)
    engine = connect(cfg.database)
    report = run_rescore(engine, scorer_for(cfg), cfg.detection.risk_threshold,
                         parse_since(since) if since else None)
    typer.echo(f"rescored {report.posts} posts: {report.updated} mentions updated, "
               f"{report.added} new, {report.newly_flagged} newly flagged")
    setup_logging()
    Stages(engine, cfg).run(ignore_backoff=True)  # detect and alert on what changed


@app.command()
def demo(speed: Annotated[float, typer.Option(min=0.5, max=20, help="Play the scripted minute "
                                              "this many times faster.")] = 1.0,
         keep: Annotated[bool, typer.Option(help="Keep the demo database and print "
                                            "its path.")] = False) -> None:
    """Play a scripted crisis on a local simulated site (127.0.0.1 only) and watch
    the daemon catch it: alerts as they arrive, then a summary."""
    from monitor.demo import run_demo

    setup_logging()
    logging.getLogger("crisiswatch").setLevel(logging.WARNING)  # the demo prints its own
    raise typer.Exit(run_demo(speed=speed, keep=keep, echo=typer.echo))


def _mount() -> None:
    """Command groups that live in their own modules."""
    from monitor.cli_alerts import alerts_app, report
    from monitor.cli_playbooks import playbooks_app
    from monitor.cli_reply import reply_check
    from monitor.cli_users import users_app
    from monitor.cli_web import web

    app.add_typer(alerts_app, name="alerts")
    app.add_typer(playbooks_app, name="playbooks")
    app.add_typer(users_app, name="users")
    app.command("report")(report)
    app.command("reply-check")(reply_check)
    app.command("web")(web)


_mount()

if __name__ == "__main__":
    app()
