"""Discourse's JSON API to Listings and ThreadPages: pure functions, they never fetch.

Endpoints read here (field names as Discourse sends them):

* ``/latest.json``: ``topic_list.topics[]`` and ``topic_list.more_topics_url``;
* ``/t/{id}/posts.json`` (optionally ``?post_number=N``), ``/t/{id}.json`` and
  ``/t/{id}/{n}.json``: ``post_stream.posts[]`` (the topic views add ``title``,
  ``posts_count``, ``highest_post_number``, ``views`` and ``post_stream.stream``);
* the global ``/posts.json``: ``latest_posts[]`` (the newest posts of every topic).

Everything in the body is data from the web: ``cooked`` HTML goes through
``html_to_text`` (scripts dropped, links reduced to their words), names and titles
lose control characters, and only http(s) links on the forum's own origin are
built. Missing or mistyped fields give ``None``/``""``, never an exception.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import quote, urljoin, urlsplit

from crawlers.extractors.text import fingerprint, html_to_text, safe_link
from crawlers.items import Listing, PostItem, ThreadPage, ThreadRef

CHUNK = 20  # posts Discourse returns per /t/{id}/posts.json request ("chunk_size")
LIKE = 2  # actions_summary id of a like
_MAX_NAME, _MAX_TITLE = 200, 500
_VIDEO_TITLE = re.compile(
    r"""(?i)\bdata-video-title\s*=\s*(?:"([^"<>]{0,1000})"|'([^'<>]{0,1000})')""")


# --- small type guards: the body is untrusted, a field may hold anything ------------

def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _int(value: object) -> int | None:
    """An integer field (``12`` or ``"12"``); booleans, fractions and junk give None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) < 19:
        return int(value.strip())
    return None


def _clean(value: object, limit: int) -> str:
    """Plain text (usernames, titles, slugs): no control characters, one line, capped."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in str(value))
    return " ".join(text.split())[:limit]


def _when(value: object) -> datetime | None:
    """ISO 8601 (``2026-01-21T23:29:42.524Z``) as an aware UTC datetime; naive means UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _base(base: str) -> str:
    return base.strip().rstrip("/")


# --- URLs ------------------------------------------------------------------------------

def latest_url(base: str) -> str:
    """The forum's list of recently active topics, as JSON."""
    return f"{_base(base)}/latest.json"


def topic_posts_url(base: str, topic_id: int, after_post_number: int | None = None) -> str:
    """``/t/{id}/posts.json``; with ``after_post_number`` the page of posts after that one.

    As the captured responses show (README of the Discourse samples),
    ``?post_number=N`` does not *start* at N: it returns up to ``CHUNK`` (20) posts
    numbered *below* N, newest first (``?post_number=41`` on a 446-post topic gives
    40..21; beyond the end it gives the last 20). To continue after post L we
    therefore ask for ``N = L + 1 + CHUNK``: the window L+1..L+20 holds at most 20
    posts, so the server's limit can never cut one of them off, and any post after
    L that exists in it is returned. (``N = L + 1`` would return L and older posts
    again and never progress.) Discourse orders by ``sort_order``, which can differ
    from ``post_number`` by one or two after posts were moved; the window then
    still overlaps what was read, so nothing is skipped.
    """
    url = f"{_base(base)}/t/{int(topic_id)}/posts.json"
    if after_post_number is None:
        return url
    return f"{url}?post_number={max(0, int(after_post_number)) + 1 + CHUNK}"


def _same_origin(url: str, base: str) -> str | None:
    """``url`` (relative or absolute) resolved against the forum, kept only on its origin."""
    absolute = safe_link(urljoin(_base(base) + "/", url.strip()))
    if absolute is None:
        return None
    there, home = urlsplit(absolute), urlsplit(_base(base))
    if (there.scheme, there.netloc) != (home.scheme, home.netloc):
        return None
    return absolute


