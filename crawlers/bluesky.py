"""A ``kind: bluesky`` source's options and the Bluesky HTTP API answers it reads
beside Jetstream: pure functions, they never fetch.

- Engagement of a flagged (hot) post: ``app.bsky.feed.getPosts`` on the public
  AppView (keyless), up to 25 AT URIs per call; each PostView carries
  ``likeCount``, ``repostCount``, ``replyCount`` (and ``quoteCount``).
- Back-fill (optional, ``handle`` + ``app_password_env``): a session from
  ``com.atproto.server.createSession`` (``{"identifier", "password"}`` ->
  ``{"accessJwt", ...}``) on the account's PDS, then ``app.bsky.feed.searchPosts``
  (``q``, ``sort=latest``, ``since``, ``limit`` <= 100, ``cursor``) answered as
  ``{"cursor"?, "hitsTotal"?, "posts": [PostView]}``.

A PostView (docs.bsky.app, lexicon app.bsky.feed.defs#postView) is ``{"uri":
"at://did/app.bsky.feed.post/rkey", "cid", "author": {"did", "handle"}, "record":
{"text", "createdAt", "reply"?}, "replyCount", "repostCount", "likeCount",
"indexedAt"}``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from crawlers.items import PostItem, ThreadRef
from crawlers.jetstream import POST, parse_time, post_url
from crawlers.options import known_options
from db.messages import said

KEYS = ("handle", "app_password_env", "appview", "pds", "backfill_hours")
APPVIEW = "https://public.api.bsky.app"
PDS = "https://bsky.social"
GETPOSTS_MAX = 25  # URIs per getPosts call, the lexicon's maximum
SEARCH_LIMIT = 100  # posts per searchPosts page, the lexicon's maximum
SEARCH_PAGES = 10  # pages per keyword and back-fill
BACKFILL_HOURS = 24  # how far back a first back-fill (or one after a long gap) reads
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,100}$")
_HANDLE = re.compile(r"^[A-Za-z0-9.-]{3,253}$|^did:[a-z]+:[A-Za-z0-9._:%-]{1,200}$")
_URI = re.compile(r"^at://([^/\s]{1,200})/app\.bsky\.feed\.post/([A-Za-z0-9._~:-]{1,100})$")


@dataclass(frozen=True)
class BlueskyOptions:
    appview: str = APPVIEW
    pds: str = PDS
    handle: str | None = None
    app_password_env: str | None = None
    backfill_hours: int = BACKFILL_HOURS

    @property
    def backfill(self) -> bool:
        return self.handle is not None

    def as_dict(self) -> dict:
        out: dict = {k: getattr(self, k) for k in ("handle", "app_password_env")
                     if getattr(self, k)}
        if self.appview != APPVIEW:
            out["appview"] = self.appview
        if self.pds != PDS:
            out["pds"] = self.pds
        if self.backfill_hours != BACKFILL_HOURS:
            out["backfill_hours"] = self.backfill_hours
        return out


def _base(value: object, key: str, default: str) -> str:
    if value is None:
        return default
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
            or parts.path.strip("/") or parts.query:
        raise ValueError(said("%(key)s: %(value)r is not a service address such as %(default)s",
                              key=key, value=value, default=default))
    return f"{parts.scheme}://{parts.netloc}"


def parse_options(rules: dict | None) -> BlueskyOptions:
    """The source's options, or ``ValueError("key: what is wrong")``. Back-fill is
    asked for by ``handle``; only then is ``app_password_env`` required."""
    rules = known_options(rules, "bluesky", KEYS, "{handle: acme.bsky.social}")
    handle, env = rules.get("handle"), rules.get("app_password_env")
    if handle is not None and (not isinstance(handle, str) or not _HANDLE.match(handle)):
        raise ValueError(said("handle: %(value)r is not a Bluesky handle such as "
                              "acme.bsky.social", value=handle))
    if env is not None and (not isinstance(env, str) or not _ENV.match(env)):
        raise ValueError(said("app_password_env: %(value)r is not an environment variable name "
                              "such as BSKY_APP_PASSWORD", value=env))
    if handle and not env:
        raise ValueError(said("app_password_env: back-fill (handle) needs an app password; "
                              "set app_password_env to the environment variable that holds it"))
    if env and not handle:
        raise ValueError(said("handle: app_password_env is for back-fill; give the account's "
                              "handle too"))
    hours = rules.get("backfill_hours", BACKFILL_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 24 * 7:
        raise ValueError(said("backfill_hours: hours to read back, 1 to 168 (got %(value)r)",
                              value=hours))
    return BlueskyOptions(_base(rules.get("appview"), "appview", APPVIEW),
                          _base(rules.get("pds"), "pds", PDS), handle, env, hours)


def check_source(rules: dict | None, preset: str | None) -> dict | None:
    """A bluesky source's options checked; its rules in stored form."""
    if preset:
        raise ValueError(said("preset: presets are for kind forum, not bluesky"))
    return parse_options(rules).as_dict() or None


