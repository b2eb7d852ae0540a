"""Brand matching cost as the number of watched brands grows (issue 20).

Real posts (the sxsw2011 and airline tweets, the osm2022 and smp2020 Weibo posts,
read in place from ``../shared/data``) are matched against 10, 100 and 1,000 brands:
the real ones of the benchmark streams (Apple, iPhone, 艾克美, ...) plus brands named
after common words of other languages' posts (so some match, as real watch lists
do) and made-up names. Each brand has three keywords and one exclude.

Both matchers run in the same process on the same posts: the baseline is one
regular expression scan per brand (``match_brands`` over a list, the code before
issue 20); ours is ``BrandIndex`` (one Aho-Corasick scan, then the matched brands'
own expressions). The two must return the same brands for every post, or the run
fails. Run: ``python -m bench.matching``; writes ``bench/results/matching.md``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.machine import cpu_name
from bench.realtext import _airline, _osm, _smp, _sxsw
from monitor.text.matching import BrandIndex, BrandRule, match_brands
from monitor.text.normalize import normalize

OUT = Path(__file__).resolve().parent / "results" / "matching.md"
REAL = [("Apple", ["Apple", "iPhone", "iPad"], ["apple pie"]),
        ("艾克美", ["艾克美", "acme", "艾克美手机"], ["艾克美术"]),
        ("Google", ["Google", "Android", "Gmail"], ["google it"]),
        ("United", ["@united", "United Airlines", "united flight"], ["united states"])]
TARGET_US = 50.0  # the target at 1,000 brands


def posts(limit: int) -> list[str]:
    """Real posts, both languages, normalised once (as the score stage does)."""
    rows = [t for t, _ in _sxsw() + _airline() + _osm() + _smp()]
    random.Random(1).shuffle(rows)
    return [normalize(t) for t in rows[:limit]]


def brands(n: int, texts: list[str]) -> list[BrandRule]:
    """``n`` brands: the real ones, then common words of the posts, then made-up names."""
    words = Counter(w for t in texts[:2000] for w in t.split() if w.isalpha() and len(w) > 4)
    common = [w for w, _ in words.most_common(300)]
    rng = random.Random(n)
    specs = list(REAL)
    for i in range(n - len(REAL)):
        base = common[i] if i < len(common) // 3 else f"brand{i}x{rng.randrange(10**6)}"
        specs.append((base, [base, f"{base} store", f"{base}官方"], [f"not {base}"]))
    return [BrandRule.build(i, name, kw, ex) for i, (name, kw, ex) in enumerate(specs[:n])]


def per_post_us(match, texts: list[str]) -> tuple[float, list]:  # noqa: ANN001
    """Mean microseconds a post, and the answers."""
    start = time.process_time()
    found = [tuple(r.brand_id for r in match(t)) for t in texts]
    return (time.process_time() - start) / len(texts) * 1e6, found


def run(counts: list[int], limit: int) -> list[str]:
    texts = posts(limit)
    lines = ["# Brand matching as brands grow", "",
             f"`python -m bench.matching` on {cpu_name()}, {datetime.now(UTC):%Y-%m-%d}: "
             f"{len(texts):,} real posts (en and zh), CPU time per post.", "",
             "| brands | regex per brand (baseline) | BrandIndex | speed-up | posts matched |",
             "|---:|---:|---:|---:|---:|"]
    for n in counts:
        rules = brands(n, texts)
        index = BrandIndex.build(rules)
        sample = texts if n <= 100 else texts[: max(500, len(texts) // 10)]
        base_us, base = per_post_us(lambda t, r=rules: match_brands(r, t), sample)
        ours_us, ours = per_post_us(index.match, sample)
        if base != ours:
            wrong = sum(a != b for a, b in zip(base, ours, strict=True))
            raise SystemExit(f"{n} brands: BrandIndex disagrees with the regexes on {wrong} posts")
        matched = sum(bool(b) for b in ours)
        lines.append(f"| {n:,} | {base_us:,.1f} µs | {ours_us:,.1f} µs | "
                     f"{base_us / ours_us:,.0f}x | {matched:,} of {len(sample):,} |")
        print(lines[-1], flush=True)
    lines += ["", f"Target: under {TARGET_US:g} µs a post at 1,000 brands. Both matchers "
              "returned the same brands for every post."]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=20_000, help="real posts (default 20000)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"report file (default {OUT})")
    args = parser.parse_args(argv)
    lines = run([10, 100, 1000], args.posts)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
