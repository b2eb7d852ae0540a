"""The dashboard's per-brand sparkline: flagged mentions per hour over the last 24 h,
from one grouped query per dashboard, drawn as a tiny SVG with a text alternative,
on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from db.models import utcnow
from tests.web_support import add_post, console_fixture, logged_in, make_console  # noqa: F401
from web.dashboard import flagged_per_hour
from web.sparkline import HOURS, hour_start, per_hour, sparkline

NOW = datetime(2026, 5, 1, 6, 40, tzinfo=UTC)


def test_rows_become_24_hourly_counts_oldest_first():
    rows = [("Acme", datetime(2026, 5, 1, 6), 2),  # naive, as SQLite hands it back
            ("Acme", datetime(2026, 4, 30, 7, tzinfo=UTC), 1),
            ("Acme", datetime(2026, 4, 30, 6), 9),  # 24 h back: outside the window
            ("Beta", datetime(2026, 5, 1, 5, tzinfo=UTC), 4)]
    counts = per_hour(rows, NOW)
    assert counts["Acme"][-1] == 2 and counts["Acme"][0] == 1 and sum(counts["Acme"]) == 3
    assert counts["Beta"][-2] == 4 and len(counts["Beta"]) == HOURS


def test_the_sparkline_says_what_it_shows():
    spark = sparkline([0] * 20 + [1, 5, 0, 6])
    assert spark.label == "12 flagged in the last 24 h, peak 6/h"
    assert len(spark.bars) == 3  # the quiet hours draw nothing
    tallest = max(spark.bars, key=lambda b: b[3])
    assert tallest[1] == pytest.approx(1) and tallest[1] + tallest[3] <= spark.height
    assert sparkline([0] * HOURS).label == "none flagged in the last 24 h"
    assert sparkline([0] * HOURS).bars == ()


def _posts(engine) -> None:  # noqa: ANN001
    """Acme: 3 flagged this hour, 1 two hours ago, 2 five hours ago; Beta: 1."""
    now = utcnow()
    hour = hour_start(now)
    for hours_ago, n in ((0, 3), (2, 1), (5, 2)):
        for i in range(n):
            add_post(engine, title=f"Acme refund {hours_ago}-{i}",
                     at=hour - timedelta(hours=hours_ago) + timedelta(seconds=i))
    add_post(engine, title="Acme fine", at=now, flagged=False)  # not flagged: not counted
    add_post(engine, title="Acme old", at=now - timedelta(days=2))  # before the window
    add_post(engine, title="Beta refund", brand="Beta", at=now - timedelta(hours=1))


def test_dashboard_draws_a_sparkline_per_brand_from_one_query(console):
    _posts(console.engine)
    statements: list[str] = []
    event.listen(console.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *a: statements.append(sql))
    page = logged_in(console, "ana").get("/").text
    assert sum("strftime" in sql for sql in statements) == 1  # one query, all brands
    volumes = page.split('id="volumes"', 1)[1].split("</table>", 1)[0]
    acme = volumes.split("<td>Acme</td>", 1)[1].split("</tr>", 1)[0]
    assert 'aria-label="Acme: 6 flagged in the last 24 h, peak 3/h"' in acme
    assert len(re.findall(r'<rect class="bar"', acme)) == 3
    beta = volumes.split("<td>Beta</td>", 1)[1].split("</tr>", 1)[0]
    assert "1 flagged in the last 24 h, peak 1/h" in beta


@pytest.mark.postgres
def test_the_hourly_query_on_postgres(pg_url, tmp_path):
    console = make_console(pg_url, tmp_path)
    try:
        _posts(console.engine)
        counts = flagged_per_hour(console.engine, utcnow())
        assert sum(counts["Acme"]) == 6 and counts["Acme"][-1] == 3
        assert sum(counts["Beta"]) == 1
    finally:
        console.engine.dispose()
