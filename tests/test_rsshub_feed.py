"""RSSHub output (a self-hosted RSSHub's ``/weibo/keyword/:keyword``) read by the
``feed`` kind: the fixture is shaped like RSSHub's own template and Weibo item
builder (see tests/sample_data/rsshub/README.md); the daemon run is the real
one against a loopback server that answers like RSSHub (ETag, 304, Cache-Control)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from sqlmodel import select

from crawlers.extractors.feed import read_feed
from crawlers.extractors.text import html_to_text
from db.models import Post, Source
from tests.conftest import crisiswatch, db_engine, session

FIXTURE = Path(__file__).parent / "sample_data" / "rsshub" / "weibo_keyword.xml"
ROUTE = "weibo/keyword/Acme"


def rsshub_body(now: datetime | None = None) -> bytes:
    now = now or datetime.now(UTC)
    dates = {"built": now, "pub1": now - timedelta(minutes=3), "pub2": now - timedelta(minutes=9)}
    text = FIXTURE.read_text(encoding="utf-8")
    for key, when in dates.items():
        text = text.replace("{" + key + "}", format_datetime(when, usegmt=True))
    return text.encode("utf-8")


def test_weibo_items_read_as_clean_text_author_and_time():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    read = read_feed(rsshub_body(now), url="http://rsshub.local/" + ROUTE,
                     content_type="application/xml; charset=utf-8")
    assert read.notes == []
    complaint, hike = read.items
    assert complaint.author == "数码小王" and hike.author == "旅行的猫"
    assert complaint.published_at == now - timedelta(minutes=3)
    assert complaint.url == complaint.entry_key == "https://weibo.com/5801234567/PaB1cD2eF"
    assert complaint.text.splitlines() == [
        "数码小王: #Acme手机# Acme手机又死机了，客服态度恶劣直接挂电话，说是公司政策 [怒] "
        "我要退款！投诉到底！",
        "网页链接",
    ]
    # no picture, icon or video address, and not the video's fallback sentence
    for noise in ("sinaimg", "sinajs", "http", ".jpg", ".mp4", "视频无法显示"):
        assert noise not in complaint.text, noise
    assert hike.text == "旅行的猫: 周末去爬山，天气真好，推荐大家去看看日出 [太阳]"


def test_images_leave_their_alt_words_and_nothing_else():
    html = ('<p>bad <img alt="[怒]" src="https://x/e.png"> <img src="https://x/p.jpg">'
            '<img alt="IMG_2041.JPG" src="a.jpg"><img alt="https://x/p.jpg">'
            "<img alt='&lt;b&gt;broken&lt;/b&gt;'></p>")
    assert html_to_text(html) == "bad [怒] <b>broken</b>"


def test_rsshub_stats_comments_count_is_the_reply_count():
    body = rsshub_body().replace(b"<category>Acme", b"<stats><comments_count>57"
                                 b"</comments_count></stats><category>Acme")
    complaint, hike = read_feed(body, url="http://rsshub.local/" + ROUTE).items
    assert complaint.replies == 57 and hike.replies is None


def test_weibo_complaint_through_rsshub_flags_and_alerts(site, receiver, make_config):
    site.override[ROUTE] = (200, rsshub_body())
    site.headers[ROUTE] = {"Cache-Control": "public, max-age=300"}
    source = {"name": "weibo-acme", "kind": "feed", "url": f"{site.base}/{ROUTE}",
              "interval": 60}
    config = make_config([], extra_sources=[source])
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    engine = db_engine(config.parent)
    with session(engine) as s:
        posts = {p.author: p for p in s.exec(select(Post)).all()}
    assert set(posts) == {"数码小王", "旅行的猫"}
    complaint = posts["数码小王"]
    assert "sinaimg" not in complaint.text and "[怒]" in complaint.text
    assert complaint.published_at is not None
    assert len(receiver.received) == 1, result.stdout
    alert = receiver.received[0]
    assert "Acme" in alert.title
    assert "https://weibo.com/5801234567/PaB1cD2eF" in alert.body
    # RSSHub's cache answers the next poll with a 304 to our If-None-Match
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    assert [r[2] for r in site.requests if r[0] == "/" + ROUTE] == [200, 304]
    with session(engine) as s:
        src = s.exec(select(Source).where(Source.name == "weibo-acme")).one()
    assert src.last_status == 304 and src.last_error is None
    assert len(receiver.received) == 1
