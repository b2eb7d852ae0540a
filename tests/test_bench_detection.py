"""bench/detection.py's crisis marks: when a crisis's observed volume (posts + new
replies in the trailing hour, polled every 5 minutes) reaches a share of its peak."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.detection import observed_marks
from bench.simulate import CrisisTruth

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _crisis(ids: tuple[str, ...]) -> CrisisTruth:
    return CrisisTruth("Acme", "sudden", T0, T0, T0, T0, 10.0, (("forum", T0),), ids, "en",
                       "phone fire")


def _record(post: str, minutes: int, replies: int) -> dict:
    return {"at": (T0 + timedelta(minutes=minutes)).isoformat(), "source": "forum",
            "id": post, "brand": "Acme", "replies": replies}


def test_marks_follow_what_was_posted_not_the_first_post() -> None:
    # a lone first post, nothing for 40 minutes, then 3 replies every 5 minutes
    records = [_record("p1", 0, 0)]
    records += [_record("p1", m, 3 * (m - 40) // 5 + 3) for m in range(40, 125, 5)]
    records += [_record("other", 50, 9)]  # another post: not the crisis's volume
    t25, t50 = observed_marks(records, _crisis(("p1",)))
    # the trailing hour peaks at 36 (12 polls x 3); 25% = 9, first reached at 50 min
    # (1 + 3 + 3 + 3 in the hour ending then); 50% = 18 at 65 min
    assert t25 == T0 + timedelta(minutes=55)  # the end of the 5-minute step that holds it
    assert t50 == T0 + timedelta(minutes=70)
    assert t25 < t50
