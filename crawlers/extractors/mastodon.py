"""Mastodon API statuses to posts and threads: pure functions, they never fetch.

Shapes read (field names as Mastodon sends them, as in the recorded responses of
../shared/data/forums/mastodon/): a timeline (``/api/v1/timelines/tag/:tag``,
``/api/v1/timelines/public``) is a JSON list of Status objects; ``/api/v2/search``
is an object whose ``statuses`` is that list; ``/api/v1/statuses/:id`` is one
Status; ``/api/v1/statuses/:id/context`` is ``{"ancestors": [...], "descendants":
[...]}``. A Status has ``id``, ``created_at``, ``content`` (HTML), ``spoiler_text``,
``url``/``uri``, ``account.acct``, ``replies_count``, ``reblogs_count``,
``favourites_count``, ``in_reply_to_id`` and ``reblog`` (a boost wraps the boosted
status there).

Every status of a timeline opens its own thread (key ``s:<id>``): when one is
flagged, the thread turns hot and its replies come in through the context, like a
forum thread's. The thread's reply counter is the status's own ``replies_count``
(read from the timeline, then from ``/api/v1/statuses/:id`` on each hot re-read), so
its snapshots form one series. Content is hostile HTML: scripts are dropped, links
kept as their address, mentions and hashtags as their words.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree, html

from crawlers.extractors.text import fingerprint, html_to_text, safe_link
from crawlers.items import PostItem, ThreadPage, ThreadRef

_MAX_NAME, _MAX_TITLE = 200, 120
_ELLIPSIS = "…"


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return max(0, value)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _clean(value: object, limit: int) -> str:
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in _str(value))
    return " ".join(text.split())[:limit]


def _when(value: object) -> datetime | None:
    text = _str(value).strip()
    if not text or len(text) > 64:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def status_id(status: dict) -> str | None:
    """The status's id on this instance (digits, or an opaque word on other software)."""
    value = status.get("id")
    value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() \
            and value.replace("-", "").replace("_", "").isalnum():
        return value
    return None


def _link_text(anchor: etree._Element) -> str:
    """An anchor as text: a mention or hashtag by its words (``@user``, ``#tag``), a
    link by its address (Mastodon shows it cut, ``example.com/pa…``)."""
    words = " ".join("".join(anchor.itertext()).split())
    classes = (anchor.get("class") or "").split()
    href = safe_link(anchor.get("href"))
    if "mention" in classes or "hashtag" in classes or href is None:
        return words
    shown = words.replace(_ELLIPSIS, "").removesuffix("...")
    if not words or shown in href or words == href:
        return href
    return f"{words} ({href})"


def content_text(content: str) -> str:
    """Status HTML as plain text: paragraphs and line breaks kept, links as their
    full address (the words Mastodon shows of a link are cut)."""
    if not content or not content.strip():
        return ""
    try:
        root = html.fragment_fromstring(content, create_parent="div")
    except (etree.ParserError, ValueError):
        return html_to_text(content)
    for bad in root.xpath(".//script|.//style|.//noscript"):
        bad.drop_tree()
    for anchor in root.xpath(".//a"):
        text, tail = _link_text(anchor), anchor.tail
        anchor.clear()
        anchor.text, anchor.tail = text, tail
    return html_to_text(etree.tostring(root, encoding="unicode", method="html"))


def _media_text(status: dict) -> str:
    """Descriptions of attached pictures: a screenshot's alt text is often the complaint."""
    attachments = status.get("media_attachments")
    if not isinstance(attachments, list):
        return ""
    words = [_clean(a.get("description"), 1500) for a in attachments if isinstance(a, dict)]
    return "\n".join(w for w in words if w)


def _body(status: dict) -> str:
    text = content_text(_str(status.get("content")))
    media = _media_text(status)
    return f"{text}\n{media}" if text and media else text or media


def _unwrap(status: dict) -> dict:
    """A boost's boosted status (public timelines carry none, home timelines do)."""
    inner = status.get("reblog")
    return inner if isinstance(inner, dict) else status


def thread_key(sid: str) -> str:
    return f"s:{sid}"


