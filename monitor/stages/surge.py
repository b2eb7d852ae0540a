"""Where a brand alarm's alert goes: the detect stage's reads and writes around
``detection/alarm.py`` and ``detection/soft_alarm.py``.

Why a surge incident for the soft alarm: its surge is mostly UNFLAGGED mentions,
which no incident holds, so raising whichever incident holds the window's few
flagged ones puts the warning on a bystander (an ordinary complaint of the same
hour) while the matter itself has no incident at all. The soft alarm instead
gathers the window's mentions riskier than the brand's usual one into one incident
and warns on that; while an incident in the window is already at warning or above,
the surge is covered and nothing new is raised (one episode, one alert).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlmodel import Session, select

from db.models import Alert, Incident, Mention, Post
from monitor.detection.alarm import ALARM_MARK, covered
from monitor.detection.severity import Evidence
from monitor.detection.soft_alarm import TONE
from monitor.stages.readings import fetched_in

GROWN = ("warning", "crisis")
SURGE = "brand surge (soft alarm)"
REPLIED = "brand alarm: replies under a post near the threshold"
# A brand alarm's alert covers its surge for at least this long (``alarm.covered``): a
# crisis rises and decays over hours, firing the hour window again and again meanwhile.
EPISODE = timedelta(hours=6)


def _window(s: Session, brand_id: int, hours: int, now: datetime) -> list[tuple[Mention, Post]]:
    since = now - timedelta(hours=hours)
    return list(s.exec(select(Mention, Post).join(Post, Mention.post_id == Post.id)
                       .where(Mention.brand_id == brand_id,
                              fetched_in(since, now, after=True), Post.fetched_at > since,
                              Post.fetched_at <= now)
                       .order_by(Post.fetched_at, Mention.id)).all())


def flagged_target(s: Session, brand_id: int, hours: int, now: datetime,
                   weights: dict[int, float] | None = None,
                   replies: list[tuple[int, datetime, float]] | None = None
                   ) -> tuple[Incident, Counter[int], list[Evidence]] | None:
    """The incident holding most flagged mentions of the last ``hours`` (ties: the
    riskier, then the newer), the per-incident counts, and its evidence. ``weights``
    (post id -> how much the alarm counted it) leaves out what the alarm did not
    count: a news item naming the brand in passing is no target. ``replies`` (post id,
    seen at, weight: ``alarm.reply_weights``) add to the incident of their post, when
    seen within the window: the incident whose posts draw the replies holds the surge.
    Replies under an unflagged, ungrouped post (one near the threshold) count for that
    post; when it leads, it becomes an incident of its own (``_replied_incident``)."""
    weights = weights or {}
    rows = [(m, p) for m, p in _window(s, brand_id, hours, now)
            if m.flagged and m.incident_id is not None and weights.get(p.id, 1.0) > 0]
    counts, risk = Counter(), Counter()
    for m, p in rows:
        counts[m.incident_id] += weights.get(p.id, 1.0)
        risk[m.incident_id] += m.risk
    since = now - timedelta(hours=hours)
    recent = [(pid, w) for pid, at, w in replies or () if since < at <= now]
    loose: dict[int, Mention] = {}  # unflagged, ungrouped: by post
    loose_counts: Counter[int] = Counter()
    if recent:
        owner = {m.post_id: m for m in s.exec(select(Mention).where(
            Mention.brand_id == brand_id, Mention.post_id.in_(sorted({p for p, _ in recent}))))}
        for pid, w in recent:
            if (m := owner.get(pid)) is not None and m.incident_id is not None:
                counts[m.incident_id] += w
            elif m is not None:
                loose[pid] = m
                loose_counts[pid] += w
    everything = counts + Counter({-pid: w for pid, w in loose_counts.items()})
    episode = now - max(timedelta(hours=hours), EPISODE)
    if not everything or covered(everything, _warned(s, counts),
                                 _raised_since(s, brand_id, episode)):
        return None
    top = max(everything, key=lambda i: (everything[i], risk[i], i))
    if top < 0:  # the replies under an unflagged post near the threshold lead
        inc = _replied_incident(s, loose[-top])
        counts = Counter({inc.id: everything[top]}) + counts
        return inc, counts, [Evidence(inc.opened_at, -top, "", loose[-top].risk, False, ())]
    evidence = [Evidence(p.fetched_at, p.id, "", m.risk, False, ()) for m, p in rows
                if m.incident_id == top]
    return s.get(Incident, top), counts, evidence


def _replied_incident(s: Session, m: Mention) -> Incident:
    """An incident holding one unflagged post whose replies (it came near the risk
    threshold: ``alarm.near_weight``) lead a brand alarm's window: what the alarm
    warns on, rather than a flagged bystander of the same hours (issue 15)."""
    post = s.get(Post, m.post_id)
    inc = Incident(brand_id=m.brand_id, opened_at=post.fetched_at, last_seen_at=post.fetched_at,
                   title=f"Replies: {(post.title or post.text).strip()}"[:120],
                   mention_count=1, source_ids=[post.source_id])
    s.add(inc)
    s.flush()
    m.incident_id, m.grouped_by = inc.id, REPLIED
    s.add(m)
    return inc


def _warned(s: Session, incidents: Counter[int]) -> set[int]:
    return {i for i in incidents if (inc := s.get(Incident, i)) is not None
            and inc.severity in GROWN}


def _raised_since(s: Session, brand_id: int, since: datetime) -> bool:
    """Whether the flagged brand alarm raised an incident of the brand after ``since``."""
    rows = s.exec(select(Alert.reasons).where(Alert.brand_id == brand_id,
                                              Alert.created_at > since)).all()
    return any(ALARM_MARK in r for reasons in rows for r in reasons or ())


def surge_target(s: Session, brand_id: int, hours: int, unit: float, now: datetime
                 ) -> tuple[Incident, Counter[int], list[Evidence]] | None:
    """The incident a soft alarm warns on: None when an incident holding the window's
    risky mentions is already at warning or above; else a new incident holding the
    window's mentions at least ``TONE`` times as risky as ``unit`` (the brand's usual
    mention) that no incident holds yet (bystanders of ordinary risk stay out), or,
    when there are none, the flagged target."""
    rows = [(m, p) for m, p in _window(s, brand_id, hours, now) if m.risk >= TONE * unit]
    counts = Counter(m.incident_id for m, _ in rows if m.incident_id is not None)
    held = [s.get(Incident, i) for i in counts]
    if any(i.severity in GROWN and i.merged_into is None for i in held):
        return None
    loose = [(m, p) for m, p in rows if m.incident_id is None]
    if not loose:
        return flagged_target(s, brand_id, hours, now)
    first = loose[0][1]
    inc = Incident(brand_id=brand_id, opened_at=first.fetched_at,
                   last_seen_at=max(p.fetched_at for _, p in loose),
                   title=f"Surge: {(first.title or first.text).strip()}"[:120],
                   mention_count=len(loose),
                   source_ids=sorted({p.source_id for _, p in loose}))
    s.add(inc)
    s.flush()
    for m, _ in loose:
        m.incident_id, m.grouped_by = inc.id, SURGE
        s.add(m)
    counts[inc.id] = len(loose)
    evidence = [Evidence(p.fetched_at, p.id, "", m.risk, False, ()) for m, p in loose]
    return inc, counts, evidence
