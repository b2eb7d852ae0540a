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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, inspect, update
from sqlmodel import Session

from db.models import Incident, Mention, Post, Source
from monitor.detection.category import CategoryGuess, guess_category
from monitor.detection.grouping import IncidentKey
from monitor.detection.severity import Evidence
from monitor.detection.signals import VolumeSignal
from monitor.stages.member_memo import (
    Held,
    MemberMemo,
    last_changes,
    memo_for,
    stamp_of,
    stamps_of,
)
from monitor.stages.merge import candidates, incident_key, loaded
from monitor.stages.readings import evidence_of, member_rows, note_posts

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
    rows: dict[tuple[type, int], object] = field(default_factory=dict)  # ``unchanged``'s
    held: dict[int, Held] = field(default_factory=dict)  # ``members``' memo entries
    waiting: dict[int, list] = field(default_factory=dict)  # joins before ``members_of``
    written: set[int] = field(default_factory=set)  # incidents ``changed`` this pass
    stamps: dict[int, tuple] = field(default_factory=dict)  # ``prime``'s, until used
    memo: MemberMemo = field(default_factory=MemberMemo)  # the database's (``pass_cache``)
    checked: list[int] = field(default_factory=list)  # mentions found to be no copy
    severities: dict[int, str | None] = field(default_factory=dict)  # mention id: severity

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
            self.prime(s, list(pool[1]), stamps=False)
        found = [i for i in pool[1].values() if i.merged_into is None
                 and i.last_seen_at >= since and not (open_only and i.resolved_at is not None)]
        return sorted(found, key=lambda i: i.id)

    def prime(self, s: Session, inc_ids: list[int], *, stamps: bool = True) -> None:
        """Read, for all of ``inc_ids`` at once, what ``last_changed`` (and, with
        ``stamps``, ``members_of``) would read for each: when each last alerted or
        reopened, and its members' stamp. Only for incidents this pass has not
        changed that way or joined yet, so nothing unwritten matters: no flush. The
        stamps are used before any mention joins or moves (``forget`` drops them)."""
        with s.no_autoflush:
            todo = [i for i in inc_ids if i not in self.last_change and i not in self.written]
            if todo:
                self.last_change.update(dict.fromkeys(todo))
                self.last_change.update(last_changes(s, todo))
            todo = [i for i in inc_ids if i not in self.members and i not in self.waiting]
            if stamps and todo:
                self.stamps.update(stamps_of(s, todo))

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
        """The incident's members in mention order (``readings.member_rows``), or
        those an earlier pass left, with the ones this pass added, if that makes
        the incident's mentions as the database holds them (``member_memo``)."""
        if inc.id not in self.members:
            stamp = self.stamps.pop(inc.id, None)
            if stamp is None or inc.id in self.waiting:
                with s.no_autoflush:  # the joins not written yet are compared as such
                    stamp = stamp_of(s, inc.id)
            held = self.memo.take(inc.id, keywords)
            waiting = self.waiting.pop(inc.id, [])
            written = [j for j in waiting if not _pending(j[3])]
            for joining in written if held is not None else ():
                held.add(*joining[:3])
            if held is None or held.stamp != stamp:
                rows = member_rows(s, inc.id)  # flushes every join first
                members = []
                for row in rows:
                    m, p, src = _Mention(*row[:6]), _Post(*row[6:10]), _Source(*row[10:12])
                    members.append(Member(m, p, src, evidence_of(m, p, src, keywords)))
                held = Held(stamp_of(s, inc.id), keywords, members,
                            [(r[6], r[12], r[8], r[9], r[13], r[7]) for r in rows])
            else:
                for joining in waiting:
                    if _pending(joining[3]):
                        held.add(*joining[:3])
            self.memo.keep(inc.id, held)
            note_posts(self.series, held.notes)
            self.members[inc.id], self.held[inc.id] = held.members, held
        return self.members[inc.id]

    def joined(self, inc_id: int, m: Mention, post: Post, source: Source,
               keywords: tuple[str, ...]) -> None:
        """``m`` joined incident ``inc_id``: added where its id puts it, as columns
        (the list may outlive this pass, ``member_memo``), now or when the
        incident's members are first asked for in this pass."""
        mm = _Mention(m.id, m.cues, m.reasons, m.risk, m.strong, m.sentiment)
        pp = _Post(post.id, post.fetched_at, post.title, post.text)
        ss = _Source(source.id, source.name)
        joining = (Member(mm, pp, ss, evidence_of(mm, pp, ss, keywords)), m.scored_at,
                   (post.id, post.thread_id, post.title, post.text, post.published_at,
                    post.fetched_at), m)
        if inc_id in self.held:
            self.held[inc_id].add(*joining[:3])
        else:
            self.waiting.setdefault(inc_id, []).append(joining)

    def opened(self, inc_id: int, keywords: tuple[str, ...]) -> None:
        """A new incident: no members yet (its first joins next), no alert yet."""
        self.memo.keep(inc_id, Held((0, None, None), keywords, [], []))
        self.last_change.setdefault(inc_id, None)

    def forget(self, *inc_ids: int) -> None:
        """Mentions moved between these incidents (a merge): read them again."""
        for inc_id in inc_ids:
            self.members.pop(inc_id, None)
            self.held.pop(inc_id, None)
            self.waiting.pop(inc_id, None)
            self.stamps.pop(inc_id, None)
            self.memo.drop(inc_id)
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

    def last_changed(self, s: Session, inc_id: int, read: Callable[[], datetime | None]
                     ) -> datetime | None:
        """When the incident last alerted or reopened (``read``), read once a pass.
        Unless this pass wrote such a change, nothing unwritten can change the
        answer: read without flushing first (each flush writes a few rows)."""
        if inc_id not in self.last_change:
            if inc_id in self.written:
                self.last_change[inc_id] = read()
            else:
                with s.no_autoflush:
                    self.last_change[inc_id] = read()
        return self.last_change[inc_id]

    def changed(self, inc_id: int) -> None:
        """An alert, reminder or reopening of ``inc_id`` was written."""
        self.last_change.pop(inc_id, None)
        self.written.add(inc_id)


