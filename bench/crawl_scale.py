"""Many feed sources polled by one crawl worker (issue 20: 10,000 feeds at a
5-minute interval polled on time by one crawl worker in at most 300 MB RSS).

Serves ``--feeds`` small RSS feeds from loopback servers, one per host address
127.0.0.2, 127.0.0.3, ... (``--hosts`` of them: Scrapy's per-domain politeness
is per host, and 10,000 real feeds do not share one), each feed gaining one
entry per interval and answering 304 to a matching ``If-None-Match`` as most
real feeds do. Then runs ``crisiswatch run --role crawl`` with the default
manners (robots.txt, 2 requests per host, AutoThrottle) against a fresh
PostgreSQL database for ``--rounds`` intervals and reports, from the servers'
request log: when the first round (every feed never polled) finished, each
feed's gaps between polls after it, the share of those within the interval
(plus the claim tick and ``--slack``), the worst gap, and the worker's peak
RSS (VmHWM). Run: ``python -m bench.crawl_scale [--feeds 10000 --interval 300]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from bench.machine import cpu_name
from bench.scheduler import PG_ADMIN, postgres

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "crawl_scale.md"


class Farm:
    """``hosts`` loopback servers sharing one request log of (feed, monotonic time)."""

    def __init__(self, hosts: int, interval: float) -> None:
        self.interval, self.started = interval, time.time()
        self.log: list[tuple[int, float]] = []
        self.servers = [self._serve(f"127.0.0.{2 + h}") for h in range(hosts)]

    def _serve(self, host: str) -> ThreadingHTTPServer:
        farm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if not self.path.startswith("/f/"):
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                feed = int(self.path[3:].split(".")[0])
                farm.log.append((feed, time.monotonic()))
                bucket = int((time.time() - farm.started) // farm.interval)
                etag = f'"{feed}-{bucket}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                body = farm.feed(feed, bucket)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer((host, 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def feed(self, feed: int, bucket: int) -> bytes:
        items = "".join(
            f"<item><guid>f{feed}-{b}</guid><title>feed {feed} entry {b}</title>"
            f"<description>entry {b} of feed {feed}: battery and camera talk</description>"
            f"<pubDate>{time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(self.started + b * self.interval))}</pubDate></item>"  # noqa: E501
            for b in range(max(0, bucket - 2), bucket + 1))
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>feed {feed}'
                f"</title>{items}</channel></rss>").encode()

    def url(self, feed: int) -> str:
        host, port = self.servers[feed % len(self.servers)].server_address[:2]
        return f"http://{host}:{port}/f/{feed}.xml"

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def config(farm: Farm, feeds: int, interval: float, database: str, folder: Path) -> Path:
    path = folder / "scale.yaml"
    path.write_text(yaml.safe_dump({
        "database": database,
        "brands": [{"name": "Acme", "keywords": ["acme"]}],
        "sources": [{"name": f"feed-{i}", "kind": "feed", "url": farm.url(i),
                     "interval": interval} for i in range(feeds)]}), encoding="utf-8")
    return path


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a running process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def crawl(cfg: Path, farm: Farm, seconds: float, checkout: Path = ROOT
          ) -> tuple[float, float, tuple[float, float]]:
    """Run the crawl role (from ``checkout``) for ``seconds`` after its first request;
    its start-up (seconds to the first request), peak RSS (MB) and CPU seconds
    before and after its first request."""
    log = tempfile.TemporaryFile()  # a pipe nobody reads would fill and stop it
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--role", "crawl",
                             "--config", str(cfg)], cwd=checkout, stdout=subprocess.DEVNULL,
                            stderr=log, env={**os.environ, "PYTHONPATH": str(checkout)})
    try:
        while not farm.log and proc.poll() is None:  # start-up: the config's sync
            time.sleep(0.5)
        startup, before = time.monotonic() - started, cpu_s(proc.pid)
        time.sleep(seconds)
        rss, cpu = peak_rss_mb(proc.pid), cpu_s(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.returncode not in (0, -signal.SIGTERM):
        log.seek(0)
        sys.stderr.write(log.read().decode(errors="replace")[-3000:])
    return startup, rss, (before, cpu - before)


def gaps(log: list[tuple[int, float]], feeds: int) -> tuple[float, list[float], int]:
    """When every feed had been polled once (seconds after the first request), the
    gaps between later polls of each feed, and how many feeds were never polled."""
    start = log[0][1]
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    out: list[float] = []
    for feed, at in log:
        if feed in last:
            out.append(at - last[feed])
        first.setdefault(feed, at)
        last[feed] = at
    missing = feeds - len(first)
    done = max(first.values()) - start if not missing else float("nan")
    return done, out, missing


def spread(later: list[float], interval: float, slack: float) -> str:
    """The gaps' median, 95th and 99th percentiles, mean excess over the interval
    and how many came more than ``slack`` early: a schedule counted from the end of
    each fetch drifts later by the fetch's latency every round."""
    if not later:
        return "none"
    ordered = sorted(later)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    early = sum(g < interval - slack for g in later)
    return (f"median {at(0.5):.1f} s, p95 {at(0.95):.1f} s, p99 {at(0.99):.1f} s, mean "
            f"{sum(later) / len(later) - interval:+.1f} s against the interval; "
            f"{early:,} more than {slack:.0f} s early")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--interval", type=float, default=300.0)
    parser.add_argument("--rounds", type=float, default=2.5,
                        help="how many intervals the worker runs after its first request")
    parser.add_argument("--slack", type=float, default=5.0,
                        help="seconds past the interval a poll still counts as on time")
    parser.add_argument("--admin", default=PG_ADMIN)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="run the worker from another checkout (e.g. main)")
    args = parser.parse_args()
    farm = Farm(args.hosts, args.interval)
    try:
        with tempfile.TemporaryDirectory() as tmp, postgres(args.admin) as url:
            cfg = config(farm, args.feeds, args.interval, url, Path(tmp))
            startup, rss, cpu = crawl(cfg, farm, args.rounds * args.interval, args.checkout)
    finally:
        farm.stop()
    report(args, farm.log, startup, rss, cpu)


