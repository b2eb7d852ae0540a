"""Real posts for the realistic detection streams (``bench/realstreams.py``), read in
place from ``../shared/data`` (CATALOGUE.md there; never copied into the repository).

One brand per language, and the pools its streams draw from:

- en, "Apple" (keywords Apple, iPhone, iPad, iTunes): SXSW 2011 tweets that name it
  (HTML entities decoded, as a crawler would; the latin-1 mojibake kept). Benign:
  Positive / No emotion / I can't tell (a happy thread: Positive only). Negative
  (ordinary complaints and crises): the Negative ones, then, only once a stream has
  used them all, negative airline tweets rewritten to the brand (the airline's
  handle and name become Apple's; ``fallback_negative``). News: non-negative tweets
  of either set carrying a strong crisis cue about something else, the brand in
  passing ("(via iPhone)") where the tweet does not name it.
- zh, "艾克美" (an invented name: the Chinese sets name no single brand), put into real
  Weibo posts as a #话题#, an @ or at the start (``mention``). Benign: osm2022
  positive, smp2020 happy / neutral (a happy thread: the first two only).
  Complaints: waimai negative reviews, osm2022 weak negative. Crises: osm2022
  anger / anxiety, smp2020 angry / fear / sad. News: non-negative smp2020 /
  osm2022 posts with a strong cue (央视, 转发, 记者 ...), the brand in passing
  ("（来自艾克美客户端）").

Benign, complaint and crisis texts carry no strong cue of ``monitor/lexicon/cues.yaml``
(weak ones, such as 客服 or "customer service", are kept): a crisis here has to be
found from its volume and its words, not from 曝光 or "lawsuit". Texts shorter than
``MIN_CHARS`` are dropped (a bare "天使" says nothing).
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from monitor.text.cues import find_cues, load_lexicon
from monitor.text.matching import phrase_pattern
from monitor.text.normalize import normalize

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MIN_CHARS = {"en": 25, "zh": 8}
BRANDS = {"en": ("Apple", ("Apple", "iPhone", "iPad", "iTunes")), "zh": ("艾克美", ("艾克美",))}
_AIRLINES = re.compile(r"@(VirginAmerica|united|SouthwestAir|JetBlue|USAirways|AmericanAir|"
                       r"delta)\b|\b(Virgin America|United|Southwest|JetBlue|Jet Blue|"
                       r"US ?Airways|American Airlines|American|Delta)\b", re.I)


@dataclass(frozen=True)
class Matter:
    """What a crisis is about: ``name`` for the truth, ``tag`` to name it in a post
    (a hashtag; zh: ``#艾克美{tag}#``), ``pattern`` (en) for real texts that already
    name it."""

    name: str
    tag: str
    pattern: str = ""


MATTERS = {
    "en": (Matter("iPhone battery dies", "#iPhoneBattery", r"batter(y|ies)|charg|dead"),
           Matter("queue at the pop-up store", "#AppleStoreLine", r"\bline\b|pop-?up|queue|wait"),
           Matter("iPad apps crashing", "#iPadApps", r"crash|freez|bug"),
           Matter("iPad 2 design", "#iPad2", r"ipad ?2|design|headache")),
    "zh": (Matter("会员涨价", "会员涨价"), Matter("自动续费", "自动续费"),
           Matter("强制搭售", "强制搭售"), Matter("大数据杀熟", "大数据杀熟"),
           Matter("订单被取消", "订单被取消")),
}


@dataclass(frozen=True)
class Texts:
    language: str
    brand: str
    keywords: tuple[str, ...]
    benign: tuple[str, ...]  # positive or neutral
    positive: tuple[str, ...]  # positive only (a happy thread's opener and replies)
    complaints: tuple[str, ...]  # ordinary complaints (zh); en draws them from ``negative``
    negative: tuple[str, ...]  # crisis texts (en: complaints too; then ``fallback_negative``)
    news: tuple[str, ...]  # strong cue, another matter; the brand in passing
    replies: tuple[str, ...]  # positive replies that do not name the brand (zh: before
    # the brand is put in)
    matters: tuple[Matter, ...]


@lru_cache(maxsize=65_536)
def _normalized(text: str) -> str:  # the pools are read once: each text is checked twice
    return normalize(text)


def strong_cues(text: str) -> tuple[str, ...]:
    """The strong cue terms of ``text`` (none: fit for benign, complaint or crisis)."""
    hits = find_cues(load_lexicon(), _normalized(text))
    return tuple(t for h in hits if h.strong for t in h.terms)


@lru_cache(maxsize=8)
def _patterns(keywords: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(phrase_pattern(k) for k in keywords)


def names_brand(text: str, keywords: Sequence[str]) -> bool:
    """Whether the daemon's keyword matcher finds the brand in ``text``."""
    norm = _normalized(text)
    return any(p.search(norm) for p in _patterns(tuple(keywords)))


def _usable(text: str, language: str) -> bool:
    return len(text.strip()) >= MIN_CHARS[language] and not strong_cues(text)


def _dedupe(texts: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.strip() for t in texts if t.strip()))


