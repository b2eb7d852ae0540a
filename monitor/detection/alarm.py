"""The brand alarm: is the brand's negative volume far above its usual level over
the last hour, six hours or day? Pure: the detect stage passes the timestamps.

Why beside the incident rules: those judge one incident, so they see a matter
only as well as grouping put it together, and a slow burn adds a few mentions an
hour, under every one-hour rule. This alarm counts every flagged mention of the
brand, whatever incident it landed in, over several windows, so a matter split
into fragments, or growing over a day, still shows as a surge.

Why negative binomial: real chatter comes in bursts (a busy evening, one thread
drawing replies), so hourly counts vary more than Poisson allows, and a Poisson
tail calls ordinary busy hours impossible. The dispersion is fitted per window
on the brand's own history (method of moments on observed minus expected counts);
history no burstier than Poisson keeps the Poisson tail. Several windows are
tested at once, so each must pass ``p / len(windows)`` (Bonferroni).

Why each window has its own history, with past surges left out (issue 15): judging
the hour on the history before the DAY window kept a brand three and a half days old
from alarming at all, and a crisis last week left in the history raised the usual
level and made the fitted tail so heavy that the next crisis looked ordinary
(``usual_level``). The detect stage weighs each mention (``readings.alarm_weights``):
news naming the brand in passing and replies under a happy thread count little or
nothing.

Why replies count (issue 15): on real posts most of a crisis's early volume is
people replying under its posts, and the scorer flags only a third of the posts
themselves, so counting flagged posts alone saw a sudden or spreading crisis hours
after it had reached a quarter of its peak. A reply gained under a counted negative
post is the brand's negative volume too, weaker evidence than a post of its own:
``REPLY_WEIGHT`` of the post's weight each (``reply_weights``). The same weights
go into the history, so a brand whose complaints always draw replies has a usual
level that says so.

Why replies under NEAR-threshold posts count too (issue 15): on real posts a crisis
often opens with a post the scorer rates just under the threshold (risk 0.34-0.49 on
the realistic bench) that then draws most of the early replies, while the flagged
posts come hours later; counting only flagged posts' replies saw a spreading crisis
after a quarter of its peak. A reply under an unflagged post whose risk is at least
``NEAR`` of the threshold counts ``REPLY_WEIGHT`` times risk / threshold
(``near_weight``): the post itself still counts nothing, a happy or busy thread's
opener (risk about 0.1) adds nothing however many replies it draws, and
``MIN_POSTS`` still asks for flagged posts of the brand's own in the window.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from monitor.detection.signals import SeasonalBaseline

HOUR = timedelta(hours=1)
WINDOWS = (1, 6, 24)  # hours
ALARM_P = 0.001  # family-wise, over the windows
MIN_OBSERVED = 4  # fewer negative mentions than this in a window never alarm
MIN_HISTORY_HOURS = 72  # a brand needs three days of history before its level is known
MAX_SIZE = 1_000.0  # an NB size this large is Poisson for every count that matters
TRIM_P = 0.05  # a history block this unlikely under Poisson is a past surge, not usual
TRIM_ROUNDS = 8  # trim, refit, trim again: a long surge inflates the first fit itself
REPLY_WEIGHT = 0.5  # a reply under a counted negative post, per unit of the post's weight
ALARM_MARK = ", brand alarm)"  # ends the reason: how a brand alarm's alert is told apart
MIN_POSTS = 2.0  # posts' own weight a window needs: one post's replies are the thread rules'
NEAR = 0.6  # of the risk threshold: an unflagged post this risky has its replies counted


@dataclass(frozen=True)
class WindowSurprise:
    """One window's count against the brand's usual level for those hours."""

    hours: int
    observed: int
    expected: float
    size: float  # negative binomial size (dispersion): smaller is burstier
    p_value: float
    replies: float = 0.0  # of ``observed``, the weight of replies under counted posts


@dataclass(frozen=True)
class BrandAlarm:
    windows: tuple[WindowSurprise, ...]
    fired: WindowSurprise | None  # the most surprising window that passed, if any

    def reason(self, brand: str) -> str | None:
        """The alarm in words with its numbers, or None when it did not fire."""
        w = self.fired
        if w is None:
            return None
        replies = (f" (replies under them counted {REPLY_WEIGHT:g} each: {w.replies:.1f} of it)"
                   if w.replies > 0 else "")
        return (f"{w.observed} negative mentions of {brand} in the last {w.hours} h{replies} vs "
                f"{w.expected:.1f} usual for those hours (p={w.p_value:.0e}{ALARM_MARK}")


def covered(counts: Mapping[int, float], warned: Collection[int], raised_within: bool
            ) -> bool:
    """Whether the surge the alarm fired on is already warned, so it raises nothing new:
    one surge, one alert. Either the alarm itself raised an incident within the fired
    window, or at least the last few hours (``raised_within``: ``surge.EPISODE``), or
    an incident already at warning or above holds at least as much of the window
    (``counts``: incident -> counted weight) as any other.
    Why (issue 15): a crisis that grouping split into many one-post fragments kept the
    alarm firing, and each firing raised whichever fragment led the window, now and
    then an ordinary complaint or news item beside the crisis: false warnings."""
    if raised_within:
        return True
    held = [w for i, w in counts.items() if i in warned]
    rest = [w for i, w in counts.items() if i not in warned]
    return bool(held) and max(held) >= max(rest, default=0.0)


def reply_weights(counted: Mapping[int, tuple[datetime, float]],
                  gains: Iterable[tuple[int, datetime, int]], factor: float = REPLY_WEIGHT
                  ) -> list[tuple[int, datetime, float]]:
    """What replies add to the brand's negative volume: each ``(post id, seen at,
    replies gained)`` under a post the alarm counts (``counted``: post id -> (seen at,
    weight)) weighs ``factor`` times the post's weight per reply. Replies under a post
    the alarm does not count (unflagged, news about something else) add nothing: a
    happy launch post drawing 300 replies is not negative volume."""
    out = []
    for pid, at, gained in gains:
        weight = counted.get(pid, (None, 0.0))[1]
        if weight > 0 and gained > 0:
            out.append((pid, at, factor * weight * gained))
    return out


def near_weight(risk: float, threshold: float, near: float = NEAR) -> float:
    """How much an UNFLAGGED post's replies count, per unit of a flagged post's
    (``reply_weights``): risk / threshold when the post came within ``near`` of the
    threshold, else 0. Why: a crisis's opening post often scores just under the
    threshold and draws the early replies; chatter and happy threads score far below."""
    if threshold <= 0 or risk >= threshold or risk < near * threshold:
        return 0.0
    return float(risk / threshold)


def nb_sf(observed: int, mean: float, size: float) -> float:
    """P(X >= observed) for a negative binomial with this mean and size."""
    if observed <= 0:
        return 1.0
    from scipy import special  # here, not at the top: scipy costs every command 0.5 s

    mean, k = max(mean, 1e-9), np.floor(observed)  # as scipy.stats' sf(observed - 1)
    if size >= MAX_SIZE:  # Poisson: P(X >= k) is the regularised lower gamma P(k, mean)
        return float(special.gammainc(k, mean))
    return float(special.betainc(k, size, mean / (size + mean)))  # I_{1-p}(k, size)


def fit_size(observed: Sequence[float], expected: Sequence[float]) -> float:
    """Method-of-moments size: Var(X) = mu + mu^2 / size, pooled over blocks whose
    expectations differ, so size = sum(mu^2) / sum((x - mu)^2 - mu)."""
    x, mu = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    if len(x) < 2:
        return MAX_SIZE
    excess = float(np.sum((x - mu) ** 2 - mu))
    if excess <= 0:
        return MAX_SIZE
    return float(min(MAX_SIZE, max(0.5, np.sum(mu ** 2) / excess)))


def _blocks(hourly: np.ndarray, rates: np.ndarray, hours: int) -> tuple[np.ndarray, ...]:
    """Sums over consecutive ``hours``-hour blocks, observed and expected."""
    n = len(hourly) // hours * hours
    return (hourly[:n].reshape(-1, hours).sum(1), rates[:n].reshape(-1, hours).sum(1))


def _hourly(offsets: np.ndarray, weights: np.ndarray, hours: int) -> np.ndarray:
    """Weighted counts of the ``hours`` whole hours of history (offsets in hours)."""
    keep = (offsets >= 0) & (offsets < hours)
    return np.bincount(offsets[keep], weights=weights[keep], minlength=hours)[:hours]


def _hour_rates(baseline: SeasonalBaseline, start: datetime, hours: int) -> np.ndarray:
    """The baseline's expectation for each hour from ``start`` (its week, repeated)."""
    week = [baseline.expected(start + i * HOUR) for i in range(min(hours, 168))]
    return np.array(week * (hours // 168 + 1))[:hours]


def usual_level(hourly: np.ndarray, start: datetime, hours: int,
                trim_p: float = TRIM_P, rounds: int = TRIM_ROUNDS
                ) -> tuple[SeasonalBaseline, float]:
    """The brand's usual level for ``hours``-hour windows: a seasonal baseline and a
    negative binomial size fitted on the history with its own past surges left out.
    Why: a crisis last week (or a slow burn yesterday) in the history would raise the
    usual level and, worse, make the fitted tail so heavy that the next crisis looks
    ordinary. A block above its expectation whose count is a surge even under a
    Poisson tail (``trim_p``) is replaced by that expectation and the fit redone, up
    to ``rounds`` times: a two-day slow burn raises the first fit so much that only
    its peak blocks stand out, and its shoulders only against the refit (issue 15:
    one round left the 6 h tail so heavy, size 2.5, that 8 negative mentions against
    2.9 usual passed for ordinary)."""
    values = np.array(hourly, dtype=float)
    for _ in range(max(1, rounds)):
        baseline = SeasonalBaseline.from_hourly(values.tolist(), start)
        rates = _hour_rates(baseline, start, len(values))
        observed, expected = _blocks(values, rates, hours)
        hot = [i for i, (x, mu) in enumerate(zip(observed, expected, strict=True))
               if x > mu and nb_sf(int(round(x)), mu, MAX_SIZE) <= trim_p]
        if not hot:
            break
        for i in hot:
            values[i * hours:(i + 1) * hours] = rates[i * hours:(i + 1) * hours]
    return baseline, fit_size(observed, expected)


def _surprises(seconds: np.ndarray, weight: np.ndarray, is_reply: np.ndarray, start: datetime,
               now: datetime, windows: Sequence[int]) -> list[WindowSurprise]:
    """Each window's weighted count (``seconds`` since ``start``) against the usual
    level of the history before it."""
    offsets = np.floor(seconds / 3600).astype(int)
    found = []
    for w in windows:
        cut = now - w * HOUR
        hours = int((cut - start) // HOUR)
        if hours < MIN_HISTORY_HOURS:
            continue
        inside = (seconds > (cut - start).total_seconds()) & (seconds <= (now - start)
                                                               .total_seconds())
        baseline, size = usual_level(_hourly(offsets, weight, hours), start, w)
        expected = max(baseline.expected(cut, hours=w), 0.5)
        count = int(round(float(weight[inside].sum())))
        found.append(WindowSurprise(w, count, expected, size, nb_sf(count, expected, size),
                                    float(weight[inside & is_reply].sum())))
    return found


def brand_alarm(times: Sequence[datetime], now: datetime, *, history_days: int = 28,
                windows: Sequence[int] = WINDOWS, p: float = ALARM_P,
                weights: Sequence[float] | None = None,
                replies: Sequence[tuple[datetime, float]] = ()) -> BrandAlarm:
    """Test the brand's flagged-mention times (``times``, any order, the last
    ``history_days`` up to ``now``; ``weights``: how much each counts, 1 by default)
    over each window ending at ``now`` against the usual level (``usual_level``) of
    the history before THAT window: the hour is judged on everything up to an hour
    ago, the day on everything up to a day ago, so a brand three and a half days old
    can alarm on its hour, and a burst never inflates its own baseline. The history
    starts at the first mention: a brand first heard of yesterday has no usual level.
    ``replies``: (seen at, weight) of replies under counted posts (``reply_weights``),
    counted in the windows and the history alike; the posts are also judged alone,
    since replies in the history make its tail heavier (they come in clumps), and a
    surge of posts drawing few replies yet must alarm as it did without them."""
    weight = np.ones(len(times)) if weights is None else np.asarray(weights, dtype=float)
    is_reply = np.r_[np.zeros(len(times), bool), np.ones(len(replies), bool)]
    weight = np.r_[weight, np.array([w for _, w in replies], dtype=float)]
    times = [*times, *(t for t, _ in replies)]
    start = max(now - timedelta(days=history_days), min(times, default=now))
    start = start.replace(minute=0, second=0, microsecond=0)
    seconds = np.array([(t - start).total_seconds() for t in times], dtype=float)
    found = _surprises(seconds, weight, is_reply, start, now, windows)
    if len(replies):  # the posts alone too: replies add evidence, never take it away
        found += _surprises(seconds[~is_reply], weight[~is_reply], is_reply[~is_reply],
                            start, now, windows)
    passing = [w for w in found if w.observed >= MIN_OBSERVED and w.p_value <= p / len(windows)
               and w.observed - w.replies >= MIN_POSTS - 0.5]
    return BrandAlarm(tuple(found), min(passing, key=lambda w: w.p_value, default=None))
