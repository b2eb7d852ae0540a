"""Every console control does what it says (issue 18), each checked in a real browser
(Playwright driving Debian's headless Chromium against the app served on a loopback
port, as in tests/test_browser.py): enabling and disabling users, pauses of rows the
YAML file manages that outlive the config sync, the channel test message, the trust
score's legend, refused forms that keep the draft with each error under its field,
and screen-reader-only labels with visible keyboard focus."""

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
from db.models import Brand, Channel, Incident, Source, User, utcnow
from monitor.config import Config, load_config
from monitor.lab.localsite import AlertReceiver
from monitor.stages.sync import sync_config
from monitor.users import add_user
from tests.browser_support import artifacts_dir, chromium, loopback_socket, serve
from tests.web_support import add_alert, add_incident
from web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ADMIN, ANALYST, PASSWORD = "ada", "ana", "correct horse battery"
TIMEOUT_MS = 15_000
HOSTILE = "<b>Acme</b> refund *now*"


@dataclass
class Live:
    base: str
    engine: Engine
    config: Config
    receiver: AlertReceiver


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture
def console(tmp_path: Path, receiver: AlertReceiver) -> Iterator[Live]:
    """The console over a fresh SQLite database whose YAML file manages a brand, a
    source and a channel (the receiver's json:// endpoint); an admin and an analyst."""
    sock = loopback_socket()
    path = tmp_path / "crisiswatch.yaml"
    path.write_text(yaml.safe_dump({
        "database": f"sqlite:///{tmp_path / 'cw.db'}",
        "brands": [{"name": "Acme", "keywords": ["Acme"]}],
        "sources": [{"name": "acme-news", "kind": "feed", "url": "http://127.0.0.1:9/a.xml"}],
        "channels": [{"name": "pr-team", "url": receiver.url, "min_severity": "notice"}],
        "console": {"allow_private": ["127.0.0.0/8"]},
        "data_dir": str(tmp_path),
    }), encoding="utf-8")
    config = load_config(path, env={})
    engine = open_database(config.database)
    sync_config(engine, config)
    add_user(engine, ADMIN, "admin", PASSWORD)
    add_user(engine, ANALYST, "analyst", PASSWORD)
    with serve(create_app(config, engine), sock) as base:
        yield Live(base, engine, config, receiver)
    engine.dispose()


