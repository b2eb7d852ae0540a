"""``crisiswatch run --role``: crawl, process and dispatch as separate processes
against one database, each doing only its part, a complaint alerted exactly once;
an unknown role refused with exit 2."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import make_engine
from tests.conftest import COMPLAINT, ROOT, cli_env, crisiswatch, db_engine, wait_for


def _start(role: str, config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--role", role,
                             "--config", str(config)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _count(engine, sql: str) -> int:  # noqa: ANN001
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    except Exception:  # noqa: BLE001 - the schema is not there yet
        return -1


@pytest.mark.postgres
def test_three_roles_on_postgres_alert_a_complaint_exactly_once(
        site, receiver, make_config, pg_url):
    site.feeds["forum"] = [COMPLAINT]
    config = make_config(["forum"], interval=1)
    env = {**cli_env(), "CRISISWATCH_DATABASE": pg_url}
    engine = make_engine(pg_url)
    procs = {"crawl": _start("crawl", config, env)}
    try:
        # the crawler stores the post and polls again, but scores nothing
        wait_for(lambda: _count(engine, "SELECT count(*) FROM post") == 1 and
                 sum(r[0] == "/forum.xml" for r in site.requests) >= 2, 30, "two polls")
        assert _count(engine, "SELECT count(*) FROM mention") == 0
        # the processor plans the delivery, and sends nothing
        procs["process"] = _start("process", config, env)
        wait_for(lambda: _count(engine, "SELECT count(*) FROM delivery") == 1, 30,
                 "a planned delivery")
        time.sleep(1.5)  # more than a sweep: a sender in the processor would have sent
        assert receiver.received == []
        assert _count(engine, "SELECT count(*) FROM delivery WHERE status = 'pending'") == 1
        procs["dispatch"] = _start("dispatch", config, env)
        wait_for(lambda: receiver.received, 30, "the alert")
        time.sleep(2.5)  # more polls and sweeps by all three: nothing is sent twice
        assert len(receiver.received) == 1
        assert receiver.received[0].title.startswith("[NOTICE] Acme")
        assert _count(engine, "SELECT count(*) FROM delivery WHERE status = 'sent'") == 1
        assert _count(engine, "SELECT count(*) FROM post") == 1
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        results = {role: proc.communicate(timeout=30) for role, proc in procs.items()}
        engine.dispose()
    for role, proc in procs.items():
        assert proc.returncode == 0, (role, results[role][1][-2000:])
        assert "deliveries: 1 sent" in results[role][0], role


def test_roles_once_on_sqlite_run_in_turn(site, receiver, make_config):
    site.feeds["forum"] = [COMPLAINT]
    config = make_config(["forum"])
    args = ("--once", "--config", str(config))
    crawled = crisiswatch("run", "--role", "crawl", *args)
    assert crawled.returncode == 0, crawled.stderr
    fetched = list(site.requests)
    assert ("/forum.xml", None, 200) in fetched
    engine = db_engine(config.parent)
    assert (_count(engine, "SELECT count(*) FROM post"),
            _count(engine, "SELECT count(*) FROM mention")) == (1, 0)
    processed = crisiswatch("run", "--role", "process", *args)
    assert processed.returncode == 0, processed.stderr
    assert "deliveries: 0 sent, 1 waiting to retry" in processed.stdout
    assert receiver.received == []
    sent = crisiswatch("run", "--role", "dispatch", *args)
    assert sent.returncode == 0, sent.stderr
    assert "deliveries: 1 sent" in sent.stdout
    assert len(receiver.received) == 1
    assert site.requests == fetched  # only the crawl fetched


def test_an_unknown_role_is_refused_with_exit_2(make_config):
    result = crisiswatch("run", "--role", "bogus", "--config", str(make_config(["forum"])))
    assert result.returncode == 2
    assert "'bogus' is not one of 'all', 'crawl', 'process', 'dispatch'" in \
        " ".join(result.stderr.replace("│", " ").split())
