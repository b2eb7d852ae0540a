"""The "source went silent" rule (monitor/detection/silence.py): pure, post times in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.detection.silence import (
    SilenceRule,
    active_days,
    median_gap,
    silence_key,
    spoken_since,
    went_silent,
)
from monitor.stages.silence import silence_message
from monitor.stages.vitals import Vitals, not_ready, stage_lags

NOW = datetime(2026, 12, 12, 12, 0, tzinfo=UTC)
H, D = timedelta(hours=1), timedelta(days=1)


def every(step: timedelta, last: datetime, days: float) -> list[datetime]:
    """Posts every ``step`` for ``days`` up to ``last``."""
    n = int(days * D / step)
    return [last - i * step for i in range(n)]


def test_a_daily_source_quiet_for_two_days_is_silent():
    times = every(2 * H, NOW - 2 * D, 7)
    silence = went_silent(times, NOW)
    assert silence is not None
    assert silence.last_post_at == NOW - 2 * D and silence.quiet_for == 2 * D
    assert silence.usual_gap == 2 * H and silence.active_days == 7
    assert silence.threshold == D  # 3 x 2 h is less than the one-day floor


def test_not_silent_within_a_day_however_busy():
    times = every(5 * timedelta(minutes=1), NOW - 23 * H, 7)
    assert went_silent(times, NOW) is None
    assert went_silent(times, NOW + 2 * H) is not None


def test_a_source_that_posted_on_too_few_days_never_counts():
    # posts on 4 of the 7 days before the last one: not a daily source
    times = [NOW - 3 * D - k * D - h * H for k in (0, 1, 3, 5) for h in range(3)]
    assert active_days(times, max(times), 7) == 4
    assert went_silent(times, NOW) is None
    assert went_silent(times, NOW, SilenceRule(active_days=4)) is not None


def test_the_threshold_is_three_usual_gaps_when_that_is_more_than_a_day():
    times = every(12 * H, NOW - 30 * H, 7)  # twice a day: 3 x 12 h = 36 h
    assert median_gap(times) == 12 * H
    assert went_silent(times, NOW) is None
    assert went_silent(times, NOW + 7 * H).threshold == 36 * H


def test_days_are_counted_back_from_the_last_post_not_from_now():
    times = every(6 * H, NOW - 5 * D, 7)  # busy for a week, silent for five days
    assert went_silent(times, NOW) is not None
    assert went_silent(times[:1], NOW) is None  # one post: no gap to speak of
    assert went_silent([], NOW) is None


def test_an_episode_is_named_by_its_last_post_and_clears_when_posts_return():
    last = NOW - 2 * D
    assert silence_key(7, last) == "source-silent:7:20261210T120000"
    assert silence_key(7, last) != silence_key(7, last + H) != silence_key(8, last + H)
    assert not spoken_since(last, last) and not spoken_since(last, None)
    assert spoken_since(last, last + timedelta(seconds=1))


def test_the_message_names_the_source_and_makes_hostile_text_inert():
    silence = went_silent(every(2 * H, NOW - 2 * D, 7), NOW)
    title, body = silence_message("news\nfake line", "feed", "https://x.example/feed",
                                  silence, 7, "HTTP 403\r\n[CRISIS] forged")
    assert title == "[WARNING] source went silent: news fake line"
    assert "for 2.0 days, since 2026-12-10 12:00 UTC" in body
    assert "posted on 7 of 7 days, usually every 2.0 h (median)" in body
    assert "Last fetch error: HTTP 403 [CRISIS] forged" in body
    assert "sources test 'news fake line'" in body
    assert "\r" not in body and len(body.splitlines()) == 5


def test_readiness_fails_when_a_stage_falls_behind():
    fresh = Vitals(oldest_unscored=NOW - timedelta(seconds=30))
    assert not_ready(fresh, NOW, timedelta(minutes=5)) is None
    late = Vitals(oldest_unscored=NOW - timedelta(seconds=30),
                  oldest_pending_mention=NOW - timedelta(minutes=6))
    assert stage_lags(late, NOW) == {"score": 30.0, "detect": 360.0}
    assert not_ready(late, NOW, timedelta(minutes=5)) == \
        "stage detect is 360 s behind (more than 300 s)"
    assert stage_lags(Vitals(), NOW) == {"score": 0.0, "detect": 0.0}