# --- en ----------------------------------------------------------------------------------


def _sxsw() -> list[tuple[str, str]]:
    with (DATA / "social" / "en" / "sxsw2011_brand_tweets.csv").open(
            encoding="latin-1", newline="") as fh:
        return [(html.unescape(r["tweet_text"] or ""),
                 r["is_there_an_emotion_directed_at_a_brand_or_product"])
                for r in csv.DictReader(fh)]


def _airline() -> list[tuple[str, str]]:
    with (DATA / "en" / "airline_tweets.csv").open(encoding="utf-8", newline="") as fh:
        return [(html.unescape(r["text"] or ""), r["airline_sentiment"])
                for r in csv.DictReader(fh)]


def _to_brand(text: str) -> str:
    return _AIRLINES.sub(lambda m: "@Apple" if m.group(1) else "Apple", text)


def _english() -> Texts:
    brand, keywords = BRANDS["en"]
    sxsw = _sxsw()
    mine = [(t, label) for t, label in sxsw if names_brand(t, keywords)]
    benign = [t for t, label in mine if not label.startswith("Negative") and _usable(t, "en")]
    positive = [t for t, label in mine if label.startswith("Positive") and _usable(t, "en")]
    negative = [t for t, label in mine if label.startswith("Negative") and _usable(t, "en")]
    calm = [t for t, label in sxsw + _airline()
            if not label.startswith(("Negative", "negative")) and len(t) >= MIN_CHARS["en"]]
    others = [t for t, label in sxsw if label.startswith("Positive")
              and not names_brand(t, keywords) and _usable(t, "en")]
    return Texts("en", brand, keywords, _dedupe(benign), _dedupe(positive), (),
                 _dedupe(negative), _dedupe([t for t in calm if strong_cues(t)]),
                 _dedupe(others), MATTERS["en"])


@lru_cache(maxsize=1)
def fallback_negative() -> tuple[str, ...]:
    """Negative airline tweets rewritten to Apple (no strong cue): drawn only once a
    stream has used every SXSW complaint, so read only then."""
    keywords = BRANDS["en"][1]
    rewritten = (_to_brand(t) for t, label in _airline() if label == "negative")
    return _dedupe([t for t in rewritten if names_brand(t, keywords) and _usable(t, "en")])


# --- zh ----------------------------------------------------------------------------------


