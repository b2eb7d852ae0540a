"""bench/simulate.py: the seeded stream generator used to backtest detection."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bench.simulate import (
    CrisisSpec,
    CrisisTruth,
    SimSpec,
    SimStream,
    activity,
    simulate,
    standard_spec,
    write_jsonl,
)
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
from monitor.text.cues import find_cues, load_lexicon
from monitor.text.normalize import normalize

T0 = SimSpec().start


@pytest.fixture(scope="module")
def stream() -> SimStream:
    return simulate(standard_spec(), seed=11)


def first_seen(records: list[dict]) -> list[dict]:
    seen: set[str] = set()
    out = []
    for r in records:
        if r["id"] not in seen:
            seen.add(r["id"])
            out.append(r)
    return out


def cues(text: str) -> tuple[set[str], bool]:
    hits = find_cues(load_lexicon(), normalize(text))
    return {h.key for h in hits}, any(h.strong for h in hits)


# --- the stream as records ---------------------------------------------------------------


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    spec = standard_spec()
    a, b, c = simulate(spec, 5), simulate(spec, 5), simulate(spec, 6)
    assert a == b
    assert a.records != c.records


def test_records_are_sorted_json_and_utc(stream: SimStream) -> None:
    times = [datetime.fromisoformat(r["at"]) for r in stream.records]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(0) for t in times)
    assert times[0] >= T0 and times[-1] < T0 + timedelta(days=14)
    for r in stream.records:
        assert json.loads(json.dumps(r, ensure_ascii=False)) == r
        assert {"at", "source", "brand", "id", "replies"} <= r.keys()


def test_updates_follow_their_post_and_only_grow(stream: SimStream) -> None:
    posts: dict[str, dict] = {}
    updates = 0
    for r in stream.records:
        if r["id"] not in posts:
            assert r["text"] and r["title"] and r["replies"] == 0
            posts[r["id"]] = r
            continue
        updates += 1
        post = posts[r["id"]]
        assert "text" not in r and "title" not in r
        assert (r["source"], r["brand"], r["thread"]) == (post["source"], post["brand"],
                                                          post["thread"])
        assert r["at"] > post["at"]
        assert r["replies"] > post["replies"] and r["views"] >= post["views"]
        posts[r["id"]] = {**post, **r}
    assert updates > len(posts) / 2


def test_benign_stream_has_a_daily_and_weekly_rhythm() -> None:
    spec = SimSpec(days=28, posts_per_day=48)
    posts = first_seen(simulate(spec, 3).records)
    hours = Counter(datetime.fromisoformat(p["at"]).hour for p in posts)
    assert hours[14] > 4 * hours[4]
    days = Counter(datetime.fromisoformat(p["at"]).weekday() for p in posts)
    weekday, weekend = sum(days[d] for d in range(5)) / 5, (days[5] + days[6]) / 2
    assert weekend < 0.9 * weekday
    assert len(posts) == pytest.approx(28 * 48, rel=0.1)


def test_background_complaints_are_isolated_and_carry_no_strong_cue() -> None:
    spec = SimSpec(days=14, posts_per_day=60, complaint_rate=0.15)
    records = simulate(spec, 4).records
    posts = first_seen(records)
    final = {r["id"]: r["replies"] for r in records}
    possible = {t.format(brand="Acme", product=p) for t in COMPLAINTS["en"] for p in PRODUCTS["en"]}
    complaints = [p for p in posts if p["text"] in possible]
    assert not any(cues(p["text"])[1] for p in posts)
    assert len(complaints) / len(posts) == pytest.approx(0.15, abs=0.03)
    assert max(final.values()) < 15


# --- text banks --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chatter_has_no_cue_and_complaints_no_strong_cue(lang: str) -> None:
    for product in PRODUCTS[lang]:
        for template in CHATTER[lang]:
            text = template.format(brand="Acme", product=product)
            assert cues(text) == (set(), False), text
        for template in COMPLAINTS[lang]:
            assert not cues(template.format(brand="Acme", product=product))[1], template


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_crisis_text_carries_a_strong_cue(lang: str) -> None:
    for topic in TOPICS:
        product, issue = topic[lang]
        slots = {"brand": "Acme", "product": product, "issue": issue, "source": "forum-a"}
        for origin in ORIGINS[lang]:
            slots["origin"] = origin.format(**slots)
            for template in (origin, *FOLLOW_UPS[lang], *REPOSTS[lang]):
                text = template.format(**slots)
                assert cues(text)[1], text
                assert product in text or slots["origin"] in text


def test_title_is_the_first_sentence() -> None:
    assert title_of("Acme charger caught fire. Please share.") == "Acme charger caught fire"
    assert title_of("曝光：Acme充电器起火！客服还说") == "曝光：Acme充电器起火"
    assert title_of("x" * 200) == "x" * 80


# --- crises and their truth --------------------------------------------------------------


def test_truth_describes_each_crisis(stream: SimStream) -> None:
    assert [t.shape for t in stream.crises] == ["sudden", "slow_burn", "multi_source"]
    by_id = {r["id"]: r for r in first_seen(stream.records)}
    for t in stream.crises:
        assert t.start < t.t25 < t.t50 < t.peak
        assert t.post_ids and all(i in by_id for i in t.post_ids)
        origin = by_id[t.post_ids[0]]
        assert datetime.fromisoformat(origin["at"]) == t.start
        assert (origin["source"], t.start) == t.sources[0]
        product = t.topic.split(" ")[0]
        assert all(product in by_id[i]["text"] for i in t.post_ids)
    sudden = stream.crises[0]
    rise = 1 - math.log(4) / math.log(20)  # from 5% to 25% of the peak, rising 20x an hour
    assert (sudden.t25 - sudden.start) / timedelta(hours=1) == pytest.approx(rise, abs=1e-3)


def test_crisis_posts_share_the_matter_and_include_reposts(stream: SimStream) -> None:
    by_id = {r["id"]: r for r in first_seen(stream.records)}
    for t in stream.crises:
        texts = [by_id[i]["text"] for i in t.post_ids]
        assert all(cues(text)[1] for text in texts)
        assert sum(texts[0] in text for text in texts[1:]) >= 1  # near-duplicate reposts
    sudden = stream.crises[0]
    origin_replies = max(r["replies"] for r in stream.records if r["id"] == sudden.post_ids[0])
    assert origin_replies > 40  # one post whose replies explode


def test_multi_source_crisis_reaches_other_sources_when_stated(stream: SimStream) -> None:
    truth = stream.crises[2]
    assert len({s for s, _ in truth.sources}) == 3
    assert [at - truth.start for _, at in truth.sources] == [timedelta(0), timedelta(hours=2),
                                                             timedelta(hours=4)]
    crisis = [r for r in first_seen(stream.records) if r["id"] in set(truth.post_ids)]
    for source, at in truth.sources:
        first = min(datetime.fromisoformat(r["at"]) for r in crisis if r["source"] == source)
        assert first == at
    for truth in stream.crises[:2]:
        assert {r["source"] for r in stream.records if r["id"] in set(truth.post_ids)} == {
            truth.sources[0][0]}


def rate(records: list[dict], truth: CrisisTruth, center: datetime, width: timedelta) -> float:
    """Crisis events per hour in a window centred on ``center``."""
    bins = activity(records, ids=truth.post_ids, step=timedelta(minutes=1))
    lo, hi = center - width / 2, center + width / 2
    events = sum(n for at, n in bins.items() if lo <= at < hi)
    return events / (width / timedelta(hours=1))


@pytest.mark.parametrize(("shape", "peak", "width"), [
    ("sudden", 600, timedelta(minutes=10)),
    ("slow_burn", 120, timedelta(hours=1)),
    ("multi_source", 200, timedelta(minutes=30)),
])
def test_volume_matches_the_truth_times(shape: str, peak: float, width: timedelta) -> None:
    crisis = CrisisSpec(shape, "Acme", timedelta(days=1, hours=6), peak_size=peak)
    spec = SimSpec(days=5, posts_per_day=10, crises=(crisis,),
                   update_every=timedelta(minutes=1))
    for seed in (1, 2, 3):
        s = simulate(spec, seed)
        truth = s.crises[0]
        at25, at50, top = (rate(s.records, truth, t, width) for t in (truth.t25, truth.t50,
                                                                       truth.peak))
        assert 0.12 * peak < at25 < 0.42 * peak
        assert 0.32 * peak < at50 < 0.72 * peak
        assert top > 0.75 * peak
        assert rate(s.records, truth, truth.start + width, width) < 0.2 * peak


@pytest.mark.parametrize("shape", ["sudden", "slow_burn", "multi_source"])
def test_crisis_peaks_around_the_stated_peak_time(shape: str) -> None:
    crisis = CrisisSpec(shape, "Acme", timedelta(days=1, hours=6), peak_size=300)
    spec = SimSpec(days=5, posts_per_day=10, crises=(crisis,))
    s = simulate(spec, 9)
    truth = s.crises[0]
    step = timedelta(minutes=15) if shape == "sudden" else timedelta(hours=1)
    bins = activity(s.records, ids=truth.post_ids, step=step)
    busiest = max(bins, key=lambda at: bins[at])
    tolerance = timedelta(minutes=45) if shape == "sudden" else timedelta(hours=3)
    assert abs(busiest + step / 2 - truth.peak) <= tolerance


# --- languages, helpers, validation ------------------------------------------------------


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_languages() -> None:
    crisis = CrisisSpec("sudden", "Acme", timedelta(days=1), topic=0)
    zh = simulate(SimSpec(days=2, language="zh", crises=(crisis,)), 1)
    assert all(has_cjk(p["text"]) for p in first_seen(zh.records))
    assert zh.crises[0].topic == "充电器 起火" and zh.crises[0].language == "zh"
    mixed = [has_cjk(p["text"]) for p in first_seen(simulate(SimSpec(language="mixed"), 1).records)]
    assert 0.3 < sum(mixed) / len(mixed) < 0.7


def test_several_brands_each_get_their_own_stream() -> None:
    crisis = CrisisSpec("sudden", "Globex", T0 + timedelta(days=1, hours=12))
    s = simulate(SimSpec(days=3, brands=("Acme", "Globex"), crises=(crisis,)), 2)
    posts = first_seen(s.records)
    assert {p["brand"] for p in posts} == {"Acme", "Globex"}
    assert all(p["brand"] in p["text"] for p in posts)
    crisis_ids = set(s.crises[0].post_ids)
    assert {p["brand"] for p in posts if p["id"] in crisis_ids} == {"Globex"}


def test_activity_counts_posts_and_reply_growth() -> None:
    records = [
        {"at": "2026-01-05T10:05:00+00:00", "id": "a", "brand": "Acme", "replies": 0},
        {"at": "2026-01-05T10:20:00+00:00", "id": "b", "brand": "Acme", "replies": 2},
        {"at": "2026-01-05T10:50:00+00:00", "id": "a", "brand": "Acme", "replies": 3},
        {"at": "2026-01-05T11:10:00+00:00", "id": "a", "brand": "Acme", "replies": 1},
        {"at": "2026-01-05T11:20:00+00:00", "id": "a", "brand": "Acme", "replies": 4},
        {"at": "2026-01-05T11:30:00+00:00", "id": "c", "brand": "Other", "replies": 0},
    ]
    ten, eleven = datetime(2026, 1, 5, 10, tzinfo=UTC), datetime(2026, 1, 5, 11, tzinfo=UTC)
    assert activity(records, brand="Acme") == {ten: 1 + 3 + 3, eleven: 3}
    assert activity(records, ids=["b"]) == {ten: 3}


def test_write_jsonl_round_trip(tmp_path, stream: SimStream) -> None:  # noqa: ANN001
    path = tmp_path / "stream.jsonl"
    assert write_jsonl(stream.records, path) == len(stream.records)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == stream.records


@pytest.mark.parametrize("spec", [
    SimSpec(crises=(CrisisSpec("explosive", "Acme", timedelta(days=1)),)),
    SimSpec(crises=(CrisisSpec("sudden", "Nobody", timedelta(days=1)),)),
    SimSpec(days=2, crises=(CrisisSpec("sudden", "Acme", timedelta(days=3)),)),
    SimSpec(sources=("only",), crises=(CrisisSpec("multi_source", "Acme", timedelta(days=1)),)),
    SimSpec(crises=(CrisisSpec("sudden", "Acme", timedelta(days=1), initial=0.5),)),
    SimSpec(crises=(CrisisSpec("sudden", "Acme", timedelta(days=1), source="elsewhere"),)),
    SimSpec(language="fr"),
])
def test_bad_specs_are_refused(spec: SimSpec) -> None:
    with pytest.raises(ValueError):
        simulate(spec, 1)
