"""What every admin page shares: the admin-only dependencies (a POST also passes
the CSRF check before its handler runs), the app's engine and config, and form
helpers that turn pydantic errors into one message per form field, and the one
route shape of the brands, sources and channels pages (``mount_row_routes``).

Handlers are plain ``def`` functions: FastAPI runs them in its thread pool, so
database work, DNS look-ups (crawlers/urlcheck.py), test fetches and test
notifications never block the event loop."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from db.engine import read_session, session
from db.models import Brand, Channel, Source, User, utcnow
from monitor.config import Config
from monitor.stages.sync import MODELS, Item, Row, apply_config
from web.auth import check_csrf, require
from web.i18n import N_, say_invalid, t
from web.pages import page_lang, render

CSRF_FIELD = "csrf_token"  # web/auth.py csrf_guard reads the same field
FORM_ERROR = "_form"  # errors that belong to no single field


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def config_of(request: Request) -> Config:
    return request.app.state.config


def allow_private(config: Config | None) -> list[str]:
    """``console.allow_private``: networks and names console URLs may reach."""
    return list(getattr(getattr(config, "console", None), "allow_private", None) or [])


admin_user = require("admin")
AdminUser = Annotated[User, Depends(admin_user)]


@dataclass(frozen=True)
class AdminForm:
    """A posted form that passed the admin and CSRF checks."""

    user: User
    data: Mapping[str, str]

    def get(self, key: str, default: str = "") -> str:
        value = self.data.get(key, default)
        return value if isinstance(value, str) else default

    def flag(self, key: str) -> bool:
        """A checkbox: present and not "0"/"off"."""
        return self.get(key).strip().lower() not in ("", "0", "off", "false", "no")


async def admin_form(request: Request, user: AdminUser) -> AdminForm:
    """Dependency of every admin POST: the user is an admin and the form carries
    the session's CSRF token (refused otherwise)."""
    form = await request.form()
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    await run_in_threadpool(check_csrf, request, data.get(CSRF_FIELD, ""))
    return AdminForm(user, data)


PostedForm = Annotated[AdminForm, Depends(admin_form)]


def page(request: Request, template: str, *, status_code: int = 200,
         **context: object) -> HTMLResponse:
    """Render an admin template (web/pages.py adds the user, CSRF token and nav);
    a form sent back with errors answers 422."""
    return render(request, template, status_code=status_code, **context)


def back(path: str, message: str = "") -> RedirectResponse:
    """Post/redirect/get: after a change, show the list with a short notice."""
    query = f"?{urlencode({'done': message})}" if message else ""
    return RedirectResponse(path + query, status_code=303)


def lines(text: str) -> list[str]:
    """A textarea of one item per line or comma-separated (the ASCII comma only:
    a Chinese phrase may hold a full-width one): blanks and repeats dropped."""
    items = [part.strip() for line in text.splitlines() for part in line.split(",")]
    return list(dict.fromkeys(i for i in items if i))


def field_errors(exc: ValidationError, fields: Collection[str],
                 lang: str = "en") -> dict[str, str]:
    """One message per form field from a config model's errors, in ``lang``: ``loc[0]``
    names the field; model-level messages that start with ``field:`` go to that field
    (found on the English text, then cut from the translation). What names no field
    of the form is shown above it, key included, so no error is lost."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        english = err["msg"].removeprefix("Value error, ")
        shown = say_invalid(lang, err)
        field = str(err["loc"][0]) if err["loc"] else ""
        if not field:
            head, sep, _rest = english.partition(": ")
            if sep and head.isidentifier():
                field = head
                shown = re.sub(rf"^{re.escape(head)}\s*[:：]\s*", "", shown)
        if field not in fields:
            field, shown = FORM_ERROR, f"{field}: {shown}" if field else shown
        errors.setdefault(field, shown)
    return errors


def require_editable(row: object | None, what: str, lang: str = "en") -> None:
    """409 for rows the YAML file manages: sync would undo a console edit at the next start."""
    if row is not None and getattr(row, "managed_by", "console") != "console":
        raise HTTPException(409, t(lang, "this %(what)s is managed by the config file; "
                                   "edit it there", what=t(lang, what)))


def get_row(engine: Engine, model: type[Row], row_id: int, noun: str,
            lang: str = "en") -> Row:
    """The row, or 404 naming what was not found."""
    with read_session(engine) as s:
        row = s.get(model, row_id)
    if row is None:
        raise HTTPException(404, t(lang, "no such %(what)s", what=t(lang, noun)))
    return row


def save_row(engine: Engine, item: Item, enabled: bool, row_id: int | None) -> None:
    """Store a validated entry the way the config sync does (``apply_config``); a new
    row is the console's own."""
    model = MODELS[type(item)]
    with session(engine) as s, s.begin():
        row = s.get(model, row_id) if row_id else model(name=item.name, managed_by="console")
        apply_config(row, item)
        if enabled:
            set_paused(row, None)
        else:
            row.enabled = False
        s.add(row)


