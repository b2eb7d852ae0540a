"""The numpy n-gram hashing (monitor.scoring.hashing), VADER's lexicon as features
(monitor.scoring.lexicon_features) and the normalisation fast paths they rely on."""

from __future__ import annotations

import json
import unicodedata
import zlib
from dataclasses import replace

import numpy as np
import pytest

from monitor.scoring import hashing as hx
from monitor.scoring.lexicon_features import lexicon_names
from monitor.scoring.textmodel import (
    _EN,
    _SEED,
    HASHING,
    _char_grams,
    _en_tokens,
    _unique,
    features,
    load,
    save,
    train,
)
from monitor.text.normalize import _t2s, clean, detect_language, normalize, to_simplified

SEED = hx.seed("test")


def _grams(text: str, sizes: tuple[int, ...]) -> list[str]:
    return [text[i:i + n] for n in sizes for i in range(len(text) - n + 1)
            if not (n == 1 and text[i] == " ")]


@pytest.mark.parametrize("text", ["", "好", "这家酒店 很差", "a b", "差" * 50, "😡好😡"])
def test_char_grams_hash_each_gram_once_and_distinct_grams_apart(text):
    sizes = (1, 2, 3)
    hashes = hx.char_gram_hashes(hx.code_points(text), sizes, SEED)
    grams = _grams(text, sizes)
    assert len(hashes) == len(grams) and hashes.dtype == np.uint64
    by_gram: dict[str, set[int]] = {}
    for gram, h in zip(grams, hashes.tolist(), strict=True):
        by_gram.setdefault(gram, set()).add(h)
    assert all(len(v) == 1 for v in by_gram.values())  # a gram always hashes alike
    assert len({next(iter(v)) for v in by_gram.values()}) == len(by_gram)  # no collisions


def test_char_grams_do_not_depend_on_neighbours_or_seed_reuse():
    one = hx.char_gram_hashes(hx.code_points("很差"), (2,), SEED)
    two = hx.char_gram_hashes(hx.code_points("真的很差"), (2,), SEED)
    assert one[0] == two[2]
    other = hx.char_gram_hashes(hx.code_points("很差"), (2,), hx.seed("other"))
    assert other[0] != one[0]
    four = hx.char_gram_hashes(hx.code_points("非常非常差"), (4,), SEED)
    assert len(four) == 2 and four[0] != four[1]


def test_hashes_are_fixed_numbers():
    """A saved model depends on these exact values: a change here breaks every
    model trained with mix64 hashing (add a new HASHINGS name instead)."""
    assert int(hx.seed("zh")) == 646051075359651455
    got = hx.char_gram_hashes(hx.code_points("好吃"), (1, 2), hx.seed("zh")).tolist()
    assert got == [17321606868810888548, 1235111918378917822, 8761871186883082921]
    assert features("好吃", "zh", 20).tolist() == [30052, 237502, 359081]
    assert features("bad app", "en", 20).tolist()[:4] == [587200, 900340, 242719, 637953]


def test_pair_hashes_and_distinct():
    words = np.array([5, 7, 5, 7], dtype=np.uint64)
    pairs = hx.pair_hashes(words, SEED)
    assert len(pairs) == 3 and pairs[0] == pairs[2] != pairs[1]
    assert len(hx.pair_hashes(words[:1], SEED)) == 0
    rng = np.random.default_rng(1)
    for size in (0, 1, 2, 300):
        values = rng.integers(0, 50, size)
        assert np.array_equal(hx.distinct(values), np.unique(values))


def test_lexicon_names_read_negation_and_emoticons():
    plain = lexicon_names(_en_tokens("good"), "good")
    negated = lexicon_names(_en_tokens("not good"), "not good")
    assert "lp1" in plain and "ln0" in plain
    assert "ln1" in negated and "lp0" in negated  # "not good" counts as a negative hit
    sad = lexicon_names(_en_tokens("flight today :("), "flight today :(")
    assert "ln1" in sad  # the emoticon, matched as written
    assert lexicon_names([], "") == ["lc10", "ln0", "lp0"]


