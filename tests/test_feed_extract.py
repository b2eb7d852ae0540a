"""crawlers/extractors/feed.py and text.py: feed bodies to PostItems."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawlers.extractors.feed import MalformedFeed, parse_feed, read_feed, split_shared_keys
from crawlers.extractors.feeddecode import decode_feed
from crawlers.extractors.text import fingerprint, html_to_text
from crawlers.items import PostItem

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Forum</title><link>https://forum.example.com/</link><description>d</description>
  <item>
    <title>Acme &amp; friends &lt;3</title>
    <link>/t/42</link>
    <guid isPermaLink="false">urn:forum:42</guid>
    <dc:creator>Wile &lt;b&gt;E&lt;/b&gt;</dc:creator>
    <description><![CDATA[<p>Hello <b>world</b> &amp; caf&eacute;</p>
      <script>alert("stolen")</script><style>p{color:red}</style><p>second&nbsp;para</p>]]></description>
    <pubDate>Tue, 02 Jan 2024 10:00:00 +0800</pubDate>
    <slash:comments>14</slash:comments>
  </item>
  <item>
    <title>No guid here</title>
    <link>https://forum.example.com/t/43</link>
    <description>text</description>
  </item>
  <item>
    <title></title>
    <description>   </description>
    <link>https://forum.example.com/t/44</link>
  </item>
  <item>
    <title>Bad link</title>
    <link>javascript:alert(1)</link>
    <description>body</description>
    <slash:comments>many</slash:comments>
  </item>
</channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
  <title>Blog</title><id>urn:blog</id><updated>2024-03-01T12:00:00Z</updated>
  <entry>
    <title type="html">Acme &lt;em&gt;broke&lt;/em&gt;</title>
    <id>urn:blog:e1</id>
    <link rel="alternate" href="posts/1.html"/>
    <updated>2024-03-01T12:00:00+02:00</updated>
    <author><name>Road Runner</name></author>
    <content type="html">&lt;p&gt;Broken &amp;amp; rude&lt;/p&gt;
      &lt;script&gt;evil()&lt;/script&gt;</content>
    <thr:total>5</thr:total>
  </entry>
  <entry>
    <title>Summary only</title>
    <link href="https://blog.example.com/other"/>
    <summary>Just a summary</summary>
    <published>2024-02-29T23:30:00Z</published>
  </entry>
</feed>"""

RSS_URL = "https://forum.example.com/feeds/latest.xml"
ATOM_URL = "https://blog.example.com/a/feed.atom"


@pytest.fixture(scope="module")
def rss_items() -> list[PostItem]:
    return parse_feed(RSS, url=RSS_URL, content_type="application/rss+xml")


@pytest.fixture(scope="module")
def atom_items() -> list[PostItem]:
    return parse_feed(ATOM, url=ATOM_URL, content_type="application/atom+xml")


# --- RSS 2.0 -----------------------------------------------------------------------------


def test_rss_entries(rss_items: list[PostItem]) -> None:
    assert [i.title for i in rss_items] == ["Acme & friends <3", "No guid here", "Bad link"]
    assert all(isinstance(i, PostItem) for i in rss_items)


def test_rss_text_is_stripped_html(rss_items: list[PostItem]) -> None:
    text = rss_items[0].text
    assert "Hello world & café" in text
    assert "second\xa0para" in text or "second para" in text
    assert "<" not in text and "&amp;" not in text and "&eacute;" not in text
    assert "stolen" not in text and "alert" not in text and "color" not in text


def test_rss_relative_link_resolved(rss_items: list[PostItem]) -> None:
    assert rss_items[0].url == "https://forum.example.com/t/42"


def test_rss_published_is_aware_utc(rss_items: list[PostItem]) -> None:
    when = rss_items[0].published_at
    assert when == datetime(2024, 1, 2, 2, 0, tzinfo=UTC)
    assert when.utcoffset().total_seconds() == 0
    assert rss_items[1].published_at is None


def test_rss_replies_from_slash_comments(rss_items: list[PostItem]) -> None:
    assert rss_items[0].replies == 14
    assert rss_items[1].replies is None
    assert rss_items[2].replies is None  # "many" is not a number


def test_rss_entry_key_and_author(rss_items: list[PostItem]) -> None:
    assert rss_items[0].entry_key == "urn:forum:42"
    assert rss_items[0].author == "Wile E"
    assert rss_items[1].author is None


def test_entry_without_id_falls_back_to_link(rss_items: list[PostItem]) -> None:
    assert rss_items[1].entry_key == "https://forum.example.com/t/43"


