"""Social markup read apart from a post's own words (monitor.scoring.social) and the
"social" feature kind of Chinese models (monitor.scoring.textmodel)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from monitor.scoring.social import parts
from monitor.scoring.textmodel import _unique, load, save, train
from monitor.text.normalize import normalize

NEG = ["气死了", "太差了", "失望", "愤怒", "垃圾", "恶心"]
POS = ["好开心", "感谢", "满意", "加油", "温暖", "喜欢"]


def _posts() -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for i in range(60):
        words = NEG if i % 2 == 0 else POS
        texts.append(words[i % 6] + words[(i // 6) % 6] + "今天")
        labels.append(1 if i % 2 == 0 else 0)
    return texts, labels


def test_a_repost_splits_into_own_words_chain_and_tokens() -> None:
    found = parts(normalize("致敬[心]//@Mr_凡先生:大家出门记得戴口罩[泪] http://t.cn/A6abc"))
    assert "致敬" in found.own and "口罩" not in found.own and "凡先生" not in found.own
    assert "口罩" in found.chain and "凡先生" not in found.chain and "t.cn" not in found.chain
    assert set(found.tokens) == {"url", "repost", "e:心", "@q", "eq:泪"}


def test_a_bare_repost_is_read_as_the_authors_words() -> None:
    found = parts(normalize("//@某人:气死了[怒]"))
    assert "气死了" in found.own and found.chain == ""
    assert set(found.tokens) == {"repost", "@", "e:怒"}


def test_a_mention_without_an_end_leaves_the_sentence_alone() -> None:
    # no space or punctuation after the name: it cannot be told from the words after it
    for text in ("@清风安阳这两个部门的领导必须下台", "@清风安阳这两个部门的领导必须下台！"):
        assert parts(text).own == text
    assert parts("@清风安阳 这两个部门").own.strip() == "这两个部门"
    assert parts("＠清风安阳：下台".casefold()).own == "＠清风安阳：下台"  # not normalised yet
    assert parts(normalize("＠清风安阳：下台")).own.strip(" :") == "下台"


def test_social_features_ignore_user_names_and_mark_quoted_words() -> None:
    a = _unique("@快乐小天使 气死了", "zh", 20, kind="social")
    b = _unique("@伤心的人 气死了", "zh", 20, kind="social")
    assert np.array_equal(a, b)
    assert not np.array_equal(_unique("@快乐小天使 气死了", "zh", 20),
                              _unique("@伤心的人 气死了", "zh", 20))  # plain: names count
    said = set(_unique("气死了", "zh", 20, kind="social").tolist())
    quoted = set(_unique("转发//@a:气死了", "zh", 20, kind="social").tolist())
    assert not said <= quoted  # quoting words is not saying them
    emoticon = set(_unique("[怒]", "zh", 20, kind="social").tolist())
    assert set(_unique("怒", "zh", 20, kind="social").tolist()) < emoticon  # 怒 plus e:怒


def test_new_chinese_models_read_social_features_old_files_stay_plain(tmp_path) -> None:
    texts, labels = _posts()
    model = train(texts, labels, "zh", bits=12)
    assert model.features == "social" and train(texts, labels, "en", bits=12).features == "plain"
    assert model.probability("@快乐天使 气死了") == pytest.approx(
        model.probability("@伤心的人 气死了"))
    save(model, tmp_path / "m.npz")
    assert load(tmp_path / "m.npz").features == "social"
    old = replace(model, features="plain")  # a model saved before social.py
    save(old, tmp_path / "old.npz")
    with np.load(tmp_path / "old.npz") as npz:
        meta, weights = json.loads(str(npz["meta"])), npz["weights"]
    del meta["features"]
    np.savez_compressed(tmp_path / "old.npz", weights=weights, meta=np.array(json.dumps(meta)))
    loaded = load(tmp_path / "old.npz")
    assert loaded.features == "plain"
    assert loaded.probability("@快乐天使 气死了") != pytest.approx(
        loaded.probability("@伤心的人 气死了"))
    meta["features"] = "bert"
    np.savez_compressed(tmp_path / "odd.npz", weights=weights, meta=np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match="features"):
        load(tmp_path / "odd.npz")
    with pytest.raises(ValueError, match="features"):
        train(texts, labels, "zh", bits=12, features="bert")


def test_the_shipped_defaults_read_the_whole_post_and_a_rebuild_keeps_it() -> None:
    from pathlib import Path

    from monitor.lab.build_default_model import FEATURES

    models = Path(__file__).resolve().parent.parent / "monitor" / "models"
    for language in ("zh", "en"):
        assert load(models / f"{language}-default.npz").features == "plain"
        assert FEATURES[language] == "plain"
