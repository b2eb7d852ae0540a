"""What a ``kind: reddit`` source reads, with whose credentials, and how fast: pure
functions.

Reddit's Data API wants every client to be an app its user registered
(https://www.reddit.com/prefs/apps, type "script"): the source names the
environment variables holding that app's client id and secret (and, for the
password grant, the account's user name and password); without them the source
is not read. A token comes from ``token_url`` (``POST grant_type=client_credentials``
or ``password`` with HTTP Basic client id:secret) and every API request goes to the
source's ``url`` (``https://oauth.reddit.com``) with ``Authorization: bearer``.

Streams: each subreddit's ``/r/SUB/new`` (posts), its ``/r/SUB/comments`` (new
comments, with ``comments: true``) and ``search`` keywords (``/r/SUB/search``
with ``restrict_sr=1``, or site-wide ``/search``), all ``sort=new``. Each is
polled with ``before`` = the fullname of the newest item read so far (the
source's ``cursor``), so a poll returns only newer items; a page that says there
is more (``data.before``) is followed up to ``MAX_PAGES``.

Reddit announces the budget in ``X-Ratelimit-Used``, ``X-Ratelimit-Remaining``
(a decimal) and ``X-Ratelimit-Reset`` (seconds until the period ends);
``rate_limit`` turns them into the same ``RateLimit`` the Mastodon code throttles on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from crawlers.mastodon import RateLimit, Stream
from crawlers.options import known_options, word_list
from db.messages import said

API_BASE = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
APPS_PAGE = "https://www.reddit.com/prefs/apps"
KEYS = ("subreddits", "search", "comments", "client_id_env", "client_secret_env",
        "username_env", "password_env", "token_url", "user_agent", "limit")
PAGE_LIMIT = 100  # the most items Reddit returns per listing page
MAX_PAGES = 5
_SUB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,100}$")
_FULLNAME = re.compile(r"^t[1-6]_[0-9a-z]{1,16}$")


@dataclass(frozen=True)
class RedditRules:
    """What one source reads and with which credentials (see ``parse_rules``)."""

    client_id_env: str
    client_secret_env: str
    subreddits: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    comments: bool = False
    username_env: str | None = None
    password_env: str | None = None
    token_url: str = TOKEN_URL
    user_agent: str | None = None
    limit: int = PAGE_LIMIT

    def as_dict(self) -> dict:
        """The stored form (``Source.rules``), defaults left out."""
        out: dict = {"client_id_env": self.client_id_env,
                     "client_secret_env": self.client_secret_env}
        for key in ("subreddits", "search"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.comments:
            out["comments"] = True
        for key in ("username_env", "password_env", "user_agent"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.token_url != TOKEN_URL:
            out["token_url"] = self.token_url
        if self.limit != PAGE_LIMIT:
            out["limit"] = self.limit
        return out


def _words(value: object, key: str) -> tuple[str, ...]:
    return word_list(value, key, max_len=512, collapse=True)


def _env(rules: dict, key: str) -> str | None:
    value = rules.get(key)
    if value is not None and (not isinstance(value, str) or not _ENV.match(value)):
        raise ValueError(said("%(key)s: %(value)r is not an environment variable name "
                              "such as REDDIT_CLIENT_ID", key=key, value=value))
    return value


def _http_url(value: object, key: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(said("%(key)s: %(value)r is not an http(s) URL with a host", key=key,
                              value=value))
    return value


def parse_rules(rules: dict | None) -> RedditRules:
    """The source's options, or ``ValueError("key: what is wrong")``."""
    rules = known_options(rules, "reddit", KEYS, "{subreddits: [acme]}")
    subs = tuple(s.removeprefix("/").removeprefix("r/")
                 for s in _words(rules.get("subreddits"), "subreddits"))
    bad = [s for s in subs if not _SUB.match(s)]
    if bad:
        raise ValueError(said("subreddits: %(name)r is not a subreddit name (2 to 21 letters, "
                              "digits or _)", name=bad[0]))
    search = _words(rules.get("search"), "search")
    comments = rules.get("comments", False)
    if not isinstance(comments, bool):
        raise ValueError(said("comments: true or false (got %(value)r)", value=comments))
    if not (subs or search):
        raise ValueError(said("subreddits: say what to read: subreddits and/or search keywords"))
    if comments and not subs:
        raise ValueError(said("comments: new comments are read per subreddit; list subreddits"))
    client_id, secret = _env(rules, "client_id_env"), _env(rules, "client_secret_env")
    if not (client_id and secret):
        raise ValueError(said("%(key)s: Reddit's API needs your own app's credentials: name "
                              "the environment variables holding its client id and secret "
                              "(client_id_env: REDDIT_CLIENT_ID, client_secret_env: "
                              "REDDIT_CLIENT_SECRET; create a script app at %(page)s)",
                              key="client_secret_env" if client_id else "client_id_env",
                              page=APPS_PAGE))
    user, password = _env(rules, "username_env"), _env(rules, "password_env")
    if bool(user) != bool(password):
        raise ValueError(said("username_env: the password grant needs both username_env and "
                              "password_env (leave both out for an app-only token)"))
    token_url = _http_url(rules.get("token_url", TOKEN_URL), "token_url")
    agent = rules.get("user_agent")
    if agent is not None and (not isinstance(agent, str) or not agent.strip()
                              or len(agent) > 300 or not agent.isprintable()):
        raise ValueError(said("user_agent: one printable line such as "
                              "'server:crisiswatch:1.0 (by /u/yourname)'"))
    limit = rules.get("limit", PAGE_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_LIMIT:
        raise ValueError(said("limit: items per request, 1 to %(most)s (got %(value)r)",
                              most=PAGE_LIMIT, value=limit))
    return RedditRules(client_id, secret, subs, search, comments, user, password, token_url,
                       agent, limit)


def with_default_url(data: object) -> object:
    """A source entry of kind ``reddit`` without ``url`` reads Reddit's OAuth API."""
    if isinstance(data, dict) and data.get("kind") == "reddit" and not data.get("url"):
        return {**data, "url": API_BASE}
    return data


def lift_keys(data: object) -> object:
    """A config entry with the reddit keys at the source's top level moved into
    its ``rules`` (as mastodon's are)."""
    if not isinstance(data, dict) or data.get("kind") != "reddit":
        return data
    given = [k for k in KEYS if k in data]
    if not given:
        return data
    if data.get("rules") is not None:
        raise ValueError(said("rules: give %(key)s either at the top level or in rules, "
                              "not both", key=given[0]))
    rest = {k: v for k, v in data.items() if k not in KEYS}
    return {**rest, "rules": {k: data[k] for k in given}}


def check_source(url: str, rules: dict | None, preset: str | None, page: str) -> dict:
    """A reddit source's settings checked together; its rules in stored form."""
    if preset:
        raise ValueError(said("preset: presets are for kind forum (reddit_old reads public "
                              "old.reddit.com pages), not reddit"))
    if page != "listing":
        raise ValueError(said("page: a reddit source reads listings; leave page unset"))
    parts = urlsplit(url)
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(said("url: %(url)r: give the API's address only, such as %(base)s",
                              url=url, base=API_BASE))
    return parse_rules(rules).as_dict()


def credentials(rules: RedditRules, environ: dict) -> tuple[dict[str, str] | None, str | None]:
    """The token request's form and Basic auth pair from the environment, or None and
    why the source cannot be read (a variable not set)."""
    names = [rules.client_id_env, rules.client_secret_env]
    if rules.username_env and rules.password_env:
        names += [rules.username_env, rules.password_env]
    missing = [n for n in names if not environ.get(n, "").strip()]
    if missing:
        return None, (f"disabled: {', '.join(missing)} not set in the daemon's environment; "
                      f"Reddit's API needs your own app's credentials ({APPS_PAGE})")
    values = {n: environ[n].strip() for n in names}
    form = {"grant_type": "client_credentials"}
    if rules.username_env and rules.password_env:
        form = {"grant_type": "password", "username": values[rules.username_env],
                "password": environ[rules.password_env]}
    return {"form": urlencode(form), "id": values[rules.client_id_env],
            "secret": values[rules.client_secret_env]}, None


def streams(rules: RedditRules) -> list[Stream]:
    """What a source polls, in a fixed order (the cursor keys are the names)."""
    limit = (("limit", str(rules.limit)), ("raw_json", "1"))
    out = [Stream(f"new:{s.casefold()}", f"/r/{s}/new", limit) for s in rules.subreddits]
    if rules.comments:
        out += [Stream(f"comments:{s.casefold()}", f"/r/{s}/comments", limit)
                for s in rules.subreddits]
    for q in rules.search:
        found = (("q", q), ("sort", "new"), ("type", "link"), *limit)
        out += [Stream(f"search:{s.casefold()}:{q.casefold()}", f"/r/{s}/search",
                       (*found, ("restrict_sr", "1")), search=True) for s in rules.subreddits]
        if not rules.subreddits:
            out.append(Stream(f"search:{q.casefold()}", "/search", found, search=True))
    return out


def base_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}"