def _osm() -> list[tuple[str, str]]:
    folder = DATA / "social" / "zh"
    reviews = (folder / "osm2022_train_review.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / "osm2022_train_label.txt").read_text(encoding="utf-8").splitlines()
    return [(t.replace(" ", ""), label.strip()) for t, label in zip(reviews, labels, strict=True)]


def _smp() -> list[tuple[str, str]]:
    rows = json.loads((DATA / "social" / "zh" / "smp2020_virus_train.json").read_text(
        encoding="utf-8"))
    return [(str(r["content"]), str(r["label"])) for r in rows]


def _waimai_negative() -> list[str]:
    with (DATA / "zh" / "waimai_10k.csv").open(encoding="utf-8", newline="") as fh:
        return [r["review"] for r in csv.DictReader(fh) if r["label"] == "0"]


def _chinese() -> Texts:
    brand, keywords = BRANDS["zh"]
    osm, smp = _osm(), _smp()

    def pick(rows: list[tuple[str, str]], labels: set[str]) -> list[str]:
        return [t for t, label in rows if label in labels and _usable(t, "zh")]

    positive = pick(osm, {"0"}) + pick(smp, {"happy"})
    benign = positive + pick(smp, {"neural"})
    complaints = [t for t in _waimai_negative() if _usable(t, "zh")] + pick(osm, {"1"})
    negative = pick(osm, {"2", "3"}) + pick(smp, {"angry", "fear", "sad"})
    news = [t for t, label in osm + smp if label in {"0", "happy", "neural", "surprise"}
            and len(t) >= 15 and strong_cues(t)]
    return Texts("zh", brand, keywords, _dedupe(benign), _dedupe(positive), _dedupe(complaints),
                 _dedupe(negative), _dedupe(news), _dedupe(positive), MATTERS["zh"])


@lru_cache(maxsize=2)
def load_texts(language: str) -> Texts:
    """The pools of one language (read once per process)."""
    if language not in BRANDS:
        raise ValueError(f"language must be one of {tuple(BRANDS)}, not {language!r}")
    if not DATA.is_dir():
        raise FileNotFoundError(f"{DATA} is absent: the realistic streams read real posts there")
    return _english() if language == "en" else _chinese()


# --- putting the brand in ----------------------------------------------------------------

_ZH_MENTION = ("#{b}#{t}", "@{b} {t}", "{t} @{b}", "{b}：{t}", "{t}#{b}#")
_ZH_MATTER = ("#{b}{m}#{t}", "{t} #{b}{m}#", "【{b}{m}】{t}")
_ZH_IN_PASSING = ("{t}（来自{b}客户端）", "{t} 分享自{b}App", "刚在{b}上刷到：{t}")
_EN_IN_PASSING = ("{t} (via iPhone)", "{t} #iPhone", "Reading this on my iPad: {t}")


def _choose(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def mention(rng: np.random.Generator, texts: Texts, text: str, matter: Matter | None = None
            ) -> str:
    """``text`` naming the brand (and the matter, if given). English texts in the
    pools already name the brand; a matter goes in as a hashtag unless the text
    already names it."""
    if texts.language == "en":
        if matter is not None and not re.search(matter.pattern, text, re.I):
            return f"{text} {matter.tag}"
        return text
    if matter is not None:
        return _choose(rng, _ZH_MATTER).format(b=texts.brand, m=matter.tag, t=text)
    return _choose(rng, _ZH_MENTION).format(b=texts.brand, t=text)


def in_passing(rng: np.random.Generator, texts: Texts, text: str) -> str:
    """A post about something else, naming the brand only in passing."""
    if names_brand(text, texts.keywords):
        return text
    bank = _EN_IN_PASSING if texts.language == "en" else _ZH_IN_PASSING
    return _choose(rng, bank).format(b=texts.brand, t=text)


def repost(rng: np.random.Generator, texts: Texts, original: str, comment: str = "") -> str:
    """A repost as the platform writes it: "RT @mention: ..." (the SXSW set's own
    anonymised form), or Weibo's "comment//@用户1234567890:original" chain."""
    if texts.language == "en":
        return f"{comment} RT @mention: {original}".strip()
    user = f"用户{int(rng.integers(10**9, 10**10))}"
    return f"{comment}//@{user}:{original}"
