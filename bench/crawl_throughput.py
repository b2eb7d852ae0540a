"""Forum crawl throughput on this machine: crisiswatch's full path (listing ->
thread pages -> extract -> deduplicate -> store in SQLite) against a bare
Scrapy spider that only downloads the same URLs, measured in the same run.

Both are timed at the server, from the first to the last request, so process
start-up is not counted. Run: ``python -m bench.crawl_throughput [--threads N]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

import yaml

from tests.forum_site import RULES, Forum, FPost

ROOT = Path(__file__).resolve().parent.parent
BASELINE = '''
import sys, scrapy
from scrapy.crawler import CrawlerProcess
urls = sys.argv[2:]
class Bare(scrapy.Spider):
    name = "bare"
    async def start(self):
        for u in urls:
            yield scrapy.Request(u, callback=lambda r: None, dont_filter=True)
settings = {"LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
            "CONCURRENT_REQUESTS_PER_DOMAIN": int(sys.argv[1]), "AUTOTHROTTLE_ENABLED": False}
p = CrawlerProcess(settings); p.crawl(Bare); p.start()
'''


def build(threads: int, posts: int) -> Forum:
    forum = Forum()
    for t in range(1, threads + 1):
        forum.add(t, f"Thread {t}", *(FPost(t * 1000 + i, f"user{i}",
                                            f"post {i} of thread {t}: battery and camera talk")
                                      for i in range(posts)))
    return forum


def timed(forum: Forum, run) -> tuple[int, float]:  # noqa: ANN001
    forum.requests.clear()
    forum.stamps.clear()
    run()
    pages = [p for p in forum.requests if p != "/robots.txt"]
    stamps = forum.stamps
    return len(pages), (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")


def ours(forum: Forum, folder: Path, per_domain: int, autothrottle: bool) -> None:
    config = folder / "bench.yaml"
    config.write_text(yaml.safe_dump({
        "database": f"sqlite:///{folder / f'bench-{per_domain}-{autothrottle}.db'}",
        "brands": [{"name": "Acme", "keywords": ["acme"]}],
        "fetch": {"per_domain": per_domain, "autothrottle": autothrottle, "retries": 0},
        "sources": [{"name": "board", "kind": "forum", "url": f"{forum.base}/forum",
                     "rules": RULES}]}), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "monitor.cli", "run", "--once", "--config",
                    str(config)], cwd=ROOT, check=True, capture_output=True)


def bare(urls: list[str], per_domain: int) -> None:
    subprocess.run([sys.executable, "-c", BASELINE, str(per_domain), *urls], cwd=ROOT,
                   check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=150)
    parser.add_argument("--posts", type=int, default=12, help="posts per thread (3 a page)")
    args = parser.parse_args()
    forum = build(args.threads, args.posts)
    lines = [f"forum: {args.threads} threads x {args.posts} posts "
             f"({args.threads * (-(-args.posts // 3)) + 1} pages), loopback, 2 cores"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for per_domain, throttle in ((2, True), (16, False)):
                n, secs = timed(forum, partial(ours, forum, Path(tmp), per_domain, throttle))
                urls = [forum.base + p for p in forum.requests if p != "/robots.txt"]
                bn, bsecs = timed(forum, partial(bare, urls, per_domain))
                mine, base = n / secs, bn / bsecs
                label = "defaults (per_domain 2, AutoThrottle on)" if throttle else \
                    "unthrottled (per_domain 16, AutoThrottle off)"
                lines.append(f"{label}: crisiswatch {mine:.0f} pages/s ({n} pages in "
                             f"{secs:.1f} s); bare Scrapy {base:.0f} pages/s; ratio "
                             f"{mine / base:.2f}")
    finally:
        forum.stop()
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results" / "crawl_throughput.txt"
    out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
