"""The forum presets on real saved pages (../shared/data/forums, read in place).

What a page holds is counted independently of the presets, with plain regexes
on each engine's distinctive markup; the preset must then extract all of it.
Run with -s to see the per-page table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.extractors.forum import extract_listing, extract_thread
from crawlers.extractors.rules import resolve_rules

DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "forums"
pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not DIR.is_dir(), reason=f"{DIR} is absent")]

_TAG = re.compile(r"<[^>]*>|&[#\w]+;")


def read(name: str) -> str:
    return (DIR / name).read_text(encoding="utf-8", errors="replace")


def report(page: str, extracted: int, present: int, author: int, time: int, body: int,
           note: str = "") -> None:
    print(f"\n{page}: {extracted}/{present}, with author/time/body {author}/{time}/{body}"
          + (f"  ({note})" if note else ""))


def visible(html: str) -> str:
    """Independent of html_to_text: tags, comments and entities dropped by a regex."""
    html = re.sub(r"(?s)<!--.*?-->|<script.*?</script>", "", html)
    return _TAG.sub("", html).strip()


def words(text: str) -> str:
    return re.sub(r"\W+", "", text)


def test_vbulletin_showthread():
    html = read("vbulletin_somethingawful/showthread.html")
    chunks = re.split(r'(?=<table class="post" id="post\d+")', html)[1:]
    present = {}
    for chunk in chunks:
        pid = re.match(r'<table class="post" id="post(\d+)"', chunk).group(1)
        author = re.search(r'<dt class="author[^"]*"[^>]*>([^<]+)</dt>', chunk).group(1)
        when = re.search(r'class="postdate">.*?([A-Z][a-z]{2}\s+\d{1,2}, \d{4} \d{2}:\d{2})',
                         chunk, re.S).group(1)
        body = re.search(r"BeginContentMarker -->(.*?)<!-- EndContentMarker", chunk, re.S).group(1)
        present[pid] = (author, datetime.strptime(" ".join(when.split()), "%b %d, %Y %H:%M")
                        .replace(tzinfo=UTC), visible(body))
    assert len(present) == 40
    # two posts are a bare image (no text, no alt): nothing to monitor, so skipped
    with_text = {pid for pid, (_, _, body) in present.items() if body}
    assert len(with_text) == 38

    tp = extract_thread(html, "https://forums.somethingawful.com/showthread.php?threadid=4076894"
                        "&userid=0&perpage=40&pagenumber=3", resolve_rules("vbulletin", None))
    got = {p.entry_key.removeprefix("post:"): p for p in tp.posts}
    report("vbulletin showthread", len(got), len(present), sum(bool(p.author) for p in tp.posts),
           sum(bool(p.published_at) for p in tp.posts), sum(bool(p.text) for p in tp.posts),
           note=f"{len(present) - len(with_text)} image-only posts have no text")
    assert set(got) == with_text
    for pid, post in got.items():
        author, when, body = present[pid]
        assert (post.author, post.published_at) == (author, when)
        # all the post's words are there (its "edited by" note may follow them)
        assert words(body) in words(post.text)
        assert post.thread_key == "4076894"
    assert tp.title == "ITT we're boomers online"
    assert tp.next_page and tp.next_page.endswith("pagenumber=4")


def test_vbulletin_forumdisplay():
    html = read("vbulletin_somethingawful/forumdisplay.html")
    # the announcement row (<tr class="thread announcethread">) is not a thread
    rows = re.findall(r'<tr class="thread" id="thread(\d+)">(.*?)</tr>', html, re.S)
    present = {tid: (int(re.search(r'<td class="replies">(?:<a[^>]*>)?(\d+)', row).group(1)),
                     int(re.search(r'<td class="views">(\d+)', row).group(1)))
               for tid, row in rows}
    assert len(present) == 40

    listing = extract_listing(html, "https://forums.somethingawful.com/forumdisplay.php?forumid=273",
                              resolve_rules("vbulletin", None))
    refs = {t.key: t for t in listing.threads}
    report("vbulletin forumdisplay", len(refs), len(present),
           sum(bool(t.title) for t in refs.values()),
           sum(bool(t.last_post_at) for t in refs.values()),
           sum(t.replies is not None and t.views is not None for t in refs.values()),
           note="author/time/body = title/last post/replies+views")
    assert set(refs) == set(present)
    for key, ref in refs.items():
        assert (ref.replies, ref.views) == present[key]
        assert ref.title and ref.last_post_at is not None
        assert ref.url == f"https://forums.somethingawful.com/showthread.php?threadid={key}"
    assert listing.next_page and listing.next_page.endswith("pagenumber=2")


def test_reddit_old_comments_page():
    html = read("reddit_old/reddit_post_example.html")
    things = re.findall(r'<div class="[^"]*\bthing\b[^"]*"[^>]*>', html)
    present = {}
    for tag in things:
        kind = re.search(r'data-type="([^"]+)"', tag)
        name = re.search(r'data-fullname="([^"]+)"', tag)
        if kind and name and kind.group(1) in ("comment", "link"):
            author = re.search(r'data-author="([^"]+)"', tag)
            present[name.group(1)] = author.group(1) if author else None
    assert len(present) == 191  # 190 comments and the submission itself
    # not counted: 6 deleted comments (class "deleted", no data-fullname, text
    # "[removed]") and 103 "load more comments" stubs (data-type="morechildren")
    deleted = len(re.findall(r'<div class="[^"]*\bdeleted comment\b', html))
    assert deleted == 6

    tp = extract_thread(html, "https://old.reddit.com/r/Games/comments/1lqa2hj/"
                        "has_xbox_considered_laying_one_person_off_instead/",
                        resolve_rules("reddit_old", None))
    got = {p.entry_key.removeprefix("post:"): p for p in tp.posts}
    report("reddit_old comments", len(got), len(present), sum(bool(p.author) for p in tp.posts),
           sum(bool(p.published_at) for p in tp.posts), sum(bool(p.text) for p in tp.posts),
           note=f"{sum(a is None for a in present.values())} by deleted accounts have no author")
    assert set(got) == set(present)
    for name, post in got.items():
        # an account deleted after posting leaves no data-author: author stays None
        assert post.author == present[name]
        assert post.published_at is not None and post.text
        assert post.likes is not None and post.thread_key == "1lqa2hj"
        assert post.url and post.url.startswith("https://old.reddit.com/r/Games/comments/1lqa2hj/")
    assert got["t3_1lqa2hj"].text.startswith("Has Xbox Considered")  # a link post: its title
    assert tp.replies == 978


def test_hackernews_front_page():
    html = read("hackernews/hacker_news_front.html")
    ids = re.findall(r"<tr class='athing' id='(\d+)'>", html)
    comments = dict(re.findall(r'<a href="item\?id=(\d+)">(\d+)&nbsp;comments?</a>', html))
    discuss = set(re.findall(r'<a href="item\?id=(\d+)">discuss</a>', html))
    assert len(ids) == 30

    listing = extract_listing(html, "https://news.ycombinator.com/news",
                              resolve_rules("hackernews", None))
    refs = {t.key: t for t in listing.threads}
    counted = sum(t.replies is not None for t in refs.values())
    report("hackernews front", len(refs), len(ids), sum(bool(t.title) for t in refs.values()),
           0, counted, note="author/time/body = title/-/comment count; jobs have no count")
    assert list(refs) == ids
    for key, ref in refs.items():
        assert ref.title and ref.url == f"https://news.ycombinator.com/item?id={key}"
        expected = int(comments[key]) if key in comments else 0 if key in discuss else None
        assert ref.replies == expected
    assert counted == len(comments) + len(discuss) == 29  # one job ad has no comments link
    assert listing.next_page == "https://news.ycombinator.com/news?p=2"


def test_rule_warnings_stay_quiet_on_presets_and_catch_a_page_root_xpath():
    """``sources test`` warnings on real pages: none for the shipped presets (no
    false alarms on vBulletin posts or old Reddit's nested comments), and a
    per-post XPath written from the page root is read per post and noted."""
    from crawlers.extractors.checks import check_thread

    for preset, name, url in (
            ("vbulletin", "vbulletin_somethingawful/showthread.html",
             "https://forums.somethingawful.com/showthread.php?threadid=1"),
            ("reddit_old", "reddit_old/reddit_post_example.html",
             "https://old.reddit.com/r/x/comments/abc/t/")):
        html, rules = read(name), resolve_rules(preset, None)
        assert check_thread(html, rules, extract_thread(html, url, rules)) == []
    html = read("vbulletin_somethingawful/showthread.html")
    rules = resolve_rules("vbulletin", {"thread": {"time": "xpath://td[@class='postdate']"}})
    page = extract_thread(html, "https://forums.somethingawful.com/showthread.php?t=1", rules)
    assert len({p.published_at for p in page.posts}) == len(page.posts) == 38
    assert "starts at the page root" in check_thread(html, rules, page)[0]
