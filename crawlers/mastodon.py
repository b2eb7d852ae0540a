"""What a ``kind: mastodon`` source reads, where, and how fast: pure functions.

A source names an instance (``url``) and, in its ``rules``, the streams to poll:
``hashtags`` (``/api/v1/timelines/tag/:tag``), a public ``timeline`` (``local`` or
``federated``: ``/api/v1/timelines/public``) and ``search`` keywords
(``/api/v2/search?type=statuses``, which needs an access token: ``token_env`` names
the environment variable holding it). Each stream is polled with ``min_id`` = the
newest status id read so far (the source's ``cursor``), so a poll returns only
statuses newer than that, oldest page first, and nothing in between is skipped the
way ``since_id`` (newest page first) would skip it in a burst.

Instances announce their request budget in ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (an ISO 8601 time; see the
recorded responses in ../shared/data/forums/mastodon/): ``throttle`` turns them into
a wait so the daemon stops before the instance answers 429.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit

from crawlers.items import FetchResult
from crawlers.options import known_options, word_list
from db.messages import either, said

TIMELINES = ("local", "federated")
KEYS = ("hashtags", "timeline", "search", "token_env", "limit")
PAGE_LIMIT = 40  # the most statuses Mastodon returns per timeline page
MAX_PAGES = 5  # pages per stream and poll; the cursor carries the rest to the next poll
_TAG = re.compile(r"^[\w\u00b7\u200c]{1,100}$")  # Mastodon's HASHTAG_NAME_RE, roughly
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,100}$")


@dataclass(frozen=True)
class MastodonRules:
    """What one source polls on its instance (validated: see ``parse_rules``)."""

    hashtags: tuple[str, ...] = ()
    timeline: str | None = None
    search: tuple[str, ...] = ()
    token_env: str | None = None
    limit: int = PAGE_LIMIT

    def as_dict(self) -> dict:
        """The stored form (``Source.rules``), unset keys left out."""
        out: dict = {}
        if self.hashtags:
            out["hashtags"] = list(self.hashtags)
        if self.timeline:
            out["timeline"] = self.timeline
        if self.search:
            out["search"] = list(self.search)
        if self.token_env:
            out["token_env"] = self.token_env
        if self.limit != PAGE_LIMIT:
            out["limit"] = self.limit
        return out


@dataclass(frozen=True)
class Stream:
    """One thing polled: its cursor key (``tag:acme``, ``local``, ``search:acme``),
    its API path and query, and whether the instance wants a token for it."""

    name: str
    path: str
    params: tuple[tuple[str, str], ...]
    needs_token: bool = False
    search: bool = False


def parse_rules(rules: dict | None) -> MastodonRules:
    """The source's options, or ``ValueError("key: what is wrong")``."""
    rules = known_options(rules, "mastodon", KEYS, "{hashtags: [acme]}")
    tags = tuple(t.removeprefix("#") for t in word_list(rules.get("hashtags"), "hashtags"))
    bad = [t for t in tags if not _TAG.match(t)]
    if bad:
        raise ValueError(said("hashtags: %(tag)r is not a hashtag (letters, digits and _ "
                              "only, without spaces)", tag=bad[0]))
    timeline = rules.get("timeline")
    if timeline is not None and timeline not in TIMELINES:
        raise ValueError(said("timeline: %(value)r is not one of %(all)s", value=timeline,
                              all=either(TIMELINES)))
    search = word_list(rules.get("search"), "search")
    token_env = rules.get("token_env")
    if token_env is not None and (not isinstance(token_env, str) or not _ENV.match(token_env)):
        raise ValueError(said("token_env: %(value)r is not an environment variable name "
                              "such as MASTODON_TOKEN", value=token_env))
    if search and not token_env:
        raise ValueError(said("search: Mastodon's search needs an access token; set token_env "
                              "to the environment variable that holds it"))
    limit = rules.get("limit", PAGE_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_LIMIT:
        raise ValueError(said("limit: statuses per request, 1 to %(most)s (got %(value)r)",
                              most=PAGE_LIMIT, value=limit))
    if not (tags or timeline or search):
        raise ValueError(said("hashtags: say what to read: hashtags, a timeline (local or "
                              "federated) and/or search keywords"))
    return MastodonRules(tags, timeline, search, token_env, limit)


def check_instance_url(url: str) -> str | None:
    """Why ``url`` is not an instance's address (``https://mastodon.social``), or None."""
    parts = urlsplit(url)
    if parts.path.strip("/") or parts.query or parts.fragment:
        return said("%(url)r: give the instance's address only, such as %(base)s (hashtags "
                    "and timelines are set apart)", url=url,
                    base=f"{parts.scheme}://{parts.netloc}")
    return None


def lift_keys(data: object) -> object:
    """A config entry with the mastodon keys written at the source's top level
    (``hashtags: [acme]``) moved into its ``rules``, where the row keeps them."""
    if not isinstance(data, dict) or not any(k in data for k in KEYS):
        return data
    given = [k for k in KEYS if k in data]
    if data.get("kind") != "mastodon":
        raise ValueError(f"{given[0]}: only a kind mastodon source reads {given[0]} "
                         f"(this one is kind {data.get('kind')})")
    if data.get("rules") is not None:
        raise ValueError(f"rules: give {given[0]} either at the top level or in rules, "
                         "not both")
    rest = {k: v for k, v in data.items() if k not in KEYS}
    return {**rest, "rules": {k: data[k] for k in given}}


def check_source(url: str, rules: dict | None, preset: str | None, page: str) -> dict:
    """A mastodon source's settings checked together; its rules in stored form."""
    if preset:
        raise ValueError(said("preset: presets are for kind forum, not mastodon"))
    if page != "listing":
        raise ValueError(said("page: a mastodon source reads streams; leave page unset"))
    error = check_instance_url(url)
    if error:
        raise ValueError(said("url: %(problem)s", problem=error))
    return parse_rules(rules).as_dict()


def base_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}"


