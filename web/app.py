"""The console application: ``create_app`` wires pages, API, security and errors.

``crisiswatch web`` starts it through uvicorn's factory import string
``web.app:create_app`` with the config path in ``CRISISWATCH_CONFIG``, so the CLI
never imports web/ (DESIGN.md layout)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.engine import open_database
from monitor.config import DEFAULT_CONFIG, ENV_CONFIG, Config, load_config
from monitor.history.search import SearchError
from web import analyst, api, board, dashboard, login, pr
from web.admin.router import router as admin_router
from web.auth import LoginRequired, csrf_guard, is_api
from web.pages import render
from web.security import LoginLimiter, SecurityHeaders

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("crisiswatch.web")


def _config_from_env() -> Config:
    return load_config(os.environ.get(ENV_CONFIG) or DEFAULT_CONFIG)


def create_app(config: Config | None = None, engine: Engine | None = None) -> FastAPI:
    """The console over ``config``'s database (or ``engine``). Without a config, the
    file named by CRISISWATCH_CONFIG (default crisiswatch.yaml) is read."""
    config = config or _config_from_env()
    engine = engine or open_database(config.database)
    app = FastAPI(title="crisiswatch console API", version="1",
                  openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
                  dependencies=[Depends(csrf_guard)])
    app.state.config, app.state.engine = config, engine
    app.state.login_limiter = LoginLimiter()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (login, dashboard, board, analyst, pr):
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
            message = "There is nothing at this address."
        if is_api(request):
            return _json_error(exc.status_code, message, getattr(exc, "headers", None))
        return render(request, "error.html", status_code=exc.status_code,
                      status=exc.status_code, message=message)

    @app.exception_handler(SearchError)
    async def _search(request: Request, exc: SearchError) -> Response:
        if is_api(request):
            return _json_error(400, str(exc))
        return render(request, "error.html", status_code=400, status=400, message=str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: "
                             f"{e['msg']}" for e in exc.errors())
        if is_api(request):
            return _json_error(422, problems)
        return render(request, "error.html", status_code=422, status=422, message=problems)

