"""PR pages: the alert inbox and one alert, with its incident, the first steps of
its playbook, the filled holding statement, Acknowledge and Resolve, and a reply
checker. ``{console_url}/alerts/{id}``, the link in every alert message, lands here.

Acknowledge and Resolve go through alerts.workflow, as the CLI does, so the
console and ``crisiswatch alerts ack`` can never disagree."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, tzinfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine, and_, func
from sqlmodel import select

from alerts.playbooks import Playbook, PlaybookError, choose_playbook, load_playbooks
from alerts.statement import fill_statement, statement_brand, statement_time
from alerts.workflow import STATUSES, WorkflowError, acknowledge, list_alerts, resolve
from db.engine import read_session
from db.models import Alert, Brand, Incident, Mention, Post, Source, utcnow
from monitor.detection.category import playbooks_for
from monitor.history.incident_posts import AlertMark
from monitor.history.search import SearchError
from monitor.text.replycheck import check_reply
from web.auth import RESPONDERS, Reader, Responder, allowed, current_user, engine_of
from web.board import post_section
from web.clock import as_utc, input_value, local_instant
from web.i18n import N_, say, t
from web.pages import page_lang, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("crisiswatch.web")
FIRST_STEPS = 4
MAX_REPLY = 5000
DONE = {"ack": N_("Acknowledged: escalation and reminders for this incident have stopped."),
        "resolved": N_("Resolved: the incident and all its alerts are closed.")}


def playbooks(request: Request) -> tuple[Playbook, ...]:
    """The config's playbooks, read once; the built-ins if the admin's folder is broken
    (an alert page must still open during a crisis)."""
    state = request.app.state
    if getattr(state, "playbooks", None) is None:
        try:
            state.playbooks = playbooks_for(state.config)
        except PlaybookError as exc:
            log.error("playbooks_dir has problems, using the built-ins: %s", exc)
            state.playbooks = load_playbooks()
    return state.playbooks


def status_counts(engine: Engine) -> dict[str, int]:
    with read_session(engine) as s:
        found = dict(s.exec(select(Alert.status, func.count())  # the inbox's: incidents'
                            .where(Alert.incident_id != None)  # noqa: E711
                            .group_by(Alert.status)).all())
    return {status: found.get(status, 0) for status in STATUSES}


@router.get("/alerts", response_class=HTMLResponse)
def inbox(request: Request, user: Reader, status: str = "open") -> HTMLResponse:
    if status not in STATUSES:
        raise HTTPException(404, t(page_lang(request), "There is no %(tab)r tab (use %(tabs)s).",
                                   tab=status, tabs=", ".join(STATUSES)))
    engine = engine_of(request)
    return render(request, "alerts.html", tab=status, counts=status_counts(engine),
                  rows=list_alerts(engine, status=status, limit=200), now=utcnow())


def _posts(s, alert: Alert) -> list[dict]:  # noqa: ANN001 - Session
    rows = s.exec(select(Post, Source, Mention).join(Source, Post.source_id == Source.id)
                  .outerjoin(Mention, and_(Mention.post_id == Post.id,
                                           Mention.brand_id == alert.brand_id))
                  .where(Post.id.in_(alert.post_ids or [-1])).order_by(Post.fetched_at)).all()
    return [{"id": p.id, "at": p.fetched_at, "posted": p.published_at, "source": src.name,
             "title": p.title,
             "text": p.text[:1000], "link": p.url, "language": m.language if m else "en",
             "risk": m.risk if m else None} for p, src, m in rows]


def statement_lang(languages: list[str], interface: str) -> str:
    """The holding statement's language: the posts' (the reply answers them) when most
    are Chinese or most are English; the interface's when they split evenly or the
    alert has no posts, the page having no better reason to choose."""
    zh, en = languages.count("zh"), len(languages) - languages.count("zh")
    if zh != en:
        return "zh" if zh > en else "en"
    return interface


def alert_context(engine: Engine, books: tuple[Playbook, ...], alert_id: int,
                  zone: tzinfo = UTC, interface: str = "en") -> dict | None:
    """Everything the alert page shows, or None when there is no such alert. The
    team's part of the playbook (title, owner, first steps) is in the ``interface``
    language; the holding statement and what never to say in it are in the posts'
    language (``statement_lang``), dating the incident in the console's ``zone``."""
    with read_session(engine) as s:
        alert = s.get(Alert, alert_id)
        if alert is None or alert.incident_id is None:  # a system alert has no page
            return None
        incident, brand = s.get(Incident, alert.incident_id), s.get(Brand, alert.brand_id)
        posts = _posts(s, alert)
    lang = statement_lang([p["language"] for p in posts], interface)
    book = next((b for b in books if b.name == alert.playbook), None) or \
        choose_playbook(books, incident.cues, incident.category)
    statement = fill_statement(book.text("holding_statement", lang),
                               {"brand": statement_brand(brand.name, brand.names, lang),
                                "time": statement_time(
                                    as_utc(incident.opened_at).astimezone(zone), lang)},
                               lang, book.placeholder_defaults)
    return {"alert": alert, "incident": incident, "brand": brand.name, "posts": posts,
            "book": book, "lang": lang, "statement": statement,
            "first_steps": list(book.text("first_steps", interface))[:FIRST_STEPS],
            "never_say": list(book.text("never_say", lang)),
            "owner": book.text("owner", interface),
            "book_title": book.text("title", interface)}


