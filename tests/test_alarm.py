"""monitor/detection/alarm.py: the brand alarm over 1 h, 6 h and 24 h windows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy import stats

from monitor.detection.alarm import (
    MAX_SIZE,
    NEAR,
    REPLY_WEIGHT,
    brand_alarm,
    covered,
    fit_size,
    nb_sf,
    near_weight,
    reply_weights,
    usual_level,
)
from monitor.detection.signals import SeasonalBaseline

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def steady(per_hour: float, days: int = 27, seed: int = 1) -> list[datetime]:
    """Poisson arrivals at ``per_hour`` for ``days`` days before the last day."""
    rng = random.Random(seed)
    start, end = NOW - timedelta(days=days + 1), NOW - timedelta(days=1)
    out, t = [], start
    while True:
        t += timedelta(hours=rng.expovariate(per_hour))
        if t >= end:
            return out
        out.append(t)


def test_nb_tail_is_poisson_when_not_dispersed_and_heavier_when_it_is() -> None:
    assert abs(nb_sf(5, 1.0, MAX_SIZE) - stats.poisson.sf(4, 1.0)) < 1e-12
    assert nb_sf(5, 1.0, 2.0) > nb_sf(5, 1.0, MAX_SIZE)  # bursty history: 5 is less rare
    assert nb_sf(0, 3.0, 1.0) == 1.0


def test_size_is_fitted_from_the_excess_variance() -> None:
    assert fit_size([2, 2, 2, 2], [2, 2, 2, 2]) == MAX_SIZE  # no spread beyond Poisson
    bursty = fit_size([0, 0, 0, 8, 0, 0, 0, 8], [2] * 8)
    assert 0.5 <= bursty < 5


def test_a_slow_burn_alarms_on_the_day_window_not_the_hour() -> None:
    """Three negative mentions an hour for ten hours against a usual 0.5: no single
    hour is remarkable (p about 0.01), the day is (30 against about 12)."""
    burn = [NOW - timedelta(minutes=20 * i + 5) for i in range(30)]
    alarm = brand_alarm(steady(0.5) + burn, NOW)
    assert alarm.fired is not None and alarm.fired.hours in (6, 24)
    assert alarm.fired.observed == 30 if alarm.fired.hours == 24 else alarm.fired.observed >= 10
    assert "negative mentions of Acme in the last" in alarm.reason("Acme")
    one_hour = next(w for w in alarm.windows if w.hours == 1)
    assert one_hour.p_value > 0.001 / 3


def test_an_ordinary_day_does_not_alarm() -> None:
    usual = steady(0.5, days=28, seed=2)
    today = [t for t in usual if t >= NOW - timedelta(days=1)]
    alarms = [brand_alarm(steady(0.5, seed=s) + today, NOW).fired for s in range(3, 13)]
    assert alarms == [None] * 10


def test_a_new_brand_or_a_handful_never_alarms() -> None:
    assert brand_alarm([NOW - timedelta(minutes=m) for m in range(10)], NOW).fired is None
    quiet = steady(0.01, seed=4)
    three = [NOW - timedelta(minutes=5 * i) for i in range(3)]
    assert brand_alarm(quiet + three, NOW).fired is None  # MIN_OBSERVED


def test_a_past_surge_in_the_history_does_not_hide_todays() -> None:
    """Last week's crisis (40 mentions in three hours) stays in the 28-day history. Left
    in, it raises the usual level and makes the fitted tail so heavy that six negative
    mentions in the last hour, against a usual 0.2, look ordinary; trimmed out as a past
    surge (``usual_level``), they alarm."""
    past = [NOW - timedelta(days=6, minutes=4 * i) for i in range(40)]
    today = [NOW - timedelta(minutes=9 * i + 1) for i in range(6)]
    alarm = brand_alarm(steady(0.2, seed=5) + past + today, NOW)
    assert alarm.fired is not None and alarm.fired.hours == 1, alarm.windows
    assert alarm.fired.size == MAX_SIZE  # the history is Poisson once the surge is out


def test_usual_level_leaves_out_past_surges() -> None:
    start = NOW - timedelta(days=10)
    hourly = np.full(240, 0.0)
    hourly[::4] = 1.0  # one an hour in four: 0.25 an hour
    burst = hourly.copy()
    burst[100:103] = 30.0
    plain, plain_size = usual_level(hourly, start, 1)
    trimmed, trimmed_size = usual_level(burst, start, 1)
    day = plain.expected(NOW, hours=24)  # 6
    untrimmed = SeasonalBaseline.from_hourly(burst.tolist(), start).expected(NOW, hours=24)
    assert untrimmed > 2 * day  # the burst's 90 mentions would count as usual
    assert trimmed.expected(NOW, hours=24) < 1.4 * day  # imputed at the first fit's rates
    _, untrimmed_size = usual_level(burst, start, 1, trim_p=0.0)  # nothing left out
    assert plain_size == MAX_SIZE and untrimmed_size < 0.6 < 2 < trimmed_size


def test_weights_say_how_much_each_mention_counts() -> None:
    """Ten mentions in the last hour that the detect stage counts 0 (news naming the
    brand in passing) do not alarm; counted 1 they do, and 0.5 counts as half."""
    burst = [NOW - timedelta(minutes=5 * i + 1) for i in range(10)]
    usual = steady(0.2, seed=6)
    ones = [1.0] * len(usual)
    assert brand_alarm(usual + burst, NOW, weights=ones + [1.0] * 10).fired is not None
    assert brand_alarm(usual + burst, NOW, weights=ones + [0.0] * 10).fired is None
    half = brand_alarm(usual + burst, NOW, weights=ones + [0.5] * 10)
    assert next(w for w in half.windows if w.hours == 1).observed == 5


def test_each_window_is_judged_on_the_history_before_it() -> None:
    """A brand first heard of 80 hours ago: too young for the day window (56 hours of
    history before it), old enough for the hour and six hours (79 and 74 hours before
    them): its hour is not kept waiting for the day's history."""
    first = NOW - timedelta(hours=80)
    young = [first] + [t for t in steady(0.2, seed=7) if t > first]
    burst = [NOW - timedelta(minutes=6 * i + 1) for i in range(8)]
    alarm = brand_alarm(young + burst, NOW)
    assert {w.hours for w in alarm.windows} == {1, 6}
    assert alarm.fired is not None and alarm.fired.hours == 1


