"""``crisiswatch demo``: the scripted crisis is caught at every severity."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.conftest import crisiswatch


def test_demo_catches_the_scripted_crisis_and_keeps_its_database():
    result = crisiswatch("demo", "--speed", "4", "--keep", timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    titles = re.findall(r"=== \[(\w+)\] Acme", out)
    assert titles == ["NOTICE", "WARNING", "CRISIS"]
    assert "alerts: notice 1, warning 1, crisis 1" in out
    assert "deliveries: 3 sent, 0 waiting to retry" in out
    assert "first steps:" in out
    delays = [float(x) for x in re.findall(r"([\d.]+) s after the post", out)]
    assert len(delays) == 3 and max(delays) < 10
    kept = re.search(r"database kept: (\S+)", out).group(1)
    try:
        history = crisiswatch("history", "--database", f"sqlite:///{kept}", "-f", "json")
        assert history.returncode == 0 and '"severity": "crisis"' in history.stdout
    finally:
        shutil.rmtree(Path(kept).parent, ignore_errors=True)
