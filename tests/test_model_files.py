"""Safe model files and inputs for ``score`` and ``model train|eval`` (issue 16):
atomic saves and CSV cells of any length."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from monitor.cli.main import app
from monitor.scoring.textmodel import load, read_labelled_csv, save, train
from tests.test_scoring_cli import write_labelled

runner = CliRunner()


def cli(*args: str, stdin: bytes | None = None):  # noqa: ANN201
    """The real command line in this process (so a test can break a disk write)."""
    return runner.invoke(app, list(args), input=stdin)


@pytest.fixture
def labelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no ./crisiswatch.yaml: the built-in settings
    path = tmp_path / "labelled.csv"
    write_labelled(path)
    return path


def small_model(words: tuple[str, str]):  # noqa: ANN201
    return train([f"{words[0]} app", f"{words[1]} app"] * 20, [1, 0] * 20, "en", bits=10)


# ---------------------------------------------------------------- atomic save


@pytest.mark.parametrize("interruption", [OSError(28, "No space left on device"),
                                          KeyboardInterrupt()])
def test_a_failed_save_keeps_the_old_model_and_leaves_no_temp_file(tmp_path, monkeypatch,
                                                                  interruption):
    path = tmp_path / "en.npz"
    save(small_model(("awful", "great")), path)
    before = path.read_bytes()
    real = np.savez_compressed

    def half_then_fail(fh, **arrays) -> None:  # noqa: ANN001, ANN003
        real(fh, **arrays)
        fh.truncate(100)  # a disk that filled up mid-way
        raise interruption

    monkeypatch.setattr(np, "savez_compressed", half_then_fail)
    with pytest.raises(type(interruption)):
        save(small_model(("rude", "nice")), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["en.npz"]
    monkeypatch.setattr(np, "savez_compressed", real)
    save(small_model(("rude", "nice")), path)
    assert path.read_bytes() != before and load(path).probability("rude app") > 0.5
    assert [p.name for p in tmp_path.iterdir()] == ["en.npz"]


# ---------------------------------------------------------------- inputs


def test_a_cell_over_the_csv_field_limit_and_a_5_mb_line_are_read(labelled, tmp_path):
    assert csv.field_size_limit() == 131072
    big = tmp_path / "big.csv"
    with big.open("w", newline="", encoding="utf-8") as fh:
        fh.write(labelled.read_text(encoding="utf-8"))
        csv.writer(fh).writerows([[900, "awful " * 30_000, 1],            # 180,000 chars
                                  [901, "terrible refund " * 330_000, 1]])  # a 5 MB line
    texts, labels = read_labelled_csv(big)
    assert len(texts[-1]) > 5_000_000 and labels[-2:] == [1, 1]
    assert csv.field_size_limit() == 131072  # the process-wide limit is put back
    result = cli("model", "train", "--data", str(big), "--language", "en")
    assert result.exit_code == 0, result.output
    assert "training a en model on 272 rows" in result.stdout  # 302 rows, 30 held out
