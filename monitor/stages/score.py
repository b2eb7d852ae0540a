"""Monitor stage runner: new Posts -> Mentions (brand, sentiment, risk, reasons).

Reads posts past its cursor, scores them outside any write transaction (the
scorer is the slow part), then writes mentions and the cursor together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import func, select

from db.engine import read_session, session
from db.models import Brand, Mention, Post, Source
from db.queries import get_cursor, set_cursor
from monitor.scoring.risk import Scorer
from monitor.text.matching import BrandRule, match_brands
from monitor.text.normalize import normalize

CURSOR = "monitor.posts"
BATCH = 200
LOOKBACK = timedelta(days=7)  # detection.lookback's default


@dataclass(frozen=True)
class MonitorReport:
    posts: int = 0
    mentions: int = 0
    flagged: int = 0


def load_rules(engine: Engine) -> list[BrandRule]:
    with read_session(engine) as s:
        brands = s.exec(select(Brand).where(Brand.enabled == True)).all()  # noqa: E712
    return [BrandRule.build(b.id, b.name, b.keywords, b.exclude) for b in brands]


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def is_stale(post: Post, lookback: timedelta) -> bool:
    """Was the post published more than ``lookback`` before it was fetched? A feed's
    archive, a source added today with years of posts, a date of 1970: news to us,
    not to anyone else, so it is stored and scored but never alerts."""
    if post.published_at is None:
        return False
    return _utc(post.published_at) < _utc(post.fetched_at) - lookback


def mentions_for(post: Post, rules: list[BrandRule], scorer: Scorer, threshold: float,
                 *, with_title: bool = True, lookback: timedelta | None = None
                 ) -> list[Mention]:
    """Pure apart from the scorer: the mentions one post makes. A forum reply is
    judged on its own words: the thread title belongs to the opening post, and
    counting it on every reply would turn "+1" into a brand complaint. A post older
    than ``lookback`` (``is_stale``) is never flagged, and its reasons say why."""
    text = f"{post.title}\n{post.text}" if with_title else post.text
    brands = match_brands(rules, normalize(text))
    if not brands:
        return []
    score = scorer.score(text)
    stale = lookback is not None and is_stale(post, lookback)
    reasons = list(score.reasons)
    if stale:
        reasons.append(f"old post (published {_utc(post.published_at):%Y-%m-%d}, more than "
                       f"{lookback.total_seconds() / 86400:g} days before it was fetched): "
                       "not alerted")
    return [Mention(post_id=post.id, brand_id=rule.brand_id, language=score.language,
                    sentiment=score.sentiment, risk=score.risk,
                    flagged=score.risk >= threshold and not stale, strong=score.strong,
                    cues=list(score.cues), reasons=reasons)
            for rule in brands]


def lookbacks_by_source(engine: Engine, default: timedelta = LOOKBACK,
                        by_name: Mapping[str, float] | None = None) -> dict[int, timedelta]:
    """Each source's look-back (``sources[].lookback``, else ``detection.lookback``)."""
    by_name = by_name or {}
    with read_session(engine) as s:
        sources = s.exec(select(Source.id, Source.name)).all()
    return {sid: timedelta(seconds=by_name[name]) if name in by_name else default
            for sid, name in sources}


def thread_openers(engine: Engine, posts: list[Post]) -> set[int]:
    """Ids of the first stored post of each thread these posts belong to."""
    threads = {p.thread_id for p in posts if p.thread_id is not None}
    if not threads:
        return set()
    with read_session(engine) as s:
        rows = s.exec(select(func.min(Post.id)).where(Post.thread_id.in_(threads))
                      .group_by(Post.thread_id)).all()
    return set(rows)


def run_monitor(engine: Engine, scorer: Scorer, threshold: float,
                lookback: timedelta = LOOKBACK, by_source: Mapping[str, float] | None = None
                ) -> MonitorReport:
    """Process every post past the cursor, a batch at a time. ``lookback``, or
    ``by_source`` (source name: seconds): how old a post may be and still alert."""
    rules = load_rules(engine)
    lookbacks = lookbacks_by_source(engine, lookback, by_source)
    total = MonitorReport()
    while True:
        with read_session(engine) as s:
            start = get_cursor(s, CURSOR)
            posts = s.exec(select(Post).where(Post.id > start).order_by(Post.id)
                           .limit(BATCH)).all()
        if not posts:
            return total
        openers = thread_openers(engine, posts)
        made = [m for p in posts for m in mentions_for(
            p, rules, scorer, threshold, with_title=p.thread_id is None or p.id in openers,
            lookback=lookbacks.get(p.source_id, lookback))]
        with session(engine) as s, s.begin():
            if get_cursor(s, CURSOR) != start:  # another runner took this batch
                continue
            known = {(m.post_id, m.brand_id) for m in s.exec(
                select(Mention).where(Mention.post_id.in_([p.id for p in posts]))).all()}
            fresh = [m for m in made if (m.post_id, m.brand_id) not in known]
            s.add_all(fresh)
            set_cursor(s, CURSOR, posts[-1].id)
        total = MonitorReport(total.posts + len(posts), total.mentions + len(fresh),
                              total.flagged + sum(m.flagged for m in fresh))
