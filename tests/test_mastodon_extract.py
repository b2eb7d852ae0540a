"""Mastodon statuses to posts, the stream settings and the rate-limit reading: pure
functions on small statuses shaped like the recorded ones (the hashtag timeline
``get_timeline_hashtag_anonymous.yml`` and the context ``get_context_anonymous.yml``
in ../shared/data/forums/mastodon/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crawlers.extractors.mastodon import (
    content_text,
    extract_context,
    extract_stream,
    parse_body,
    status_item,
)
from crawlers.mastodon import (
    RateLimit,
    newest,
    parse_rules,
    rate_limit,
    stream_url,
    streams,
    throttle,
)

# the markup of a real status (hashtag timeline, 2025-07-17), shortened
LINKED = ('<p>Giving coding assistants the ability to peruse <a href="https://rstats.me/tags/'
          'rstats" class="mention hashtag" rel="nofollow noopener" target="_blank">#<span>'
          'rstats</span></a> docs is so helpful: <a href="https://www.simonpcouch.com/blog/'
          '2025-07-17-claude-code-2/" rel="nofollow noopener" translate="no" target="_blank">'
          '<span class="invisible">https://www.</span><span class="ellipsis">simonpcouch.com/'
          'blog/2025-07-1</span><span class="invisible">7-claude-code-2/</span></a></p><p>'
          '<span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron" '
          'class="u-url mention">@<span>Gargron</span></a></span> thanks</p>')


def status(sid: str, content: str = "<p>hello</p>", **extra: object) -> dict:
    return {"id": sid, "created_at": "2025-07-17T19:07:48.000Z", "in_reply_to_id": None,
            "spoiler_text": "", "uri": f"https://rstats.me/users/a/statuses/{sid}",
            "url": f"https://rstats.me/@a/{sid}", "replies_count": 2, "reblogs_count": 1,
            "favourites_count": 7, "content": content, "reblog": None,
            "account": {"acct": "simonpcouch@rstats.me", "username": "simonpcouch"},
            "media_attachments": [], **extra}


def test_content_keeps_links_whole_and_mentions_as_words():
    assert content_text(LINKED) == (
        "Giving coding assistants the ability to peruse #rstats docs is so helpful: "
        "https://www.simonpcouch.com/blog/2025-07-17-claude-code-2/\n@Gargron thanks")
    assert content_text('<p>see <a href="https://x.org/a">the report</a></p>') == \
        "see the report (https://x.org/a)"
    assert content_text('<p><a href="javascript:alert(1)">click</a><script>bad()</script>'
                        '</p>') == "click"


def test_status_becomes_a_post_opening_its_thread():
    item = status_item(status("114870142396314555", LINKED, spoiler_text="CW: rant"))
    assert item.entry_key == "status:114870142396314555"
    assert item.thread_key == "s:114870142396314555"
    assert item.author == "simonpcouch@rstats.me" and item.title == "CW: rant"
    assert item.url == "https://rstats.me/@a/114870142396314555"
    assert item.published_at == datetime(2025, 7, 17, 19, 7, 48, tzinfo=UTC)
    assert (item.replies, item.shares, item.likes) == (2, 1, 7)
    # a boost is read as the boosted status; a status without words gives nothing
    boost = status("9", "", reblog=status("8", "<p>boosted words</p>"))
    assert status_item(boost).entry_key == "status:8"
    assert status_item(status("7", "<p> </p>")) is None
    pictured = status("6", "", media_attachments=[{"description": "Acme refund denied"}])
    assert status_item(pictured).text == "Acme refund denied"
    assert status_item(status("../x")) is None and status_item("junk") is None


def test_timeline_and_search_pages():
    page = extract_stream(parse_body(json.dumps([status("3"), status("2"), {"id": "1"},
                                                 status("2")]).encode()))
    assert [p.entry_key for p in page.posts] == ["status:3", "status:2"]
    assert page.ids == ["3", "2", "1", "2"] and page.count == 4
    assert [t.key for t in page.threads] == ["s:3", "s:2"] and page.threads[0].replies == 2
    search = extract_stream({"accounts": [], "statuses": [status("5")]})
    assert [p.entry_key for p in search.posts] == ["status:5"]
    with pytest.raises(ValueError, match="answered: This action is outside"):
        extract_stream({"error": "This action is outside the authorized scopes"})
    with pytest.raises(ValueError, match="HTML"):
        parse_body(b"<!doctype html><title>502</title>")


def test_context_puts_every_reply_in_the_thread():
    context = {"ancestors": [status("1")],
               "descendants": [status("11", in_reply_to_id="10"),
                               status("12", in_reply_to_id="11"), status("11")]}
    page = extract_context(status("10", replies_count=1), context, "s:10")
    assert [p.entry_key for p in page.posts] == ["status:10", "status:11", "status:12"]
    assert {p.thread_key for p in page.posts} == {"s:10"} and page.replies == 1
    with pytest.raises(ValueError):
        extract_context(status("10"), {"error": "Record not found"}, "s:10")


def test_rules_streams_and_cursor():
    rules = parse_rules({"hashtags": ["#Acme"], "timeline": "local", "search": ["acme refund"],
                         "token_env": "MASTODON_TOKEN"})
    names = [s.name for s in streams(rules)]
    assert names == ["tag:acme", "local", "search:acme refund"]
    urls = [stream_url("https://mastodon.social/", s, "42") for s in streams(rules)]
    assert urls == [
        "https://mastodon.social/api/v1/timelines/tag/Acme?limit=40&min_id=42",
        "https://mastodon.social/api/v1/timelines/public?local=true&limit=40&min_id=42",
        "https://mastodon.social/api/v2/search?q=acme+refund&type=statuses&resolve=false"
        "&limit=40&min_id=42"]
    assert newest(["99", "100", "7"], "98") == "100" and newest([], None) is None
    for bad, message in [({}, "say what to read"), ({"hashtags": ["a/b"]}, "not a hashtag"),
                         ({"timeline": "home"}, "local or federated"),
                         ({"search": ["x"]}, "needs an access token"),
                         ({"hashtags": ["a"], "limit": 80}, "1 to 40"),
                         ({"hashtags": ["a"], "token_env": "$X"}, "environment variable"),
                         ({"hashtag": ["a"]}, "unknown key")]:
        with pytest.raises(ValueError, match=message):
            parse_rules(bad)


def test_rate_limit_headers():
    now = datetime(2025, 7, 17, 20, 2, 58, tzinfo=UTC)
    # as the recorded hashtag timeline answered
    rl = rate_limit({"x-ratelimit-limit": "300", "x-ratelimit-remaining": "299",
                     "x-ratelimit-reset": "2025-07-17T20:05:00.290188Z"})
    assert rl == RateLimit(300, 299, datetime(2025, 7, 17, 20, 5, 0, 290188, tzinfo=UTC))
    assert throttle(rl, now) is None
    wait, note = throttle(RateLimit(300, 14, rl.reset), now)
    assert 121 < wait < 123 and "14 of 300 requests left" in note
    assert "(X-RateLimit)" in note
    assert throttle(RateLimit(None, None, None), now, refused=True)[0] == 60.0
    assert rate_limit({"x-ratelimit-remaining": "lots", "x-ratelimit-reset": "soon"}) == \
        RateLimit(None, None, None)
