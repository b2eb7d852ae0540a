"""First-cut detection: how severe an incident is, from plain facts. Pure functions.

- ``notice``: a risky negative mention (always surfaced: seed 004, the first
  post nobody answered is where big events brew);
- ``warning``: it grows: several risky mentions within the window, or a
  post's replies growing between polls;
- ``crisis``: it spreads to a second source, or a strong cue (media, legal,
  safety, group action, viral) joins growth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

RANK = {None: 0, "notice": 1, "warning": 2, "crisis": 3}


@dataclass(frozen=True)
class Evidence:
    """One flagged mention counted in an incident."""

    at: datetime
    post_id: int
    source: str
    risk: float
    strong: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Growth:
    """Replies between the first and the latest snapshot of a post (or, with a
    negative id, a thread)."""

    post_id: int
    before: int
    after: int
    label: str = ""


@dataclass(frozen=True)
class Rules:
    window: timedelta = timedelta(hours=1)
    growth_mentions: int = 3
    growth_replies: int = 3


@dataclass(frozen=True)
class Assessment:
    severity: str | None
    reasons: tuple[str, ...]


def reply_growth(post_id: int, replies: Sequence[int | None], label: str = "") -> Growth | None:
    """Growth of one post from its snapshot series (oldest first), if any."""
    counts = [r for r in replies if r is not None]
    if len(counts) < 2 or counts[-1] <= counts[0]:
        return None
    return Growth(post_id, counts[0], counts[-1], label)


def assess(evidence: Sequence[Evidence], growth: Sequence[Growth], rules: Rules) -> Assessment:
    """Severity of an incident and why, judged at its latest evidence."""
    if not evidence:
        return Assessment(None, ())
    latest = max(evidence, key=lambda e: e.at)
    first_why = "; ".join(latest.reasons) or "high risk score"
    reasons = [f"risky mention (risk {latest.risk:.2f}): {first_why}"]
    recent = [e for e in evidence if latest.at - e.at <= rules.window]
    growing = [g for g in growth if g.after - g.before >= rules.growth_replies]
    window_min = int(rules.window.total_seconds() // 60)
    if len(recent) >= rules.growth_mentions:
        reasons.append(f"{len(recent)} risky mentions in {window_min} min")
    for g in growing:
        reasons.append(f"replies {g.before} -> {g.after} on {g.label or f'post #{g.post_id}'}")
    severity = "warning" if len(reasons) > 1 else "notice"
    sources = sorted({e.source for e in evidence})
    strong = any(e.strong for e in evidence)
    if len(sources) >= 2:
        reasons.append(f"on {len(sources)} sources: {', '.join(sources)}")
        severity = "crisis"
    if strong and severity == "warning":
        reasons.append("a strong cue (media, legal, safety, group action or viral) with growth")
        severity = "crisis"
    return Assessment(severity, tuple(reasons))


def rises(old: str | None, new: str | None) -> bool:
    """Alert only when severity goes up: no repeats for the same thing."""
    return RANK[new] > RANK[old]
