"""When one new mention matches several open incidents, they are one matter: merge
them. Pure functions: no database, no network.

Grouping (``grouping.py``) decides as posts arrive, so a matter told in plain words
can split: incident A holds the first complaints, B was opened minutes later by a
post that did not yet share enough distinctive terms with A. Each fragment then
grows on its own and every growth rule sees fragments. A later post that matches
both by a strong rule (the same thread, a near-duplicate, or at least
``min_shared_terms`` distinctive shared terms, all within the window) shows they
are one matter; the first incident opened about it absorbs the others.

Rules, kept simple:

- never across brands;
- the survivor is the oldest incident involved (the lowest id: ids are given in
  order of opening), so the number the PR team already knows and its alerts stay;
- only open incidents are merged: the caller leaves resolved ones out. A resolved
  incident the mention joins is reopened by the usual rule and may absorb fragments
  with the next bridging post; one it does not join stays apart as it was resolved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from monitor.detection.grouping import (
    MAX_FINGERPRINTS,
    IncidentKey,
    Match,
    MentionKey,
    match_incident,
)
from monitor.detection.simhash import NEAR_DUPLICATE_BITS, PART_BITS
from monitor.detection.terms import TermBackground


@dataclass(frozen=True)
class Merge:
    """Which incident keeps the matter, which it absorbs, and the mention's match
    with every incident involved (sorted by incident id)."""

    survivor: int
    absorbed: tuple[int, ...]
    matches: tuple[Match, ...]

    def reason(self) -> str:
        """One line for the survivor's timeline: what it absorbed and why."""
        ids = ", ".join(f"#{i}" for i in self.absorbed)
        why = "; ".join(f"#{m.incident_id}: {m.reason}" for m in self.matches)
        return f"absorbed {ids}: a new mention matches each ({why})"


def also_matches(mention: MentionKey, open_incidents: Sequence[IncidentKey], joined: Match, *,
                 window: timedelta, min_shared_terms: int = 2,
                 max_distance: int = NEAR_DUPLICATE_BITS, part_distance: int = PART_BITS,
                 background: TermBackground | None = None) -> tuple[Match, ...]:
    """The other incidents of the mention's brand it matches by a strong rule within
    ``window``, each judged alone by ``match_incident``'s rules, by incident id."""
    found = []
    for inc in sorted(open_incidents, key=lambda i: i.incident_id):
        if (inc.incident_id == joined.incident_id or inc.brand_id != mention.brand_id
                or abs(mention.at - inc.last_seen_at) > window):
            continue
        match = match_incident(mention, [inc], window=window,
                               min_shared_terms=min_shared_terms, max_distance=max_distance,
                               part_distance=part_distance, background=background)
        if match is not None:
            found.append(match)
    return tuple(found)


def plan_merge(joined: Match, others: Sequence[Match]) -> Merge | None:
    """The merge a mention that joined ``joined`` and also matches ``others`` calls
    for, or ``None`` when it bridges nothing. The oldest incident survives."""
    matches = {m.incident_id: m for m in others if m.incident_id != joined.incident_id}
    if not matches:
        return None
    matches[joined.incident_id] = joined
    ids = sorted(matches)
    return Merge(ids[0], tuple(ids[1:]), tuple(matches[i] for i in ids))


def combine_keys(survivor: IncidentKey, absorbed: Sequence[IncidentKey]) -> IncidentKey:
    """The survivor's grouping key once it holds the absorbed incidents' mentions:
    threads united, term counts and mention counts added, fingerprints and parts of
    the most recently active incident last (the most recent ``MAX_FINGERPRINTS`` are
    kept, as for one incident)."""
    if any(a.brand_id != survivor.brand_id for a in absorbed):
        raise ValueError(f"incident #{survivor.incident_id} cannot absorb an incident "
                         "of another brand")
    keys = sorted([survivor, *absorbed], key=lambda k: (k.last_seen_at, k.incident_id))
    counts: Counter[str] = Counter()
    for k in keys:
        counts.update(k.term_counts)
    prints = tuple(dict.fromkeys(fp for k in keys for fp in k.fingerprints))
    parts = tuple(dict.fromkeys(fp for k in keys for fp in k.part_prints))
    return IncidentKey(survivor.incident_id, survivor.brand_id,
                       frozenset().union(*(k.thread_keys for k in keys)),
                       prints[-MAX_FINGERPRINTS:], counts, keys[-1].last_seen_at,
                       sum(k.mentions for k in keys), parts[-MAX_FINGERPRINTS:])
