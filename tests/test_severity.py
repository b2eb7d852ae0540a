"""monitor/detection/severity.py: severity of an incident from its signals, with numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.detection.severity import (
    Evidence,
    Rules,
    Series,
    assess,
    gather,
    reminder_due,
    reply_threshold,
    rises,
    series_signal,
)
from monitor.detection.signals import volume_surprise

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RULES = Rules()  # 1 h window, 3 mentions, 5 replies (3 with a strong cue), 2 sources


def ev(post_id: int = 1, minutes: float = 0, source: str = "forum", risk: float = 0.7,
       strong: bool = False, reasons: tuple[str, ...] = ("negative tone (sentiment 0.10)",),
       cued: bool = True) -> Evidence:
    return Evidence(T0 + timedelta(minutes=minutes), post_id, source, risk, strong, reasons,
                    cued)


def replies(*points: tuple[float, int | None], label: str = 'thread "late again"',
            start: float = 0) -> Series:
    """A reply series: (minutes after T0, cumulative replies)."""
    return Series(label, T0 + timedelta(minutes=start),
                  tuple((T0 + timedelta(minutes=m), n) for m, n in points))


def judge(evidence, series=(), volume=None, at: float | None = None, rules=RULES):  # noqa: ANN001, ANN201
    latest = max((e.at for e in evidence), default=T0)
    now = latest if at is None else T0 + timedelta(minutes=at)
    return assess(evidence, gather(evidence, series, volume, now, rules), rules)


def test_no_evidence_no_severity() -> None:
    assert judge([]).severity is None


def test_one_risky_mention_is_a_notice_that_says_why() -> None:
    result = judge([ev(reasons=("legal threat: lawyer",))])
    assert result.severity == "notice" and not result.growing
    assert result.reasons == ("risky mention (risk 0.70): legal threat: lawyer",)
    assert judge([ev(reasons=())]).reasons[0].endswith("high risk score")


def test_three_mentions_within_the_window_is_a_warning() -> None:
    result = judge([ev(1, 0), ev(2, 30), ev(3, 60)])
    assert result.severity == "warning" and result.growing
    assert "3 risky mentions in 60 min" in result.reasons
    assert judge([ev(1, 0), ev(2, 30), ev(3, 61)]).severity == "notice"  # first fell out
    assert judge([ev(1, 0), ev(2, 30)]).severity == "notice"
    wide = Rules(window=timedelta(hours=3), growth_mentions=2)
    assert judge([ev(1, 0), ev(2, 170)], rules=wide).severity == "warning"


def test_reply_growth_within_the_window_is_a_warning_with_numbers() -> None:
    series = [replies((0, 3), (10, 5), (20, 8), start=-180)]
    result = judge([ev()], series, at=20)
    assert result.severity == "warning"
    assert 'replies 3 -> 8 in 20 min on thread "late again"' in result.reasons
    slow = [replies((0, 3), (20, 7), start=-180)]
    assert judge([ev()], slow, at=20).severity == "notice"


def test_growth_long_ago_does_not_count_now() -> None:
    series = [replies((0, 3), (10, 9), (300, 9), start=-120)]
    assert judge([ev()], series, at=10).severity == "warning"
    assert judge([ev()], series, at=300).severity == "notice"


def test_deleted_replies_do_not_hide_growth() -> None:
    series = [replies((0, 10), (5, 4), (15, 9), start=-600)]  # six removed, five came back
    assert judge([ev()], series, at=15).severity == "warning"
    series = [replies((0, 10), (5, 4), (15, 8), start=-600)]
    assert judge([ev()], series, at=15).severity == "notice"  # four new: not yet five
    series = [replies((0, 10), (5, 4), (15, 14), start=-600)]
    assert judge([ev()], series, at=15).severity == "warning"


def test_spread_to_a_second_source_while_growing_is_a_crisis() -> None:
    growing = [replies((0, 1), (30, 9), start=-60)]
    result = judge([ev(1, 0, "forum"), ev(2, 30, "weibo")], growing, at=30)
    assert result.severity == "crisis"
    assert "now on 2 sources: forum, weibo" in result.reasons
    assert judge([ev(1, 0, "forum"), ev(2, 90, "weibo")]).severity == "notice"  # no growth
    assert judge([ev(1, 0, "forum"), ev(2, 10, "forum")], growing, at=30).severity == "warning"
    assert judge([ev(1, 0, "a"), ev(2, 30, "b")], growing, at=30,
                 rules=Rules(crisis_sources=3)).severity == "warning"


def test_strong_cue_needs_growth_to_be_a_crisis() -> None:
    assert judge([ev(strong=True)]).severity == "notice"
    assert judge([ev(strong=True)], [replies((0, 1), (15, 3), start=-60)], at=15).severity == \
        "notice"  # two replies: what an ordinary post gets in an hour, not yet
    assert judge([ev()], [replies((0, 1), (15, 4), start=-60)], at=15).severity == "notice"
    grown = judge([ev(strong=True)], [replies((0, 1), (15, 4), start=-60)], at=15)
    assert grown.severity == "crisis"
    assert any("strong cue" in r for r in grown.reasons)
    three = judge([ev(1, 0, strong=True), ev(2, 5), ev(3, 10)])
    assert three.severity == "crisis"


def test_the_crisis_reason_says_why_the_strong_cue_counts() -> None:
    thread = [replies((0, 1), (15, 4), start=-60)]
    told = Evidence(T0, 1, "forum", 0.7, True, ("lawyer",), True,
                    "legal threat in the author's own words")
    crisis = judge([told], thread, at=15)
    assert crisis.severity == "crisis"
    assert "a strong cue with growth: legal threat in the author's own words" in crisis.reasons
    plain = Evidence(T0, 1, "forum", 0.7, False, ("lawyer",), True)
    assert judge([plain], thread, at=15).severity == "notice"  # not strong: 3 replies is few


def test_a_thread_grows_as_a_problem_only_as_far_as_its_posts_are_negative() -> None:
    """A happy launch thread with one reply misread as negative: 50 replies in an hour,
    but a twentieth of its scored posts flagged, so 2 count and it stays a notice; the
    same thread with half its posts negative is a warning, and says what counted."""
    points = ((0, 0), (30, 20), (60, 50))
    happy = judge([ev()], [_with_share(replies(*points, start=-5), 0.05)], at=60)
    assert happy.severity == "notice"
    angry = judge([ev()], [_with_share(replies(*points, start=-5), 0.5)], at=60)
    assert angry.severity in ("warning", "crisis")
    assert any("(50% of its replies negative: 25 of 50 counted)" in r for r in angry.reasons)
    full = judge([ev()], [replies(*points, start=-5)], at=60)
    assert not any("counted)" in r for r in full.reasons)  # a whole-negative series says nothing


def _with_share(series: Series, share: float) -> Series:
    return Series(series.label, series.started, series.points, share)


def test_replies_found_on_a_post_of_unknown_age_are_not_an_explosion() -> None:
    found = replies((0, 40), (10, 46))  # first seen with 40 replies, posting time unknown
    signal = series_signal(found, T0 + timedelta(minutes=10), RULES.window)
    assert signal.forecast.low < RULES.crisis_forecast
    assert judge([ev()], [found], at=10).severity == "warning"


def test_forecast_of_a_fast_thread_makes_a_crisis_and_gives_a_range() -> None:
    # replies doubling every few minutes, an hour after the post
    fast = replies((10, 5), (20, 20), (30, 60), (40, 130), (50, 220), (60, 330))
    signal = series_signal(fast, T0 + timedelta(minutes=60), RULES.window)
    assert signal.forecast.observed == 330
    assert signal.forecast.low <= signal.forecast.expected <= signal.forecast.high
    result = judge([ev()], [fast], at=60)
    assert result.severity == "crisis"
    line = next(r for r in result.reasons if r.startswith("forecast "))
    low, high = (float(x.replace(",", "")) for x in line.split()[1].split("-"))
    assert 330 <= low <= high and f"(now {330:,})" in line
    small = replies((10, 1), (30, 4), (60, 7))
    assert judge([ev()], [small], at=60).severity == "warning"  # grows, forecast small


def test_brand_volume_far_above_its_hour_is_a_warning() -> None:
    loud = volume_surprise(9, 0.4)
    usual = volume_surprise(2, 1.5)
    assert judge([ev()], volume=loud).severity == "notice"  # one lone complaint
    result = judge([ev(1, 0), ev(2, 10)], volume=loud)
    assert result.severity == "warning"
    assert any("9 negative mentions of the brand in the last hour vs 0.5" in r
               for r in result.reasons)
    assert judge([ev(1, 0), ev(2, 10)], volume=usual).severity == "notice"


def test_mentions_flagged_on_tone_alone_count_half() -> None:
    tone = [ev(i, 10 * i, cued=False) for i in range(1, 6)]
    assert judge(tone[:3]).severity == "notice"  # three questions the model misread
    assert judge(tone[:5]).severity == "notice"  # 2.5 < 3
    six = judge(tone + [ev(6, 55, cued=False)])
    assert six.severity == "warning"
    assert "6 risky mentions in 60 min (6 on tone alone, counted 0.5)" in six.reasons
    mixed = judge([ev(1, 0), ev(2, 10), ev(3, 20, cued=False), ev(4, 30, cued=False)])
    assert mixed.severity == "warning"  # 1 + 1 + 0.5 + 0.5
    assert "4 risky mentions in 60 min (2 on tone alone, counted 0.5)" in mixed.reasons
    assert "3 risky mentions in 60 min" in judge([ev(1, 0), ev(2, 30), ev(3, 60)]).reasons


def test_replies_under_a_tone_only_incident_need_twice_as_many() -> None:
    assert reply_threshold(RULES, strong=False) == 5
    assert reply_threshold(RULES, strong=False, cued=False) == 10
    assert reply_threshold(RULES, strong=True, cued=False) == 3
    series = [replies((0, 0), (30, 6), (50, 9), start=0)]
    assert judge([ev()], series, at=50).severity == "warning"
    assert judge([ev(cued=False)], series, at=50).severity == "notice"
    busier = [replies((0, 0), (30, 6), (50, 10), start=0)]
    assert judge([ev(cued=False)], busier, at=50).severity == "warning"
    # one cued mention in the incident is enough for the usual threshold
    assert judge([ev(1, 0, cued=False), ev(2, 5)], series, at=50).severity == "warning"


def test_brand_volume_needs_two_mentions_that_say_what_is_wrong() -> None:
    loud = volume_surprise(9, 0.4)
    assert judge([ev(1, 0, cued=False), ev(2, 10, cued=False)], volume=loud).severity == \
        "notice"
    assert judge([ev(1, 0), ev(2, 10, cued=False), ev(3, 20, cued=False)],
                 volume=loud).severity == "warning"


def test_iceberg_estimate_is_explained_once_it_grows() -> None:
    result = judge([ev(1, 0), ev(2, 10), ev(3, 20)], rules=Rules(iceberg_multiplier=25))
    assert "3 complaints seen: about 75 unhappy customers by the iceberg rule (x25)" in \
        result.reasons
    assert not any("iceberg" in r for r in judge([ev()]).reasons)


@pytest.mark.parametrize(("old", "new", "expected"), [
    (None, "notice", True), ("notice", "warning", True), ("warning", "crisis", True),
    ("crisis", "crisis", False), ("crisis", "warning", False), ("warning", None, False),
])
def test_rises_only_for_strictly_higher(old: str | None, new: str | None, expected: bool) -> None:
    assert rises(old, new) is expected


def test_reminders_for_a_growing_unacknowledged_crisis_only() -> None:
    now = T0 + timedelta(hours=3)
    last = T0
    every = Rules(remind_every=timedelta(hours=2))
    assert reminder_due("crisis", True, False, last, now, every)
    assert not reminder_due("crisis", True, False, now - timedelta(minutes=30), now, every)
    assert not reminder_due("crisis", False, False, last, now, every)  # not growing
    assert not reminder_due("crisis", True, True, last, now, every)  # acknowledged
    assert not reminder_due("warning", True, False, last, now, every)
    assert not reminder_due("crisis", True, False, last, now, Rules())  # off by default
