"""The console's "test fetch": the same real Scrapy fetch as ``crisiswatch sources
test`` (monitor/daemon.py), run in a child process.

A child process because Scrapy's Twisted reactor can be started only once per
process and would block the web server's event loop; ``probe()`` waits for it
with a timeout and kills it when the site hangs. The child also refuses every
request (redirects and robots.txt included) whose host the console may not
reach (crawlers/guard.py), so a public URL that redirects to 169.254.169.254 is
stopped there.

Run as ``python -m web.admin.probe``: JSON arguments on stdin, one JSON report on
the last line of stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from db.messages import said

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 15.0  # a fresh interpreter importing Scrapy
REQUESTS = 3  # robots.txt, the page, and one thread of a forum listing
TITLES = 50


@dataclass
class ProbeResult:
    """What the page shows: the formatted report, the titles found, and the failure."""

    ok: bool
    status: int | None = None
    error: str | None = None
    titles: list[str] = field(default_factory=list)
    text: str = ""


def _titles(report) -> list[str]:  # noqa: ANN001
    """Titles of what was extracted: feed entries, listed threads, thread posts."""
    titles = [p.title for p in report.posts]
    if report.listing is not None:
        titles += [t.title for t in report.listing.threads]
    for _url, page, _error in report.pages:
        if page is not None:
            titles += [p.title or p.text[:80] for p in page.posts]
    return titles[:TITLES]


def _child(args: dict) -> dict:
    """In the child: run the probe spider once and describe what it got."""
    # Scrapy and its reactor load in the child only: the console process never installs one.
    from monitor.config import Config, FetchConfig
    from monitor.daemon import crawler_settings, fetch_settings, format_report, run_probe

    fetch = FetchConfig.model_validate(args.get("fetch") or {})
    settings = crawler_settings(None, LOG_ENABLED=False, **{
        **fetch_settings(Config(fetch=fetch)), "CRISISWATCH_GUARD_ALL": True,
        "CRISISWATCH_ALLOW_PRIVATE": args.get("allow", [])})
    report = run_probe(settings, kind=args["kind"], url=args["url"], preset=args.get("preset"),
                       rules=args.get("rules"), page=args.get("page", "listing"),
                       threads=int(args.get("threads", 1)), robots=args.get("robots", True))
    return {"ok": report.error is None, "status": report.status, "error": report.error,
            "titles": _titles(report), "text": format_report(report)}


def probe(source: dict, *, allow: Sequence[str], fetch: dict | None = None,
          timeout: float | None = None) -> ProbeResult:
    """Fetch ``source`` (kind, url, preset, rules, page, robots) once in a child
    process, with the config's fetch limits but no retries (an admin is waiting);
    never raises: a hang or crash becomes the result's error. The default time
    limit lets each request use the whole download timeout."""
    fetch = {**(fetch or {}), "retries": 0}
    if timeout is None:
        timeout = STARTUP_S + REQUESTS * float(fetch.get("timeout", 20.0))
    args = {**source, "allow": list(allow), "fetch": fetch, "threads": 1}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    try:
        done = subprocess.run([sys.executable, "-m", "web.admin.probe"], input=json.dumps(args),
                              capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return ProbeResult(False, error=said("no answer within %(n)s s", n=f"{timeout:g}"))
    lines = done.stdout.strip().splitlines()
    try:
        return ProbeResult(**json.loads(lines[-1]))
    except (IndexError, ValueError, TypeError):
        tail = " ".join(done.stderr.strip().splitlines()[-3:])[-500:]
        if not tail:
            return ProbeResult(False, error=said("the test fetch failed: no output"))
        return ProbeResult(False, error=said("the test fetch failed: %(why)s", why=tail))


def main() -> None:
    result = _child(json.loads(sys.stdin.read()))
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
