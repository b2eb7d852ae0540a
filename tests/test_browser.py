"""The console in a real browser (issue 7): Playwright driving Debian's headless
Chromium against the real app served by uvicorn on a loopback port.

One journey does what a PR admin does on day one: log in, add a brand (preview,
then save) and a feed source (test fetch, then save), let the real daemon
(``crisiswatch run --once`` in a subprocess) read the local feed, then find the
flagged posts in the history, filter them, open the incident and acknowledge the
alert through the link its message carried. A second test stores a post whose
every field tries to run script and checks, in the browser, that nothing runs
and the markup shows as text. Screenshots go to $CRISISWATCH_ARTIFACTS or a
pytest temporary folder (printed), never into the repository."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from sqlalchemy import Engine
from sqlmodel import select

from db.engine import open_database, read_session, session
from db.models import Alert, Brand, Mention, Post, Source, utcnow
from monitor.config import Config, load_config
from monitor.lab.localsite import AlertReceiver, Entry, FeedSite
from monitor.stages.sync import sync_config
from monitor.users import add_user
from tests.browser_support import Shots, artifacts_dir, chromium, loopback_socket, serve
from tests.conftest import CHATTER, COMPLAINT, PRAISE, crisiswatch
from tests.web_support import add_alert, add_incident, add_post
from web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ADMIN, PASSWORD = "ada", "correct horse battery"
TIMEOUT_MS = 15_000
# a second complaint, so that filtering the history has rows to drop
OVERHEAT = Entry("c2", "Acme charger overheated and melted",
                 "Customer service ignored me for two weeks. I want my money back or I go "
                 "to the media.")
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
XSS_TEXT = f"Acme ignored my refund. {XSS} <svg onload=alert('xss')></svg>"
XSS_LINK = "javascript:window.__xss=3"


@dataclass
class LiveConsole:
    """The served console and what a test needs to look behind the browser."""

    base: str
    engine: Engine
    config: Config
    config_path: Path

    def rows(self, model: type) -> list:
        with read_session(self.engine) as s:
            return list(s.exec(select(model)).all())


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """The screenshot folder, printed past pytest's output capture so it is seen."""
    folder = artifacts_dir(tmp_path_factory)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\nbrowser screenshots: {folder}")
    else:
        print(f"browser screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module (starting it is the slow part); each test gets
    its own context, so cookies never leak between tests."""
    with chromium() as found:
        yield found


@pytest.fixture
def console(tmp_path: Path, receiver: AlertReceiver) -> Iterator[LiveConsole]:
    """The real console over a fresh SQLite database, served on 127.0.0.1. Its config
    (also read by the daemon subprocess) has no brands or sources: the test adds
    them in the console. Loopback is allowed for console-entered URLs so the local
    feed can be added, and alerts go to the ``receiver``'s json:// endpoint."""
    sock = loopback_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    path = tmp_path / "crisiswatch.yaml"
    path.write_text(yaml.safe_dump({
        "database": f"sqlite:///{tmp_path / 'cw.db'}",
        "channels": [{"name": "pr-team", "url": receiver.url, "min_severity": "notice"}],
        "console": {"allow_private": ["127.0.0.0/8"]},
        "console_url": base,
        "data_dir": str(tmp_path),
    }), encoding="utf-8")
    config = load_config(path, env={})
    engine = open_database(config.database)
    sync_config(engine, config)
    add_user(engine, ADMIN, "admin", PASSWORD)
    with serve(create_app(config, engine), sock) as served:
        assert served == base
        yield LiveConsole(base, engine, config, path)
    engine.dispose()


@pytest.fixture
def page(browser: Browser, console: LiveConsole, artifacts: Path,
         request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context on the console; its last state is screenshotted at
    teardown, so a failing test leaves a picture of where it stopped."""
    context = browser.new_context(base_url=console.base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    found = context.new_page()
    yield found
    try:
        found.screenshot(path=str(artifacts / f"{request.node.name}-last.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture
def shots(page: Page, artifacts: Path, request: pytest.FixtureRequest) -> Shots:
    """Numbered screenshots of the steps, for a person checking what the browser saw."""
    return Shots(page, artifacts, request.node.name)


def log_in(page: Page, path: str = "/", password: str = PASSWORD) -> None:
    """Open ``path`` logged out and log in through the form it redirects to."""
    page.goto(path)
    page.get_by_label("Name").fill(ADMIN)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_admin_journey_from_new_brand_to_acknowledged_alert(
        page: Page, shots: Shots, console: LiveConsole, site: FeedSite,
        receiver: AlertReceiver) -> None:
    """What the console is for, end to end in a browser: every form is filled and
    submitted as a person would (CSRF fields, redirects and cookies included), and
    the daemon that fills the history is the real one, picking up the brand and the
    source the console stored."""
    from playwright.sync_api import expect

    site.feeds["acme"] = [CHATTER, PRAISE, COMPLAINT, OVERHEAT]

    # --- log in: a wrong password is refused, the right one lands where we were going
    log_in(page, "/history", password="wrong password!")
    expect(page.get_by_role("alert")).to_contain_text("Wrong name or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{console.base}/history")
    expect(page.locator("header .who")).to_have_text(f"{ADMIN} (admin)")
    expect(page.get_by_text("No flagged posts match.")).to_be_visible()
    shots("logged-in")

    # --- a brand: preview first (nothing saved), then save
    page.goto("/admin/brands/new")
    page.get_by_label("Name", exact=True).fill("Acme")
    page.get_by_label("Keywords").fill("Acme\nacme phone")
    page.get_by_label("Exclude").fill("acme anvil")
    page.get_by_role("button", name="Preview matches").click()
    expect(page.locator("section.preview")).to_contain_text("0 of 0 posts match")
    expect(page.get_by_label("Keywords")).to_have_value("Acme\nacme phone")
    assert console.rows(Brand) == [], "a preview must not save the brand"
    shots("brand-preview")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/admin/brands\?done="))
    expect(page.locator(".flash")).to_have_text("saved brand Acme")
    [brand] = console.rows(Brand)
    assert (brand.name, brand.keywords, brand.exclude, brand.managed_by, brand.enabled) == \
        ("Acme", ["Acme", "acme phone"], ["acme anvil"], "console", True)

    # --- a source: test fetch of the local feed (nothing saved), then save
    page.goto("/admin/sources/new")
    page.get_by_label("Name").fill("acme-news")
    page.get_by_label("Kind").select_option("feed")
    page.get_by_label("URL", exact=True).fill(f"{site.base}/acme.xml")
    page.get_by_label("Poll every").fill("1m")
    page.get_by_role("button", name="Test fetch").click()
    result = page.locator("section.test-fetch")
    expect(result.locator("h2")).to_contain_text("Test fetch: ok", timeout=60_000)
    expect(result.locator("ol.titles")).to_contain_text(COMPLAINT.title)
    assert console.rows(Source) == [], "a test fetch must not save the source"
    shots("source-test-fetch")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_have_text("saved source acme-news")
    expect(page.locator("table.list tbody tr")).to_contain_text("not fetched yet")

    # --- the real daemon, one pass: it reads the brand and the source from the database
    run = crisiswatch("run", "--once", "--config", str(console.config_path))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "posts seen: 4" in run.stdout, run.stdout
    assert "mentions: 3 (2 flagged)" in run.stdout, run.stdout  # praise is not flagged
    # two complaints on different topics: two incidents, one alert each
    assert len(receiver.received) == 2, receiver.received
    [message] = [m for m in receiver.received if f"{site.base}/posts/c1" in m.body]
    assert message.title.startswith("[NOTICE] Acme"), message.title
    link = re.search(rf"{re.escape(console.base)}/alerts/(\d+)", message.body)
    assert link, f"no console link in the alert message:\n{message.body}"
    page.goto("/admin/sources")
    expect(page.locator("table.list tbody tr")).to_contain_text("ok")

    # --- the history: both complaints are flagged, the praise is not
    page.goto("/history")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#history")).to_contain_text(COMPLAINT.title)
    expect(page.locator("#history")).to_contain_text(OVERHEAT.title)
    expect(page.locator("#history")).not_to_contain_text(PRAISE.title)
    shots("history")

    # --- filter: text search narrows to one row, a severity nobody reached to none
    page.get_by_label("Search").fill("freezing")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]q=freezing"))
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(COMPLAINT.title)
    expect(page.get_by_label("Search")).to_have_value("freezing")  # the form keeps the view
    shots("history-search")
    page.get_by_label("Search").fill("")
    page.get_by_label("Brand").select_option("Acme")
    page.get_by_label("Severity").select_option("crisis")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No flagged posts match.")).to_be_visible()
    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(2)

    # --- the incident of the complaint, with its SVG timeline
    rows.filter(has_text=COMPLAINT.title).locator("a[href^='/incidents/']").click()
    expect(page).to_have_url(re.compile(r"/incidents/\d+$"))
    expect(page.locator("h1")).to_contain_text("Incident #")
    expect(page.locator("svg#timeline")).to_be_visible()
    assert page.locator("svg#timeline rect.bar").count() >= 1
    expect(page.locator("#posts")).to_contain_text(COMPLAINT.title)
    shots("incident")

    # --- the alert, through the link its message carried; acknowledge it
    alert_id = int(link.group(1))
    page.goto(link.group(0))
    expect(page.locator("#status")).to_have_text("open")
    expect(page.locator("#statement")).to_contain_text("Acme")
    shots("alert-open")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page).to_have_url(re.compile(rf"/alerts/{alert_id}\?done=ack$"))
    expect(page.locator(".flash")).to_contain_text("Acknowledged")
    expect(page.locator("#status")).to_have_text("acknowledged")
    expect(page.locator(".panel").first).to_contain_text(f"acknowledged by {ADMIN}")
    expect(page.locator("#ack")).to_have_count(0)
    shots("alert-acknowledged")
    with read_session(console.engine) as s:
        alert = s.get(Alert, alert_id)
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", ADMIN)
    assert alert.acknowledged_at is not None
    page.goto("/alerts?status=acknowledged")
    expect(page.locator("#alerts tbody tr")).to_have_count(1)
    expect(page.locator("#alerts")).to_contain_text(ADMIN)
    page.goto("/alerts")  # the other complaint's alert is still waiting
    expect(page.locator("#alerts tbody tr")).to_have_count(1)

    # --- now that posts are stored, the brand's preview finds them
    page.goto(f"/admin/brands/{brand.id}")
    page.get_by_role("button", name="Preview matches").click()
    preview = page.locator("section.preview")
    expect(preview).to_contain_text("3 of 4 posts match")
    expect(preview.locator("ol.matches")).to_contain_text(COMPLAINT.title)
    expect(preview.locator("ol.matches")).not_to_contain_text(CHATTER.title)


def _hostile_alert(engine: Engine) -> tuple[int, int]:
    """A flagged post whose title, text, link, incident and alert titles all try to
    run script; returns (incident id, alert id)."""
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["Acme"], managed_by="console"))
    at = utcnow() - timedelta(minutes=30)
    incident = add_incident(engine, title=XSS, at=at)
    add_post(engine, title=XSS, text=XSS_TEXT, url=XSS_LINK, incident_id=incident, at=at)
    return incident, add_alert(engine, incident, title=XSS, at=at)


def test_a_post_that_tries_xss_runs_nothing(page: Page, shots: Shots,
                                            console: LiveConsole) -> None:
    """Post content is written by strangers. In a real browser, every page that shows
    it must show the markup as text, link nowhere through ``javascript:``, and carry
    the CSP that would stop inline script even if escaping failed one day."""
    from playwright.sync_api import expect

    incident, alert = _hostile_alert(console.engine)
    with read_session(console.engine) as s:
        assert s.exec(select(Mention.flagged)).all() == [True]
        assert s.exec(select(Post.url)).all() == [XSS_LINK]
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page)
    expect(page.locator("header .who")).to_be_visible()

    for name, path in (("history", "/history"), ("incident", f"/incidents/{incident}"),
                       ("alert", f"/alerts/{alert}"), ("incidents", "/incidents"),
                       ("alerts", "/alerts")):
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response)
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, (path, csp)
        main = page.locator("main")
        expect(main).to_contain_text(XSS)  # shown literally, so it was escaped
        assert main.locator("script, img[src='x'], svg[onload]").count() == 0, path
        assert page.locator('a[href^="javascript:"]').count() == 0, path
        assert page.evaluate("window.__xss") is None, path
        shots(name)
    page.wait_for_timeout(200)  # an onerror of a broken image would have fired by now
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
