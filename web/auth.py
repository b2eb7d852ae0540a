"""Who is asking, and may they: sessions for pages, bearer tokens for the API, roles,
and the CSRF check.

Pages use a server-side session (monitor.users): the cookie holds a random token,
so logging out or disabling a user revokes it at once. The API (``/api/``) uses
``Authorization: Bearer`` tokens only; since a browser never sends those by itself,
the API needs no CSRF token. Every other POST carries the session's CSRF token in
a hidden ``csrf_token`` field (or an ``X-CSRF-Token`` header); ``csrf_guard``
checks it for every route, the admin pages' included, so no form can forget it.

Roles: ``admin`` may do everything; ``require("analyst", "pr")`` lets those two
(and admins) in."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from db.models import User, WebSession
from monitor.users import check_token, same_secret, session_user
from web.i18n import LANG_COOKIE, choose_lang, t

SESSION_COOKIE = "cw_session"
LOGIN_COOKIE = "cw_login"  # double-submit CSRF token of the login form (no session yet)
API_PREFIX = "/api/"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
READERS = ("analyst", "pr")  # history, incidents, the dashboard; admins implied
RESPONDERS = ("pr",)  # acknowledge, resolve, check replies; admins implied


class LoginRequired(Exception):
    """A page needs a logged-in user; the app answers with a redirect to /login."""


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _auth(request: Request) -> tuple[User, WebSession] | None:
    """The session behind the cookie, looked up once per request."""
    if not hasattr(request.state, "auth"):
        token = request.cookies.get(SESSION_COOKIE, "")
        request.state.auth = session_user(engine_of(request), token) if token else None
    return request.state.auth


def current_user(request: Request) -> User | None:
    """The user logged in to the console with this request's cookie, or None."""
    found = _auth(request)
    return found[0] if found else None


def interface_lang(request: Request) -> str:
    """The interface language of this response (web/i18n.py): the logged-in user's
    setting, else the language last chosen on this browser (for the login page),
    else the browser's Accept-Language. Worked out once per request."""
    found = getattr(request.state, "lang", None)
    if found is None:
        user = current_user(request)
        setting = user.language if user else request.cookies.get(LANG_COOKIE)
        found = choose_lang(setting, request.headers.get("accept-language"))
        request.state.lang = found
    return found


def current_session(request: Request) -> WebSession | None:
    found = _auth(request)
    return found[1] if found else None


def csrf_token(request: Request) -> str | None:
    """The token forms must send back: the session's, or the login form's."""
    web_session = current_session(request)
    if web_session is not None:
        return web_session.csrf_token
    return getattr(request.state, "login_csrf", None) or request.cookies.get(LOGIN_COOKIE)


def new_login_csrf(request: Request) -> str:
    """A fresh token for the login form; the caller sets it as LOGIN_COOKIE too."""
    request.state.login_csrf = secrets.token_urlsafe(24)
    return request.state.login_csrf


def bearer_user(request: Request) -> User | None:
    """The enabled user of the request's ``Authorization: Bearer`` API token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return check_token(engine_of(request), token.strip())


def allowed(user: User, roles: tuple[str, ...]) -> bool:
    """Admins may do everything; no roles named means any logged-in user."""
    return user.role == "admin" or not roles or user.role in roles


def _role_problem(request: Request, user: User, roles: tuple[str, ...]) -> HTTPException:
    lang = "en" if is_api(request) else interface_lang(request)
    wanted = t(lang, " or ").join(t(lang, r) for r in dict.fromkeys((*roles, "admin")))
    return HTTPException(403, t(lang, "this needs the role %(wanted)s; you are %(role)s",
                                wanted=wanted, role=t(lang, user.role)))


def require(*roles: str):  # noqa: ANN201 - a FastAPI dependency
    """A dependency returning the user when their role is one of ``roles`` (admins
    always pass). Without a user: pages redirect to /login, the API answers 401
    JSON; with the wrong role: 403."""

    def dependency(request: Request) -> User:
        if is_api(request):
            user = bearer_user(request)
            if user is None:
                raise HTTPException(401, "missing or invalid API token: send "
                                    "'Authorization: Bearer <token>' (crisiswatch users token)",
                                    headers={"WWW-Authenticate": "Bearer"})
        else:
            user = current_user(request)
            if user is None:
                raise LoginRequired()
        if not allowed(user, roles):
            raise _role_problem(request, user, roles)
        return user

    return dependency


# Route parameter types: ``user: Reader`` lets analysts, PR staff and admins in.
AnyUser = Annotated[User, Depends(require())]
Reader = Annotated[User, Depends(require(*READERS))]
Responder = Annotated[User, Depends(require(*RESPONDERS))]
Admin = Annotated[User, Depends(require("admin"))]


def check_csrf(request: Request, token: str | None) -> None:
    """403 unless ``token`` is this session's CSRF token (the login form's before login)."""
    web_session = current_session(request)
    expected = web_session.csrf_token if web_session else request.cookies.get(LOGIN_COOKIE)
    if not same_secret(token, expected):
        raise HTTPException(403, t(interface_lang(request), "the form's security token is "
                                   "missing or out of date: reload the page and try again"))


async def csrf_guard(request: Request) -> None:
    """App-wide dependency: every state-changing request outside the API must carry the
    CSRF token, as form field ``csrf_token`` or header ``X-CSRF-Token``."""
    if request.method in SAFE_METHODS or is_api(request):
        return
    token = request.headers.get("x-csrf-token")
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded",
                                    "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    await run_in_threadpool(check_csrf, request, token)
