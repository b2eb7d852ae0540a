"""Realistic detection streams: the simulator's shapes (``bench/simulate.py``) filled
with REAL posts (``bench/realtext.py``), so detection is measured on text that is not
our own templates'.

``real_stream(language, seed, days)`` returns a ``SimStream`` (a ``RealStream``, which
adds the happy viral threads) in the simulator's record format, so
``bench/detection.py`` replays and judges it unchanged. One brand (en: Apple, zh:
艾克美), three sources (forum-a, twitter / weibo, news-c), and over ``days`` days:

- benign brand traffic with the simulator's daily and weekly rhythm, from real
  positive and neutral posts, with ordinary isolated complaints among it (real
  negative posts, about four a day): they must not alarm;
- busy benign threads: a real post with dozens of replies over a few hours, a fifth
  of them crawled as reply posts with real (benign) text;
- news items carrying strong cue words (央视, 转发, "trending", "journalist" ...)
  about other matters, naming the brand in passing, some reposted a few times;
- one happy viral thread: a few hundred replies to a real positive post within
  hours (a crisis in volume, not in tone): it must not become a crisis;
- three crises (sudden, slow_burn, multi_source, with the simulator's curves) of
  real negative posts with NO strong cue: new posts, some naming the matter
  (#艾克美会员涨价#, #iPhoneBattery or a real tweet about the battery), some only the
  brand, reposts of earlier ones, and replies counted on them as engagement updates.

Replies of a busy or viral thread crawled with text are posts of that thread (its
``thread`` key); the thread opener's reply count leaves them out, so ``activity``
counts each reply once. Deterministic per (language, seed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from bench.realtext import (
    Matter,
    Texts,
    fallback_negative,
    in_passing,
    load_texts,
    mention,
    repost,
    strong_cues,
)
from bench.simulate import (
    _HOURLY,
    _WEEKLY,
    DAY,
    SHAPE_DEFAULTS,
    CrisisSpec,
    CrisisTruth,
    SimSpec,
    SimStream,
    _crisis_sources,
    _curve,
    _event_times,
    _Ids,
    _new_post,
    _Post,
    _post_records,
)

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, as the simulator's
EVERY = 300  # the simulated crawler's poll, seconds
SOURCES = {"en": ("forum-a", "twitter", "news-c"), "zh": ("forum-a", "weibo", "news-c")}
POSTS_PER_DAY = 40.0  # benign posts a day, before the daily rhythm
COMPLAINT_SHARE = 0.1  # of them, ordinary complaints
THREADS_PER_DAY = 0.6  # busy benign threads
THREAD_REPLIES = (25, 70)  # their replies, low and high
NEWS_PER_DAY = 3.0  # news items naming the brand in passing
NEWS_REPOSTS = 0.8  # mean reposts of each
TEXT_REPLIES = 0.2  # share of a busy / viral thread's replies crawled with their text
BRAND_REPLIES = 0.3  # share of those that name the brand
REPOST_SHARE = 0.25  # of a crisis's new posts (not its first on a source), reposts
MATTER_SHARE = 0.5  # of its fresh posts, naming the matter (the others only the brand)
# (shape, start within a 14-day stream, peak events per hour): standard_spec's crises
CRISES = (("sudden", timedelta(days=3, hours=14), 80.0),
          ("slow_burn", timedelta(days=6, hours=9), 60.0),
          ("multi_source", timedelta(days=11, hours=10), 60.0))
JITTER = timedelta(hours=3)  # each start moves by up to this, per seed
HAPPY = CrisisSpec("sudden", "", timedelta(days=5, hours=11), peak_size=150.0,
                   rise=timedelta(hours=2), decay=timedelta(hours=3), initial=0.03)
HAPPY_NEW_POSTS = 0.06  # of its events, reposts of the opener (the rest are replies)
HAPPY_ON_OPENER = 0.85  # of its counted replies, on the opener (the rest on a repost)


@dataclass(frozen=True)
class HappyThread:
    """A benign thread that goes viral: what no detector should warn on."""

    start: datetime
    peak: datetime  # of its intensity curve
    end: datetime  # its last event
    post_ids: tuple[str, ...]  # the opener, its reply posts and reposts
    replies: int  # replies to the opener, counted and with text
    source: str


@dataclass(frozen=True)
class RealStream(SimStream):
    language: str = "en"
    brand: str = ""
    keywords: tuple[str, ...] = ()
    happy: tuple[HappyThread, ...] = ()
    # post id -> chatter, complaint, busy thread (reply), news (repost), happy (reply,
    # repost) or crisis
    kinds: dict[str, str] = field(default_factory=dict)


class _Draw:
    """A pool's texts in a seeded order, each used once before any is used again;
    ``more`` (loaded on first need) continues a pool that ran out."""

    def __init__(self, rng: np.random.Generator, texts: Sequence[str],
                 more: Callable[[], Sequence[str]] | None = None) -> None:
        self.rng, self.more = rng, more
        self.order = [texts[int(i)] for i in rng.permutation(len(texts))]
        self.i = 0

    def take(self, pattern: str = "") -> str:
        """The next text (the next one matching ``pattern``, if any is left)."""
        if self.i >= len(self.order):
            texts = list(self.more()) if self.more else self.order
            self.more = None
            self.order = [texts[int(i)] for i in self.rng.permutation(len(texts))]
            self.i = 0
        if pattern:
            regex = re.compile(pattern, re.I)
            j = next((j for j in range(self.i, len(self.order)) if regex.search(self.order[j])),
                     self.i)
            self.order[self.i], self.order[j] = self.order[j], self.order[self.i]
        self.i += 1
        return self.order[self.i - 1]


class _Maker:
    """Everything a stream draws from: the seeded generator, ids, text pools."""

    def __init__(self, texts: Texts, seed: int, days: int) -> None:
        self.texts, self.days = texts, days
        self.rng = np.random.default_rng([seed, 0 if texts.language == "en" else 1])
        self.ids = _Ids()
        self.sources = SOURCES[texts.language]
        self.threads: dict[str, str] = {}  # reply post id -> its thread key
        self.kinds: dict[str, str] = {}
        rng = self.rng
        more = fallback_negative if texts.language == "en" else None
        self.benign, self.positive = _Draw(rng, texts.benign), _Draw(rng, texts.positive)
        self.replies = _Draw(rng, texts.replies)
        self.negative = _Draw(rng, texts.negative, more)
        self.complaints = _Draw(rng, texts.complaints) if texts.complaints else self.negative
        self.news = _Draw(rng, texts.news)
        self.matters = [texts.matters[int(i)] for i in rng.permutation(len(texts.matters))]

    def pick(self, options: Sequence[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def post(self, source: str, at: int, text: str, kind: str) -> _Post:
        post = _new_post(self.rng, self.ids, source, self.texts.brand, at, text)
        self.kinds[post.id] = kind
        return post

    def daytime(self) -> int:
        """A time drawn with the benign rhythm (days uniformly, hours as HOURLY)."""
        hour = int(self.rng.choice(24, p=_HOURLY / _HOURLY.sum()))
        return int(self.rng.integers(self.days)) * DAY + hour * 3600 + int(
            self.rng.integers(3600))

    def reply_post(self, opener: _Post, at: int, pool: _Draw, kind: str) -> _Post:
        """A reply crawled with its text, in the opener's thread: from ``pool`` naming
        the brand, or a positive reply that does not."""
        named = self.rng.random() < BRAND_REPLIES
        text = mention(self.rng, self.texts, pool.take()) if named else self.replies.take()
        post = self.post(opener.source, at, text, kind)
        self.threads[post.id] = f"t{opener.id[1:]}"
        return post

    def crisis_text(self, matter: Matter | None) -> str:
        """A real negative post naming the brand (and the matter), with no strong cue."""
        while True:
            raw = self.negative.take(matter.pattern if matter else "")
            text = mention(self.rng, self.texts, raw, matter)
            if not strong_cues(text):
                return text


def _replied(m: _Maker, post: _Post, mean: float, minutes: float) -> _Post:
    n = m.rng.poisson(mean)
    post.replies = sorted(post.at + int(d) for d in m.rng.exponential(minutes * 60, n))
    return post


def _benign(m: _Maker) -> list[_Post]:
    """Chatter and ordinary complaints, Poisson per hour with the daily and weekly rhythm."""
    posts = []
    for hour in range(m.days * 24):
        local = START + timedelta(hours=hour)
        rate = POSTS_PER_DAY / 24 * _HOURLY[local.hour] * _WEEKLY[local.weekday()]
        for offset in np.sort(m.rng.integers(0, 3600, m.rng.poisson(rate))):
            complaint = m.rng.random() < COMPLAINT_SHARE
            raw = (m.complaints if complaint else m.benign).take()
            post = m.post(m.pick(m.sources[:2]), hour * 3600 + int(offset),
                          mention(m.rng, m.texts, raw), "complaint" if complaint else "chatter")
            posts.append(_replied(m, post, 2.0 if complaint else 1.2, 90))
    return posts


def _busy_threads(m: _Maker) -> list[_Post]:
    posts = []
    for _ in range(m.rng.poisson(THREADS_PER_DAY * m.days)):
        opener = m.post(m.pick(m.sources[:2]), m.daytime(),
                        mention(m.rng, m.texts, m.benign.take()), "busy thread")
        posts.append(opener)
        n = int(m.rng.integers(*THREAD_REPLIES))
        for t in sorted(opener.at + int(d) for d in m.rng.exponential(100 * 60, n)):
            if m.rng.random() < TEXT_REPLIES:
                posts.append(m.reply_post(opener, t, m.benign, "busy thread reply"))
            else:
                opener.replies.append(t)
    return posts


def _news(m: _Maker) -> list[_Post]:
    posts = []
    for _ in range(m.rng.poisson(NEWS_PER_DAY * m.days)):
        item = m.post(m.sources[2], m.daytime(), in_passing(m.rng, m.texts, m.news.take()),
                      "news")
        posts.append(_replied(m, item, 1.5, 60))
        for d in m.rng.exponential(45 * 60, m.rng.poisson(NEWS_REPOSTS)):
            text = repost(m.rng, m.texts, item.text)
            posts.append(_replied(m, m.post(m.pick(m.sources[:2]), item.at + int(d), text,
                                            "news repost"), 1.0, 60))
    return posts


def _offset(m: _Maker, start: timedelta) -> int:
    jitter = int(m.rng.integers(-JITTER.total_seconds(), JITTER.total_seconds() + 1))
    return max(0, int((start.total_seconds() + jitter) * m.days / 14))


def _happy(m: _Maker, end: int) -> tuple[list[_Post], HappyThread]:
    """A real positive post that draws a few hundred replies within hours."""
    start = _offset(m, HAPPY.start)
    curve = _curve(HAPPY, start)
    opener = m.post(m.sources[1], start, mention(m.rng, m.texts, m.positive.take()), "happy")
    posts = [opener]
    for t in _event_times(m.rng, curve):
        u = m.rng.random()
        if u < HAPPY_NEW_POSTS:
            posts.append(m.post(m.pick(m.sources[:2]), t, repost(m.rng, m.texts, opener.text),
                                "happy repost"))
        elif u < HAPPY_NEW_POSTS + TEXT_REPLIES:
            posts.append(m.reply_post(opener, t, m.positive, "happy reply"))
        elif m.rng.random() < HAPPY_ON_OPENER:
            opener.replies.append(t)
        else:  # a repost of it
            shared = [p for p in posts if m.kinds[p.id] == "happy repost"] or [opener]
            shared[int(m.rng.integers(len(shared)))].replies.append(t)
    kept = [p for p in posts if p.at < end]
    replies = sum(1 for r in opener.replies if r < end) + sum(
        1 for p in kept if m.threads.get(p.id) == f"t{opener.id[1:]}")
    last = max([p.at for p in kept] + [r for p in kept for r in p.replies if r < end])
    truth = HappyThread(START + timedelta(seconds=start),
                        START + timedelta(seconds=start + round(curve.rise_h * 3600)),
                        START + timedelta(seconds=last), tuple(p.id for p in kept), replies,
                        opener.source)
    return posts, truth


def _crisis(m: _Maker, shape: str, start: int, peak: float, end: int
            ) -> tuple[list[_Post], CrisisTruth]:
    """One crisis as the simulator draws it (``simulate._crisis``), in real words."""
    spec = CrisisSpec(shape, m.texts.brand, timedelta(seconds=start), peak_size=peak,
                      source=m.pick(m.sources[:2]))
    sim = SimSpec(days=m.days, brands=(m.texts.brand,), sources=m.sources, start=START)
    curve, matter = _curve(spec, start), m.matters.pop()
    sources = _crisis_sources(m.rng, spec, sim, start)
    posts = [m.post(sources[0][0], start, m.crisis_text(matter), "crisis")]
    tickets = [0]
    arrivals = sorted([(t, "") for t in _event_times(m.rng, curve)]
                      + [(t, s) for s, t in sources[1:]])
    for t, arriving in arrivals:
        if arriving:
            posts.append(m.post(arriving, t, repost(m.rng, m.texts, posts[0].text), "crisis"))
        elif m.rng.random() < SHAPE_DEFAULTS[shape].new_posts:
            live = [s for s, since in sources if since <= t]
            if m.rng.random() < REPOST_SHARE:
                text = repost(m.rng, m.texts, m.pick([p.text for p in posts]))
            else:
                text = m.crisis_text(matter if m.rng.random() < MATTER_SHARE else None)
            posts.append(m.post(m.pick(live), t, text, "crisis"))
        else:
            target = tickets[int(m.rng.integers(len(tickets)))]
            posts[target].replies.append(t)
            tickets.append(target)
            continue
        tickets.append(len(posts) - 1)

    def at(hours: float) -> datetime:
        return START + timedelta(seconds=start + round(hours * 3600))

    truth = CrisisTruth(m.texts.brand, shape, at(0), at(curve.reaches(0.25)),
                        at(curve.reaches(0.5)), at(curve.rise_h), peak,
                        tuple((s, START + timedelta(seconds=t)) for s, t in sources if t < end),
                        tuple(p.id for p in posts if p.at < end), m.texts.language, matter.name)
    return posts, truth


def real_stream(language: str, seed: int, days: int = 14) -> RealStream:
    """The realistic stream of ``language`` ("en" or "zh") for ``seed``: records sorted
    by time (ties keep generation order), the crises' truth and the happy threads'."""
    if days < 1:
        raise ValueError("days must be at least 1")
    texts = load_texts(language)
    m, end = _Maker(texts, seed, days), days * DAY
    posts = _benign(m) + _busy_threads(m) + _news(m)
    happy_posts, happy = _happy(m, end)
    posts += happy_posts
    truths = []
    for shape, start, peak in CRISES:
        crisis_posts, truth = _crisis(m, shape, min(_offset(m, start), end - 1), peak, end)
        posts += crisis_posts
        truths.append(truth)
    timed = []
    for p in posts:
        if p.at >= end:
            continue
        for tick, record in _post_records(p, START, EVERY, end):
            if p.id in m.threads:
                record["thread"] = m.threads[p.id]
            timed.append((tick, record))
    order = sorted(range(len(timed)), key=lambda i: (timed[i][0], i))
    kinds = {p.id: m.kinds[p.id] for p in posts if p.at < end}
    return RealStream([timed[i][1] for i in order], truths, language, texts.brand,
                      texts.keywords, (happy,), kinds)

