"""Every post of an incident with its own words, for the incident and alert pages.

A forum reply's title is its thread's title, so a list of titles reads as one
thread repeated; here each post carries its text, its thread's title as context,
its author when the crawler stored one, when it was posted (``published_at``) and
when it was seen (``fetched_at``). A post seen after the alert was raised is "new
since the alert": the alert could not have carried it.

The pages poll for posts that join the incident after they were loaded. Mentions
join an incident in no id order (a post scored late is grouped late), so the poll
compares the incident's post ids with the ones on the page rather than a cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Row, func
from sqlmodel import select

from db.engine import read_session
from db.models import Alert, Mention, Post, Source, Thread

PAGE_POSTS = 150  # the newest shown on a page (rendering costs ~0.25 ms a post); the count
# says how many there are, and the history page has them all
CLIP_CHARS = 600  # longer texts show this much, the rest behind "show all"
MAX_TEXT = 20_000


@dataclass(frozen=True)
class AlertMark:
    """The alert posts are compared with: those seen after ``created_at`` are new."""

    id: int
    created_at: datetime


def split_text(text: str, limit: int = CLIP_CHARS) -> tuple[str, str]:
    """(what shows at once, the whole text or "" when nothing is hidden)."""
    text = (text or "")[:MAX_TEXT]
    if len(text) <= limit:
        return text, ""
    return text[:limit].rstrip() + "…", text


def _heading(post_title: str, thread_title: str | None, text: str) -> str:
    """The context line above a post's words: its thread, or its own title when that
    is not just the start of its text (feeds without a body repeat the title)."""
    heading = (thread_title or post_title or "").strip()
    body = " ".join((text or "").split())
    return "" if not heading or body.startswith(" ".join(heading.split())) else heading


# only what a post shows: whole ORM rows cost twice as much for a 400-post incident
_COLUMNS = (Post.id, Post.title, Post.text, Post.author, Post.url, Post.published_at,
            Post.fetched_at, Source.name.label("source"), Source.kind, Mention.risk,
            Mention.sentiment, Mention.language, Mention.grouped_by,
            Thread.title.label("thread_title"))


def post_view(row: Row, mark: AlertMark | None) -> dict:
    """One post as the templates show it (a plain dict; the template escapes it), with
    its mention's scores and why detection put it in this incident."""
    text = row.text or row.title or ""
    short, full = split_text(text)
    return {"id": row.id, "source": row.source, "kind": row.kind, "author": row.author,
            "heading": _heading(row.title, row.thread_title, text), "text": short,
            "full": full, "link": row.url, "posted": row.published_at,
            "seen": row.fetched_at, "risk": row.risk, "sentiment": row.sentiment,
            "language": row.language, "grouped_by": row.grouped_by,
            "new": mark is not None and row.fetched_at > mark.created_at}


def alert_mark(engine: Engine, incident_id: int, alert_id: int | None = None
               ) -> AlertMark | None:
    """Alert ``alert_id`` if it is this incident's, else the incident's latest alert
    (what the team was last told); None before any alert."""
    with read_session(engine) as s:
        q = select(Alert.id, Alert.created_at).where(Alert.incident_id == incident_id)
        if alert_id is not None:
            found = s.exec(q.where(Alert.id == alert_id)).first()
            if found:
                return AlertMark(*found)
        found = s.exec(q.order_by(Alert.created_at.desc(), Alert.id.desc())).first()
    return AlertMark(*found) if found else None


def incident_posts(engine: Engine, incident_id: int, *, mark: AlertMark | None = None,
                   ids: Sequence[int] | None = None, limit: int = PAGE_POSTS) -> list[dict]:
    """The incident's posts, newest seen first (only ``ids`` among them when given)."""
    q = (select(*_COLUMNS)
         .join(Mention, Mention.post_id == Post.id).join(Source, Post.source_id == Source.id)
         .outerjoin(Thread, Post.thread_id == Thread.id)
         .where(Mention.incident_id == incident_id))
    if ids is not None:
        q = q.where(Post.id.in_(list(ids) or [-1]))
    with read_session(engine) as s:
        rows = s.exec(q.order_by(Post.fetched_at.desc(), Post.id.desc()).limit(limit)).all()
    return [post_view(row, mark) for row in rows]


def incident_post_ids(engine: Engine, incident_id: int) -> list[int]:
    """Ids of the incident's newest posts (as many as a page shows): what a page
    compares with its own list to fetch the ones it lacks."""
    with read_session(engine) as s:
        return list(s.exec(select(Mention.post_id).join(Post, Mention.post_id == Post.id)
                           .where(Mention.incident_id == incident_id)
                           .order_by(Post.fetched_at.desc(), Post.id.desc())
                           .limit(PAGE_POSTS)).all())


def incident_post_count(engine: Engine, incident_id: int) -> int:
    with read_session(engine) as s:
        return s.exec(select(func.count(Mention.id))
                      .where(Mention.incident_id == incident_id)).one()
