"""The JSON API under /api/v1, for scripts and dashboards elsewhere.

Authentication is ``Authorization: Bearer <token>`` with a token from
``crisiswatch users token NAME --name LABEL``; cookies are not accepted here, so
the API needs no CSRF token. Errors are ``{"error": "...", "status": N}``. Roles
as in the pages: analysts and PR staff read, PR staff (and admins) acknowledge
and resolve. The schema is at /api/v1/openapi.json."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from alerts.workflow import STATUSES, WorkflowError, acknowledge, list_alerts, resolve
from db.models import SEVERITIES, utcnow
from monitor.history.incidents import incident_detail, list_incidents
from monitor.history.search import (
    FILTER_KEYS,
    MAX_PAGE,
    SearchError,
    parse_filter,
    parse_sort,
    search,
)
from web.auth import AnyUser, Reader, Responder, engine_of

router = APIRouter(prefix="/api/v1", tags=["api"],
                   dependencies=[Depends(HTTPBearer(auto_error=False,
                                                    description="An API token"))])


def _problem(status: int, message: str) -> HTTPException:
    return HTTPException(status, message)


@router.get("/me")
def me(user: AnyUser) -> dict:
    """Who the token belongs to."""
    return {"name": user.name, "role": user.role}


@router.get("/posts")
def posts(request: Request, user: Reader,
          brand: str | None = None, source: str | None = None,
          severity: str | None = Query(None, description="this level and above: "
                                       + ", ".join(SEVERITIES)),
          sentiment_min: float | None = Query(None, ge=0, le=1),
          sentiment_max: float | None = Query(None, ge=0, le=1),
          language: str | None = None,
          since: str | None = Query(None, description="ISO date or date-time, UTC"),
          until: str | None = Query(None, description="ISO date or date-time, UTC"),
          q: str | None = Query(None, description="text in the title or body"),
          sort: str = Query("time", description="time, risk or sentiment"),
          order: str = Query("desc", description="asc or desc"),
          limit: int = Query(50, ge=1, le=MAX_PAGE),
          after: str | None = Query(None, description="the 'next' value of the previous "
                                    "page")) -> dict:
    """Flagged posts, filtered like the history page; pass ``next`` back as ``after``."""
    params = {k: str(v) for k, v in request.query_params.items() if k in FILTER_KEYS}
    found = parse_filter(params)
    sort_key, descending = parse_sort(sort, order)
    page = search(engine_of(request), found, sort=sort_key, descending=descending,
                  after=after, limit=limit)
    return {"items": page.rows, "next": page.next_cursor}


@router.get("/incidents")
def incidents(request: Request, user: Reader, brand: str | None = None,
              severity: str | None = Query(None, description="this level and above"),
              since: str | None = Query(None, description="active since (ISO date, UTC)"),
              limit: int = Query(50, ge=1, le=MAX_PAGE)) -> dict:
    """Incidents, most recently active first."""
    if severity is not None and severity not in SEVERITIES:
        raise SearchError(f"severity: {severity!r} is not one of {', '.join(SEVERITIES)}")
    since_at = parse_filter({"since": since or ""}).since
    return {"items": list_incidents(engine_of(request), brand=brand, min_severity=severity,
                                    since=since_at, limit=limit)}


@router.get("/incidents/{incident_id}")
def incident(request: Request, user: Reader, incident_id: int) -> dict:
    """One incident with its timeline (mentions, replies, severity changes)."""
    found = incident_detail(engine_of(request), incident_id)
    if found is None:
        raise _problem(404, f"no incident #{incident_id}")
    return found


def _alert_dict(row) -> dict:  # noqa: ANN001 - alerts.workflow.AlertRow
    out = asdict(row)
    for key in ("created_at", "respond_by"):
        out[key] = out[key].isoformat() if out[key] else None
    return out


@router.get("/alerts")
def alerts(request: Request, user: Reader,
           status: str | None = Query(None, description=", ".join(STATUSES)),
           brand: str | None = None, limit: int = Query(50, ge=1, le=MAX_PAGE)) -> dict:
    """Alerts, newest first."""
    if status is not None and status not in STATUSES:
        raise _problem(400, f"status: {status!r} is not one of {', '.join(STATUSES)}")
    rows = list_alerts(engine_of(request), status=status, brand=brand, limit=limit)
    return {"items": [_alert_dict(r) for r in rows]}


@router.post("/alerts/{alert_id}/ack")
def ack(request: Request, user: Responder, alert_id: int) -> dict:
    """Acknowledge the alert (and the earlier open ones of its incident)."""
    try:
        done = acknowledge(engine_of(request), alert_id, by=user.name)
    except WorkflowError as exc:
        raise _problem(404 if "no alert" in str(exc) else 409, str(exc)) from None
    return {"acknowledged": done}


class ResolveBody(BaseModel):
    reply_at: datetime | None = Field(None, description="when the first public reply went "
                                      "out (default: now)")


@router.post("/alerts/{alert_id}/resolve")
def resolve_alert(request: Request, user: Responder, alert_id: int,
                  body: ResolveBody | None = None) -> dict:
    """Resolve the alert's incident; returns the trust score when a promise is known."""
    now = utcnow()
    reply_at = (body.reply_at if body and body.reply_at else now)
    if reply_at.tzinfo is None:
        raise _problem(422, "reply_at: give a time zone (e.g. 2026-11-23T12:00:00Z)")
    try:
        trust = resolve(engine_of(request), alert_id, reply_at, now=now)
    except WorkflowError as exc:
        raise _problem(404 if "no alert" in str(exc) else 409, str(exc)) from None
    return {"resolved": alert_id, "trust": trust}
