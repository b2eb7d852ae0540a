"""Analyst pages: the flagged-post history (filters, sort, keyset pages, CSV and JSON
export of any filtered view) and incidents with their timeline.

Exports stream a keyset batch at a time (monitor.history.search.iter_rows), so a year of
history downloads in constant memory. CSV cells that a spreadsheet would run as a
formula (starting with = + - @) are prefixed with an apostrophe: post text is
written by strangers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, tzinfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import Engine
from sqlmodel import select

from db.engine import read_session
from db.models import SEVERITIES, Alert, Brand, Source, utcnow
from monitor.history.incident_posts import alert_mark
from monitor.history.incidents import incident_detail, list_incidents
from monitor.history.search import (
    COLUMNS,
    FILTER_KEYS,
    MAX_PAGE,
    SORTS,
    HistoryFilter,
    SearchError,
    iter_rows,
    parse_filter,
    parse_sort,
    search,
)
from web.auth import Reader, engine_of
from web.board import incident_alerts, post_section
from web.charts import NARROW, WIDE, Chart, Event, timeline
from web.clock import local_day_bound
from web.i18n import DEFAULT_LANG, t
from web.pages import page_lang, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
LANGUAGES = ("en", "zh")
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def page_size(raw: str | None, default: int = PAGE_SIZE, lang: str = DEFAULT_LANG) -> int:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SearchError(t(lang, "limit: %(raw)r is not a whole number", raw=raw)) from None
    if not 1 <= value <= MAX_PAGE:
        raise SearchError(t(lang, "limit: must be between 1 and %(max)s", max=MAX_PAGE))
    return value


def zone_of_console(request: Request) -> tzinfo:
    return getattr(request.app.state, "zone", None) or UTC


def local_filter(params: Mapping[str, str], zone: tzinfo) -> HistoryFilter:
    """The filter of the query string, its From and To dates being days in the
    console's ``zone`` (the zone the page shows times in), not UTC days."""
    local = dict(params)
    for key, end in (("since", False), ("until", True)):
        if (local.get(key) or "").strip():
            local[key] = local_day_bound(local[key], zone, end=end)
    return parse_filter(local)


def kept_params(params: Mapping[str, str]) -> dict[str, str]:
    """The filter and sort as given (for links and export URLs that keep the view)."""
    keys = (*FILTER_KEYS, "sort", "order")
    return {k: params[k].strip() for k in keys if (params.get(k) or "").strip()}


def names(engine: Engine, model: type[Brand] | type[Source]) -> list[str]:
    with read_session(engine) as s:
        return list(s.exec(select(model.name).order_by(model.name)).all())


@router.get("/history", response_class=HTMLResponse)
def history(request: Request, user: Reader) -> HTMLResponse:
    params, engine = request.query_params, engine_of(request)
    found = local_filter(params, zone_of_console(request))
    sort, descending = parse_sort(params.get("sort"), params.get("order"))
    after = params.get("after") or None
    page = search(engine, found, sort=sort, descending=descending, after=after,
                  limit=page_size(params.get("limit"), lang=page_lang(request)))
    return render(request, "history.html", rows=page.rows, next_cursor=page.next_cursor,
                  paged=after is not None, keep=kept_params(params),
                  form={k: params.get(k, "") for k in FILTER_KEYS}, sort=sort,
                  descending=descending, sorts=tuple(SORTS), brands=names(engine, Brand),
                  sources=names(engine, Source), severities=SEVERITIES, languages=LANGUAGES)