def lift_keys(data: object) -> object:
    """A config entry with the bluesky keys at the source's top level moved into
    its ``rules``, where the row keeps them."""
    if not isinstance(data, dict) or data.get("kind") != "bluesky" \
            or not any(k in data for k in KEYS):
        return data
    given = [k for k in KEYS if k in data]
    if data.get("rules") is not None:
        raise ValueError(said("rules: give %(key)s either at the top level or in rules, "
                              "not both", key=given[0]))
    return {**{k: v for k, v in data.items() if k not in KEYS},
            "rules": {k: data[k] for k in given}}


# --- getPosts: engagement of hot posts --------------------------------------------------

def getposts_url(appview: str, uris: list[str]) -> str:
    return f"{appview}/xrpc/app.bsky.feed.getPosts?" + urlencode([("uris", u) for u in uris])


def batches(uris: list[str], size: int = GETPOSTS_MAX) -> list[list[str]]:
    return [uris[i:i + size] for i in range(0, len(uris), size)]


def _count(value: object) -> int | None:
    return max(0, value) if isinstance(value, int) and not isinstance(value, bool) else None


def post_of(view: object) -> PostItem | None:
    """A PostView as a stored post (keyed as Jetstream's are, so the two meet),
    with its counters; None when it is not a post view."""
    if not isinstance(view, dict) or not isinstance(view.get("uri"), str):
        return None
    found = _URI.match(view["uri"])
    record = view.get("record")
    if found is None or not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return None
    did, rkey = found.groups()
    key = f"at://{did}/{POST}/{rkey}"
    reply = record.get("reply")
    root = reply.get("root") if isinstance(reply, dict) else None
    thread = root.get("uri") if isinstance(root, dict) and isinstance(root.get("uri"), str) \
        else None
    return PostItem(entry_key=key, fingerprint=hashlib.sha1(key.encode()).hexdigest(),
                    title="", text=record["text"], url=post_url(did, rkey), author=did,
                    published_at=parse_time(record.get("createdAt")), thread_key=thread,
                    replies=_count(view.get("replyCount")), likes=_count(view.get("likeCount")),
                    shares=_count(view.get("repostCount")))


def views_of(data: object) -> list[dict]:
    """The PostViews of a getPosts or searchPosts answer; ``ValueError`` if none."""
    posts = data.get("posts") if isinstance(data, dict) else None
    if not isinstance(posts, list):
        raise ValueError("not a posts answer (no posts list)")
    return [v for v in posts if isinstance(v, dict)]


def engagement(data: object) -> dict[str, tuple[PostItem, ThreadRef]]:
    """A getPosts answer: per AT URI, the post with its counters and its thread's
    counters (replies and likes), for the hot re-read."""
    out = {}
    for view in views_of(data):
        item = post_of(view)
        if item is not None:
            out[item.entry_key] = (item, ThreadRef(key=item.entry_key, url=item.url or "",
                                                   replies=item.replies, likes=item.likes))
    return out


# --- back-fill ----------------------------------------------------------------------------

def session_url(pds: str) -> str:
    return f"{pds}/xrpc/com.atproto.server.createSession"


def access_token(data: object) -> str:
    token = data.get("accessJwt") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise ValueError("createSession answered without an accessJwt")
    return token


def search_url(pds: str, q: str, since: datetime, cursor: str | None = None) -> str:
    params = [("q", q), ("sort", "latest"), ("limit", str(SEARCH_LIMIT)),
              ("since", since.strftime("%Y-%m-%dT%H:%M:%S.000Z"))]
    if cursor:
        params.append(("cursor", cursor))
    return f"{pds}/xrpc/app.bsky.feed.searchPosts?{urlencode(params)}"


def search_page(data: object) -> tuple[list[PostItem], str | None]:
    """A searchPosts page: its posts and the cursor of the next page (None: the end)."""
    posts = [p for p in map(post_of, views_of(data)) if p is not None]
    cursor = data.get("cursor")
    return posts, cursor if isinstance(cursor, str) and cursor else None
