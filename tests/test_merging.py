"""Merging fragments: which other open incidents a new mention also matches, which
incident keeps the matter, and the survivor's grouping key. Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.detection.grouping import (
    MAX_FINGERPRINTS,
    IncidentKey,
    Match,
    MentionKey,
    match_incident,
)
from monitor.detection.merging import Merge, also_matches, combine_keys, plan_merge
from monitor.detection.terms import TermBackground

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=6)
FAR = 0x0F0F_0F0F_0F0F_0F0F  # 32 bits from 0 and from -1


def mention(fp: int = FAR, terms: tuple[str, ...] = (), *, brand: int = 1,
            thread: str | None = None, at: datetime = T0) -> MentionKey:
    return MentionKey(brand, thread, "forum", at, fp, terms)


def incident(incident_id: int, *, brand: int = 1, threads: tuple[str, ...] = (),
             prints: tuple[int, ...] = (), terms: dict[str, int] | None = None,
             at: datetime = T0, mentions: int = 0, parts: tuple[int, ...] = ()) -> IncidentKey:
    return IncidentKey(incident_id, brand, frozenset(threads), prints, terms or {}, at,
                       mentions, parts)


def bridge(m: MentionKey, incs: list[IncidentKey]) -> Merge | None:
    joined = match_incident(m, incs, window=WINDOW)
    return plan_merge(joined, also_matches(m, incs, joined, window=WINDOW))


def test_a_post_in_one_fragments_thread_sharing_terms_with_another_bridges_them():
    a = incident(3, terms={"iphone": 4, "battery": 4, "drain": 2}, at=T0 - timedelta(hours=1))
    b = incident(5, threads=("forum:9",), terms={"support": 1}, at=T0 - timedelta(minutes=20))
    m = mention(terms=("iphone", "battery", "drain"), thread="forum:9")
    joined = match_incident(m, [a, b], window=WINDOW)
    assert (joined.incident_id, joined.rule) == (5, "thread")
    others = also_matches(m, [a, b], joined, window=WINDOW)
    assert [(o.incident_id, o.rule, o.shared_terms) for o in others] == [
        (3, "terms", ("iphone", "battery", "drain"))]
    merge = plan_merge(joined, others)
    assert merge == Merge(3, (5,), (others[0], joined))  # the older one keeps the matter
    assert merge.reason() == ("absorbed #5: a new mention matches each "
                              "(#3: shares terms iphone, battery, drain with incident #3; "
                              "#5: same thread)")


def test_a_near_duplicate_of_one_fragment_sharing_terms_with_another_bridges_them():
    a = incident(7, prints=(0b1,), at=T0)
    b = incident(4, terms={"refund": 2, "mould": 2}, at=T0 - timedelta(hours=2))
    merge = bridge(mention(0b11, ("refund", "mould")), [a, b])
    assert (merge.survivor, merge.absorbed) == (4, (7,))
    assert [m.rule for m in merge.matches] == ["terms", "near_duplicate"]


def test_three_fragments_merge_into_the_oldest_in_id_order():
    terms = {"battery": 1, "drain": 1}
    incs = [incident(9, terms=terms), incident(2, terms=terms), incident(6, terms=terms)]
    merge = bridge(mention(terms=("battery", "drain")), incs)
    assert (merge.survivor, merge.absorbed) == (2, (6, 9))
    assert [m.incident_id for m in merge.matches] == [2, 6, 9]


def test_a_mention_matching_one_incident_bridges_nothing():
    a = incident(3, terms={"battery": 1, "drain": 1})
    b = incident(4, terms={"battery": 1, "screen": 1})  # one shared term is not enough
    assert bridge(mention(terms=("battery", "drain")), [a, b]) is None
    joined = Match(3, "terms", "x")
    assert plan_merge(joined, []) is None
    assert plan_merge(joined, [joined]) is None


def test_other_brands_and_incidents_outside_the_window_are_never_merged():
    terms = {"battery": 1, "drain": 1}
    a = incident(3, terms=terms)
    other_brand = incident(1, brand=2, terms=terms, threads=("forum:9",))
    stale = incident(2, terms=terms, threads=("forum:9",), at=T0 - WINDOW - timedelta(minutes=1))
    m = mention(terms=("battery", "drain"), thread="forum:9")
    joined = match_incident(m, [a], window=WINDOW)
    assert also_matches(m, [a, other_brand, stale], joined, window=WINDOW) == ()


def test_the_background_rules_apply_to_bridging_terms_too():
    common = incident(3, terms={"battery": 1, "drain": 1})
    joined = Match(8, "thread", "same thread")
    m = mention(terms=("battery", "drain"))
    assert also_matches(m, [common], joined, window=WINDOW)  # without a background
    everyday = [("battery", "drain")] * 40 + [("camera",)] * 10
    background = TermBackground.from_documents(everyday)
    assert also_matches(m, [common], joined, window=WINDOW, background=background) == ()


def test_combine_keys_unites_the_fragments_keys():
    old = incident(3, threads=("forum:1",), prints=(1, 2), terms={"battery": 3, "drain": 1},
                   at=T0 - timedelta(hours=1), mentions=3, parts=(10,))
    new = incident(5, threads=("forum:9",), prints=(2, 4), terms={"battery": 1, "hot": 2},
                   at=T0, mentions=2, parts=(11, 10))
    key = combine_keys(old, [new])
    assert key.incident_id == 3 and key.brand_id == 1
    assert key.thread_keys == {"forum:1", "forum:9"}
    assert key.fingerprints == (1, 2, 4) and key.part_prints == (10, 11)
    assert dict(key.term_counts) == {"battery": 4, "drain": 1, "hot": 2}
    assert key.last_seen_at == T0 and key.mentions == 5


def test_combine_keys_keeps_the_most_recent_fingerprints_only():
    old = incident(3, prints=tuple(range(1, 41)), at=T0 - timedelta(hours=1))
    new = incident(5, prints=tuple(range(100, 140)), at=T0)
    key = combine_keys(old, [new])
    assert len(key.fingerprints) == MAX_FINGERPRINTS
    assert key.fingerprints[-1] == 139 and 1 not in key.fingerprints


def test_combine_keys_refuses_another_brand():
    with pytest.raises(ValueError, match="another brand"):
        combine_keys(incident(3), [incident(4, brand=2)])
