"""Admin: sources (feeds and forums) with their health, and a test fetch.

Input is validated by the config's own model (SourceConfig), so the console
accepts exactly what the YAML would, and its URL must pass crawlers/urlcheck.py.
"Test fetch" runs the real Scrapy probe of ``crisiswatch sources test`` in a
child process (web/admin/probe.py) with a timeout. Sources the config file
manages are read-only here (monitor/stages/sync.py rewrites them at every start) but
can be paused and tested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import Engine, func
from sqlmodel import select

from crawlers.urlcheck import check_url
from db.engine import read_session
from db.models import Brand, Post, Source, utcnow
from monitor.config import SourceConfig, check_endpoint, plain_allowed  # the YAML's ws:// rule
from monitor.history.health import stream_status
from web.admin.common import (
    AdminForm,
    AdminUser,
    PostedForm,
    RowSection,
    allow_private,
    back,
    config_of,
    engine_of,
    field_errors,
    file_names,
    get_row,
    mount_row_routes,
    page,
    require_editable,
    save_row,
)
from web.admin.probe import ProbeResult, probe
from web.admin.source_kinds import (
    DEFAULT_URL_KINDS,
    KIND_FIELDS,
    RULES_KINDS,
    TIMELINES,
    blank_values,
    field_for,
    option_keys,
    options_of,
    posted_values,
    stored_values,
)
from web.i18n import N_, say, t
from web.pages import page_lang

router = APIRouter()
HEALTH_DAYS = 7
KINDS = ("feed", "forum", "discourse", "hackernews", "mastodon", "bluesky", "reddit")
PAGES = ("listing", "thread")
FIELDS = ("name", "kind", "url", "interval", "preset", "rules", "page", "hot_interval")


@dataclass(frozen=True)
class Health:
    """What an admin needs to see whether a source works."""

    source: Source
    per_day: list[int]  # posts stored per UTC day, oldest first, today last

    @property
    def stream(self) -> str:
        """A stream source's connection and lag (kind bluesky), else empty."""
        return stream_status(self.source) if self.source.stream_state else ""

    @property
    def state(self) -> str:
        if not self.source.enabled:
            return "paused"
        if self.source.consecutive_errors:
            return "failing"
        return "ok" if self.source.last_success_at else "not fetched yet"


