"""``crisiswatch sources list`` and ``sources test``: source health, and a dry-run
fetch that stores nothing."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlmodel import select

from alerts.render import inert
from db.engine import read_session
from db.models import Source
from monitor.cli.common import (
    EXIT_FAILED,
    ConfigOpt,
    DatabaseOpt,
    connect,
    database_url,
    fail,
    read_config,
    setup_logging,
)
from monitor.config import DEFAULT_CONFIG, Config, FetchConfig, SourceConfig, format_errors
from monitor.history.health import source_health, stream_status

sources_app = typer.Typer(help="Inspect sources: health, and a dry-run fetch.",
                          no_args_is_help=True)


class Kind(StrEnum):
    feed = "feed"
    forum = "forum"
    discourse = "discourse"
    bluesky = "bluesky"
    hackernews = "hackernews"
    mastodon = "mastodon"
    reddit = "reddit"


STREAM_SECONDS, STREAM_EVENTS = 10.0, 5_000


def _stream_test(src: SourceConfig, config: Path | None, full: bool, seconds: float) -> None:
    """A stream source: read the live tail for a few seconds and print the posts
    the config's brands would keep (every post without a config); store nothing."""
    import asyncio

    from crawlers.streams import sample
    from monitor.text.matching import BrandIndex, BrandRule
    from monitor.text.normalize import normalize

    brands = read_config(config).brands if config else []
    index = BrandIndex.build([BrandRule.build(i, b.name, b.keywords, b.exclude)
                              for i, b in enumerate(brands)])
    keep = (lambda text: bool(index.match(normalize(text)))) if brands else (lambda _t: True)
    found = asyncio.run(sample(src.url, keep, seconds=seconds, max_events=STREAM_EVENTS))
    typer.echo(f"read {found.url}: {found.events} events in at most {seconds:g} s, "
               f"{len(found.posts)} posts {'naming a brand' if brands else 'kept'}:")
    for p in found.posts:
        when = p.published_at.isoformat(timespec="seconds") if p.published_at else "-"
        typer.echo(f"  - {p.author} at {when}  {p.url}: "
                   f"{inert(p.text, len(p.text) + 1 if full else 100)}")
    if found.error:
        typer.echo(f"FAILED: {found.error}", err=True)
        raise typer.Exit(EXIT_FAILED)


@sources_app.command("list")
def sources_list(config: ConfigOpt = Path(DEFAULT_CONFIG),
                 database: DatabaseOpt = None) -> None:
    """Health of every source: last success, last error, error count, posts seen."""
    with read_session(connect(database_url(config, database))) as s:
        rows = s.exec(select(Source).order_by(Source.name)).all()
    if not rows:
        typer.echo("no sources yet (run the daemon with a config first)")
    for r in rows:
        ok = r.last_success_at.isoformat(timespec="seconds") if r.last_success_at else "never"
        state, _ = source_health(r)
        state = "FAILING" if state == "failing" else state
        typer.echo(f"{r.name:<20} {r.kind:<9} {state:<8} last ok {ok:<25} errors "
                   f"{r.error_count:<3} posts {r.posts_seen:<6} {r.url}")
        if r.last_error:
            typer.echo(f"{'':<20} last error: {r.last_error}")
        if r.health_note:
            typer.echo(f"{'':<20} note: {inert(r.health_note, 500)}")
        if r.stream_state is not None:
            typer.echo(f"{'':<20} {stream_status(r)}")


@sources_app.command("test")
def sources_test(
        name: Annotated[str | None, typer.Argument(help="A source in the config.")] = None,
        config: ConfigOpt = Path(DEFAULT_CONFIG),
        url: Annotated[str | None, typer.Option(help="Test this URL instead; with NAME, "
                                                "with that source's rules (e.g. a "
                                                "thread's last page).")] = None,
        kind: Annotated[Kind, typer.Option(help="With --url alone.")] = Kind.forum,
        preset: Annotated[str | None, typer.Option(help="With --url alone: a forum "
                                                   "preset.")] = None,
        page: Annotated[str | None, typer.Option(help="listing or thread (default: listing; "
                                                 "thread with NAME and --url).")] = None,
        threads: Annotated[int, typer.Option(min=0, help="Threads to open from a "
                                             "listing.")] = 1,
        full: Annotated[bool, typer.Option("--full", help="Print whole post bodies, not "
                                           "100-character excerpts.")] = False,
        seconds: Annotated[float, typer.Option(min=0.1, max=600, help="A stream (kind "
                                               "bluesky): how long to read it.")]
        = STREAM_SECONDS) -> None:
    """Fetch a source once and print what would be extracted, with warnings about
    rules that look wrong; stores nothing. Exits 1 when a fetch failed."""
    # Scrapy installs its reactor on import: only the command that crawls loads it
    from monitor.daemon import crawler_settings, fetch_settings, format_report, run_probe

    if name is None and url is None:
        raise fail("give a source NAME from the config, --url (with --kind/--preset), "
                   "or both (NAME's rules on another URL)")
    src, fetch = _probe_source(name, config, url, kind, preset, page)
    if src.kind == "bluesky":
        return _stream_test(src, config if name else None, full, seconds)
    setup_logging()
    settings = crawler_settings(None, LOG_INSTALL_ROOT_HANDLER=False,
                                **fetch_settings(Config(fetch=fetch)))
    rules = _hn_rules(src, config) if src.kind == "hackernews" else src.rules
    report = run_probe(settings, kind=src.kind, url=src.url, preset=src.preset,
                       rules=rules, page=src.page, threads=threads, robots=src.robots)
    typer.echo(format_report(report, full=full))
    if report.failure:
        typer.echo(f"FAILED: {report.failure}", err=True)
        raise typer.Exit(EXIT_FAILED)


def _probe_source(name: str | None, config: Path, url: str | None, kind: Kind,
                  preset: str | None, page: str | None) -> tuple[SourceConfig, FetchConfig]:
    """The source to test: one from the config (maybe pointed at ``url``), or one
    made of the command-line options."""
    try:
        if name is None:
            return (SourceConfig(name="probe", kind=kind.value, url=url, preset=preset,
                                 page=page or "listing"), FetchConfig())
        cfg = read_config(config)
        found = [src for src in cfg.sources if src.name == name]
        if not found:
            raise fail(f"no source named {name!r} in {config} "
                       f"(known: {', '.join(x.name for x in cfg.sources) or 'none'})")
        src = found[0]
        if url is not None or page is not None:
            src = src.model_copy(update={"url": url or src.url,
                                         "page": page or ("thread" if url else src.page)})
            src = SourceConfig.model_validate(src.model_dump())
        return src, cfg.fetch
    except ValidationError as exc:
        raise fail(format_errors(exc)) from None


def _hn_rules(src: SourceConfig, config: Path) -> dict:
    """A Hacker News source's search terms as the crawl would use them: its
    ``query``, else the keywords of the config's brands."""
    terms = src.query
    if terms is None:
        if not config.exists():
            raise fail(f"{config} not found: its brands' keywords are the search terms "
                       "of a hackernews source without query:")
        terms = [k for brand in read_config(config).brands for k in brand.keywords]
    if not terms:
        raise fail("no search terms: give the source query: or the config brands")
    return {"query": terms, "items_url": src.items_url}
