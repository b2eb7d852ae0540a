"""The console for a Chinese PR team, in a real browser (issue 18): Playwright
driving Debian's headless Chromium against the console served by uvicorn on a
loopback port, configured with ``console.timezone: Asia/Shanghai``. Times read
relative with the Shanghai time in their ``title`` (the hover text); the page
and Chinese posts carry ``lang``; the search box finds 发烫 when 發燙 is typed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, update

from db.engine import open_database, session
from db.models import Post
from monitor.config import parse_config
from monitor.stages.sync import sync_config
from monitor.users import add_user
from tests.browser_support import artifacts_dir, chromium, loopback_socket, serve
from tests.web_support import PASSWORD, add_incident, add_post
from web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TIMEOUT_MS = 15_000
SIMPLIFIED, TRADITIONAL = "艾克美充电器发烫，客服不理", "艾克美充電器發燙，客服不理"
ENGLISH = "Acme charger melted and support ignored me"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture
def seen() -> datetime:
    """When the posts were fetched: 20 minutes before the test (not before collection)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)


@pytest.fixture
def console(tmp_path: Path, seen: datetime) -> Iterator[tuple[str, Engine]]:
    """The console in Shanghai time over a fresh SQLite database: three flagged posts
    seen 20 minutes ago, posted 3 hours ago, one in each script and one in English."""
    config = parse_config({"database": f"sqlite:///{tmp_path / 'cw.db'}",
                           "brands": [{"name": "Acme", "keywords": ["Acme", "艾克美"]}],
                           "console": {"timezone": "Asia/Shanghai"}}, base=tmp_path, env={})
    engine = open_database(config.database)
    sync_config(engine, config)
    add_user(engine, "ana", "analyst", PASSWORD)
    incident = add_incident(engine, title=SIMPLIFIED, at=seen)
    for title in (SIMPLIFIED, TRADITIONAL, ENGLISH):
        add_post(engine, title=title, at=seen, incident_id=incident)
    with session(engine) as s, s.begin():
        s.execute(update(Post).values(published_at=seen - timedelta(hours=3)))
    sock = loopback_socket()
    with serve(create_app(config, engine), sock) as base:
        yield base, engine
    engine.dispose()


@pytest.fixture
def page(browser: Browser, console: tuple[str, Engine], request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    context = browser.new_context(base_url=console[0], viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    found = context.new_page()
    found.goto("/login?next=/history")
    found.get_by_label("Name").fill("ana")
    found.get_by_label("Password").fill(PASSWORD)
    found.get_by_role("button", name="Log in").click()
    found.wait_for_url(re.compile(r"/history$"))
    yield found
    try:
        folder = artifacts_dir(tmp_path_factory)
        found.screenshot(path=str(folder / f"{request.node.name}-last.png"), full_page=True)
    finally:
        context.close()


def _row(page: Page, title: str):  # noqa: ANN202 - Locator
    return page.locator("#history tbody tr").filter(has_text=title)


def test_times_read_relative_with_the_local_time_on_hover(page: Page, seen: datetime) -> None:
    from playwright.sync_api import expect

    local = seen.astimezone(ZoneInfo("Asia/Shanghai"))
    posted, fetched = _row(page, ENGLISH).locator("time").all()
    expect(fetched).to_have_text("20 min ago")
    expect(fetched).to_have_attribute("title", f"{local:%Y-%m-%d %H:%M} CST (UTC+08:00)")
    expect(fetched).to_have_attribute("datetime", f"{seen:%Y-%m-%dT%H:%M:%S}Z")
    expect(posted).to_have_text("3 h ago")
    expect(posted).to_have_attribute(
        "title", f"{local - timedelta(hours=3):%Y-%m-%d %H:%M} CST (UTC+08:00)")
    expect(page.locator("#history thead")).to_contain_text("Posted")
    expect(page.locator("#history thead")).not_to_contain_text("UTC")
    page.goto("/incidents/1")  # the incident page: the same element, the same zone
    expect(page.locator(".panel time").first).to_have_attribute("title", re.compile(
        rf"^{local:%Y-%m-%d %H:%M} CST \(UTC\+08:00\)$"))
    # the datetime attribute is the instant: the browser reads it back as the same time
    instant = page.locator(".panel time").first.evaluate(
        "t => new Date(t.getAttribute('datetime')).getTime()")
    assert instant == seen.timestamp() * 1000


def test_the_page_and_chinese_posts_carry_their_language(page: Page) -> None:
    from playwright.sync_api import expect

    assert page.evaluate("document.documentElement.lang") == "en"
    expect(_row(page, SIMPLIFIED).locator("td[lang=zh]")).to_contain_text(SIMPLIFIED)
    expect(_row(page, TRADITIONAL).locator("td[lang=zh]")).to_contain_text(TRADITIONAL)
    expect(_row(page, ENGLISH).locator("td[lang]")).to_have_count(0)
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert font.startswith('"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei"'), font
    page.goto("/incidents")
    expect(page.locator("td[lang=zh]")).to_contain_text(SIMPLIFIED)


@pytest.mark.parametrize(("typed", "finds"), [("發燙", SIMPLIFIED), ("发烫", TRADITIONAL)])
def test_search_folds_traditional_and_simplified(page: Page, typed: str, finds: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Search").fill(typed)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/history\?.*q=%E5%8F%91|/history\?.*q=%E7%99%BC"))
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(2)  # both scripts, never the English post
    expect(_row(page, finds)).to_have_count(1)
    expect(_row(page, ENGLISH)).to_have_count(0)
