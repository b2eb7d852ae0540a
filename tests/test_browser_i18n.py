"""The console in Chinese in a real browser (issue 18): Debian's Chromium set to a
Chinese locale (so it sends ``Accept-Language: zh-CN``) walks each role's main job
through the Chinese labels (admin adds a brand; the analyst searches and exports;
PR goes board -> incident -> alert and acknowledges), and a user whose browser is
English switches to Chinese from the header, which then follows the account."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import select

from db.engine import session
from db.models import Alert, Brand, User
from tests.browser_support import Shots, artifacts_dir, chromium, loopback_socket, serve
from tests.web_support import PASSWORD, Console, add_alert, add_incident, add_post, make_console

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Console]]:
    console = make_console(f"sqlite:///{tmp_path / 'cw.db'}", tmp_path)
    incident = add_incident(console.engine, title="艾克美充电器起火", severity="crisis")
    add_post(console.engine, title="艾克美充电器起火了，客服不理", language="zh",
             incident_id=incident)
    add_post(console.engine, title="艾克美退款三周未到账", language="zh", severity="warning")
    add_alert(console.engine, incident, severity="crisis", title="艾克美充电器起火")
    with serve(console.app, loopback_socket()) as base:
        yield base, console
    console.engine.dispose()


@pytest.fixture
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifacts_dir(tmp_path_factory)


def _page(browser: Browser, base: str, locale: str) -> Page:
    context = browser.new_context(base_url=base, locale=locale, accept_downloads=True,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _log_in(page: Page, name: str, *, user_label: str, password_label: str,
            button: str) -> None:
    page.goto("/")
    page.get_by_label(user_label).fill(name)
    page.get_by_label(password_label).fill(PASSWORD)
    page.get_by_role("button", name=button).click()


def _chinese_login(page: Page, name: str) -> None:
    from playwright.sync_api import expect
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    _log_in(page, name, user_label="名称", password_label="密码", button="登录")


def test_admin_adds_a_brand_in_chinese(browser: Browser, live: tuple[str, Console],
                                       artifacts: Path) -> None:
    from playwright.sync_api import expect
    base, console = live
    page = _page(browser, base, "zh-CN")
    shots = Shots(page, artifacts, "zh-admin-brand")
    _chinese_login(page, "ada")
    page.get_by_role("link", name="管理", exact=True).click()
    page.get_by_role("link", name="品牌", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("品牌")
    page.get_by_role("link", name="添加品牌").click()
    page.get_by_label("名称", exact=True).fill("Acme")  # taken: the error is in Chinese
    page.get_by_label("关键词").fill("艾克美")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#error-name")).to_contain_text("已存在名为 'Acme' 的品牌")
    expect(page.get_by_label("关键词")).to_have_value("艾克美")  # the draft is kept
    page.get_by_label("名称", exact=True).fill("伽马")
    page.get_by_role("button", name="预览匹配").click()
    expect(page.locator(".preview .count")).to_contain_text("条帖子中")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".flash")).to_have_text("已保存品牌 伽马")
    expect(page.locator("table.list")).to_contain_text("伽马")
    shots("brands")
    with session(console.engine) as s:
        assert s.exec(select(Brand.keywords).where(Brand.name == "伽马")).one() == ["艾克美"]


def test_analyst_searches_and_exports_in_chinese(browser: Browser, live: tuple[str, Console],
                                                 artifacts: Path) -> None:
    from playwright.sync_api import expect
    base, _console = live
    page = _page(browser, base, "zh-CN")
    shots = Shots(page, artifacts, "zh-analyst-search")
    _chinese_login(page, "ana")
    page.get_by_role("link", name="历史", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("标记帖子")
    page.get_by_label("搜索").fill("退款")
    page.get_by_label("严重程度 ≥").select_option(label="警告")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("艾克美退款三周未到账")
    expect(rows.first).to_contain_text("中文")
    expect(page.locator("#history thead")).to_contain_text("发布时间")
    shots("history")
    with page.expect_download() as found:
        page.locator("#export-csv").click()
    body = Path(found.value.path()).read_bytes()
    assert body.startswith(codecs.BOM_UTF8) and "艾克美退款三周未到账" in body.decode("utf-8")
    assert "起火" not in body.decode("utf-8")  # the export is the filtered view


def test_pr_acknowledges_from_the_board_in_chinese(browser: Browser, live: tuple[str, Console],
                                                   artifacts: Path) -> None:
    from playwright.sync_api import expect
    base, console = live
    page = _page(browser, base, "zh-CN")
    shots = Shots(page, artifacts, "zh-pr-ack")
    _chinese_login(page, "pat")
    expect(page).to_have_url(f"{base}/board")
    expect(page.get_by_role("heading", level=1)).to_have_text("分诊看板")
    row = page.locator("#board tbody tr").first
    expect(row.locator(".sev-badge")).to_contain_text("危机")
    expect(row.locator("time.countdown")).to_have_text(re.compile(r"^已超时 1 小时 \d\d 分$"))
    expect(row).to_contain_text("尚无人认领")
    shots("board")
    row.get_by_role("link", name="艾克美充电器起火").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("事件 #")
    expect(page.locator("#posts h2")).to_contain_text("帖子")
    meta = page.locator("#posts .post-meta").first
    expect(meta).to_contain_text(re.compile(r"抓取于 \d+ 小时前"))
    page.locator("#incident-alerts a").first.click()
    expect(page.get_by_role("heading", level=2, name=re.compile("应对手册"))).to_be_visible()
    expect(page.locator("#playbook h3").first).to_have_text("首要步骤")
    page.get_by_role("button", name="认领（由我负责）").click()
    expect(page.locator(".flash")).to_have_text("已认领：该事件的升级和提醒已停止。")
    expect(page.locator("#status")).to_have_text("已认领")
    shots("acknowledged")
    with session(console.engine) as s:
        assert s.exec(select(Alert.acknowledged_by)).first() == "pat"


def test_switching_the_language_from_the_header_follows_the_account(
        browser: Browser, live: tuple[str, Console], artifacts: Path) -> None:
    from playwright.sync_api import expect
    base, console = live
    page = _page(browser, base, "en-US")
    _log_in(page, "pat", user_label="Name", password_label="Password", button="Log in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Triage board")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/alerts?status=open")
    page.locator("#lang-zh").click()
    expect(page).to_have_url(f"{base}/alerts?status=open")  # back where the switch was
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("警报")
    expect(page.locator("#lang-zh")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("header nav")).to_contain_text("看板")
    with session(console.engine) as s:
        assert s.exec(select(User.language).where(User.name == "pat")).one() == "zh"
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")  # this browser remembers
    other = _page(browser, base, "en-US")  # another browser, English: the account decides
    _log_in(other, "pat", user_label="Name", password_label="Password", button="Log in")
    expect(other.get_by_role("heading", level=1)).to_have_text("分诊看板")
    other.locator("#lang-en").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("Triage board")
    Shots(other, artifacts, "switch-language")("english-again")
