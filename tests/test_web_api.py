"""The JSON API (bearer tokens, roles, JSON errors, OpenAPI), the CLI pieces
(``users``, ``web``), and a smoke run of the console on PostgreSQL."""

from __future__ import annotations

import ast
import os
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlmodel import select
from typer.testing import CliRunner

from db.engine import read_session
from db.models import Alert, ApiToken
from monitor.users import check_token, create_token, set_disabled
from tests.conftest import ROOT
from tests.web_support import (
    PASSWORD,
    T0,
    add_alert,
    add_incident,
    add_post,
    console_fixture,  # noqa: F401 - the console fixture
    csrf_of,
    logged_in,
    login,
    make_console,
)


def _bearer(console, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(console.engine, name, 'test')}"}


def test_missing_or_invalid_token_is_a_json_401(console):
    client = console.client()
    for headers in ({}, {"Authorization": "Bearer cw_not-a-token"},
                    {"Authorization": "Basic YWRhOnB3"}):
        response = client.get("/api/v1/posts", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "API token" in response.json()["error"]
    browser = logged_in(console, "ana")  # a session cookie is not an API credential
    assert browser.get("/api/v1/posts").status_code == 401


def test_posts_filters_and_pages(console):
    for i in range(5):
        add_post(console.engine, title=f"Acme refund {i}", at=T0 + timedelta(minutes=i),
                 risk=0.5 + i / 10)
    add_post(console.engine, title="Beta issue", brand="Beta")
    client, headers = console.client(), _bearer(console, "ana")
    first = client.get("/api/v1/posts?brand=Acme&limit=3", headers=headers).json()
    assert [r["title"] for r in first["items"]] == ["Acme refund 4", "Acme refund 3",
                                                     "Acme refund 2"]
    rest = client.get("/api/v1/posts", headers=headers,
                      params={"brand": "Acme", "limit": 3, "after": first["next"]}).json()
    assert [r["title"] for r in rest["items"]] == ["Acme refund 1", "Acme refund 0"]
    assert rest["next"] is None
    found = client.get("/api/v1/posts?q=beta", headers=headers).json()["items"]
    assert [r["brand"] for r in found] == ["Beta"]
    bad = client.get("/api/v1/posts?severity=huge", headers=headers)
    assert bad.status_code == 400 and "severity" in bad.json()["error"]
    bad = client.get("/api/v1/posts?limit=0", headers=headers)
    assert bad.status_code == 422 and "limit" in bad.json()["error"]


def test_incidents_and_alerts(console):
    incident = add_incident(console.engine)
    add_post(console.engine, title="Acme refund", incident_id=incident)
    alert = add_alert(console.engine, incident)
    client, headers = console.client(), _bearer(console, "ana")
    listing = client.get("/api/v1/incidents", headers=headers).json()["items"]
    assert [i["id"] for i in listing] == [incident]
    detail = client.get(f"/api/v1/incidents/{incident}", headers=headers).json()
    assert {e["kind"] for e in detail["timeline"]} >= {"mention", "rise"}
    missing = client.get("/api/v1/incidents/999", headers=headers)
    assert missing.status_code == 404 and missing.json() == {"error": "no incident #999",
                                                            "status": 404}
    alerts = client.get("/api/v1/alerts?status=open", headers=headers).json()["items"]
    assert [a["id"] for a in alerts] == [alert] and alerts[0]["status"] == "open"


def test_ack_and_resolve_need_a_pr_or_admin_token(console):
    incident = add_incident(console.engine)
    alert = add_alert(console.engine, incident)
    client = console.client()
    denied = client.post(f"/api/v1/alerts/{alert}/ack", headers=_bearer(console, "ana"))
    assert denied.status_code == 403 and "pr or admin" in denied.json()["error"]
    pr = _bearer(console, "pat")
    assert client.post(f"/api/v1/alerts/{alert}/ack", headers=pr).json() == {
        "acknowledged": [alert]}
    reply_at = (T0 + timedelta(minutes=20)).isoformat()
    done = client.post(f"/api/v1/alerts/{alert}/resolve", headers=pr,
                       json={"reply_at": reply_at})
    assert done.status_code == 200 and done.json()["resolved"] == alert
    with read_session(console.engine) as s:
        assert s.get(Alert, alert).status == "resolved"
    again = client.post(f"/api/v1/alerts/{alert}/ack", headers=pr)
    assert again.status_code == 409 and "already resolved" in again.json()["error"]
    assert client.post("/api/v1/alerts/999/ack", headers=pr).status_code == 404


def test_tokens_are_hashed_tracked_and_die_with_the_account(console):
    token = create_token(console.engine, "pat", "grafana")
    with read_session(console.engine) as s:
        stored = s.exec(select(ApiToken)).one()
    assert stored.token_hash != token and token not in stored.token_hash
    assert check_token(console.engine, token).name == "pat"
    with read_session(console.engine) as s:
        assert s.get(ApiToken, stored.id).last_used_at is not None
    set_disabled(console.engine, "pat")
    assert check_token(console.engine, token) is None
    response = console.client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_openapi_schema_lists_the_api_only(console):
    schema = console.client().get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/v1/posts", "/api/v1/incidents", "/api/v1/incidents/{incident_id}",
            "/api/v1/alerts", "/api/v1/alerts/{alert_id}/ack",
            "/api/v1/alerts/{alert_id}/resolve"} <= paths
    assert all(p.startswith("/api/v1/") for p in paths)
    assert any(s.get("scheme") == "bearer"
               for s in schema["components"]["securitySchemes"].values())