def test_replies_under_counted_posts_weigh_half_a_post_each() -> None:
    counted = {1: (NOW, 1.0), 2: (NOW, 0.0), 3: (NOW, 0.5)}
    gains = [(1, NOW, 4), (2, NOW, 300), (3, NOW, 2), (9, NOW, 5), (1, NOW, 0)]
    assert reply_weights(counted, gains) == [(1, NOW, 4 * REPLY_WEIGHT),
                                             (3, NOW, 2 * 0.5 * REPLY_WEIGHT)]


def test_replies_under_a_few_complaints_make_them_a_surge() -> None:
    """Three flagged complaints in the last hour against a usual 0.3 are no alarm (p
    about 0.004); the twenty replies piling up under them within the hour are the
    matter's volume (issue 15: most of a real crisis's early events are replies),
    and with them the hour alarms, saying how much of it replies were."""
    usual = steady(0.3, seed=6)
    posts = [NOW - timedelta(minutes=m) for m in (50, 35, 20)]
    assert brand_alarm(usual + posts, NOW).fired is None
    replies = [(NOW - timedelta(minutes=2 * i + 1), REPLY_WEIGHT) for i in range(20)]
    alarm = brand_alarm(usual + posts, NOW, replies=replies)
    assert alarm.fired is not None and alarm.fired.hours == 1, alarm.windows
    assert alarm.fired.replies == 20 * REPLY_WEIGHT and alarm.fired.observed == 13
    assert "replies under them counted 0.5 each: 10.0 of it" in alarm.reason("Acme")


def test_one_posts_replies_alone_are_the_thread_rules_not_the_alarms() -> None:
    usual = steady(0.3, seed=6)
    replies = [(NOW - timedelta(minutes=2 * i + 1), REPLY_WEIGHT) for i in range(20)]
    alarm = brand_alarm(usual + [NOW - timedelta(minutes=50)], NOW, replies=replies)
    assert alarm.fired is None  # MIN_POSTS


def test_one_surge_raises_one_incident() -> None:
    """A crisis split into one-post fragments keeps the alarm firing; once it raised an
    incident within the window, or a warned incident leads the window, nothing new is
    raised (issue 15: later firings put warnings on a complaint beside the crisis)."""
    fragments = {1: 1.5, 2: 1.5, 3: 1.0}
    assert not covered(fragments, warned=set(), raised_within=False)
    assert covered(fragments, warned=set(), raised_within=True)
    assert covered(fragments, warned={2}, raised_within=False)  # ties go to the warned
    assert not covered(fragments, warned={3}, raised_within=False)  # a bystander warned
    assert not covered({}, warned={3}, raised_within=False)


