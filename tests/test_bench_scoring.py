"""The scoring benchmark's pure parts on synthetic input: what counts as the same
post, the dedup that keeps seen texts out of a test set, the osm2022 word joiner,
the folds, the ``--train`` settings, and the met / MISSED verdicts."""

from __future__ import annotations

import pytest

from bench.scoring import model_rows
from bench.scoring_cv import fold_of
from bench.scoring_data import Labelled, Split, dedup, join_words, keys, text_key
from bench.scoring_models import Row, describe, fit_sets, parse_setting
from bench.scoring_report import target_lines


def test_variants_of_one_post_share_a_key() -> None:
    same = ["这家酒店 服务很差！", "這家酒店服務很差!", " 这家酒店\t服务很差！\n",
            "这家酒店服务很差！"]
    assert len({text_key(t) for t in same}) == 1
    assert text_key("Flight DELAYED again") == text_key("flight  delayed again")
    assert text_key("服务很差") != text_key("服务很好")


def test_dedup_drops_planted_copies_and_keeps_the_rest() -> None:
    test = Labelled(["服务很差", "Great flight, thanks", "房间很干净", "LOST my bag again!!"],
                    [1, 0, 0, 1])
    seen = keys(["服 务 很 差", "lost my bag again!!", "unrelated"])  # two planted copies
    kept, dropped = dedup(test, seen)
    assert dropped == 2
    assert kept.texts == ["Great flight, thanks", "房间很干净"]
    assert kept.labels == [0, 0]  # labels follow their texts
    assert dedup(test, frozenset()) == (test, 0)


def test_osm_words_are_joined_but_latin_words_stay_apart() -> None:
    assert join_words("为什么 死者 的 母亲 微博 被 封 了 呢\n") == "为什么死者的母亲微博被封了呢"
    assert join_words("# 成都 49 中 ## 成都 四十九中") == "#成都49中##成都四十九中"
    assert join_words("买 了 iPhone 13 很 失望") == "买了iPhone 13很失望"


def test_copies_of_a_text_fall_in_one_fold() -> None:
    folds = {fold_of(t, 4) for t in ("退款 太慢了", "退款太慢了", "退款太慢了 ")}
    assert len(folds) == 1
    assert {fold_of(f"post {i}", 4) for i in range(200)} == {0, 1, 2, 3}


def test_train_settings_parse_and_bad_ones_say_why() -> None:
    assert parse_setting("zh:l2=3,nb=true,bits=18") == ("zh", {"l2": 3.0, "nb": True,
                                                                "bits": 18})
    assert parse_setting("en:extras=vader,nb=0") == ("en", {"extras": ("vader",), "nb": False})
    assert parse_setting("en:extras=") == ("en", {"extras": ()})
    assert parse_setting("zh:review_weight=0.1,balance=true") == (
        "zh", {"review_weight": 0.1, "balance": True})
    for bad, says in (("fr:l2=1", "LANG"), ("zh:alpha=1", "alpha"), ("zh:l2=lots", "number"),
                      ("zh:nb=maybe", "true or false"), ("zh:balance=2", "balance="),
                      ("zh", "LANG")):
        with pytest.raises(ValueError, match=says):
            parse_setting(bad)


def _split(name: str, language: str) -> Split:
    rows = Labelled(["a", "b"], [0, 1])
    return Split(name, language, False, rows, rows)


def test_models_trained_on_the_same_splits_share_one_row() -> None:
    splits = [_split("airline_tweets", "en"), _split("sxsw2011 brand tweets", "en")]
    airline = model_rows(splits, splits[0])
    assert [kind for kind, _, _ in airline] == ["own+reviews", "everything"]
    brand = model_rows(splits, splits[1])
    assert [(kind, names) for kind, _, names in brand] == [
        ("own", ("sxsw2011 brand tweets",)),
        ("everything", ("airline_tweets", "sxsw2011 brand tweets")),
        ("reviews", ("airline_tweets",))]


def _row(dataset: str, kind: str, auc: float, rate: float, ours: bool = True) -> Row:
    return Row(dataset, kind, kind, 100, 0, auc, 0.5, 0.1, 0.1, rate, ours)


def test_targets_say_met_or_missed_and_what_was_not_run() -> None:
    rows = [_row("sxsw2011 brand tweets", "everything", 0.91, 6000.0),
            _row("sxsw2011 brand tweets", "default", 0.65, 30000.0, ours=False),
            _row("sxsw2011 brand tweets", "baseline", 0.65, 100.0, ours=False),
            _row("sxsw2011 brand tweets", "risk-everything", 0.90, 2500.0)]
    lines = target_lines(rows)
    assert "trained on everything, sxsw2011 brand tweets: AUC 0.910 vs >= 0.90 -> met" in lines
    assert "shipped default, sxsw2011 brand tweets: AUC 0.650 vs >= 0.80 -> MISSED" in lines
    assert any(line.startswith("trained on everything, osm2022") and line.endswith("not run")
               for line in lines)
    speed = [line for line in lines if line.startswith(("model path", "whole risk"))]
    assert speed[0].startswith("model path: slowest 6,000 posts/s")  # baselines not counted
    assert speed[0].endswith("-> met") and speed[1].endswith("-> MISSED")


def test_settings_are_described_with_the_defaults_filled_in() -> None:
    assert describe("en", {"l2": 3.0}) == ("bits=20, l2=3.0, nb=True, extras=vlex, "
                                           "features=plain, review_weight=1.0, balance=False")
    assert describe("zh", {}).startswith("bits=22, l2=3.0, nb=False, extras=none, "
                                         "features=social,")
    assert "extras=none," in describe("zh", {"extras": ()})


def test_the_everything_model_weighs_review_sets_as_model_train_would() -> None:
    """airline_tweets is a review set for en: its rows count review_weight each."""
    social = Labelled([f"zorb app {i}" for i in range(20)] + [f"lovely app {i}" for i in range(20)],
                      [1] * 20 + [0] * 20)
    reviews = Labelled([f"zorb app {i}" for i in range(20)] + [f"awful app {i}" for i in range(20)],
                       [0] * 20 + [1] * 20)
    parts = [("sxsw2011 brand tweets", social), ("airline_tweets", reviews)]
    low = fit_sets(parts, "en", {"bits": 12, "review_weight": 0.1, "balance": True})
    high = fit_sets(parts, "en", {"bits": 12, "review_weight": 10.0})
    assert low.probability("zorb app") > 0.5 > high.probability("zorb app")
