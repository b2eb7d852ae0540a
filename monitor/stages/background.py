"""The term background a mention is grouped against: the words of the brand's
everyday mentions, so that shared words join posts only when they are rare for the
brand (``monitor/detection/terms.py`` is the pure core; ``detect.py`` asks here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlmodel import Session, select

from db.models import Brand, Incident, Mention, Post
from monitor.detection.terms import BACKGROUND_TERMS, TermBackground, salient_terms
from monitor.stages.readings import fetched_in

GROWN = ("warning", "crisis")
TERM_DAYS = 7  # the brand's recent vocabulary: a week holds every weekday's chatter
# ... read up to a day before now: a burst's own posts (its unflagged ones, its other
# fragments) must not make its words "everyday" within the hour and stop it grouping
TERM_LAG = timedelta(days=1)


@lru_cache(maxsize=65_536)
def _post_terms(text: str, language: str, exclude: tuple[str, ...]) -> tuple[str, ...]:
    """Terms of one post for the background; cached because every batch re-reads the
    week's posts (a pure function of its arguments, so any database may share it)."""
    return salient_terms(text, language, exclude=exclude, limit=BACKGROUND_TERMS)


def term_background(s: Session, brand: Brand, at: datetime) -> TermBackground:
    """Terms of the brand's everyday mentions (flagged or not) of the ``TERM_DAYS``
    before ``TERM_LAG`` ahead of ``at`` (a mention's hour, never the clock: the same
    posts give the same background whenever they are grouped): all but those in an
    incident that reached warning or crisis. The lag keeps a growing matter's own
    words out of "everyday": within an hour its unflagged posts and stray fragments
    would make them common, and no later post could join it on them."""
    until = at - TERM_LAG
    rows = s.exec(select(Post.title, Post.text, Mention.language, Incident.id,
                         Incident.severity)
                  .join(Mention, Mention.post_id == Post.id)
                  .outerjoin(Incident, Mention.incident_id == Incident.id)
                  .where(Mention.brand_id == brand.id,
                         fetched_in(until - timedelta(days=TERM_DAYS), until),
                         Post.fetched_at >= until - timedelta(days=TERM_DAYS),
                         Post.fetched_at <= until)).all()
    exclude = (brand.name, *brand.keywords)
    grown = {inc for *_, inc, severity in rows if severity in GROWN}
    return TermBackground.from_documents(
        (_post_terms(f"{title}\n{text}", language, exclude)
         for title, text, language, inc, _ in rows if inc not in grown), grown)


Backgrounds = dict[tuple[int, datetime], TermBackground]


def background_for(s: Session, brand: Brand, at: datetime, cache: Backgrounds
                   ) -> TermBackground:
    """The brand's background for the hour of ``at``, cached for this pass."""
    hour = at.replace(minute=0, second=0, microsecond=0)
    if (brand.id, hour) not in cache:
        cache[brand.id, hour] = term_background(s, brand, hour)
    return cache[brand.id, hour]
