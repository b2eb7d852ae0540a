"""``python -m bench.screens [--out DIR]``: screenshots of the console for the README.

Builds the demo-like database of bench/screens_data.py in a temporary folder,
serves it with the real command (``crisiswatch web --database URL --port 0``, in a
subprocess, from that folder so no crisiswatch.yaml nearby is read), logs in as
the printed admin in Debian's Chromium through Playwright and saves each page of
PAGES at each width of VIEWPORTS as ``<page>-<viewport>.png`` in DIR (default
bench/results/screens/). Adding a page is one line in PAGES.

Screenshots are of the top of each page, at most MAX_HEIGHT px tall, so each file
stays small enough to commit (the run fails when one is over MAX_BYTES)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.screens_data import Seeded, seed
from db.models import utcnow

CHROMIUM = "/usr/bin/chromium"
DEFAULT_OUT = Path(__file__).parent / "results" / "screens"
# (file name, path); {incident} and {alert} are the seeded crisis and its alert
PAGES = (
    ("board", "/board"),
    ("dashboard", "/"),
    ("incident", "/incidents/{incident}"),
    ("alerts", "/alerts"),
)
VIEWPORTS = (("desktop", 1280, 900), ("mobile", 390, 844))
MAX_HEIGHT = {"desktop": 1200, "mobile": 1700}
MAX_BYTES = 200_000
START_TIMEOUT = 30.0
_URL = re.compile(r"console on (http://\S+/)")


@contextmanager
def console(url: str, folder: Path) -> Iterator[str]:
    """``crisiswatch web --database url --port 0`` until the block ends; yields the
    base URL it printed (the socket is bound before it prints, so it is ready)."""
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "web", "--database", url,
                             "--port", "0"], cwd=folder, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    found: list[str] = []
    seen = threading.Event()

    def read() -> None:  # keep draining stderr, or a chatty server would block on it
        for line in proc.stderr:
            match = _URL.search(line)
            if match and not found:
                found.append(match.group(1).rstrip("/"))
                seen.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not seen.wait(START_TIMEOUT):
            raise RuntimeError(f"the console did not start (exit code {proc.poll()})")
        yield found[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def capture(base: str, seeded: Seeded, out: Path,
            pages: tuple[tuple[str, str], ...] = PAGES,
            viewports: tuple[tuple[str, int, int], ...] = VIEWPORTS) -> list[Path]:
    """Log in and save a screenshot of each page at each viewport; their paths."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            for view, width, height in viewports:
                context = browser.new_context(base_url=base,
                                              viewport={"width": width, "height": height})
                page = context.new_page()
                page.goto("/login")
                page.get_by_label("Name").fill(seeded.admin)
                page.get_by_label("Password").fill(seeded.password)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(re.compile(r"/$"))
                for name, path in pages:
                    page.goto(path.format(incident=seeded.incident, alert=seeded.alert))
                    page.wait_for_load_state("networkidle")
                    full = page.evaluate("document.documentElement.scrollHeight")
                    target = out / f"{name}-{view}.png"
                    page.screenshot(path=str(target), full_page=True, clip={
                        "x": 0, "y": 0, "width": width,
                        "height": min(full, MAX_HEIGHT[view])})
                    saved.append(target)
                context.close()
        finally:
            browser.close()
    return saved


def make_screens(out: Path = DEFAULT_OUT, **kwargs: object) -> list[Path]:
    """The command's work: seed, serve, capture; the files, each under MAX_BYTES."""
    with tempfile.TemporaryDirectory(prefix="crisiswatch-screens-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'screens.db'}"
        seeded = seed(url, utcnow())
        with console(url, folder) as base:
            saved = capture(base, seeded, out, **kwargs)
    heavy = [f"{p.name}: {p.stat().st_size} bytes" for p in saved
             if p.stat().st_size > MAX_BYTES]
    if heavy:
        raise RuntimeError(f"screenshots over {MAX_BYTES} bytes: {', '.join(heavy)}")
    return saved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.screens", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder for the PNG files (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for path in make_screens(args.out):
        print(f"{path}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
