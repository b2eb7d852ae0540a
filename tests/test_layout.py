"""The layout rules of DESIGN.md and LAYOUT.md, checked: who may import whom, no
import circle, modules that fit in a read, and ruff clean.

Every rule is computed from the folders, so a new file is covered without editing
this test. An import counts wherever it stands (module top or inside a function):
a lazy import is still an arrow in the drawing."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT

OURS = ("db", "crawlers", "monitor", "alerts", "web", "bench", "tests")
PRODUCT = ("db", "crawlers", "monitor", "alerts", "web")
MAX_LINES = 450
MAX_MONITOR_ENTRIES = 13  # __init__.py, config, daemon, users, 7 role packages, 2 data folders
CORE = ("monitor.text", "monitor.scoring", "monitor.detection")
PURE_TEXT = "db.messages"  # translatable messages: no I/O, imports nothing; pure code may use it

# Top-level packages: what each may import of ours (besides itself).
ALLOWED = {
    "db": set(),
    "crawlers": {"db"},
    "alerts": {"db"},
    "monitor": {"db", "crawlers", "alerts"},  # the CLI and daemon start crawlers and alerts
    "web": {"db", "monitor", "alerts", "crawlers"},  # crawlers.urlcheck only: see RULES
}

# (who, must not import, unless it is one of these) - prefixes of dotted module names.
RULES = [
    # the pure cores: no database, no fetching, nothing above them
    # (db.messages excepted: English text kept translatable, no I/O, imports nothing)
    *[(core, "db", ("db.messages",)) for core in CORE],
    *[(core, forbidden, ()) for core in CORE for forbidden in (
        "crawlers", "monitor.stages", "monitor.history", "monitor.cli", "monitor.lab",
        "monitor.daemon", "monitor.users", "web")],
    *[(core, "alerts", ("alerts.playbooks", "alerts.durations")) for core in CORE],
    # the stage runners: database around the cores; never the read side, CLI or lab
    *[("monitor.stages", forbidden, ()) for forbidden in (
        "monitor.cli", "monitor.lab", "monitor.history", "monitor.daemon", "web")],
    # the read side answers analysts; it runs nothing
    *[("monitor.history", forbidden, ()) for forbidden in (
        "monitor.stages", "monitor.cli", "monitor.lab", "monitor.daemon", "crawlers")],
    # the console: never the CLI or the lab; of the crawlers, only the URL check
    ("web", "monitor.cli", ()),
    ("web", "monitor.lab", ()),
    ("web", "crawlers", ("crawlers.urlcheck",)),
]
# Nothing imports the CLI but the CLI itself (main -> command modules -> common); the
# tests and benchmarks drive it. Nothing in the product imports the lab but the
# CLI's lab commands.
CLI_IMPORTERS = ("monitor.cli", "tests", "bench")
LAB_IMPORTERS = ("monitor.lab", "monitor.cli.lab", "tests", "bench")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for top in OURS:
        for path in (ROOT / top).rglob("*.py"):
            if "versions" not in path.parts:
                found[_module(path)] = path
    return found


def _resolve(name: str) -> str | None:
    """The module of ours that ``name`` (a module, or a name inside one) refers to."""
    while name:
        if name in modules():
            return name
        name = name.rpartition(".")[0]
    return None


@cache
def imports(module: str) -> frozenset[str]:
    """Every module of ours that ``module`` imports, at the top or in a function."""
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {f"{node.module}.{a.name}" for a in node.names}
    found = {_resolve(n) for n in names if n.split(".")[0] in OURS}
    return frozenset(m for m in found if m is not None and m != module)


def _under(module: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_what_the_design_allows(package):
    wrong = {}
    for module in modules():
        if _under(module, package):
            extra = {m.split(".")[0] for m in imports(module)} - ALLOWED[package] - {package}
            if extra:
                wrong[module] = sorted(extra)
    assert wrong == {}


@pytest.mark.parametrize("who, forbidden, except_", RULES,
                         ids=[f"{w} !-> {f}" for w, f, _ in RULES])
def test_layer_rules(who, forbidden, except_):
    wrong = {module: sorted(m for m in imports(module)
                            if _under(m, forbidden) and not _under(m, except_))
             for module in modules() if _under(module, who)}
    assert {k: v for k, v in wrong.items() if v} == {}


@pytest.mark.parametrize("target, importers", [("monitor.cli", CLI_IMPORTERS),
                                               ("monitor.lab", LAB_IMPORTERS)])
def test_only_their_users_import_the_cli_and_the_lab(target, importers):
    wrong = sorted(module for module in modules() if not _under(module, importers)
                   and any(_under(m, target) for m in imports(module)))
    assert wrong == []


def test_the_import_graph_has_no_circle():
    """Tarjan's strongly connected components over every import of ours; a package's
    ``__init__`` counts as a module of its own."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in imports(module):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(modules()):
        if module not in index:
            visit(module)
    assert circles == []


def test_product_modules_fit_in_a_read():
    long = {module: n for module, path in modules().items() if _under(module, PRODUCT)
            and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_monitor_has_few_rooms():
    entries = sorted(p.name for p in (ROOT / "monitor").iterdir()
                     if p.name != "__pycache__" and not p.name.startswith("."))
    assert len(entries) <= MAX_MONITOR_ENTRIES, entries


def test_the_rules_see_every_core_file():
    """The core is found by folder, so the rules above cover a new file at once."""
    core = [m for m in modules() if _under(m, CORE)]
    assert {"monitor.detection.simhash", "monitor.scoring.risk", "monitor.text.cues"} <= set(core)
    for module in core:
        assert not {m.split(".")[0] for m in imports(module) if m != PURE_TEXT} & {
            "db", "crawlers"}, module


def test_pure_alerts_modules_do_no_io():
    """Rendering and playbook choice are pure: no db, no network."""
    for module in ("alerts.render", "alerts.playbooks", "alerts.playbook_check"):
        assert not {m.split(".")[0] for m in imports(module) if m != PURE_TEXT} & {
            "db", "crawlers"}, module


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
