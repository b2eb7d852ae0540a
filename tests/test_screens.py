"""``python -m bench.screens``: its core run into a temporary folder (the real
``crisiswatch web`` in a subprocess, Debian's Chromium) saves real, small PNGs."""

from __future__ import annotations

import os
from pathlib import Path

from bench.screens import CHROMIUM, make_screens
from tests.browser_support import missing


def test_screens_command_saves_small_real_images(tmp_path: Path):
    """The core of ``python -m bench.screens``: the real ``crisiswatch web`` in a
    subprocess, two widths, one page (the others differ by a line of PAGES)."""
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"{CHROMIUM} is missing: apt-get install chromium")
    saved = make_screens(tmp_path, pages=(("incident", "/incidents/{incident}"),))
    assert sorted(p.name for p in saved) == ["incident-desktop.png", "incident-mobile.png"]
    for path in saved:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        assert width == (1280 if "desktop" in path.name else 390)
        assert 10_000 < len(data) < 200_000  # a real page, small enough to commit