def _json_listing_url(more: object, base: str) -> str | None:
    """``/latest?page=1`` -> ``{base}/latest.json?page=1`` (also for a forum in a subfolder)."""
    if not isinstance(more, str) or not more.strip():
        return None
    parts = urlsplit(more.strip())
    if parts.scheme or parts.netloc:
        if _same_origin(more, base) is None:
            return None
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    home = urlsplit(_base(base))
    prefix = home.path.rstrip("/")
    if prefix and not (path == prefix or path.startswith(prefix + "/")):
        path = prefix + path
    path = path.rstrip("/")
    if not path or path == prefix:
        return None
    if not path.endswith(".json"):
        path += ".json"
    path = quote(path, safe="/%-._~!$&'()*+,;=:@")
    query = f"?{quote(parts.query, safe='=&%-._~+,;:@/')}" if parts.query else ""
    return f"{home.scheme}://{home.netloc}{path}{query}"


# --- /latest.json ------------------------------------------------------------------------

def extract_latest(data: dict, base: str) -> Listing:
    """Topics of a ``/latest.json`` page (``topic_list.topics[]``) and its next page.

    ``replies`` is ``posts_count - 1`` (the opening post is not a reply),
    ``last_post_at`` is ``last_posted_at`` (else ``bumped_at``) in UTC, and the next
    page is ``topic_list.more_topics_url`` in its JSON form.
    """
    topic_list = _dict(_dict(data).get("topic_list"))
    threads: list[ThreadRef] = []
    seen: set[int] = set()
    for topic in _list(topic_list.get("topics")):
        topic = _dict(topic)
        topic_id = _int(topic.get("id"))
        if topic_id is None or topic_id <= 0 or topic_id in seen:
            continue
        seen.add(topic_id)
        title = (_clean(topic.get("title"), _MAX_TITLE)
                 or _clean(html_to_text(str(topic.get("fancy_title") or "")), _MAX_TITLE)
                 or _clean(topic.get("slug"), _MAX_TITLE))
        posts_count = _int(topic.get("posts_count"))
        views = _int(topic.get("views"))
        threads.append(ThreadRef(
            key=f"t:{topic_id}",
            url=topic_posts_url(base, topic_id),
            title=title,
            replies=max(0, posts_count - 1) if posts_count is not None else None,
            views=max(0, views) if views is not None else None,
            last_post_at=_when(topic.get("last_posted_at")) or _when(topic.get("bumped_at")),
        ))
    return Listing(threads=threads,
                   next_page=_json_listing_url(topic_list.get("more_topics_url"), base))


# --- posts -----------------------------------------------------------------------------

def _likes(post: dict) -> int | None:
    likes = _int(post.get("like_count"))
    if likes is not None:
        return max(0, likes)
    summary = post.get("actions_summary")
    if not isinstance(summary, list):
        return None
    for action in summary:
        action = _dict(action)
        if _int(action.get("id")) == LIKE:
            return max(0, _int(action.get("count")) or 0)
    return 0  # the summary lists only actions someone took: no like entry, no likes


def _post_url(post: dict, base: str, topic_id: int | None, number: int | None) -> str | None:
    if topic_id is not None and topic_id > 0 and number is not None:
        slug = _clean(post.get("topic_slug"), _MAX_TITLE)
        where = f"{quote(slug, safe='-_.~')}/{topic_id}" if slug else f"{topic_id}"
        return f"{_base(base)}/t/{where}/{number}"
    relative = post.get("post_url")
    return _same_origin(relative, base) if isinstance(relative, str) and relative else None


def _body(post: dict) -> str:
    """``cooked`` as text, plus the titles of embedded videos; else ``raw``.

    A post can be nothing but an embed (a TikTok/YouTube "lazy video" onebox): its
    words then live only in the ``data-video-title`` attribute (a real sample:
    "Wells Fargo messed with the wrong one. They lied to a woman..."), so those
    titles are kept as text too. Without cooked text the markdown ``raw`` is used.
    """
    cooked = post.get("cooked")
    text = ""
    if isinstance(cooked, str) and cooked.strip():
        text = html_to_text(cooked)
        for match in _VIDEO_TITLE.finditer(cooked):
            title = html_to_text(match.group(1) or match.group(2) or "")
            if title and title not in text:
                text = f"{text}\n{title}" if text else title
    if not text:
        raw = post.get("raw")
        text = html_to_text(raw) if isinstance(raw, str) else ""
    return text


