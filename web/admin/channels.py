"""Admin: notification channels (apprise URLs) and their routing.

A channel URL usually holds a token or password, so once saved it is never
shown again, only redacted (monitor.config.redact_url). A form sent back with
errors keeps the URL typed in that very request (pages are ``no-store``), so the
admin can correct it, but never fills in the stored one: editing keeps the stored
URL unless a new one is typed. Input is validated by the config's ChannelConfig;
webhook hosts must pass crawlers/urlcheck.py, and so must every entry of the apprise
configuration a channel with tags picks. Channels the config file manages are
read-only here (monitor/stages/sync.py rewrites them at every start) but can be
paused and tested."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import select

from alerts.notify import SendResult, check_config_entries, send_apprise
from alerts.render import BRAND_CAP, TITLE_CAP, inert, md_escape
from crawlers.urlcheck import check_channel_url, entry_screen, refuse_delivery
from db.engine import read_session
from db.models import SEVERITIES, Brand, Channel
from monitor.config import ChannelConfig, redact_url
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
    lines,
    mount_row_routes,
    page,
    require_editable,
    save_row,
)
from web.dashboard import open_incidents
from web.i18n import N_, say, t
from web.pages import page_lang

router = APIRouter()
FORMATS = ("plain", "markdown", "html")
TEXT_FIELDS = ("name", "min_severity", "tier", "format", "quiet_hours", "timezone",
               "quiet_override", "rate_limit", "digest", "digest_every")
TEST_TITLE = "crisiswatch test notification"
TEST_BODY = "This is a test from the crisiswatch console: the channel {name} works. {state}"


def state_line(by_severity: Mapping[str, int], top: Sequence[Mapping], fmt: str) -> str:
    """What is open now, in one sentence a test message can carry: how many incidents
    per severity and the most severe one. Its title is a stranger's words, made inert
    for the channel's format."""
    total = sum(by_severity.values())
    if not total or not top:
        return "No incident is open."
    counts = ", ".join(f"{n} {sev}" for sev, n in by_severity.items() if n)
    worst = top[0]
    title = inert(str(worst["title"] or "(no title)"), TITLE_CAP)
    title = md_escape(title) if fmt == "markdown" else escape(title) if fmt == "html" else title
    noun = "incident is" if total == 1 else "incidents are"
    return (f"{total} {noun} open ({counts}). The most severe: #{worst['id']} "
            f"{inert(worst['brand'], BRAND_CAP)}, {worst['severity']}: {title}")


def _values_of(row: Channel | None) -> dict:
    """Form values of a channel, without its URL (never sent to the browser)."""
    if row is None:
        return {"name": "", "min_severity": "notice", "brands": "", "tags": "", "tier": "0",
                "format": "plain", "quiet_hours": "", "timezone": "UTC",
                "quiet_override": "crisis", "rate_limit": "", "digest": "",
                "digest_every": "1h", "enabled": True}
    return {"name": row.name, "min_severity": row.min_severity, "brands": ", ".join(row.brands),
            "tags": ", ".join(row.tags), "tier": str(row.tier), "format": row.format,
            "quiet_hours": row.quiet_hours or "", "timezone": row.timezone,
            "quiet_override": row.quiet_override, "rate_limit": row.rate_limit or "",
            "digest": row.digest or "", "digest_every": f"{row.digest_every_s}s",
            "enabled": row.enabled}


def _form_values(form: AdminForm) -> dict:
    values = {key: form.get(key).strip() for key in TEXT_FIELDS}
    return values | {"brands": form.get("brands"), "tags": form.get("tags"),
                     "enabled": form.flag("enabled"), "url": form.get("url").strip()}


def _unknown_brands(engine: Engine, names: list[str]) -> list[str]:
    with read_session(engine) as s:
        known = {b.name.casefold() for b in s.exec(select(Brand)).all()}
    return [n for n in names if n.casefold() not in known]


