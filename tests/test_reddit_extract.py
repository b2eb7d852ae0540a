"""The pure half of ``kind: reddit``: option checks with one clear error each,
Reddit's rate-limit headers, fullname cursors and the listing and comment-tree
shapes of Reddit's API documentation (as tests/reddit_site.py serves them)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawlers import reddit
from crawlers.extractors.reddit import extract_comments, extract_listing
from monitor.config import ConfigError, parse_config
from tests.reddit_site import FakeReddit, Thing, b36

CREDS = {"client_id_env": "RID", "client_secret_env": "RSECRET"}


@pytest.mark.parametrize(("rules", "error"), [
    ({"subreddits": ["acme"]}, "client_id_env: Reddit's API needs your own app's credentials"),
    ({**CREDS}, "subreddits: say what to read"),
    ({**CREDS, "subreddits": ["a b"]}, "subreddits: 'a b' is not a subreddit name"),
    ({**CREDS, "search": ["x"], "comments": True}, "comments: new comments are read per"),
    ({**CREDS, "subreddits": ["acme"], "username_env": "U"}, "username_env: the password"),
    ({**CREDS, "subreddits": ["acme"], "token_url": "ftp://x"}, "token_url: 'ftp://x' is not"),
    ({**CREDS, "subreddits": ["acme"], "limit": 101}, "limit: items per request, 1 to 100"),
    ({**CREDS, "subreddits": ["acme"], "hashtags": ["x"]}, "hashtags: unknown key for kind"),
    ({"client_id_env": "1BAD", "client_secret_env": "S", "subreddits": ["acme"]},
     "client_id_env: '1BAD' is not an environment variable name"),
])
def test_bad_options_name_the_key(rules, error):
    with pytest.raises(ValueError, match="^" + error.replace("(", r"\(")):
        reddit.parse_rules(rules)


def test_config_accepts_top_level_keys_and_defaults_the_api(tmp_path):
    config = parse_config({"sources": [{"name": "r", "kind": "reddit", "subreddits": ["r/Acme"],
                                        "search": ["acme refund"], **CREDS}]},
                          base=tmp_path, env={})
    src = config.sources[0]
    assert src.url == reddit.API_BASE
    assert src.rules == {**CREDS, "subreddits": ["Acme"], "search": ["acme refund"]}
    names = [s.name for s in reddit.streams(reddit.parse_rules(src.rules))]
    assert names == ["new:acme", "search:acme:acme refund"]
    with pytest.raises(ConfigError, match=r"sources\[0\]: url: .*give the API's address only"):
        parse_config({"sources": [{"name": "r", "kind": "reddit", "url": "https://x.org/r/a",
                                   "subreddits": ["a1"], **CREDS}]}, base=tmp_path, env={})
    with pytest.raises(ConfigError, match="preset: presets are for kind forum"):
        parse_config({"sources": [{"name": "r", "kind": "reddit", "preset": "reddit_old",
                                   "subreddits": ["a1"], **CREDS}]}, base=tmp_path, env={})


def test_credentials_come_from_the_environment():
    rules = reddit.parse_rules({**CREDS, "subreddits": ["acme"]})
    creds, why = reddit.credentials(rules, {"RID": " id ", "RSECRET": "s"})
    assert why is None and creds == {"form": "grant_type=client_credentials", "id": "id",
                                     "secret": "s"}
    creds, why = reddit.credentials(rules, {"RID": "id"})
    assert creds is None and why.startswith("disabled: RSECRET not set in the daemon's")


def test_rate_limit_headers_become_a_wait():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rl = reddit.rate_limit({"x-ratelimit-used": "598", "x-ratelimit-remaining": "2.0",
                            "x-ratelimit-reset": "120"}, now)
    assert (rl.limit, rl.remaining) == (600, 2) and (rl.reset - now).total_seconds() == 120
    rl = reddit.rate_limit({"x-ratelimit-remaining": "nonsense"}, now)
    assert rl == reddit.RateLimit(None, None, None)


def test_cursor_is_the_newest_fullname():
    assert reddit.newest(["t3_zz", "t3_100"], "t3_a") == "t3_100"  # base 36: 1296 > 1295
    assert reddit.newest(["junk"], None) is None


def test_listing_and_comment_tree():
    site = FakeReddit()
    try:
        post = site.add(Thing(5000, "anna", "body <b>not html</b>", title="Acme", score=7))
        site.add(Thing(9000, "bob", "first", post=5000))
        site.add(Thing(9001, "cy", "nested", post=5000, parent=9000))
        site.add(Thing(9002, "dee", "[deleted]", post=5000))
        page = extract_listing(site.listing([post], {}))
        assert [(p.entry_key, p.likes, p.replies) for p in page.posts] == [
            (post.fullname, 7, 3)]
        assert page.threads[0].key == post.fullname and page.names == [post.fullname]
        comments = extract_listing(site.listing([site.things[9001]], {}))
        assert comments.posts[0].thread_key == post.fullname
        assert comments.threads[0].title == "Acme" and comments.threads[0].replies is None
        _status, data = site.answer(f"/comments/{b36(5000)}", {})
        thread = extract_comments(data, post.fullname)
        assert [p.author for p in thread.posts] == ["anna", "bob", "cy"]  # deleted: gone
        assert thread.replies == 3 and thread.posts[0].text == "body <b>not html</b>"
        with pytest.raises(ValueError, match="not a Reddit listing"):
            extract_listing({"kind": "Listing"})
    finally:
        site.stop()
