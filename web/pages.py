"""Rendering pages: one Jinja2 environment with autoescape always on, and ``render``,
which gives every template the user, the CSRF token and the navigation.

Post content is hostile input: templates print it with autoescape and never mark
it ``|safe``; links to posts go through the ``post_link`` filter, which keeps
http(s) URLs only."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from alerts.render import safe_link
from db.models import User
from web.auth import READERS, allowed, csrf_token, current_user

TEMPLATES = Path(__file__).parent / "templates"
NAV = (("Board", "/board", READERS), ("Dashboard", "/", READERS), ("History", "/history", READERS),
       ("Incidents", "/incidents", READERS), ("Alerts", "/alerts", READERS),
       ("Admin", "/admin", ("admin",)))


def when(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC time for people; ISO strings (from monitor's dicts) are accepted too."""
    if not value:
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime(fmt)


def post_link(url: str | None) -> str | None:
    """An http(s) URL, or None: ``javascript:`` and ``data:`` links never reach a page."""
    return safe_link(url)


def query(params: dict[str, str], **changes: object) -> str:
    """``?a=1&b=2`` from ``params`` with ``changes`` (None removes a key)."""
    merged = {**params, **{k: v for k, v in changes.items() if v is not None}}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
    return "?" + urlencode(merged) if merged else "?"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(when=when, post_link=post_link)
    env.globals.update(query=query)
    return env


templates = Jinja2Templates(env=_environment())
assert templates.env.autoescape is True  # never turn it off: post content is hostile


def nav_for(user: User | None, path: str) -> list[dict]:
    """The menu entries this user may open; ``active`` marks the current section."""
    if user is None:
        return []
    entries = []
    for label, href, roles in NAV:
        if allowed(user, roles):
            active = path == href if href == "/" else path.startswith(href)
            entries.append({"label": label, "href": href, "active": active})
    return entries


def render(request: Request, template: str, *, status_code: int = 200,
           **context: object) -> HTMLResponse:
    """A page: ``template`` with ``context`` plus ``user``, ``csrf_token`` and ``nav``."""
    user = current_user(request)
    base = {"user": user, "csrf_token": csrf_token(request),
            "nav": nav_for(user, request.url.path)}
    return templates.TemplateResponse(request, template, {**base, **context},
                                      status_code=status_code)
