"""bench/realstreams.py: realistic detection streams built from real posts
(../shared/data, read in place), in the simulator's record format."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from bench.realstreams import SOURCES, START, RealStream, real_stream
from bench.realtext import MATTERS
from bench.simulate import SHAPES
from monitor.text.cues import find_cues, load_lexicon
from monitor.text.matching import BrandRule
from monitor.text.normalize import normalize
from tests.conftest import SHARED_DATA

pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not SHARED_DATA.is_dir(),
                                 reason=f"{SHARED_DATA} is absent: the realistic streams "
                                 "are built from the real posts there")]

DAYS = 3
SEED = 3
FIRST = {"at", "source", "brand", "id", "thread", "title", "text", "replies", "likes", "views"}
UPDATE = FIRST - {"title", "text"}


@pytest.fixture(scope="module", params=["en", "zh"])
def stream(request: pytest.FixtureRequest) -> RealStream:
    return real_stream(request.param, seed=SEED, days=DAYS)


def first_seen(records: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in records:
        out.setdefault(r["id"], r)
    return out


def strong(text: str) -> list[str]:
    return [t for h in find_cues(load_lexicon(), normalize(text)) if h.strong for t in h.terms]


def names_brand(stream: RealStream, text: str) -> bool:
    return BrandRule.build(1, stream.brand, list(stream.keywords), []).matches(normalize(text))


def test_records_are_sorted_and_in_the_simulator_schema(stream: RealStream) -> None:
    times = [datetime.fromisoformat(r["at"]) for r in stream.records]
    assert times == sorted(times)
    assert START <= times[0] and times[-1] < START + timedelta(days=DAYS)
    seen: set[str] = set()
    for r in stream.records:
        assert set(r) == (UPDATE if r["id"] in seen else FIRST), r
        assert r["brand"] == stream.brand and r["source"] in SOURCES[stream.language]
        seen.add(r["id"])
    assert len(seen) > 300  # a few hundred posts in three days, a few thousand in two weeks
    assert seen == set(stream.kinds)  # every post says what it is


def test_the_same_seed_gives_the_same_records(stream: RealStream) -> None:
    again = real_stream(stream.language, seed=SEED, days=DAYS)
    assert again.records == stream.records and again.crises == stream.crises
    assert real_stream(stream.language, seed=SEED + 1, days=DAYS).records != stream.records


def test_crises_are_real_posts_naming_the_brand_with_no_strong_cue(stream: RealStream) -> None:
    first = first_seen(stream.records)
    assert sorted(c.shape for c in stream.crises) == sorted(SHAPES)
    for c in stream.crises:
        assert c.start <= c.t25 <= c.t50 <= c.peak and c.post_ids
        assert len(c.sources) == (3 if c.shape == "multi_source" else 1)
        (matter,) = [m for m in MATTERS[stream.language] if m.name == c.topic]
        named = 0
        for post in c.post_ids:
            text = f"{first[post]['title']}\n{first[post]['text']}"
            assert not strong(text), (c.shape, text)
            assert names_brand(stream, text), (c.shape, text)
            named += matter.tag in text or bool(
                matter.pattern and re.search(matter.pattern, text, re.I))
        # the first post names the matter, and so do some others; some name only the brand
        assert 1 < named < len(c.post_ids), (c.shape, named, len(c.post_ids))


def test_news_names_the_brand_in_passing_with_a_strong_cue(stream: RealStream) -> None:
    first = first_seen(stream.records)
    news = [first[p]["text"] for p, kind in stream.kinds.items() if kind == "news"]
    assert news
    assert all(strong(t) and names_brand(stream, t) for t in news)


def test_a_happy_viral_thread_draws_hundreds_of_replies(stream: RealStream) -> None:
    (happy,) = stream.happy
    opener = happy.post_ids[0]
    counted = max(r["replies"] for r in stream.records if r["id"] == opener)
    first = first_seen(stream.records)
    thread = first[opener]["thread"]
    with_text = sum(1 for p in happy.post_ids[1:] if first[p]["thread"] == thread)
    assert counted + with_text == happy.replies >= 100
    assert happy.start < happy.peak < happy.end
    assert {stream.kinds[p] for p in happy.post_ids} <= {"happy", "happy reply", "happy repost"}
