"""The daemon's /metrics, /healthz and /readyz and its JSON logs, scraped and read
from a real ``crisiswatch run`` in a subprocess fetching a loopback feed site."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import CHATTER, COMPLAINT, ROOT, cli_env, wait_for

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@contextmanager
def daemon(config: Path, port: int, *args: str) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--config",
                             str(config), "--metrics-port", str(port), *args], cwd=ROOT,
                            env=cli_env(), text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_metrics_move_while_the_daemon_fetches_and_logs_are_json_lines(
        site, receiver, make_config):
    site.feeds["forum"] = [CHATTER, replace(COMPLAINT, appear_at=10_000)]
    config = make_config(["forum"], interval=1)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with daemon(config, port, "--log-format", "json") as proc:
        wait_for(lambda: up(base), 60, "the metrics endpoint")
        feed_ok = ("crisiswatch_fetches_total", (("kind", "feed"), ("state", "ok")))
        stored = ("crisiswatch_posts_stored_total", (("kind", "feed"),))
        wait_for(lambda: scrape(base).get(feed_ok, 0) >= 1, 60, "a fetch counted")
        first = scrape(base)
        assert first[stored] == 1
        site.feeds["forum"][1] = replace(COMPLAINT, appear_at=site.now())
        wait_for(lambda: receiver.received, 30, "the alert")
        wait_for(lambda: scrape(base).get(("crisiswatch_deliveries_pending", ()), 1) == 0
                 and scrape(base)[feed_ok] > first[feed_ok], 30, "the delivery recorded")
        after = scrape(base)
        assert after[stored] == 2
        detect_runs = ("crisiswatch_stage_seconds_count", (("stage", "detect"),))
        assert after[detect_runs] > first.get(detect_runs, 0) >= 1
        assert after[("crisiswatch_fetch_seconds_count", (("kind", "feed"),))] >= 2
        assert after[("crisiswatch_database_up", ())] == 1
        assert after[("crisiswatch_sources", (("kind", "feed"), ("state", "healthy")))] == 1
        assert after[("crisiswatch_dead_letters", ())] == 0
        assert after[("crisiswatch_stage_lag_seconds", (("stage", "score"),))] < 60
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert (ready.status_code, ready.text) == (200, "ready\n")
        assert httpx.get(f"{base}/nothing", timeout=10).status_code == 404
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert all({"ts", "level", "logger", "message"} <= set(x) for x in lines)
    fetched = [x for x in lines if "fetched" in x["message"] and x.get("new_posts") == 1]
    assert len(fetched) == 2 and all(isinstance(x["source"], int) for x in fetched)
    raised = next(x for x in lines if x["logger"] == "crisiswatch.detect")
    assert raised["brand"] == "Acme" and raised["alert"].startswith("acme:")
    assert isinstance(raised["incident"], int)
    sent = next(x for x in lines if x["message"].startswith("delivered"))
    assert (sent["alert"], sent["channel"]) == (raised["alert"], "pr-team")


@pytest.mark.postgres
def test_readyz_fails_when_the_database_goes_away(site, receiver, make_config, pg_url):
    import psycopg

    from tests.conftest import PG_ADMIN

    site.feeds["forum"] = [CHATTER]
    config = make_config(["forum"], interval=1, extra={"database": pg_url})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with daemon(config, port) as proc:
        wait_for(lambda: up(base), 60, "the metrics endpoint")
        wait_for(lambda: httpx.get(f"{base}/readyz", timeout=10).status_code == 200, 30,
                 "ready")
        name = pg_url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.text.startswith("database unreachable:") and name in ready.text
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        assert scrape(base)[("crisiswatch_database_up", ())] == 0
        time.sleep(2)  # a few scheduling ticks and stage sweeps fail meanwhile
        assert proc.poll() is None, "the daemon exited when its database went away"


def test_readyz_waits_for_the_role_to_start(tmp_path):
    """The endpoint comes up before the models load and the spider opens its
    database: until the role says it works, /readyz is 503 whatever the database."""
    from datetime import timedelta
    from threading import Event

    from db.engine import open_database
    from monitor.stages.observe import STARTING, endpoint_app

    started = Event()
    app = endpoint_app(open_database(f"sqlite:///{tmp_path / 'cw.db'}"),
                       timedelta(minutes=5), started)

    def get(path: str) -> tuple[str, bytes]:
        seen = []
        body = b"".join(app({"PATH_INFO": path}, lambda status, _h: seen.append(status)))
        return seen[0], body

    assert get("/readyz") == ("503 Service Unavailable", f"{STARTING}\n".encode())
    assert get("/healthz") == ("200 OK", b"ok\n")
    started.set()
    assert get("/readyz") == ("200 OK", b"ready\n")