Submit = Callable[[Request, AdminForm, int | None], Response]
FormPage = Callable[[Request, Row | None, dict, dict], Response]


@dataclass(frozen=True)
class RowSection:
    """One admin list of rows (brands, sources, channels): where it lives, what a row
    is called, its form, how the form is submitted, and what pausing says."""

    path: str  # under /admin: "/brands"
    model: type
    noun: str  # "brand" (translated by web/i18n.py: listed in NOUNS)
    form_page: FormPage  # (request, row or None, form values, errors) -> the form
    values_of: Callable[[Row | None], dict]  # a row's form values; None: a new row's
    submit: Submit  # (request, form, row id or None for a new row) -> response
    verbs: tuple[str, str] = (N_("enabled"), N_("disabled"))
    on_enable: Callable[[Row], None] | None = None  # e.g. a source polls again at once


def mount_row_routes(router: APIRouter, section: RowSection) -> None:
    """GET and POST ``/new`` and ``/{id}`` (the form) and POST ``/{id}/enabled``
    (pause or resume; the daemon reads the flag on its next run, the outbox before
    every dispatch). The list page is each section's own."""
    path = section.path

    @router.get(f"{path}/new")
    def new_row(request: Request, user: AdminUser) -> Response:
        return section.form_page(request, None, section.values_of(None), {})

    @router.get(f"{path}/{{row_id}}")
    def edit_row(row_id: int, request: Request, user: AdminUser) -> Response:
        row = get_row(engine_of(request), section.model, row_id, section.noun,
                      page_lang(request))
        return section.form_page(request, row, section.values_of(row), {})

    @router.post(f"{path}/new")
    def add_row(request: Request, form: PostedForm) -> Response:
        return section.submit(request, form, None)

    @router.post(f"{path}/{{row_id}}")
    def update_row(row_id: int, request: Request, form: PostedForm) -> Response:
        return section.submit(request, form, row_id)

    @router.post(f"{path}/{{row_id}}/enabled")
    def set_enabled(row_id: int, request: Request, form: PostedForm) -> Response:
        enabled, lang = form.flag("enabled"), page_lang(request)
        noun = t(lang, section.noun)
        with session(engine_of(request)) as s, s.begin():
            row = s.get(section.model, row_id)
            if row is None:
                raise HTTPException(404, t(lang, "no such %(what)s", what=noun))
            if enabled and dropped_from_file(config_of(request), row):
                raise HTTPException(409, t(lang, "this %(what)s is no longer in the config "
                                         "file; add it there to enable it", what=noun))
            set_paused(row, None if enabled else form.user.name)
            if enabled and section.on_enable is not None:
                section.on_enable(row)
            s.add(row)
        verb = t(lang, section.verbs[0] if enabled else section.verbs[1])
        return back(f"/admin{path}", t(lang, "%(verb)s %(what)s %(name)s", verb=verb,
                                       what=noun, name=row.name))


def set_paused(row: Row, by: str | None) -> None:
    """Pause (``by``: who) or resume a row. The config sync keeps a file row with
    ``paused_by`` disabled (monitor/stages/sync.py), so the pause outlives restarts."""
    row.enabled = by is None
    row.paused_by = by
    row.paused_at = utcnow() if by is not None else None


def file_names(config: Config | None, model: type) -> set[str] | None:
    """Names of the rows of ``model`` the config file lists; None without a config."""
    if config is None:
        return None
    items = {Brand: config.brands, Channel: config.channels, Source: config.sources}[model]
    return {item.name for item in items}


def dropped_from_file(config: Config | None, row: Row) -> bool:
    """A file row the file no longer lists: the sync disables it at every start, so
    enabling it in the console would not last."""
    names = file_names(config, type(row))
    return row.managed_by == "config" and names is not None and row.name not in names
