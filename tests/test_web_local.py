"""The console for a Chinese PR team (issue 18): times in ``console.timezone`` (or
the team channel's), shown relative with the local time on hover; a post's own
time beside the time it was seen; ``lang`` on the page and on Chinese text; the
CSV export readable by Excel in a Chinese locale."""

from __future__ import annotations

import codecs
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from db.engine import open_database, session
from db.models import Post
from monitor.config import ConfigError, console_timezone, parse_config
from monitor.stages.sync import sync_config
from monitor.users import add_user
from tests.conftest import crisiswatch
from tests.web_support import PASSWORD, Console, add_alert, add_incident, add_post, logged_in
from web.app import create_app
from web.clock import Clock, absolute, relative, time_element

NOW = datetime(2026, 5, 1, 6, 20, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNEL = "json://127.0.0.1:9/hook"


def _config(tmp_path: Path, **extra: object):  # noqa: ANN202
    return parse_config({"database": f"sqlite:///{tmp_path / 'cw.db'}",
                         "brands": [{"name": "Acme", "keywords": ["Acme", "艾克美"]}], **extra},
                        base=tmp_path, env={})


def _console(tmp_path: Path, **extra: object) -> Console:
    config = _config(tmp_path, **extra)
    engine = open_database(config.database)
    sync_config(engine, config)
    add_user(engine, "ana", "analyst", PASSWORD)
    return Console(engine, config, create_app(config, engine))


@pytest.mark.parametrize(("ago", "en", "zh"), [
    (timedelta(seconds=20), "just now", "刚刚"),
    (timedelta(minutes=20, seconds=30), "20 min ago", "20 分钟前"),
    (timedelta(hours=3, minutes=59), "3 h ago", "3 小时前"),
    (timedelta(days=2, hours=5), "2 d ago", "2 天前"),
    (-timedelta(minutes=45), "in 45 min", "45 分钟后"),
    (timedelta(days=40), "2026-03-22", "2026-03-22"),  # past a month: the local date
])
def test_relative_times_in_english_and_chinese(ago: timedelta, en: str, zh: str) -> None:
    assert relative(NOW - ago, NOW, "en", SHANGHAI) == en
    assert relative(NOW - ago, NOW, "zh", SHANGHAI) == zh


def test_the_time_element_carries_utc_and_the_local_time() -> None:
    at = NOW - timedelta(minutes=20)
    html = str(time_element(at, Clock(SHANGHAI, "en", NOW)))
    assert html == ('<time datetime="2026-05-01T06:00:00Z" '
                    'title="2026-05-01 14:00 CST (UTC+08:00)">20 min ago</time>')
    # naive values (SQLite) and ISO strings (monitor's dicts) are UTC
    assert time_element(at.replace(tzinfo=None), Clock(SHANGHAI, "en", NOW)) == html
    assert time_element(at.isoformat(), Clock(SHANGHAI, "en", NOW)) == html
    assert absolute(at, UTC) == "2026-05-01 06:00 UTC"
    assert absolute(at, ZoneInfo("America/New_York")) == "2026-05-01 02:00 EDT (UTC-04:00)"
    assert str(time_element(None, Clock())) == "-"


def test_the_zone_defaults_to_the_first_channel_that_names_one(tmp_path: Path) -> None:
    assert console_timezone(_config(tmp_path)) is None
    channels = [{"name": "ops", "url": CHANNEL},  # no zone of its own: skipped
                {"name": "pr", "url": CHANNEL + "2", "timezone": "Asia/Shanghai"}]
    assert console_timezone(_config(tmp_path, channels=channels)) == "Asia/Shanghai"
    assert console_timezone(_config(tmp_path, channels=channels,
                                    console={"timezone": "Europe/Paris"})) == "Europe/Paris"
    with pytest.raises(ConfigError, match=r"console.timezone: 'Mars/Olympus' is not a time "
                                          r"zone name like Asia/Shanghai"):
        _config(tmp_path, console={"timezone": "Mars/Olympus"})


def test_check_config_names_an_unknown_console_zone(tmp_path: Path) -> None:
    path = tmp_path / "crisiswatch.yaml"
    path.write_text("console:\n  timezone: Asia/Shangai\n", encoding="utf-8")
    result = crisiswatch("check-config", str(path))
    assert result.returncode == 2
    assert ("console.timezone: 'Asia/Shangai' is not a time zone name like Asia/Shanghai "
            "(line 2)") in result.stderr


def _titles_of_times(html: str) -> list[str]:
    return re.findall(r'<time datetime="[^"]+Z" title="([^"]+)">([^<]+)</time>', html)


def test_pages_show_times_in_the_channel_zone_with_posted_and_seen(tmp_path: Path) -> None:
    console = _console(tmp_path, channels=[{"name": "pr", "url": CHANNEL,
                                            "timezone": "Asia/Shanghai"}])
    seen = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    incident = add_incident(console.engine, at=seen)
    add_post(console.engine, title="艾克美充电器发烫，客服不理", at=seen, incident_id=incident)
    with session(console.engine) as s, s.begin():
        s.execute(update(Post).values(published_at=seen - timedelta(hours=3)))
    alert = add_alert(console.engine, incident, at=seen)
    client = logged_in(console, "ana")
    local_seen = seen.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") + " CST (UTC+08:00)"
    for path in (f"/incidents/{incident}", f"/alerts/{alert}", "/history"):
        html = client.get(path).text
        assert "UTC)</th>" not in html, path
        assert ("<th>Posted</th><th>" in html if path == "/history"
                else "posted <time" in html and "seen <time" in html), path
        shown = _titles_of_times(html)
        assert (local_seen, "20 min ago") in shown, (path, shown)
        assert any(text == "3 h ago" and title.endswith("CST (UTC+08:00)")
                   for title, text in shown), (path, shown)
    dashboard = client.get("/").text
    assert (local_seen, "20 min ago") in _titles_of_times(dashboard)


def test_without_a_zone_the_console_shows_utc(tmp_path: Path) -> None:
    console = _console(tmp_path)
    seen = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5, minutes=1)
    add_post(console.engine, title="Acme refund refused", at=seen)
    html = logged_in(console, "ana").get("/history").text
    assert (f"{seen:%Y-%m-%d %H:%M} UTC", "5 h ago") in _titles_of_times(html)


