"""Shared fixtures: a loopback feed site, a json:// receiver, config files, and a
runner for the real ``crisiswatch`` command in a subprocess (a fresh reactor
per run, as in production)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from db.engine import make_engine, session
from monitor.lab.localsite import AlertReceiver, Entry, FeedSite

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

COMPLAINT = Entry("c1", "Acme phone keeps freezing and support was rude",
                  "Support said it's company policy and hung up. I want a refund.")
CHATTER = Entry("u1", "Best hiking trail near the city?", "Looking for a half-day walk.")
PRAISE = Entry("p1", "Loving my new Acme phone", "The camera is great!")


@pytest.fixture
def site() -> Iterator[FeedSite]:
    s = FeedSite()
    s.server.start()
    yield s
    s.server.stop()


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    r = AlertReceiver()
    r.server.start()
    yield r
    r.server.stop()


@pytest.fixture
def make_config(tmp_path: Path, site: FeedSite, receiver: AlertReceiver) -> Callable[..., Path]:
    """Write a crisiswatch.yaml watching ``feeds`` on the local site."""

    def write(feeds: list[str], *, interval: float = 60, extra: dict | None = None,
              extra_sources: list[dict] | None = None) -> Path:
        data = {
            "database": "sqlite:///cw.db",
            "brands": [{"name": "Acme", "keywords": ["Acme", "艾克美"],
                        "exclude": ["acme anvil"]}],
            "sources": [{"name": f, "kind": "feed", "url": f"{site.base}/{f}.xml",
                         "interval": interval} for f in feeds] + (extra_sources or []),
            "channels": [{"name": "pr-team", "url": receiver.url, "min_severity": "notice"}],
            **(extra or {}),
        }
        path = tmp_path / "crisiswatch.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path

    return write


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CRISISWATCH_DATABASE"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def crisiswatch(*args: str, timeout: float = 120, cwd: Path | None = None
                ) -> subprocess.CompletedProcess[str]:
    """Run the real command line; fail loudly with its output if it hangs."""
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=cli_env(), cwd=cwd or ROOT)


def db_engine(config_dir: Path):  # noqa: ANN201
    return make_engine(f"sqlite:///{config_dir / 'cw.db'}")


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


__all__ = ["COMPLAINT", "CHATTER", "PRAISE", "SHARED_DATA", "crisiswatch", "db_engine",
           "session", "wait_for"]


PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import uuid

    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc}); .ci/run starts it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"cw_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
