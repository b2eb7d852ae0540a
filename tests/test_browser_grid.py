"""Each role's main job in both interface languages at both widths (issue 18), in
Debian's Chromium: PR goes board -> incident -> alert, acknowledges and checks a
reply; the admin adds a source, a brand and a user; the analyst searches the
history, filters it and exports the CSV. The browser's locale (zh-CN or en-US)
picks the language, so nobody switches. At every step the page must be in the
right language (a Chinese page shows no English interface word, an English page
no Chinese one, content aside) and at 390 px nothing may be wider than the screen.

Labels and messages are looked up in the console's own catalogue
(``translate``), so one walk serves both languages. One browser and one
database serve the module: each case names its rows after itself."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import select

from db.engine import open_database, session
from db.models import Alert, Brand, Source, User
from monitor.config import parse_config
from monitor.stages.sync import sync_config
from monitor.users import add_user
from tests.browser_support import Shots, artifacts_dir, chromium, loopback_socket, serve
from tests.test_i18n import CONTENT, english_words
from tests.web_support import PASSWORD, USERS, Console, add_alert, add_incident, add_post
from web.app import create_app
from web.i18n import translate

if TYPE_CHECKING:
    from playwright.sync_api import Browser

TIMEOUT_MS = 15_000
LOCALES = {"zh": "zh-CN", "en": "en-US"}
HEIGHTS = {1280: 900, 390: 844}
GRID = [(lang, width) for lang in ("zh", "en") for width in (1280, 390)]
IDS = [f"{lang}-{width}" for lang, width in GRID]
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e]")
PR_TITLE = {"zh": "艾克美充电器起火", "en": "Acme charger fire"}
POSTS = ("艾克美退款三周未到账", "Acme refund missing for three weeks", "艾克美充电器发烫")
# what the cases store (one database for the module): content, not interface words;
# 中文 is the language's own name (the switch, the history's language column)
DATA = (*POSTS, *(f"{PR_TITLE[lang]} {width}" for lang, width in GRID),
        *(f"{kind}{lang}{width}" for kind in ("rss", "kim", "Gamma", "伽马")
          for lang, width in GRID), "艾克美", "伽马", "中文")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Console]]:
    """One console for the module; loopback may be a source (it is never fetched)."""
    tmp = tmp_path_factory.mktemp("grid")
    url = f"sqlite:///{tmp / 'cw.db'}"
    config = parse_config({"database": url, "console": {"allow_private": ["127.0.0.1"]},
                           "brands": [{"name": "Acme", "keywords": ["Acme", "艾克美"]}]},
                          base=tmp, env={})
    engine = open_database(url)
    sync_config(engine, config)
    for name, role in USERS:
        add_user(engine, name, role, PASSWORD)
    console = Console(engine, config, create_app(config, engine))
    add_post(engine, title=POSTS[0], language="zh", severity="warning")
    add_post(engine, title=POSTS[1], severity="warning")
    add_post(engine, title=POSTS[2], language="zh", severity="notice")
    with serve(console.app, loopback_socket()) as base:
        yield base, console
    engine.dispose()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifacts_dir(tmp_path_factory)


class _Interface(HTMLParser):
    """The interface's own words on an English page: text and read attributes,
    leaving out content marked Chinese (``lang="zh"``), code and the language
    switch (which names 中文 in Chinese on purpose)."""

    ATTRS = ("title", "placeholder", "aria-label", "data-confirm", "alt")
    SKIP = ("code", "pre", "script", "style", "textarea", "title")
    VOID = {"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.seen: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        skipped = (bool(self.stack and self.stack[-1]) or tag in self.SKIP
                   or (found.get("lang") or "").startswith("zh") or found.get("id") == "lang-zh")
        if not skipped:
            self.seen += [v for k, v in attrs if v and k in self.ATTRS]
        if tag not in self.VOID:
            self.stack.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.seen.append(data)


def chinese_interface(html: str) -> set[str]:
    parser = _Interface()
    parser.feed(html)
    return set(CJK.findall(" ".join(parser.seen)))


class Walk:
    """One case: a page in one language at one width, checked after every step."""

    def __init__(self, browser: Browser, base: str, lang: str, width: int,
                 artifacts: Path, job: str) -> None:
        context = browser.new_context(base_url=base, locale=LOCALES[lang], accept_downloads=True,
                                      viewport={"width": width, "height": HEIGHTS[width]})
        context.set_default_timeout(TIMEOUT_MS)
        self.page, self.lang, self.width = context.new_page(), lang, width
        self.shots = Shots(self.page, artifacts, f"grid-{job}-{lang}-{width}")
        self.allowed = set(CONTENT)

    def _(self, english: str) -> str:
        return translate(self.lang, english)

    def check(self, step: str) -> None:
        """The page speaks the case's language and fits the width."""
        page = self.page
        page.wait_for_load_state()
        html = page.content()
        assert f'<html lang="{"zh-CN" if self.lang == "zh" else "en"}">' in html, step
        for content in sorted(DATA, key=len, reverse=True):
            html = html.replace(content, " ")
        if self.lang == "zh":
            left = english_words(html, self.allowed)
            assert not left, f"{step}: English on a Chinese page: {sorted(left)}"
        else:
            left = chinese_interface(html)
            assert not left, f"{step}: Chinese on an English page: {sorted(left)}"
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > self.width:
            wide = page.evaluate(f"""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > {self.width + 1}
                        && !e.closest('.table-scroll'))
                .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' '
                                 + Math.round(e.getBoundingClientRect().right))""")
            raise AssertionError(f"{step}: {width} px wide at {self.width} px: {wide}")
        self.shots(step)

    def log_in(self, name: str) -> None:
        page = self.page
        page.goto("/")
        page.get_by_label(self._("Name"), exact=True).fill(name)
        page.get_by_label(self._("Password"), exact=True).fill(PASSWORD)
        page.get_by_role("button", name=self._("Log in")).click()
        page.wait_for_url(re.compile(r"/(board)?$"))

    def close(self) -> None:
        self.page.context.close()


