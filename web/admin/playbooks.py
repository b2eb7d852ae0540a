"""Admin: the first-response playbooks the daemon uses (built-in plus the
config's ``playbooks_dir``), one in full, and a check of that folder.

Read-only: playbooks are files the admin edits and versions; the console shows
what the daemon would load and every problem in the folder at once
(alerts.playbooks.validate_folder), the same check as ``crisiswatch playbooks
validate``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from alerts.playbooks import BUILTIN, Playbook, PlaybookError, load_playbooks, validate_folder
from monitor.config import Config
from monitor.detection.category import known_keys, playbooks_for
from web.admin.common import AdminUser, config_of, page
from web.i18n import say, t
from web.pages import page_lang

router = APIRouter()
LANGS = ("en", "zh")


def loaded_playbooks(config: Config | None, lang: str = "en"
                     ) -> tuple[tuple[Playbook, ...], str | None]:
    """What the daemon would load, and the problems when it would refuse to start:
    then only the built-ins are listed, so the page still shows something."""
    try:
        return (playbooks_for(config) if config is not None else load_playbooks()), None
    except PlaybookError as exc:
        categories, cues = known_keys()
        return (load_playbooks(categories=categories, cues=cues),
                "\n".join(say(lang, p) for p in exc.problems))


def folder_of(config: Config | None) -> Path | None:
    folder = getattr(config, "playbooks_dir", None)
    return Path(folder) if folder else None


def _lang(request: Request) -> str:
    """The language a playbook is shown in: the one picked on the page, else the
    interface's."""
    lang = request.query_params.get("lang", "")
    return lang if lang in LANGS else page_lang(request)


@router.get("/playbooks")
def list_playbooks(request: Request, user: AdminUser) -> Response:
    books, problem = loaded_playbooks(config_of(request), page_lang(request))
    return page(request, "admin/playbooks.html", books=books, load_problem=problem,
                folder=folder_of(config_of(request)), lang=_lang(request), langs=LANGS)


@router.get("/playbooks/validate")
def validate_playbooks(request: Request, user: AdminUser) -> Response:
    """Check the config's playbooks folder, as the daemon would load it."""
    folder = folder_of(config_of(request))
    problems: list[str] = []
    if folder is not None:
        categories, cues = known_keys()
        problems = validate_folder(folder, categories=categories, cues=cues)
    files = sorted(p.name for p in folder.glob("*.yaml")) if folder and folder.is_dir() else []
    problems = [say(page_lang(request), p) for p in problems]
    return page(request, "admin/playbooks_validate.html", folder=folder, problems=problems,
                files=files, builtin=BUILTIN)


@router.get("/playbooks/{name}")
def show_playbook(name: str, request: Request, user: AdminUser) -> Response:
    books, _problem = loaded_playbooks(config_of(request))
    found = [b for b in books if b.name == name]
    if not found:
        raise HTTPException(404, t(page_lang(request), "no such playbook"))
    book = found[0]
    defaults = {key: value.get(_lang(request)) or value.get("en", "")
                for key, value in sorted(book.placeholder_defaults.items())}
    return page(request, "admin/playbook.html", book=book, lang=_lang(request), langs=LANGS,
                defaults=defaults)
