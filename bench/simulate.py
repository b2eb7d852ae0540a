"""A seeded stream of brand mentions with injected crises, for backtesting detection.

Real crisis data with a known start is rare, and a detector tuned on the few
crises we saw learns those crises. So the project generates its own streams:
ordinary chatter with a daily and weekly rhythm, the isolated complaints every
brand gets every day (they must NOT alarm), and crises of known shape, start
and peak (they must alarm, early). Given a seed the output is fixed, so a
change to the detector is measured on the same stream.

Volume: a crisis's volume is its activity per hour, new posts plus new
replies on its posts, all sources together. It follows an intensity curve,
exponential growth from ``initial * peak_size`` at the start to ``peak_size``
events per hour at the peak, then exponential decay; events are drawn from it
as an inhomogeneous Poisson process. The truth times (25% and 50% of the peak
rate, the peak) are read off that curve, not off the noisy draw, so every
detector is timed against the same clock; ``activity`` measures the same
volume in a stream of records. Crises ignore the time of day (an outrage does
not wait for the morning); benign chatter follows it, in UTC.

Records (one dict per line in the backtest JSONL, sorted by ``at``)::

    {"at": "2026-01-05T10:00:00+00:00", "source": "forum-a", "brand": "Acme",
     "id": "p123", "thread": "t123", "title": "...", "text": "...",
     "replies": 0, "likes": 0, "views": 10}

A record whose ``id`` was seen before is an engagement update, as a crawler
polling every ``update_every`` sees it: the post's cumulative replies, likes
and views at ``at``, without title or text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench.simulate_text import (
    CHATTER,
    COMPLAINTS,
    FOLLOW_UPS,
    ORIGINS,
    PRODUCTS,
    REPOSTS,
    TOPICS,
    title_of,
)

SHAPES = ("sudden", "slow_burn", "multi_source")
LANGUAGES = ("en", "zh", "mixed")
DAY = 86_400

# Share of a day's benign posts in each UTC hour (mean 1): quiet at night,
# busy at lunch and in the evening. Monday first for the week (mean 1).
HOURLY = (0.45, 0.3, 0.2, 0.14, 0.12, 0.15, 0.3, 0.55, 0.85, 1.05, 1.2, 1.3,
          1.45, 1.45, 1.4, 1.3, 1.25, 1.3, 1.45, 1.6, 1.6, 1.4, 1.1, 0.7)
WEEKLY = (1.1, 1.1, 1.1, 1.1, 1.0, 0.8, 0.8)
_HOURLY = np.array(HOURLY) / np.mean(HOURLY)
_WEEKLY = np.array(WEEKLY) / np.mean(WEEKLY)


@dataclass(frozen=True)
class _Shape:
    rise: timedelta  # start -> peak
    decay: timedelta  # e-folding time after the peak
    initial: float  # rate at the start, as a share of the peak rate
    new_posts: float  # share of crisis events that are new posts, not replies


SHAPE_DEFAULTS = {
    "sudden": _Shape(timedelta(hours=1), timedelta(hours=2), 0.05, 0.08),
    "slow_burn": _Shape(timedelta(hours=36), timedelta(hours=8), 0.01, 0.25),
    "multi_source": _Shape(timedelta(hours=8), timedelta(hours=5), 0.03, 0.3),
}


@dataclass(frozen=True)
class CrisisSpec:
    """One crisis to inject. ``start`` is a datetime or an offset from the
    simulation start; ``peak_size`` is events (posts + replies) per hour at the
    peak. ``None`` fields take the shape's defaults (``SHAPE_DEFAULTS``); a
    ``None`` source is drawn from the spec's sources."""

    shape: str
    brand: str
    start: datetime | timedelta
    peak_size: float = 60.0
    rise: timedelta | None = None
    decay: timedelta | None = None
    initial: float | None = None
    source: str | None = None
    spread_after: tuple[timedelta, ...] = (timedelta(hours=2), timedelta(hours=4))
    topic: int | None = None  # index into the topic bank, else drawn


@dataclass(frozen=True)
class SimSpec:
    days: int = 7
    brands: tuple[str, ...] = ("Acme",)
    sources: tuple[str, ...] = ("forum-a", "forum-b", "news-c")
    posts_per_day: float = 40.0  # benign mentions per brand per day, before the rhythm
    complaint_rate: float = 0.1  # share of benign posts that are ordinary complaints
    crises: tuple[CrisisSpec, ...] = ()
    language: str = "en"  # "en", "zh" or "mixed" (each post, or each crisis, draws one)
    start: datetime = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight
    update_every: timedelta = timedelta(minutes=5)  # the simulated crawler's poll interval