def _en_reference(text: str, mask: int) -> np.ndarray:
    """The English buckets as first defined, token by token: each negation-marked
    token hashed, word bigrams from those hashes, every word's character grams,
    then the vlex names (what monitor.scoring.en_words computes per word)."""
    tokens = _en_tokens.__wrapped__(text)
    words = np.array([zlib.crc32(t.encode(), _SEED["w1"]) for t in tokens], dtype=np.uint64)
    grams = [g for t in tokens if t[0] not in "!?" for g in _char_grams(t.removeprefix("NOT_"))]
    names = [zlib.crc32(n.encode(), _SEED["vl"]) for n in lexicon_names(tokens, text)]
    parts = [words, hx.pair_hashes(words, hx.seed("w2")), np.array(grams, dtype=np.uint64),
             np.array(names, dtype=np.uint64)]
    return np.unique((np.concatenate(parts) & np.uint64(mask)).astype(np.int64))


@pytest.mark.parametrize("text", [
    "", "!!!", "not good at all!!! never again :( <3", "i don't like it, no. not_a thing",
    "won't not can't isn't great?! the staff weren't rude", "great great great :-) :)",
    "délai trop long, pas bon", "flight 2 late " * 40])
def test_english_words_give_the_token_by_token_buckets(text):
    mask = (1 << 18) - 1
    fast = np.unique(_EN.buckets(text, mask, lexicon=True))
    assert np.array_equal(fast, _en_reference(text, mask))
    assert np.array_equal(_unique(text, "en", 18, ("vlex",), "mix64", normalized=True), fast)


def test_vlex_extra_learns_words_training_never_saw():
    texts = [f"{a} {b} phone" for a in ("terrible", "awful", "broken", "useless")
             for b in ("today", "again")] + \
            [f"{a} {b} phone" for a in ("great", "lovely", "excellent", "perfect")
             for b in ("today", "again")]
    labels = [1] * 8 + [0] * 8
    model = train(texts, labels, "en", bits=16, extras=("vlex",))
    assert model.probability("horrible") > 0.5 > model.probability("wonderful")


def test_new_models_use_numpy_hashing_and_old_files_still_load(tmp_path):
    texts, labels = ["好吃 满意", "太差 失望"] * 10, [0, 1] * 10
    model = train(texts, labels, "zh", bits=12)
    assert model.hashing == HASHING == "mix64"
    save(model, tmp_path / "new.npz")
    assert load(tmp_path / "new.npz").hashing == "mix64"
    old = replace(model, hashing="crc32")  # a model saved before hashing.py
    save(old, tmp_path / "old.npz")
    with np.load(tmp_path / "old.npz") as npz:
        meta = json.loads(str(npz["meta"]))
        weights = npz["weights"]
    del meta["hashing"]
    np.savez_compressed(tmp_path / "old.npz", weights=weights, meta=np.array(json.dumps(meta)))
    loaded = load(tmp_path / "old.npz")
    assert loaded.hashing == "crc32"
    assert np.array_equal(_unique("好吃", "zh", 12, (), "crc32"),
                          np.unique(features("好吃", "zh", 12, "crc32")))
    assert not np.array_equal(features("好吃", "zh", 12, "crc32"), features("好吃", "zh", 12))
    with pytest.raises(ValueError, match="hashing"):
        features("好吃", "zh", 12, "md5")


def test_risk_path_skips_normalising_twice_with_the_same_result():
    model = train(["好吃 满意", "太差 失望"] * 10, [0, 1] * 10, "zh", bits=12)
    for text in ("這家外賣太差了！", "ＡＢＣ好吃", "\x00太差\u200b"):
        assert model.probability(normalize(text), normalized=True) == \
            pytest.approx(model.probability(text))


@pytest.mark.parametrize("text", ["什么都没有", "么麼", "乾隆皇帝", "頭髮", "沈先生", "彷彿"])
def test_to_simplified_matches_opencc(text):
    assert to_simplified(text) == _t2s().convert(text)


@pytest.mark.parametrize("text", ["plain text", "tab\there\nline", "\x00\x07ctrl",
                                  "\ud83d lone", "zero\u200bwidth", "ｆｕｌｌ　width"])
def test_clean_fast_path_matches_the_slow_one(text):
    slow = text.encode("utf-8", "replace").decode("utf-8")
    slow = "".join(ch for ch in slow if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    assert clean(text) == slow


@pytest.mark.parametrize(("text", "language"), [
    ("", "en"), ("hello world", "en"), ("很好", "zh"), ("iphone 很好用", "zh"),
    ("the new iphone is great 好", "en"), ("abcd 好", "zh"), ("123 !!! 。", "en"),
    ("café très bien", "en")])
def test_detect_language(text, language):
    assert detect_language(text) == language
