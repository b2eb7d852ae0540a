"""``crisiswatch playbooks``: list, read and check the first-response playbooks.

Admins write their own playbooks in the folder the config names
(``playbooks_dir``); ``validate`` lets them check a folder before the daemon
loads it, and ``list``/``show`` show exactly what the daemon would use. Mounted
by monitor/cli/main.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alerts.playbooks import Playbook, validate_folder
from monitor.cli.common import EXIT_FAILED, Lang, PlaybooksConfigOpt, config_playbooks, fail
from monitor.config import DEFAULT_CONFIG
from monitor.detection.category import known_keys

playbooks_app = typer.Typer(
    help="First-response playbooks: list them, read one, check a folder of your own.",
    no_args_is_help=True)


LangOpt = Annotated[Lang, typer.Option("--lang", "-l", help="Language of the text: en or zh.")]


@playbooks_app.command("list")
def list_playbooks(config: PlaybooksConfigOpt = Path(DEFAULT_CONFIG),
                   lang: LangOpt = Lang.en) -> None:
    """List the playbooks the daemon would use: built-in and your own (custom)."""
    books = config_playbooks(config)
    width = max(len(b.name) for b in books) + 1
    typer.echo(f"{'NAME':<{width}} SOURCE   RESPOND  TITLE / CATEGORIES")
    for book in books:
        mark = "*" if book.default else ""
        typer.echo(f"{book.name + mark:<{width}} {book.source:<8} {book.response_time:<8} "
                   f"{book.text('title', lang)} / {', '.join(sorted(book.categories)) or '-'}")
    typer.echo("* the default, used when no other playbook fits")


def _bullets(items: list[str], numbered: bool = False) -> list[str]:
    return [f"  {i}. {item}" if numbered else f"  - {item}" for i, item in enumerate(items, 1)]


def render_playbook(book: Playbook, lang: str) -> str:
    """Every field of a playbook as readable text in one language."""
    flags = ", ".join([book.source] + (["default"] if book.default else []))
    lines = [f"{book.name}: {book.text('title', lang)} ({flags})",
             f"Categories: {', '.join(sorted(book.categories)) or '-'}",
             f"Cues: {', '.join(sorted(book.cues)) or '-'}",
             f"Priority: {book.priority}",
             f"Respond within: {book.response_time}",
             f"Owner: {book.text('owner', lang)}"]
    if book.text("triage", lang):
        lines.append(f"Triage: {book.text('triage', lang)}")
    lines += ["Check first:", *_bullets(book.text("check_first", lang) or ["-"])]
    lines += ["First steps:", *_bullets(book.text("first_steps", lang), numbered=True)]
    lines += ["Holding statement:", f"  {book.text('holding_statement', lang)}"]
    defaults = [f"{key} = {value.get(lang) or value.get('en')}"
                for key, value in sorted(book.placeholder_defaults.items())]
    if defaults:
        lines.append(f"Placeholder defaults: {'; '.join(defaults)}")
    lines += [f"Escalation: {book.text('escalation', lang)}"]
    lines += ["Never say:", *_bullets(book.text("never_say", lang))]
    lines += ["Never do:", *_bullets(book.text("never_do", lang) or ["-"])]
    return "\n".join(lines)


@playbooks_app.command()
def show(name: Annotated[str, typer.Argument(help="Playbook name, as in `playbooks list`.")],
         config: PlaybooksConfigOpt = Path(DEFAULT_CONFIG), lang: LangOpt = Lang.en) -> None:
    """Show one playbook in full: owner, response time, checks, steps, statement, taboos."""
    books = {b.name: b for b in config_playbooks(config)}
    if name not in books:
        raise fail(f"no playbook named {name!r} (known: {', '.join(sorted(books))})")
    typer.echo(render_playbook(books[name], lang.value))


@playbooks_app.command()
def validate(folder: Annotated[Path, typer.Argument(
        help="Folder of playbook files (*.yaml) to check, as the daemon would load them on "
             "top of the built-ins.", exists=True, file_okay=False)]) -> None:
    """Check a folder of playbooks; print every problem, exit 1 if there are any."""
    categories, cues = known_keys()
    problems = validate_folder(folder, categories=categories, cues=cues)
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"{len(list(folder.glob('*.yaml')))} playbooks OK")
