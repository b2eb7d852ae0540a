"""``model train`` on several ``--data`` files, each with a weight (issue 16): the
in-domain file can outweigh plentiful reviews; class balance per file; errors."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from monitor.cli.main import app
from monitor.scoring.textmodel import load, train
from monitor.scoring.trainset import DataSpec, parse_data_spec, row_weights

runner = CliRunner()
FILLER = ["the", "phone", "order", "delivery", "app", "today", "was", "my", "store"]


def write_rows(path: Path, rows: list[tuple[str, int]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def posts(word: str, label: int, other: str, n: int = 120, seed: int = 3) -> list:
    """Half the rows carry ``word`` with ``label``, half ``other`` with the other label."""
    rng = random.Random(seed)
    return [(" ".join([word if i % 2 else other, *rng.sample(FILLER, 3)]),
             label if i % 2 else 1 - label) for i in range(n)]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Two files that disagree about "zorb": a complaint in one, praise in the other."""
    monkeypatch.chdir(tmp_path)  # no ./crisiswatch.yaml: the built-in settings
    own = write_rows(tmp_path / "own.csv", posts("zorb", 1, "lovely"))
    reviews = write_rows(tmp_path / "reviews.csv", posts("zorb", 0, "awful", seed=4))
    return own, reviews


def zorb(path: Path) -> float:
    return load(path).probability("zorb store today")


def test_the_weights_decide_which_file_a_disputed_word_follows(files, tmp_path):
    own, reviews = files
    for weights, leans_negative in ((("1", "0.1"), True), (("0.1", "1"), False)):
        out = tmp_path / f"m{weights[0]}.npz"
        result = runner.invoke(app, ["model", "train", "--language", "en", "--out", str(out),
                                     "--data", f"{own}:{weights[0]}",
                                     "--data", f"{reviews}:{weights[1]}"])
        assert result.exit_code == 0, result.output
        assert (zorb(out) > 0.5) is leans_negative, (weights, zorb(out))
        assert "held-out 12 rows of own.csv" in result.stdout
        assert "held-out 12 rows of reviews.csv" in result.stdout
        assert "held-out 24 rows:" in result.stdout
        assert "training a en model on 216 rows" in result.stdout


def test_trained_on_names_each_file_and_its_weight(files, tmp_path):
    own, reviews = files
    out = tmp_path / "m.npz"
    result = runner.invoke(app, ["model", "train", "--language", "en", "--out", str(out),
                                 "--data", str(own), "--data", f"{reviews}:0.25"])
    assert result.exit_code == 0, result.output
    assert load(out).trained_on == "own.csv, reviews.csv:0.25"
    assert 0.5 < zorb(out)  # 4 to 1 for own.csv


@pytest.mark.parametrize("args, expected", [
    (["own.csv:0"], "weight 0 must be a number above 0"),
    (["own.csv:-2"], "weight -2 must be a number above 0"),
    (["own.csv:nan"], "weight nan must be a number above 0"),
    ([":0.5"], "no file before the weight"),
    (["own.csv", "own.csv:2"], "own.csv: given twice"),
    (["own.csv", "gone.csv:0.5"], "--data gone.csv: no such file"),
])
def test_bad_data_values_give_one_line_and_exit_2(files, tmp_path, args, expected):
    argv = ["model", "train", "--language", "en", "--out", str(tmp_path / "m.npz")]
    for value in args:
        argv += ["--data", value]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert not (tmp_path / "m.npz").exists()


def test_parse_data_spec(tmp_path):
    assert parse_data_spec("a.csv") == DataSpec(Path("a.csv"), 1.0)
    assert parse_data_spec("dir/a.csv:0.3") == DataSpec(Path("dir/a.csv"), 0.3)
    assert parse_data_spec("a.csv:notes") == DataSpec(Path("a.csv:notes"), 1.0)  # no number
    odd = tmp_path / "posts:2"
    odd.write_text("text,label\n", encoding="utf-8")
    assert parse_data_spec(str(odd)) == DataSpec(odd, 1.0)  # an existing file wins
    assert str(DataSpec(Path("x/a.csv"), 0.5)) == "a.csv:0.5"
    assert str(DataSpec(Path("x/a.csv"))) == "a.csv"


def test_row_weights_weigh_files_and_balance_each_files_classes():
    sources, labels = [0, 0, 0, 0, 1, 1], [1, 0, 0, 0, 1, 0]
    plain = row_weights(sources, labels, [1.0, 0.5])
    assert np.allclose(plain / plain[0], [1, 1, 1, 1, 0.5, 0.5])
    assert plain.mean() == pytest.approx(1.0)
    balanced = row_weights(sources, labels, [1.0, 0.5], balance=True)
    assert balanced.mean() == pytest.approx(1.0)
    first = balanced[:4]  # file 0: one negative weighs as much as its three others
    assert first[0] == pytest.approx(first[1:].sum())
    # a file keeps its total: 4 rows at 1 against 2 rows at 0.5
    assert balanced[:4].sum() == pytest.approx(4 * balanced[4:].sum())
    with pytest.raises(ValueError, match="3 sources but 2 labels"):
        row_weights([0, 0, 1], [1, 0], [1.0, 1.0])


def test_train_refuses_bad_weights():
    texts, labels = ["bad app", "good app"] * 5, [1, 0] * 5
    with pytest.raises(ValueError, match="10 texts but 3 weights"):
        train(texts, labels, "en", bits=10, weights=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="above 0"):
        train(texts, labels, "en", bits=10, weights=[0.0] + [1.0] * 9)
    same = train(texts, labels, "en", bits=10, weights=[3.0] * 10)  # only ratios count
    assert np.allclose(same.weights, train(texts, labels, "en", bits=10).weights, atol=1e-5)


def test_l2_is_an_option_and_kept_in_the_model(files, tmp_path):
    own, _ = files
    out = tmp_path / "m.npz"
    result = runner.invoke(app, ["model", "train", "--language", "en", "--out", str(out),
                                 "--data", str(own), "--l2", "40", "--balance"])
    assert result.exit_code == 0, result.output
    assert load(out).metrics["l2"] == 40.0 and load(out).metrics["balance"] is True
    refused = runner.invoke(app, ["model", "train", "--language", "en", "--out", str(out),
                                  "--data", str(own), "--l2", "-1"])
    assert refused.exit_code == 2 and "--l2" in refused.output
