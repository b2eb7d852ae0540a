"""Which incident a new flagged mention belongs to. Pure functions: no database,
no network.

Mentions of the same brand about the same matter are grouped into one incident,
because the PR team answers a matter once, not once per post (seed 004: one
spokesperson, one line). Three signals, strongest first:

1. the same thread (replies under one forum topic are one conversation);
2. near-duplicate text: reposts, copy-pastes with a few characters changed,
   "RT"/"转发" prefixes, detected with a 64-bit SimHash (``simhash.py``); and
   reposts that copy a post under words of their own (a news site's headline, a
   comment before "//@user:"), matched on the copied part, which must be closer
   (``PART_BITS``): a part is copied, not retyped;
3. shared salient terms (退款, 发霉; "mould", "refund") within a time window,
   for different people describing the same matter in their own words
   (``terms.py``). Only terms that are rare among the brand's *other* recent
   mentions count (``TermBackground``): "有人买过" or a product name every fan
   mentions is how the brand's audience talks, not a matter, and grouping on it
   turns ordinary chatter into a growing incident.

Every ordering here is explicit, so every process groups alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from types import MappingProxyType

from monitor.detection.simhash import (
    EMPTY_FINGERPRINT,
    NEAR_DUPLICATE_BITS,
    PART_BITS,
    hamming,
    near_duplicate,
)
from monitor.detection.terms import TermBackground, common_terms

MAX_FINGERPRINTS = 64  # per incident, and as many parts: later reposts look like recent ones
INCIDENT_TERMS = 24  # an incident's most frequent terms compared (see _incident_terms)

# ---------------------------------------------------------------- incidents


def _require_aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {at!r}")


@dataclass(frozen=True)
class MentionKey:
    """What clustering needs to know about one flagged mention.

    ``thread_key`` must be unique across sources (e.g. the thread URL, or
    "source:thread-id"); ``None`` for posts that are not replies in a thread.
    ``fingerprint`` is the whole post's, ``parts`` those of its parts (the text
    without its title, the original it quotes: ``simhash.post_fingerprints``)."""

    brand_id: int
    thread_key: str | None
    source: str
    at: datetime
    fingerprint: int
    terms: tuple[str, ...]
    parts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _require_aware(self.at, "MentionKey.at")
        object.__setattr__(self, "terms", tuple(self.terms))
        object.__setattr__(self, "parts", tuple(self.parts))


@dataclass(frozen=True)
class IncidentKey:
    """What clustering needs to know about one open incident: the union of its
    mentions' threads, their fingerprints and their parts' (most recent
    ``MAX_FINGERPRINTS`` each) and how many of its mentions had each salient term."""

    incident_id: int
    brand_id: int
    thread_keys: frozenset[str]
    fingerprints: tuple[int, ...]
    term_counts: Mapping[str, int]
    last_seen_at: datetime
    mentions: int = 0  # how many mentions it holds (0: unknown)
    part_prints: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _require_aware(self.last_seen_at, "IncidentKey.last_seen_at")
        object.__setattr__(self, "thread_keys", frozenset(self.thread_keys))
        object.__setattr__(self, "fingerprints", tuple(self.fingerprints))
        object.__setattr__(self, "part_prints", tuple(self.part_prints))
        object.__setattr__(self, "term_counts", MappingProxyType(dict(self.term_counts)))

    @cached_property
    def top_terms(self) -> frozenset[str]:
        """``_incident_terms``, worked out once per key: a key is compared with every
        mention of a detect pass, and sorting its terms each time cost the most."""
        ranked = sorted(self.term_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return frozenset(term for term, _ in ranked[:INCIDENT_TERMS])

    @classmethod
    def from_mention(cls, incident_id: int, mention: MentionKey) -> IncidentKey:
        """The key of a new incident opened by ``mention``."""
        empty = cls(incident_id, mention.brand_id, frozenset(), (), {}, mention.at)
        return merge_key(empty, mention)


@dataclass(frozen=True)
class Match:
    """The incident a mention joins, which rule matched (``thread``,
    ``near_duplicate`` or ``terms``) and a sentence for the alert."""

    incident_id: int
    rule: str
    reason: str
    shared_terms: tuple[str, ...] = ()
    distance: int | None = None


def merge_key(incident: IncidentKey, mention: MentionKey) -> IncidentKey:
    """The incident's key once ``mention`` has joined it."""
    if incident.brand_id != mention.brand_id:
        raise ValueError(f"mention of brand {mention.brand_id} cannot join incident "
                         f"#{incident.incident_id} of brand {incident.brand_id}")
    threads = incident.thread_keys
    if mention.thread_key is not None:
        threads = threads | {mention.thread_key}
    prints = incident.fingerprints
    if mention.fingerprint != EMPTY_FINGERPRINT:
        prints = (prints + (mention.fingerprint,))[-MAX_FINGERPRINTS:]
    parts = incident.part_prints
    parts += tuple(dict.fromkeys(fp for fp in mention.parts
                                 if fp != EMPTY_FINGERPRINT and fp not in parts))
    counts = Counter(incident.term_counts)
    counts.update(set(mention.terms))
    return IncidentKey(incident.incident_id, incident.brand_id, threads, prints, counts,
                       max(incident.last_seen_at, mention.at), incident.mentions + 1,
                       parts[-MAX_FINGERPRINTS:])


