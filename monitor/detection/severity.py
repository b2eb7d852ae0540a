"""Severity of an incident from its signals, with the numbers that explain it. Pure.

- ``notice``: a risky negative mention. Always surfaced: seed 004 says big events
  brew from a first complaint nobody answered.
- ``warning``: it grows: several risky mentions within the window, replies piling
  up on a post or thread, or (for an incident with at least two recent mentions)
  the brand's negative volume far above its usual level for this hour of the week;
  a busy day for the brand does not turn every lone complaint into a warning.
  Mentions flagged on tone alone, with no crisis cue, count half toward growth
  (``TONE_ONLY_WEIGHT``): the sentiment models misread neutral questions often
  enough that "three of them in an hour" is chatter, not a snowball.
- ``crisis``: it grows and is about to get big: even the low end of a thread's
  final-size forecast (10th percentile) passes the threshold, it has spread to
  further sources, or it carries a strong cue (media, legal, safety, group
  action, viral) that is a threat against the brand (``context.py``). Two lone
  complaints about one product on two sites are not a crisis; the same two while
  replies pile up are.

Hysteresis: severity only rises while an incident is open (the runner keeps
the highest level), so an incident does not flap between warning and crisis
as replies arrive in bursts; alerts go out on a rise, and a crisis that keeps
growing unacknowledged earns a reminder every ``remind_every``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from monitor.detection.forecast import (
    Forecast,
    ForecastParams,
    events_from_counts,
    forecast_final_size,
)
from monitor.detection.signals import Spread, Velocity, VolumeSignal, iceberg, spread, velocity

RANK = {None: 0, "notice": 1, "warning": 2, "crisis": 3}
# Replies carry no follower counts, and most threads die down like ordinary ones: a
# firmer prior toward a sub-critical branching factor (10 pseudo-events at 0.3) keeps
# a merely busy thread from being forecast as a viral cascade, while a thread whose
# replies keep doubling still overwhelms it. Set by hand, not fitted: there is no
# public data of forum reply timelines to fit it on (bench/cascades.py fits retweets).
REPLY_FORECAST = ForecastParams(prior_events=10.0, prior_branching=0.3)


# A mention flagged on tone alone (no cue of the crisis lexicon) counts this much toward
# growth. Tone is the least reliable part of the risk: the shipped Chinese model reads
# neutral questions such as "有人买过…吗？" as negative (risk 0.5-0.65), and replies under
# a post only show interest unless the post says what is wrong. So such an incident
# needs twice the mentions, or twice the replies, to count as growing. Set on the
# simulated streams (bench/detection.py), where it removed most false warnings of the
# Chinese streams and no crisis post was tone-only (they all carry strong cues).
TONE_ONLY_WEIGHT = 0.5
STRONG_MIN_REPLIES = 3  # replies that show piling on even under a threatening post


@dataclass(frozen=True)
class Evidence:
    """One flagged mention counted in an incident."""

    at: datetime
    post_id: int
    source: str
    risk: float
    strong: bool
    reasons: tuple[str, ...]
    cued: bool = True  # carries at least one cue of the crisis lexicon (not tone alone)
    strong_why: str = ""  # why its strong cue counts (``detection/context.py``)

    @property
    def weight(self) -> float:
        """How much this mention counts toward growth (see ``TONE_ONLY_WEIGHT``)."""
        return 1.0 if self.cued else TONE_ONLY_WEIGHT


@dataclass(frozen=True)
class Series:
    """Cumulative replies of one post or thread over time (oldest first).

    ``negative`` is how much of the replies count as growth of a problem (the runner
    decides: all of them under a flagged opener, else the share of flagged replies).
    A happy launch thread with one reply misread as negative is not a complaint
    drawing 300 replies (issue 15). A post that is not a thread counts in full."""

    label: str
    started: datetime  # when the post appeared (or was first seen)
    points: tuple[tuple[datetime, int | None], ...]
    negative: float = 1.0


@dataclass(frozen=True)
class Rules:
    window: timedelta = timedelta(hours=1)
    growth_mentions: int = 3
    growth_replies: int = 5  # replies gained within the window (half, >= 3, with a strong cue)
    crisis_sources: int = 2
    crisis_forecast: int = 200  # the LOW end of a thread's final-size forecast passes this
    volume_p: float = 0.001  # brand volume this unlikely under its baseline is growth
    soft_alarm: bool = False  # also the risk-weighted brand alarm (detection/soft_alarm.py)
    risk_threshold: float = 0.5  # what flags a mention (detection.risk_threshold)
    iceberg_multiplier: float = 20.0
    remind_every: timedelta | None = None  # off unless configured: less noise


@dataclass(frozen=True)
class Growing:
    label: str
    velocity: Velocity
    forecast: Forecast | None
    negative: float = 1.0  # the series' negative share: what counts of its replies

    @property
    def counted(self) -> int:
        """Replies gained in the window that count as growth of a problem."""
        return int(self.velocity.gained * self.negative + 1e-9)

    def tone(self) -> str:
        """The share, in words, when it cut the count."""
        if self.negative >= 1.0:
            return ""
        return (f" ({self.negative:.0%} of its replies negative: {self.counted} of "
                f"{self.velocity.gained} counted)")


@dataclass(frozen=True)
class Signals:
    """Everything the severity is judged on, measured at ``now``."""

    now: datetime
    recent_mentions: int
    growing: tuple[Growing, ...]
    volume: VolumeSignal | None
    spread: Spread
    iceberg: int
    forecast: Growing | None  # the series whose forecast range starts highest
    recent_weight: float | None = None  # recent mentions, tone-only ones counted less

    def __post_init__(self) -> None:
        if self.recent_weight is None:
            object.__setattr__(self, "recent_weight", float(self.recent_mentions))


@dataclass(frozen=True)
class Assessment:
    severity: str | None
    reasons: tuple[str, ...]
    growing: bool = False


def _minutes(delta: timedelta) -> int:
    return max(1, round(delta.total_seconds() / 60))


def _start(series: Series, window: timedelta) -> datetime:
    """When the replies began. A post first seen already carrying replies, with no
    earlier publication time, is taken to be a window old: reading all its replies as
    arriving the instant it was posted would forecast an explosion that never was."""
    known = [(at, n) for at, n in series.points if n is not None]
    if known and known[0][1] > 0 and known[0][0] - series.started < timedelta(minutes=1):
        return known[0][0] - window
    return series.started


@lru_cache(maxsize=16_384)
def series_signal(series: Series, now: datetime, window: timedelta) -> Growing | None:
    """Velocity over the window and a final-size forecast of one post or thread.
    Cached (pure): the detect stage re-assesses an incident as each mention joins it,
    with the same series at the same ``now``."""
    moved = velocity(list(series.points), now, window)
    if moved is None:
        return None
    start = _start(series, window)
    counts = [((at - start).total_seconds(), n) for at, n in series.points
              if n is not None and at <= now]
    times = events_from_counts(counts)
    watched = (now - start).total_seconds()
    forecast = forecast_final_size(times, watched, params=REPLY_FORECAST) if times else None
    return Growing(series.label, moved, forecast, series.negative)


def gather(evidence: Sequence[Evidence], series: Sequence[Series], volume: VolumeSignal | None,
           now: datetime, rules: Rules) -> Signals:
    """The signals of one incident at ``now`` (pure: the runner fetches the rows)."""
    recent = [e for e in evidence if timedelta(0) <= now - e.at <= rules.window]
    growing = tuple(g for s in series if (g := series_signal(s, now, rules.window)))
    first_seen: dict[str, datetime] = {}
    for e in sorted(evidence, key=lambda e: e.at):
        first_seen.setdefault(e.source, e.at)
    with_forecast = [g for g in growing if g.forecast is not None]
    top = max(with_forecast, key=lambda g: g.forecast.low * g.negative, default=None)
    return Signals(now=now, recent_mentions=len(recent), growing=growing, volume=volume,
                   spread=spread(first_seen),
                   iceberg=iceberg(len(evidence), rules.iceberg_multiplier), forecast=top,
                   recent_weight=sum(e.weight for e in recent))


def reply_threshold(rules: Rules, strong: bool, cued: bool = True) -> int:
    """Replies that make a thread "growing". A post that already threatens the media
    or the courts, or reports an injury, needs less proof that people are piling on
    (seed 004: that first post is where big events brew), so half as many, rounded
    up, and never fewer than three: two replies within the hour is what an ordinary
    post gets (real chatter and news average 1.2-2), and on real posts "replies 0 -> 2"
    under a news item with a cue word was most false warnings (issue 15). An incident
    flagged on tone alone, with no cue in any of its mentions, needs
    twice as many (``TONE_ONLY_WEIGHT``): replies under a post that says nothing is
    wrong show interest, not anger."""
    if strong:
        half = -(-rules.growth_replies // 2)  # rounded up
        return min(rules.growth_replies, max(STRONG_MIN_REPLIES, half))
    return rules.growth_replies if cued else round(rules.growth_replies / TONE_ONLY_WEIGHT)


def _mentions_reason(signals: Signals, rules: Rules) -> str | None:
    """Enough risky mentions in the window, tone-only ones counted less."""
    if signals.recent_weight < rules.growth_mentions:
        return None
    text = f"{signals.recent_mentions} risky mentions in {_minutes(rules.window)} min"
    tone_only = round((signals.recent_mentions - signals.recent_weight)
                      / (1.0 - TONE_ONLY_WEIGHT))
    return text + (f" ({tone_only} on tone alone, counted {TONE_ONLY_WEIGHT:g})"
                   if tone_only else "")


def _growth_reasons(signals: Signals, strong: bool, cued: bool, rules: Rules) -> list[str]:
    reasons = []
    needed = reply_threshold(rules, strong, cued)
    mentions = _mentions_reason(signals, rules)
    if mentions:
        reasons.append(mentions)
    for g in signals.growing:
        v = g.velocity
        if g.counted >= needed:
            reasons.append(f"replies {v.before} -> {v.after} in {_minutes(v.until - v.since)} "
                           f"min on {g.label}{g.tone()}")
    vol = signals.volume
    if vol is not None and vol.p_value <= rules.volume_p and signals.recent_weight >= 2:
        reasons.append(f"{vol.observed} negative mentions of the brand in the last hour vs "
                       f"{vol.expected:.1f} usual for this hour (p={vol.p_value:.0e})")
    return reasons


def _crisis_reasons(signals: Signals, strong: str | None, growing: bool, rules: Rules
                    ) -> list[str]:
    """``strong``: why a strong cue counts (None when none does)."""
    reasons = []
    top = signals.forecast
    if top is not None and top.forecast.low * top.negative >= rules.crisis_forecast \
            and growing:
        f = top.forecast
        reasons.append(f"forecast {f.low:,.0f}-{f.high:,.0f} replies in all on {top.label} "
                       f"(now {f.observed:,}){top.tone()}")
    if len(signals.spread.order) >= rules.crisis_sources and growing:
        reasons.append(f"now on {len(signals.spread.order)} sources: "
                       f"{', '.join(signals.spread.order)}")
    if strong is not None and growing:
        reasons.append(f"a strong cue with growth: {strong}" if strong else
                       "a strong cue (media, legal, safety, group action or viral) with growth")
    return reasons


def assess(evidence: Sequence[Evidence], signals: Signals, rules: Rules) -> Assessment:
    """Severity of an incident and why, in words with numbers."""
    if not evidence:
        return Assessment(None, ())
    latest = max(evidence, key=lambda e: e.at)
    why = "; ".join(latest.reasons) or "high risk score"
    reasons = [f"risky mention (risk {latest.risk:.2f}): {why}"]
    strong = next((e.strong_why for e in evidence if e.strong), None)
    growth = _growth_reasons(signals, strong is not None, any(e.cued for e in evidence), rules)
    crisis = _crisis_reasons(signals, strong, bool(growth), rules)
    severity = "crisis" if crisis else "warning" if growth else "notice"
    if severity != "notice" and len(evidence) > 1:
        reasons.append(f"{len(evidence)} complaints seen: about {signals.iceberg:,} unhappy "
                       f"customers by the iceberg rule (x{rules.iceberg_multiplier:g})")
    return Assessment(severity, tuple(reasons + growth + crisis), bool(growth))


def rises(old: str | None, new: str | None) -> bool:
    """Alert only when severity goes up: no repeats for the same thing."""
    return RANK[new] > RANK[old]


def reminder_due(severity: str | None, growing: bool, acknowledged: bool,
                 last_alert_at: datetime | None, now: datetime, rules: Rules) -> bool:
    """A crisis still growing and not acknowledged is worth saying again, now and then."""
    if severity != "crisis" or not growing or acknowledged or rules.remind_every is None:
        return False
    return last_alert_at is None or now - last_alert_at >= rules.remind_every
