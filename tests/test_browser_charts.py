"""The incident timeline and the dashboard sparkline in a real browser (Debian's
Chromium through Playwright), on the screenshot database of bench/screens_data.py:
at desktop width and at 390 px the chart is drawn with its legend, no two of its
texts overlap (measured bounding boxes, real fonts), and it fits the viewport."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from bench.screens_data import Seeded, seed
from db.models import utcnow
from monitor.config import parse_config
from tests.browser_support import chromium, loopback_socket, serve
from web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

TIMEOUT_MS = 15_000
# every text of the visible chart: (left, top, right, bottom, text) as drawn
BOXES_JS = """svg => [...svg.querySelectorAll('text')].map(t => {
  const r = t.getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom, t.textContent];
})"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Seeded]]:
    folder = tmp_path_factory.mktemp("charts")
    url = f"sqlite:///{folder / 'screens.db'}"
    seeded = seed(url, utcnow())
    config = parse_config({"database": url}, base=folder, env={})
    with serve(create_app(config), loopback_socket()) as base:
        yield base, seeded


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


def _page(browser: Browser, base: str, seeded: Seeded, width: int, lang: str = "en-US"
          ) -> Page:
    context = browser.new_context(base_url=base, viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Name").fill(seeded.admin)
    page.get_by_label("Password").fill(seeded.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    context.set_extra_http_headers({"Accept-Language": lang})  # logged in: now the language
    return page


def _assert_legible(svg: Locator, width: int) -> list[str]:
    """No two texts of the drawn chart overlap and none leaves it: its texts."""
    boxes = svg.evaluate(BOXES_JS)
    for a, b in itertools.combinations(boxes, 2):
        overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
        assert not overlap, f"{a[4]!r} overlaps {b[4]!r} at {width} px"
    frame = svg.bounding_box()
    assert frame["x"] >= 0 and frame["x"] + frame["width"] <= width
    for left, _top, right, _bottom, text in boxes:  # no label clipped by the chart's edge
        assert frame["x"] <= left and right <= frame["x"] + frame["width"] + 0.5, text
    return [b[4] for b in boxes]


@pytest.mark.parametrize("width, chart", [(1280, "#timeline"), (390, "#timeline-narrow")])
def test_the_timeline_is_legible_at_desktop_and_phone_width(browser, site, width, chart):
    base, seeded = site
    page = _page(browser, base, seeded, width)
    page.goto(f"/incidents/{seeded.incident}")
    svg = page.locator(chart)
    assert svg.is_visible()
    other = "#timeline-narrow" if chart == "#timeline" else "#timeline"
    assert not page.locator(other).is_visible()  # one drawing per width
    legend = page.locator("#timeline-legend")
    assert legend.is_visible()
    for words in ("mentions per 15 min", "negative share", "notice alert", "warning alert",
                  "crisis alert", "acknowledged"):
        assert words in legend.inner_text()
    texts = _assert_legible(svg, width)
    assert "mentions / 15 min" in texts and "100%" in texts and "crisis" in texts
    assert page.locator(f"{chart} .mark-crisis title").first.text_content().endswith(
        f"crisis alert (alert #{seeded.alert})")
    page.context.close()


@pytest.mark.parametrize("width, chart", [(1280, "#timeline"), (390, "#timeline-narrow")])
def test_the_timeline_in_chinese_is_legible_too(browser, site, width, chart):
    """Chinese labels are measured with the real CJK font: still no overlap."""
    base, seeded = site
    page = _page(browser, base, seeded, width, "zh-CN,zh;q=0.9")
    page.goto(f"/incidents/{seeded.incident}")
    svg = page.locator(chart)
    assert svg.is_visible()
    assert "每 15 分钟 提及数" in page.locator("#timeline-legend").inner_text()
    texts = _assert_legible(svg, width)
    assert "提及 / 15 分钟" in texts and "负面 %" in texts and "危机" in texts
    assert svg.get_attribute("aria-label").startswith("时间线：")
    assert page.locator(f"{chart} .mark-crisis title").first.text_content().endswith(
        f"危机警报（警报 #{seeded.alert}）")
    page.context.close()


def test_the_dashboard_sparkline_reads_out_its_numbers(browser, site):
    base, seeded = site
    page = _page(browser, base, seeded, 1280)
    spark = page.get_by_role("img", name=re.compile(r"^Acme: \d+ flagged in the last 24 h"))
    assert spark.is_visible()
    assert spark.locator("rect.bar").count() >= 3
    page.context.close()