def _pending(m: Mention) -> bool:
    """Whether ``m``'s incident is not written to the database yet (not flushed)."""
    return inspect(m).attrs.incident_id.history.has_changes()


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
    flushing what the pass wrote so far (a query flushes: one per mention, mostly),
    kept for the pass (``s.get`` of a held row still cost 0.1 ms: one per mention)."""
    held = pass_cache(s).rows
    row = held.get((model, row_id))
    if row is None:
        with s.no_autoflush:
            row = held[model, row_id] = s.get(model, row_id)
    return row


def write_checked(s: Session) -> None:
    """Write what the pass noted without the ORM: the mentions found to be no copy
    (``grouped_by`` empty) and each grouped mention's severity, one statement each
    instead of one UPDATE per mention (their rows already hold the values).
    Before anything reads those columns back (the soft alarm's surge, the next batch)."""
    cache = pass_cache(s)
    table = Mention.__table__
    if cache.checked:
        s.execute(update(table).where(table.c.id.in_(cache.checked)).values(grouped_by=""))
        cache.checked.clear()
    if cache.severities:
        s.execute(update(table).where(table.c.id == bindparam("mention"))
                  .values(severity=bindparam("severity")),
                  [{"mention": k, "severity": v} for k, v in cache.severities.items()])
        cache.severities.clear()


def prefetch(s: Session, model: type, ids: set[int]) -> None:
    """Read the rows of ``ids`` that ``unchanged`` will be asked for in one query (a
    batch's brands and sources), not one ``s.get`` each."""
    held = pass_cache(s).rows
    missing = sorted(i for i in ids if (model, i) not in held)
    if missing:
        with s.no_autoflush:
            held.update(((model, row.id), row) for row in loaded(s, model, missing))


def pass_cache(s: Session) -> PassCache:
    """The cache of the pass ``s`` runs (created on first use; it ends with ``s``)."""
    cache = s.info.get(CACHE)
    if cache is None:
        cache = s.info[CACHE] = PassCache(memo=memo_for(s))
    return cache
