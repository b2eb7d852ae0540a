"""Forum rules on a real board's shape (issue 19, "Forum rules on real boards"):
an Askbot Q&A site (tests/askbot_site.py) read with naive rules and with the
askbot preset: per-post XPath, warnings of ``sources test``, the hidden "next"
link that loops back to page 1, comments loaded from /post_comments/, double
posts, and ``sources test`` against another URL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from crawlers.extractors.checks import check_thread
from crawlers.extractors.forum import extract_thread
from crawlers.extractors.rules import relative_xpath, resolve_rules
from db.models import Post, Source
from tests.askbot_site import SHOWN, AComment, APost, AQuestion, AskbotSite
from tests.conftest import crisiswatch, db_engine, session
from tests.forum_site import RECENT

LONG = ("<p>My Acme router drops the wifi every hour and support never answered.</p>"
        "<p>I reset it twice, changed the channel and updated the firmware.</p>"
        "<p>Nothing helped, so I am returning it tomorrow.</p>")


def _at(minutes: int) -> str:
    return (RECENT + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S +0000")


def question() -> AQuestion:
    """Question 7: five answers (three pages of two), comments inside posts, one
    answer with more comments than the page shows, a community-wiki answer (no
    author card: an unanchored author rule takes its commenter's name) and a
    double post (same author, same text, two ids)."""
    comments = [AComment(100 + i, f"user{i}", f"<p>Acme comment {i}</p>", _at(30 + i))
                for i in range(SHOWN + 3)]
    q = AQuestion(7, "Acme router drops wifi", APost(
        1, "anna", LONG, _at(0), comments=[AComment(2, "bob", "<p>same here</p>", _at(1))]))
    q.answers = [
        APost(10, "carl", "<p>Try the beta firmware.</p><p>It fixed mine after a day.</p>",
              _at(5), comments=comments),
        APost(11, "", "<p>Wiki: reset, then pair again.</p>", _at(6),
              comments=[AComment(12, "eve", "<p>did not work</p>", _at(7))]),
        APost(13, "dora", "<p>Mine too, Acme is hopeless.</p>", _at(8)),
        APost(14, "dora", "<p>Mine too, Acme is hopeless.</p>", _at(9)),
        APost(15, "finn", "<p>Returned it.</p>", _at(10)),
    ]
    return q


@pytest.fixture
def site():
    s = AskbotSite()
    s.questions[7] = question()
    yield s
    s.stop()


NAIVE = {  # what an admin writes first: each selector fine on its own
    "thread": {"author": ".user-info a::text, a.author::text",
               "time": "xpath://abbr[@class='timeago']/@title",
               "body": ".js-editable-content p, .comment-body p"}}


def _page(site: AskbotSite, rules: dict | None, page: str = "1"):  # noqa: ANN202
    html = site.question_page(site.questions[7], page)
    forum_rules = resolve_rules("askbot", rules)
    return html, forum_rules, extract_thread(html, site.url(7), forum_rules)


def test_per_post_xpath_reads_the_post_not_the_page(site):
    _, _, page = _page(site, {"thread": {"time": "xpath://abbr[@class='timeago']/@title"}})
    times = {p.entry_key: p.published_at for p in page.posts}
    # before: every post got the question's time (the page's first <abbr>)
    assert len(set(times.values())) == len(times) == 8
    assert times["post:2"] - times["post:1"] == timedelta(minutes=1)
    assert relative_xpath("(//a)[1]/text() | //b") == "(.//a)[1]/text() | .//b"
    assert relative_xpath("following-sibling::tr[1]//a[//x]") == \
        "following-sibling::tr[1]//a[//x]"  # relative paths and predicates as written
    # reaching outside the post is still possible when written as an axis
    _, _, page = _page(site, {"thread": {"author": "xpath:ancestor::body//h1//text()"}})
    assert {p.author for p in page.posts} == {"Acme router drops wifi"}


def test_sources_test_warnings_name_each_silent_failure(site):
    html, rules, page = _page(site, NAIVE)
    warnings = "\n".join(check_thread(html, rules, page))
    assert "matched several elements in 3 of 8 posts and only the first is kept " \
        "(e.g. 68 of 186 characters)" in warnings
    assert "thread.author '.user-info a::text, a.author::text' took its value from a " \
        "comment or quote inside 1 of" in warnings  # the wiki answer got eve's name
    assert "starts at the page root; it is read from each post as " \
        "\".//abbr[@class='timeago']/@title\"" in warnings
    wiki = next(p for p in page.posts if p.entry_key == "post:11")
    assert wiki.author == "eve"
    html, rules, page = _page(site, None)  # the preset: anchored, nothing to say
    assert check_thread(html, rules, page) == []
    assert next(p for p in page.posts if p.entry_key == "post:11").author is None
    assert page.posts[0].text.endswith("returning it tomorrow.")


def test_shared_value_warning():
    html = "<html><body>" + "".join(
        f"<div class='p'><b>x</b><i>{n} is a post</i></div>" for n in range(3)) + \
        "<span class='t'>2024-01-02 10:00</span></body></html>"
    rules = resolve_rules(None, {"thread": {"post": "div.p", "body": "i",
                                            "time": "xpath:ancestor::body/span/text()"}})
    page = extract_thread(html, "http://x.test/t/1", rules)
    assert any("all 3 posts have the same time" in w for w in check_thread(html, rules, page))


def test_double_posts_are_both_kept(site):
    _, _, page = _page(site, None, "2")
    doubles = [p for p in page.posts if p.author == "dora"]
    assert [p.entry_key for p in doubles] == ["post:13", "post:14"]
    assert doubles[0].fingerprint != doubles[1].fingerprint  # so both are stored
    again = _page(site, None, "2")[2]
    assert [p.fingerprint for p in again.posts] == [p.fingerprint for p in page.posts]
    # without ids: keyed by their place among the copies, stably
    html = "<div class='p'><i>same text</i></div>" * 2
    rules = resolve_rules(None, {"thread": {"post": "div.p", "body": "i"}})
    keys = [p.entry_key for p in extract_thread(html, "http://x.test/t/1", rules).posts]
    assert len(set(keys)) == 2
    assert keys == [p.entry_key for p in extract_thread(html, "http://x.test/t/1", rules).posts]


def _config(make_config, site: AskbotSite, **naive: object):  # noqa: ANN202
    sources = [{"name": "ask", "kind": "forum", "url": site.url(7), "page": "thread",
                "preset": "askbot"},
               {"name": "naive", "kind": "forum", "url": site.url(7), "page": "thread",
                "preset": "askbot",
                "rules": {"thread": {"next_page": "div.paginator span.next a::attr(href)"}},
                **naive}]
    return make_config([], extra_sources=sources)


def test_crawl_follows_comments_keeps_doubles_and_stops_a_looping_next_link(site, make_config):
    config = _config(make_config, site)
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    engine = db_engine(config.parent)
    with session(engine) as s:
        by_source = {src.name: src for src in s.exec(select(Source)).all()}
        posts = {name: {p.entry_key: p for p in s.exec(select(Post).where(
            Post.source_id == src.id)).all()} for name, src in by_source.items()}
    ask = posts["ask"]
    # all six comments of answer 10, though the page shows three: the rest came from JSON
    assert {f"post:{100 + i}" for i in range(SHOWN + 3)} <= set(ask)
    assert ask["post:105"].author == "user5" and ask["post:105"].text == "Acme comment 5"
    assert ask["post:105"].published_at is not None
    assert {"post:13", "post:14"} <= set(ask)  # the double post, twice
    assert len(ask) == 6 + 1 + 6 + 1  # question and 5 answers; bob's, the 6, eve's comments
    comment_requests = [r for r in site.requests if r.startswith("/post_comments/")]
    assert comment_requests == ["/post_comments/?post_type=answer&post_id=10"] * 2
    # the naive source followed the hidden "next" (?page=None, page 1 again) and stopped
    pages = [r for r in site.requests if r.startswith("/question/7/")]
    assert pages.count("/question/7/q7/?page=None") == 1
    assert len(pages) == 3 + 4  # ask: 3 pages; naive: 3 pages and the repeat
    note = by_source["naive"].health_note or ""
    assert "?page=None repeats a page already read in this visit" in note
    assert by_source["naive"].last_error is None and by_source["ask"].health_note is None
    listing = crisiswatch("sources", "list", "--config", str(config)).stdout
    assert "naive" in listing and "partial" in listing


def test_sources_test_other_url_full_bodies_and_failures(site, make_config):
    config = _config(make_config, site)
    last = site.url(7, 3)
    result = crisiswatch("sources", "test", "ask", "--url", last, "--full",
                         "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert f"thread {last}: " in result.stdout
    assert "finn at" in result.stdout and "Returned it." in result.stdout
    assert "I reset it twice, changed the channel and updated the firmware." in result.stdout
    assert "(next page: -)" in result.stdout  # the preset skips the hidden link
    naive = crisiswatch("sources", "test", "naive", "--url", site.url(7), "--config",
                        str(config), "--page", "thread")
    assert naive.returncode == 0 and "WARNING" not in naive.stdout  # preset + next only
    # comments behind "see more" are shown as they would be stored
    assert "user5 at" in naive.stdout
    missing = crisiswatch("sources", "test", "ask", "--url", f"{site.base}/question/99/x/",
                          "--config", str(config))
    assert missing.returncode == 1
    assert "FAILED:" in missing.stderr and "HTTP 404" in missing.stderr