def report(args: argparse.Namespace, log: list[tuple[int, float]], startup: float,
           rss: float, cpu: tuple[float, float]) -> None:
    done, later, missing = gaps(log, args.feeds)
    bound = args.interval + args.slack
    on_time = sum(g <= bound for g in later)
    worst = max(later, default=float("nan"))
    command = " ".join(["python -m bench.crawl_scale", *sys.argv[1:]])
    lines = [
        f"# One crawl worker, {args.feeds:,} feeds at a {args.interval:.0f} s interval",
        "", f"`{command}` on {cpu_name()}, {time.strftime('%Y-%m-%d')} (2 cores, other "
        "work running). PostgreSQL, default manners (robots.txt, 2 requests per host, "
        f"AutoThrottle), {args.hosts} loopback hosts; the worker ran {args.rounds} intervals "
        f"after its first request, from {args.checkout}.", "",
        f"- start-up (process start to first request: config read, migrations, sync): "
        f"{startup:.0f} s",
        f"- requests: {len(log):,} ({len(log) / (args.rounds * args.interval):.1f} a second); "
        f"feeds never polled: {missing:,}",
        f"- first round (all never polled): every feed polled once within {done:.0f} s",
        f"- later polls: {len(later):,}; within the interval + {args.slack:.0f} s: "
        f"{on_time:,} ({on_time / max(1, len(later)):.1%}); worst gap {worst:.1f} s",
        f"- gaps between polls of a feed: {spread(later, args.interval, args.slack)}",
        f"- peak RSS of the crawl worker: {rss:.0f} MB; its CPU: {cpu[0]:.0f} s to the first "
        f"request, {cpu[1]:.0f} s after it ({1000 * cpu[1] / max(1, len(log)):.1f} ms a "
        "request)",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