@pytest.mark.parametrize(("lang", "width"), GRID, ids=IDS)
def test_pr_acknowledges_and_checks_a_reply(browser: Browser, live: tuple[str, Console],
                                           artifacts: Path, lang: str, width: int) -> None:
    from playwright.sync_api import expect

    base, console = live
    title = f"{PR_TITLE[lang]} {width}"
    incident = add_incident(console.engine, title=title, severity="crisis")
    add_post(console.engine, title=title, language=lang, incident_id=incident)
    alert = add_alert(console.engine, incident, severity="crisis", title=title)
    walk = Walk(browser, base, lang, width, artifacts, "pr")
    try:
        walk.log_in("pat")
        expect(walk.page.get_by_role("heading", level=1)).to_have_text(walk._("Triage board"))
        walk.check("board")
        walk.page.locator("#board").get_by_role("link", name=title).click()
        expect(walk.page).to_have_url(re.compile(f"/incidents/{incident}$"))
        walk.check("incident")
        walk.page.locator("#incident-alerts").get_by_role("link", name=f"#{alert}").click()
        walk.check("alert")
        walk.page.get_by_role("button", name=walk._("Acknowledge (I own this)")).click()
        expect(walk.page.locator(".flash")).to_contain_text(
            walk._("Acknowledged: escalation and reminders for this incident have stopped."))
        expect(walk.page.locator("#status")).to_have_text(walk._("acknowledged"))
        walk.check("acknowledged")
        draft = {"zh": "我们很抱歉，今天会联系您",
                 "en": "We are sorry; we will call you today."}[lang]
        walk.page.locator("textarea[name=text]").fill(draft)
        walk.page.get_by_role("button", name=walk._("Check reply")).click()
        expect(walk.page.locator("#reply-check")).to_be_visible()
        walk.check("reply-checked")
    finally:
        walk.close()
    with session(console.engine) as s:
        assert s.get(Alert, alert).acknowledged_by == "pat"


