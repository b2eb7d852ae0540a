"""``crisiswatch demo``: the real daemon against a simulated site on 127.0.0.1.

Everything is local: the feed site and the alert receiver are loopback HTTP
servers in this process, the database is SQLite in a temporary folder."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from db.engine import open_database
from monitor.config import parse_config
from monitor.daemon import run_daemon
from monitor.history.summary import summarize
from monitor.lab.demo_script import BRAND, DURATION, EXPECTED, FEEDS, THREADS
from monitor.lab.localsite import AlertReceiver, FeedSite, Received
from monitor.stages.chain import Stages
from monitor.stages.sync import sync_config

_POST_LINK = re.compile(r"(?:/posts/|#p)([\w-]+)")
DRAIN_S = 4.0


def detection_delay(site: FeedSite, alert: Received) -> float | None:
    """Seconds from the newest change among the alert's posts (for a forum post:
    any post in its thread, since replies are what grew) to the alert's arrival."""
    entries = {e.id: [e] for feed in site.feeds.values() for e in feed}
    for thread in site.threads:
        entries.update({e.id: thread.posts for e in thread.posts})
    shown = [site.when_visible(e, alert.at) for i in _POST_LINK.findall(alert.body)
             for e in entries.get(i, [])]
    shown = [t for t in shown if t is not None]
    return alert.at - max(shown) if shown else None


def _first_steps(body: str, n: int = 3) -> list[str]:
    lines = body.splitlines()
    start = lines.index("First steps:") + 1 if "First steps:" in lines else len(lines)
    return lines[start:start + n]


def _why_and_posts(body: str) -> list[str]:
    """The "- " lines of the message's Why and Posts sections (not the playbook's)."""
    lines = body.splitlines()
    end = next((i for i, ln in enumerate(lines) if ln.startswith("Playbook:")), len(lines))
    return [ln for ln in lines[:end] if ln.startswith("- ")]


def _printer(site: FeedSite, echo: Callable[[str], None]) -> Callable[[Received], None]:
    def show(alert: Received) -> None:
        delay = detection_delay(site, alert)
        echo(f"\n=== {alert.title}   (t={site.now():.0f}s, "
             f"{f'{delay:.1f} s after the post' if delay is not None else 'delay unknown'})")
        for line in _why_and_posts(alert.body):
            echo(f"  {line}")
        echo("  first steps:")
        for line in _first_steps(alert.body):
            echo(f"    {line}")
    return show


def demo_config(site: FeedSite, receiver: AlertReceiver, folder: Path, speed: float):  # noqa: ANN201
    interval = max(0.5, 2.0 / speed)
    data = {
        "database": f"sqlite:///{folder / 'demo.db'}",
        "brands": [BRAND],
        "sources": [{"name": "demo-forum", "kind": "forum", "preset": "phpbb",
                     "url": f"{site.base}/viewforum.php?f=1", "interval": interval,
                     "hot_interval": interval}]
        + [{"name": f"demo-{name}", "kind": "feed", "url": f"{site.base}/{name}.xml",
            "interval": interval} for name in FEEDS],
        "channels": [{"name": "terminal", "url": receiver.url, "min_severity": "notice"}],
        # the simulated site is our own loopback server: no need to be polite to it, and
        # AutoThrottle's delays under load would blur the scripted timeline
        "fetch": {"autothrottle": False, "per_domain": 4},
    }
    return parse_config(data, base=folder, env={})


def run_demo(*, speed: float, keep: bool, echo: Callable[[str], None],
             folder: Path | None = None) -> int:
    """Play the script, print alerts as they arrive and a summary; 0 when all of
    notice, warning and crisis were delivered. The database is ``demo.db`` in
    ``folder`` (which the caller then owns: ``demo --web`` serves it), else in a
    temporary folder removed at the end unless ``keep``."""
    owned = folder is None
    folder = folder or Path(tempfile.mkdtemp(prefix="crisiswatch-demo-"))
    site = FeedSite()
    site.feeds = {name: list(entries) for name, entries in FEEDS.items()}
    site.threads = list(THREADS)
    receiver = AlertReceiver(on_alert=_printer(site, echo))
    site.server.start()
    receiver.server.start()
    try:
        config = demo_config(site, receiver, folder, speed)
        engine = open_database(config.database)
        sync_config(engine, config)
        echo(f"demo: a simulated phpBB forum and a news feed on {site.base}, playing "
             f"{DURATION:.0f} script seconds at {speed:g}x; alerts print as they arrive.")
        site.start_clock(speed)
        run_daemon(Stages(engine, config), once=False, stop_after=DURATION / speed + DRAIN_S,
                   CRISISWATCH_TICK=min(0.5, 0.5 / speed))
        return _report(site, receiver, engine, folder, keep, echo)
    finally:
        site.server.stop()
        receiver.server.stop()
        if owned and not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _report(site, receiver, engine, folder, keep, echo) -> int:  # noqa: ANN001
    echo("\n--- summary ---")
    for line in summarize(engine).lines():
        echo(line)
    delays = [d for a in receiver.received if (d := detection_delay(site, a)) is not None]
    if delays:
        echo(f"detection delay (post visible -> alert delivered): "
             f"min {min(delays):.1f} s, max {max(delays):.1f} s")
    got = Counter(a.title[1:a.title.index("]")].lower() for a in receiver.received)
    missing = [s for s in EXPECTED if not got[s]]
    if keep:
        echo(f"database kept: {folder / 'demo.db'}  (try: crisiswatch history "
             f"--database sqlite:///{folder / 'demo.db'})")
    if missing:
        echo(f"demo incomplete: no {', '.join(missing)} alert arrived")
        return 1
    return 0
