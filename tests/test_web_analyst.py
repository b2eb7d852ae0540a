"""Analyst pages: history filters, sort, keyset pages, search, exports; incidents with
their SVG timeline; the dashboard; and hostile post content shown escaped."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from alerts.workflow import acknowledge
from db.engine import session
from db.models import Source, utcnow
from monitor.history.search import HistoryFilter, history_query, parse_filter, search
from tests.web_support import (
    T0,
    XSS_LINK,
    XSS_TEXT,
    XSS_TITLE,
    add_alert,
    add_incident,
    add_post,
    console_fixture,  # noqa: F401 - the console fixture
    logged_in,
)
from web.clock import local_day_bound


def _titles(html: str) -> list[str]:
    """Post titles in the history table, in order."""
    body = html.split('<table id="history">', 1)[-1].split("</table>", 1)[0]
    return re.findall(r'target="_blank">([^<]+)</a>', body)


@pytest.fixture
def posts(console):
    e = console.engine
    add_post(e, title="Acme refund refused", at=T0, risk=0.9, sentiment=0.1, severity="crisis")
    add_post(e, title="Acme support rude", at=T0 + timedelta(minutes=1), risk=0.6,
             sentiment=0.3, severity="warning", source="news")
    add_post(e, title="艾克美 退款", at=T0 + timedelta(minutes=2), risk=0.7, sentiment=0.2,
             language="zh", severity="notice")
    add_post(e, title="Beta battery 50%_off", brand="Beta", at=T0 + timedelta(minutes=3),
             risk=0.55, sentiment=0.45, severity=None)
    add_post(e, title="Acme not flagged", at=T0 + timedelta(minutes=4), flagged=False)
    add_post(e, title="Acme last week", at=T0 - timedelta(days=8), risk=0.8)
    return console


def test_history_lists_flagged_posts_newest_first(posts):
    client = logged_in(posts, "ana")
    titles = _titles(client.get("/history").text)
    assert titles == ["Beta battery 50%_off", "艾克美 退款", "Acme support rude",
                      "Acme refund refused", "Acme last week"]


@pytest.mark.parametrize(("query", "expected"), [
    ("brand=Beta", ["Beta battery 50%_off"]),
    ("source=news", ["Acme support rude"]),
    ("severity=warning", ["Acme support rude", "Acme refund refused"]),
    ("sentiment_min=0.25&sentiment_max=0.5", ["Beta battery 50%_off", "Acme support rude"]),
    ("language=zh", ["艾克美 退款"]),
    ("q=REFUND", ["Acme refund refused"]),
    ("q=50%25_", ["Beta battery 50%_off"]),  # % and _ are literal, not wildcards
    ("q=Acme%25rude", []),  # a wildcard would match "Acme support rude"
])
def test_history_filters(posts, query, expected):
    client = logged_in(posts, "ana")
    assert _titles(client.get(f"/history?{query}").text) == expected


def test_history_date_range_includes_the_whole_end_day(posts):
    client = logged_in(posts, "ana")
    day = (T0 - timedelta(days=8)).date().isoformat()
    assert _titles(client.get(f"/history?since={day}&until={day}").text) == ["Acme last week"]
    since = (T0 - timedelta(days=1)).date().isoformat()
    assert "Acme last week" not in _titles(client.get(f"/history?since={since}").text)


def test_history_sorts_by_risk_and_sentiment(posts):
    client = logged_in(posts, "ana")
    by_risk = _titles(client.get("/history?sort=risk&order=desc").text)
    assert by_risk[:2] == ["Acme refund refused", "Acme last week"]
    by_sentiment = _titles(client.get("/history?sort=sentiment&order=asc").text)
    assert by_sentiment[0] == "Acme refund refused" and by_sentiment[-1] == "Beta battery 50%_off"
    page = client.get("/history?sort=risk&order=desc").text
    assert "sort=risk&amp;order=asc" in page  # the header link flips the order


def test_history_pages_with_a_cursor_and_keeps_the_filter(posts):
    client = logged_in(posts, "ana")
    seen, url = [], "/history?brand=Acme&limit=2"
    while url:
        html = client.get(url).text
        seen += _titles(html)
        found = re.search(r'id="next-page" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url:
            assert "brand=Acme" in url and "after=" in url
    assert seen == ["艾克美 退款", "Acme support rude", "Acme refund refused", "Acme last week"]


def test_bad_filter_values_are_explained(posts):
    client = logged_in(posts, "ana")
    for query, words in (("sentiment_min=abc", "sentiment_min"), ("since=yesterday", "since"),
                         ("sort=title", "sort"), ("after=garbage", "cursor")):
        response = client.get(f"/history?{query}")
        assert response.status_code == 400 and words in response.text, query


def test_csv_export_follows_the_filter_and_defuses_formulas(posts):
    add_post(posts.engine, title="=HYPERLINK(\"http://evil\")", at=T0 + timedelta(minutes=9))
    client = logged_in(posts, "ana")
    response = client.get("/history.csv?brand=Acme&sort=risk")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["brand"] for r in rows} == {"Acme"} and len(rows) == 5
    assert [float(r["risk"]) for r in rows] == sorted((float(r["risk"]) for r in rows),
                                                      reverse=True)
    assert any(r["title"] == "'=HYPERLINK(\"http://evil\")" for r in rows)


def test_json_export_streams_every_matching_row(posts, monkeypatch):
    import monitor.history.search as search_module

    client = logged_in(posts, "ana")
    monkeypatch.setattr(search_module, "EXPORT_BATCH", 2)  # several keyset pages
    response = client.get("/history.json?q=acme")
    assert response.headers["content-type"] == "application/json"
    rows = json.loads(response.text)
    assert [r["title"] for r in rows] == ["Acme support rude", "Acme refund refused",
                                          "Acme last week"]
    assert {"time", "brand", "risk", "sentiment", "link", "reasons"} <= set(rows[0])


def test_search_layer_is_pure_and_pages_without_gaps(posts):
    query = history_query(parse_filter({"q": "acme", "brand": "Acme"}), sort="risk")
    sql = str(query.compile()).lower()
    assert "like" in sql and "order by mention.risk desc, mention.id desc" in sql
    first = search(posts.engine, HistoryFilter(), limit=3)
    second = search(posts.engine, HistoryFilter(), after=first.next_cursor, limit=3)
    ids = [r["id"] for r in first.rows + second.rows]
    assert len(ids) == len(set(ids)) == 5 and second.next_cursor is None


def _incident_with_mentions(console) -> int:
    incident = add_incident(console.engine, severity="warning")
    for i in range(6):
        add_post(console.engine, title=f"Acme refund {i}", at=T0 + timedelta(minutes=10 * i),
                 sentiment=0.1 if i % 2 else 0.8, incident_id=incident)
    return incident


def test_incident_page_has_an_svg_timeline_and_its_posts(console):
    incident = _incident_with_mentions(console)
    client = logged_in(console, "ana")
    listing = client.get("/incidents").text
    assert f'href="/incidents/{incident}"' in listing and "Acme refund row" in listing
    alert = add_alert(console.engine, incident, at=T0 + timedelta(minutes=25))
    acknowledge(console.engine, alert, by="pat", now=T0 + timedelta(minutes=35))
    page = client.get(f"/incidents/{incident}").text
    svg = page.split('<svg class="chart chart-wide" id="timeline"', 1)[1].split("</svg>", 1)[0]
    bars = re.findall(r'<rect class="bar"[^>]*height="([\d.]+)"', svg)
    assert len(bars) == 6 and all(float(h) > 0 for h in bars)
    # 5 min buckets over 50 min, a post every 10: the negative share is six dots,
    # never a line across the empty buckets between them
    assert svg.count('class="neg-dot"') == 6 and "<polyline" not in svg
    assert "mentions / 5 min" in svg
    # the alert (a link to it) and its acknowledgement are marked, with tooltips
    assert f'<a href="/alerts/{alert}">' in svg and 'class="mark mark-warning"' in svg
    assert 'class="mark mark-acknowledged"' in svg and "acknowledged (by pat)</title>" in svg
    narrow = page.split('id="timeline-narrow"', 1)[1].split("</svg>", 1)[0]
    assert 'viewBox="0 0 400 250"' in narrow
    legend = page.split('id="timeline-legend"', 1)[1].split("</ul>", 1)[0]
    assert "mentions per 5 min" in legend and "warning alert" in legend
    assert page.count("Acme refund ") >= 6 and "replies 0 -&gt; 6" in page


def test_a_merge_shows_on_both_incident_pages(console):
    from monitor.detection.grouping import Match
    from monitor.detection.merging import Merge
    from monitor.stages.merge import absorb

    survivor = _incident_with_mentions(console)
    fragment = add_incident(console.engine, severity="crisis", title="Acme refund fragment")
    add_post(console.engine, title="Acme refund fragment post", at=T0, incident_id=fragment)
    matches = (Match(survivor, "thread", "same thread"),
               Match(fragment, "terms", f"shares terms refund, row with incident #{fragment}"))
    with session(console.engine) as s, s.begin():
        kept = absorb(s, Merge(survivor, (fragment,), matches), T0 + timedelta(hours=1))
        # the level the fragment was alerted at is the matter's: no new alert for it
        assert kept.id == survivor and kept.severity == "crisis"
    client = logged_in(console, "ana")
    page = client.get(f"/incidents/{survivor}").text
    assert "merged" in page and f"absorbed #{fragment}: a new mention matches each" in page
    assert page.count("Acme refund ") >= 7  # the fragment's post is the survivor's now
    gone = client.get(f"/incidents/{fragment}").text
    assert f'Merged into <a href="/incidents/{survivor}">#{survivor}</a>' in gone
    assert "Acme refund fragment post" not in gone
    listing = client.get("/incidents").text
    assert f"merged into #{survivor}: Acme refund fragment" in listing
    dashboard = client.get("/").text
    assert f'href="/incidents/{fragment}"' not in dashboard  # resolved: not open any more


def test_dashboard_counts(console):
    incident = _incident_with_mentions(console)
    add_incident(console.engine, severity="crisis", title="Acme fire")
    add_post(console.engine, title="Beta old", brand="Beta", at=utcnow() - timedelta(days=3),
             sentiment=0.9)
    add_post(console.engine, title="Beta new", brand="Beta", at=utcnow() - timedelta(hours=1),
             sentiment=0.1)
    with session(console.engine) as s, s.begin():
        s.add(Source(name="broken-feed", url="https://b.example/", consecutive_errors=3,
                     last_error="HTTP 503"))
        s.add(Source(name="quiet-feed", url="https://q.example/", interval_s=60,
                     last_success_at=utcnow() - timedelta(minutes=10)))
        s.add(Source(name="fine-feed", url="https://f.example/", interval_s=60,
                     last_success_at=utcnow()))
    page = logged_in(console, "ana").get("/").text
    assert 'id="open-crisis">1<' in page and 'id="open-warning">1<' in page
    assert f'href="/incidents/{incident}"' in page
    volumes = page.split('id="volumes"', 1)[1].split("</table>", 1)[0]
    beta = volumes.split("<td>Beta</td>", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'class="num">([^<]*)<', beta) == ["1", "100%", "2", "50%"]
    troubled = page.split('id="troubled"', 1)[1].split("</table>", 1)[0]
    assert "broken-feed" in troubled and "3 failed fetches" in troubled
    assert "quiet-feed" in troubled and "fine-feed" not in troubled


def test_dashboard_lists_throttled_and_partial_sources_by_seriousness(console):
    """A throttled or half-working source shows on the dashboard too, with its state
    and its health note (escaped: a feed's bytes can end up in it), after the
    failing and the stale ones."""
    now = utcnow()
    with session(console.engine) as s, s.begin():
        s.add(Source(name="a-half-feed", url="https://h.example/", interval_s=60,
                     last_success_at=now, last_status=200,
                     health_note="GUID <b>shared</b> by 2 items; bytes replaced"))
        s.add(Source(name="b-slowed-feed", url="https://s.example/", interval_s=60,
                     last_success_at=now, last_status=429, last_error="HTTP 429",
                     consecutive_errors=1, health_note="Retry-After 999999999 s capped at 24 h"))
        s.add(Source(name="c-quiet-feed", url="https://q.example/", interval_s=60,
                     last_success_at=now - timedelta(minutes=10)))
        s.add(Source(name="d-broken-feed", url="https://b.example/", consecutive_errors=2,
                     last_error="HTTP 500", last_success_at=now))
        s.add(Source(name="e-fine-feed", url="https://f.example/", interval_s=60,
                     last_success_at=now))
        s.add(Source(name="f-paused-feed", url="https://p.example/", enabled=False,
                     health_note="bytes replaced"))
    page = logged_in(console, "ana").get("/").text
    troubled = page.split('id="troubled"', 1)[1].split("</table>", 1)[0]
    listed = re.findall(r'<tr class="(\w+)"><td[^>]*>([^<]+)</td>', troubled)
    assert listed == [("failing", "d-broken-feed"), ("stale", "c-quiet-feed"),
                      ("throttled", "b-slowed-feed"), ("partial", "a-half-feed")]
    assert "the server asked to wait (HTTP 429); 1 failed fetch in a row" in troubled
    assert "note: Retry-After 999999999 s capped at 24 h" in troubled
    assert "note: GUID &lt;b&gt;shared&lt;/b&gt; by 2 items; bytes replaced" in troubled
    assert "<b>shared</b>" not in page


def test_hostile_post_content_is_escaped_everywhere(console):
    incident = add_incident(console.engine, title=XSS_TITLE)
    add_post(console.engine, title=XSS_TITLE, text=XSS_TEXT, url=XSS_LINK,
             incident_id=incident)
    alert = add_alert(console.engine, incident, title=XSS_TITLE)
    with session(console.engine) as s, s.begin():
        src = s.exec(select(Source)).first()
        src.consecutive_errors, src.last_error = 1, "<script>alert(1)</script>"
        s.add(src)
    client = logged_in(console, "ada")
    for path in ("/", "/history", "/incidents", f"/incidents/{incident}", "/alerts",
                 f"/alerts/{alert}"):
        page = client.get(path).text
        assert "<script>alert(1)</script>" not in page, path
        assert "<img src=x" not in page, path
        assert "javascript:" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
    history = client.get("/history").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in history
    add_post(console.engine, title="Acme safe link", url="https://forum.example/ok")
    history = client.get("/history").text
    assert ('<a href="https://forum.example/ok" rel="noopener noreferrer" target="_blank">'
            in history)


def test_history_from_and_to_are_days_in_the_consoles_zone(console):
    """20:00 UTC on 1 March is 04:00 on 2 March in Shanghai: with the console in
    Asia/Shanghai the post belongs to the 2nd, in the page and in the export."""
    console.app.state.zone = ZoneInfo("Asia/Shanghai")
    add_post(console.engine, title="Acme afternoon", at=datetime(2025, 3, 1, 10, 0, tzinfo=UTC))
    add_post(console.engine, title="Acme late night", at=datetime(2025, 3, 1, 20, 0, tzinfo=UTC))
    add_post(console.engine, title="Acme dawn", at=datetime(2025, 2, 28, 17, 0, tzinfo=UTC))
    client = logged_in(console, "ana")
    page = client.get("/history?since=2025-03-01&until=2025-03-01").text
    assert _titles(page) == ["Acme afternoon", "Acme dawn"]  # 18:00 and 01:00 local
    assert "From (Asia/Shanghai)" in page and "(UTC)" not in page
    assert 'name="since" type="date" value="2025-03-01"' in page  # the form keeps the day
    assert _titles(client.get("/history?since=2025-03-02").text) == ["Acme late night"]
    exported = client.get("/history.csv?until=2025-02-28").text
    assert "Acme dawn" not in exported and "Acme late night" not in exported
    assert local_day_bound("2025-03-01", ZoneInfo("Asia/Shanghai"), end=True) == \
        "2025-03-01T16:00:00+00:00"
    assert local_day_bound("2025-03-01T08:00Z", UTC) == "2025-03-01T08:00Z"  # left as typed