def stream_url(base: str, stream: Stream, before: str | None) -> str:
    """The stream's URL; with ``before`` (a fullname) only items newer than it."""
    params = list(stream.params) + ([("before", before)] if before else [])
    return f"{base_of(base)}{quote(stream.path)}?{urlencode(params)}"


def comments_url(base: str, fullname: str, limit: int = PAGE_LIMIT) -> str:
    """A post and its comments, newest first (a hot thread's re-read)."""
    return (f"{base_of(base)}/comments/{quote(fullname.removeprefix('t3_'), safe='')}"
            f"?{urlencode({'sort': 'new', 'limit': limit, 'raw_json': 1})}")


def fullname_order(name: str) -> int:
    """Reddit ids are base-36 counters: a larger one is newer."""
    return int(name.split("_", 1)[1], 36) if _FULLNAME.match(name) else -1


def newest(names: list[str], current: str | None) -> str | None:
    """The newest of ``names`` and ``current``: the stream's next cursor."""
    known = [n for n in (*names, current) if n and _FULLNAME.match(n)]
    return max(known, key=fullname_order) if known else None


def _number(value: str | None) -> float | None:
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    return number if 0 <= number < 1e9 else None


def rate_limit(headers: dict[str, str | None], now: datetime) -> RateLimit:
    """Reddit's ``X-Ratelimit-*`` headers (keys lower-case) as a ``RateLimit``."""
    used = _number(headers.get("x-ratelimit-used"))
    left = _number(headers.get("x-ratelimit-remaining"))
    reset = _number(headers.get("x-ratelimit-reset"))
    total = int(used + left) if used is not None and left is not None else None
    return RateLimit(total, int(left) if left is not None else None,
                     now + timedelta(seconds=reset) if reset is not None else None)
