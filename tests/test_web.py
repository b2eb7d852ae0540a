"""The console's doors: login, sessions, rate limit, roles, CSRF, cookies and headers."""

from __future__ import annotations

import logging

from sqlmodel import select

from db.engine import read_session
from db.models import WebSession
from monitor.users import set_disabled, token_hash
from tests.web_support import (
    PASSWORD,
    add_alert,
    add_incident,
    add_post,
    console_fixture,  # noqa: F401 - the console fixture
    csrf_of,
    logged_in,
    login,
)


def test_anonymous_pages_redirect_to_login_keeping_the_target(console):
    client = console.client()
    for path in ("/", "/history", "/incidents", "/alerts", "/alerts/1", "/history.csv"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=%2F"), path
    page = client.get("/alerts/7?x=1")  # followed: the login form remembers where to go
    assert 'name="next" value="/alerts/7?x=1"' in page.text


def test_login_success_sets_a_safe_cookie_and_a_server_side_session(console):
    client = console.client()
    response = login(client, "ana", next_url="/history")
    assert response.status_code == 303 and response.headers["location"] == "/history"
    cookie = response.headers["set-cookie"]
    assert "cw_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain http here (a dev server on localhost)
    token = client.cookies["cw_session"]
    with read_session(console.engine) as s:
        stored = s.exec(select(WebSession)).all()
    assert [w.token_hash for w in stored] == [token_hash(token)]  # only the hash is kept
    assert client.get("/").status_code == 200


def test_cookie_is_secure_over_https(console):
    response = login(console.client(https=True), "ana")
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_login_never_redirects_off_site(console):
    response = login(console.client(), "ana", next_url="//evil.example/x")
    assert response.headers["location"] == "/"


def test_wrong_password_and_unknown_name_fail_alike(console, caplog):
    client = console.client()
    caplog.set_level(logging.DEBUG)
    wrong = login(client, "ana", password="not the password!")
    unknown = login(client, "nobody", password=PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong name or password" in wrong.text and "Wrong name or password" in unknown.text
    assert "cw_session" not in client.cookies
    assert "not the password!" not in caplog.text and PASSWORD not in caplog.text


def test_failed_logins_are_rate_limited_per_name_and_address(console):
    client = console.client()
    for _ in range(5):
        assert login(client, "ana", password="wrong password 1").status_code == 401
    blocked = login(client, "ana")  # even the right password waits now
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.text and "minute" in blocked.text
    assert login(client, "pat").status_code == 303  # another name is not blocked


def test_logout_revokes_the_session_server_side(console):
    client = logged_in(console, "ana")
    stolen = client.cookies["cw_session"]
    response = client.post("/logout", data={"csrf_token": csrf_of(client)},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    thief = console.client()
    thief.cookies.set("cw_session", stolen)
    assert thief.get("/", follow_redirects=False).status_code == 303
    with read_session(console.engine) as s:
        assert s.exec(select(WebSession)).all() == []


def test_disabled_user_is_logged_out_and_cannot_log_in(console):
    client = logged_in(console, "ana")
    set_disabled(console.engine, "ana")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert login(console.client(), "ana").status_code == 401


def test_expired_session_is_refused(console):
    from datetime import timedelta

    from db.engine import session

    client = logged_in(console, "ana")
    with session(console.engine) as s, s.begin():
        for w in s.exec(select(WebSession)).all():
            w.expires_at = w.expires_at - timedelta(hours=13)
            s.add(w)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_roles(console):
    incident = add_incident(console.engine)
    add_post(console.engine, title="Acme refund", incident_id=incident)
    alert = add_alert(console.engine, incident)
    analyst = logged_in(console, "ana")
    assert analyst.get("/history").status_code == 200
    assert analyst.get(f"/alerts/{alert}").status_code == 200  # may read, not act
    assert 'id="ack"' not in analyst.get(f"/alerts/{alert}").text
    token = csrf_of(analyst)
    denied = analyst.post(f"/alerts/{alert}/ack", data={"csrf_token": token})
    assert denied.status_code == 403 and "needs the role pr or admin" in denied.text
    assert analyst.get("/admin").status_code == 403
    pr = logged_in(console, "pat")
    assert pr.get("/admin").status_code == 403
    assert "/admin" not in pr.get("/").text  # no Admin entry in the nav either
    admin = logged_in(console, "ada")
    assert admin.get("/admin").status_code == 200
    assert 'href="/admin"' in admin.get("/").text
    done = admin.post(f"/alerts/{alert}/ack", data={"csrf_token": csrf_of(admin)},
                      follow_redirects=False)
    assert done.status_code == 303  # admins can do everything


def test_post_without_or_with_a_wrong_csrf_token_is_refused(console):
    incident = add_incident(console.engine)
    alert = add_alert(console.engine, incident)
    client = logged_in(console, "pat")
    assert client.post(f"/alerts/{alert}/ack", data={}).status_code == 403
    assert client.post(f"/alerts/{alert}/ack", data={"csrf_token": "forged"}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    other = logged_in(console, "ada")  # another session's token does not fit this one
    assert client.post(f"/alerts/{alert}/ack",
                       data={"csrf_token": csrf_of(other)}).status_code == 403
    fresh = console.client()
    assert fresh.post("/login", data={"name": "ana", "password": PASSWORD}).status_code == 403


def test_security_headers_on_pages(console):
    client = logged_in(console, "ana")
    for path in ("/", "/login", "/history"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
    page = client.get("/").text
    assert "<script>" not in page and "<script src=\"/static/app.js\" defer></script>" in page
    assert client.get("/static/app.js").status_code == 200


def test_unknown_pages_are_a_friendly_404(console):
    client = logged_in(console, "ana")
    response = client.get("/incidents/999")
    assert response.status_code == 404 and "no incident #999" in response.text
