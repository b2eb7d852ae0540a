"""The layout rules of DESIGN.md, checked: who may import whom, and ruff clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

OURS = {"db", "crawlers", "monitor", "alerts", "web"}
ALLOWED = {
    "db": set(),
    "crawlers": {"db"},
    "alerts": {"db"},
    "monitor": {"db", "crawlers", "alerts"},  # the CLI and daemon start crawlers and alerts
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_what_the_design_allows(package):
    wrong = {}
    for path in (ROOT / package).rglob("*.py"):
        extra = imported_packages(path) - ALLOWED[package] - {package}
        if extra:
            wrong[str(path.relative_to(ROOT))] = sorted(extra)
    assert wrong == {}


def test_monitor_core_logic_does_no_io():
    """Scoring, matching, detection and rendering are pure: no db, no network."""
    for name in ("monitor/scoring.py", "monitor/matching.py", "monitor/detect.py",
                 "monitor/signals.py", "monitor/forecast.py", "monitor/cluster.py",
                 "monitor/category.py", "monitor/simulate.py", "alerts/render.py",
                 "alerts/playbooks.py"):
        assert not imported_packages(ROOT / name) & {"db", "crawlers"}, name


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