def test_posts_alone_still_alarm_when_replies_make_the_history_bursty() -> None:
    """Complaints in the history drew clumps of replies (twelve each within minutes),
    so with replies counted the usual level is bursty and its tail heavy; seven
    complaints in the last six hours that drew no replies must alarm as they did
    without replies counted: the posts are judged alone too."""
    usual = steady(0.1, seed=7)
    clumps = [(t + timedelta(minutes=k), REPLY_WEIGHT) for t in usual for k in range(12)]
    today = [NOW - timedelta(minutes=50 * i + 5) for i in range(7)]
    alone = brand_alarm(usual + today, NOW)
    assert alone.fired is not None, alone.windows
    both = brand_alarm(usual + today, NOW, replies=clumps)
    assert both.fired is not None and both.fired.replies == 0, both.windows


def test_replies_under_an_unflagged_post_count_by_how_near_it_came() -> None:
    assert near_weight(0.45, 0.5) == 0.9
    assert near_weight(NEAR * 0.5, 0.5) == NEAR
    assert near_weight(0.2, 0.5) == 0.0  # chatter, a happy thread's opener
    assert near_weight(0.7, 0.5) == 0.0  # flagged: counted as a post of its own
    near = {7: (NOW, near_weight(0.45, 0.5)), 8: (NOW, near_weight(0.1, 0.5))}
    assert [w for *_, w in reply_weights(near, [(7, NOW, 10), (8, NOW, 300)])] == \
        [10 * REPLY_WEIGHT * 0.9]


def test_replies_under_a_near_threshold_opener_make_two_complaints_a_surge() -> None:
    """Two flagged complaints in the hour are no alarm; the 30 replies piling up under
    a post rated just under the threshold make the hour a surge, while the same
    replies under a happy opener (risk 0.1) add nothing."""
    usual = steady(0.3, seed=6)
    posts = [NOW - timedelta(minutes=m) for m in (45, 20)]
    gains = [(7, NOW - timedelta(minutes=2 * i + 1), 1) for i in range(30)]
    for risk, fires in ((0.45, True), (0.1, False)):
        counted = {7: (NOW - timedelta(minutes=58), near_weight(risk, 0.5))}
        replies = [(at, w) for _, at, w in reply_weights(counted, gains)]
        alarm = brand_alarm(usual + posts, NOW, replies=replies)
        assert (alarm.fired is not None) == fires, (risk, alarm.windows)


def burn_history(seed: int = 3) -> list[datetime]:
    """Three weeks of 0.5 negative mentions an hour, with a two-day slow burn ten
    days ago rising to 4 an hour and back."""
    rng = random.Random(seed)
    out = steady(0.5, days=20, seed=seed)
    start = NOW - timedelta(days=10)
    for h in range(48):
        rate = 0.5 + 3.5 * (1 - abs(h - 24) / 24)
        out += [start + timedelta(hours=h, minutes=rng.uniform(0, 60))
                for _ in range(np.random.default_rng(seed + h).poisson(rate))]
    return out


def test_a_past_slow_burn_is_trimmed_away_whole() -> None:
    """Trimmed once, a two-day burn's shoulders stay in the history (its peak raised the
    first fit) and make the 6 h tail heavy; trimmed until nothing stands out, the
    usual level is the brand's everyday 0.5 an hour with a near-Poisson tail, so
    eleven negative mentions in six hours alarm as they would without the burn."""
    times = burn_history()
    start = (NOW - timedelta(days=21)).replace(minute=0)
    hours = int((NOW - timedelta(hours=6) - start) // timedelta(hours=1))
    offsets = np.array([int((t - start) // timedelta(hours=1)) for t in times])
    hourly = np.bincount(offsets[(offsets >= 0) & (offsets < hours)], minlength=hours)
    baseline, size = usual_level(hourly, start, 6)
    once, once_size = usual_level(hourly, start, 6, rounds=1)
    assert size > 2 * once_size
    assert baseline.expected(NOW - timedelta(hours=6), hours=6) < 3.6
    now = [NOW - timedelta(minutes=30 * i + 3) for i in range(11)]
    assert brand_alarm(times + now, NOW).fired is not None