def _incident_terms(incident: IncidentKey) -> frozenset[str]:
    """The incident's ``INCIDENT_TERMS`` most frequent terms. A long-running
    incident collects hundreds of one-off terms; comparing against all of them would
    let it swallow every new complaint about the brand."""
    return incident.top_terms


def _own_counts(incident: IncidentKey, mention: MentionKey,
                background: TermBackground | None) -> tuple[Counter[str], int]:
    """Document counts of the new mention, plus the incident's unless the background
    left them out already, to be taken out of the background."""
    own: Counter[str] = Counter(set(mention.terms))
    if background is not None and incident.incident_id in background.excluded:
        return own, 1
    own.update(incident.term_counts)
    docs = max(incident.mentions, max(incident.term_counts.values(), default=0))
    return own, docs + 1


def _within(mention: MentionKey, incident: IncidentKey, window: timedelta) -> bool:
    return abs(mention.at - incident.last_seen_at) <= window


def _by_thread(mention: MentionKey, incidents: Sequence[IncidentKey]) -> Match | None:
    if mention.thread_key is None:
        return None
    found = [inc for inc in incidents if mention.thread_key in inc.thread_keys]
    if not found:
        return None
    best = max(found, key=lambda inc: (inc.last_seen_at, inc.incident_id))
    return Match(best.incident_id, "thread", "same thread")


def _distances(mention: MentionKey, inc: IncidentKey, max_distance: int,
               part_distance: int) -> tuple[list[int], list[int]]:
    """Near-duplicate distances whole post to whole post, and those where either side
    is a part (held to ``part_distance``)."""
    whole = [hamming(mention.fingerprint, fp) for fp in inc.fingerprints
             if near_duplicate(mention.fingerprint, fp, max_distance)]
    pairs = [(a, b) for a in mention.parts for b in (*inc.fingerprints, *inc.part_prints)]
    pairs += [(mention.fingerprint, b) for b in inc.part_prints]
    parts = [hamming(a, b) for a, b in pairs if near_duplicate(a, b, part_distance)]
    return whole, parts


def _by_fingerprint(mention: MentionKey, incidents: Sequence[IncidentKey],
                    max_distance: int, part_distance: int) -> Match | None:
    """The incident holding the closest near-duplicate (of the whole post or of a
    part); ties go to the more recently active incident, then the newer one."""
    best: tuple[tuple[int, datetime, int], int, bool, IncidentKey] | None = None
    for inc in incidents:
        whole, parts = _distances(mention, inc, max_distance, part_distance)
        if whole or parts:
            dist = min(whole + parts)
            rank = (-dist, inc.last_seen_at, inc.incident_id)
            if best is None or rank > best[0]:
                best = (rank, dist, dist not in whole, inc)
    if best is None:
        return None
    _, dist, by_part, inc = best
    aside = ", apart from a headline or comment" if by_part else ""
    return Match(inc.incident_id, "near_duplicate",
                 f"near-duplicate of a post in incident #{inc.incident_id}{aside} "
                 f"(distance {dist})", distance=dist)