def test_page_language_and_chinese_text_are_marked(tmp_path: Path) -> None:
    console = _console(tmp_path)
    add_post(console.engine, title="艾克美充电器发烫，客服不理", text="退款三周了还没到账")
    add_post(console.engine, title="Acme charger melted", text="no refund yet")
    html = logged_in(console, "ana").get("/history").text
    assert html.startswith('<!doctype html>\n<html lang="en">')
    cells = re.findall(r'<td( lang="zh")?>\s*<a [^>]+>([^<]+)</a>', html)
    assert ("", "Acme charger melted") in cells
    assert (' lang="zh"', "艾克美充电器发烫，客服不理") in cells
    css = logged_in(console, "ana").get("/static/style.css").text
    assert re.search(r'font: [^;]*"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", '
                     r'system-ui', css)


def test_csv_export_starts_with_a_utf8_bom_for_excel(tmp_path: Path) -> None:
    console = _console(tmp_path)
    add_post(console.engine, title="艾克美充电器发烫")
    body = logged_in(console, "ana").get("/history.csv").content
    assert body.startswith(codecs.BOM_UTF8) and body.count(codecs.BOM_UTF8) == 1
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0]["title"] == "艾克美充电器发烫" and list(rows[0])[:3] == ["id", "time", "posted"]


def test_the_holding_statement_dates_the_incident_in_the_console_zone(tmp_path: Path) -> None:
    """Opened at 20:00 UTC on 1 May is 2 May in Shanghai: the statement says so."""
    opened = datetime(2026, 5, 1, 20, 0, tzinfo=UTC)
    for extra, day in (({}, "1 May 2026"), ({"console": {"timezone": "Asia/Shanghai"}},
                                            "2 May 2026")):
        console = _console(tmp_path / day.replace(" ", ""), **extra)
        incident = add_incident(console.engine, at=opened, category="safety_incident")
        alert = add_alert(console.engine, incident, at=opened, playbook="safety_incident")
        add_user(console.engine, "pat", "pr", PASSWORD)
        page = logged_in(console, "pat").get(f"/alerts/{alert}").text
        statement = re.search(r'<p class="text" id="statement">(.*?)</p>', page, re.S).group(1)
        assert day in statement, statement