def posts_per_day(engine: Engine, now: datetime, days: int = HEALTH_DAYS
                  ) -> dict[int, list[int]]:
    """Posts stored per source per UTC day over the last ``days`` days (one
    counting query per day keeps it portable between SQLite and PostgreSQL)."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    counts: dict[int, list[int]] = {}
    with read_session(engine) as s:
        for i in range(days):
            start = today - timedelta(days=days - 1 - i)
            rows = s.exec(select(Post.source_id, func.count()).where(
                Post.fetched_at >= start, Post.fetched_at < start + timedelta(days=1))
                .group_by(Post.source_id)).all()
            for source_id, n in rows:
                counts.setdefault(source_id, [0] * days)[i] = n
    return counts


def source_health(engine: Engine, now: datetime | None = None) -> list[Health]:
    now = now or utcnow()
    counts = posts_per_day(engine, now)
    with read_session(engine) as s:
        rows = s.exec(select(Source).order_by(Source.name)).all()
    return [Health(r, counts.get(r.id, [0] * HEALTH_DAYS)) for r in rows]


def _values_of(row: Source | None) -> dict:
    if row is None:
        return {"name": "", "kind": "feed", "url": "", "interval": "5m", "preset": "",
                "rules": "", "page": "listing", "robots": True, "hot_interval": "1m",
                "enabled": True, **blank_values()}
    own = row.kind in KIND_FIELDS  # options in their own fields, not the rules box
    return {"name": row.name, "kind": row.kind, "url": row.url, "interval": f"{row.interval_s}s",
            "preset": row.preset or "",
            "rules": yaml.safe_dump(row.rules, allow_unicode=True) if row.rules and not own
            else "", "page": row.page, "robots": row.obey_robots,
            "hot_interval": f"{row.hot_interval_s}s", "enabled": row.enabled,
            **stored_values(row.kind, row.rules)}


def _form_values(form: AdminForm) -> dict:
    return {key: form.get(key).strip() for key in FIELDS} | {
        "robots": form.flag("robots"), "enabled": form.flag("enabled")} | posted_values(
        form.get, form.flag)


def _parse_rules(text: str, lang: str = "en") -> tuple[dict | None, str | None]:
    """Forum extraction rules typed as YAML (or JSON) text; the error in ``lang``
    (the parser's own detail, with line and column, stays as PyYAML words it)."""
    if not text.strip():
        return None, None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, t(lang, "not valid YAML: %(why)s", why=" ".join(str(exc).split()))
    if not isinstance(data, dict):
        return None, t(lang, "expected a mapping such as listing: {...}, thread: {...}")
    return data, None


def validate_source(values: dict, *, allow: list[str], engine: Engine,
                    source_id: int | None, lang: str = "en"
                    ) -> tuple[SourceConfig | None, dict[str, str]]:
    """The source as the config would accept it, its URL checked for private
    addresses, its name unique; else one message per bad field."""
    kind = values["kind"]
    options = options_of(kind, values)  # the social kinds' own fields
    rules, rules_error = (options or None, None) if kind in RULES_KINDS else (None, None) \
        if kind in KIND_FIELDS else _parse_rules(values["rules"], lang)
    if rules_error:
        return None, {"rules": rules_error}
    given = {"url": values["url"]} if values["url"] or kind not in DEFAULT_URL_KINDS else {}
    if kind == "hackernews":
        given["query"] = options.get("query")
    try:
        src = SourceConfig(name=values["name"], kind=kind, **given,
                           interval=values["interval"] or 300, preset=values["preset"] or None,
                           rules=rules, page=values["page"] or "listing",
                           robots=values["robots"], hot_interval=values["hot_interval"] or 60)
    except ValidationError as exc:
        errors = field_errors(exc, FIELDS + option_keys(kind), lang)
        return None, {field_for(kind, key): message for key, message in errors.items()}
    url_errors = {field: say(lang, error) for field, error in _url_errors(src, allow).items()}
    if url_errors:
        return None, url_errors
    with read_session(engine) as s:
        taken = [x for x in s.exec(select(Source)).all()
                 if x.name.casefold() == src.name.casefold() and x.id != source_id]
    if taken:
        return None, {"name": t(lang, "a source named %(name)r already exists",
                                name=taken[0].name)}
    return src, {}


def _url_errors(src: SourceConfig, allow: list[str]) -> dict[str, str]:
    """Every address the source will reach, checked as any console-entered URL: a
    Jetstream's (ws:// only where allowed) and a Reddit app's token endpoint too."""
    if src.kind == "bluesky":
        error = check_url(src.url, allow, schemes=("wss", "ws")) or check_endpoint(
            src.url, plain_allowed(allow))
        return {"url": error} if error else {}
    error = check_url(src.url, allow)
    if error:
        return {"url": error}
    token_url = (src.rules or {}).get("token_url") if src.kind == "reddit" else None
    error = check_url(token_url, allow) if token_url else None
    return {"r_token_url": error} if error else {}


def run_test_fetch(request: Request, src: SourceConfig, *,
                   guard: bool = True) -> ProbeResult:
    """The probe's result for ``src``; ``guard`` refuses private hosts on the way
    (redirects included). Only the config file's own sources go unguarded."""
    config = config_of(request)
    allow = allow_private(config) if guard else ["0.0.0.0/0", "::/0"]
    fetch = config.fetch.model_dump() if config is not None else {}
    return probe({"kind": src.kind, "url": src.url, "preset": src.preset,
                  "rules": _probe_rules(src, engine_of(request)), "page": src.page,
                  "robots": src.robots}, allow=allow, fetch=fetch)


def _probe_rules(src: SourceConfig, engine: Engine) -> dict | None:
    """A Hacker News source searches its ``query``, else the brands' keywords (as
    the crawl does); its item API may be stored in the row's rules."""
    if src.kind != "hackernews":
        return src.rules
    with read_session(engine) as s:
        keywords = [k for row in s.exec(select(Brand).where(Brand.enabled == True)).all()  # noqa: E712
                    for k in row.keywords]
    stored = src.rules or {}
    return {"query": src.query or stored.get("query") or keywords,
            "items_url": src.items_url or stored.get("items_url")}


def _form_page(request: Request, row: Source | None, values: dict, errors: dict,
               status_code: int = 200, test: ProbeResult | None = None) -> Response:
    if test is not None and test.error:  # the probe's own refusals; the child's report is English
        test.error = say(page_lang(request), test.error)
    return page(request, "admin/source_form.html", source=row, values=values, errors=errors,
                test=test, kinds=KINDS, pages=PAGES, timelines=TIMELINES,
                status_code=status_code)


@router.get("/sources")
def list_sources(request: Request, user: AdminUser) -> Response:
    now = utcnow()
    days = [(now - timedelta(days=HEALTH_DAYS - 1 - i)).strftime("%m-%d")
            for i in range(HEALTH_DAYS)]
    return page(request, "admin/sources.html", rows=source_health(engine_of(request), now),
                days=days, done=request.query_params.get("done"),
                file_names=file_names(config_of(request), Source))


def _submit(request: Request, form: AdminForm, source_id: int | None) -> Response:
    """Test fetch (nothing saved) or save, depending on the button pressed."""
    engine = engine_of(request)
    row = get_row(engine, Source, source_id, "source", page_lang(request)) if source_id else None
    require_editable(row, "source", page_lang(request))
    values = _form_values(form)
    src, errors = validate_source(values, allow=allow_private(config_of(request)),
                                  engine=engine, source_id=source_id,
                                  lang=page_lang(request))
    if src is None:
        return _form_page(request, row, values, errors, 422)
    if form.get("action") == "test" and src.kind == "bluesky":
        return _form_page(request, row, values, {"_form": t(
            page_lang(request), "a stream cannot be test-fetched here; run crisiswatch "
            "sources test with this source in a config file")}, 422)
    if form.get("action") == "test":
        return _form_page(request, row, values, {}, test=run_test_fetch(request, src))
    save_row(engine, src, values["enabled"], source_id)
    return back("/admin/sources", t(page_lang(request), "saved source %(name)s",
                                    name=src.name))


@router.post("/sources/{source_id}/test")
def test_source(source_id: int, request: Request,
                form: PostedForm) -> Response:
    """Test fetch of a stored source as it is saved."""
    row = get_row(engine_of(request), Source, source_id, "source",
                  page_lang(request))
    src = SourceConfig.model_construct(name=row.name, kind=row.kind, url=row.url,
                                       preset=row.preset, rules=row.rules, page=row.page,
                                       robots=row.obey_robots)
    result = run_test_fetch(request, src, guard=row.managed_by == "console")
    return _form_page(request, row, _values_of(row), {}, test=result)


def _poll_now(row: Source) -> None:
    row.next_poll_at = None  # resume now, not after the backoff of the old errors


mount_row_routes(router, RowSection("/sources", Source, N_("source"), _form_page, _values_of,
                                    _submit, verbs=(N_("resumed"), N_("paused")),
                                    on_enable=_poll_now))
