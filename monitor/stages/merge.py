"""Incidents' grouping keys in the database, and merging fragments of one matter.

The decisions are pure (``monitor/detection/grouping.py``, ``merging.py``); this
module reads and writes them. A merge moves the absorbed incidents' mentions to
the survivor, unites their grouping keys, and closes each absorbed incident
(``merged_into``, resolved), with a "merged" entry in both timelines. Alerts already
sent for an absorbed incident stay as they were; the survivor takes the highest
severity any fragment reached, so the matter is not alerted again at a level it was
alerted at, and it is re-assessed by the usual rules right after.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from db.models import Brand, Incident, IncidentChange, Mention, Post, Source
from monitor.detection.grouping import IncidentKey, MentionKey
from monitor.detection.merging import Merge, combine_keys
from monitor.detection.severity import rises
from monitor.detection.simhash import post_fingerprints
from monitor.detection.terms import salient_terms

HELD = "cw_held"  # Session.info key: rows kept loaded for the rest of the transaction


def hold_loaded(s: Session) -> None:
    """Keep every row ``s`` loads until it closes. The identity map holds rows weakly,
    so a brand, source or incident read for one mention was read (and its JSON
    decoded) again for the next; a pass reads a few thousand rows at most."""
    event.listen(s, "loaded_as_persistent",
                 lambda session, row: session.info.setdefault(HELD, []).append(row))


def incident_key(inc: Incident) -> IncidentKey:
    """The grouping key stored on an incident."""
    return IncidentKey(inc.id, inc.brand_id, frozenset(inc.thread_keys), tuple(inc.fingerprints),
                       inc.term_counts, inc.last_seen_at, inc.mention_count,
                       tuple(inc.part_prints))


def mention_key(m: Mention, post: Post, source: Source, brand: Brand, *, terms: bool = True
                ) -> MentionKey:
    """What grouping needs to know about one mention (``grouping.MentionKey``); with
    ``terms=False`` its fingerprints only (what ``copy_of`` compares)."""
    thread = f"{post.source_id}:{post.thread_id}" if post.thread_id is not None else None
    whole, *parts = post_fingerprints(post.title, post.text, m.language)
    return MentionKey(m.brand_id, thread, source.name, post.fetched_at, whole,
                      mention_terms(m, post, brand) if terms else (), tuple(parts))


def mention_terms(m: Mention, post: Post, brand: Brand) -> tuple[str, ...]:
    """The mention's salient terms, the brand's own name and keywords left out."""
    return tuple(salient_terms(f"{post.title}\n{post.text}", m.language,
                               exclude=[brand.name, *brand.keywords]))


def candidates(s: Session, brand_id: int, since: datetime, *, open_only: bool = False
               ) -> list[Incident]:
    """The brand's incidents a mention may join: not merged away, seen since ``since``
    (and not resolved, with ``open_only``), oldest first."""
    query = select(Incident.id).where(Incident.brand_id == brand_id,
                                      Incident.merged_into == None,  # noqa: E711
                                      Incident.last_seen_at >= since)
    if open_only:
        query = query.where(Incident.resolved_at == None)  # noqa: E711
    return loaded(s, Incident, list(s.exec(query.order_by(Incident.id)).all()))


def loaded(s: Session, model: type, ids: list[int]) -> list:
    """The rows of ``ids`` in that order: those this session holds already as they are
    (as a query for whole rows would return them), the others in one query. Why: a
    mention is matched against the same incidents again and again in a pass, and
    reading whole rows decodes every JSON key column each time."""
    held = {i: s.identity_map.get(identity_key(model, i)) for i in ids}
    missing = [i for i, row in held.items() if row is None]
    if missing:
        rows = list(s.exec(select(model).where(model.id.in_(missing))))
        s.info.setdefault(HELD, []).extend(rows)  # the identity map alone lets them go
        held.update((row.id, row) for row in rows)
    return [held[i] for i in ids]


def store_key(inc: Incident, key: IncidentKey) -> None:
    inc.thread_keys = sorted(key.thread_keys)
    inc.fingerprints = list(key.fingerprints)
    inc.part_prints = list(key.part_prints)
    inc.term_counts = dict(key.term_counts)
    inc.last_seen_at = key.last_seen_at


def _earliest(*values: datetime | None) -> datetime | None:
    return min((v for v in values if v is not None), default=None)


def absorb(s: Session, merge: Merge, now: datetime) -> Incident:
    """Carry out ``merge``; returns the surviving incident."""
    survivor = s.get(Incident, merge.survivor)
    absorbed = [s.get(Incident, i) for i in merge.absorbed]
    store_key(survivor, combine_keys(incident_key(survivor), [incident_key(a) for a in absorbed]))
    s.exec(update(Mention).where(Mention.incident_id.in_(merge.absorbed))
           .values(incident_id=survivor.id))
    for a in absorbed:
        survivor.opened_at = min(survivor.opened_at, a.opened_at)
        survivor.mention_count += a.mention_count
        survivor.source_ids = sorted({*survivor.source_ids, *a.source_ids})
        survivor.cues = sorted({*survivor.cues, *a.cues})
        if rises(survivor.severity, a.severity):
            survivor.severity = a.severity
        # the PR team already owns (or answered) the matter through a fragment
        survivor.acknowledged_at = _earliest(survivor.acknowledged_at, a.acknowledged_at)
        survivor.first_reply_at = _earliest(survivor.first_reply_at, a.first_reply_at)
        survivor.reply_promised_s = survivor.reply_promised_s or a.reply_promised_s
        s.add(IncidentChange(incident_id=a.id, at=now, severity=a.severity or "notice",
                             kind="merged", reasons=[f"merged into #{survivor.id}: the "
                                                     "same matter (a new mention matches both)"]))
        a.merged_into, a.mention_count = survivor.id, 0
        a.resolved_at = a.resolved_at or now
        s.add(a)
    s.add(IncidentChange(incident_id=survivor.id, at=now,
                         severity=survivor.severity or "notice", kind="merged",
                         reasons=[merge.reason()]))
    s.add(survivor)
    return survivor