@pytest.fixture
def page(browser: Browser, console: Live, tmp_path_factory: pytest.TempPathFactory,
         request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh context logged in as the admin; its last state is screenshotted."""
    context = browser.new_context(base_url=console.base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    found = context.new_page()
    log_in(found, ADMIN)
    yield found
    try:
        folder = artifacts_dir(tmp_path_factory)
        found.screenshot(path=str(folder / f"{request.node.name}-last.png"), full_page=True)
    finally:
        context.close()


def log_in(page: Page, name: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def can_log_in(browser: Browser, base: str, name: str) -> bool:
    """Log in as ``name`` in a context of its own: did the console let them in?"""
    context = browser.new_context(base_url=base)
    try:
        other = context.new_page()
        log_in(other, name)
        other.wait_for_load_state()
        return not other.url.split("?")[0].endswith("/login")
    finally:
        context.close()


def enabled_of(engine: Engine, model: type, name: str) -> bool:
    with read_session(engine) as s:
        return s.exec(select(model.enabled).where(model.name == name)).one()


def test_admin_disables_then_enables_a_user(page: Page, browser: Browser,
                                            console: Live) -> None:
    """The button of an active user reads Disable and disables; a disabled user's
    reads Enable and enables. Logging in follows."""
    from playwright.sync_api import expect

    page.goto("/admin/users")
    row = page.locator("tbody tr", has_text=ANALYST)
    expect(row.locator("td").nth(3)).to_have_text("active")
    expect(row.get_by_role("button", name="Enable")).to_have_count(0)
    row.get_by_role("button", name="Disable").click()
    expect(page.locator(".flash")).to_have_text(f"disabled user {ANALYST}")
    expect(row.locator("td").nth(3)).to_have_text("disabled")
    assert not can_log_in(browser, console.base, ANALYST)

    row.get_by_role("button", name="Enable").click()
    expect(page.locator(".flash")).to_have_text(f"enabled user {ANALYST}")
    expect(row.locator("td").nth(3)).to_have_text("active")
    expect(row.get_by_role("button", name="Disable")).to_be_visible()
    assert can_log_in(browser, console.base, ANALYST)


SECTIONS = (("brands", Brand, "Acme", "Disable", "Enable"),
            ("sources", Source, "acme-news", "Pause", "Resume"),
            ("channels", Channel, "pr-team", "Disable", "Enable"))


@pytest.mark.parametrize(("section", "model", "name", "pause", "resume"), SECTIONS,
                         ids=[s[0] for s in SECTIONS])
def test_a_console_pause_of_a_file_row_outlives_the_config_sync(
        page: Page, console: Live, section: str, model: type, name: str, pause: str,
        resume: str) -> None:
    """Pause a row the YAML file manages; the next start's sync keeps it paused (and
    the list says by whom); resume it, and the sync keeps it running."""
    from playwright.sync_api import expect

    page.goto(f"/admin/{section}")
    row = page.locator("table.list tbody tr", has_text=name)
    expect(row).to_contain_text("config")
    row.get_by_role("button", name=pause).click()
    expect(page.locator(".flash")).to_contain_text(name)
    assert not enabled_of(console.engine, model, name)

    sync_config(console.engine, console.config)  # what `crisiswatch run` does at start
    assert not enabled_of(console.engine, model, name), "the sync undid the console's pause"
    page.reload()
    expect(row).to_contain_text(f"paused by {ADMIN}")
    expect(row.get_by_role("button", name=resume)).to_be_visible()

    row.get_by_role("button", name=resume).click()
    expect(page.locator(".flash")).to_contain_text(name)
    sync_config(console.engine, console.config)
    assert enabled_of(console.engine, model, name)
    page.reload()
    expect(row).not_to_contain_text("paused by")
    expect(row.get_by_role("button", name=pause)).to_be_visible()


def test_a_file_row_dropped_from_the_file_offers_no_enable(page: Page, console: Live) -> None:
    """The sync disables a file row the file no longer lists at every start, so the
    console does not offer to enable it: it says why instead."""
    from playwright.sync_api import expect

    with session(console.engine) as s, s.begin():
        s.add(Brand(name="Oldco", keywords=["Oldco"], managed_by="config", enabled=False))
    page.goto("/admin/brands")
    row = page.locator("table.list tbody tr", has_text="Oldco")
    expect(row).to_contain_text("No longer in the config file")
    expect(row.get_by_role("button")).to_have_count(0)


def test_the_channel_test_message_describes_the_open_incidents(page: Page,
                                                               console: Live) -> None:
    """Three incidents open, one of them a crisis whose title is a stranger's markup:
    the test message counts them and names the crisis, as received on the wire."""
    from playwright.sync_api import expect

    add_incident(console.engine, title="Acme charger smell", severity="notice")
    add_incident(console.engine, title="Acme refund row", severity="warning")
    worst = add_incident(console.engine, title=HOSTILE, severity="crisis")
    resolved = add_incident(console.engine, title="Old Acme matter", severity="crisis")
    with session(console.engine) as s, s.begin():
        s.get(Incident, resolved).resolved_at = utcnow()
    page.goto("/admin/channels")
    page.locator("table.list tbody tr", has_text="pr-team").get_by_role(
        "button", name="Send a test").click()
    expect(page.get_by_role("status")).to_have_text("Result: delivered")
    [message] = console.receiver.received
    expected = (f"3 incidents are open (1 crisis, 1 warning, 1 notice). The most severe: "
                f"#{worst} Acme, crisis: {HOSTILE}")
    assert expected in message.body, message.body
    assert "No incident is open" not in message.body
    expect(page.locator("#test-body")).to_contain_text(expected)  # shown as text


def test_resolve_explains_the_trust_score_on_its_0_to_100_scale(page: Page,
                                                                 console: Live) -> None:
    """A reply 11 minutes into a 200-minute promise scores 94.5 of 100."""
    from playwright.sync_api import expect

    opened = (utcnow() - timedelta(hours=3)).replace(second=0, microsecond=0)
    incident = add_incident(console.engine, at=opened)
    with session(console.engine) as s, s.begin():
        s.get(Incident, incident).reply_promised_s = 200 * 60
    alert = add_alert(console.engine, incident, at=opened)
    page.goto(f"/alerts/{alert}")
    page.get_by_label("First public reply at").fill(
        f"{opened + timedelta(minutes=11):%Y-%m-%dT%H:%M}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Resolve").click()
    flash = page.locator(".flash")
    expect(flash).to_contain_text("Trust score 94.5 (100: replied at once, 0: on the "
                                  "promised time, below 0: late)")
    expect(flash).not_to_contain_text("1: replied at once")


def field(page: Page, name: str):  # noqa: ANN201
    """The form field block of input ``name`` (its label, input, hint and error)."""
    return page.locator(f".field:has(#f-{name})")


def test_refused_brand_and_source_forms_keep_the_draft(page: Page, console: Live) -> None:
    from playwright.sync_api import expect

    page.goto("/admin/brands/new")
    page.get_by_label("Name", exact=True).fill("acme")  # taken (case-insensitively)
    page.get_by_label("Keywords").fill("Acme\nacme phone")
    page.get_by_label("Exclude").fill("acme anvil")
    page.get_by_label("Name in Chinese statements").fill("艾克美")
    page.get_by_label("Watch this brand").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(field(page, "name").locator(".error")).to_contain_text("already exists")
    expect(page.get_by_label("Name", exact=True)).to_have_value("acme")
    expect(page.get_by_label("Keywords")).to_have_value("Acme\nacme phone")
    expect(page.get_by_label("Exclude")).to_have_value("acme anvil")
    expect(page.get_by_label("Name in Chinese statements")).to_have_value("艾克美")
    expect(page.get_by_label("Watch this brand")).not_to_be_checked()

    page.goto("/admin/sources/new")
    rules = "thread:\n  post: div.post\n  body: div.content"
    page.get_by_label("Name").fill("acme-forum")
    page.get_by_label("Kind").select_option("forum")
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/t/1")
    page.get_by_label("Poll every").fill("soon")
    page.get_by_label("Forum preset").fill("phpbb")
    page.get_by_label("Forum rules").fill(rules)
    page.get_by_label("Forum page").select_option("thread")
    page.get_by_label("Re-read hot threads every").fill("2m")
    page.get_by_label("Obey robots.txt").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(field(page, "interval").locator(".error")).to_contain_text("is not a duration")
    for label, value in (("Name", "acme-forum"), ("Poll every", "soon"),
                         ("Forum preset", "phpbb"), ("Forum rules", rules),
                         ("Re-read hot threads every", "2m")):
        expect(page.get_by_label(label, exact=True)).to_have_value(value)
    expect(page.get_by_label("Kind")).to_have_value("forum")
    expect(page.get_by_label("Forum page")).to_have_value("thread")
    expect(page.get_by_label("Obey robots.txt")).not_to_be_checked()


def test_refused_channel_and_user_forms_keep_the_draft(page: Page,
                                                               console: Live) -> None:
    from playwright.sync_api import expect

    page.goto("/admin/channels/new")
    page.get_by_label("Name", exact=True).fill("ops")
    page.get_by_label("Apprise URL", exact=True).fill(console.receiver.url)
    page.get_by_label("Minimum severity", exact=True).select_option("warning")
    page.get_by_label("Brands", exact=True).fill("Acme")
    page.get_by_label("Tier", exact=True).fill("1")
    page.get_by_label("Format", exact=True).select_option("markdown")
    page.get_by_label("Quiet hours", exact=True).fill("25:00-07:00")  # no such hour
    page.get_by_label("Time zone", exact=True).fill("Asia/Shanghai")
    page.get_by_label("Rate limit", exact=True).fill("10/1h")
    page.get_by_label("Send alerts to this channel", exact=True).uncheck()
    page.get_by_role("button", name="Save").click()
    expect(field(page, "quiet_hours").locator(".error")).to_contain_text("is not a span")
    for label, value in (("Name", "ops"), ("Apprise URL", console.receiver.url),
                         ("Minimum severity", "warning"), ("Brands", "Acme"), ("Tier", "1"),
                         ("Format", "markdown"), ("Quiet hours", "25:00-07:00"),
                         ("Time zone", "Asia/Shanghai"), ("Rate limit", "10/1h")):
        expect(page.get_by_label(label, exact=True)).to_have_value(value)
    expect(page.get_by_label("Apprise URL", exact=True)).to_have_attribute("type", "password")
    expect(page.get_by_label("Send alerts to this channel", exact=True)).not_to_be_checked()

    page.goto("/admin/users")
    form = page.locator("form[action='/admin/users/new']")
    form.get_by_label("Name").fill("pat")
    form.get_by_label("Role").select_option("pr")
    form.get_by_label("Password", exact=True).fill("a long enough password")
    form.get_by_label("Password again").fill("another long password")
    form.get_by_role("button", name="Add user").click()
    expect(field(page, "password").locator(".error")).to_contain_text("the two passwords differ")
    expect(form.get_by_label("Name")).to_have_value("pat")
    expect(form.get_by_label("Role")).to_have_value("pr")


def test_a_refused_resolve_keeps_the_typed_reply_time(page: Page, console: Live) -> None:
    from playwright.sync_api import expect

    incident = add_incident(console.engine, at=utcnow() - timedelta(hours=1))
    alert = add_alert(console.engine, incident)
    page.goto(f"/alerts/{alert}")
    future = f"{utcnow() + timedelta(days=2):%Y-%m-%dT%H:%M}"
    page.get_by_label("First public reply at").fill(future)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#error")).to_contain_text("in the future")
    expect(page.get_by_label("First public reply at")).to_have_value(future)


def test_a_wrong_preset_is_reported_under_the_preset(page: Page, console: Live) -> None:
    from playwright.sync_api import expect

    page.goto("/admin/sources/new")
    page.get_by_label("Name").fill("acme-forum")
    page.get_by_label("Kind").select_option("forum")
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/forum")
    page.get_by_label("Forum preset").fill("phpbbb")
    page.get_by_role("button", name="Save").click()
    expect(field(page, "preset").locator(".error")).to_contain_text("unknown preset 'phpbbb'")
    expect(page.get_by_label("Forum preset")).to_have_attribute("aria-invalid", "true")
    expect(field(page, "rules").locator(".error")).to_have_count(0)
    expect(page.locator("#error-_form")).to_have_count(0)

    page.get_by_label("Kind").select_option("feed")
    page.get_by_label("Forum preset").fill("phpbb")
    page.get_by_role("button", name="Save").click()
    expect(field(page, "preset").locator(".error")).to_contain_text("for kind forum, not feed")


def test_screen_reader_labels_are_hidden_but_label_and_focus_shows(page: Page,
                                                                   console: Live) -> None:
    """The Users table's role and password labels take no room on screen yet name
    their inputs; a button reached with the keyboard draws a focus ring."""
    from playwright.sync_api import expect

    page.goto("/admin/users")
    with read_session(console.engine) as s:
        user_id = s.exec(select(User.id).where(User.name == ANALYST)).one()
    for label, target in ((f"Role of {ANALYST}", f"role-{user_id}"),
                          (f"New password for {ANALYST}", f"pw-{user_id}")):
        expect(page.get_by_label(label)).to_have_attribute("id", target)
        box = page.locator(f"label[for='{target}']").bounding_box()
        assert box is not None and box["width"] <= 1 and box["height"] <= 1, (label, box)
    page.locator(f"#role-{user_id}").click()  # a mouse click: no ring
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")  # the keyboard: a ring
    focused = page.locator(":focus")
    expect(focused).to_have_text("Change role")
    expect(focused).to_have_css("outline-style", "solid")
    expect(focused).to_have_css("outline-width", "3px")
    assert re.match(r"rgb\(35, 87, 198", focused.evaluate("e => getComputedStyle(e).outlineColor"))
