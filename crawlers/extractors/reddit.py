"""Reddit API listings to posts and threads: pure functions, they never fetch.

Shapes read (as Reddit's API documentation, https://www.reddit.com/dev/api, and its
JSON describe them): a listing (``/r/SUB/new``, ``/r/SUB/comments``, ``/search``)
is ``{"kind": "Listing", "data": {"before", "after", "children": [{"kind": "t3" |
"t1", "data": {...}}]}}``. A post (t3) has ``name`` (its fullname ``t3_<id>``),
``title``, ``selftext``, ``url``, ``permalink``, ``author``, ``created_utc`` (epoch
seconds), ``score``, ``num_comments`` and ``subreddit``; a comment (t1) has
``name``, ``body``, ``author``, ``created_utc``, ``score``, ``permalink``,
``link_id`` (its post's fullname), ``link_title`` and ``link_permalink`` when listed
outside its post. ``/comments/<id>`` is a list of two listings: the post, then its
comment tree (each comment's ``replies`` is a listing, or "" when it has none).

Every post opens its own thread (key = its fullname); a comment goes in its
post's thread. A post's counters (``score`` as likes, ``num_comments`` as replies)
are engagement snapshots; a hot thread's re-read gives them again with the newest
comments. Texts are stored as Reddit sends them with ``raw_json=1`` (markdown, no
HTML entities).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crawlers.extractors.text import fingerprint, safe_link
from crawlers.items import PostItem, ThreadPage, ThreadRef
from crawlers.reddit import fullname_order

SITE = "https://www.reddit.com"
_MAX_NAME, _MAX_TITLE, _MAX_TEXT = 100, 300, 40_000


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _line(value: object, limit: int) -> str:
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in _str(value))
    return " ".join(text.split())[:limit]


def _text(value: object) -> str:
    text = _str(value).replace("\r\n", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
                   ).strip()[:_MAX_TEXT]


def _when(value: object) -> datetime | None:
    number = _int(value) if not isinstance(value, float) else value
    if number is None or not 0 < number < 4e10:
        return None
    return datetime.fromtimestamp(number, UTC)


def _link(permalink: object) -> str | None:
    path = _str(permalink)
    return safe_link(SITE + path) if path.startswith("/") else safe_link(path)


def children(listing: object, kinds: tuple[str, ...] = ("t3", "t1")) -> list[dict]:
    """The things of a listing, of the given kinds; ``ValueError`` if it is no listing."""
    if isinstance(listing, dict) and "error" in listing and "data" not in listing:
        said = listing.get("message") or listing["error"]
        raise ValueError(f"Reddit answered: {_line(str(said), 200)}")
    data = listing.get("data") if isinstance(listing, dict) else None
    things = data.get("children") if isinstance(data, dict) else None
    if not isinstance(things, list):
        raise ValueError("not a Reddit listing (no data.children)")
    return [t["data"] for t in things if isinstance(t, dict) and t.get("kind") in kinds
            and isinstance(t.get("data"), dict)]


def post_item(post: dict) -> PostItem | None:
    """A t3 as a post opening its own thread; None without a fullname."""
    name = _str(post.get("name"))
    if not name.startswith("t3_"):
        return None
    title = _line(post.get("title"), _MAX_TITLE)
    link = safe_link(_str(post.get("url")))
    url = _link(post.get("permalink"))
    body = _text(post.get("selftext")) or (link if link and link != url else "") or title
    author = _line(post.get("author"), _MAX_NAME) or None
    return PostItem(entry_key=name, fingerprint=fingerprint(f"{author}\x1f{name}",
                                                            f"{title}\x1f{body}"),
                    title=title, text=body, url=url, author=author,
                    published_at=_when(post.get("created_utc")),
                    replies=_int(post.get("num_comments")), likes=_int(post.get("score")),
                    thread_key=name)


def comment_item(comment: dict, thread: str | None = None) -> PostItem | None:
    """A t1 as a post in its post's thread; None for a deleted or empty comment."""
    name, body = _str(comment.get("name")), _text(comment.get("body"))
    key = thread or _str(comment.get("link_id"))
    if not name.startswith("t1_") or not key.startswith("t3_") or body in ("", "[deleted]",
                                                                           "[removed]"):
        return None
    author = _line(comment.get("author"), _MAX_NAME) or None
    return PostItem(entry_key=name, fingerprint=fingerprint(f"{author}\x1f{name}", body),
                    title="", text=body, url=_link(comment.get("permalink")), author=author,
                    published_at=_when(comment.get("created_utc")),
                    likes=_int(comment.get("score")), thread_key=key)


def post_ref(item: PostItem) -> ThreadRef:
    return ThreadRef(key=item.thread_key or item.entry_key, url=item.url or "",
                     title=item.title, replies=item.replies, likes=item.likes,
                     last_post_at=item.published_at)


@dataclass
class StreamPage:
    """One listing page: its posts and threads, every fullname on it (the cursor
    moves past things that gave no post), and whether Reddit has newer ones."""

    posts: list[PostItem] = field(default_factory=list)
    threads: list[ThreadRef] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    more: bool = False


def _newer(name: str, than: str | None) -> bool:
    if than is None or name[:3] != than[:3]:
        return True
    return fullname_order(name) > fullname_order(than)


def extract_listing(data: object, newer_than: str | None = None) -> StreamPage:
    """Posts and comments of a listing (with ``newer_than``, only things of its
    kind newer than that fullname); ``ValueError`` if it is no listing."""
    page, seen = StreamPage(), set()
    page.more = bool(isinstance(data, dict) and (data.get("data") or {}).get("before"))
    for thing in children(data):
        name = _str(thing.get("name"))
        if not _newer(name, newer_than):
            continue
        if name:
            page.names.append(name)
        item = post_item(thing) if name.startswith("t3_") else comment_item(thing)
        if item is None or item.entry_key in seen:
            continue
        seen.add(item.entry_key)
        page.posts.append(item)
        if name.startswith("t3_"):
            page.threads.append(post_ref(item))
        elif item.thread_key not in {t.key for t in page.threads}:  # its post, unread
            page.threads.append(ThreadRef(key=item.thread_key, title=_line(
                thing.get("link_title"), _MAX_TITLE), url=_link(thing.get("link_permalink"))
                or ""))
    return page


def _tree(listing: object, key: str, out: list[PostItem], depth: int = 0) -> None:
    if depth > 50 or not isinstance(listing, dict):  # "" where a comment has no replies
        return
    for comment in children(listing, ("t1",)):
        item = comment_item(comment, key)
        if item is not None:
            out.append(item)
        _tree(comment.get("replies"), key, out, depth + 1)


def extract_comments(data: object, key: str) -> ThreadPage:
    """A hot post re-read (``/comments/<id>``): the post with its counters now, and
    its comments; the thread's replies are the post's ``num_comments``."""
    if not isinstance(data, list) or len(data) < 2:
        raise ValueError("not a post with its comments (expected two listings)")
    head = next((post_item(p) for p in children(data[0], ("t3",))), None)
    posts = [head] if head is not None else []
    _tree(data[1], key, posts)
    seen: set[str] = set()
    posts = [p for p in posts if not (p.entry_key in seen or seen.add(p.entry_key))]
    return ThreadPage(posts=posts, title=head.title if head else "",
                      replies=head.replies if head else None)
