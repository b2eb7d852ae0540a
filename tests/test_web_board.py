"""The PR team's triage board and the incident's posts (issue 18): the board's pure
ordering, titles and countdown words; what the board lists; where PR lands after
login; every post's own words on the incident and alert pages; and the endpoints
the pages poll. The browser walk is in test_browser_board.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from db.engine import session
from db.models import Alert, Brand, Incident, Mention, Post, Source, Thread, utcnow
from monitor.history.board import (
    BoardRow,
    board_order,
    countdown_text,
    matter_title,
    newest_post_time,
)
from monitor.history.incident_posts import split_text
from tests.web_support import (
    add_alert,
    add_incident,
    add_post,
    console_fixture,  # noqa: F401 - the console fixture
    logged_in,
    login,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = "Acme <script>window.__x=1</script> burned my flat"


def _row(id: int, severity: str, due_min: float | None, newest_min: float = 0) -> BoardRow:  # noqa: A002
    due = NOW + timedelta(minutes=due_min) if due_min is not None else None
    return BoardRow(id=id, brand="Acme", severity=severity, title=f"#{id}", sources=(),
                    mentions=1, newest_post=NOW - timedelta(minutes=newest_min),
                    respond_by=due, acknowledged_by=None, acknowledged_at=None)


# ---------------------------------------------------------------- pure parts


def test_board_order_is_severity_then_deadline_overdue_first_then_freshness():
    rows = [_row(1, "notice", -300), _row(2, "warning", 90), _row(3, "crisis", 120),
            _row(4, "crisis", -5), _row(5, "warning", None), _row(6, "warning", 30),
            _row(7, "warning", None, newest_min=60), _row(8, "warning", None, newest_min=1)]
    assert [r.id for r in board_order(rows)] == [4, 3, 6, 2, 5, 8, 7, 1]


def test_matter_title_is_the_matter_not_a_reply_prefix_and_falls_back_to_posts():
    assert matter_title("Re: 回复：Acme  charger\nmelted") == "Acme charger melted"
    assert matter_title("", [("", "calm words", 0.1),
                             ("", "\n\nAcme lied to me\nmore lines", 0.9)]) == "Acme lied to me"
    assert matter_title("", [("Thread: Acme fire", "reply", 0.5)]) == "Thread: Acme fire"
    long = matter_title("word " * 60)
    assert len(long) <= 120 and long.endswith("…") and "  " not in long
    assert matter_title("", []) == "" and matter_title("  ", [("", " ", 1.0)]) == ""


@pytest.mark.parametrize(("seconds", "words"), [
    (3 * 3600 + 5 * 60 + 9, "3 h 05 min"), (12 * 60 + 30, "12 min 30 s"), (9, "0 min 09 s"),
    (-190, "overdue by 3 min 10 s"), (-26 * 3600, "overdue by 1 d 2 h")])
def test_countdown_words(seconds, words):
    assert countdown_text(seconds) == words


def test_newest_post_time_never_runs_ahead_of_when_posts_were_seen():
    seen = NOW
    assert newest_post_time(NOW - timedelta(hours=1), seen) == NOW - timedelta(hours=1)
    assert newest_post_time(NOW + timedelta(days=9), seen) == seen  # future-dated entry
    assert newest_post_time(None, seen) == seen


def test_long_texts_are_clipped_with_the_whole_kept_for_show_all():
    assert split_text("short") == ("short", "")
    shown, whole = split_text("x" * 700)
    assert len(shown) == 601 and shown.endswith("…") and whole == "x" * 700


# ------------------------------------------------------------------ the board


def _ack(console, alert_id: int, by: str) -> None:
    with session(console.engine) as s, s.begin():
        a = s.get(Alert, alert_id)
        a.status, a.acknowledged_by, a.acknowledged_at = "acknowledged", by, utcnow()
        s.get(Incident, a.incident_id).acknowledged_at = utcnow()


def _set(console, model, row_id: int, **values) -> None:
    with session(console.engine) as s, s.begin():
        row = s.get(model, row_id)
        for key, value in values.items():
            setattr(row, key, value)


def test_the_board_lists_open_incidents_by_severity_and_deadline(console):
    now = utcnow()
    warning = add_incident(console.engine, title="Acme refund row", severity="warning")
    add_post(console.engine, title="Acme refund row", incident_id=warning)
    late = add_alert(console.engine, warning, at=now - timedelta(hours=3))  # due 1 h ago
    crisis = add_incident(console.engine, title="Re: Acme charger fire", severity="crisis")
    add_post(console.engine, title="Acme charger fire", incident_id=crisis)
    first = add_alert(console.engine, crisis, severity="warning", title="[WARNING] rule text",
                      at=now - timedelta(minutes=30))
    add_alert(console.engine, crisis, severity="crisis", title="[CRISIS] rule text", at=now)
    _ack(console, first, "pat")
    for gone in ("resolved", "merged", "quiet"):
        other = add_incident(console.engine, title=f"Acme {gone} matter", severity="notice")
        _set(console, Incident, other, **{"resolved": {"resolved_at": now},
                                          "merged": {"merged_into": crisis},
                                          "quiet": {"severity": None}}[gone])
    page = logged_in(console, "pat").get("/board").text
    body = page.split('<tbody>', 1)[1].split("</tbody>", 1)[0]
    rows = body.split("<tr ")[1:]
    assert [r.split('data-incident="', 1)[1].split('"', 1)[0] for r in rows] == \
        [str(crisis), str(warning)]
    crisis_row, warning_row = rows
    assert 'class="row-crisis"' in crisis_row and ">CRISIS</span>" in crisis_row
    assert "Acme charger fire" in crisis_row and "rule text" not in crisis_row
    assert "Re:" not in crisis_row and "pat" in crisis_row
    # the deadline is the earliest unresolved alert's: the first one, 90 min from now
    assert f'datetime="{(now - timedelta(minutes=30) + timedelta(hours=2)).isoformat()}"' \
        in crisis_row
    assert f'href="/alerts/{first}"' in crisis_row and 'href="/incidents/' in crisis_row
    assert "row-overdue" in warning_row and "overdue by 1 h" in warning_row
    assert "nobody yet" in warning_row and f'href="/alerts/{late}"' in warning_row
    assert "matter" in page and "Acme resolved matter" not in page
    assert "Acme merged matter" not in page and "Acme quiet matter" not in page


def test_pr_lands_on_the_board_others_on_the_dashboard_and_next_wins(console):
    for name, home in (("pat", "/board"), ("ana", "/"), ("ada", "/")):
        assert login(console.client(), name).headers["location"] == home, name
    client = console.client()
    assert login(client, "pat", next_url="/alerts/7").headers["location"] == "/alerts/7"
    assert 'href="/alerts"' in logged_in(console, "pat").get("/board").text  # inbox kept


def test_the_board_escapes_hostile_titles(console):
    incident = add_incident(console.engine, title=HOSTILE, severity="crisis")
    add_post(console.engine, title=HOSTILE, incident_id=incident)
    page = logged_in(console, "pat").get("/board").text
    assert "<script>window.__x" not in page and "&lt;script&gt;window.__x=1" in page


# ---------------------------------------------------------- every post's words


def _forum_reply(console, incident: int, *, text: str, at: datetime,
                 author: str = "lawyer_li") -> int:
    """A reply in a forum thread: its title is the thread's, its text its own."""
    with session(console.engine) as s, s.begin():
        src = Source(name="bbs", url="https://bbs.example/", kind="forum")
        s.add(src)
        s.flush()
        thread = Thread(source_id=src.id, key="t9", url="https://bbs.example/t/9",
                        title="Acme heater thread")
        s.add(thread)
        s.flush()
        post = Post(source_id=src.id, entry_key="r1", fingerprint="r1", title=thread.title,
                    text=text, author=author, published_at=at - timedelta(minutes=20),
                    fetched_at=at, thread_id=thread.id, url="https://bbs.example/t/9#r1")
        s.add(post)
        s.flush()
        brand = s.exec(select(Brand.id).where(Brand.name == "Acme")).one()
        s.add(Mention(post_id=post.id, brand_id=brand, incident_id=incident, risk=0.9,
                      sentiment=0.05, grouped_by="thread bbs:t9"))
        return post.id


