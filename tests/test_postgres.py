"""The same code on PostgreSQL: a full run through CRISISWATCH_DATABASE, and
concurrent dispatchers that never send one delivery twice (both backends)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import select

from alerts.notify import SendResult
from alerts.outbox import Message, Outbox, dispatch
from alerts.playbooks import load_playbooks
from db.engine import open_database, session
from db.models import Alert, Brand, Channel, Delivery, Incident
from tests.conftest import COMPLAINT, ROOT, cli_env

pytestmark = pytest.mark.postgres


def test_full_run_on_postgres(site, receiver, make_config, pg_url):
    import subprocess
    import sys

    site.feeds["forum"] = [COMPLAINT]
    config = make_config(["forum"])
    env = {**cli_env(), "CRISISWATCH_DATABASE": pg_url}
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "monitor.cli", "run", "--once",
                                 "--config", str(config)], capture_output=True, text=True,
                                timeout=120, env=env, cwd=ROOT)
        assert result.returncode == 0, result.stderr
    assert not (config.parent / "cw.db").exists()  # the env override won
    assert len(receiver.received) == 1
    engine = open_database(pg_url)
    with session(engine) as s:
        assert s.exec(select(Delivery)).one().status == "sent"


def _queue_deliveries(engine, n: int) -> None:  # noqa: ANN001
    with session(engine) as s, s.begin():
        brand, channel = Brand(name="Acme", keywords=["acme"]), Channel(name="c", url="json://x")
        s.add_all([brand, channel])
        s.flush()
        inc = Incident(brand_id=brand.id)
        s.add(inc)
        s.flush()
        for i in range(n):
            alert = Alert(incident_id=inc.id, brand_id=brand.id, severity="notice",
                          dedup_key=f"acme:{inc.id}:{i}", reasons=[f"complaint {i}"])
            s.add(alert)
            s.flush()
            s.add(Delivery(alert_id=alert.id, channel_id=channel.id))


def _race(engine) -> list[str]:  # noqa: ANN001
    sent: list[str] = []
    lock = threading.Lock()

    def slow_send(message: Message) -> SendResult:
        time.sleep(0.05)
        with lock:
            sent.append(message.title)
        return SendResult(True)

    box = Outbox(load_playbooks())
    workers = [threading.Thread(target=dispatch, args=(engine, box),
                                kwargs={"send": slow_send, "batch": 3})
               for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    return sent


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_dispatchers_send_each_delivery_once(backend, tmp_path, request):
    url = request.getfixturevalue("pg_url") if backend == "postgres" \
        else f"sqlite:///{tmp_path / 'race.db'}"
    engine = open_database(url)
    _queue_deliveries(engine, 12)
    sent = _race(engine)
    assert sorted(sent) == sorted(f"[NOTICE] Acme: complaint {i}" for i in range(12))
    with session(engine) as s:
        assert {d.status for d in s.exec(select(Delivery)).all()} == {"sent"}

