"""Logging in and out.

Failed logins are limited per (name, address) (web.security.LoginLimiter); the
message never says whether the name or the password was wrong. Passwords are
never logged: only the name and the outcome are."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.users import SESSION_TTL, end_session, start_session, verify
from web.auth import LOGIN_COOKIE, SESSION_COOKIE, AnyUser, engine_of, new_login_csrf
from web.i18n import plural, t
from web.pages import page_lang, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("crisiswatch.web")
ROLE_HOME = {"pr": "/board"}  # where a role lands when the login led nowhere else


def landing(target: str | None, role: str) -> str:
    """Where to go after login: ``target`` if it names a page, else the role's home
    (the PR team's triage board; the dashboard for the others)."""
    found = safe_next(target)
    return ROLE_HOME.get(role, "/") if found == "/" else found


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_page(request: Request, *, next_url: str, error: str | None = None,
                name: str = "", status_code: int = 200) -> Response:
    token = new_login_csrf(request)
    response = render(request, "login.html", next_url=safe_next(next_url), error=error,
                      name=name, status_code=status_code)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax",
                        secure=_secure(request), path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - query name
    return _login_page(request, next_url=next)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login")
async def login(request: Request, name: str = Form(""), password: str = Form(""),
                next: str = Form("/")) -> Response:  # noqa: A002 - form field name
    limiter, address = request.app.state.login_limiter, _client(request)
    wait = limiter.retry_after(name, address)
    if wait:
        minutes = max(1, round(wait / 60))
        log.warning("login rate limit hit for %r from %s", name[:60], address)
        lang = page_lang(request)
        error = t(lang, "Too many failed logins for this name.") + " " + plural(
            lang, "Try again in about %(n)s minute.", "Try again in about %(n)s minutes.",
            minutes) % {"n": minutes}
        return _login_page(request, next_url=next, name=name, status_code=429, error=error)
    user = await run_in_threadpool(verify, engine_of(request), name, password)
    if user is None:
        limiter.failed(name, address)
        log.info("failed login for %r from %s", name[:60], address)
        return _login_page(request, next_url=next, name=name, status_code=401,
                           error=t(page_lang(request),
                                   "Wrong name or password (or the account is disabled)."))
    limiter.succeeded(name, address)
    started = await run_in_threadpool(start_session, engine_of(request), user)
    log.info("%s logged in from %s", user.name, address)
    response = RedirectResponse(landing(next, user.role), status_code=303)
    response.set_cookie(SESSION_COOKIE, started.token, max_age=int(SESSION_TTL.total_seconds()),
                        httponly=True, samesite="lax", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, user: AnyUser) -> Response:
    """End the session server-side, so the cookie is dead even where it was copied."""
    end_session(engine_of(request), request.cookies.get(SESSION_COOKIE, ""))
    log.info("%s logged out", user.name)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