def test_entry_without_id_or_link_falls_back_to_fingerprint(rss_items: list[PostItem]) -> None:
    bad = rss_items[2]
    assert bad.url is None  # javascript: dropped
    assert bad.entry_key == bad.fingerprint == fingerprint("Bad link", "body")


def test_entry_without_title_and_text_is_skipped(rss_items: list[PostItem]) -> None:
    assert all(i.url != "https://forum.example.com/t/44" for i in rss_items)
    assert len(rss_items) == 3


def test_fingerprint_matches_content(rss_items: list[PostItem]) -> None:
    item = rss_items[1]
    assert item.fingerprint == fingerprint(item.title, item.text)


# --- Atom --------------------------------------------------------------------------------


def test_atom_entries(atom_items: list[PostItem]) -> None:
    first, second = atom_items
    assert first.title == "Acme broke"
    assert first.text == "Broken & rude"
    assert first.url == "https://blog.example.com/a/posts/1.html"
    assert first.entry_key == "urn:blog:e1"
    assert first.author == "Road Runner"
    assert first.replies == 5
    assert first.published_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert second.text == "Just a summary"
    assert second.entry_key == "https://blog.example.com/other"
    assert second.published_at == datetime(2024, 2, 29, 23, 30, tzinfo=UTC)
    assert second.replies is None


# --- not feeds ---------------------------------------------------------------------------

HTML = b"""<!DOCTYPE html><html><head><title>Acme store</title></head>
<body><h1>Welcome</h1><p>Buy our phones</p></body></html>"""


@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8", "application/rss+xml"])
def test_html_page_is_malformed(content_type: str | None) -> None:
    with pytest.raises(MalformedFeed) as info:
        parse_feed(HTML, url="https://acme.example/", content_type=content_type)
    assert str(info.value).startswith(("not a feed", "malformed feed"))


@pytest.mark.parametrize("body", [b"", b"hello world", b"{not json"])
def test_garbage_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedFeed):
        parse_feed(body, url="https://acme.example/feed")


def test_truncated_xml_without_entries_is_malformed() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Forum</title><ite'
    with pytest.raises(MalformedFeed) as info:
        parse_feed(body, url=RSS_URL, content_type="application/rss+xml")
    assert str(info.value).startswith("malformed feed")
    assert len(str(info.value)) <= 300


def test_truncated_xml_with_entries_keeps_them() -> None:
    body = RSS.split(b"<item>\n    <title></title>")[0]
    items = parse_feed(body, url=RSS_URL, content_type="application/rss+xml")
    assert [i.title for i in items][:2] == ["Acme & friends <3", "No guid here"]


EMPTY_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Quiet forum</title>
<link>https://forum.example.com/</link><description>nothing yet</description></channel></rss>"""

