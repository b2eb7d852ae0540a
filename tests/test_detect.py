"""monitor/detect.py: severity of an incident from plain facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.detect import Assessment, Evidence, Growth, Rules, assess, reply_growth, rises

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RULES = Rules()  # 1 h window, 3 mentions, 3 replies


def ev(post_id: int = 1, minutes: float = 0, source: str = "forum", risk: float = 0.7,
       strong: bool = False, reasons: tuple[str, ...] = ("negative tone (sentiment 0.10)",)
       ) -> Evidence:
    return Evidence(T0 + timedelta(minutes=minutes), post_id, source, risk, strong, reasons)


# --- assess ----------------------------------------------------------------------------


def test_no_evidence_no_severity() -> None:
    assert assess([], [Growth(1, 0, 50)], RULES) == Assessment(None, ())


def test_single_risky_mention_is_notice() -> None:
    result = assess([ev(risk=0.72, reasons=("legal threat: lawyer",))], [], RULES)
    assert result.severity == "notice"
    assert result.reasons == ("risky mention (risk 0.72): legal threat: lawyer",)


def test_mention_without_reasons_says_high_risk_score() -> None:
    result = assess([ev(reasons=())], [], RULES)
    assert result.reasons == ("risky mention (risk 0.70): high risk score",)


def test_first_reason_describes_the_latest_mention() -> None:
    evidence = [ev(1, 30, risk=0.9, reasons=("late",)), ev(2, 0, risk=0.6, reasons=("early",))]
    result = assess(evidence, [], RULES)
    assert result.reasons[0] == "risky mention (risk 0.90): late"


def test_three_mentions_within_window_is_warning() -> None:
    result = assess([ev(1, 0), ev(2, 20), ev(3, 40)], [], RULES)
    assert result.severity == "warning"
    assert "3 risky mentions in 60 min" in result.reasons


def test_window_edge_is_inclusive() -> None:
    result = assess([ev(1, 0), ev(2, 30), ev(3, 60)], [], RULES)
    assert result.severity == "warning"


def test_three_mentions_spread_over_more_than_window_is_notice() -> None:
    result = assess([ev(1, 0), ev(2, 40), ev(3, 90)], [], RULES)
    assert result.severity == "notice"
    assert len(result.reasons) == 1
    assert not any("risky mentions" in r for r in result.reasons)


def test_two_mentions_within_window_is_notice() -> None:
    assert assess([ev(1, 0), ev(2, 5)], [], RULES).severity == "notice"


def test_custom_rules_window_and_count() -> None:
    rules = Rules(window=timedelta(minutes=30), growth_mentions=2)
    result = assess([ev(1, 0), ev(2, 25)], [], rules)
    assert result.severity == "warning"
    assert "2 risky mentions in 30 min" in result.reasons
    assert assess([ev(1, 0), ev(2, 31)], [], rules).severity == "notice"


def test_reply_growth_of_three_is_warning() -> None:
    result = assess([ev(7)], [Growth(7, 1, 14, "Acme phone exploded")], RULES)
    assert result.severity == "warning"
    assert "replies 1 -> 14 on Acme phone exploded" in result.reasons


def test_reply_growth_exactly_threshold_is_warning() -> None:
    result = assess([ev(7)], [Growth(7, 2, 5)], RULES)
    assert result.severity == "warning"
    assert "replies 2 -> 5 on post #7" in result.reasons


def test_reply_growth_of_one_is_notice() -> None:
    result = assess([ev(7)], [Growth(7, 4, 5, "x")], RULES)
    assert result.severity == "notice"
    assert not any(r.startswith("replies") for r in result.reasons)


def test_two_sources_is_crisis() -> None:
    result = assess([ev(1, 0, "weibo"), ev(2, 10, "forum")], [], RULES)
    assert result.severity == "crisis"
    assert "on 2 sources: forum, weibo" in result.reasons


def test_two_sources_counted_over_whole_incident() -> None:
    result = assess([ev(1, 0, "weibo"), ev(2, 600, "forum")], [], RULES)
    assert result.severity == "crisis"


def test_same_source_repeated_is_not_crisis() -> None:
    result = assess([ev(1, 0, "forum"), ev(2, 10, "forum")], [], RULES)
    assert result.severity == "notice"


def test_strong_cue_alone_is_notice() -> None:
    result = assess([ev(strong=True)], [], RULES)
    assert result.severity == "notice"


def test_strong_cue_with_reply_growth_is_crisis() -> None:
    result = assess([ev(3, strong=True)], [Growth(3, 0, 9)], RULES)
    assert result.severity == "crisis"
    assert "replies 0 -> 9 on post #3" in result.reasons
    assert any("strong cue" in r for r in result.reasons)


def test_strong_cue_with_mention_growth_is_crisis() -> None:
    result = assess([ev(1, 0), ev(2, 10), ev(3, 20, strong=True)], [], RULES)
    assert result.severity == "crisis"
    assert "3 risky mentions in 60 min" in result.reasons


def test_strong_cue_with_small_growth_is_notice() -> None:
    result = assess([ev(3, strong=True)], [Growth(3, 0, 2)], RULES)
    assert result.severity == "notice"


def test_all_reasons_together() -> None:
    evidence = [ev(1, 0, "forum", strong=True), ev(2, 10, "weibo"), ev(3, 20, "forum")]
    result = assess(evidence, [Growth(1, 1, 14, "thread")], RULES)
    assert result.severity == "crisis"
    assert result.reasons[1:3] == ("3 risky mentions in 60 min", "replies 1 -> 14 on thread")
    assert "on 2 sources: forum, weibo" in result.reasons


# --- rises -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, "notice", True),
        (None, "crisis", True),
        ("notice", "warning", True),
        ("warning", "crisis", True),
        ("notice", "crisis", True),
        ("notice", "notice", False),
        ("warning", "warning", False),
        ("crisis", "crisis", False),
        ("crisis", "warning", False),
        ("warning", "notice", False),
        ("notice", None, False),
        (None, None, False),
    ],
)
def test_rises_only_for_strictly_higher(old: str | None, new: str | None, expected: bool) -> None:
    assert rises(old, new) is expected


# --- reply_growth ------------------------------------------------------------------------


def test_reply_growth_first_to_last() -> None:
    assert reply_growth(5, [1, 3, 14], "t") == Growth(5, 1, 14, "t")


def test_reply_growth_skips_none() -> None:
    assert reply_growth(5, [None, 2, None, 9, None]) == Growth(5, 2, 9, "")


@pytest.mark.parametrize(
    "replies",
    [[], [None], [None, None], [4], [None, 4, None], [9, 3], [10, 2, 5], [6, 6], [3, None, 3]],
)
def test_reply_growth_none_when_not_growing(replies: list[int | None]) -> None:
    assert reply_growth(1, replies) is None


def test_reply_growth_dip_then_rise_compares_first_and_last() -> None:
    assert reply_growth(1, [5, 2, 8]) == Growth(1, 5, 8, "")


def test_reply_growth_zero_start() -> None:
    assert reply_growth(2, [0, 0, 3]) == Growth(2, 0, 3, "")