@pytest.mark.parametrize(("lang", "width"), GRID, ids=IDS)
def test_admin_adds_a_source_a_brand_and_a_user(browser: Browser, live: tuple[str, Console],
                                                artifacts: Path, lang: str, width: int) -> None:
    from playwright.sync_api import expect

    base, console = live
    tag = f"{lang}{width}"
    brand = f"{'伽马' if lang == 'zh' else 'Gamma'}{tag}"  # in DATA, as the others
    source, user = f"rss{tag}", f"kim{tag}"
    walk = Walk(browser, base, lang, width, artifacts, "admin")
    page, _ = walk.page, walk._
    try:
        walk.log_in("ada")
        page.goto("/admin/sources")
        walk.check("sources")
        page.get_by_role("link", name=_("Add a source")).click()
        page.get_by_label(_("Name"), exact=True).fill(source)
        page.get_by_label("URL", exact=True).fill(f"http://127.0.0.1:9/{tag}.xml")
        page.get_by_role("button", name=_("Save")).click()
        expect(page.locator(".flash")).to_have_text(translate(lang, "saved source %(name)s")
                                                    % {"name": source})
        walk.check("source-saved")
        page.goto("/admin/brands/new")
        page.get_by_label(_("Name"), exact=True).fill(brand)
        page.get_by_label(_("Keywords")).fill("伽马" if lang == "zh" else "Gamma")
        page.get_by_role("button", name=_("Save")).click()
        expect(page.locator(".flash")).to_have_text(translate(lang, "saved brand %(name)s")
                                                    % {"name": brand})
        walk.check("brand-saved")
        page.goto("/admin/users")
        page.get_by_label(_("Name"), exact=True).fill(user)
        page.get_by_label(_("Role"), exact=True).select_option("analyst")
        page.get_by_label(_("Password"), exact=True).fill("short")  # refused, in the language
        page.get_by_label(_("Password again"), exact=True).fill("short")
        page.get_by_role("button", name=_("Add user")).click()
        expect(page.locator("#error-password")).to_contain_text(
            translate(lang, "the password must have at least %(n)s characters") % {"n": 10})
        walk.check("user-refused")
        page.get_by_label(_("Password"), exact=True).fill(PASSWORD)
        page.get_by_label(_("Password again"), exact=True).fill(PASSWORD)
        page.get_by_role("button", name=_("Add user")).click()
        expect(page.locator(".flash")).to_have_text(translate(lang, "added user %(name)s")
                                                    % {"name": user})
        walk.check("user-added")
    finally:
        walk.close()
    with session(console.engine) as s:
        assert s.exec(select(Source.url).where(Source.name == source)).one().endswith(".xml")
        assert s.exec(select(Brand.name).where(Brand.name == brand)).one() == brand
        assert s.exec(select(User.role).where(User.name == user)).one() == "analyst"


@pytest.mark.parametrize(("lang", "width"), GRID, ids=IDS)
def test_analyst_searches_filters_and_exports(browser: Browser, live: tuple[str, Console],
                                              artifacts: Path, lang: str, width: int) -> None:
    from playwright.sync_api import expect

    base, _console = live
    query, wanted = ("退款", "艾克美退款三周未到账") if lang == "zh" else (
        "refund", "Acme refund missing for three weeks")
    walk = Walk(browser, base, lang, width, artifacts, "analyst")
    page, _ = walk.page, walk._
    try:
        walk.log_in("ana")
        page.get_by_role("link", name=_("History"), exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(_("Flagged posts"))
        walk.check("history")
        page.get_by_label(_("Search")).fill(query)
        page.get_by_label(_("Severity ≥")).select_option("warning")
        page.get_by_role("button", name=_("Filter")).click()
        rows = page.locator("#history tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(wanted)
        walk.check("filtered")
        with page.expect_download() as found:
            page.locator("#export-csv").click()
        body = Path(found.value.path()).read_bytes()
    finally:
        walk.close()
    assert body.startswith(codecs.BOM_UTF8)
    text = body.decode("utf-8-sig")
    assert wanted in text and POSTS[2] not in text  # the export is the filtered view


def test_the_english_page_check_sees_chinese_interface_words() -> None:
    """The English check above could pass by seeing nothing: it must see 保存 here,
    but not content marked Chinese nor the language switch."""
    html = ('<html lang="en"><button id="lang-zh">中文</button><p lang="zh">艾克美</p>'
            '<button title="保存">Save</button><p>已保存</p></html>')
    assert chinese_interface(html) == {"保", "存", "已"}
