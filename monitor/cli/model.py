"""``crisiswatch score`` and ``model train|eval``: one text scored as the daemon
would, and sentiment models trained and measured on labelled CSV files."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.common import ConfigOpt, Lang, config_or_default, fail
from monitor.config import DEFAULT_CONFIG
from monitor.text.normalize import detect_language


def score(text: Annotated[str, typer.Argument(help="The text to score (quote it).")],
          config: ConfigOpt = Path(DEFAULT_CONFIG),
          as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """Score one text as the daemon would: language, sentiment, risk, reasons."""
    from monitor.scoring.backends import scorer_for  # models (numpy, snownlp) load on use

    cfg = config_or_default(config)
    result = scorer_for(cfg).score(text)
    flagged = result.risk >= cfg.detection.risk_threshold
    if as_json:
        typer.echo(json.dumps({"language": result.language, "sentiment": result.sentiment,
                                   "risk": result.risk, "flagged": flagged,
                                   "probability": result.probability,
                                   "cues": list(result.cues), "reasons": list(result.reasons)},
                                  ensure_ascii=False))
        return
    backend = getattr(cfg.scoring, result.language)
    typer.echo(f"language: {result.language} (sentiment by {backend})")
    typer.echo(f"sentiment: {result.sentiment:.2f} (probability positive)")
    typer.echo(f"risk: {result.risk:.2f} ({'flagged' if flagged else 'not flagged'} at "
               f"{cfg.detection.risk_threshold:g})")
    if result.probability is not None:
        typer.echo(f"probability of a complaint: {result.probability:.2f} (calibrated on the "
                   "model's labelled data)")
    for reason in result.reasons or ("no crisis cues, tone not negative",):
        typer.echo(f"  - {reason}")


model_app = typer.Typer(help="Train and evaluate sentiment models on labelled CSV files.",
                        no_args_is_help=True)


DataOpt = Annotated[Path, typer.Option("--data", help="UTF-8 CSV with text and label columns "
                                       "(label 1/negative/complaint or 0/positive/neutral).")]


def _labelled(path: Path) -> tuple[list[str], list[int]]:
    from monitor.scoring.textmodel import read_labelled_csv  # numpy loads on use

    try:
        texts, labels = read_labelled_csv(path)
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: {exc}") from None
    if len(set(labels)) < 2:
        raise fail(f"{path}: needs both negative (1) and other (0) rows")
    return texts, labels


@model_app.command("train")
def model_train(data: DataOpt, language: Annotated[Lang, typer.Option(help="zh or en.")],
                config: ConfigOpt = Path(DEFAULT_CONFIG),
                out: Annotated[Path | None, typer.Option(help="Where to save (default: "
                                                         "<data_dir>/models/LANG.npz).")] = None
                ) -> None:
    """Fit a model on 90% of the file, report it on the other 10%, save it."""
    # the scoring modules (numpy, scipy) load only for the commands that score
    from monitor.scoring.backends import trained_model_path
    from monitor.scoring.metrics import split
    from monitor.scoring.textmodel import evaluate, save, train

    cfg = config_or_default(config)
    texts, labels = _labelled(data)
    train_idx, test_idx = split(len(texts), test_fraction=0.1)
    typer.echo(f"training a {language.value} model on {len(train_idx)} rows "
               f"({sum(labels[i] for i in train_idx)} negative)...")
    model = train([texts[i] for i in train_idx], [labels[i] for i in train_idx], language.value)
    held_texts, held_labels = [texts[i] for i in test_idx], [labels[i] for i in test_idx]
    held = evaluate(model, held_texts, held_labels)
    model = replace(model, metrics={"held_out": asdict(held)}, trained_on=data.name,
                    risk_calibration=_risk_calibration(model, held_texts, held_labels))
    target = out or trained_model_path(Path(cfg.data_dir), language.value)
    target.parent.mkdir(parents=True, exist_ok=True)
    save(model, target)
    typer.echo(f"held-out {len(test_idx)} rows: {_metrics_line(held)} at threshold "
               f"{model.threshold:.2f}")
    typer.echo(f"saved {target}; use it with `scoring: {{{language.value}: trained}}`"
               if out is None else f"saved {target}")


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
def model_eval(data: DataOpt, config: ConfigOpt = Path(DEFAULT_CONFIG),
               language: Annotated[Lang | None, typer.Option(help="Evaluate the configured "
                                                            "backend for this language.")] = None
               ) -> None:
    """AUC, precision, recall, F1 and calibration on a labelled file: of the configured
    sentiment backend at 0.5, and of the whole risk score at detection.risk_threshold."""
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
    negative = [1.0 - sentiment(t) for t in texts]
    m = auc_and_f1(negative, labels, threshold=0.5)
    typer.echo(f"{len(texts)} rows, language {language.value}, backend {backend}")
    typer.echo(f"  sentiment: {_metrics_line(m)} at 0.5")
    scorer, threshold = scorer_for(cfg), cfg.detection.risk_threshold
    m = auc_and_f1([scorer.score(t).risk for t in texts], labels, threshold=threshold)
    typer.echo(f"  risk:      {_metrics_line(m)} at risk_threshold {threshold:g}")


def _metrics_line(m) -> str:  # noqa: ANN001
    return (f"AUC {m.auc:.3f}, precision {m.precision:.3f}, recall {m.recall:.3f}, "
            f"F1 {m.f1:.3f}, Brier {m.brier:.3f}, ECE {m.ece:.3f}")
