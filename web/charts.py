"""Server-side timeline chart of an incident, as geometry for an inline SVG template.

No JavaScript library: the page must work under a strict CSP and print well. This
module is pure (times and numbers in, coordinates and label texts out); the template
(``_timeline.html``) draws them, with autoescaping like every other page.

Legibility rules, each tested in tests/test_charts.py without a browser:
- the bucket size follows the span (5 min for an hour, 1 h for a day, 1 d for
  weeks), aligned to the console's zone, and is named on the chart;
- empty buckets draw no bar, and the negative-share line breaks across them (a
  lone bucket is a dot), so a quiet night never looks like a trend;
- no two texts overprint: marker labels take the first free lane above the plot
  (or go without a label, keeping their shape and tooltip), axis ticks are thinned
  to fit, and every text is kept inside the chart's width;
- alerts, acknowledge and resolve differ by shape and label, not only by colour.
Every word is the page's language (``lang``): English keys, marked with ``N_`` or
passed to ``t``/``translate`` so tests/test_i18n.py finds them, Chinese in
web/i18n_zh.py. Text widths are estimated (``text_width``); the browser test
measures the real ones."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from web.clock import absolute
from web.i18n import DEFAULT_LANG, N_, plural, t, translate

WIDE, NARROW = 800, 400  # the desktop chart, and the one shown under 600 px
HEIGHT = 250
FONT = 11  # px: ``.chart text`` in style.css
LEFT, RIGHT = 40, 40  # room for a count like "9999" and for "100%"
# rows, in px from the top: text boxes are ~1.45 em tall with a CJK font (ascent
# 1.16 em), so rows are 17 px apart and never share a pixel
TITLE_Y = 13  # baseline of the axis titles
LANES, LANE_H, LANE_TOP = 3, 17, 17  # marker lanes between the titles and the plot
PLOT_TOP = LANE_TOP + LANES * LANE_H + 10
PLOT_BOTTOM = HEIGHT - 22
TICK_Y = PLOT_BOTTOM + 17  # baseline of the time axis labels
GAP = 6  # px between two texts on a row
MAX_BUCKETS = 30
NEGATIVE_BELOW = 0.5
STEPS = ((timedelta(seconds=10), N_("10 s")), (timedelta(seconds=30), N_("30 s")),
         (timedelta(minutes=1), N_("1 min")), (timedelta(minutes=5), N_("5 min")),
         (timedelta(minutes=15), N_("15 min")), (timedelta(hours=1), N_("1 h")),
         (timedelta(hours=3), N_("3 h")), (timedelta(hours=6), N_("6 h")),
         (timedelta(days=1), N_("1 d")), (timedelta(days=7), N_("7 d")),
         (timedelta(days=30), N_("30 d")))
MARKS = ("notice", "warning", "crisis", "acknowledged", "resolved")
MARK_LABELS = {"notice": N_("notice"), "warning": N_("warning"), "crisis": N_("crisis"),
               "acknowledged": N_("ack"), "resolved": N_("resolved")}
WHAT = {"notice": N_("notice alert"), "warning": N_("warning alert"),
        "crisis": N_("crisis alert"), "acknowledged": N_("acknowledged"),
        "resolved": N_("resolved")}  # a marker in its tooltip and the summary
LEGEND = {**WHAT, "acknowledged": N_("acknowledged (ack)")}
# punctuation between the catalogue's phrases: full-width in Chinese
PUNCT = {"en": {"colon": ": ", "open": " (", "close": ")", "sep": "; ", "end": "."},
         "zh": {"colon": "：", "open": "（", "close": "）", "sep": "；", "end": "。"}}
_ORIGIN = datetime(1970, 1, 5)  # a Monday: week buckets start on Mondays, local time


@dataclass(frozen=True)
class Event:
    """Something the PR team did or was told, on the time axis: an alert (kind
    notice/warning/crisis), ``acknowledged`` or ``resolved``. ``note`` goes into
    the tooltip ("alert #4", "by pat"); ``href`` makes the marker a link."""

    at: datetime
    kind: str
    note: str = ""
    href: str = ""


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "start"  # SVG text-anchor
    cls: str = ""


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    title: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Mark:
    kind: str
    x: float
    y: float  # the centre of its shape, in its lane
    path: str
    label: Text | None  # None when no lane had room: the shape and tooltip remain
    title: str
    href: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    step: str  # "5 min": the bucket size, as the chart states it
    bars: tuple[Bar, ...]
    lines: tuple[str, ...]  # polyline points of each unbroken run of the negative share
    dots: tuple[Dot, ...]  # negative share of buckets with empty neighbours
    marks: tuple[Mark, ...]
    texts: tuple[Text, ...]  # axis titles and ticks
    grid: tuple[float, ...]  # x of each time tick
    legend: tuple[tuple[str, str, str], ...]  # (key, words, shape path) of each mark shown
    summary: str  # the chart in one sentence, for screen readers


# ------------------------------------------------------------------ layout rules


def text_width(text: str, font: float = FONT) -> float:
    """An upper estimate of ``text``'s rendered width: wide (CJK) characters take a
    full em, others 0.66 em (DejaVu Sans digits take 0.64, Noto Sans less)."""
    return sum(font if unicodedata.east_asian_width(c) in "WF" else 0.66 * font for c in text)


def bucket_size(span: timedelta) -> tuple[timedelta, str]:
    """The smallest step of STEPS that cuts ``span`` into at most MAX_BUCKETS - 1
    buckets (alignment to the zone may add one); the largest for longer spans."""
    for step, name in STEPS:
        if span / step <= MAX_BUCKETS - 1:
            return step, name
    return STEPS[-1]


def floor_local(at: datetime, step: timedelta, zone: tzinfo) -> datetime:
    """The start of ``at``'s bucket: buckets begin on whole local minutes, hours,
    days and Mondays, so "14:00" on the axis is 14:00 in the console's zone."""
    local = at.astimezone(zone).replace(tzinfo=None)
    start = _ORIGIN + ((local - _ORIGIN) // step) * step
    return start.replace(tzinfo=zone).astimezone(UTC)


def runs(values: Sequence[float | None]) -> list[list[int]]:
    """Indexes of the unbroken runs of values that are not None: a gap breaks the line."""
    found: list[list[int]] = []
    for i, value in enumerate(values):
        if value is None:
            continue
        if found and found[-1][-1] == i - 1:
            found[-1].append(i)
        else:
            found.append([i])
    return found


def fit(left: float, width: float, lo: float, hi: float) -> float:
    """``left`` moved so that [left, left + width] stays inside [lo, hi]."""
    return max(lo, min(left, hi - width))


def free(box: tuple[float, float], taken: Sequence[tuple[float, float]]) -> bool:
    """Whether ``box`` keeps GAP from every box in ``taken`` (intervals on one row)."""
    return all(box[1] + GAP <= a or b + GAP <= box[0] for a, b in taken)


def lane_of(box: tuple[float, float], lanes: list[list[tuple[float, float]]]) -> int | None:
    """The first lane where ``box`` is free (and takes it there), or None."""
    for i, taken in enumerate(lanes):
        if free(box, taken):
            taken.append(box)
            return i
    return None


# ------------------------------------------------------------------ shapes


def _shape(kind: str, x: float, y: float) -> str:
    """An SVG path per marker kind, centred on (x, y): a circle, a triangle, a
    diamond, a tick and a square tell them apart without colour."""
    shapes: dict[str, Callable[[], str]] = {
        "notice": lambda: f"M{x - 5:.1f},{y:.1f}a5,5 0 1,0 10,0a5,5 0 1,0 -10,0Z",
        "warning": lambda: f"M{x:.1f},{y - 6:.1f}L{x + 6:.1f},{y + 4.5:.1f}"
                           f"L{x - 6:.1f},{y + 4.5:.1f}Z",
        "crisis": lambda: f"M{x:.1f},{y - 6:.1f}L{x + 6:.1f},{y:.1f}L{x:.1f},{y + 6:.1f}"
                          f"L{x - 6:.1f},{y:.1f}Z",
        "acknowledged": lambda: f"M{x - 5:.1f},{y:.1f}L{x - 1.5:.1f},{y + 4:.1f}"
                                f"L{x + 5:.1f},{y - 5:.1f}",
        "resolved": lambda: f"M{x - 4.5:.1f},{y - 4.5:.1f}h9v9h-9Z",
    }
    return shapes[kind]()


def icon(kind: str) -> str:
    """The marker's shape for the legend, in a -7..7 box."""
    return _shape(kind, 0, 0)


# ------------------------------------------------------------------ the chart


@dataclass(frozen=True)
class _Frame:
    """The time axis: ``n`` buckets of ``step`` from ``start``, across the plot."""

    start: datetime
    step: timedelta
    name: str
    n: int
    width: int
    zone: tzinfo
    lang: str = DEFAULT_LANG

    @property
    def p(self) -> dict[str, str]:
        return PUNCT.get(self.lang, PUNCT[DEFAULT_LANG])

    @property
    def left(self) -> float:
        return LEFT

    @property
    def right(self) -> float:
        return self.width - RIGHT

    @property
    def bucket_w(self) -> float:
        return (self.right - self.left) / self.n

    def x_of(self, at: datetime) -> float:
        return round(self.left + self.bucket_w * ((at - self.start) / self.step), 1)

    def edge(self, i: int) -> datetime:
        return self.start + i * self.step

    def local(self, at: datetime, fmt: str) -> str:
        return at.astimezone(self.zone).strftime(fmt)

    @property
    def fmt(self) -> str:
        """Time labels as precise as the buckets; dated when the span crosses a day."""
        if self.step < timedelta(minutes=1):
            return "%H:%M:%S"
        if self.step >= timedelta(days=1):
            return "%m-%d"
        same_day = self.local(self.start, "%Y-%m-%d") == self.local(self.edge(self.n), "%Y-%m-%d")
        return "%H:%M" if same_day else "%m-%d %H:%M"


def _frame(times: Sequence[datetime], zone: tzinfo, width: int, lang: str) -> _Frame:
    low, high = min(times), max(times)
    step, name = bucket_size(high - low)
    start = floor_local(low, step, zone)
    return _Frame(start, step, translate(lang, name),
                  max(1, math.floor((high - start) / step) + 1), width, zone, lang)


def _counts(mentions: Sequence[tuple[datetime, float]], f: _Frame) -> tuple[list[int], list[int]]:
    counts, negatives = [0] * f.n, [0] * f.n
    for at, sentiment in mentions:
        i = min(max(int((at - f.start) / f.step), 0), f.n - 1)
        counts[i] += 1
        negatives[i] += sentiment < NEGATIVE_BELOW
    return counts, negatives


def _bucket_title(f: _Frame, i: int, count: int, negative: int) -> str:
    words = plural(f.lang, "%(n)s mention, %(neg)s negative",
                   "%(n)s mentions, %(neg)s negative", count) % {"n": count, "neg": negative}
    return f"{f.local(f.edge(i), f.fmt)}-{f.local(f.edge(i + 1), f.fmt)}{f.p['colon']}{words}"


def _bars(counts: list[int], negatives: list[int], f: _Frame) -> tuple[Bar, ...]:
    """One bar per bucket with mentions; an empty bucket draws nothing."""
    plot_h, top, pad = PLOT_BOTTOM - PLOT_TOP, max(counts), min(1.0, f.bucket_w * 0.1)
    return tuple(Bar(round(f.left + i * f.bucket_w + pad, 1),
                     round(PLOT_BOTTOM - plot_h * c / top, 1),
                     round(max(f.bucket_w - 2 * pad, 1), 1), round(plot_h * c / top, 1),
                     _bucket_title(f, i, c, negatives[i]))
                 for i, c in enumerate(counts) if c)


def _share(counts: list[int], negatives: list[int], f: _Frame
           ) -> tuple[tuple[str, ...], tuple[Dot, ...]]:
    """The negative share per bucket: a polyline per unbroken run, a dot for a
    bucket alone between empty ones."""
    shares = [n / c if c else None for c, n in zip(counts, negatives, strict=True)]

    def point(i: int) -> tuple[float, float]:
        return (round(f.left + (i + 0.5) * f.bucket_w, 1),
                round(PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * shares[i], 1))

    lines, dots = [], []
    for run in runs(shares):
        if len(run) == 1:
            x, y = point(run[0])
            dots.append(Dot(x, y, _bucket_title(f, run[0], counts[run[0]], negatives[run[0]])))
        else:
            lines.append(" ".join(f"{x},{y}" for x, y in map(point, run)))
    return tuple(lines), tuple(dots)


def _baseline(lane: int) -> float:
    return LANE_TOP + (lane + 1) * LANE_H - 4


def _describe(e: Event, f: _Frame) -> str:
    what = translate(f.lang, WHAT[e.kind])
    return f"{what}{f.p['open']}{e.note}{f.p['close']}" if e.note else what


def _mark(e: Event, f: _Frame, lanes: list[list[tuple[float, float]]]) -> Mark:
    """A marker in the first lane with room for its shape and label; with room for
    the shape only, it goes unlabelled (the legend and tooltip say what it is)."""
    x, label = f.x_of(e.at), translate(f.lang, MARK_LABELS[e.kind])
    w = text_width(label)
    after = x + 8 + w <= f.width  # the label right of the shape, else left of it
    box = (x - 6, x + 8 + w) if after else (x - 8 - w, x + 6)
    lane = lane_of(box, lanes)
    text = None
    if lane is not None:
        text = Text(x + 8 if after else x - 8, _baseline(lane), label,
                    "start" if after else "end", "mark-label")
    else:
        lane = lane_of((x - 6, x + 6), lanes)
        lane = LANES - 1 if lane is None else lane
    y = _baseline(lane) - 4
    return Mark(e.kind, x, y, _shape(e.kind, x, y), text,
                f"{absolute(e.at, f.zone)}{f.p['colon']}{_describe(e, f)}", e.href)


def _axis_texts(f: _Frame, top: int) -> list[Text]:
    return [Text(0, TITLE_Y, t(f.lang, "mentions / %(step)s", step=f.name), "start",
                 "axis-title"),
            Text(f.width, TITLE_Y, translate(f.lang, "negative %"), "end", "axis-title"),
            Text(f.left - 5, PLOT_TOP + 4, str(top), "end"),
            Text(f.left - 5, PLOT_BOTTOM - 1, "0", "end"),
            Text(f.right + 5, PLOT_TOP + 4, "100%"),
            Text(f.right + 5, PLOT_BOTTOM - 1, "0%")]


def _ticks(f: _Frame) -> tuple[list[Text], list[float]]:
    """Time labels at bucket edges, every k-th so that they cannot touch, each kept
    inside the chart (the ends are anchored to the edges rather than cut off)."""
    sample = text_width(f.local(f.start, f.fmt))
    k = max(1, math.ceil((sample + GAP) / f.bucket_w))
    texts: list[Text] = []
    xs: list[float] = []
    taken: list[tuple[float, float]] = []
    for i in range(0, f.n + 1, k):
        x, text = round(f.left + i * f.bucket_w, 1), f.local(f.edge(i), f.fmt)
        w = text_width(text)
        left = fit(x - w / 2, w, 0, f.width)
        if not free((left, left + w), taken):
            continue
        taken.append((left, left + w))
        anchor = "middle" if left == x - w / 2 else "start" if left == 0 else "end"
        texts.append(Text({"middle": x, "start": 0, "end": f.width}[anchor], TICK_Y, text,
                          anchor))
        xs.append(x)
    return texts, xs


def _legend(f: _Frame, events: Sequence[Event]) -> tuple[tuple[str, str, str], ...]:
    """(key, words, shape) of the bars, the line and each kind of marker shown."""
    kinds = {e.kind for e in events}
    return (("bar", t(f.lang, "mentions per %(step)s", step=f.name), ""),
            ("line", translate(f.lang, "negative share, % (right axis)"), ""),
            *((k, translate(f.lang, LEGEND[k]), icon(k)) for k in MARKS if k in kinds))


def _summary(f: _Frame, counts: list[int], events: Sequence[Event]) -> str:
    fmt = "%m-%d %H:%M"
    said = [t(f.lang, "%(n)s mentions from %(start)s to %(end)s, counted per %(step)s, "
                      "at most %(peak)s per %(step)s", n=sum(counts),
              start=f.local(f.start, fmt), end=f.local(f.edge(f.n), fmt), step=f.name,
              peak=max(counts))]
    said += [t(f.lang, "%(what)s at %(when)s", what=_describe(e, f), when=f.local(e.at, fmt))
             for e in events]
    return f.p["sep"].join(said) + f.p["end"]


def timeline(mentions: Sequence[tuple[datetime, float]], events: Sequence[Event] = (),
             zone: tzinfo = UTC, width: int = WIDE, lang: str = DEFAULT_LANG
             ) -> Chart | None:
    """Mentions per time bucket (bars), their negative share (a line, 0-100 % on the
    right axis, broken by empty buckets) and the PR team's events (markers), for a
    chart ``width`` px wide in ``zone``, worded in ``lang``. ``mentions`` are (time,
    sentiment) pairs.
    None without mentions."""
    if not mentions:
        return None
    events = sorted(events, key=lambda e: e.at)
    f = _frame([at for at, _ in mentions] + [e.at for e in events], zone, width, lang)
    counts, negatives = _counts(mentions, f)
    lines, dots = _share(counts, negatives, f)
    lanes: list[list[tuple[float, float]]] = [[] for _ in range(LANES)]
    ticks, grid = _ticks(f)
    return Chart(width, HEIGHT, f.left, PLOT_TOP, f.right, PLOT_BOTTOM, f.name,
                 _bars(counts, negatives, f), lines, dots,
                 tuple(_mark(e, f, lanes) for e in events),
                 (*_axis_texts(f, max(counts)), *ticks), tuple(grid),
                 _legend(f, events), _summary(f, counts, events))
