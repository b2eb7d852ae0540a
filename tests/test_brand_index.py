"""BrandIndex (one Aho-Corasick scan for every brand) gives exactly the brands the
per-brand expressions give: word boundaries, the Chinese substring rule, excludes,
white space inside a keyword, Traditional forms, many brands sharing a keyword."""

from __future__ import annotations

import random

import pytest

from monitor.text.matching import BrandIndex, BrandRule, match_brands
from monitor.text.normalize import normalize

RULES = [BrandRule.build(1, "Acme", ["Acme", "艾克美", "acme phone"], ["acme anvil"]),
         BrandRule.build(2, "Bolt", ["bolt", "Bolt Energy"], []),
         BrandRule.build(3, "Shared", ["acme"], ["艾克美"]),
         BrandRule.build(4, "Empty", [], []),
         BrandRule.build(5, "漢堡王", ["漢堡王"], [])]
CASES = {
    "用了Acme的手机，很差": [1, 3],
    "acmeville is a town": [],
    "acme2000 is a model number": [],
    "AcmeX2手机 keeps freezing": [1, 3],
    "the acme  anvil fell": [3],
    "Bolt and ACME together": [1, 2, 3],
    "艾克美很差": [1],
    "acme\n\nphone broke": [1, 3],
    "bolt-on parts": [2],
    "thunderbolt cable": [],
    "汉堡王的薯条": [5],
    "": [],
}


@pytest.mark.parametrize("text", list(CASES))
def test_the_index_finds_what_the_expressions_find(text: str) -> None:
    index, normalized = BrandIndex.build(RULES), normalize(text)
    assert [r.brand_id for r in match_brands(RULES, normalized)] == CASES[text]
    assert [r.brand_id for r in index.match(normalized)] == CASES[text]
    assert [r.brand_id for r in match_brands(index, normalized)] == CASES[text]


def test_random_brands_and_posts_agree_with_the_expressions() -> None:
    rng = random.Random(7)
    words = ["acme", "bolt", "nova", "艾克美", "星光", "phone", "store", "x2", "ville", "官方"]
    rules = []
    for i in range(60):
        keywords = [" ".join(rng.sample(words, rng.randint(1, 2))) for _ in range(2)]
        rules.append(BrandRule.build(i, f"b{i}", keywords, [rng.choice(words)] * rng.randint(0, 1)))
    index = BrandIndex.build(rules)
    glue = ["", " ", "  ", "\n", "-", "的", "2"]
    for _ in range(2000):
        text = normalize("".join(rng.choice(words) + rng.choice(glue)
                                 for _ in range(rng.randint(1, 6))))
        assert index.match(text) == match_brands(rules, text), text


def test_an_index_of_no_brands_matches_nothing() -> None:
    assert BrandIndex.build([]).match("acme") == []
    assert BrandIndex.build([BrandRule.build(1, "Empty", [], [])]).match("acme") == []
