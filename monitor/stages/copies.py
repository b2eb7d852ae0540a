"""Unflagged reposts join the incident they copy (``grouping.copy_of``).

A matter spreads through copies nobody wrote anew: "转发", a bare "RT", a headline
over a pasted complaint. The scorer often does not flag them (the words are the
original's, the copier adds none), yet they are the matter's reach: counted in its
incident, they raise its volume like any mention. Each unflagged mention is
checked once; ``grouped_by`` records the outcome (empty: not a copy).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from db.models import Brand, Incident, Mention, Post, Source
from monitor.detection.grouping import copy_of, merge_key
from monitor.stages.merge import mention_key, mention_terms, store_key
from monitor.stages.pass_cache import pass_cache, unchanged


def attach_copy(s: Session, m: Mention, post: Post, quiet: timedelta) -> Incident | None:
    """Put an unflagged mention in the open incident it copies (``grouping.copy_of``):
    the matter's reposts count as its spread. Otherwise it is marked as checked
    (``grouped_by`` empty) and never read again. Its salient terms are read only when
    it joins: a copy is found by fingerprints alone."""
    cache = pass_cache(s)
    found = cache.candidates(s, m.brand_id, post.fetched_at - quiet, open_only=True)
    match = None
    if found:
        brand, source = unchanged(s, Brand, m.brand_id), unchanged(s, Source, post.source_id)
        key = mention_key(m, post, source, brand, terms=False)
        match = copy_of(key, [cache.key(i) for i in found], window=quiet)
    if match is None:  # written with the batch's others (``pass_cache.write_checked``)
        set_committed_value(m, "grouped_by", "")
        cache.checked.append(m.id)
        return None
    key = replace(key, terms=mention_terms(m, post, brand))
    inc = s.get(Incident, match.incident_id)
    store_key(inc, merge_key(cache.key(inc), key))
    m.incident_id, m.fingerprint, m.terms = inc.id, key.fingerprint, list(key.terms)
    m.grouped_by = match.reason
    s.add_all([inc, m])
    cache.joined(inc.id, m, post, source, tuple(brand.keywords))
    return inc
