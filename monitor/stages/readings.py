"""What the detect stage reads for the severity rules: an incident's mentions as
evidence (strong cues judged in context), the reply series of its posts and threads
(with each thread's negative share), and the brand's flagged volume. Database reads
around the pure cores of ``monitor/detection``; ``detect.py`` writes the results.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import ColumnElement, bindparam
from sqlmodel import Session, func, select

from db.models import EngagementSnapshot, Mention, Post, Source, Thread
from monitor.detection.alarm import NEAR, near_weight
from monitor.detection.context import CueContext, strong_cue_context
from monitor.detection.severity import Evidence, Series
from monitor.detection.signals import SeasonalBaseline, VolumeSignal
from monitor.text.cues import strong_keys

BASELINE_DAYS = 28


# Built once (bound parameters): a detect pass runs these for each incident a mention
# joins, and building the statement cost twice what SQLite took to answer it.
_MEMBERS = (select(Mention.id, Mention.cues, Mention.reasons, Mention.risk, Mention.strong,
                   Mention.sentiment, Post.id, Post.fetched_at, Post.title, Post.text,
                   Source.id, Source.name, Post.thread_id, Post.published_at)
            .join(Post, Mention.post_id == Post.id).join(Source, Post.source_id == Source.id)
            .where(Mention.incident_id == bindparam("incident")).order_by(Mention.id))
_POSTS = select(Post.id, Post.thread_id, func.substr(Post.title, 1, 60),
                func.substr(Post.text, 1, 60), Post.published_at, Post.fetched_at
                ).where(Post.id.in_(bindparam("ids", expanding=True)))
_SNAPSHOTS = {name: select(column, EngagementSnapshot.seen_at, EngagementSnapshot.replies)
              .where(column.in_(bindparam("ids", expanding=True)))
              .order_by(EngagementSnapshot.id)
              for name, column in (("post", EngagementSnapshot.post_id),
                                   ("thread", EngagementSnapshot.thread_id))}


def member_rows(s: Session, inc_id: int) -> list[tuple]:
    """The incident's mentions with their posts and sources, in mention order, as the
    columns evidence, sources and the category guess read (mention id, cues, reasons,
    risk, strong, sentiment; post id, fetched at, title, text; source id, name; post
    thread, published at: what ``note_posts`` keeps for the reply series): a
    detect pass reads every member of each incident a mention joins, and whole ORM
    rows cost several times more."""
    return list(s.exec(_MEMBERS, params={"incident": inc_id}).all())


def _points(s: Session, column, keys: set[int]) -> dict[int, tuple]:  # noqa: ANN001
    """The (seen_at, replies) snapshots of each of ``keys`` (posts or threads), in
    snapshot order: one query for all of them, not one each."""
    out: dict[int, list] = {k: [] for k in keys}
    ordered = sorted(keys)
    for i in range(0, len(ordered), 5000):  # bounded IN lists (SQLite's variables)
        rows = s.exec(_SNAPSHOTS["post" if column is EngagementSnapshot.post_id else "thread"],
                      params={"ids": ordered[i:i + 5000]}).all()
        for key, at, n in rows:
            out[key].append((at, n))
    return {k: tuple(v) for k, v in out.items()}


SHARE_QUANTILE = 0.1  # a thread's negative share is the low end of what its replies show


def negative_share(s: Session, thread_id: int, brand_id: int) -> float:
    """How much of the thread's reply growth is a problem's. Replies answer the opener:
    if it was flagged, all of them count. If not, what its replies scored for the brand
    show for sure: the 10th percentile of the flagged share (a Beta posterior with a
    prior of half a flagged and two unflagged replies), so one reply misread as negative
    does not make a happy thread's 300 replies a complaint's, while a thread whose
    scored replies are mostly angry counts nearly in full."""
    rows = s.exec(select(Post.id, Mention.flagged).join(Mention, Mention.post_id == Post.id)
                  .where(Post.thread_id == thread_id, Mention.brand_id == brand_id)).all()
    opener = s.exec(select(func.min(Post.id)).where(Post.thread_id == thread_id)).one()
    if any(pid == opener and flagged for pid, flagged in rows):
        return 1.0
    replies = [bool(flagged) for pid, flagged in rows if pid != opener]
    negative = sum(replies)
    from scipy.special import betaincinv  # here: scipy costs every command 0.5 s
    return float(betaincinv(negative + 0.5, len(replies) - negative + 2.0, SHARE_QUANTILE))


def series_of(s: Session, post_ids: list[int], brand_id: int,
              cache: dict | None = None) -> list[Series]:
    """Reply series of the incident's posts, or of their threads for forum posts.
    ``cache`` (a detect pass's) keeps each post's thread and series and each thread's
    series: the pass reads the same ones for every mention that joins their incident."""
    with s.no_autoflush:  # posts, threads and snapshots: nothing a detect pass writes
        return _series_of(s, post_ids, brand_id, {} if cache is None else cache)


def _series_of(s: Session, post_ids: list[int], brand_id: int, cache: dict) -> list[Series]:
    unknown = [pid for pid in post_ids if ("thread of", pid) not in cache]
    for i in range(0, len(unknown), 500):  # each post's thread and start: columns, not rows
        note_posts(cache, s.exec(_POSTS, params={"ids": unknown[i:i + 500]}).all())
    post_series(s, post_ids, cache)
    threads = sorted({cache["thread of", pid] for pid in post_ids} - {None})
    in_thread = _points(s, EngagementSnapshot.thread_id,
                        {t for t in threads if ("thread", t, brand_id) not in cache})
    for tid in in_thread:
        thread = s.get(Thread, tid)
        label = f'thread "{thread.title[:60]}"' if thread.title else f"thread {thread.key}"
        cache["thread", tid, brand_id] = Series(label, thread.first_seen_at, in_thread[tid],
                                                negative_share(s, tid, brand_id))
    return ([cache["post", pid] for pid in post_ids if cache["thread of", pid] is None]
            + [cache["thread", t, brand_id] for t in threads])


def note_posts(cache: dict, rows) -> None:  # noqa: ANN001 (rows of _POSTS's columns)
    """Notes each post's thread in ``cache`` and, for a post in no thread, its series'
    label and start. The title and text may be whole (a pass's own posts) or their
    first 60 characters (``_POSTS``): the label reads no more."""
    for pid, tid, title, text, published, fetched in rows:
        if ("thread of", pid) not in cache:
            cache["thread of", pid] = tid
            if tid is None:
                cache["start of", pid] = (f'"{(title or text)[:60]}"',
                                          min(published or fetched, fetched))


def post_series(s: Session, post_ids: list[int], cache: dict) -> None:
    """The reply series of those posts in no thread not in ``cache`` yet, read in one
    query (their threads and starts noted already)."""
    alone = [pid for pid in post_ids
             if cache["thread of", pid] is None and ("post", pid) not in cache]
    points = _points(s, EngagementSnapshot.post_id, set(alone))
    for pid in alone:
        label, start = cache["start of", pid]
        cache["post", pid] = Series(label, start, points[pid])


def prime_series(s: Session, posts: list[Post], cache: dict) -> None:
    """Read the reply series of a batch's posts (those in no thread) at once: each
    joins an incident that is re-assessed at once, one query each otherwise."""
    with s.no_autoflush:
        note_posts(cache, [(p.id, p.thread_id, p.title, p.text, p.published_at, p.fetched_at)
                           for p in posts])
        post_series(s, [p.id for p in posts], cache)


def fetched_in(start: datetime, end: datetime, *, after: bool = False) -> ColumnElement[bool]:
    """Mentions of posts fetched from ``start`` (or just after it, with ``after``) to
    ``end``: a condition on the post ids of that time range, so the database reads
    the range's posts (``ix_post_fetched_at``) and not every mention of the brand ever
    (SQLite's planner took the brand's index for the join, a cost growing with history)."""
    since = Post.fetched_at > start if after else Post.fetched_at >= start
    return Mention.post_id.in_(select(Post.id).where(since, Post.fetched_at <= end))


def flagged_times(s: Session, brand_id: int, now: datetime) -> list[datetime]:
    """When the brand's flagged mentions of the last ``BASELINE_DAYS`` were seen,
    oldest first. Read once per transaction and ``now``: the detect stage asks again
    for every incident it re-assesses, and its pass changes no post's time and no
    mention's flag (a new ``now`` reads again)."""
    key = ("cw_flagged_times", brand_id, now)
    if key not in s.info:
        with s.no_autoflush:  # posts' times and mentions' flags: no pass changes them
            s.info[key] = sorted(_flagged_times(s, brand_id, now))
    return list(s.info[key])


def _flagged_times(s: Session, brand_id: int, now: datetime) -> list[datetime]:
    start = now - timedelta(days=BASELINE_DAYS)
    return list(s.exec(select(Post.fetched_at).join(Mention, Mention.post_id == Post.id)
                       # flagged tested on its value, not through ix_mention_flagged
                       # (every flagged mention ever): the time range picks the rows
                       .where(Mention.brand_id == brand_id,
                              func.coalesce(Mention.flagged, False) == True,  # noqa: E712
                              fetched_in(start, now),
                              Post.fetched_at >= start, Post.fetched_at <= now)).all())


def alarm_weights(s: Session, brand_id: int, now: datetime, keywords: tuple[str, ...]
                  ) -> dict[int, tuple[datetime, float]]:
    """The brand's flagged mentions of the last ``BASELINE_DAYS`` as the brand alarm
    counts them: post id -> (seen at, weight). A mention flagged for a strong cue about
    something else (``detection/context.py``: a news item naming the brand in passing)
    is not the brand's negative volume: 0. A reply in a thread whose opener was not
    flagged counts by the thread's negative share (``negative_share``): one reply
    misread as negative under a happy launch post is not a complaint. Else 1."""
    start = now - timedelta(days=BASELINE_DAYS)
    rows = s.exec(select(Post.id, Post.fetched_at, Post.thread_id, Post.title, Post.text,
                         Mention.cues, Mention.sentiment, Mention.strong)
                  .join(Mention, Mention.post_id == Post.id)
                  .where(Mention.brand_id == brand_id, Mention.flagged == True,  # noqa: E712
                         Post.fetched_at >= start, Post.fetched_at <= now)).all()
    threads = {tid for _, _, tid, *_ in rows if tid is not None}
    openers = dict(s.exec(select(Post.thread_id, func.min(Post.id))
                          .where(Post.thread_id.in_(threads)).group_by(Post.thread_id)).all()) \
        if threads else {}
    shares: dict[int, float] = {}
    out = {}
    for pid, at, tid, title, text, cues, sentiment, strong in rows:
        weight = 1.0
        if strong and not _cue_context(f"{title}\n{text}", keywords, tuple(cues),
                                       sentiment).counts:
            weight = 0.0
        elif tid is not None and openers.get(tid) != pid:
            if tid not in shares:
                shares[tid] = negative_share(s, tid, brand_id)
            weight = shares[tid]
        out[pid] = (at, weight)
    return out


def near_weights(s: Session, brand_id: int, now: datetime, threshold: float,
                 keywords: tuple[str, ...]) -> dict[int, tuple[datetime, float]]:
    """The brand's UNFLAGGED mentions of the last ``BASELINE_DAYS`` that came near the
    risk ``threshold`` (``alarm.near_weight``), as post id -> (seen at, weight): what
    their replies count in the brand alarm. One whose strong cue is about something
    else (a news item naming the brand in passing) counts nothing, as in
    ``alarm_weights``."""
    start = now - timedelta(days=BASELINE_DAYS)
    rows = s.exec(select(Post.id, Post.fetched_at, Post.title, Post.text, Mention.risk,
                         Mention.cues, Mention.sentiment, Mention.strong)
                  .join(Mention, Mention.post_id == Post.id)
                  .where(Mention.brand_id == brand_id,
                         func.coalesce(Mention.flagged, False) == False,  # noqa: E712
                         Mention.risk >= NEAR * threshold, fetched_in(start, now),
                         Post.fetched_at >= start, Post.fetched_at <= now)).all()
    out = {}
    for pid, at, title, text, risk, cues, sentiment, strong in rows:
        if strong and not _cue_context(f"{title}\n{text}", keywords, tuple(cues),
                                       sentiment).counts:
            continue
        if (weight := near_weight(risk, threshold)) > 0:
            out[pid] = (at, weight)
    return out


def reply_gains(s: Session, post_ids: list[int], now: datetime
                ) -> list[tuple[int, datetime, int]]:
    """Replies gained under each of ``post_ids`` up to ``now``: (post id, seen at,
    replies gained since the post's previous snapshot, or since none at its first),
    from the post's own snapshots. What ``alarm.reply_weights`` counts."""
    out, last = [], {}
    for pid, at, n in _points_rows(s, post_ids, now):
        if n is None:
            continue
        gained = n - last.get(pid, 0)
        last[pid] = max(last.get(pid, 0), n)
        if gained > 0:
            out.append((pid, at, gained))
    return out


def _points_rows(s: Session, post_ids: list[int], now: datetime) -> list[tuple]:
    rows: list[tuple] = []
    for i in range(0, len(post_ids), 500):  # bounded IN lists
        rows += s.exec(select(EngagementSnapshot.post_id, EngagementSnapshot.seen_at,
                              EngagementSnapshot.replies)
                       .where(EngagementSnapshot.post_id.in_(post_ids[i:i + 500]),
                              EngagementSnapshot.seen_at <= now)
                       .order_by(EngagementSnapshot.id)).all()
    return rows


def mention_risks(s: Session, brand_id: int, now: datetime) -> list[tuple[datetime, float]]:
    """When each of the brand's mentions of the last ``BASELINE_DAYS`` was seen, with
    its risk, flagged or not: what the soft brand alarm weighs."""
    start = now - timedelta(days=BASELINE_DAYS)
    return [(at, risk) for at, risk in s.exec(
        select(Post.fetched_at, Mention.risk).join(Mention, Mention.post_id == Post.id)
        .where(Mention.brand_id == brand_id, fetched_in(start, now), Post.fetched_at >= start,
               Post.fetched_at <= now)).all()]


def volume(s: Session, brand_id: int, now: datetime, window: timedelta) -> VolumeSignal:
    """Flagged mentions of the brand in the last window against its seasonal baseline
    (the last ``BASELINE_DAYS`` before the window)."""
    times = flagged_times(s, brand_id, now)
    recent = sum(1 for t in times if t > now - window)
    history = [t for t in times if t <= now - window]
    first = min(history, default=now - window)
    baseline = SeasonalBaseline.from_events(history, first, now - window)
    hours = max(1, round(window.total_seconds() / 3600))
    return baseline.surprise(now - window, recent, hours=hours)


@lru_cache(maxsize=65_536)
def _cue_context(text: str, keywords: tuple[str, ...], cues: tuple[str, ...],
                 sentiment: float) -> CueContext:
    """Cached: an incident's mentions are judged again on every batch."""
    return strong_cue_context(text, keywords, cues, sentiment)


def evidence_of(m: Mention, p: Post, src: Source, keywords: tuple[str, ...]) -> Evidence:
    """A mention as the severity rules see it. Its strong cue counts only as a threat
    against the brand (``detection/context.py``); a mention whose only cues are strong
    ones about something else counts as flagged on tone alone."""
    context = _cue_context(f"{p.title}\n{p.text}", keywords, tuple(m.cues), m.sentiment) \
        if m.strong else None
    strong = context is not None and context.counts
    weak_cues = [c for c in m.cues if c not in strong_keys()]
    return Evidence(p.fetched_at, p.id, src.name, m.risk, strong, tuple(m.reasons),
                    strong or bool(weak_cues), context.why if strong else "")