@dataclass(frozen=True)
class CrisisTruth:
    brand: str
    shape: str
    start: datetime
    t25: datetime  # the volume first reaches 25% of the peak rate
    t50: datetime  # ... 50%
    peak: datetime
    peak_size: float  # events per hour at the peak
    sources: tuple[tuple[str, datetime], ...]  # where it appeared, and when
    post_ids: tuple[str, ...]  # every post of the crisis (for clustering scores)
    language: str
    topic: str  # the salient words, e.g. "charger caught fire"


@dataclass(frozen=True)
class SimStream:
    records: list[dict]
    crises: list[CrisisTruth]


# --- posts and records -------------------------------------------------------------------


@dataclass
class _Post:
    """A post in the making (mutable while its replies are drawn)."""

    id: str
    source: str
    brand: str
    at: int  # seconds since the simulation start
    text: str
    replies: list[int] = field(default_factory=list)  # reply times, seconds
    like_ratio: float = 0.5
    views_per_reply: float = 15.0
    base_views: int = 10


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"p{self.n}"


def _new_post(rng: np.random.Generator, ids: _Ids, source: str, brand: str, at: int,
              text: str) -> _Post:
    return _Post(ids.next(), source, brand, at, text, [], float(rng.uniform(0.2, 1.5)),
                 float(rng.uniform(8, 30)), int(rng.integers(3, 30)))


def _engagement(post: _Post, replies: int) -> dict:
    return {"replies": replies, "likes": int(replies * post.like_ratio),
            "views": post.base_views + int(replies * post.views_per_reply)}


