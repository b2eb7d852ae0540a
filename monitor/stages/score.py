"""Monitor stage runner: new Posts -> Mentions (brand, sentiment, risk, reasons).

Reads posts not scored yet, scores them outside any write transaction (the
scorer is the slow part), then claims them and writes their mentions and
``scored_at`` together. Work is claimed by state, not by an id cursor: with two
writers on PostgreSQL ids commit out of order, and a cursor moved past id N+1
would skip N for good when N commits later. Each post is scored exactly once
whatever the commit order and the number of runners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, case
from sqlmodel import Session, func, select, update

from db.engine import read_session, session
from db.models import Brand, Mention, Post, Source, as_utc, utcnow
from db.queries import insert_new
from monitor.scoring.risk import Scorer
from monitor.text.matching import BrandIndex, BrandRule, match_brands
from monitor.text.normalize import normalize

BATCH = 200
LOOKBACK = timedelta(days=7)  # detection.lookback's default


@dataclass(frozen=True)
class MonitorReport:
    posts: int = 0
    mentions: int = 0
    flagged: int = 0


def load_rules(engine: Engine) -> BrandIndex:
    """The enabled brands' rules, indexed for one scan per post."""
    with read_session(engine) as s:
        brands = s.exec(select(Brand).where(Brand.enabled == True)).all()  # noqa: E712
    return BrandIndex.build([BrandRule.build(b.id, b.name, b.keywords, b.exclude)
                             for b in brands])


def is_stale(post: Post, lookback: timedelta) -> bool:
    """Was the post published more than ``lookback`` before it was fetched? A feed's
    archive, a source added today with years of posts, a date of 1970: news to us,
    not to anyone else, so it is stored and scored but never alerts."""
    if post.published_at is None:
        return False
    return as_utc(post.published_at) < as_utc(post.fetched_at) - lookback


def mentions_for(post: Post, rules: BrandIndex | list[BrandRule], scorer: Scorer, threshold: float,
                 *, with_title: bool = True, lookback: timedelta | None = None
                 ) -> list[Mention]:
    """The mentions one post makes, as rows (``mention_rows``)."""
    return [Mention(**row) for row in mention_rows(post, rules, scorer, threshold,
                                                   with_title=with_title, lookback=lookback)]


def mention_rows(post: Post, rules: BrandIndex | list[BrandRule], scorer: Scorer,
                 threshold: float, *, with_title: bool = True,
                 lookback: timedelta | None = None) -> list[dict]:
    """Pure apart from the scorer: the mentions one post makes, each a dict of every
    column but the id (building ``Mention`` objects cost more than scoring: the
    score stage inserts these as they are). A forum reply is
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
        reasons.append(f"old post (published {as_utc(post.published_at):%Y-%m-%d}, more than "
                       f"{lookback.total_seconds() / 86400:g} days before it was fetched): "
                       "not alerted")
    return [{"post_id": post.id, "brand_id": rule.brand_id, "language": score.language,
             "sentiment": score.sentiment, "risk": score.risk,
             "flagged": score.risk >= threshold and not stale, "strong": score.strong,
             "cues": list(score.cues), "reasons": list(reasons), "scored_at": utcnow(),
             "incident_id": None, "severity": None, "fingerprint": None, "terms": [],
             "grouped_by": None}
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
    """Ids of the opening post of each thread these posts belong to: the one
    published first (posts without a date after those with one), then the one
    fetched first, then the smallest id. Not the smallest id alone: with two
    writers on PostgreSQL ids are taken in one order and committed in another, so
    a reply stored first would take the thread's title (and the opener lose it)."""
    threads = {p.thread_id for p in posts if p.thread_id is not None}
    if not threads:
        return set()
    undated = case((Post.published_at.is_(None), 1), else_=0)
    first = func.row_number().over(
        partition_by=Post.thread_id,
        order_by=(undated, Post.published_at, Post.fetched_at, Post.id)).label("first")
    ranked = select(Post.id, first).where(Post.thread_id.in_(threads)).subquery()
    with read_session(engine) as s:
        rows = s.exec(select(ranked.c.id).where(ranked.c.first == 1)).all()
    return set(rows)


