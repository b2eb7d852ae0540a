"""The daemon: one Scrapy process with the long-running watch spider, a thread
per stream source (kind bluesky, ``monitor/stages/streams.py``), and the later
stages woken in-process whenever the store pipeline or a stream commits posts
(plus a periodic sweep for retries and anything missed). That is the ``all``
role; ``run_crawler`` is the ``crawl`` role, the same crawl with no stages (the
``process`` and ``dispatch`` roles loop in ``monitor/stages/loop.py``).

Stages run in one worker thread at a time so the reactor keeps fetching while
posts are scored; wake-ups that arrive while they run are coalesced into one
more run. Ctrl-C: Scrapy closes the spider gracefully, the reactor waits for
the worker, and a final pass drains what was fetched.

``run_probe`` is the other Scrapy run, ``crisiswatch sources test`` and the
console's test fetch: the probe spider once, with the daemon's settings and
manners, storing nothing; ``format_report`` is a pure function of its report so it
can be tested without a crawl.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy import Engine
from twisted.internet import task, threads
from twisted.python.failure import Failure

from crawlers import signals as cw_signals
from crawlers.spiders.probe import ProbeReport, ProbeSpider
from crawlers.spiders.watch import WatchSpider
from monitor.config import Config
from monitor.stages.chain import Stages, StagesReport
from monitor.stages.streams import StreamSupervisor

log = logging.getLogger("crisiswatch.daemon")
SWEEP_S = 5.0
EXCERPT = 100  # characters of a post shown by the probe


class StageWaker:
    """Runs ``run`` in a worker thread on demand, never two at once."""

    def __init__(self, run: Callable[[], StagesReport]) -> None:
        self.run = run
        self.busy = False
        self.again = False

    def wake(self, **_signal_kwargs: object) -> None:
        if self.busy:
            self.again = True
            return
        self.busy = True
        threads.deferToThread(self.run).addBoth(self._done)

    def _done(self, result: StagesReport | Failure) -> None:
        if isinstance(result, Failure):
            log.error("stage run failed; retrying at the next wake-up: %s",
                      result.getTraceback())
        self.busy = False
        if self.again:
            self.again = False
            self.wake()


def crawler_settings(database_url: str | None, **overrides: object) -> Settings:
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set("CRISISWATCH_DATABASE", database_url, priority="cmdline")
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    return settings


def fetch_settings(config: Config) -> dict[str, object]:
    f = config.fetch
    settings: dict[str, object] = {
        "DOWNLOAD_TIMEOUT": f.timeout, "DOWNLOAD_MAXSIZE": int(f.max_size_mb * 2**20),
        "RETRY_TIMES": f.retries, "CONCURRENT_REQUESTS_PER_DOMAIN": f.per_domain,
        "AUTOTHROTTLE_ENABLED": f.autothrottle, "CRISISWATCH_LEASE": f.lease,
        "CRISISWATCH_ALLOW_PRIVATE": list(config.console.allow_private)}
    if f.contact:
        settings["USER_AGENT"] = f"crisiswatch/0.1 (brand monitoring; +{f.contact})"
    return settings


def run_daemon(stages: Stages, *, once: bool, stop_after: float | None = None,
               on_started: Callable[[], None] | None = None,
               **settings: object) -> StagesReport:
    """The ``all`` role: fetch and process until stopped (or, with ``once``, one
    poll of every source); return the report of the final drain. ``on_started`` is
    called when the spider has opened."""
    waker = StageWaker(stages.run)
    _crawl(stages.config, stages.engine, once=once, wake=None if once else waker.wake,
           stop_after=stop_after, on_started=on_started, settings=settings)
    return stages.run(ignore_backoff=once)


def run_crawler(config: Config, engine: Engine, *, once: bool,
                stop_after: float | None = None,
                on_started: Callable[[], None] | None = None, **settings: object) -> None:
    """The ``crawl`` role: the watch spider and the stream sources, storing posts
    for the process workers; no stage runs in this process."""
    _crawl(config, engine, once=once, wake=None, stop_after=stop_after,
           on_started=on_started, settings=settings)


def _crawl(config: Config, engine: Engine, *, once: bool, wake: Callable[..., None] | None,
           stop_after: float | None, on_started: Callable[[], None] | None,
           settings: dict[str, object]) -> None:
    """One Scrapy process with the watch spider (and, unless ``once``, the streams);
    ``wake`` is called when a fetch stored something and at each sweep, ``on_started``
    once the spider has opened (its database opened: the crawl can work)."""
    process = CrawlerProcess(crawler_settings(
        config.database, LOG_INSTALL_ROOT_HANDLER=False,
        **{**fetch_settings(config), **settings}))
    crawler = process.create_crawler(WatchSpider)
    if wake is not None:
        crawler.signals.connect(wake, signal=cw_signals.fetch_stored)
    if on_started is not None:  # weak=False: the lambda has no other reference
        crawler.signals.connect(lambda **_: on_started(), signal=signals.spider_opened,
                                weak=False)
    process.crawl(crawler, once=once)
    # Scrapy installs the reactor it is configured for inside crawl(); importing
    # it any earlier would install Twisted's default one instead.
    from twisted.internet import reactor

    if wake is not None:
        sweep = task.LoopingCall(wake)
        reactor.callWhenRunning(sweep.start, SWEEP_S, now=False)
        reactor.addSystemEventTrigger("before", "shutdown",
                                      lambda: sweep.running and sweep.stop())
    if not once:
        _start_streams(engine, config, (lambda: reactor.callFromThread(wake)) if wake
                       else (lambda: None), reactor)
    if stop_after is not None:
        reactor.callLater(stop_after, process.stop)
    process.start()  # blocks; SIGINT/SIGTERM stop it gracefully

def _start_streams(engine: Engine, config: Config, wake: Callable[[], None],
                   reactor) -> None:  # noqa: ANN001
    """The stream sources (kind bluesky; mastodon with its token) read beside the
    spider, each in its thread;
    a new or re-enabled one starts at the next sweep; at shutdown each commits
    what it read. A ``--once`` run polls and has no streams."""
    streams = StreamSupervisor(engine, wake, allow_private=config.console.allow_private)
    refresh = task.LoopingCall(streams.refresh)
    reactor.callWhenRunning(refresh.start, SWEEP_S, now=True)

    def stop() -> None:
        if refresh.running:
            refresh.stop()
        streams.stop()

    reactor.addSystemEventTrigger("before", "shutdown", stop)


def _short(text: str | None, n: int = EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _when(value) -> str:  # noqa: ANN001
    return value.isoformat(timespec="minutes") if value else "-"


def _body(text: str, full: bool) -> str:
    if not full:
        return _short(text)
    return "\n      ".join(["", *text.splitlines()]) if "\n" in text else text


def _counts(post) -> str:  # noqa: ANN001
    """A social post's other counters and address (a forum post has no boosts)."""
    if post.shares is None:
        return ""
    return f" replies={post.replies} boosts={post.shares} {post.url or ''}"


