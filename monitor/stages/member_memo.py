"""Incidents' members kept from one detect pass to the next (issue 20).

A pass re-assesses every incident a mention joins, and each needs all its members
with their posts' text and their evidence: read again each pass, that was the
largest single cost of detection once a pass cached its own readings. This keeps
them per database, in this process, and uses them again only when a one-row
query finds the incident's mentions as they were left: the same count, the same
sum of ids, the same newest ``scored_at`` (``rescore`` sets it when it changes a
mention's scores). Mentions only ever join or leave an incident (detection, a
merge, a surge) or are scored again, and posts are never edited, so any change
another worker or command made shows in that stamp and the members are read
again. Evidence also depends on the brand's keywords: kept with them.
"""

from __future__ import annotations

from bisect import insort
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, func, select
from sqlmodel import Session

from db.models import IncidentChange, Mention, as_utc

LIMIT = 4096  # incidents kept per database (least recently used go first)

_STAMP = select(func.count(), func.sum(Mention.id), func.max(Mention.scored_at)).where(
    Mention.incident_id == bindparam("incident"))

Stamp = tuple[int, int | None, datetime | None]


@dataclass
class Held:
    """One incident's members as a pass left them: ``members`` is the list the pass
    cache holds (joins add to it), ``notes`` its posts for ``readings.note_posts``."""

    stamp: Stamp
    keywords: tuple[str, ...]
    members: list
    notes: list[tuple]

    def add(self, member, scored_at: datetime, note: tuple) -> None:  # noqa: ANN001
        """A mention joined (a ``pass_cache.Member``): kept in mention order, and the
        stamp moved to what the database shows once it is written."""
        if any(x.mention.id == member.mention.id for x in self.members):
            return  # read with the members already
        insort(self.members, member, key=lambda x: x.order)
        count, total, newest = self.stamp
        scored_at = as_utc(scored_at)
        self.stamp = (count + 1, (total or 0) + member.mention.id,
                      scored_at if newest is None else max(newest, scored_at))
        self.notes.append(note)


class MemberMemo:
    """The kept incidents of one database, least recently used first."""

    def __init__(self) -> None:
        self.entries: OrderedDict[int, Held] = OrderedDict()

    def take(self, inc_id: int, keywords: tuple[str, ...]) -> Held | None:
        """The kept members of ``inc_id`` (taken out: ``keep`` puts them back) if
        they were judged with these keywords; the caller checks the stamp."""
        held = self.entries.pop(inc_id, None)
        return held if held is not None and held.keywords == keywords else None

    def keep(self, inc_id: int, held: Held) -> None:
        self.entries[inc_id] = held
        self.entries.move_to_end(inc_id)
        while len(self.entries) > LIMIT:
            self.entries.popitem(last=False)

    def drop(self, inc_id: int) -> None:
        self.entries.pop(inc_id, None)


_MEMOS: WeakKeyDictionary[Engine, MemberMemo] = WeakKeyDictionary()


def memo_for(s: Session) -> MemberMemo:
    """The memo of the database ``s`` works on."""
    bind = s.get_bind()
    engine = getattr(bind, "engine", bind)
    memo = _MEMOS.get(engine)
    if memo is None:
        memo = _MEMOS[engine] = MemberMemo()
    return memo


def stamp_of(s: Session, inc_id: int) -> Stamp:
    """How many mentions the incident holds, the sum of their ids, the newest score."""
    count, total, newest = s.exec(_STAMP, params={"incident": inc_id}).one()
    return count, total, None if newest is None else as_utc(newest)


def stamps_of(s: Session, inc_ids: list[int]) -> dict[int, Stamp]:
    """``stamp_of`` of several incidents, one query each 500."""
    out: dict[int, Stamp] = {i: (0, None, None) for i in inc_ids}
    for i in range(0, len(inc_ids), 500):
        rows = s.exec(select(Mention.incident_id, func.count(), func.sum(Mention.id),
                             func.max(Mention.scored_at))
                      .where(Mention.incident_id.in_(inc_ids[i:i + 500]))
                      .group_by(Mention.incident_id)).all()
        out.update((inc, (count, total, None if newest is None else as_utc(newest)))
                   for inc, count, total, newest in rows)
    return out


def last_changes(s: Session, inc_ids: list[int]) -> dict[int, datetime | None]:
    """When each of ``inc_ids`` last alerted or reopened (a merge is not an alert),
    one query each 500; absent: never."""
    out: dict[int, datetime | None] = {}
    for i in range(0, len(inc_ids), 500):
        out.update(s.exec(select(IncidentChange.incident_id, func.max(IncidentChange.at))
                          .where(IncidentChange.incident_id.in_(inc_ids[i:i + 500]),
                                 IncidentChange.kind != "merged")
                          .group_by(IncidentChange.incident_id)).all())
    return out
