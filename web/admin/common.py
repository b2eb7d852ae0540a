"""What every admin page shares: the admin-only dependencies (a POST also passes
the CSRF check before its handler runs), the app's engine and config, and form
helpers that turn pydantic errors into one message per form field.

Handlers are plain ``def`` functions: FastAPI runs them in its thread pool, so
database work, DNS look-ups (crawlers/urlcheck.py), test fetches and test
notifications never block the event loop."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from db.models import User
from monitor.config import Config
from web.auth import check_csrf, require
from web.pages import render

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
    from urllib.parse import urlencode

    query = f"?{urlencode({'done': message})}" if message else ""
    return RedirectResponse(path + query, status_code=303)


def lines(text: str) -> list[str]:
    """A textarea of one item per line or comma-separated (the ASCII comma only:
    a Chinese phrase may hold a full-width one): blanks and repeats dropped."""
    items = [part.strip() for line in text.splitlines() for part in line.split(",")]
    return list(dict.fromkeys(i for i in items if i))


def field_errors(exc: ValidationError, fields: Collection[str]) -> dict[str, str]:
    """One message per form field from a config model's errors: ``loc[0]`` names the
    field; model-level messages that start with ``field:`` go to that field. What
    names no field of the form is shown above it, key included, so no error is lost."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        field = str(err["loc"][0]) if err["loc"] else ""
        if not field:
            head, sep, rest = msg.partition(": ")
            field, msg = (head, rest) if sep and head.isidentifier() else ("", msg)
        if field not in fields:
            field, msg = FORM_ERROR, f"{field}: {msg}" if field else msg
        errors.setdefault(field, msg)
    return errors


def require_editable(row: object | None, what: str) -> None:
    """409 for rows the YAML file manages: sync would undo a console edit at the next start."""
    if row is not None and getattr(row, "managed_by", "console") != "console":
        raise HTTPException(409, f"this {what} is managed by the config file; edit it there")
