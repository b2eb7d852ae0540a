"""Server-side timeline chart of an incident, as geometry for an inline SVG template.

No JavaScript library: the page must work under a strict CSP and print well. This
module is pure (times and numbers in, coordinates out); the template
(``_timeline.html``) draws them, with autoescaping like every other page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH, HEIGHT = 800, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 48, 16, 30
MAX_BUCKETS = 24
NEGATIVE_BELOW = 0.5


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    count: int
    negative: int
    start: datetime


@dataclass(frozen=True)
class Marker:
    x: float
    severity: str
    kind: str
    at: datetime


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    negative_line: str  # SVG polyline points of the negative share per bucket
    markers: tuple[Marker, ...]
    start: datetime
    end: datetime
    max_count: int
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float


def _span(times: Sequence[datetime]) -> tuple[datetime, datetime]:
    start, end = min(times), max(times)
    if end - start < timedelta(minutes=1):
        end = start + timedelta(minutes=1)
    return start, end


def timeline(mentions: Sequence[tuple[datetime, float]],
             changes: Sequence[tuple[datetime, str, str]] = ()) -> Chart | None:
    """Mentions per time bucket (bars), their negative share (a line, 0-100 % on the
    right axis) and severity changes (dashed vertical markers). ``mentions`` are
    (time, sentiment) pairs; ``changes`` (time, severity, kind). None without mentions."""
    if not mentions:
        return None
    start, end = _span([t for t, _ in mentions] + [t for t, _, _ in changes])
    n = min(MAX_BUCKETS, max(1, len(mentions)))
    step = (end - start) / n
    counts, negatives = [0] * n, [0] * n
    for at, sentiment in mentions:
        i = min(int((at - start) / step), n - 1)
        counts[i] += 1
        negatives[i] += sentiment < NEGATIVE_BELOW
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    plot_w, plot_h, top_count = right - left, bottom - top, max(counts)
    bar_w = plot_w / n
    bars, points = [], []
    for i, (count, negative) in enumerate(zip(counts, negatives, strict=True)):
        h = plot_h * count / top_count
        x = left + i * bar_w
        bars.append(Bar(round(x + 1, 1), round(bottom - h, 1), round(max(bar_w - 2, 1), 1),
                        round(h, 1), count, negative, start + i * step))
        if count:
            share = negative / count
            points.append(f"{x + bar_w / 2:.1f},{bottom - plot_h * share:.1f}")

    def x_of(at: datetime) -> float:
        return round(left + plot_w * ((at - start) / (end - start)), 1)

    markers = tuple(Marker(x_of(at), severity, kind, at) for at, severity, kind in changes)
    return Chart(WIDTH, HEIGHT, tuple(bars), " ".join(points), markers, start, end,
                 top_count, top, bottom, left, right)
