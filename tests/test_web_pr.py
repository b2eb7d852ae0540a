"""PR pages: the inbox tabs, an alert with its playbook and holding statement, the
Acknowledge and Resolve forms, the reply checker, and the messages' ack link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from db.engine import read_session, session
from db.models import Alert, Brand, Incident
from monitor.history.search import SearchError
from tests.web_support import (
    T0,
    add_alert,
    add_incident,
    add_post,
    console_fixture,  # noqa: F401 - the console fixture
    csrf_of,
    logged_in,
)
from web.pr import parse_reply_time


def _alert(console, **kwargs) -> int:
    incident = add_incident(console.engine)
    add_post(console.engine, title="Acme refused my refund", incident_id=incident)
    return add_alert(console.engine, incident, **kwargs)


def _status(console, alert_id: int) -> Alert:
    with read_session(console.engine) as s:
        return s.get(Alert, alert_id)


def test_inbox_tabs(console):
    first = _alert(console)
    second = _alert(console, title="Acme: second matter")
    client = logged_in(console, "pat")
    client.post(f"/alerts/{second}/ack", data={"csrf_token": csrf_of(client)})
    open_tab = client.get("/alerts").text
    assert "open (1)" in open_tab and "acknowledged (1)" in open_tab
    assert f'href="/alerts/{first}"' in open_tab and f'href="/alerts/{second}"' not in open_tab
    acked = client.get("/alerts?status=acknowledged").text
    assert f'href="/alerts/{second}"' in acked and "pat" in acked
    assert client.get("/alerts?status=bogus").status_code == 404


def test_alert_page_shows_incident_first_steps_and_filled_statement(console):
    alert = _alert(console)
    page = logged_in(console, "pat").get(f"/alerts/{alert}").text
    assert "Acme refused my refund" in page and "/incidents/" in page
    steps = page.split("<h3>First steps</h3>", 1)[1].split("</ol>", 1)[0]
    assert 1 <= steps.count("<li>") <= 4
    statement = re.search(r'<p class="text" id="statement">(.*?)</p>', page, re.S).group(1)
    assert "Acme" in statement and "{brand}" not in statement and "{time}" not in statement
    assert 'id="ack"' in page and 'id="resolve"' in page


def test_the_statement_names_no_store_and_the_brand_in_the_posts_language(console):
    """Issue 15: "在Acme门店的经历" for a forum complaint; Acme has a Chinese name."""
    with session(console.engine) as s, s.begin():
        brand = s.exec(select(Brand).where(Brand.name == "Acme")).one()
        brand.names = {"zh": "艾克美"}
        s.add(brand)
    incident = add_incident(console.engine, category="service_attitude")
    add_post(console.engine, title="Acme客服态度太差", language="zh", incident_id=incident)
    alert = add_alert(console.engine, incident, playbook="service_attitude")
    page = logged_in(console, "pat").get(f"/alerts/{alert}").text
    statement = re.search(r'<p class="text" id="statement">(.*?)</p>', page, re.S).group(1)
    assert statement.startswith("非常抱歉您在艾克美的经历")
    assert "门店" not in statement and "[" not in statement


def test_acknowledge_through_the_form(console):
    alert = _alert(console)
    client = logged_in(console, "pat")
    response = client.post(f"/alerts/{alert}/ack", data={"csrf_token": csrf_of(client)},
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/alerts/{alert}?done=ack"
    stored = _status(console, alert)
    assert stored.status == "acknowledged" and stored.acknowledged_by == "pat"
    page = client.get(response.headers["location"]).text
    assert "Acknowledged: escalation" in page and 'id="ack"' not in page


def test_resolve_records_the_reply_time_and_shows_errors(console):
    alert = _alert(console)
    client = logged_in(console, "pat")
    token = csrf_of(client)
    too_early = (T0 - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    refused = client.post(f"/alerts/{alert}/resolve",
                          data={"csrf_token": token, "reply_at": too_early})
    assert refused.status_code == 400 and "before the incident opened" in refused.text
    assert _status(console, alert).status == "open"
    reply_at = (T0 + timedelta(minutes=45)).replace(second=0)
    done = client.post(f"/alerts/{alert}/resolve",
                       data={"csrf_token": token, "reply_at": reply_at.strftime("%Y-%m-%dT%H:%M")})
    assert done.status_code == 200 and "Resolved: the incident" in done.text
    assert _status(console, alert).status == "resolved"
    with read_session(console.engine) as s:
        incident = s.get(Incident, _status(console, alert).incident_id)
    assert incident.first_reply_at == reply_at and incident.resolved_at is not None
    again = client.post(f"/alerts/{alert}/ack", data={"csrf_token": token})
    assert again.status_code == 409 and "already resolved" in again.text


def test_reply_check_shows_what_to_fix(console):
    alert = _alert(console)
    client = logged_in(console, "pat")
    bad = client.post(f"/alerts/{alert}/reply", data={
        "csrf_token": csrf_of(client),
        "text": "This is company policy. You must have misused the product."})
    assert bad.status_code == 200
    result = bad.text.split('id="reply-check"', 1)[1]
    assert "Fix these before posting" in result and "Must fix" in result
    assert "company policy" in result  # the phrase as written is quoted back
    assert "You must have misused the product." in bad.text  # the draft stays in the box
    good = client.post(f"/alerts/{alert}/reply", data={
        "csrf_token": csrf_of(client),
        "text": "We are sorry about your refund. Our team will call you today and "
                "sort it out within 24 hours."})
    assert "Nothing must be fixed" in good.text
    empty = client.post(f"/alerts/{alert}/reply", data={"csrf_token": csrf_of(client),
                                                        "text": "  "})
    assert empty.status_code == 400 and "Nothing to check" in empty.text


def test_the_ack_link_in_messages_opens_the_alert(console):
    from alerts.outbox import alert_view
    from db.engine import session

    alert = _alert(console)
    with session(console.engine) as s:
        view = alert_view(s, s.get(Alert, alert), console.config.console_url)
    assert view.ack_url == f"https://console.example/alerts/{alert}"
    path = view.ack_url.removeprefix(console.config.console_url)
    client = console.client()
    to_login = client.get(path, follow_redirects=False)  # a PR person not logged in yet
    assert to_login.headers["location"] == f"/login?next=%2Falerts%2F{alert}"
    page = client.get(path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    landed = client.post("/login", data={"name": "pat", "password": "correct horse battery",
                                         "csrf_token": token, "next": f"/alerts/{alert}"})
    assert landed.status_code == 200 and f"Alert #{alert}" in landed.text


def test_the_reply_time_is_typed_and_shown_in_the_consoles_zone(console):
    """A PR manager in Shanghai types the reply time off the wall clock: it is read
    in console.timezone and stored as the UTC instant (8 hours earlier)."""
    console.app.state.zone = ZoneInfo("Asia/Shanghai")
    alert = _alert(console)
    client = logged_in(console, "pat")
    page = client.get(f"/alerts/{alert}").text
    assert "First public reply at (Asia/Shanghai)" in page and "(UTC)" not in page
    shown = re.search(r'name="reply_at" value="([^"]+)"', page).group(1)
    typed_now = datetime.fromisoformat(shown).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert abs(typed_now - datetime.now(UTC)) < timedelta(minutes=2)  # Shanghai's now
    reply_at = (T0 + timedelta(minutes=45)).replace(second=0)
    typed = reply_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    done = client.post(f"/alerts/{alert}/resolve",
                       data={"csrf_token": csrf_of(client), "reply_at": typed})
    assert done.status_code == 200 and "Resolved: the incident" in done.text
    with read_session(console.engine) as s:
        incident = s.get(Incident, _status(console, alert).incident_id)
    assert incident.first_reply_at.replace(tzinfo=UTC) == reply_at


def test_a_reply_time_ahead_of_now_in_the_zone_is_refused_naming_the_zone(console):
    console.app.state.zone = ZoneInfo("Asia/Shanghai")
    alert = _alert(console)
    client = logged_in(console, "pat")
    soon = (datetime.now(UTC) + timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai"))
    refused = client.post(f"/alerts/{alert}/resolve", data={
        "csrf_token": csrf_of(client), "reply_at": soon.strftime("%Y-%m-%dT%H:%M")})
    assert refused.status_code == 400 and "in the future" in refused.text
    assert "(Asia/Shanghai)" in refused.text and _status(console, alert).status == "open"
    assert parse_reply_time("2026-05-01T08:00", datetime(2026, 5, 2, tzinfo=UTC),
                            ZoneInfo("Asia/Shanghai")) == datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
    with pytest.raises(SearchError, match="not a date and time"):
        parse_reply_time("tomorrow", datetime(2026, 5, 2, tzinfo=UTC))