def status_item(status: object, thread: str | None = None) -> PostItem | None:
    """One Status as a post (``thread`` defaults to its own ``s:<id>``); None for
    a status with no id or no words."""
    if not isinstance(status, dict):
        return None
    status = _unwrap(status)
    sid = status_id(status)
    text = _body(status)
    if sid is None or not text:
        return None
    account = status.get("account") if isinstance(status.get("account"), dict) else {}
    author = _clean(account.get("acct"), _MAX_NAME) or _clean(account.get("username"),
                                                                 _MAX_NAME)
    title = _clean(status.get("spoiler_text"), 500)  # a content warning reads as a subject
    url = safe_link(_str(status.get("url"))) or safe_link(_str(status.get("uri")))
    return PostItem(
        # the id in the fingerprint: two statuses alike in words are two posts
        entry_key=f"status:{sid}",
        fingerprint=fingerprint(f"{author}\x1f{sid}", f"{title}\x1f{text}"),
        title=title, text=text, url=url, author=author or None,
        published_at=_when(status.get("created_at")),
        replies=_int(status.get("replies_count")),
        likes=_int(status.get("favourites_count")),
        shares=_int(status.get("reblogs_count")),
        thread_key=thread or thread_key(sid))


def thread_ref(item: PostItem) -> ThreadRef:
    """The thread a timeline status opens: its replies counted by the status."""
    title = item.title or item.text.split("\n", 1)[0]
    if len(title) > _MAX_TITLE:
        title = title[: _MAX_TITLE - 1] + _ELLIPSIS
    return ThreadRef(key=item.thread_key or "", url=item.url or "", title=title,
                     replies=item.replies, last_post_at=item.published_at)


def parse_body(body: bytes) -> object:
    """The JSON in ``body`` (a list or an object); ``ValueError("not JSON: ...")``
    for an HTML error page, a truncated download or anything else."""
    head = bytes(body[:200]).lstrip().lower()
    if not head:
        raise ValueError("not JSON: empty body")
    if head.startswith(b"<"):
        raise ValueError("not JSON: the body is HTML (an error or login page?)")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                         ) from None
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise ValueError(f"not JSON: {type(exc).__name__}") from None


def statuses_of(data: object) -> list[dict]:
    """The statuses of a timeline (a list) or of a search answer (``statuses``)."""
    if isinstance(data, dict):
        if "error" in data and "statuses" not in data:
            raise ValueError(f"the instance answered: {_clean(data.get('error'), 200)}")
        data = data.get("statuses")
    if not isinstance(data, list):
        raise ValueError("not a list of statuses")
    return [s for s in data if isinstance(s, dict)]


@dataclass
class StreamPage:
    """One page of a stream: its posts (each opening a thread) and the ids it held
    (the cursor moves past statuses that gave no post too)."""

    posts: list[PostItem] = field(default_factory=list)
    threads: list[ThreadRef] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    count: int = 0  # statuses on the page, usable or not: a full page may have a next


def extract_stream(data: object) -> StreamPage:
    """Posts and threads of a timeline or search page; ``ValueError`` if it is none."""
    page = StreamPage()
    for status in statuses_of(data):
        page.count += 1
        sid = status_id(status)
        if sid is not None:
            page.ids.append(sid)
        item = status_item(status)
        if item is not None and item.entry_key not in {p.entry_key for p in page.posts}:
            page.posts.append(item)
            page.threads.append(thread_ref(item))
    return page


def extract_context(root: object, context: object, key: str) -> ThreadPage:
    """A hot status re-read: the status itself (``/api/v1/statuses/:id``, its
    counters now) and its replies (``descendants`` of the context), all in thread
    ``key``. The thread's replies are the status's ``replies_count``."""
    if not isinstance(context, dict) or not isinstance(context.get("descendants"), list):
        raise ValueError("not a status context (no descendants)")
    posts: list[PostItem] = []
    head = status_item(root, key) if isinstance(root, dict) else None
    if head is not None:
        posts.append(head)
    seen = {p.entry_key for p in posts}
    for status in context["descendants"]:
        item = status_item(status, key)
        if item is not None and item.entry_key not in seen:
            seen.add(item.entry_key)
            posts.append(item)
    replies = head.replies if head is not None else None
    return ThreadPage(posts=posts, title=thread_ref(head).title if head else "",
                      replies=replies)