def _withdrawn(post: dict) -> bool:
    """Deleted or withdrawn by its author: what remains is a system notice, not their words."""
    return bool(post.get("deleted_at")) or post.get("user_deleted") is True


def _post_item(post: dict, base: str, title: str, thread_key: str | None,
               topic_id: int | None, posts_count: int | None) -> PostItem | None:
    text = _body(post)
    if not text or _withdrawn(post):
        return None
    number = _int(post.get("post_number"))
    number = number if number is not None and number > 0 else None
    author = _clean(post.get("username"), _MAX_NAME) or _clean(post.get("name"), _MAX_NAME)
    post_id = _int(post.get("id"))
    fp = fingerprint(author, text)
    if post_id is not None:
        key = f"post:{post_id}"
    elif topic_id is not None and number is not None:
        key = f"post:{topic_id}/{number}"
    else:
        key = f"post:fp:{fp}"
    if number == 1 and posts_count is not None:
        replies: int | None = max(0, posts_count - 1)  # the opener stands for its topic
    else:
        reply_count = _int(post.get("reply_count"))
        replies = max(0, reply_count) if reply_count is not None else None
    return PostItem(
        entry_key=key,
        fingerprint=fp,
        title=title,
        text=text,
        url=_post_url(post, base, topic_id, number),
        author=author or None,
        published_at=_when(post.get("created_at")),
        replies=replies,
        likes=_likes(post),
        thread_key=thread_key,
    )


def _topic_title(data: dict, post: dict) -> str:
    return (_clean(data.get("title"), _MAX_TITLE) or _clean(post.get("topic_title"), _MAX_TITLE)
            or _clean(post.get("topic_slug"), _MAX_TITLE))


def _has_more(data: dict, page_posts: list[dict], highest_seen: int,
              posts_count: int | None) -> bool:
    """Whether posts numbered above ``highest_seen`` (P) exist, from this page alone.

    In the order of preference, as the real responses carry them:

    1. ``highest_post_number`` (topic views ``/t/{id}.json``): more iff P < it.
    2. ``post_stream.stream`` (all post ids, in order; topic views): more iff the
       page's last post is not the stream's last.
    3. ``posts_count`` (the only counter on ``/t/{id}/posts.json`` pages, repeated on
       every post). Post numbers are distinct positive integers, so at most
       ``P - g`` posts are numbered 1..P, where g counts the numbers missing between
       the lowest and highest post of this page (a page is a run of consecutive
       posts, so a missing number there is a deleted or moved post). If
       ``P - g < posts_count`` more posts certainly exist. Otherwise P may still
       not be the end when deleted posts elsewhere shifted the numbering
       (topic 2108: 446 posts, numbered up to 452); when the page is full and
       P > posts_count proves such gaps exist, we go on once more. That last
       request returns what was read (P does not grow), so the same URL comes back
       as next_page and the caller stops on "next page == this page".
    4. No counters at all: a full page (``CHUNK`` posts) may have a successor.

    Limit: a run of 20 or more deleted/moved post numbers right after P looks,
    from the page alone, exactly like the end (the next request returns the same
    posts), so such a walk stops there; the global ``/posts.json`` poll still sees
    the newer posts.
    """
    highest = _int(data.get("highest_post_number"))
    if highest is not None:
        return highest_seen < highest
    stream = [i for i in (_int(x) for x in _list(_dict(data.get("post_stream")).get("stream")))
              if i is not None]
    positions = {post_id: n for n, post_id in enumerate(stream)}
    on_page = [positions[i] for p in page_posts
               if (i := _int(p.get("id"))) is not None and i in positions]
    if on_page:
        return max(on_page) < len(stream) - 1
    numbers = {n for p in page_posts if (n := _int(p.get("post_number"))) is not None and n > 0}
    if posts_count is not None and numbers:
        gaps = max(numbers) - min(numbers) + 1 - len(numbers)
        if highest_seen - gaps < posts_count:
            return True
        return highest_seen > posts_count and len(page_posts) >= CHUNK
    return len(page_posts) >= CHUNK


