"""A newcomer reaches the console in two commands (issue 18): ``crisiswatch web
--database URL`` serves a database with no config file, and ``crisiswatch demo
--web`` plays the demo, then serves its database with a printed admin login. Both
run as real subprocesses on a free loopback port (``--port 0``) and are driven by
a real HTTP client: log in through the form, read pages, stop with Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue

import httpx

from db.engine import open_database, session
from db.models import Brand
from monitor.users import add_user
from tests.conftest import ROOT, cli_env, crisiswatch
from tests.web_support import PASSWORD, add_post

CONSOLE_LINE = re.compile(r"console on (http://127\.0\.0\.1:\d+)/ \(Ctrl-C stops\); (.*)")


class Served:
    """A running ``crisiswatch`` subprocess and the lines it printed so far."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc, self.lines = proc, Queue()
        self.seen: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(stream,), daemon=True)
                        for stream in (proc.stdout, proc.stderr)]
        for reader in self.readers:
            reader.start()

    def _read(self, stream) -> None:  # noqa: ANN001
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """The first printed line matching ``pattern``; fails with the output so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if found := pattern.search(line):
                return found
        shown = "\n".join(self.seen)
        raise AssertionError(f"no line matching {pattern.pattern} in:\n{shown}")

    def stop(self) -> int:
        """Ctrl-C, as a person stops it; the exit status (130, the shell's for Ctrl-C,
        as uvicorn re-raises the signal after a graceful shutdown)."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=15)
        for reader in self.readers:  # the rest of the output
            reader.join(timeout=5)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        assert not any("Traceback" in line for line in self.seen), "\n".join(self.seen)
        return code


@contextmanager
def crisiswatch_serving(*args: str, cwd: Path, env: dict[str, str] | None = None
                        ) -> Iterator[Served]:
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", *args], cwd=cwd,
                            env={**cli_env(), **(env or {})}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield Served(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def log_in(client: httpx.Client, name: str, password: str) -> None:
    """The login form as a browser posts it (its CSRF token first)."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    done = client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": token, "next": "/"})
    assert done.status_code == 303 and done.headers["location"] == "/", done.text[:300]


def test_web_serves_a_database_without_a_config_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prepared.db'}"
    engine = open_database(url)
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["acme"]))
    add_post(engine, title="艾克美充电器发烫 Acme")
    add_user(engine, "ada", "admin", PASSWORD)
    engine.dispose()
    assert not (tmp_path / "crisiswatch.yaml").exists()
    with crisiswatch_serving("web", "--database", url, "--port", "0", cwd=tmp_path) as served:
        base = served.wait_for(CONSOLE_LINE, timeout=20).group(1)
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get("/history").status_code == 303  # logged out: to the login
            log_in(client, "ada", PASSWORD)
            page = client.get("/history?q=發燙")  # and the search folds scripts
            assert page.status_code == 200 and "艾克美充电器发烫 Acme" in page.text
        assert served.stop() in (0, 130)
        assert any("Finished server process" in line for line in served.seen)


def test_web_without_a_config_or_a_database_names_the_missing_file(tmp_path: Path) -> None:
    result = crisiswatch("web", "--port", "0", cwd=tmp_path, timeout=30)
    assert result.returncode == 2 and "crisiswatch.yaml: invalid configuration" in result.stderr
    assert "cannot read" in result.stderr


def test_demo_web_serves_the_demo_database_with_a_printed_login(tmp_path: Path) -> None:
    """At 20x the scripted minute takes ~4 s; the console then serves what it caught.
    TMPDIR points the demo's temporary folder here, to see it removed at the end."""
    with crisiswatch_serving("demo", "--web", "--speed", "20", "--port", "0", cwd=ROOT,
                             env={"TMPDIR": str(tmp_path)}) as served:
        found = served.wait_for(CONSOLE_LINE, timeout=45)
        base, login = found.groups()
        assert any("--- summary ---" in line for line in served.seen)
        name, password = re.fullmatch(r"log in as (\S+) with password (\S+)", login).groups()
        assert [p.name for p in tmp_path.glob("crisiswatch-demo-*/demo.db")]
        with httpx.Client(base_url=base, timeout=10) as client:
            log_in(client, name, password)
            incidents = client.get("/incidents")
            assert incidents.status_code == 200 and "Acme" in incidents.text
            assert re.search(r'<a href="/incidents/\d+">', incidents.text)
            assert client.get("/admin/users").status_code == 200  # an admin's login
        assert served.stop() in (0, 1, 130)  # 1: the demo's verdict (every severity seen?)
        assert any("Finished server process" in line for line in served.seen)
    assert list(tmp_path.glob("crisiswatch-demo-*")) == []  # no --keep: removed