def format_report(report: ProbeReport, *, full: bool = False) -> str:
    """The probe's findings as text; ``full`` prints whole post bodies, not excerpts."""
    lines = [f"fetched {report.url}: HTTP {report.status if report.status else '-'}"]
    if report.error:
        lines.append(f"ERROR: {report.error}")
    if report.posts:
        lines.append(f"{len(report.posts)} entries:")
        lines += [f"  - {_when(p.published_at)}  {_short(p.title)}  {p.url or ''}"
                  for p in report.posts]
    if report.listing is not None:
        listing = report.listing
        lines.append(f"{len(listing.threads)} threads (next page: {listing.next_page or '-'}):")
        lines += [f"  - [{t.key}] {_short(t.title, 60)}  replies={t.replies} views={t.views} "
                  f"last={_when(t.last_post_at)}  {t.url}" for t in listing.threads]
        if not listing.threads:
            lines.append("  extraction returned nothing: check the listing rules")
    for url, page, error in report.pages:
        if error:
            lines.append(f"{report.label} {url}: ERROR: {error}")
            continue
        lines.append(f"{report.label} {url}: {len(page.posts)} posts (next page: "
                     f"{page.next_page or '-'}) title={_short(page.title, 60)!r}")
        lines += [f"  - {p.author or '(no author)'} at {_when(p.published_at)} "
                  f"likes={p.likes}{_counts(p)} ({len(p.text)} chars): {_body(p.text, full)}"
                  for p in page.posts]
        if not page.posts:
            lines.append("  extraction returned nothing: check the thread rules")
        lines += [f"  WARNING: {w}" for w in report.warnings.get(url, [])]
    lines += [f"follow-up ERROR: {e}" for e in report.follow_errors]
    lines += _searches(report, full)
    return "\n".join(lines)


def _searches(report: ProbeReport, full: bool) -> list[str]:
    """A Hacker News test: each search's hits as posts, their stories, one story's counters."""
    lines = []
    for url, posts, stories in report.searches:
        lines.append(f"search {url}: {len(posts)} posts would be stored, in "
                     f"{len(stories)} stories")
        lines += [f"  - [story {p.thread_key}] {p.author or '(no author)'} at "
                  f"{_when(p.published_at)} {_short(p.title, 60)!r} {p.url} "
                  f"({len(p.text)} chars): {_body(p.text, full)}" for p in posts]
        lines += [f"  story {t.key}: points={t.likes} comments={t.replies} "
                  f"{_short(t.title, 60)!r}" for t in stories if t.replies is not None]
    for url, ref in report.items:
        if url:
            lines.append(f"item API {url}: points={ref.likes} comments={ref.replies}")
    return lines


def run_probe(settings, **spider_args: object) -> ProbeReport:  # noqa: ANN001
    """Fetch once with real Scrapy (same limits and manners), store nothing."""
    report = ProbeReport(str(spider_args.get("url", "")))
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(ProbeSpider, report=report, **spider_args)
    process.start()
    return report