def _claim(s: Session, ids: list[int]) -> set[int]:
    """Those of ``ids`` still unscored, locked until this transaction ends. On
    PostgreSQL a post another runner is writing is skipped, not waited for (it will
    be done); SQLite's ``BEGIN IMMEDIATE`` already lets one writer in at a time."""
    query = select(Post.id).where(Post.id.in_(ids), Post.scored_at == None)  # noqa: E711
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return set(s.exec(query).all())


def _still_unscored(s: Session, ids: list[int]) -> bool:
    return s.exec(select(func.count()).select_from(Post).where(
        Post.id.in_(ids), Post.scored_at == None)).one() > 0  # noqa: E711


def run_monitor(engine: Engine, scorer: Scorer, threshold: float,
                lookback: timedelta = LOOKBACK, by_source: Mapping[str, float] | None = None
                ) -> MonitorReport:
    """Score every post not scored yet, a batch at a time; stops when nothing is
    left, or when another runner holds all of a batch (it finishes them).
    ``lookback``, or ``by_source`` (source name: seconds): how old a post may be
    and still alert."""
    rules = load_rules(engine)
    lookbacks = lookbacks_by_source(engine, lookback, by_source)
    if engine.dialect.name == "postgresql":
        return _claimed_batches(engine, rules, scorer, threshold, lookback, lookbacks)
    total = MonitorReport()
    while True:
        with read_session(engine) as s:
            posts = s.exec(select(Post).where(Post.scored_at == None)  # noqa: E711
                           .order_by(Post.id).limit(BATCH)).all()
        if not posts:
            return total
        made = _mentions(engine, posts, rules, scorer, threshold, lookback, lookbacks)
        ids = [p.id for p in posts]
        with session(engine) as s, s.begin():
            mine = _claim(s, ids)
            if not mine and _still_unscored(s, ids):
                return total  # another runner holds them all and will finish them
            ours = [m for m in made if m["post_id"] in mine]
            # a rescore may have stored some already: keep its rows, skip ours
            added = set(insert_new(s, Mention, ours, ("post_id", "brand_id")))
            s.execute(update(Post).where(Post.id.in_(mine)).values(scored_at=utcnow()))
        total = MonitorReport(total.posts + len(mine), total.mentions + len(added),
                              total.flagged + _flagged(ours, added))


def _mentions(engine: Engine, posts: list[Post], rules: BrandIndex, scorer: Scorer,
              threshold: float, lookback: timedelta, lookbacks: Mapping[int, timedelta]
              ) -> list[dict]:
    """The batch's mentions, scored: a thread's title counts for its opener only (a
    reply repeats it), and each source's look-back decides what is too old to alert."""
    openers = thread_openers(engine, posts)
    return [m for p in posts for m in mention_rows(
        p, rules, scorer, threshold, with_title=p.thread_id is None or p.id in openers,
        lookback=lookbacks.get(p.source_id, lookback))]


def _claimed_batches(engine: Engine, rules: BrandIndex, scorer: Scorer, threshold: float,
                     lookback: timedelta, lookbacks: Mapping[int, timedelta]) -> MonitorReport:
    """PostgreSQL: claim a batch (``FOR UPDATE SKIP LOCKED``) before scoring it and
    hold the claim while scoring, so several process workers score disjoint batches
    at once instead of all scoring the oldest one and all but one throwing theirs
    away. A worker killed mid-batch loses its transaction: the rows unlock and the
    next claim takes them, nothing half-written."""
    total = MonitorReport()
    while True:
        with session(engine) as s, s.begin():
            posts = s.exec(select(Post).where(Post.scored_at == None)  # noqa: E711
                           .order_by(Post.id).limit(BATCH)
                           .with_for_update(skip_locked=True)).all()
            if not posts:
                return total
            made = _mentions(engine, posts, rules, scorer, threshold, lookback, lookbacks)
            added = set(insert_new(s, Mention, made, ("post_id", "brand_id")))
            s.execute(update(Post).where(Post.id.in_([p.id for p in posts]))
                      .values(scored_at=utcnow()))
        total = MonitorReport(total.posts + len(posts), total.mentions + len(added),
                              total.flagged + _flagged(made, added))


def _flagged(rows: list[dict], added: set[tuple]) -> int:
    """How many of the inserted rows (``added``: their (post, brand)) are flagged."""
    return sum(r["flagged"] for r in rows if (r["post_id"], r["brand_id"]) in added)
