"""The PR team's war room in a real browser (issue 18): Playwright driving Debian's
headless Chromium against the console served by uvicorn on a loopback port.

A PR user logs in and lands on the triage board; the crisis stands out (a label,
not only a colour) with a countdown that ticks; the incident page shows every
post in its own words, a forum reply's too, with when it was posted and seen; a
post stored after the page loaded appears without a reload; hostile post text
shows as text. At phone width (390 px) the board is a list of cards with no
sideways scrolling. Screenshots go to $CRISISWATCH_ARTIFACTS or a temp folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import select

from db.engine import session
from db.models import Brand, Incident, Mention, Post, Source, Thread, utcnow
from tests.browser_support import Shots, artifacts_dir, chromium, loopback_socket, serve
from tests.web_support import PASSWORD, Console, add_alert, add_incident, add_post, make_console

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TIMEOUT_MS = 15_000
REPLY = "我是律师, I will file suit against Acme on Monday unless they call me back."
HOSTILE = "Acme <script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\"> fire"
LATE_POST = "Reporter here: is Acme recalling the chargers? Deadline 5 pm."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Console]]:
    """The console over a fresh SQLite database, polling posts every second."""
    console = make_console(f"sqlite:///{tmp_path / 'cw.db'}", tmp_path)
    console.app.state.post_poll_seconds = 1
    with serve(console.app, loopback_socket()) as base:
        yield base, console
    console.engine.dispose()


@pytest.fixture
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return artifacts_dir(tmp_path_factory)


def _forum_reply(console: Console, incident: int, text: str) -> int:
    """A reply in a forum thread: its title is the thread's, its words its own."""
    now = utcnow()
    with session(console.engine) as s, s.begin():
        src = Source(name="bbs", url="https://bbs.example/", kind="forum")
        s.add(src)
        s.flush()
        thread = Thread(source_id=src.id, key="t9", url="https://bbs.example/t/9",
                        title="Acme charger thread")
        s.add(thread)
        s.flush()
        post = Post(source_id=src.id, entry_key="r1", fingerprint="r1", title=thread.title,
                    text=text, author="lawyer_li", published_at=now - timedelta(minutes=12),
                    fetched_at=now - timedelta(minutes=10), thread_id=thread.id)
        s.add(post)
        s.flush()
        brand = s.exec(select(Brand.id).where(Brand.name == "Acme")).one()
        s.add(Mention(post_id=post.id, brand_id=brand, incident_id=incident, risk=0.9))
        return post.id


def _war(console: Console) -> tuple[int, int]:
    """A crisis due in 40 minutes, an overdue warning, a notice; (crisis, its alert)."""
    now = utcnow()
    crisis = add_incident(console.engine, title="Acme charger fire", severity="crisis",
                          at=now - timedelta(hours=2))
    add_post(console.engine, title="Acme charger caught fire", text=HOSTILE,
             incident_id=crisis, at=now - timedelta(hours=2))
    alert = add_alert(console.engine, crisis, severity="crisis", title="[CRISIS] Acme: rule",
                      at=now - timedelta(minutes=80))
    _forum_reply(console, crisis, REPLY)
    warning = add_incident(console.engine, title="Acme refund row", severity="warning")
    add_post(console.engine, title="Acme refund refused", incident_id=warning)
    add_alert(console.engine, warning, at=now - timedelta(hours=3))
    notice = add_incident(console.engine, title="Acme slow delivery", severity="notice")
    add_post(console.engine, title="Acme parcel late", incident_id=notice)
    return crisis, alert


