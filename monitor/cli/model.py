"""``crisiswatch score`` and ``model train|eval``: one text scored as the daemon
would, and sentiment models trained and measured on labelled CSV files."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.common import EXIT_FAILED, Lang, OptionalConfigOpt, config_or_default, fail
from monitor.scoring.files import check_model_target, read_utf8
from monitor.text.normalize import detect_language, normalize

if TYPE_CHECKING:  # numpy loads only for the commands that score
    import numpy as np

    from monitor.scoring.trainset import DataSpec


def score(text: Annotated[str | None, typer.Argument(
              help="The text to score (quote it), or - to read it from standard input.",
              show_default=False)] = None,
          file: Annotated[Path | None, typer.Option(
              "--file", "-f", help="Score this UTF-8 file's whole content as one post.")] = None,
          config: OptionalConfigOpt = None,
          as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """Score one post as the daemon would: language, sentiment, risk, reasons. The
    post is the TEXT argument, standard input (TEXT is -) or a whole file (--file)."""
    from monitor.scoring.backends import scorer_for  # models (numpy, snownlp) load on use

    text = _post(text, file)
    cfg = config_or_default(config)
    result = scorer_for(cfg).score(text)
    flagged = result.risk >= cfg.detection.risk_threshold
    read = _as_read(text)
    markup = _markup(text) if result.language == "zh" else None
    if as_json:
        typer.echo(json.dumps({"language": result.language, "read": read, "markup": markup,
                               "sentiment": result.sentiment,
                                   "risk": result.risk, "flagged": flagged,
                                   "probability": result.probability,
                                   "cues": list(result.cues), "reasons": list(result.reasons)},
                                  ensure_ascii=False))
        return
    backend = getattr(cfg.scoring, result.language)
    typer.echo(f"language: {result.language} (sentiment by {backend})")
    typer.echo(f"read as: {read}")
    if markup:
        typer.echo(f"  own words: {markup['own']} | quoted: {markup['chain'] or '-'} | marks: "
                   f"{' '.join(markup['tokens'])} (a model trained by this version reads "
                   "these apart; the shipped default reads the whole post)")
    typer.echo(f"sentiment: {result.sentiment:.2f} (probability positive)")
    typer.echo(f"risk: {result.risk:.2f} ({'flagged' if flagged else 'not flagged'} at "
               f"{cfg.detection.risk_threshold:g})")
    if result.probability is not None:
        typer.echo(f"probability of a complaint: {result.probability:.2f} (if "
                   f"{cfg.scoring.complaint_share:.0%} of the posts on your sources are "
                   "complaints: scoring.complaint_share)")
    for reason in result.reasons or ("no crisis cues, tone not negative",):
        typer.echo(f"  - {reason}")


def _as_read(text: str, limit: int = 300) -> str:
    """The post as the models and cues see it (NFKC, case-folded, Simplified), cut
    for the terminal: a Traditional or full-width post shows what it matched as."""
    from monitor.scoring.risk import SCORING_CHARS

    read = " ".join(normalize(text[:SCORING_CHARS]).split())
    return read if len(read) <= limit else read[:limit] + "…"


def _markup(text: str) -> dict[str, object] | None:
    """A Chinese post's own words, quoted repost chain and markup tokens as a
    trained model reads them (``monitor.scoring.social``); None without markup."""
    from monitor.scoring.risk import SCORING_CHARS
    from monitor.scoring.social import parts

    found = parts(normalize(text[:SCORING_CHARS]))
    if not found.tokens:
        return None
    def shown(part: str) -> str:  # a removed name leaves its colon behind
        return " ".join(part.split()).strip(" :：")

    return {"own": shown(found.own), "chain": shown(found.chain),
            "tokens": list(dict.fromkeys(found.tokens))}


def _post(text: str | None, file: Path | None) -> str:
    """The one post to score: the argument, all of standard input, or a whole file."""
    if (text is None) == (file is None):
        raise fail("give the text to score, - to read it from standard input, or --file PATH"
                   if text is None else "give the text or --file PATH, not both")
    if file is not None:
        source = str(file)
        try:
            text = read_utf8(file)
        except ValueError as exc:
            raise fail(f"--file {file}: {exc}") from None
    elif text == "-":
        source = "standard input"
        try:
            text = typer.get_binary_stream("stdin").read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise fail(f"standard input is not UTF-8 (byte {exc.start})") from None
    else:
        return text
    if not text.strip():
        raise fail(f"{source} is empty: nothing to score")
    return text


model_app = typer.Typer(help="Train and evaluate sentiment models on labelled CSV files.",
                        no_args_is_help=True)


DataOpt = Annotated[Path, typer.Option("--data", help="UTF-8 CSV with text and label columns "
                                       "(label 1/negative/complaint or 0/positive/neutral).")]


def _labelled(path: Path) -> tuple[list[str], list[int]]:
    from monitor.scoring.textmodel import read_labelled_csv  # numpy loads on use

    try:
        texts, labels = read_labelled_csv(path)
    except ValueError as exc:
        raise fail(f"--data {path}: {exc}") from None
    if len(set(labels)) < 2:
        raise fail(f"--data {path}: needs both negative (1) and other (0) rows")
    return texts, labels


TrainDataOpt = Annotated[list[str], typer.Option(
    "--data", metavar="PATH[:WEIGHT]",
    help="UTF-8 CSV with text and label columns (label 1/negative/complaint or "
    "0/positive/neutral). Repeat for several files; PATH:0.3 makes each row of that "
    "file count 0.3 (default 1), e.g. your own posts at 1 and reviews at 0.1.")]


@model_app.command("train")
def model_train(data: TrainDataOpt, language: Annotated[Lang, typer.Option(help="zh or en.")],
                config: OptionalConfigOpt = None,
                out: Annotated[Path | None, typer.Option(help="Where to save (default: "
                                                         "<data_dir>/models/LANG.npz); "
                                                         "checked before training.")] = None,
                balance: Annotated[bool, typer.Option(
                    "--balance/--no-balance",
                    help="Weigh each file's negatives and others equally in total, so a "
                    "file's share of complaints is not learnt as a lean of its words.")
                                   ] = False,
                l2: Annotated[float | None, typer.Option(
                    min=0.0, help="L2 regularisation strength (default: zh 3, en 10; "
                    "more for fewer or noisier rows).", show_default=False)] = None,
                ) -> None:
    """Fit a model on 90% of each file, report it on the other 10%, save it (an old
    model at that path stays whole until the new one is written)."""
    # the scoring modules (numpy, scipy) load only for the commands that score
    from monitor.scoring.backends import trained_model_path
    from monitor.scoring.textmodel import evaluate, save, train

    specs = _data_specs(data)
    cfg = config_or_default(config, scorers=False)  # it may name the model made here
    target = out or trained_model_path(Path(cfg.data_dir), language.value)
    try:
        check_model_target(target)
    except ValueError as exc:
        raise fail(f"{'--out ' if out else ''}{target}: {exc}") from None
    fit, held = _train_and_held_out(specs, balance)
    with _progress(f"training a {language.value} model on {len(fit.texts)} rows "
                   f"({sum(fit.labels)} negative)", "training"):
        model = train(fit.texts, fit.labels, language.value, weights=fit.weights, l2=l2)
    result = evaluate(model, held.texts, held.labels)
    # the share the risk calibration (fitted on held-out rows: the files' own mix,
    # whatever the weights) corresponds to, for re-reading it at complaint_share
    share = sum(fit.labels) / len(fit.labels)
    model = replace(model, metrics={**model.metrics, "held_out": asdict(result),
                                    "train_negative_share": share, "balance": balance},
                    trained_on=", ".join(str(s) for s in specs),
                    risk_calibration=_risk_calibration(model, held.texts, held.labels))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        save(model, target)
    except OSError as exc:
        raise fail(f"cannot save {target} ({exc.strerror or exc}); an old model there is "
                   "unchanged", code=EXIT_FAILED) from None
    if len(specs) > 1:
        _per_file_lines(model, specs, held)
    typer.echo(f"held-out {len(held.texts)} rows: {_metrics_line(result)} at threshold "
               f"{model.threshold:.2f}")
    typer.echo(f"saved {target}; use it with `scoring: {{{language.value}: trained}}`"
               if out is None else f"saved {target}")


def _data_specs(values: list[str]) -> list[DataSpec]:
    """The ``--data`` values as files and weights; one file given twice is an error
    (it would silently count double: give it a weight instead)."""
    from monitor.scoring.trainset import parse_data_spec

    try:
        specs = [parse_data_spec(v) for v in values]
    except ValueError as exc:
        raise fail(str(exc)) from None
    seen: set[Path] = set()
    for spec in specs:
        key = spec.path.resolve()
        if key in seen:
            raise fail(f"--data {spec.path}: given twice; give it once with a weight "
                       "(PATH:2) to count it more")
        seen.add(key)
    return specs


@dataclass
class _Rows:
    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)  # index of the --data file
    weights: np.ndarray | None = None


def _train_and_held_out(specs: list[DataSpec], balance: bool) -> tuple[_Rows, _Rows]:
    """90% of every file to fit (with its rows' weights), 10% of every file held out:
    each file is split the same way as if it were trained alone."""
    from monitor.scoring.metrics import split
    from monitor.scoring.trainset import row_weights

    fit, held = _Rows(), _Rows()
    for k, spec in enumerate(specs):
        texts, labels = _labelled(spec.path)
        train_idx, test_idx = split(len(texts), test_fraction=0.1)
        for rows, idx in ((fit, train_idx), (held, test_idx)):
            rows.texts += [texts[i] for i in idx]
            rows.labels += [labels[i] for i in idx]
            rows.sources += [k] * len(idx)
    fit.weights = row_weights(fit.sources, fit.labels, [s.weight for s in specs], balance)
    return fit, held


def _per_file_lines(model, specs: list[DataSpec], held: _Rows) -> None:  # noqa: ANN001
    """Held-out AUC of each file: the one number that says whether the weights serve
    the text you care about."""
    from monitor.scoring.metrics import auc

    for k, spec in enumerate(specs):
        rows = [i for i, s in enumerate(held.sources) if s == k]
        labels = [held.labels[i] for i in rows]
        scored = model.probabilities([held.texts[i] for i in rows])
        value = f"AUC {auc(scored, labels):.3f}" if len(set(labels)) == 2 else "one label only"
        typer.echo(f"  held-out {len(rows)} rows of {spec}: {value}")


@contextmanager
def _progress(start: str, step: str, every: float = 5.0) -> Iterator[None]:
    """Say what a long step does, that it still does every ``every`` seconds, and how
    long it took (wall time: what the user waits for)."""
    typer.echo(f"{start}...")
    began, done = time.monotonic(), threading.Event()

    def tick() -> None:
        while not done.wait(every):
            typer.echo(f"  {step}: {time.monotonic() - began:.0f} s so far")

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
    typer.echo(f"  {step} took {time.monotonic() - began:.1f} s")


def _risk_calibration(model, texts: list[str], labels: list[int]):  # noqa: ANN001, ANN202
    """Platt-fit the whole risk (tone, cues, intensity) on the held-out rows, so
    `score` can say how likely a complaint is; printed with its ECE before/after."""
    # the scoring modules (numpy, scipy) load only for the commands that score
    from monitor.scoring.metrics import auc_and_f1, calibrated, fit_platt
    from monitor.scoring.risk import LexiconScorer

    if len(set(labels)) < 2:
        typer.echo("risk calibration skipped: the held-out rows have one label only")
        return None
    scorer = LexiconScorer(sentiment=lambda text, _language: 1.0 - model.probability(text))
    risks = [scorer.score(t).risk for t in texts]
    fit = fit_platt(risks, labels)
    before = auc_and_f1(risks, labels, 0.5).ece
    after = auc_and_f1([calibrated(r, fit) for r in risks], labels, 0.5).ece
    typer.echo(f"risk calibrated on the held-out rows: ECE {before:.3f} -> {after:.3f} "
               "(fitted and measured on the same rows)")
    return fit


@model_app.command("eval")
def model_eval(data: DataOpt, config: OptionalConfigOpt = None,
               language: Annotated[Lang | None, typer.Option(help="Evaluate the configured "
                                                            "backend for this language.")] = None
               ) -> None:
    """AUC, precision, recall, F1, calibration and speed on a labelled file: of the
    configured sentiment backend at 0.5, and of the whole risk score at
    detection.risk_threshold. Speed is posts per CPU-second of this process."""
    # the scoring modules (numpy, scipy, snownlp) load only for the commands that score
    from monitor.scoring.backends import resolve_backend, scorer_for
    from monitor.scoring.metrics import auc_and_f1

    cfg = config_or_default(config)
    texts, labels = _labelled(data)
    if language is None:
        votes = [detect_language(t) for t in texts[:200]]
        language = Lang(max(set(votes), key=votes.count))
    backend = getattr(cfg.scoring, language.value)
    sentiment = resolve_backend(backend, language.value, Path(cfg.data_dir))
    negative, speed = _timed(lambda t: 1.0 - sentiment(t), texts)
    m = auc_and_f1(negative, labels, threshold=0.5)
    typer.echo(f"{len(texts)} rows, language {language.value}, backend {backend}")
    typer.echo(f"  sentiment: {_metrics_line(m)} at 0.5; {speed:,.0f} posts/s")
    scorer, threshold = scorer_for(cfg), cfg.detection.risk_threshold
    risks, speed = _timed(lambda t: scorer.score(t).risk, texts)
    m = auc_and_f1(risks, labels, threshold=threshold)
    typer.echo(f"  risk:      {_metrics_line(m)} at risk_threshold {threshold:g}; "
               f"{speed:,.0f} posts/s")
    typer.echo("  (speed: posts per CPU-second of this process)")


def _timed(score, texts: list[str]) -> tuple[list[float], float]:  # noqa: ANN001
    """Scores and posts per CPU-second (time.process_time: other work on the machine
    does not count); one post first, so lazily loaded models are not timed."""
    score(texts[0])
    began = time.process_time()
    scores = [score(t) for t in texts]
    return scores, len(texts) / max(time.process_time() - began, 1e-9)


def _metrics_line(m) -> str:  # noqa: ANN001
    return (f"AUC {m.auc:.3f}, precision {m.precision:.3f}, recall {m.recall:.3f}, "
            f"F1 {m.f1:.3f}, Brier {m.brier:.3f}, ECE {m.ece:.3f}")
