"""Items are plain dataclasses: what a fetch of one source produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class PostItem:
    """One entry as extracted, before it is stored (and deduplicated)."""

    entry_key: str
    fingerprint: str
    title: str
    text: str
    url: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    replies: int | None = None
    likes: int | None = None
    thread_key: str | None = None  # forum posts: the thread they belong to
    shares: int | None = None  # boosts, reposts: social networks' posts only


@dataclass
class ThreadRef:
    """A thread as a forum listing shows it: where it is and its counters."""

    key: str  # stable id within the source (thread id from the URL, else the URL)
    url: str  # absolute URL of its first page
    title: str = ""
    replies: int | None = None
    views: int | None = None
    last_post_at: datetime | None = None
    likes: int | None = None  # points of a Hacker News story


@dataclass
class Listing:
    """One page of a forum's thread list."""

    threads: list[ThreadRef] = field(default_factory=list)
    next_page: str | None = None


@dataclass
class ThreadPage:
    """One page of a thread: its posts, counters shown on it and the next page."""

    posts: list[PostItem] = field(default_factory=list)
    next_page: str | None = None
    title: str = ""
    replies: int | None = None
    views: int | None = None
    follow: list[str] = field(default_factory=list)  # per-post follow-ups (more comments)


@dataclass
class FetchResult:
    """Everything one poll of one source produced, stored in one transaction so
    the conditional-GET validators are never saved without the posts they cover."""

    source_id: int
    status: int | None = None
    error: str | None = None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    posts: list[PostItem] = field(default_factory=list)
    threads: list[ThreadRef] = field(default_factory=list)  # forum listings
    retry_after: float | None = None  # seconds the server asked us to wait
    notes: list[str] = field(default_factory=list)  # odd but survivable: goes on health
    # search and stream sources (hackernews, mastodon): where each stream's next poll
    # starts, saved with the posts it covers (merged into Source.cursor)
    cursor: dict[str, str] | None = None
    retry_reason: str = "Retry-After"  # the header that asked for ``retry_after``
    # when this poll's request went out, on the lease clock (crawlers/claims.py,
    # ``Claimer.poll_started``): the next poll is due an interval after it
    started_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ThreadResult:
    """One page of one thread, read during a visit that resumes where the last ended."""

    source_id: int
    ref: ThreadRef
    page_url: str
    posts: list[PostItem] = field(default_factory=list)
    replies: int | None = None
    views: int | None = None
    error: str | None = None
    done: bool = False  # the thread was read to its last page
    signature: str | None = None  # what the listing showed; stored when done
    notes: list[str] = field(default_factory=list)  # odd but survivable: goes on health
    extra: bool = False  # posts from a follow-up request: stored, the visit's place kept
