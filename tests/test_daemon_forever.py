"""``crisiswatch run`` as a long-running daemon: a new entry is alerted within
seconds of appearing, and Ctrl-C (SIGINT) stops it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import replace

from sqlalchemy.exc import OperationalError
from sqlmodel import select

from db.models import Source
from tests.conftest import CHATTER, COMPLAINT, ROOT, cli_env, db_engine, session, wait_for


def test_daemon_alerts_a_new_entry_within_seconds_and_stops_on_ctrl_c(
        site, receiver, make_config):
    site.feeds["forum"] = [CHATTER, replace(COMPLAINT, appear_at=10_000)]
    site.feeds["news"] = []
    config = make_config(["forum", "news"], interval=1)
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--config",
                             str(config)], cwd=ROOT, env=cli_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        engine = db_engine(config.parent)

        def polled_twice() -> bool:
            try:
                with session(engine) as s:
                    forum = s.exec(select(Source).where(Source.name == "forum")).first()
            except OperationalError:  # the daemon has not created its tables yet
                return False
            return forum is not None and forum.posts_seen == 1 and \
                sum(r[0] == "/forum.xml" for r in site.requests) >= 2

        wait_for(polled_twice, 60, "the daemon to poll the forum twice")
        assert receiver.received == []
        site.feeds["forum"][1] = replace(COMPLAINT, appear_at=site.now())
        appeared = time.monotonic()
        wait_for(lambda: receiver.received, 30, "the alert")
        delay = receiver.received[0].at - appeared
        assert receiver.received[0].title.startswith("[NOTICE] Acme")
        # polled every second and woken in-process: well under the 5 s sweep
        assert delay < 5, f"alert took {delay:.1f} s"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "posts seen: 2" in out
    assert "deliveries: 1 sent" in out
    assert len(receiver.received) == 1