def _context(request: Request, alert_id: int) -> dict:
    """The alert page's context in this page's language; 404 for no such alert."""
    context = alert_context(engine_of(request), playbooks(request), alert_id,
                            request.app.state.zone, page_lang(request))
    if context is None:
        raise HTTPException(404, t(page_lang(request), "There is no alert #%(id)s.",
                                   id=alert_id))
    return context


def _alert_page(request: Request, alert_id: int, *, status_code: int = 200,
                **extra: object) -> HTMLResponse:
    context = _context(request, alert_id)
    user = current_user(request)
    can_work = user is not None and allowed(user, RESPONDERS)
    reply_default = input_value(utcnow(), request.app.state.zone)
    alert = context["alert"]
    posts = post_section(request, alert.incident_id, AlertMark(alert.id, alert.created_at))
    return render(request, "alert.html", status_code=status_code, can_work=can_work,
                  reply_default=reply_default, **context, **posts, **extra)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, user: Reader, alert_id: int, done: str = "",
               trust: float | None = None) -> HTMLResponse:
    lang = page_lang(request)
    flash = t(lang, DONE[done]) if done in DONE else None
    if flash and done == "resolved" and trust is not None:
        flash += " " + t(lang, "Trust score %(trust).1f (100: replied at once, 0: on the "
                         "promised time, below 0: late).", trust=trust)
    return _alert_page(request, alert_id, flash=flash)


@router.post("/alerts/{alert_id}/ack")
def ack(request: Request, user: Responder, alert_id: int) -> Response:
    try:
        done = acknowledge(engine_of(request), alert_id, by=user.name)
    except WorkflowError as exc:
        return _alert_page(request, alert_id, status_code=409,
                           error=say(page_lang(request), exc))
    log.info("%s acknowledged alerts %s", user.name, done)
    return RedirectResponse(f"/alerts/{alert_id}?done=ack", status_code=303)


def parse_reply_time(raw: str, now: datetime, zone: tzinfo = UTC,
                     lang: str = "en") -> datetime:
    """The reply time typed in the form, read in the console's ``zone`` (the form
    is filled and labelled in it), as UTC; not in the future. Errors in ``lang``."""
    if not raw.strip():
        return now
    at = local_instant(raw, zone)
    if at is None:
        raise SearchError(t(lang, "reply time: %(raw)r is not a date and time "
                            "(use 2026-11-01T08:00)", raw=raw))
    if at > now + timedelta(minutes=5):
        raise SearchError(t(lang, "reply time: that is in the future; give the time the "
                            "first public reply went out (%(zone)s)", zone=str(zone)))
    return at


@router.post("/alerts/{alert_id}/resolve")
def resolve_alert(request: Request, user: Responder, alert_id: int,
                  reply_at: str = Form("")) -> Response:
    now = utcnow()
    try:
        at = parse_reply_time(reply_at, now, request.app.state.zone, page_lang(request))
        trust = resolve(engine_of(request), alert_id, at, now=now)
    except (WorkflowError, SearchError) as exc:  # the typed time stays in the form
        return _alert_page(request, alert_id, status_code=400,
                           error=say(page_lang(request), exc),
                           reply_at=reply_at)
    log.info("%s resolved alert %s", user.name, alert_id)
    target = f"/alerts/{alert_id}?done=resolved"
    if trust is not None:
        target += f"&trust={trust:.1f}"
    return RedirectResponse(target, status_code=303)


@router.post("/alerts/{alert_id}/reply", response_class=HTMLResponse)
def reply_check(request: Request, user: Responder, alert_id: int,
                text: str = Form("")) -> HTMLResponse:
    """Check a draft reply against the alert's playbook and show what to fix."""
    context, lang = _context(request, alert_id), page_lang(request)
    if len(text) > MAX_REPLY:
        return _alert_page(request, alert_id, status_code=400, draft=text[:MAX_REPLY],
                           reply_error=t(lang, "The draft is longer than %(n)s characters.",
                                         n=MAX_REPLY))
    try:
        check = check_reply(text, context["book"]).to_dict()
    except ValueError:  # with no language given, its one refusal: an empty reply
        return _alert_page(request, alert_id, status_code=400, draft=text,
                           reply_error=t(lang, "Nothing to check: the reply is empty."))
    return _alert_page(request, alert_id, draft=text, check=check)
