"""Pieces of the browser tests (no tests here): the real console served by uvicorn
in a thread on a loopback port, Debian's Chromium through Playwright, and a
screenshot folder outside the repository.

The console runs in this process so a test can read and write its database
directly, while the browser talks to it over real HTTP: cookies, redirects, the
CSRF fields, security headers and the static script all take the path they take
in production."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
import uvicorn

if TYPE_CHECKING:
    from fastapi import FastAPI
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS_ENV = "CRISISWATCH_ARTIFACTS"
START_TIMEOUT = 15.0


def missing(reason: str) -> NoReturn:
    """CI must run these tests, so there a missing browser fails; on a developer's
    machine it only skips, with what to install."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def loopback_socket() -> socket.socket:
    """A listening-ready socket on 127.0.0.1 and a free port. Handing the bound
    socket to uvicorn (rather than a port number found free earlier) leaves no
    window in which another process could take the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(app: FastAPI, sock: socket.socket) -> Iterator[str]:
    """Serve ``app`` on ``sock`` with uvicorn in a daemon thread; yields the base URL.
    On exit the server is asked to stop (``should_exit``) and the thread joined."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="console-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("uvicorn did not start the console")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium driven by sync Playwright. Playwright's own browser
    downloads are never used (``.ci/run`` installs the Debian package)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed: pip install -e '.[test]'")
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium "
                "(.ci/run installs it: apt-get install chromium)")
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            yield browser
        finally:
            browser.close()


def _launch(p: Playwright) -> Browser:
    return p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                             args=["--no-sandbox", "--disable-dev-shm-usage"])


def artifacts_dir(factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $CRISISWATCH_ARTIFACTS (CI uploads it), else a pytest
    temporary folder; never the repository."""
    configured = os.environ.get(ARTIFACTS_ENV)
    if configured:
        folder = Path(configured).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return factory.mktemp("screenshots")


class Shots:
    """Numbered full-page screenshots of one test: ``<test>-01-login.png`` ..."""

    def __init__(self, page: Page, folder: Path, test: str) -> None:
        self.page, self.folder, self.n = page, folder, 0
        self.test = re.sub(r"[^A-Za-z0-9_.-]+", "_", test)[:80]

    def __call__(self, step: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.test}-{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
