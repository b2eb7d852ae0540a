"""Every forum preset through the real daemon: a local server answers each
engine's URLs with the synthetic pages in tests/sample_data/forums/, and the
watch spider reads the listing, then the paged thread, and stores the posts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from db.models import Post, Source, Thread
from monitor.lab.localsite import LoopbackServer, QuietHandler
from tests.conftest import crisiswatch, db_engine, session

PAGES = Path(__file__).parent / "sample_data" / "forums"

# (listing path, [(request regex, page file)], thread key read to its end, posts on it)
ROUTES = {
    "phpbb": ("/viewforum.php?f=2", [(r"viewforum\.php", "listing.html"),
                                     (r"viewtopic\.php.*t=42.*start=5", "thread_p2.html"),
                                     (r"viewtopic\.php.*t=42", "thread_p1.html")], "42", 6),
    "discuz": ("/forum.php?mod=forumdisplay&fid=36",
               [(r"mod=forumdisplay", "listing.html"), (r"thread-8042-2-1", "thread_p2.html"),
                (r"tid=8042", "thread_p1.html")], "8042", 6),
    "discuz-gbk": ("/forum.php?mod=viewthread&tid=8043", [(r"tid=8043", "thread_gbk.html")],
                   "8043", None),
    "vbulletin": ("/forumdisplay.php?forumid=12",
                  [(r"forumdisplay\.php", "listing.html"),
                   (r"threadid=900100.*pagenumber=2", "thread_p2.html"),
                   (r"threadid=900100", "thread_p1.html")], "900100", 6),
    "hackernews": ("/news", [(r"^/news", "listing.html"), (r"id=39000000&p=2", "thread_p2.html"),
                             (r"id=39000000", "thread_p1.html")], "39000000", 6),
    "reddit_old": ("/r/gadgets/", [(r"^/r/gadgets/$", "listing.html"),
                                   (r"comments/1b2c3d4", "thread_p1.html")], "1b2c3d4", 7),
}


def serve(preset: str) -> tuple[LoopbackServer, list[str]]:
    routes = ROUTES[preset][1]
    folder = PAGES / preset.split("-")[0]
    seen: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            page = next((f for pattern, f in routes if re.search(pattern, self.path)), None)
            body = (folder / page).read_bytes() if page else b"not found"
            # the charset, if any, is only in the page
            self.reply(200 if page else 404, body, "text/html")

    return LoopbackServer(Handler).start(), seen


@pytest.mark.parametrize("preset", sorted(p for p in ROUTES if "-" not in p))
def test_preset_crawls_listing_and_paged_thread(preset, make_config):
    listing, _, key, expected = ROUTES[preset]
    server, seen = serve(preset)
    try:
        config = make_config([], extra_sources=[{
            "name": preset, "kind": "forum", "preset": preset,
            "url": f"http://127.0.0.1:{server.server_address[1]}{listing}"}])
        result = crisiswatch("run", "--once", "--config", str(config))
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    engine = db_engine(config.parent)
    with session(engine) as s:
        thread = s.exec(select(Thread).where(Thread.key == key)).one()
        posts = s.exec(select(Post).where(Post.thread_id == thread.id)).all()
        source = s.exec(select(Source)).one()
    assert len(posts) == expected, [p.text[:40] for p in posts]
    assert thread.crawled_signature is not None  # read to its last page
    assert all(p.text for p in posts) and sum(p.author is not None for p in posts) >= 4
    assert source.last_success_at is not None


def test_gbk_thread_page_decodes_through_its_meta_charset(make_config):
    listing, _, key, _ = ROUTES["discuz-gbk"]
    server, _ = serve("discuz-gbk")
    try:
        config = make_config([], extra_sources=[{
            "name": "gbk", "kind": "forum", "preset": "discuz", "page": "thread",
            "url": f"http://127.0.0.1:{server.server_address[1]}{listing}"}])
        result = crisiswatch("run", "--once", "--config", str(config))
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    with session(db_engine(config.parent)) as s:
        posts = s.exec(select(Post)).all()
    assert posts and all(p.thread_id for p in posts)
    assert any("艾克美" in p.text for p in posts)
    assert not any("\ufffd" in p.text for p in posts)