def _log_in(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Name").fill("pat")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _context_page(browser: Browser, base: str, width: int, height: int) -> Page:
    context = browser.new_context(base_url=base, viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def test_pr_walks_the_war_room(browser: Browser, live: tuple[str, Console],
                               artifacts: Path) -> None:
    from playwright.sync_api import expect

    base, console = live
    crisis, alert = _war(console)
    page = _context_page(browser, base, 1280, 900)
    shots = Shots(page, artifacts, "war-room")
    try:
        _log_in(page)
        expect(page).to_have_url(f"{base}/board")
        rows = page.locator("#board tbody tr")
        expect(rows).to_have_count(3)
        first = rows.first
        expect(first).to_have_class(re.compile(r"\brow-crisis\b"))
        expect(first.locator(".sev-badge")).to_have_text(re.compile(r"CRISIS"))
        expect(first).to_contain_text("Acme charger fire")
        expect(first).not_to_contain_text("rule")  # the matter, not the rule's text
        countdown = first.locator("time.countdown")
        expect(countdown).to_have_text(re.compile(r"^(39|40) min \d\d s$"))
        before = countdown.text_content()
        page.wait_for_timeout(1500)
        assert countdown.text_content() != before, "the countdown does not tick"
        expect(rows.nth(1).locator(".deadline")).to_contain_text("overdue by")
        expect(rows.nth(1).locator(".deadline")).to_have_class(re.compile(r"\boverdue\b"))
        expect(rows.nth(1)).to_contain_text("nobody yet")
        expect(first.locator(f'a[href="/alerts/{alert}"]')).to_be_visible()
        shots("board")

        first.locator(f'a[href="/incidents/{crisis}"]').click()
        expect(page).to_have_url(f"{base}/incidents/{crisis}")
        posts = page.locator("#posts .post")
        expect(posts).to_have_count(2)
        reply = posts.filter(has_text="lawyer_li")
        expect(reply.locator(".post-text")).to_have_text(REPLY)  # its words, not the title
        expect(reply.locator(".post-heading")).to_have_text("Acme charger thread")
        expect(reply.locator(".post-meta")).to_contain_text(re.compile(r"posted \d+ min ago"))
        expect(reply.locator(".post-meta")).to_contain_text(re.compile(r"seen \d+ min ago"))
        expect(reply.locator(".badge-new")).to_have_text("new since the alert")
        hostile = posts.filter(has_text="window.__xss=1")
        expect(hostile.locator(".post-text")).to_have_text(HOSTILE)  # shown as text
        assert page.evaluate("window.__xss") is None
        shots("incident")

        page.evaluate("window.__same_page = true")
        add_post(console.engine, title="Acme press question", text=LATE_POST,
                 incident_id=crisis, at=utcnow())
        arrived = page.locator("#posts .post").first
        expect(arrived.locator(".post-text")).to_have_text(LATE_POST, timeout=10_000)
        expect(arrived.locator(".badge-new")).to_be_visible()
        expect(page.locator("#posts .post-count")).to_have_text("3")
        assert page.evaluate("window.__same_page") is True, "the page was reloaded"
        shots("incident-new-post")

        page.goto(f"/alerts/{alert}")
        expect(page.locator("#posts .post")).to_have_count(3)
        expect(page.locator("#posts")).to_contain_text(REPLY)
        expect(page.locator("#posts")).to_contain_text(LATE_POST)
        assert page.evaluate("window.__xss") is None
        shots("alert")
    finally:
        page.context.close()


def test_the_board_fits_a_phone(browser: Browser, live: tuple[str, Console],
                                artifacts: Path) -> None:
    from playwright.sync_api import expect

    base, console = live
    crisis, alert = _war(console)
    page = _context_page(browser, base, 390, 844)
    try:
        _log_in(page)
        expect(page).to_have_url(f"{base}/board")
        expect(page.locator("#board thead")).to_be_hidden()  # cards, not a table
        card = page.locator("#board tbody tr").first
        expect(card).to_contain_text("CRISIS")
        countdown = card.locator("time.countdown")
        expect(countdown).to_be_visible()
        box = countdown.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the board is {width} px wide at 390 px"
        Shots(page, artifacts, "war-room-phone")("board")
        # the PR team's other pages fit too
        for path in ("/alerts", "/incidents", "/", f"/incidents/{crisis}", f"/alerts/{alert}"):
            page.goto(f"{base}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > 391)
                .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' '
                                 + Math.round(e.getBoundingClientRect().right))""")
            assert width <= 390, f"{path} is {width} px wide at 390 px: {wide}"
        page.goto(f"{base}/alerts")
        expect(page.locator("#alerts thead")).to_be_hidden()  # cards, not a table
    finally:
        page.context.close()


def test_the_board_follows_the_incidents_without_a_reload(browser: Browser,
                                                         live: tuple[str, Console]) -> None:
    """The board polls its rows (every second here): an incident opened after the page
    loaded appears, a resolved one goes, a raised one changes its badge; the page is
    not reloaded and the countdowns keep ticking."""
    from playwright.sync_api import expect

    base, console = live
    crisis, _alert = _war(console)
    page = _context_page(browser, base, 1280, 900)
    try:
        _log_in(page)
        expect(page).to_have_url(f"{base}/board")
        rows = page.locator("#board tbody tr")
        expect(rows).to_have_count(3)
        page.evaluate("window.__same_page = true")
        fresh = add_incident(console.engine, title="Acme battery swelling", severity="warning")
        add_post(console.engine, title="Acme battery swelling", incident_id=fresh)
        add_alert(console.engine, fresh, severity="warning", at=utcnow())
        arrived = page.locator(f'#board tbody tr[data-incident="{fresh}"]')
        expect(arrived).to_contain_text("Acme battery swelling", timeout=10_000)
        expect(rows).to_have_count(4)
        # the crisis's countdown (minutes and seconds) still ticks in the swapped rows
        countdown = page.locator(f'#board tbody tr[data-incident="{crisis}"] time.countdown')
        before = countdown.text_content()
        page.wait_for_timeout(1500)
        assert countdown.text_content() != before, "the countdown stopped after the swap"
        expect(countdown).to_have_text(re.compile(r"^(38|39|40) min \d\d s$"))
        with session(console.engine) as s, s.begin():
            notice = s.exec(select(Incident).where(Incident.title == "Acme slow delivery")).one()
            notice.resolved_at = utcnow()
            s.get(Incident, fresh).severity = "crisis"
        expect(rows).to_have_count(3, timeout=10_000)
        expect(page.locator("#board")).not_to_contain_text("Acme slow delivery")
        expect(arrived.locator(".sev-badge")).to_have_text(re.compile("CRISIS"))
        expect(page.locator("#board tbody tr").first).to_have_attribute(
            "data-incident", re.compile(f"^({crisis}|{fresh})$"))
        assert page.evaluate("window.__same_page") is True, "the page was reloaded"
    finally:
        page.context.close()