def validate_channel(values: dict, url: str, *, allow: list[str], engine: Engine,
                     channel_id: int | None, lang: str = "en"
                     ) -> tuple[ChannelConfig | None, dict[str, str]]:
    """The channel as the config would accept it (URL included), its webhook host
    checked, its brands known and its name unique; else one message per field."""
    brands = lines(values["brands"])
    unknown = _unknown_brands(engine, brands)
    if unknown:
        return None, {"brands": t(lang, "no brand named %(names)s",
                                  names=", ".join(map(repr, unknown)))}
    try:
        ch = ChannelConfig(name=values["name"], url=url, min_severity=values["min_severity"],
                           brands=brands, tags=lines(values["tags"]), tier=values["tier"] or 0,
                           format=values["format"], quiet_hours=values["quiet_hours"] or None,
                           timezone=values["timezone"] or "UTC",
                           quiet_override=values["quiet_override"] or "crisis",
                           rate_limit=values["rate_limit"] or None,
                           digest=values["digest"] or None,
                           digest_every=values["digest_every"] or 3600)
    except ValidationError as exc:
        return None, field_errors(exc, (*TEXT_FIELDS, "url", "brands", "tags"), lang)
    url_error = check_channel_url(url, allow)
    if not url_error and ch.tags:  # the URL names an apprise configuration: its entries too
        url_error = check_config_entries(url, ch.tags, entry_screen(True, allow))
    if url_error:
        return None, {"url": say(lang, url_error)}
    with read_session(engine) as s:
        taken = [c for c in s.exec(select(Channel)).all()
                 if c.name.casefold() == ch.name.casefold() and c.id != channel_id]
    if taken:
        return None, {"name": t(lang, "a channel named %(name)r already exists",
                                name=taken[0].name)}
    return ch, {}


def _form_page(request: Request, row: Channel | None, values: dict, errors: dict,
               status_code: int = 200) -> Response:
    return page(request, "admin/channel_form.html", channel=row, values=values, errors=errors,
                shown_url=redact_url(row.url) if row else None, severities=SEVERITIES,
                formats=FORMATS, status_code=status_code)


@router.get("/channels")
def list_channels(request: Request, user: AdminUser) -> Response:
    with read_session(engine_of(request)) as s:
        rows = s.exec(select(Channel).order_by(Channel.tier, Channel.name)).all()
    shown = [(row, redact_url(row.url)) for row in rows]
    return page(request, "admin/channels.html", rows=shown,
                done=request.query_params.get("done"),
                file_names=file_names(config_of(request), Channel))


def _submit(request: Request, form: AdminForm, channel_id: int | None) -> Response:
    engine, lang = engine_of(request), page_lang(request)
    row = get_row(engine, Channel, channel_id, "channel", lang) if channel_id else None
    require_editable(row, "channel", lang)
    values = _form_values(form)
    url = values["url"] or (row.url if row else "")
    if not url:
        return _form_page(request, row, values,
                          {"url": t(page_lang(request), "enter the apprise URL")}, 422)
    ch, errors = validate_channel(values, url, allow=allow_private(config_of(request)),
                                  engine=engine, channel_id=channel_id,
                                  lang=page_lang(request))
    if ch is None:
        return _form_page(request, row, values, errors, 422)
    save_row(engine, ch, values["enabled"], channel_id)
    return back("/admin/channels", t(page_lang(request), "saved channel %(name)s",
                                     name=ch.name))


@router.post("/channels/{channel_id}/test")
def test_channel(channel_id: int, request: Request,
                 form: PostedForm) -> Response:
    """Send a test message through the stored channel and show apprise's answer; a
    console-added channel passes the same check as a delivery first (its host may
    resolve elsewhere now than when it was saved)."""
    row = get_row(engine_of(request), Channel, channel_id, "channel",
                  page_lang(request))
    console, allow = row.managed_by == "console", allow_private(config_of(request))
    refused = refuse_delivery(row.url, console, allow)
    body = TEST_BODY.format(name=inert(row.name),
                            state=state_line(*open_incidents(engine_of(request), 1), row.format))
    result = SendResult(False, refused) if refused else send_apprise(
        row.url, TEST_TITLE, body, "notice", row.format, row.tags,
        follow_redirects=not console, screen=entry_screen(console, allow))
    lang = page_lang(request)
    message = (t(lang, "delivered") if result.ok
               else t(lang, "not delivered: %(why)s", why=say(lang, result.error)))
    return page(request, "admin/channel_test.html", channel=row,
                shown_url=redact_url(row.url), ok=result.ok,
                message=_scrub(message, row.url), body=body)


def _scrub(text: str, url: str) -> str:
    """apprise's error text may quote the URL with its token: redact it."""
    return text.replace(url, redact_url(url)) if url else text


mount_row_routes(router, RowSection("/channels", Channel, N_("channel"), _form_page, _values_of,
                                    _submit))
