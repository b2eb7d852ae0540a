"""The PR team's war room: the triage board (``/board``, where PR users land after
logging in) and the incident's posts as the incident and alert pages show them,
with the small endpoints their polling scripts read (the board's rows as a
fragment; the posts as ids and items).

The board's rows come from monitor.history.board; the posts from
monitor.history.incident_posts. Both endpoints of the poll are pages for logged-in
readers like the pages that call them (a session, not an API token): a JSON list
of the incident's newest post ids, and an HTML fragment of the posts a page lacks,
rendered by the same escaping template as the page itself."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlmodel import select

from db.engine import read_session
from db.models import Alert, Incident, utcnow
from monitor.history.board import AlertLink, countdown_text, triage_board
from monitor.history.incident_posts import (
    AlertMark,
    alert_mark,
    incident_post_count,
    incident_post_ids,
    incident_posts,
)
from web.auth import Reader, engine_of
from web.i18n import countdown_words, t
from web.pages import page_lang, render

router = APIRouter(include_in_schema=False)
POLL_SECONDS = 15  # app.state.post_poll_seconds overrides it (the browser tests use 1)
MAX_FETCH = 50  # posts one poll may ask for


def poll_seconds(request: Request) -> float:
    return float(getattr(request.app.state, "post_poll_seconds", POLL_SECONDS))


def board_context(request: Request) -> dict:
    """The board's rows and countdown words, for the page and for its poll."""
    words = countdown_words(page_lang(request))
    return {"rows": triage_board(engine_of(request)), "now": utcnow(),
            "countdown_words": words, "poll_seconds": poll_seconds(request),
            "countdown": lambda seconds: countdown_text(seconds, words)}


@router.get("/board", response_class=HTMLResponse)
def board(request: Request, user: Reader) -> HTMLResponse:
    return render(request, "board.html", **board_context(request))


@router.get("/board/rows.html", response_class=HTMLResponse)
def board_rows(request: Request, user: Reader) -> HTMLResponse:
    """The board's table (or its empty note) as it is now: app.js swaps it in every
    few seconds, so incidents opened, resolved or raised show without a reload.
    The whole table rather than a diff: a few dozen rows are a few kilobytes, and
    the order (severity, deadline) may change with any of them."""
    return render(request, "_board_rows.html", **board_context(request))


def incident_alerts(request: Request, incident_id: int) -> list[AlertLink]:
    """The incident's alerts, newest first: each post list links back to them."""
    with read_session(engine_of(request)) as s:
        found = s.exec(select(Alert.id, Alert.severity, Alert.status)
                       .where(Alert.incident_id == incident_id)
                       .order_by(Alert.id.desc())).all()
    return [AlertLink(*a) for a in found]


def post_section(request: Request, incident_id: int, mark: AlertMark | None) -> dict:
    """The context of ``_posts.html``: the incident's newest posts, how many there are,
    the alert they are compared with, and how often the page polls."""
    engine = engine_of(request)
    return {"feed": incident_posts(engine, incident_id, mark=mark),
            "feed_total": incident_post_count(engine, incident_id), "feed_mark": mark,
            "feed_incident": incident_id, "poll_seconds": poll_seconds(request)}


def _known_incident(request: Request, incident_id: int) -> None:
    with read_session(engine_of(request)) as s:
        if s.get(Incident, incident_id) is None:
            raise HTTPException(404, t(page_lang(request), "There is no incident #%(id)s.",
                                       id=incident_id))


@router.get("/incidents/{incident_id}/posts.json")
def post_ids(request: Request, user: Reader, incident_id: int) -> JSONResponse:
    _known_incident(request, incident_id)
    engine = engine_of(request)
    return JSONResponse({"ids": incident_post_ids(engine, incident_id),
                         "count": incident_post_count(engine, incident_id)})


def parse_ids(raw: str) -> list[int]:
    """``"3,5,8"`` as ids (at most MAX_FETCH); 400 for anything else."""
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise HTTPException(400, "ids: give post ids separated by commas") from None
    return ids[:MAX_FETCH]


@router.get("/incidents/{incident_id}/posts.html", response_class=HTMLResponse)
def post_fragment(request: Request, user: Reader, incident_id: int, ids: str = "",
                  alert: int | None = None) -> HTMLResponse:
    """The listed posts of the incident as ``<li>`` items (others are left out)."""
    _known_incident(request, incident_id)
    engine = engine_of(request)
    found = incident_posts(engine, incident_id, ids=parse_ids(ids),
                           mark=alert_mark(engine, incident_id, alert))
    return render(request, "_post_items.html", feed=found)
