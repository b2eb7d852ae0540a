"""Monitor stage runner: new Posts -> Mentions (brand, sentiment, risk, reasons).

Reads posts past its cursor, scores them outside any write transaction (the
scorer is the slow part), then writes mentions and the cursor together.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import func, select

from db.engine import read_session, session
from db.models import Brand, Mention, Post
from db.queries import get_cursor, set_cursor
from monitor.scoring.risk import Scorer
from monitor.text.matching import BrandRule, match_brands
from monitor.text.normalize import normalize

CURSOR = "monitor.posts"
BATCH = 200


@dataclass(frozen=True)
class MonitorReport:
    posts: int = 0
    mentions: int = 0
    flagged: int = 0


def load_rules(engine: Engine) -> list[BrandRule]:
    with read_session(engine) as s:
        brands = s.exec(select(Brand).where(Brand.enabled == True)).all()  # noqa: E712
    return [BrandRule.build(b.id, b.name, b.keywords, b.exclude) for b in brands]


def mentions_for(post: Post, rules: list[BrandRule], scorer: Scorer, threshold: float,
                 *, with_title: bool = True) -> list[Mention]:
    """Pure apart from the scorer: the mentions one post makes. A forum reply is
    judged on its own words: the thread title belongs to the opening post, and
    counting it on every reply would turn "+1" into a brand complaint."""
    text = f"{post.title}\n{post.text}" if with_title else post.text
    brands = match_brands(rules, normalize(text))
    if not brands:
        return []
    score = scorer.score(text)
    return [Mention(post_id=post.id, brand_id=rule.brand_id, language=score.language,
                    sentiment=score.sentiment, risk=score.risk,
                    flagged=score.risk >= threshold, strong=score.strong,
                    cues=list(score.cues), reasons=list(score.reasons))
            for rule in brands]


def thread_openers(engine: Engine, posts: list[Post]) -> set[int]:
    """Ids of the first stored post of each thread these posts belong to."""
    threads = {p.thread_id for p in posts if p.thread_id is not None}
    if not threads:
        return set()
    with read_session(engine) as s:
        rows = s.exec(select(func.min(Post.id)).where(Post.thread_id.in_(threads))
                      .group_by(Post.thread_id)).all()
    return set(rows)


def run_monitor(engine: Engine, scorer: Scorer, threshold: float) -> MonitorReport:
    """Process every post past the cursor, a batch at a time."""
    rules = load_rules(engine)
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
            p, rules, scorer, threshold, with_title=p.thread_id is None or p.id in openers)]
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
