"""Shared pieces of the console tests (no tests here): a real SQLite database in
tmp_path with three users, rows inserted directly, and a logged-in test client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlmodel import select

from db.engine import open_database, session
from db.models import Alert, Brand, Incident, IncidentChange, Mention, Post, Source
from monitor.config import Config, parse_config
from monitor.stages.sync import sync_config
from monitor.users import add_user
from web.app import create_app

PASSWORD = "correct horse battery"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
XSS_TITLE = "<script>alert(1)</script> Acme refund"
XSS_TEXT = "Acme <img src=x onerror=alert(1)> broke"
XSS_LINK = "javascript:alert(1)"
USERS = (("ada", "admin"), ("ana", "analyst"), ("pat", "pr"))


@dataclass
class Console:
    engine: Engine
    config: Config
    app: object

    def client(self, https: bool = False) -> TestClient:
        return TestClient(self.app, base_url="https://testserver" if https else "http://testserver")


def make_console(url: str, tmp_path: Path) -> Console:
    config = parse_config({"database": url, "console_url": "https://console.example",
                           "brands": [{"name": "Acme", "keywords": ["Acme"]},
                                      {"name": "Beta", "keywords": ["Beta"]}]},
                          base=tmp_path, env={})
    engine = open_database(url)
    sync_config(engine, config)
    for name, role in USERS:
        add_user(engine, name, role, PASSWORD)
    return Console(engine, config, create_app(config, engine))


@pytest.fixture(name="console")
def console_fixture(tmp_path: Path) -> Console:
    """Import ``console_fixture`` into a test module to get the ``console`` fixture."""
    return make_console(f"sqlite:///{tmp_path / 'cw.db'}", tmp_path)


def csrf_of(client: TestClient, path: str = "/") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, f"no CSRF field on {path}: {page.status_code}"
    return found.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD, next_url: str = "/"):
    """Post the login form as a browser would (its CSRF token first); the response."""
    token = csrf_of(client, "/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf_token": token, "next": next_url},
                       follow_redirects=False)


def logged_in(console: Console, name: str, https: bool = False) -> TestClient:
    client = console.client(https)
    assert login(client, name).status_code == 303
    return client


def _source(s, name: str) -> int:  # noqa: ANN001
    """The id of source ``name``, made if missing; reads and writes only columns of
    0001, so it works on a database migrated to an older schema."""
    found = s.exec(select(Source.id).where(Source.name == name)).first()
    if found is not None:
        return found
    return s.execute(insert(Source.__table__).values(
        name=name, url=f"https://{name}.example/", kind="feed", interval_s=300, enabled=True,
        managed_by="config", error_count=0, consecutive_errors=0, posts_seen=0)
        .returning(Source.__table__.c.id)).scalar_one()


def add_post(engine: Engine, *, title: str, text: str = "", brand: str = "Acme",
             source: str = "forum", at: datetime = T0, risk: float = 0.8,
             sentiment: float = 0.2, language: str = "en", severity: str | None = "notice",
             url: str | None = "https://forum.example/t/1", flagged: bool = True,
             incident_id: int | None = None) -> int:
    """One post and its mention; returns the mention id. (Reads only the brand's id,
    so a test may call it on a database migrated to an older schema.)"""
    with session(engine) as s, s.begin():
        brand_id = s.exec(select(Brand.id).where(Brand.name == brand)).one()
        source_id = _source(s, source)
        n = len(s.exec(select(Post.id)).all())
        # only the columns of 0001: later ones (scored_at) may not exist yet
        post_id = s.execute(insert(Post.__table__).values(
            source_id=source_id, entry_key=f"p{n}", fingerprint=f"f{n}", url=url, title=title,
            text=text or title, fetched_at=at).returning(Post.__table__.c.id)).scalar_one()
        mention = Mention(post_id=post_id, brand_id=brand_id, risk=risk, sentiment=sentiment,
                          language=language, flagged=flagged, severity=severity,
                          incident_id=incident_id, cues=["refund"])
        s.add(mention)
        s.flush()
        return mention.id


def add_incident(engine: Engine, *, title: str = "Acme refund row", brand: str = "Acme",
                 severity: str = "warning", at: datetime = T0,
                 category: str = "refund_dispute") -> int:
    with session(engine) as s, s.begin():
        b = s.exec(select(Brand).where(Brand.name == brand)).one()
        inc = Incident(brand_id=b.id, opened_at=at, last_seen_at=at, severity=severity,
                       category=category, title=title, mention_count=0, source_ids=[1])
        s.add(inc)
        s.flush()
        s.add(IncidentChange(incident_id=inc.id, at=at + timedelta(minutes=30),
                             severity=severity, reasons=["replies 0 -> 6"]))
        return inc.id


def add_alert(engine: Engine, incident_id: int, *, severity: str = "warning",
              playbook: str | None = "refund_dispute", title: str = "Acme: refund row",
              at: datetime = T0) -> int:
    with session(engine) as s, s.begin():
        inc = s.get(Incident, incident_id)
        post_ids = list(s.exec(select(Mention.post_id).where(Mention.incident_id == inc.id)))
        n = len(s.exec(select(Alert.id)).all())
        alert = Alert(incident_id=inc.id, brand_id=inc.brand_id, severity=severity,
                      dedup_key=f"k{n}", created_at=at, reasons=[f"{severity}: test"],
                      post_ids=post_ids, playbook=playbook, title=title,
                      respond_by=at + timedelta(hours=2))
        s.add(alert)
        s.flush()
        return alert.id
