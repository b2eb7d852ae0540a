"""What one detect pass reads again and again, read once and kept up to date.

A pass groups up to ``detect.BATCH`` mentions, and each one is judged as of its own
time: it joins an incident, and that incident is re-assessed at once, so what is
decided does not depend on how posts were batched (one ``all`` process or several
workers give the same incidents and alerts). Reading everything again for each
mention (the brand's open incidents, the incident's members and their evidence,
their reply series, the brand's volume, the last alert) made detection cost about
15 ms of CPU a post (issue 20). This keeps each of them for the pass (one
transaction: ``Session.info``) and the pass updates them as it writes: a mention
joins an incident (``joined``), an incident opens or moves (``seen``), fragments
merge (``forget``), an alert or reopening is written (``changed``).

What other writers commit meanwhile is not read again within the pass (on
PostgreSQL a reply-count snapshot stored mid-pass is read by the next pass, which
re-assesses the incidents it touches): one pass decides on one view.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session

from db.models import Incident, Mention, Post, Source
from monitor.detection.category import CategoryGuess, guess_category
from monitor.detection.grouping import IncidentKey
from monitor.detection.severity import Evidence
from monitor.detection.signals import VolumeSignal
from monitor.stages.merge import candidates, incident_key
from monitor.stages.readings import evidence_of, member_rows

CACHE = "cw_pass_cache"  # Session.info key
CATEGORY_TEXTS = 30  # the members a category is guessed from (the first ones)


class _Mention(NamedTuple):  # the columns of Mention, Post and Source a member needs
    id: int
    cues: list[str]
    reasons: list[str]
    risk: float
    strong: bool
    sentiment: float


class _Post(NamedTuple):
    id: int
    fetched_at: datetime
    title: str
    text: str


class _Source(NamedTuple):
    id: int
    name: str


@dataclass(frozen=True)
class Member:
    """One mention of an incident with its post, source and evidence (rows, or the
    columns of them that ``readings.member_rows`` reads)."""

    mention: Mention | _Mention
    post: Post | _Post
    source: Source | _Source
    evidence: Evidence

    @property
    def order(self) -> int:
        return self.mention.id


@dataclass
class PassCache:
    """The pass's readings; see the module docstring for when each is updated."""

    pools: dict[int, tuple[datetime, dict[int, Incident]]] = field(default_factory=dict)
    keys: dict[int, tuple] = field(default_factory=dict)
    members: dict[int, list[Member]] = field(default_factory=dict)
    series: dict[tuple, object] = field(default_factory=dict)  # readings.series_of's
    volumes: dict[tuple, VolumeSignal] = field(default_factory=dict)
    last_change: dict[int, datetime | None] = field(default_factory=dict)
    categories: dict[int, tuple[tuple[int, ...], CategoryGuess]] = field(default_factory=dict)
    rules: dict[int, object] = field(default_factory=dict)  # brand id: its Rules

    # ------------------------------------------------------------ open incidents

    def candidates(self, s: Session, brand_id: int, since: datetime, *,
                   open_only: bool = False) -> list[Incident]:
        """``merge.candidates``, from the brand's incidents read once for the pass
        (mentions come in time order, so ``since`` rarely goes back; when it does,
        the pool is read again from that time)."""
        pool = self.pools.get(brand_id)
        if pool is None or since < pool[0]:
            pool = (since, {i.id: i for i in candidates(s, brand_id, since)})
            self.pools[brand_id] = pool
        found = [i for i in pool[1].values() if i.merged_into is None
                 and i.last_seen_at >= since and not (open_only and i.resolved_at is not None)]
        return sorted(found, key=lambda i: i.id)

    def seen(self, inc: Incident) -> None:
        """``inc`` opened, or its last sighting moved: the brand's pool holds it."""
        pool = self.pools.get(inc.brand_id)
        if pool is not None:
            pool[1][inc.id] = inc

    def key(self, inc: Incident) -> IncidentKey:
        """``merge.incident_key``, built again only when the incident's key columns
        changed: ``store_key`` assigns new lists, so the same objects mean the same key.
        Read from the row's ``__dict__`` (a mention is compared with every open
        incident: the ORM's attribute access was most of the cost); an attribute not
        loaded there is never a match."""
        held = self.keys.get(inc.id)
        if held is not None and _same(_stamp(inc), held[1]):
            return held[0]
        key = incident_key(inc)
        self.keys[inc.id] = (key, _stamp(inc))
        return key

    # ------------------------------------------------------------ members

    def members_of(self, s: Session, inc: Incident, keywords: tuple[str, ...]
                   ) -> list[Member]:
        """The incident's members in mention order (``readings.member_rows``)."""
        if inc.id not in self.members:
            held = []
            for row in member_rows(s, inc.id):
                m, p, src = _Mention(*row[:6]), _Post(*row[6:10]), _Source(*row[10:])
                held.append(Member(m, p, src, evidence_of(m, p, src, keywords)))
            self.members[inc.id] = held
        return self.members[inc.id]

    def joined(self, inc_id: int, m: Mention, post: Post, source: Source,
               keywords: tuple[str, ...]) -> None:
        """``m`` joined incident ``inc_id``: added where its id puts it."""
        held = self.members.get(inc_id)
        if held is not None and all(x.mention is not m for x in held):
            insort(held, Member(m, post, source, evidence_of(m, post, source, keywords)),
                   key=lambda x: x.order)

    def forget(self, *inc_ids: int) -> None:
        """Mentions moved between these incidents (a merge): read them again."""
        for inc_id in inc_ids:
            self.members.pop(inc_id, None)
            self.categories.pop(inc_id, None)

    def category(self, inc_id: int, members: list[Member]) -> CategoryGuess:
        """The category guessed from the first members, again only when they change."""
        first = members[:CATEGORY_TEXTS]
        ids = tuple(x.mention.id for x in first)
        held = self.categories.get(inc_id)
        if held is None or held[0] != ids:
            guess = guess_category([f"{x.post.title}\n{x.post.text}" for x in first],
                                   {c for x in first for c in x.mention.cues})
            held = self.categories[inc_id] = (ids, guess)
        return held[1]

    # ------------------------------------------------------------ readings

    def volume(self, brand_id: int, now: datetime, window: object,
               read: Callable[[], VolumeSignal]) -> VolumeSignal:
        """The brand's volume at ``now`` (a pure function of the pass's view)."""
        key = (brand_id, now, window)
        if key not in self.volumes:
            self.volumes[key] = read()
        return self.volumes[key]

    def last_changed(self, inc_id: int, read: Callable[[], datetime | None]
                     ) -> datetime | None:
        if inc_id not in self.last_change:
            self.last_change[inc_id] = read()
        return self.last_change[inc_id]

    def changed(self, inc_id: int) -> None:
        """An alert, reminder or reopening of ``inc_id`` was written."""
        self.last_change.pop(inc_id, None)


def _stamp(inc: Incident) -> tuple:
    """What an incident's key is made of, as of now (see ``PassCache.key``)."""
    d = inc.__dict__
    return (d.get("last_seen_at"), d.get("mention_count"), d.get("thread_keys"),
            d.get("fingerprints"), d.get("part_prints"), d.get("term_counts"))


def _same(now: tuple, then: tuple) -> bool:
    """The same times and counts, and the very same key lists (none missing)."""
    return (now[0] == then[0] and now[1] == then[1] and now[2] is then[2]
            and now[3] is then[3] and now[4] is then[4] and now[5] is then[5]
            and None not in now[2:])


def unchanged(s: Session, model: type, row_id: int):  # noqa: ANN201 (a row of ``model``)
    """``s.get`` of a row the pass never changes (a brand, a source), without first
    flushing what the pass wrote so far (a query flushes: one per mention, mostly)."""
    with s.no_autoflush:
        return s.get(model, row_id)


def pass_cache(s: Session) -> PassCache:
    """The cache of the pass ``s`` runs (created on first use; it ends with ``s``)."""
    cache = s.info.get(CACHE)
    if cache is None:
        cache = s.info[CACHE] = PassCache()
    return cache
