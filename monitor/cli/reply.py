"""``crisiswatch reply-check``: check a draft public reply before it is posted.

Only the command function lives here; ``monitor/cli/main.py`` registers it. Exit
codes: 0 nothing must be fixed, 1 something must be fixed, 2 usage errors (unknown
playbook, unreadable file, empty reply, invalid config), so scripts and editors can
gate on it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from alerts.playbooks import Playbook
from monitor.cli.common import EXIT_FAILED, EXIT_USAGE, Lang, config_playbooks
from monitor.config import DEFAULT_CONFIG
from monitor.text.replycheck import check_reply, format_check

_MAX_PATH = 4096  # longer arguments cannot be file names: they are the reply itself


class UsageProblem(Exception):
    """A problem with what the user asked for: reported as ``error: ...``, exit 2."""


def _as_file(arg: str) -> Path | None:
    """The file ``arg`` names, if it names an existing path. A reply is usually text,
    and text can be too long or contain characters no path can (``Path.exists`` then
    raises): such an argument is simply not a file name."""
    if not arg.strip() or "\n" in arg or len(arg) > _MAX_PATH:
        return None
    try:
        path = Path(arg).expanduser()
        return path if path.exists() else None
    except (OSError, ValueError):
        return None


def read_reply(file_or_text: str) -> str:
    """The draft: stdin for ``-``, an existing file read as UTF-8, else the argument."""
    if file_or_text == "-":
        return sys.stdin.read()
    path = _as_file(file_or_text)
    if path is None:
        return file_or_text
    if not path.is_file():
        raise UsageProblem(f"{path} is not a file")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"cannot read {path}: {exc}") from exc


def pick_playbook(books: tuple[Playbook, ...], name: str | None) -> Playbook:
    """The playbook called ``name``; with no name, or the name ``default`` when no
    playbook has it, the one marked ``default: true``."""
    if name is not None:
        found = next((b for b in books if b.name == name), None)
        if found is not None:
            return found
        if name != "default":
            known = ", ".join(sorted(b.name for b in books))
            raise UsageProblem(f"unknown playbook {name!r} (known: {known})")
    return next(b for b in books if b.default)


def _choose(config: Path, name: str | None) -> Playbook:
    return pick_playbook(config_playbooks(config), name)


def _run(file_or_text: str, playbook: str | None, lang: Lang | None, config: Path,
         as_json: bool) -> bool:
    """Check and print; True when nothing must be fixed."""
    text = read_reply(file_or_text)
    book = _choose(config, playbook)
    try:
        check = check_reply(text, book, lang.value if lang else None)
    except ValueError as exc:  # the reply is empty
        raise UsageProblem(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps({**check.to_dict(), "playbook": book.name}, ensure_ascii=False,
                              indent=2))
    else:
        typer.echo(format_check(check))
    return check.ok


def reply_check(
    file_or_text: Annotated[str, typer.Argument(
        metavar="FILE_OR_TEXT",
        help="The draft reply: a UTF-8 file, '-' for stdin, or the text itself.")],
    playbook: Annotated[str | None, typer.Option(
        "--playbook", metavar="NAME",
        help="Also check this playbook's never-say phrases (default: the default playbook).")
    ] = None,
    lang: Annotated[Lang | None, typer.Option(
        "--lang", help="Language of the report (default: detected from the reply).")] = None,
    config: Annotated[Path, typer.Option(
        "--config", "-c",
        help="Config file (YAML); its playbooks_dir adds your own playbooks, if it exists.")
    ] = Path(DEFAULT_CONFIG),
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the findings as JSON (offsets are characters into the reply).")
    ] = False,
) -> None:
    """Check a draft public reply to a complaint before posting it.

    Flags taboo phrases (hiding behind company rules, "final interpretation",
    blaming the customer, "complain wherever you like", pressure on the
    complainant, the playbook's never-say phrases) and missing elements (an
    apology, a concrete next step, a time commitment).

    Exit 0 when nothing must be fixed, 1 when something must, 2 on usage errors."""
    try:
        ok = _run(file_or_text, playbook, lang, config, as_json)
    except UsageProblem as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from exc
    raise typer.Exit(0 if ok else EXIT_FAILED)
