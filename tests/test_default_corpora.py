"""The shippable training data of the default models and what the shipped models
make of social wording (monitor/lab/default_corpora.py, lexicon/tone.yaml)."""

from __future__ import annotations

import gzip
import io
import marshal
import tarfile
from pathlib import Path

import pytest

from monitor.lab.default_corpora import JIAGU_CAP, jiagu_rows, tone_rows, tone_terms
from monitor.scoring.textmodel import load
from monitor.text.normalize import normalize

MODELS = Path(__file__).resolve().parent.parent / "monitor" / "models"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_tone_lexicon_is_consistent(language: str) -> None:
    terms = tone_terms(language)
    negative, positive = set(terms["negative"]), set(terms["positive"])
    assert len(negative) > 40 and len(positive) > 20
    assert not negative & positive, "a term cannot be both"
    assert len(negative) == len(terms["negative"]) and len(positive) == len(terms["positive"])
    # written as posts are read: NFKC, case-folded, Simplified
    assert [t for t in negative | positive if normalize(t) != t] == []
    texts, labels = tone_rows(language)
    assert len(texts) == len(labels) and set(labels) == {0, 1}


def test_tone_lexicon_without_the_language_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "tone.yaml"
    path.write_text("zh: {negative: [差]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no 'en' section"):
        tone_terms("en", path)


def _fake_jiagu(tmp_path: Path, negative: dict, positive: dict) -> Path:
    model = {"total": 0, "d": {"negative": {"d": negative, "total": 0, "none": 1},
                               "positive": {"d": positive, "total": 0, "none": 1}}}
    payload = gzip.compress(marshal.dumps(model))
    path = tmp_path / "jiagu-0.2.3.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("jiagu-0.2.3/jiagu/sentiment/model/sentiment.model")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return path


def test_jiagu_words_repeat_by_the_square_root_of_their_count(tmp_path: Path) -> None:
    path = _fake_jiagu(tmp_path, {"无聊": 10, "讨厌": 1, "死": 10**6}, {"开心": 5})
    texts, labels = jiagu_rows(path)
    assert texts.count("无聊") == 3 and texts.count("开心") == 2
    assert "讨厌" not in texts  # seen once: no evidence
    assert texts.count("死") == JIAGU_CAP
    assert {t: y for t, y in zip(texts, labels, strict=True)} == {"无聊": 1, "死": 1, "开心": 0}


def test_an_archive_without_the_counts_names_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "empty.tar.gz"
    with tarfile.open(path, "w:gz"):
        pass
    with pytest.raises(SystemExit, match="sentiment.model"):
        jiagu_rows(path)


def test_shipped_zh_default_reads_weibo_wording() -> None:
    model = load(MODELS / "zh-default.npz")
    assert "jiagu" in model.trained_on and "tone.yaml" in model.trained_on
    assert model.probability("[怒][怒] 出了事就甩锅，踢皮球，太恶心了") > 0.7
    assert model.probability("我们一起加油，向一线的医护人员致敬[心][赞]") < 0.3
    assert model.probability("心疼，看哭了[泪]") > 0.5


def test_shipped_en_default_reads_brand_tweet_wording() -> None:
    model = load(MODELS / "en-default.npz")
    assert "tone.yaml" in model.trained_on
    assert model.probability("my phone battery died again at the conference #fail") > 0.5
    assert model.probability("the new maps app is buggy and laggy") > 0.5
    assert model.probability("Love the new app, thanks for the demo!") < 0.3