def test_incident_and_alert_pages_show_every_post_with_its_own_words(console):
    incident = add_incident(console.engine, title="Acme heater thread", severity="crisis")
    add_post(console.engine, title="Acme heater smoked", incident_id=incident,
             at=utcnow() - timedelta(hours=2))
    alert = add_alert(console.engine, incident, at=utcnow() - timedelta(hours=1))
    words = "I am a lawyer; we will file against Acme on Monday. " + "Details. " * 80
    seen = utcnow() - timedelta(minutes=5)
    reply = _forum_reply(console, incident, text=words, at=seen)
    with session(console.engine) as s:
        assert reply not in s.get(Alert, alert).post_ids  # not captured when it fired
    client = logged_in(console, "pat")
    for path in (f"/incidents/{incident}", f"/alerts/{alert}"):
        page = client.get(path).text
        section = page.split('<section id="posts"', 1)[1].split("</section>", 1)[0]
        item = section.split(f'data-post-id="{reply}"', 1)[1].split("</li>", 1)[0]
        assert "I am a lawyer; we will file against Acme on Monday." in item, path
        assert "Acme heater thread" in item and "lawyer_li" in item and "bbs" in item
        posted = (seen - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%S")
        assert f'posted <time datetime="{posted}' in item and "seen <time" in item
        assert "new since the alert" in item and "<details>" in item, path
        assert "risk 0.90 · sentiment 0.05" in item and "grouped: thread bbs:t9" in item
        [older] = [i for i in section.split("</li>") if "Acme heater smoked" in i]
        assert "new since the alert" not in older, path  # seen before the alert fired
        assert f'data-alert="{alert}"' in section and 'data-poll-seconds="15' in section


def test_the_poll_endpoints_are_role_checked_scoped_and_escaping(console):
    incident = add_incident(console.engine, severity="crisis")
    mine = add_post(console.engine, title="Acme", text=HOSTILE, incident_id=incident)
    other = add_incident(console.engine, title="Beta matter", brand="Beta")
    add_post(console.engine, title="Beta secret", brand="Beta", incident_id=other)
    with session(console.engine) as s:
        ids = {m.incident_id: m.post_id for m in s.exec(select(Mention)).all()}
    anonymous = console.client().get(f"/incidents/{incident}/posts.json",
                                      follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    client = logged_in(console, "pat")
    listed = client.get(f"/incidents/{incident}/posts.json").json()
    assert listed == {"ids": [ids[incident]], "count": 1} and mine
    both = f"{ids[incident]},{ids[other]}"
    fragment = client.get(f"/incidents/{incident}/posts.html?ids={both}").text
    assert fragment.count("<li") == 1 and "Beta secret" not in fragment
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment
    assert client.get(f"/incidents/{incident}/posts.html?ids=a,b").status_code == 400
    assert client.get("/incidents/999/posts.json").status_code == 404


def test_the_board_fragment_is_the_board_as_it_is_now(console):
    """What app.js swaps in every few seconds: the board's table alone, with an
    incident opened after the page loaded, without a resolved one, at its new level."""
    stays = add_incident(console.engine, title="Acme refund row", severity="notice")
    add_post(console.engine, title="Acme refund row", incident_id=stays)
    goes = add_incident(console.engine, title="Acme parcel late", severity="warning")
    add_post(console.engine, title="Acme parcel late", incident_id=goes)
    client = logged_in(console, "pat")
    page = client.get("/board").text
    assert 'data-board-poll="/board/rows.html"' in page and 'data-countdown-overdue="' in page
    fresh = add_incident(console.engine, title=HOSTILE, severity="crisis")
    add_post(console.engine, title=HOSTILE, incident_id=fresh)
    _set(console, Incident, goes, resolved_at=utcnow())
    _set(console, Incident, stays, severity="warning")
    fragment = client.get("/board/rows.html")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    rows = fragment.text.split("<tbody>", 1)[1].split("<tr ")[1:]
    assert [r.split('data-incident="', 1)[1].split('"', 1)[0] for r in rows] == \
        [str(fresh), str(stays)]
    assert 'class="row-warning"' in rows[1] and "&lt;script&gt;window.__x" in rows[0]
    assert "<script>" not in fragment.text
    _set(console, Incident, fresh, resolved_at=utcnow())
    _set(console, Incident, stays, resolved_at=utcnow())
    assert 'id="board-empty"' in client.get("/board/rows.html").text
    anonymous = console.client().get("/board/rows.html", follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
