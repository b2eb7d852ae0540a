"""kind bluesky in the real daemon (``crisiswatch run`` in a subprocess): a burst
of brand complaints on a fake Jetstream (tests/jetstream_site.py) reaches the PR
team's channel through the real stages, and after Ctrl-C and a restart the
stream resumes from the stored cursor: posts made while the daemon was down are
stored, none twice."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from crawlers.jetstream import MARGIN_US
from db.models import Post, Source
from tests.conftest import ROOT, cli_env, db_engine, session, wait_for
from tests.jetstream_site import FakeJetstream, noise_event, post_event

COMPLAINTS = [
    "Acme phone keeps freezing and support was rude, I want a refund",
    "My Acme phone keeps freezing too, support hung up on me, awful",
    "Acme phone froze again today and support was rude, terrible",
    "Third Acme phone freezing this week, support useless and rude",
    "Acme phone freezing nonstop, support rude, never again",
    "Acme phone keeps freezing, rude support, worst purchase ever",
]


def burst(start: int, texts: list[str], tag: str) -> list[dict]:
    """Each complaint between two noise events, 1 ms apart."""
    events = []
    for i, text in enumerate(texts):
        t = start + 3000 * i
        events += [noise_event(t, i), post_event(t + 1000, f"did:plc:{tag}{i}", f"{tag}{i}",
                                                 text), noise_event(t + 2000, i + 1)]
    return events


def start(config) -> subprocess.Popen:  # noqa: ANN001
    return subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--config",
                             str(config)], cwd=ROOT, env=cli_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out, err


def source(engine) -> Source | None:  # noqa: ANN001
    try:
        with session(engine) as s:
            return s.exec(select(Source).where(Source.name == "bsky")).first()
    except OperationalError:  # the daemon has not created its tables yet
        return None


@pytest.mark.slow
def test_a_bluesky_burst_alerts_and_a_restart_resumes_without_loss_or_repeats(
        make_config, receiver):
    jetstream = FakeJetstream().start()
    try:
        config = make_config([], extra_sources=[
            {"name": "bsky", "kind": "bluesky", "url": jetstream.url}])
        engine = db_engine(config.parent)
        proc = start(config)
        try:
            wait_for(lambda: jetstream.connections, 60, "the daemon to connect")
            assert jetstream.connections == [None]  # nothing stored: the live tail
            now = int(datetime.now(UTC).timestamp() * 1e6)
            first = burst(now, COMPLAINTS[:4], "a")
            jetstream.publish(first)
            wait_for(lambda: receiver.received, 30, "an alert on the burst")
            wait_for(lambda: (source(engine).stream_cursor or 0) == first[-1]["time_us"],
                     10, "the cursor of the first burst")
        finally:
            out, _ = stop(proc)
        assert receiver.received[0].title.startswith(("[NOTICE] Acme", "[WARNING] Acme"))
        assert source(engine).stream_state == "stopped"
        second = burst(first[-1]["time_us"] + 1000, COMPLAINTS[4:], "b")
        jetstream.publish(second)  # posted while the daemon was down
        proc = start(config)
        try:
            wait_for(lambda: (source(engine).stream_cursor or 0) == second[-1]["time_us"],
                     60, "the restarted daemon to read what was posted while it was down")
        finally:
            out, _ = stop(proc)
        assert jetstream.connections[1] == first[-1]["time_us"] - MARGIN_US
        with session(engine) as s:
            keys = [p.entry_key for p in s.exec(select(Post).order_by(Post.id)).all()]
        assert keys == [f"at://did:plc:{t}{i}/app.bsky.feed.post/{t}{i}"
                        for t, n in (("a", 4), ("b", 2)) for i in range(n)]
        assert source(engine).posts_seen == 6
        assert "posts seen: 6" in out
    finally:
        jetstream.stop()
