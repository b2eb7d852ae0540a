"""Forum crawl throughput on this machine: crisiswatch's full path (listing ->
thread pages -> extract -> deduplicate -> store in SQLite) against a bare
Scrapy spider that only downloads the same URLs, measured in the same run.

Both crawl with the same manners (robots.txt, the User-Agent, the per-domain
concurrency and AutoThrottle settings of ``crawlers/settings.py`` and the
``fetch`` section), so the ratio is the cost of the crawl path, not of politeness.
Both are timed at the server, from the first to the last request, so process
start-up is not counted; the CPU seconds each process spent from its first request
to its exit are counted too, since on a shared machine wall time varies with the
neighbours more than with the code. Each side runs ``--repeats`` times, alternating,
and the best run counts. ``--before DIR`` also runs crisiswatch from another
checkout (e.g. the main branch) in the same run. Run:
``python -m bench.crawl_throughput [--threads N] [--before DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from crawlers import settings as crawl_settings
from tests.forum_site import RULES, Forum, FPost

ROOT = Path(__file__).resolve().parent.parent
BASELINE = '''
import json, sys, scrapy
from scrapy.crawler import CrawlerProcess
urls = sys.argv[2:]
class Bare(scrapy.Spider):
    name = "bare"
    async def start(self):
        for u in urls:
            yield scrapy.Request(u, callback=lambda r: None, dont_filter=True)
settings = {"LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False, **json.loads(sys.argv[1])}
p = CrawlerProcess(settings); p.crawl(Bare); p.start()
'''
# the manners crisiswatch crawls with (crawlers/settings.py), given to the bare spider
# too: with AutoThrottle on for one side only (as this bench had it until issue 20's
# third session), the ratio compared politeness, not the cost of the crawl path
MANNERS = ("ROBOTSTXT_OBEY", "USER_AGENT", "CONCURRENT_REQUESTS", "AUTOTHROTTLE_START_DELAY",
           "AUTOTHROTTLE_MAX_DELAY", "AUTOTHROTTLE_TARGET_CONCURRENCY", "DOWNLOAD_TIMEOUT",
           "COOKIES_ENABLED", "REDIRECT_MAX_TIMES")


def build(threads: int, posts: int) -> Forum:
    forum = Forum()
    for t in range(1, threads + 1):
        forum.add(t, f"Thread {t}", *(FPost(t * 1000 + i, f"user{i}",
                                            f"post {i} of thread {t}: battery and camera talk")
                                      for i in range(posts)))
    return forum


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a running process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(forum: Forum, argv: list[str], cwd: Path) -> tuple[int, float, float]:
    """Pages fetched, seconds from the first to the last request, and the CPU
    seconds the process used from its first request to its exit."""
    forum.requests.clear()
    forum.stamps.clear()
    log = tempfile.TemporaryFile()  # a pipe nobody reads would fill and stop it
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log)
    before = 0.0
    while proc.poll() is None and not forum.stamps:
        before = cpu_s(proc.pid)
        time.sleep(0.02)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        log.seek(0)
        raise RuntimeError(log.read().decode(errors="replace")[-2000:])
    pages = [p for p in forum.requests if p != "/robots.txt"]
    stamps = forum.stamps
    secs = (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    return len(pages), secs, usage.ru_utime + usage.ru_stime - before


def ours(forum: Forum, folder: Path, per_domain: int, autothrottle: bool) -> list[str]:
    config = folder / "bench.yaml"
    config.write_text(yaml.safe_dump({
        "database": f"sqlite:///{folder / f'bench-{time.monotonic_ns()}.db'}",
        "brands": [{"name": "Acme", "keywords": ["acme"]}],
        "fetch": {"per_domain": per_domain, "autothrottle": autothrottle, "retries": 0},
        "sources": [{"name": "board", "kind": "forum", "url": f"{forum.base}/forum",
                     "rules": RULES}]}), encoding="utf-8")
    return [sys.executable, "-m", "monitor.cli", "run", "--once", "--role", "crawl",
            "--config", str(config)]


def bare(urls: list[str], per_domain: int, autothrottle: bool) -> list[str]:
    """Bare Scrapy fetching ``urls`` with crisiswatch's manners and the same
    ``fetch`` settings as ``ours`` (per-domain concurrency, AutoThrottle, no retries)."""
    manners = {name: getattr(crawl_settings, name) for name in MANNERS}
    manners.update(CONCURRENT_REQUESTS_PER_DOMAIN=per_domain, AUTOTHROTTLE_ENABLED=autothrottle,
                   RETRY_TIMES=0)
    return [sys.executable, "-c", BASELINE, json.dumps(manners), *urls]


def best(runs: list[tuple[int, float, float]]) -> tuple[int, float, float]:
    """The fastest run (pages/s), with the least CPU among the runs."""
    n, secs, _ = max(runs, key=lambda r: r[0] / r[1])
    return n, secs, min(r[2] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=150)
    parser.add_argument("--posts", type=int, default=12, help="posts per thread (3 a page)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another checkout to run as well")
    args = parser.parse_args()
    forum = build(args.threads, args.posts)
    command = " ".join(["python -m bench.crawl_throughput", *sys.argv[1:]])
    lines = [f"`{command}`", "",
             f"forum: {args.threads} threads x {args.posts} posts "
             f"({args.threads * (-(-args.posts // 3)) + 1} pages), loopback, SQLite, "
             f"2 cores shared with other work; best of {args.repeats} runs each", ""]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for per_domain, throttle in ((2, True), (16, False)):
                lines += compare(forum, Path(tmp), per_domain, throttle, args)
    finally:
        forum.stop()
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results" / "crawl_throughput.md"
    out.write_text(report + "\n", encoding="utf-8")


def compare(forum: Forum, folder: Path, per_domain: int, throttle: bool,
            args: argparse.Namespace) -> list[str]:
    """One setting: crisiswatch (and ``--before``) against bare Scrapy."""
    sides = {"crisiswatch": ROOT, **({"before": args.before} if args.before else {})}
    runs: dict[str, list] = {name: [] for name in [*sides, "bare"]}
    for _ in range(args.repeats):
        for name, checkout in sides.items():
            runs[name].append(timed(forum, ours(forum, folder, per_domain, throttle),
                                    checkout))
        urls = [forum.base + p for p in forum.requests if p != "/robots.txt"]
        runs["bare"].append(timed(forum, bare(urls, per_domain, throttle), ROOT))
    label = "defaults (per_domain 2, AutoThrottle on)" if throttle else \
        "unthrottled (per_domain 16, AutoThrottle off)"
    bn, bsecs, bcpu = best(runs["bare"])
    lines = [f"{label}:", f"- bare Scrapy: {bn / bsecs:.0f} pages/s ({bn} pages in "
                          f"{bsecs:.1f} s), {bcpu:.2f} CPU s"]
    for name in sides:
        n, secs, cpu = best(runs[name])
        lines.append(f"- {name}: {n / secs:.0f} pages/s ({n} pages in {secs:.1f} s), "
                     f"{cpu:.2f} CPU s; against bare: {(n / secs) / (bn / bsecs):.2f} "
                     f"of its pages/s, {bcpu / cpu:.2f} of its pages per CPU s")
    return [*lines, ""]


if __name__ == "__main__":
    main()
