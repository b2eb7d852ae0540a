"""Choosing scorers in config, and the score / model / rescore commands."""

from __future__ import annotations

import csv
import json
import random
import re

import yaml
from sqlmodel import select

from db.models import Alert, Mention
from monitor.config import parse_config
from monitor.scoring.backends import check_scoring, scorer_for
from monitor.scoring.metrics import prior_shift
from tests.conftest import COMPLAINT, crisiswatch, db_engine, session

NEG = ["terrible", "broken", "awful", "refund", "rude", "worst", "useless", "angry"]
POS = ["great", "love", "perfect", "happy", "excellent", "nice", "fast", "recommend"]


def write_labelled(path, n: int = 300, seed: int = 5) -> None:  # noqa: ANN001
    """Synthetic English reviews: clear words decide the label."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "label"])
        for i in range(n):
            negative = i % 2 == 0
            words = rng.sample(NEG if negative else POS, 2) + rng.sample(
                ["the", "phone", "order", "delivery", "app", "today", "was"], 3)
            rng.shuffle(words)
            writer.writerow([i, " ".join(words), "negative" if negative else "positive"])


def test_backends_are_chosen_in_config(tmp_path):
    config = parse_config({"scoring": {"zh": "snownlp", "en": "vader"}}, base=tmp_path, env={})
    assert check_scoring(config) == []
    scorer = scorer_for(config)
    assert scorer.score("Acme support was rude and useless").sentiment < 0.5
    assert scorer.score("艾克美的客服太差了，非常失望").language == "zh"


def test_missing_or_mismatched_models_are_config_errors(tmp_path):
    config = parse_config({"scoring": {"en": "trained", "zh": "nope.npz"}}, base=tmp_path, env={})
    problems = check_scoring(config)
    assert any(p.startswith("scoring.en:") and "model train" in p for p in problems)
    assert any(p.startswith("scoring.zh:") for p in problems)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"scoring": {"en": "trained"}}), encoding="utf-8")
    result = crisiswatch("check-config", str(path))
    assert result.returncode == 2 and "scoring.en" in result.stderr


def test_score_command_explains_itself(tmp_path):
    result = crisiswatch("score", "I will call my lawyer about this Acme phone, it caught fire",
                         cwd=tmp_path)  # no ./crisiswatch.yaml: the built-in settings
    assert result.returncode == 0, result.stderr
    assert "language: en" in result.stdout and "flagged" in result.stdout
    assert "legal threat" in result.stdout and "safety" in result.stdout
    data = json.loads(crisiswatch("score", "视频已经在网上疯传", "--json").stdout)
    assert data["language"] == "zh" and "viral_spread" in data["cues"] and data["flagged"]
    assert data["markup"] is None  # no repost, mention, link or emoticon


def test_score_shows_a_reposts_own_words_apart_from_the_chain(tmp_path):
    post = "太气人了[怒]//@某某新闻:通报来了 http://t.cn/A6x"
    result = crisiswatch("score", post, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "own words: 太气人了[怒] | quoted: 通报来了 | marks: url repost e:怒 @q" \
        in result.stdout, result.stdout
    data = json.loads(crisiswatch("score", post, "--json", cwd=tmp_path).stdout)
    assert data["markup"]["tokens"] == ["url", "repost", "e:怒", "@q"]


def test_train_eval_and_use_a_model(tmp_path):
    data = tmp_path / "labelled.csv"
    write_labelled(data)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data_dir": "state"}), encoding="utf-8")
    trained = crisiswatch("model", "train", "--data", str(data), "--language", "en",
                          "--config", str(config))
    assert trained.returncode == 0, trained.stderr
    assert "held-out 30 rows: AUC 1.000" in trained.stdout
    assert (tmp_path / "state" / "models" / "en.npz").exists()
    assert re.search(r"risk calibrated on the held-out rows: ECE 0\.\d{3} -> 0\.\d{3}",
                     trained.stdout), trained.stdout
    config.write_text(yaml.safe_dump({"data_dir": "state", "scoring": {"en": "trained"}}),
                      encoding="utf-8")
    evaluated = crisiswatch("model", "eval", "--data", str(data), "--config", str(config))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "backend trained" in evaluated.stdout
    assert "sentiment: AUC 1.000" in evaluated.stdout
    assert re.search(r"risk: +AUC [01]\.\d{3}, .*ECE 0\.\d{3} at risk_threshold 0\.5",
                     evaluated.stdout), evaluated.stdout
    scored = json.loads(crisiswatch("score", "terrible awful refund, I will sue", "--json",
                                    "--config", str(config)).stdout)
    assert 0.5 < scored["probability"] <= 1.0
    happy = json.loads(crisiswatch("score", "great staff, happy, love it", "--json",
                                   "--config", str(config)).stdout)
    assert happy["probability"] < 0.5
    plain = json.loads(crisiswatch("score", "terrible", "--json").stdout)
    assert plain["probability"] is None  # the shipped model carries no risk calibration
    assert plain["read"] == "terrible"
    shipped = crisiswatch("model", "eval", "--data", str(data), "--language", "en")
    assert "backend fast" in shipped.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,maybe\n", encoding="utf-8")
    refused = crisiswatch("model", "train", "--data", str(bad), "--language", "en")
    assert refused.returncode == 2 and "maybe" in refused.stderr


def test_rescore_flags_history_once_and_never_repeats_alerts(site, receiver, make_config):
    site.feeds["forum"] = [COMPLAINT]
    config = make_config(["forum"], extra={"detection": {"risk_threshold": 0.99}})
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    engine = db_engine(config.parent)
    with session(engine) as s:
        assert not s.exec(select(Mention)).one().flagged
    assert receiver.received == []
    make_config(["forum"])  # the default threshold again: the complaint now counts
    result = crisiswatch("rescore", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "rescored 1 posts: 0 mentions updated, 0 new, 1 newly flagged" in result.stdout
    assert [a.title[:14] for a in receiver.received] == ["[NOTICE] Acme:"]
    again = crisiswatch("rescore", "--config", str(config))
    assert "rescored 1 posts: 1 mentions updated, 0 new, 0 newly flagged" in again.stdout
    with session(engine) as s:
        assert len(s.exec(select(Mention)).all()) == 1
        assert len(s.exec(select(Alert)).all()) == 1
    assert len(receiver.received) == 1


def test_the_printed_probability_follows_the_configured_complaint_share(tmp_path):
    """The model was trained on half complaints; the same post on a stream where
    one post in twenty is a complaint is less likely one, by Bayes' rule on the odds."""
    data = tmp_path / "labelled.csv"
    write_labelled(data)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data_dir": "state"}), encoding="utf-8")
    assert crisiswatch("model", "train", "--data", str(data), "--language", "en",
                       "--config", str(config)).returncode == 0
    probabilities = {}
    for share in (0.5, 0.05):
        config.write_text(yaml.safe_dump({"data_dir": "state", "scoring": {
            "en": "trained", "complaint_share": share}}), encoding="utf-8")
        out = crisiswatch("score", "terrible awful refund", "--json", "--config", str(config))
        probabilities[share] = json.loads(out.stdout)["probability"]
    assert abs(probabilities[0.05] - prior_shift(probabilities[0.5], 0.5, 0.05)) < 0.03
    assert probabilities[0.05] < probabilities[0.5]
    text = crisiswatch("score", "terrible awful refund", "--config", str(config)).stdout
    assert "if 5% of the posts on your sources are complaints" in text, text
    refused = tmp_path / "bad.yaml"
    refused.write_text(yaml.safe_dump({"scoring": {"complaint_share": 1.5}}), encoding="utf-8")
    result = crisiswatch("check-config", str(refused))
    assert result.returncode == 2 and "complaint_share" in result.stderr


def test_prior_shift_is_bayes_rule_on_the_odds():
    assert abs(prior_shift(0.5, 0.5, 0.1) - 0.1) < 1e-9
    assert abs(prior_shift(0.3, 0.2, 0.2) - 0.3) < 1e-9
    low, high = prior_shift(0.2, 0.5, 0.1), prior_shift(0.8, 0.5, 0.1)
    assert 0 < low < high < 0.8
    for bad in (0.0, 1.0, -0.1):
        try:
            prior_shift(0.5, bad, 0.1)
        except ValueError as exc:
            assert "trained_share" in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")