def extract_posts(data: dict, base: str, topic_key: str | None = None) -> ThreadPage:
    """Posts of a topic page (``post_stream.posts[]``) or of the global ``latest_posts[]``.

    Each post becomes a PostItem keyed ``post:<id>``; ``cooked`` HTML is read as
    text (``raw`` when there is no ``cooked``); posts with no text, deleted or
    withdrawn ones are skipped. On a topic page every post gets ``thread_key =
    topic_key or "t:<topic id>"``, and ``next_page`` is
    ``topic_posts_url(base, topic_id, P)`` with P the highest post number on the
    page, when ``_has_more`` says later posts exist (see there for the evidence
    used), else None. The page's ``replies`` is the topic's ``posts_count - 1``;
    a post's ``replies`` is that too for the opening post (it stands for the
    topic, like a feed entry), else the post's own ``reply_count``.

    The global ``/posts.json`` mixes topics: each post's ``thread_key`` is its own
    ``t:<topic_id>`` (``topic_key`` only for a post without one), the page has no
    topic title or counters, and ``next_page`` is None: it is polled for the
    newest posts, not paged back through history.
    """
    data = _dict(data)
    latest = data.get("latest_posts")
    if isinstance(latest, list) and "post_stream" not in data:
        posts = []
        for post in latest:
            post = _dict(post)
            topic_id = _int(post.get("topic_id"))
            key = f"t:{topic_id}" if topic_id is not None else topic_key
            item = _post_item(post, base, _clean(post.get("topic_title"), _MAX_TITLE)
                              or _clean(post.get("topic_slug"), _MAX_TITLE),
                              key, topic_id, _int(post.get("posts_count")))
            if item is not None:
                posts.append(item)
        return ThreadPage(posts=posts)

    raw_posts = [p for p in _list(_dict(data.get("post_stream")).get("posts"))
                 if isinstance(p, dict)]
    first = raw_posts[0] if raw_posts else {}
    topic_id = _int(data.get("id")) if "post_stream" in data else None
    if topic_id is None:
        topic_id = next((t for p in raw_posts if (t := _int(p.get("topic_id"))) is not None),
                        None)
    counts = [c for p in raw_posts if (c := _int(p.get("posts_count"))) is not None]
    posts_count = _int(data.get("posts_count"))
    if posts_count is None and counts:
        posts_count = max(counts)
    title = _topic_title(data, first)
    thread_key = topic_key or (f"t:{topic_id}" if topic_id is not None else None)
    posts = []
    for post in raw_posts:
        post_topic = _int(post.get("topic_id"))
        item = _post_item(post, base, title, thread_key,
                          post_topic if post_topic is not None else topic_id, posts_count)
        if item is not None:
            posts.append(item)
    numbers = [n for p in raw_posts if (n := _int(p.get("post_number"))) is not None and n > 0]
    next_page = None
    if topic_id is not None and topic_id > 0 and numbers:
        highest_seen = max(numbers)
        if _has_more(data, raw_posts, highest_seen, posts_count):
            next_page = topic_posts_url(base, topic_id, highest_seen)
    views = _int(data.get("views"))
    return ThreadPage(
        posts=posts,
        next_page=next_page,
        title=title,
        replies=max(0, posts_count - 1) if posts_count is not None else None,
        views=max(0, views) if views is not None else None,
    )


# --- bodies ----------------------------------------------------------------------------

def parse_json(body: bytes) -> dict:
    """The JSON object in ``body``; ``ValueError("not JSON: <why>")`` for anything else.

    A login page, a Cloudflare challenge, a truncated download or a top-level list
    all end here, so the caller can report the reason instead of a traceback.
    """
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    if not isinstance(body, bytes | bytearray) or not body.strip():
        raise ValueError("not JSON: empty body")
    head = bytes(body[:200]).lstrip().lower()
    if head.startswith(b"<"):
        raise ValueError("not JSON: the body is HTML/XML (a login or error page?)")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError:
        raise ValueError("not JSON: the body is not UTF-8/16/32 text") from None
    except RecursionError:
        raise ValueError("not JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with too many digits
        raise ValueError(f"not JSON: {str(exc)[:100]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"not JSON: the top level is {type(data).__name__}, not an object")
    return data
