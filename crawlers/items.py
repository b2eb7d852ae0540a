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

    @property
    def ok(self) -> bool:
        return self.error is None