def csv_cell(value: object) -> object:
    """A value as a CSV cell; text that a spreadsheet would evaluate is defused."""
    if isinstance(value, list):
        value = "; ".join(map(str, value))
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_lines(rows: Iterator[dict]) -> Iterator[str]:
    """The export as CSV, starting with a UTF-8 byte order mark: without it Excel in a
    Chinese (or any non-UTF-8) locale reads the file in the local code page."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(row[c]) for c in COLUMNS])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_chunks(rows: Iterator[dict]) -> Iterator[str]:
    """A JSON array, streamed row by row."""
    yield "["
    for i, row in enumerate(rows):
        yield ("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]\n"


def _export(request: Request, kind: str) -> StreamingResponse:
    params = request.query_params
    found = local_filter(params, zone_of_console(request))
    sort, descending = parse_sort(params.get("sort"), params.get("order"))
    rows = iter_rows(engine_of(request), found, sort=sort, descending=descending)
    stamp = f"{utcnow():%Y%m%d-%H%M}"
    body, media = ((csv_lines(rows), "text/csv; charset=utf-8") if kind == "csv"
                   else (json_chunks(rows), "application/json"))
    return StreamingResponse(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="crisiswatch-history-{stamp}.{kind}"'})


@router.get("/history.csv")
def history_csv(request: Request, user: Reader
                ) -> StreamingResponse:
    return _export(request, "csv")


@router.get("/history.json")
def history_json(request: Request, user: Reader
                 ) -> StreamingResponse:
    return _export(request, "json")


@router.get("/incidents", response_class=HTMLResponse)
def incidents(request: Request, user: Reader, brand: str = "",
              severity: str = "") -> HTMLResponse:
    if severity and severity not in SEVERITIES:
        raise SearchError(t(page_lang(request), "severity: %(severity)r is not one of %(all)s",
                            severity=severity, all=", ".join(SEVERITIES)))
    engine = engine_of(request)
    rows = list_incidents(engine, brand=brand or None, min_severity=severity or None,
                          limit=200)
    return render(request, "incidents.html", rows=rows, brands=names(engine, Brand),
                  severities=SEVERITIES, form={"brand": brand, "severity": severity})


CHANGES = ("rise", "reminder", "reopened", "merged")  # the incident's changes listed


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def incident_events(engine: Engine, incident_id: int, lang: str = DEFAULT_LANG
                    ) -> list[Event]:
    """The incident's alerts (each a marker at its level, linked to its page) and
    the PR team's acknowledge and resolve (once per moment: one click acknowledges
    every earlier alert), from the alerts themselves, since reopening the incident
    forgets its own acknowledged and resolved times. Notes are worded in ``lang``."""
    with read_session(engine) as s:
        alerts = s.exec(select(Alert).where(Alert.incident_id == incident_id)
                        .order_by(Alert.id)).all()
    events = [Event(a.created_at, a.severity, t(lang, "alert #%(id)s", id=a.id),
                    f"/alerts/{a.id}")
              for a in alerts if a.severity in SEVERITIES]
    done: dict[tuple[str, datetime], str] = {}
    for a in alerts:
        if a.acknowledged_at is not None:
            done.setdefault(("acknowledged", a.acknowledged_at),
                            t(lang, "by %(who)s", who=a.acknowledged_by)
                            if a.acknowledged_by else "")
        if a.resolved_at is not None:
            done.setdefault(("resolved", a.resolved_at), "")
    return events + [Event(at, kind, note) for (kind, at), note in done.items()]


def incident_charts(engine: Engine, detail: dict, zone: tzinfo, lang: str = DEFAULT_LANG
                    ) -> tuple[Chart | None, ...]:
    """The timeline of an ``incident_detail``, drawn wide and narrow (web/charts.py),
    in the page's language."""
    mentions = [(_at(e["at"]), e["sentiment"]) for e in detail["timeline"]
                if e["kind"] == "mention"]
    events = incident_events(engine, detail["id"], lang)
    return tuple(timeline(mentions, events, zone, width, lang) for width in (WIDE, NARROW))


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident(request: Request, user: Reader, incident_id: int) -> HTMLResponse:
    engine = engine_of(request)
    detail = incident_detail(engine, incident_id)
    if detail is None:
        raise HTTPException(404, t(page_lang(request), "There is no incident #%(id)s.",
                                   id=incident_id))
    changes = [e for e in detail["timeline"] if e["kind"] in CHANGES]
    chart, narrow = incident_charts(engine, detail, zone_of_console(request),
                                    page_lang(request))
    return render(request, "incident.html", incident=detail, chart=chart,
                  chart_narrow=narrow, changes=changes,
                  alerts=incident_alerts(request, incident_id),
                  **post_section(request, incident_id, alert_mark(engine, incident_id)))
