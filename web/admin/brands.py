"""Admin: brands and their watch keywords.

Keywords change what the daemon flags, so a change can be previewed first: which
stored posts of the last days the new rule would match, with the same matcher
the monitor stage uses (monitor/text/matching.py). Brands the config file manages are
shown read-only: monitor/stages/sync.py rewrites them from the file at every start, so
an edit here would silently come undone; they can still be paused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import select

from alerts.playbook_check import LANGS
from db.engine import read_session
from db.models import Brand, Post, utcnow
from monitor.config import BrandConfig
from monitor.text.matching import BrandRule
from monitor.text.normalize import normalize
from web.admin.common import (
    AdminForm,
    AdminUser,
    RowSection,
    back,
    config_of,
    engine_of,
    field_errors,
    file_names,
    get_row,
    lines,
    mount_row_routes,
    page,
    require_editable,
    save_row,
)
from web.i18n import N_, t
from web.pages import page_lang

router = APIRouter()
PREVIEW_DAYS = 7
PREVIEW_SCAN = 5000  # newest posts looked at: a preview must answer in a moment
PREVIEW_SHOW = 20


@dataclass
class Preview:
    matched: int = 0
    scanned: int = 0
    capped: bool = False
    posts: list[Post] = field(default_factory=list)


def preview_matches(engine: Engine, keywords: list[str], exclude: list[str], *,
                    now: datetime | None = None, days: int = PREVIEW_DAYS,
                    scan: int = PREVIEW_SCAN, show: int = PREVIEW_SHOW) -> Preview:
    """Which posts stored in the last ``days`` the rule would match, newest first;
    at most ``scan`` posts are read, so ``capped`` says the count is a floor."""
    since = (now or utcnow()) - timedelta(days=days)
    rule = BrandRule.build(0, "preview", keywords, exclude)
    with read_session(engine) as s:
        posts = s.exec(select(Post).where(Post.fetched_at >= since)
                       .order_by(Post.fetched_at.desc(), Post.id.desc()).limit(scan)).all()
    hits = [p for p in posts if rule.matches(normalize(f"{p.title}\n{p.text}"))]
    return Preview(len(hits), len(posts), len(posts) >= scan, hits[:show])


def _validate(engine: Engine, values: dict, brand_id: int | None, lang: str = "en"
              ) -> tuple[BrandConfig | None, dict[str, str]]:
    """The brand as the config would accept it, and one message per bad field."""
    try:
        brand = BrandConfig(name=values["name"].strip(), keywords=values["keywords"],
                            exclude=values["exclude"], names=values["names"])
    except ValidationError as exc:
        return None, field_errors(exc, ("name", "keywords", "exclude", "names"), lang)
    with read_session(engine) as s:
        taken = [b for b in s.exec(select(Brand)).all()
                 if b.name.casefold() == brand.name.casefold() and b.id != brand_id]
    if taken:
        return None, {"name": t(lang, "a brand named %(name)r already exists",
                                name=taken[0].name)}
    return brand, {}


def _form_values(form: AdminForm) -> dict:
    names = {lang: form.get(f"name_{lang}").strip() for lang in LANGS}
    return {"name": form.get("name"), "keywords": lines(form.get("keywords")),
            "exclude": lines(form.get("exclude")), "enabled": form.flag("enabled"),
            "names": {lang: name for lang, name in names.items() if name}}


def _values_of(row: Brand | None) -> dict:
    if row is None:
        return {"name": "", "keywords": [], "exclude": [], "enabled": True, "names": {}}
    return {"name": row.name, "keywords": row.keywords, "exclude": row.exclude,
            "enabled": row.enabled, "names": dict(row.names or {})}


def _form_page(request: Request, row: Brand | None, values: dict, errors: dict,
               status_code: int = 200, **extra: object) -> Response:
    return page(request, "admin/brand_form.html", brand=row, values=values, errors=errors,
                status_code=status_code, **extra)


@router.get("/brands")
def list_brands(request: Request, user: AdminUser) -> Response:
    with read_session(engine_of(request)) as s:
        rows = s.exec(select(Brand).order_by(Brand.name)).all()
    return page(request, "admin/brands.html", brands=rows, done=request.query_params.get("done"),
                file_names=file_names(config_of(request), Brand))


def _submit(request: Request, form: AdminForm, brand_id: int | None) -> Response:
    """Preview (nothing saved) or save, depending on the button pressed."""
    engine = engine_of(request)
    row = get_row(engine, Brand, brand_id, "brand", page_lang(request)) if brand_id else None
    require_editable(row, "brand", page_lang(request))
    values = _form_values(form)
    lang = page_lang(request)
    brand, errors = _validate(engine, values, brand_id, lang)
    if brand is None or form.get("action") == "preview":
        found = preview_matches(engine, values["keywords"], values["exclude"]) if brand else None
        return _form_page(request, row, values, errors, 200 if brand else 422,
                          preview=found, days=PREVIEW_DAYS)
    save_row(engine, brand, values["enabled"], brand_id)
    return back("/admin/brands", t(lang, "saved brand %(name)s", name=brand.name))


mount_row_routes(router, RowSection("/brands", Brand, N_("brand"), _form_page, _values_of, _submit))