def _shared_terms(mention: MentionKey, incident: IncidentKey,
                  background: TermBackground | None) -> tuple[str, ...]:
    """Terms of the mention among the incident's top terms, minus those common in
    the brand's other mentions."""
    theirs = _incident_terms(incident)
    shared = tuple(dict.fromkeys(t for t in mention.terms if t in theirs))
    if not shared:  # most incidents share nothing: no background to consult
        return ()
    own, own_docs = _own_counts(incident, mention, background)
    common = common_terms(shared, background, own=own, own_docs=own_docs)
    return tuple(t for t in shared if t not in common)


def _by_terms(mention: MentionKey, incidents: Sequence[IncidentKey], min_shared: int,
              background: TermBackground | None = None) -> Match | None:
    """The incident sharing the most distinctive terms (at least ``min_shared``);
    ties go to the more recently active incident, then the newer one."""
    best: tuple[tuple[int, datetime, int], tuple[str, ...], IncidentKey] | None = None
    for inc in incidents:
        shared = _shared_terms(mention, inc, background)
        if len(shared) >= min_shared:
            rank = (len(shared), inc.last_seen_at, inc.incident_id)
            if best is None or rank > best[0]:
                best = (rank, shared, inc)
    if best is None:
        return None
    _, shared, inc = best
    return Match(inc.incident_id, "terms",
                 f"shares terms {', '.join(shared)} with incident #{inc.incident_id}",
                 shared_terms=shared)


def match_incident(mention: MentionKey, open_incidents: Sequence[IncidentKey], *,
                   window: timedelta, min_shared_terms: int = 2,
                   max_distance: int = NEAR_DUPLICATE_BITS, part_distance: int = PART_BITS,
                   background: TermBackground | None = None) -> Match | None:
    """The open incident ``mention`` belongs to, or ``None`` for a new incident.

    Rules in order, the first that matches wins:
    same brand only; the same thread, however old the incident (a reply a day later
    is still that conversation); a near-duplicate of one of its posts within
    ``window`` (within ``part_distance`` when a copied part matches, not the whole
    post); at least ``min_shared_terms`` shared salient terms within ``window``
    (most shared terms first, then the most recently active incident). "Within the
    window" compares the mention's time with the incident's ``last_seen_at`` either
    way, so late-fetched posts still find their incident. With a ``background`` (the
    brand's recent mentions, this one and the incident's included), terms common
    outside the incident do not count as shared."""
    if min_shared_terms < 1:
        raise ValueError("min_shared_terms must be at least 1")
    mine = [inc for inc in open_incidents if inc.brand_id == mention.brand_id]
    match = _by_thread(mention, mine)
    if match is not None:
        return match
    recent = [inc for inc in mine if _within(mention, inc, window)]
    return (_by_fingerprint(mention, recent, max_distance, part_distance)
            or _by_terms(mention, recent, min_shared_terms, background))


def copy_of(mention: MentionKey, open_incidents: Sequence[IncidentKey], *,
            window: timedelta, distance: int = PART_BITS) -> Match | None:
    """The open incident an unflagged mention repeats, or None.

    A repost the scorer did not flag ("转发", a bare "RT", a copy with a word
    changed) is still the matter spreading: it joins the incident when the whole of
    it, or the part it copied, is within ``distance`` bits of a post the incident
    holds, within ``window``. Only the incident's own posts count, not what they
    quoted: a complaint quoting the brand's announcement must not pull in every
    plain repost of the announcement."""
    best: tuple[tuple[int, datetime, int], int, IncidentKey] | None = None
    for inc in open_incidents:
        if inc.brand_id != mention.brand_id or not _within(mention, inc, window):
            continue
        mine = (mention.fingerprint, *mention.parts)
        found = [hamming(a, b) for a in mine for b in inc.fingerprints
                 if a != EMPTY_FINGERPRINT and near_duplicate(a, b, distance)]
        if found:
            rank = (-min(found), inc.last_seen_at, inc.incident_id)
            if best is None or rank > best[0]:
                best = (rank, min(found), inc)
    if best is None:
        return None
    _, dist, inc = best
    return Match(inc.incident_id, "copy",
                 f"copy of a post in incident #{inc.incident_id} (distance {dist}; "
                 "not flagged itself)", distance=dist)