def streams(rules: MastodonRules) -> list[Stream]:
    """The streams a source polls, in a fixed order."""
    limit = ("limit", str(rules.limit))
    out = [Stream(f"tag:{t.casefold()}", f"/api/v1/timelines/tag/{quote(t, safe='')}",
                  (limit,)) for t in rules.hashtags]
    if rules.timeline == "local":
        out.append(Stream("local", "/api/v1/timelines/public", (("local", "true"), limit)))
    elif rules.timeline == "federated":
        out.append(Stream("federated", "/api/v1/timelines/public", (limit,)))
    out += [Stream(f"search:{q.casefold()}", "/api/v2/search",
                   (("q", q), ("type", "statuses"), ("resolve", "false"), limit),
                   needs_token=True, search=True) for q in rules.search]
    return out


def stream_url(base: str, stream: Stream, min_id: str | None) -> str:
    """The stream's URL on the instance; with ``min_id`` only statuses newer than it."""
    params = list(stream.params) + ([("min_id", min_id)] if min_id else [])
    return f"{base_of(base)}{stream.path}?{urlencode(params)}"


def status_url(base: str, status_id: str) -> str:
    return f"{base_of(base)}/api/v1/statuses/{quote(status_id, safe='')}"


def context_url(base: str, status_id: str) -> str:
    return f"{status_url(base, status_id)}/context"


def id_order(status_id: str) -> tuple[int, str]:
    """Sort key of status ids: numeric strings (Mastodon's snowflakes) by value."""
    return (len(status_id), status_id) if status_id.isdecimal() else (0, status_id)


def newest(ids: list[str], current: str | None) -> str | None:
    """The newest of ``ids`` and ``current``: the stream's next cursor."""
    known = [i for i in (*ids, current) if i]
    return max(known, key=id_order) if known else None


# --- rate limits -----------------------------------------------------------------------

@dataclass(frozen=True)
class RateLimit:
    """What the instance said of our budget (any field may be missing)."""

    limit: int | None
    remaining: int | None
    reset: datetime | None


def _number(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def _moment(value: str | None) -> datetime | None:
    value = (value or "").strip()
    if not value or len(value) > 64:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def closed_visit(visit: dict) -> FetchResult:
    """A visit's result once its streams are read or cut short by a rate limit:
    streams left unread are named, and errors fail the fetch only when nothing was
    read (otherwise they are notes). Mastodon and Reddit visits end this way."""
    result: FetchResult = visit["result"]
    if visit["streams"]:
        result.notes.append("not read before the reset: "
                            f"{', '.join(s.name for s in visit['streams'])}")
    if visit["errors"] and not visit["done"]:
        result.error = "; ".join(visit["errors"])[:300]
    elif visit["errors"]:
        result.notes += visit["errors"]
    return result


def picked_headers(headers: object, names: tuple[bytes, ...]) -> dict[str, str]:
    """The named headers of a Scrapy response's ``headers``, lower-cased, each cut
    to 100 characters (instances and Reddit announce their budgets this way)."""
    out = {}
    for name in names:
        value = headers.get(name)
        if value:
            out[name.decode().lower()] = value.decode("latin-1")[:100]
    return out


def rate_limit(headers: dict[str, str | None]) -> RateLimit:
    """``X-RateLimit-*`` headers (keys lower-case) as numbers and a time."""
    return RateLimit(_number(headers.get("x-ratelimit-limit")),
                     _number(headers.get("x-ratelimit-remaining")),
                     _moment(headers.get("x-ratelimit-reset")))


def low(rl: RateLimit) -> bool:
    """Too few requests left to poll again before the reset: a poll of several
    streams and hot threads costs a few, and the instance serves others too."""
    if rl.remaining is None:
        return False
    floor = max(3, (rl.limit or 0) // 20)
    return rl.remaining < floor


def throttle(rl: RateLimit, now: datetime, refused: bool = False) -> tuple[float, str] | None:
    """Seconds to wait and why, when the budget is nearly spent (or the instance
    refused with 429); None when there is room. Without a reset time, a minute."""
    if not (refused or low(rl)):
        return None
    wait = max(0.0, (rl.reset - now).total_seconds()) if rl.reset else 60.0
    left = f"{rl.remaining} of {rl.limit}" if rl.limit is not None else f"{rl.remaining}"
    when = rl.reset.strftime("%Y-%m-%dT%H:%M:%SZ") if rl.reset else "in a minute"
    what = "refused (HTTP 429)" if refused else f"{left} requests left"
    return wait, f"rate limit {what}; paused until the reset at {when} (X-RateLimit)"
