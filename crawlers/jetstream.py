"""Jetstream, Bluesky's keyless JSON firehose: what its events mean to us. Pure.

An event is one JSON object per WebSocket message (shape from the README of
github.com/bluesky-social/jetstream)::

    {"did": "did:plc:...", "time_us": 1725911162329308, "kind": "commit",
     "commit": {"rev": "...", "operation": "create", "collection": "app.bsky.feed.post",
                "rkey": "3l3qo2vuowo2b", "cid": "bafy...",
                "record": {"$type": "app.bsky.feed.post", "text": "...",
                           "createdAt": "2024-09-09T19:46:02.102Z", "langs": ["en"],
                           "reply": {"root": {"uri": ..., "cid": ...}, "parent": {...}}}}}

``kind`` may also be ``identity`` or ``account``, and a commit may update or delete;
only created posts are posts. ``time_us`` is the instance's clock in Unix
microseconds, and it is the cursor: ``?cursor=<time_us>`` replays from that time,
so the README advises rewinding a few seconds and processing idempotently."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlers.items import PostItem
from db.messages import said

POST = "app.bsky.feed.post"
DEFAULT_URL = "wss://jetstream2.us-east.bsky.network/subscribe"
MARGIN_US = 2_000_000  # rewind on resume: events just before the cursor come again
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class Seen:
    """One event as the consumer needs it: its time, and the post if it is a
    created post the filter kept."""

    time_us: int
    post: PostItem | None = None


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost: where plain ``ws://`` is fine (tests, a local
    Jetstream)."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_allowed(allow_private: Sequence[str]) -> Callable[[str], bool]:
    """Where the operator lets plain ``ws://`` go: loopback, and the hosts and
    networks listed in ``console.allow_private`` (a Jetstream on the office LAN)."""
    names = {a.casefold() for a in allow_private if "/" not in a}
    nets = []
    for a in allow_private:
        try:
            nets.append(ipaddress.ip_network(a, strict=False))
        except ValueError:
            pass

    def allowed(host: str) -> bool:
        if is_loopback(host) or host.casefold() in names:
            return True
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return any(ip in net for net in nets)

    return allowed


def check_endpoint(url: str, allow_plain: Callable[[str], bool] = is_loopback) -> str | None:
    """Why ``url`` is not a Jetstream endpoint we connect to, else None: ``wss://``
    with a host; ``ws://`` only where ``allow_plain(host)`` says (loopback by default)."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return f"{url!r} is not a ws(s):// URL with a host (e.g. {DEFAULT_URL})"
    if parts.scheme == "ws" and not allow_plain(parts.hostname):
        return (f"{url!r}: plain ws:// only to a loopback host or one listed in "
                "console.allow_private; use wss://")
    return None


def subscribe_url(base: str, cursor: int | None) -> str:
    """``base`` asking for created posts only (``wantedCollections``), from ``cursor``
    when there is one (else the live tail)."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("cursor",
                                                                    "wantedCollections")]
    query.append(("wantedCollections", POST))
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def resume_from(stored: int | None, margin_us: int = MARGIN_US) -> int | None:
    """Where to ask the stream to start: a little before the stored cursor, since
    another instance's clock (or a late commit) may put events just behind it; the
    posts among them are stored already and deduplicated by their key."""
    return None if stored is None else max(0, stored - margin_us)


def post_key(did: str, rkey: str) -> str:
    """The post's AT URI: unique on the network, so the entry key."""
    return f"at://{did}/{POST}/{rkey}"


def post_url(did: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{did}/post/{rkey}"


def parse_time(value: object) -> datetime | None:
    """``createdAt`` as aware UTC; None when absent or not a date (it is the
    client's claim, so anything may be there)."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def event_time(time_us: int) -> datetime:
    return datetime.fromtimestamp(time_us / 1e6, UTC)


def read_event(event: object, keep: Callable[[str], bool]) -> Seen | None:
    """The event's time and, for a created post whose text ``keep`` accepts, the
    post to store; None for what is not an event at all (no integer ``time_us``).
    ``keep`` runs only on created posts' text: the one costly step."""
    if not isinstance(event, dict):
        return None
    time_us = event.get("time_us")
    if type(time_us) is not int:
        return None
    commit = event.get("commit")
    if event.get("kind") != "commit" or not isinstance(commit, dict) \
            or commit.get("operation") != "create" or commit.get("collection") != POST:
        return Seen(time_us)
    record, did, rkey = commit.get("record"), event.get("did"), commit.get("rkey")
    if not isinstance(record, dict) or not isinstance(did, str) or not isinstance(rkey, str):
        return Seen(time_us)
    text = record.get("text")
    if not isinstance(text, str) or not text.strip() or not keep(text):
        return Seen(time_us)
    key = post_key(did, rkey)
    return Seen(time_us, PostItem(
        entry_key=key, fingerprint=hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest(),
        title="", text=text, url=post_url(did, rkey), author=did,
        published_at=parse_time(record.get("createdAt")), thread_key=_thread_of(record)))


def _thread_of(record: dict) -> str | None:
    """A reply's root post (its AT URI): the conversation it belongs to."""
    reply = record.get("reply")
    root = reply.get("root") if isinstance(reply, dict) else None
    uri = root.get("uri") if isinstance(root, dict) else None
    return uri if isinstance(uri, str) else None


def source_url_problem(kind: str | None, url: str) -> str | None:
    """What is wrong with a source's ``url`` for its kind, or None: a Jetstream
    endpoint for ``bluesky`` (ws:// beyond loopback is the config's to allow), an
    http(s) URL with a host for every other kind."""
    if kind == "bluesky":
        return check_endpoint(url, allow_plain=lambda _host: True)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return said("%(url)r is not an http(s) URL with a host", url=url)
    return None
