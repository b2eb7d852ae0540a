"""Safe model files and inputs for ``score`` and ``model train|eval`` (issue 16):
atomic saves, ``--out`` checked before training, one-line errors for bad inputs,
text from a file or standard input, speed and progress lines."""

from __future__ import annotations

import csv
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli.main import app
from monitor.cli.model import _progress
from monitor.scoring.textmodel import load, read_labelled_csv, save, train
from tests.conftest import crisiswatch
from tests.test_scoring_cli import write_labelled

runner = CliRunner()


def cli(*args: str, stdin: bytes | None = None):  # noqa: ANN201
    """The real command line in this process (so a test can break a disk write)."""
    return runner.invoke(app, list(args), input=stdin)


def refused(result, *expected: str) -> None:  # noqa: ANN001
    """Exit 2 with one ``error:`` line naming the problem; no traceback, no crash."""
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in result.output


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


def test_train_that_cannot_save_fails_and_keeps_the_old_model(labelled, tmp_path, monkeypatch):
    out = tmp_path / "mine.npz"
    assert cli("model", "train", "--data", str(labelled), "--language", "en",
               "--out", str(out)).exit_code == 0
    before = out.read_bytes()

    def full_disk(fh, **arrays) -> None:  # noqa: ANN001, ANN003
        fh.write(b"PK\x03\x04 half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full_disk)
    result = cli("model", "train", "--data", str(labelled), "--language", "en",
                 "--out", str(out))
    assert result.exit_code == 1, result.output
    assert f"error: cannot save {out} (No space left on device)" in result.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labelled.csv", "mine.npz"]


# ---------------------------------------------------------------- --out, before training


def test_out_is_checked_before_training(labelled, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    for out, expected in [(folder, "is a directory"),
                          (labelled, "exists and is not a model file"),
                          (labelled / "en.npz", f"{labelled} is a file, not a folder")]:
        result = cli("model", "train", "--data", str(labelled), "--language", "en",
                     "--out", str(out))
        refused(result, f"--out {out}", expected)
        assert "training" not in result.stdout
    assert labelled.read_text(encoding="utf-8").startswith("id,text,label")
    deep = tmp_path / "new" / "folder" / "en.npz"  # missing folders are made
    assert cli("model", "train", "--data", str(labelled), "--language", "en",
               "--out", str(deep)).exit_code == 0
    assert load(deep).language == "en"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
def test_out_in_a_read_only_folder_is_refused_before_training(labelled, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    result = cli("model", "train", "--data", str(labelled), "--language", "en",
                 "--out", str(locked / "en.npz"))
    refused(result, f"cannot write in {locked}")


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


def test_bad_inputs_give_one_line_and_exit_2(labelled, tmp_path):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("text,label\ncafé affreux,1\n".encode("latin-1"))
    config_dir = tmp_path / "conf.d"
    config_dir.mkdir()
    for args, expected in [
        (["--data", str(tmp_path)], f"--data {tmp_path}: is a directory, not a file"),
        (["--data", str(tmp_path / "nope.csv")], "nope.csv: no such file"),
        (["--data", str(latin)], "latin1.csv: not UTF-8 (byte 14)"),
        (["--data", str(labelled), "--config", str(tmp_path / "nope.yaml")],
         "--config " + str(tmp_path / "nope.yaml") + ": no such file"),
        (["--data", str(labelled), "--config", str(config_dir)], "is a directory"),
    ]:
        refused(cli("model", "train", "--language", "en", *args), expected)
        refused(cli("model", "eval", *args), expected)
    assert not (tmp_path / "models").exists()  # nothing was trained


def test_the_real_command_line_prints_no_traceback(tmp_path):
    for args in (["model", "train", "--language", "en", "--data", str(tmp_path)],
                 ["model", "eval", "--data", str(tmp_path / "nope.csv")],
                 ["score", "--file", str(tmp_path)],
                 ["score", "hello", "--config", str(tmp_path / "nope.yaml")]):
        result = crisiswatch(*args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
        assert "Traceback" not in result.stderr + result.stdout


# ---------------------------------------------------------------- the config names the model


def test_train_when_the_config_already_names_the_model(labelled, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data_dir": "state", "scoring": {"en": "trained"}}),
                      encoding="utf-8")
    model = tmp_path / "state" / "models" / "en.npz"
    not_yet = cli("score", "hello", "--config", str(config))
    assert not_yet.exit_code == 2 and "scoring.en" in not_yet.stderr  # scoring needs it
    first = cli("model", "train", "--data", str(labelled), "--language", "en",
                "--config", str(config))
    assert first.exit_code == 0, first.output
    assert load(model).trained_on == "labelled.csv"
    again = tmp_path / "again.csv"
    again.write_bytes(labelled.read_bytes())
    second = cli("model", "train", "--data", str(again), "--language", "en",
                 "--config", str(config))
    assert second.exit_code == 0, second.output
    assert load(model).trained_on == "again.csv"
    evaluated = cli("model", "eval", "--data", str(labelled), "--config", str(config))
    assert evaluated.exit_code == 0 and "backend trained" in evaluated.stdout


# ---------------------------------------------------------------- score: argument, stdin, file


def test_score_reads_an_argument_standard_input_or_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    post = "I will call my lawyer, the Acme phone caught fire\n"
    argument = json.loads(cli("score", post, "--json").stdout)
    piped = cli("score", "-", "--json", stdin=post.encode())
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout) == argument and argument["flagged"]
    saved = tmp_path / "post.txt"
    saved.write_bytes(b"\xef\xbb\xbf" + "视频已经在网上疯传\n第二行也是同一个帖子".encode())
    from_file = json.loads(cli("score", "--file", str(saved), "--json").stdout)
    assert from_file["language"] == "zh" and "viral_spread" in from_file["cues"]
    five_mb = cli("score", "-", stdin=("the phone caught fire " * 250_000).encode())
    assert five_mb.exit_code == 0 and "safety" in five_mb.stdout


def test_score_input_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n", encoding="utf-8")
    refused(cli("score"), "give the text to score, - to read it from standard input")
    refused(cli("score", "hi", "--file", str(empty)), "not both")
    refused(cli("score", "--file", str(empty)), f"{empty} is empty")
    refused(cli("score", "-", stdin=b""), "standard input is empty")
    refused(cli("score", "-", stdin=b"caf\xe9"), "standard input is not UTF-8 (byte 3)")
    refused(cli("score", "--file", str(tmp_path / "nope.txt")), "nope.txt: no such file")
    refused(cli("score", "--file", str(tmp_path)), "is a directory")


# ---------------------------------------------------------------- speed and progress


def test_eval_prints_speed_and_train_prints_its_phases(labelled):
    trained = cli("model", "train", "--data", str(labelled), "--language", "en")
    assert trained.exit_code == 0, trained.output
    assert re.search(r"training a en model on 270 rows \(\d+ negative\)\.\.\.\n"
                     r"  training took \d+\.\d s\n", trained.stdout), trained.stdout
    evaluated = cli("model", "eval", "--data", str(labelled))
    assert evaluated.exit_code == 0, evaluated.output
    speeds = re.findall(r"; ([\d,]+) posts/s", evaluated.stdout)
    assert len(speeds) == 2 and all(int(s.replace(",", "")) > 0 for s in speeds)
    assert "posts per CPU-second" in evaluated.stdout


def test_progress_says_a_long_step_is_still_running(capsys):
    with _progress("fitting 10 rows", "fitting", every=0.05):
        time.sleep(0.18)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "fitting 10 rows..."
    assert "  fitting: 0 s so far" in out[1:-1]
    assert re.fullmatch(r"  fitting took 0\.\d s", out[-1])