EMPTY_ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Quiet</title><id>urn:q</id>
<updated>2024-03-01T12:00:00Z</updated></feed>"""


@pytest.mark.parametrize("content_type", ["application/rss+xml", "text/xml", None,
                                          "text/html; charset=utf-8"])
def test_valid_feed_with_zero_entries_is_empty(content_type: str | None) -> None:
    """A well-formed feed that has no entries yet is not an error, whatever the
    server said its type was: the same body with entries parses."""
    assert parse_feed(EMPTY_RSS, url=RSS_URL, content_type=content_type) == []


@pytest.mark.parametrize("content_type", ["application/atom+xml", None])
def test_valid_atom_with_zero_entries_is_empty(content_type: str | None) -> None:
    assert parse_feed(EMPTY_ATOM, url=ATOM_URL, content_type=content_type) == []


@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8"])
def test_feed_with_entries_parses_whatever_the_content_type(content_type: str | None) -> None:
    items = parse_feed(RSS, url=RSS_URL, content_type=content_type)
    assert len(items) == 3


# --- encodings ---------------------------------------------------------------------------

GBK_RSS = """<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0"><channel><title>论坛</title><link>https://bbs.example.cn/</link>
<description>d</description>
<item><title>艾克美手机坏了</title><link>https://bbs.example.cn/1</link>
<description>客服态度很差，我要退款</description></item>
<item><title>艾克美手機壞了，鎔</title><link>https://bbs.example.cn/2</link>
<description>繁體內容</description></item>
</channel></rss>"""


def test_gbk_encoded_feed_declared_gb2312() -> None:
    items = parse_feed(GBK_RSS.encode("gbk"), url="https://bbs.example.cn/rss",
                       content_type="application/rss+xml")
    assert [i.title for i in items] == ["艾克美手机坏了", "艾克美手機壞了，鎔"]
    assert items[0].text == "客服态度很差，我要退款"
    assert items[1].text == "繁體內容"


def test_gbk_encoded_feed_without_content_type() -> None:
    items = parse_feed(GBK_RSS.encode("gbk"), url="https://bbs.example.cn/rss")
    assert items[0].title == "艾克美手机坏了"


# --- text helpers ------------------------------------------------------------------------


def test_html_to_text() -> None:
    html = ("<div>One<br>two</div><script>var x = '<p>no</p>';</script>"
            "<noscript>nojs</noscript><p>three &lt;four&gt; &#x4e2d;</p>\x00\x1b")
    assert html_to_text(html) == "One\ntwo\nthree <four> 中"
    assert html_to_text("") == ""
    assert html_to_text("  \n <p> </p> ") == ""


def test_fingerprint_ignores_whitespace_and_case() -> None:
    a = fingerprint("Acme  Phone", "is\n\tBROKEN  ")
    b = fingerprint("acme phone", "is broken")
    assert a == b
    assert len(a) == 40


def test_fingerprint_differs_for_different_content() -> None:
    assert fingerprint("acme phone", "is broken") != fingerprint("acme phone", "is great")
    assert fingerprint("acme", "") != fingerprint("globex", "")


def test_fingerprint_survives_lone_surrogate() -> None:
    assert fingerprint("x\ud800", "y") != fingerprint("x", "y")


# --- decoding before feedparser (issue 17) -------------------------------------------

ZH_RSS = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
          '<item><title>艾克美手机坏了</title><link>https://bbs.example.cn/1</link>'
          '<description>客服态度很差</description></item>'
          '<item><title>Cafe</title><link>https://bbs.example.cn/2</link>'
          '<description>Nice</description></item></channel></rss>')


@pytest.mark.parametrize("content_type", [None, "application/rss+xml; charset=utf-8",
                                          "text/xml"])
def test_one_stray_byte_does_not_redecode_the_whole_feed(content_type: str | None) -> None:
    body = ZH_RSS.encode().replace(b"Cafe", b"Caf\xe9")
    read = read_feed(body, url="https://bbs.example.cn/rss", content_type=content_type)
    assert [i.title for i in read.items] == ["艾克美手机坏了", "Caf\ufffd"]
    assert read.notes == ["1 byte(s) that are not UTF-8 replaced"]


def test_valid_utf8_is_untouched_and_unnoted() -> None:
    read = read_feed(ZH_RSS.encode(), url="https://bbs.example.cn/rss")
    assert read.items[0].title == "艾克美手机坏了" and read.notes == []
    assert decode_feed(ZH_RSS.encode()).body == ZH_RSS.encode()


def test_declared_legacy_encoding_is_left_to_feedparser() -> None:
    body = GBK_RSS.encode("gbk")
    assert decode_feed(body, "application/rss+xml").replaced == 0
    assert decode_feed(body, "application/rss+xml; charset=gb2312").body == body


def test_undeclared_latin1_without_utf8_evidence_is_left_alone() -> None:
    body = ZH_RSS.replace("艾克美手机坏了", "Crème brûlée").replace("客服态度很差", "déçu")
    latin = body.replace('encoding="utf-8"', "").encode("latin-1")
    assert decode_feed(latin).body == latin  # not UTF-8 at all: feedparser's fallback decides


def test_many_bad_bytes_are_not_a_stray_byte() -> None:
    body = ZH_RSS.encode().replace(b"Cafe", b"\xe9\xe8\xe0\xf9 \xe9\xe8\xe0\xf9 \xe9\xe8")
    assert decode_feed(body).replaced == 0


def test_entries_sharing_a_guid_get_stable_keys_of_their_own() -> None:
    def item(key: str, title: str, url: str) -> PostItem:
        return PostItem(entry_key=key, fingerprint=fingerprint(title, ""), title=title,
                        text="", url=url)

    items = [item("g", "one", "u1"), item("g", "two", "u2"), item("h", "x", "u"),
             item("h", "x", "u")]
    out, notes = split_shared_keys(items)
    assert out[0].entry_key.startswith("g#") and out[0].entry_key != out[1].entry_key
    assert [i.entry_key for i in out[2:]] == ["h", "h"]  # identical: one post, no note
    assert notes == ["2 different entries share the GUID 'g'; kept apart"]
    again, _ = split_shared_keys(list(reversed(items[:2])))
    assert {i.entry_key for i in again} == {i.entry_key for i in out[:2]}