def _post_records(post: _Post, t0: datetime, every: int, end: int) -> list[tuple[int, dict]]:
    """The post as first seen, then one update per poll at which its reply count grew."""
    base = {"source": post.source, "brand": post.brand, "id": post.id, "thread": f"t{post.id[1:]}"}
    out = [(post.at, {"at": _iso(t0, post.at), **base, "title": title_of(post.text),
                      "text": post.text, **_engagement(post, 0)})]
    ticks = sorted((r // every + 1) * every for r in post.replies)
    for i, tick in enumerate(ticks):
        if tick < end and (i + 1 == len(ticks) or ticks[i + 1] != tick):
            out.append((tick, {"at": _iso(t0, tick), **base, **_engagement(post, i + 1)}))
    return out


def _iso(t0: datetime, seconds: int) -> str:
    return (t0 + timedelta(seconds=int(seconds))).isoformat()


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _language(rng: np.random.Generator, language: str) -> str:
    return language if language != "mixed" else _pick(rng, ("en", "zh"))


# --- benign chatter ----------------------------------------------------------------------


def _benign(rng: np.random.Generator, ids: _Ids, spec: SimSpec, brand: str) -> list[_Post]:
    """Chatter and isolated complaints, Poisson per hour with the daily and weekly
    rhythm; each post draws a few replies over the following hours."""
    posts = []
    for hour in range(spec.days * 24):
        local = spec.start.astimezone(UTC) + timedelta(hours=hour)
        rate = spec.posts_per_day / 24 * _HOURLY[local.hour] * _WEEKLY[local.weekday()]
        for offset in np.sort(rng.integers(0, 3600, rng.poisson(rate))):
            posts.append(_benign_post(rng, ids, spec, brand, hour * 3600 + int(offset)))
    return posts


def _benign_post(rng: np.random.Generator, ids: _Ids, spec: SimSpec, brand: str, at: int
                 ) -> _Post:
    lang = _language(rng, spec.language)
    complaint = rng.random() < spec.complaint_rate
    bank = COMPLAINTS if complaint else CHATTER
    text = _pick(rng, bank[lang]).format(brand=brand, product=_pick(rng, PRODUCTS[lang]))
    post = _new_post(rng, ids, _pick(rng, spec.sources), brand, at, text)
    n = rng.poisson(2.0 if complaint else 1.2)
    post.replies = sorted(at + int(d) for d in rng.exponential(90 * 60, n))
    return post


# --- crises ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Curve:
    start: int  # seconds
    rise_h: float
    decay_h: float
    rate: float  # growth per hour before the peak
    peak_size: float

    def intensity(self, hours: np.ndarray) -> np.ndarray:
        """Events per hour at ``hours`` after the start."""
        after = hours - self.rise_h
        up = self.peak_size * np.exp(self.rate * np.minimum(after, 0))
        down = self.peak_size * np.exp(-np.maximum(after, 0) / self.decay_h)
        return np.where(after <= 0, up, down)

    def reaches(self, share: float) -> float:
        """Hours after the start at which the rate first reaches ``share`` of the peak."""
        return max(0.0, self.rise_h - math.log(1 / share) / self.rate)

    def duration_h(self) -> float:
        return self.rise_h + self.decay_h * math.log(100)  # down to 1% of the peak


def _curve(c: CrisisSpec, start: int) -> _Curve:
    d = SHAPE_DEFAULTS[c.shape]
    rise = (c.rise or d.rise).total_seconds() / 3600
    decay = (c.decay or d.decay).total_seconds() / 3600
    initial = d.initial if c.initial is None else c.initial
    if not 0 < initial < 0.25 or rise <= 0 or decay <= 0 or c.peak_size <= 0:
        raise ValueError(f"crisis {c}: need 0 < initial < 0.25 and positive rise, decay, peak")
    return _Curve(start, rise, decay, math.log(1 / initial) / rise, c.peak_size)


def _event_times(rng: np.random.Generator, curve: _Curve) -> list[int]:
    """Thinning: a homogeneous process at the peak rate, each event kept with
    probability intensity / peak."""
    span = curve.duration_h()
    hours = np.sort(rng.uniform(0, span, rng.poisson(curve.peak_size * span)))
    keep = rng.random(len(hours)) < curve.intensity(hours) / curve.peak_size
    return [curve.start + int(h * 3600) for h in hours[keep]]


@dataclass
class _Matter:
    """What one crisis is about, and the text of its first post."""

    brand: str
    lang: str
    product: str
    issue: str
    origin: str = ""

    def slots(self, source: str = "") -> dict[str, str]:
        return {"brand": self.brand, "product": self.product, "issue": self.issue,
                "origin": self.origin, "source": source}


def _matter(rng: np.random.Generator, c: CrisisSpec, language: str) -> _Matter:
    lang = _language(rng, language)
    index = int(rng.integers(len(TOPICS))) if c.topic is None else c.topic
    product, issue = TOPICS[index % len(TOPICS)][lang]
    matter = _Matter(c.brand, lang, product, issue)
    matter.origin = _pick(rng, ORIGINS[lang]).format(**matter.slots())
    return matter


def _pile_on_text(rng: np.random.Generator, m: _Matter, first_source: str) -> str:
    """Other users on the same matter: mostly their own words (sharing the
    product and the issue), a quarter near-duplicate reposts of the origin."""
    bank = REPOSTS if rng.random() < 0.25 else FOLLOW_UPS
    return _pick(rng, bank[m.lang]).format(**m.slots(first_source))


def _crisis_sources(rng: np.random.Generator, c: CrisisSpec, spec: SimSpec, start: int
                    ) -> list[tuple[str, int]]:
    first = c.source or _pick(rng, spec.sources)
    if c.shape != "multi_source":
        return [(first, start)]
    others = [s for s in spec.sources if s != first]
    order = [others[int(i)] for i in rng.permutation(len(others))][:len(c.spread_after)]
    after = [int(d.total_seconds()) for d in c.spread_after]
    return [(first, start)] + [(s, start + a) for s, a in zip(order, after, strict=False)]


def _pile_on(rng: np.random.Generator, ids: _Ids, matter: _Matter,
             sources: list[tuple[str, int]], t: int, arriving: str) -> _Post:
    """A new post on the matter: a repost opening a source it just reached, or
    another user's post on a source it is already on."""
    first = sources[0][0]
    if arriving:
        text = _pick(rng, REPOSTS[matter.lang]).format(**matter.slots(first))
        return _new_post(rng, ids, arriving, matter.brand, t, text)
    live = [s for s, since in sources if since <= t]
    text = _pile_on_text(rng, matter, first)
    return _new_post(rng, ids, _pick(rng, live), matter.brand, t, text)


def _crisis(rng: np.random.Generator, ids: _Ids, c: CrisisSpec, spec: SimSpec, start: int
            ) -> tuple[list[_Post], _Matter, list[tuple[str, int]]]:
    """Draw one crisis: the origin post, then each event either a new post or a
    reply to one of its posts, chosen in proportion to replies + 1 (attention
    goes where attention is): ``tickets`` holds a post's index once, plus once
    per reply, so a uniform pick from it is that weighting in O(1)."""
    curve, matter = _curve(c, start), _matter(rng, c, spec.language)
    sources = _crisis_sources(rng, c, spec, start)
    new_share = SHAPE_DEFAULTS[c.shape].new_posts
    posts = [_new_post(rng, ids, sources[0][0], c.brand, start, matter.origin)]
    tickets = [0]
    arrivals = sorted([(t, "") for t in _event_times(rng, curve)]
                      + [(t, s) for s, t in sources[1:]])
    for t, arriving in arrivals:
        if arriving or rng.random() < new_share:
            posts.append(_pile_on(rng, ids, matter, sources, t, arriving))
            tickets.append(len(posts) - 1)
        else:
            target = tickets[int(rng.integers(len(tickets)))]
            posts[target].replies.append(t)
            tickets.append(target)
    return posts, matter, sources


def _truth(c: CrisisSpec, spec: SimSpec, start: int, posts: list[_Post], matter: _Matter,
           sources: list[tuple[str, int]], end: int) -> CrisisTruth:
    curve = _curve(c, start)

    def at(hours: float) -> datetime:
        return spec.start + timedelta(seconds=start + round(hours * 3600))

    return CrisisTruth(c.brand, c.shape, at(0), at(curve.reaches(0.25)), at(curve.reaches(0.5)),
                       at(curve.rise_h), c.peak_size,
                       tuple((s, spec.start + timedelta(seconds=t)) for s, t in sources if t < end),
                       tuple(p.id for p in posts if p.at < end), matter.lang,
                       f"{matter.product} {matter.issue}")


def _offset(spec: SimSpec, start: datetime | timedelta) -> int:
    delta = start if isinstance(start, timedelta) else start - spec.start
    seconds = int(delta.total_seconds())
    if not 0 <= seconds < spec.days * DAY:
        raise ValueError(f"crisis start {start} is outside the simulated {spec.days} days")
    return seconds


def _check(spec: SimSpec) -> None:
    if spec.language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {spec.language!r}")
    if spec.start.tzinfo is None or not spec.sources or not spec.brands:
        raise ValueError("spec needs a timezone-aware start, a source and a brand")
    for c in spec.crises:
        if c.shape not in SHAPES or c.brand not in spec.brands:
            raise ValueError(f"crisis {c}: shape must be one of {SHAPES}, brand one of the spec's")
        if c.source is not None and c.source not in spec.sources:
            raise ValueError(f"crisis {c}: source must be one of {spec.sources}")
        if c.shape == "multi_source" and len(spec.sources) < 2:
            raise ValueError("a multi_source crisis needs at least two sources")


# --- the stream --------------------------------------------------------------------------


def simulate(spec: SimSpec, seed: int) -> SimStream:
    """Generate the stream: benign posts for every brand, then the crises, all
    as records sorted by time (ties keep generation order), with the truth."""
    _check(spec)
    rng, ids, end = np.random.default_rng(seed), _Ids(), spec.days * DAY
    posts = [p for brand in spec.brands for p in _benign(rng, ids, spec, brand)]
    truths = []
    for c in spec.crises:
        start = _offset(spec, c.start)
        crisis_posts, matter, sources = _crisis(rng, ids, c, spec, start)
        posts += crisis_posts
        truths.append(_truth(c, spec, start, crisis_posts, matter, sources, end))
    every = int(spec.update_every.total_seconds())
    timed = [r for p in posts if p.at < end for r in _post_records(p, spec.start, every, end)]
    order = sorted(range(len(timed)), key=lambda i: (timed[i][0], i))
    return SimStream([timed[i][1] for i in order], truths)


def standard_spec(days: int = 14, brands: Sequence[str] = ("Acme",), language: str = "en"
                  ) -> SimSpec:
    """A two-week stream with one crisis of each shape for the first brand,
    far enough apart that each has died down before the next."""
    if days < 14:
        raise ValueError("standard_spec needs at least 14 days")
    brand = brands[0]
    crises = (CrisisSpec("sudden", brand, timedelta(days=3, hours=14), peak_size=80),
              CrisisSpec("slow_burn", brand, timedelta(days=6, hours=9), peak_size=60),
              CrisisSpec("multi_source", brand, timedelta(days=11, hours=10), peak_size=60))
    return SimSpec(days=days, brands=tuple(brands), crises=crises, language=language)


def activity(records: Iterable[dict], *, ids: Iterable[str] | None = None,
             brand: str | None = None, step: timedelta = timedelta(hours=1)
             ) -> dict[datetime, int]:
    """Volume per time bin (bins aligned on the epoch, keyed by their start):
    a post seen for the first time counts 1 plus the replies it already has,
    an update counts the replies gained since the last record of that post
    (a fall, deleted replies, counts 0; the regrowth after it counts again).
    The same measure as the crisis intensity, so records can be checked
    against the truth."""
    wanted = set(ids) if ids is not None else None
    last: dict[str, int] = {}
    bins: dict[datetime, int] = {}
    width = step.total_seconds()
    for r in records:
        if (wanted is not None and r["id"] not in wanted) or (brand and r["brand"] != brand):
            continue
        replies = r.get("replies") or 0
        gained = max(0, replies - last[r["id"]]) if r["id"] in last else 1 + replies
        last[r["id"]] = replies
        ts = datetime.fromisoformat(r["at"]).timestamp()
        key = datetime.fromtimestamp(ts // width * width, UTC)
        bins[key] = bins.get(key, 0) + gained
    return bins


def write_jsonl(records: Iterable[dict], path: str | Path) -> int:
    """Write records one JSON object a line (UTF-8, Chinese kept readable);
    returns how many were written."""
    n = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for r in records:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n
