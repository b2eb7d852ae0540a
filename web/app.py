"""The console application: ``create_app`` wires pages, API, security and errors.

``crisiswatch web`` starts it through uvicorn's factory import string
``web.app:create_app`` with the config path in ``CRISISWATCH_CONFIG``, so the CLI
never imports web/ (DESIGN.md layout)."""

from __future__ import annotations

import logging
import os
from datetime import UTC, tzinfo
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlmodel import select
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.engine import open_database, read_session
from db.models import Channel
from monitor.config import (
    BUILTIN_CONFIG,
    DEFAULT_CONFIG,
    ENV_CONFIG,
    Config,
    console_timezone,
    load_config,
    parse_config,
)
from monitor.history.search import SearchError
from web import account, analyst, api, board, dashboard, login, pr
from web.admin.router import router as admin_router
from web.auth import LoginRequired, csrf_guard, is_api
from web.clock import zone_of
from web.i18n import say, say_invalid, t
from web.pages import page_lang, render
from web.security import LoginLimiter, SecurityHeaders

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("crisiswatch.web")


def _config_from_env() -> Config:
    """The file CRISISWATCH_CONFIG names (default crisiswatch.yaml); ``BUILTIN_CONFIG``
    there means no file, the built-in settings (``crisiswatch web --database``), with
    the database from CRISISWATCH_DATABASE either way."""
    path = os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG
    if path == BUILTIN_CONFIG:
        return parse_config({}, base=Path.cwd())
    return load_config(path)


def console_zone(config: Config, engine: Engine) -> tzinfo:
    """The zone the console shows times in: ``console.timezone``, else the first
    channel's in the file, else the first console-added channel's that is not UTC,
    else UTC. Read once, when the console starts."""
    name = console_timezone(config)
    if name is None:
        with read_session(engine) as s:
            name = s.exec(select(Channel.timezone).where(Channel.timezone != "UTC")
                          .order_by(Channel.id)).first()
    try:
        return zone_of(name)
    except (ValueError, KeyError):  # a row written around the console's checks
        log.warning("channel time zone %r is unknown; the console shows UTC", name)
        return UTC


def create_app(config: Config | None = None, engine: Engine | None = None) -> FastAPI:
    """The console over ``config``'s database (or ``engine``). Without a config, the
    file named by CRISISWATCH_CONFIG (default crisiswatch.yaml) is read."""
    config = config or _config_from_env()
    engine = engine or open_database(config.database)
    app = FastAPI(title="crisiswatch console API", version="1",
                  openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
                  dependencies=[Depends(csrf_guard)])
    app.state.config, app.state.engine = config, engine
    app.state.zone = console_zone(config, engine)
    app.state.login_limiter = LoginLimiter()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (login, account, dashboard, board, analyst, pr):
        app.include_router(module.router)
    app.include_router(admin_router, include_in_schema=False)
    app.include_router(api.router)
    _error_handlers(app)
    return app


def _json_error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status,
                        headers=headers)


def _error_handlers(app: FastAPI) -> None:
    """API errors are JSON ``{"error", "status"}``; page errors are pages."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            lang = "en" if is_api(request) else page_lang(request)
            message = t(lang, "There is nothing at this address.")
        if is_api(request):
            return _json_error(exc.status_code, message, getattr(exc, "headers", None))
        return render(request, "error.html", status_code=exc.status_code,
                      status=exc.status_code, message=message)

    @app.exception_handler(SearchError)
    async def _search(request: Request, exc: SearchError) -> Response:
        if is_api(request):
            return _json_error(400, str(exc))
        return render(request, "error.html", status_code=400, status=400,
                      message=say(page_lang(request), exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        lang = "en" if is_api(request) else page_lang(request)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: "
                             f"{say_invalid(lang, e)}" for e in exc.errors())
        if is_api(request):
            return _json_error(422, problems)
        return render(request, "error.html", status_code=422, status=422, message=problems)

