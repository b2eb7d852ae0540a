"""The user's own settings: the interface language, from the switch in every page's
header. Stored on the account (``User.language``), so it follows the user to any
browser; a cookie remembers it for the login page, where nobody is logged in yet."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.users import set_language
from web.auth import AnyUser, engine_of
from web.i18n import LANG_COOKIE, known
from web.login import safe_next

router = APIRouter(include_in_schema=False)
COOKIE_AGE = 365 * 24 * 3600


@router.post("/account/language")
async def choose_language(request: Request, user: AnyUser, language: str = Form(""),
                          next: str = Form("/")) -> Response:  # noqa: A002 - form field
    """Set the language and go back to the page the switch was pressed on."""
    chosen = known(language)
    if chosen is None:
        raise HTTPException(400, f"unknown language {language!r}")
    await run_in_threadpool(set_language, engine_of(request), user.name, chosen)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, chosen, max_age=COOKIE_AGE, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path="/")
    return response