# --- the CLI pieces ---------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path):
    from monitor.cli.users import users_app
    from monitor.cli.web import web

    app = typer.Typer()
    app.add_typer(users_app, name="users")
    app.command("web")(web)
    config = tmp_path / "crisiswatch.yaml"
    config.write_text("database: sqlite:///cw.db\nbrands: [{name: Acme, keywords: [Acme]}]\n",
                      encoding="utf-8")
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None):  # noqa: ANN202
        return runner.invoke(app, [*args, "--config", str(config)], input=stdin)

    return run, config


def test_users_cli(cli):
    from db.engine import open_database

    run, config = cli
    added = run("users", "add", "ada", "--role", "admin", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    short = run("users", "add", "bob", "--role", "pr", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    again = run("users", "add", "ada", "--role", "pr", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert again.exit_code == 1 and "exists already" in again.output
    listing = run("users", "list")
    assert "ada" in listing.output and "admin" in listing.output and "bob" not in listing.output
    assert PASSWORD not in listing.output
    token_run = run("users", "token", "ada", "--name", "grafana")
    token = token_run.stdout.strip().splitlines()[0]
    engine = open_database(f"sqlite:///{config.parent / 'cw.db'}")
    assert check_token(engine, token).name == "ada"
    assert run("users", "disable", "ada").exit_code == 0
    assert check_token(engine, token) is None
    assert "disabled" in run("users", "list").output
    assert run("users", "disable", "nobody").exit_code == 1
    assert run("users", "enable", "ada").exit_code == 0
    assert check_token(engine, token).name == "ada"
    changed = run("users", "role", "ada", "--role", "pr")
    assert changed.exit_code == 0 and "ada is now pr" in changed.output
    assert check_token(engine, token).role == "pr"  # the token acts with the new role
    assert run("users", "role", "ada", "--role", "owner").exit_code == 2
    assert run("users", "role", "nobody", "--role", "pr").exit_code == 1


def test_web_command_starts_uvicorn_with_the_factory(cli, monkeypatch):
    import uvicorn

    run, config = cli
    calls = []
    monkeypatch.setattr(uvicorn.Server, "run",
                        lambda self, sockets=None: calls.append((self.config, sockets)))
    monkeypatch.setenv("CRISISWATCH_CONFIG", "unset-after-the-test")  # undone afterwards
    result = run("web", "--port", "0")
    assert result.exit_code == 0, result.output
    (server_config, sockets), = calls
    assert server_config.app == "web.app:create_app" and server_config.factory is True
    host, port = sockets[0].getsockname()
    sockets[0].close()
    assert host == "127.0.0.1" and f"console on http://127.0.0.1:{port}/" in result.output
    assert os.environ["CRISISWATCH_CONFIG"] == str(config.resolve())
    from web.app import create_app

    app = create_app()  # what uvicorn calls: the config comes from the environment
    assert app.state.config.brands[0].name == "Acme"


def test_nothing_outside_web_and_tests_imports_web():
    offenders = []
    for folder in ("db", "crawlers", "monitor", "alerts", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(n == "web" or n.startswith("web.") for n in names):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_console_smoke_on_postgres(pg_url, tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from db.textindex import outside_models

    console = make_console(pg_url, tmp_path)
    with console.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": outside_models})
        assert compare_metadata(context, SQLModel.metadata) == []
    incident = add_incident(console.engine)
    add_post(console.engine, title="ACME Refund refused", incident_id=incident)
    add_post(console.engine, title="Beta 100%_fine", brand="Beta")
    alert = add_alert(console.engine, incident)
    client = console.client()
    assert login(client, "ana", password="wrong password!").status_code == 401
    client = logged_in(console, "pat")
    history = client.get("/history?q=acme%20refund").text  # ILIKE on PostgreSQL
    assert "ACME Refund refused" in history and "Beta 100%_fine" not in history
    assert "Beta 100%_fine" in client.get("/history?q=100%25_").text
    assert "<svg" in client.get(f"/incidents/{incident}").text
    done = client.post(f"/alerts/{alert}/ack", data={"csrf_token": csrf_of(client)},
                       follow_redirects=False)
    assert done.status_code == 303
    with read_session(console.engine) as s:
        assert s.get(Alert, alert).acknowledged_by == "pat"
    rows = client.get("/history.csv").text.strip().splitlines()
    assert len(rows) == 3
