"""Rendering pages: one Jinja2 environment with autoescape always on, and ``render``,
which gives every template the user, the CSRF token, the navigation and the
interface language (web/i18n.py: ``_()`` in templates, ``t()`` in handlers).

Post content is hostile input: templates print it with autoescape and never mark
it ``|safe``; links to posts go through the ``post_link`` filter, which keeps
http(s) URLs only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from alerts.render import safe_link
from db.models import User, utcnow
from monitor.text.normalize import detect_language
from web.auth import READERS, allowed, csrf_token, current_user, interface_lang
from web.clock import Clock, local_text, time_element
from web.i18n import (
    DEFAULT_LANG,
    HTML_LANG,
    LANG_NAMES,
    LANGS,
    N_,
    gettext,
    ngettext,
    said_filter,
    t,
    word,
)

TEMPLATES = Path(__file__).parent / "templates"
NAV = ((N_("Board"), "/board", READERS), (N_("Dashboard"), "/", READERS),
       (N_("History"), "/history", READERS), (N_("Incidents"), "/incidents", READERS),
       (N_("Alerts"), "/alerts", READERS), (N_("Admin"), "/admin", ("admin",)))


@pass_context
def when(context: Context, value: datetime | str | None) -> Markup:
    """A time as the page's ``<time>`` element: relative, local time on hover
    (web/clock.py); the one way templates print a time."""
    return time_element(value, context.get("clock") or Clock())


@pass_context
def local(context: Context, value: datetime | str | None, fmt: str = "%m-%d %H:%M") -> str:
    """A local time as plain text, where no markup may go (SVG labels and titles)."""
    return local_text(value, context.get("clock") or Clock(), fmt)


@pass_context
def lang_attr(context: Context, text: str | None) -> Markup:
    """`` lang="zh"`` on Chinese text in an English page (and `` lang="en"`` on
    English text in a Chinese one), so the browser picks fonts and voices for it."""
    found = detect_language(text or "")
    page = context.get("page_lang") or DEFAULT_LANG
    return Markup(' lang="{}"').format(found) if text and found != page else Markup("")


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
                      lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks: one line per key
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(when=when, local=local, lang_attr=lang_attr, post_link=post_link,
                       word=word, said=said_filter)
    env.globals.update(query=query, lang_names=LANG_NAMES, langs=LANGS)
    return env


templates = Jinja2Templates(env=_environment())
assert templates.env.autoescape is True  # never turn it off: post content is hostile


def nav_for(user: User | None, path: str, lang: str = DEFAULT_LANG) -> list[dict]:
    """The menu entries this user may open, in ``lang``; ``active`` marks the current
    section."""
    if user is None:
        return []
    entries = []
    for label, href, roles in NAV:
        if allowed(user, roles):
            active = path == href if href == "/" else path.startswith(href)
            entries.append({"label": t(lang, label), "href": href, "active": active})
    return entries


page_lang = interface_lang  # which the templates' words, <html lang> and times follow


def this_page(request: Request) -> str:
    """Where the language switch comes back to: this page; after a POST (a refused
    form), the page the form was on, since its action may not answer a GET."""
    if request.method != "GET":
        parts = urlsplit(request.headers.get("referer", ""))
        return parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def render(request: Request, template: str, *, status_code: int = 200,
           **context: object) -> HTMLResponse:
    """A page: ``template`` with ``context`` plus ``user``, ``csrf_token``, ``nav``,
    ``page_lang`` (``html_lang`` for ``<html lang>``), ``here`` (this page, for the
    language switch to come back to) and the ``clock`` its times are shown by."""
    user = current_user(request)
    lang = page_lang(request)
    zone = getattr(request.app.state, "zone", None) or UTC
    base = {"user": user, "csrf_token": csrf_token(request),
            "nav": nav_for(user, request.url.path, lang), "page_lang": lang,
            "html_lang": HTML_LANG[lang], "here": this_page(request),
            "clock": Clock(zone=zone, lang=lang, now=utcnow())}
    return templates.TemplateResponse(request, template, {**base, **context},
                                      status_code=status_code)
