"""monitor/text/normalize.py and monitor/text/matching.py: which brands a post mentions."""

from __future__ import annotations

import pytest

from monitor.text.matching import BrandRule, match_brands, phrase_pattern
from monitor.text.normalize import clean, detect_language, normalize


def _rule(keywords: list[str], exclude: list[str] | None = None, name: str = "Acme") -> BrandRule:
    return BrandRule.build(1, name, keywords, exclude or [])


def _hits(rule: BrandRule, text: str) -> bool:
    return rule.matches(normalize(text))


# --- keywords ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["ACME rocks", "acme rocks", "I like AcMe", "Ａｃｍｅ fullwidth"])
def test_keyword_case_insensitive(text: str) -> None:
    assert _hits(_rule(["Acme"]), text)


def test_uppercase_keyword_matches_lowercase_text() -> None:
    assert _hits(_rule(["ACME"]), "bought an acme toaster")


@pytest.mark.parametrize("text", ["Acmeville is nice", "superacme", "acme2000", "acme_corp"])
def test_word_boundary_blocks_longer_words(text: str) -> None:
    assert not _hits(_rule(["Acme"]), text)


@pytest.mark.parametrize(
    "text", ["Acme's support", "Acme\u2019s support", "(acme)", "acme.", "#acme", "Acme-branded"]
)
def test_word_boundary_allows_punctuation(text: str) -> None:
    assert _hits(_rule(["Acme"]), text)


@pytest.mark.parametrize(
    "text", ["my Acme phone broke", "my ACME   phone", "my acme\n\tphone", "acme phone."]
)
def test_multi_word_keyword_with_extra_whitespace(text: str) -> None:
    assert _hits(_rule(["acme phone"]), text)


@pytest.mark.parametrize("text", ["acmephone", "acme telephone", "acme phones", "phone acme"])
def test_multi_word_keyword_needs_the_phrase(text: str) -> None:
    assert not _hits(_rule(["acme phone"]), text)


def test_keyword_with_extra_whitespace_in_config() -> None:
    assert _hits(_rule(["  acme    phone "]), "my acme phone")


def test_any_keyword_matches() -> None:
    rule = _rule(["acme", "roadrunner co"])
    assert _hits(rule, "Roadrunner Co support is awful")
    assert not _hits(rule, "the roadrunner is fast")


def test_exclude_vetoes() -> None:
    rule = _rule(["acme"], ["acme anvil"])
    assert _hits(rule, "my acme phone")
    assert not _hits(rule, "the ACME Anvil fell on the coyote")
    assert not _hits(rule, "acme phone and an acme  anvil")


def test_exclude_respects_word_boundary() -> None:
    rule = _rule(["acme"], ["anvil"])
    assert _hits(rule, "acme anvils are great")  # "anvils" is not the word "anvil"
    assert not _hits(rule, "acme anvil")


# --- Chinese -----------------------------------------------------------------------------


def test_traditional_post_matches_simplified_keyword() -> None:
    assert _hits(_rule(["艾克美手机"]), "我的艾克美手機壞了")


def test_simplified_post_matches_traditional_keyword() -> None:
    assert _hits(_rule(["艾克美手機"]), "我的艾克美手机坏了")


def test_chinese_keyword_is_substring_match() -> None:
    rule = _rule(["艾克美"])
    assert _hits(rule, "买了艾克美的手机")
    assert not _hits(rule, "买了克美的手机")


def test_chinese_exclude_vetoes_traditional_text() -> None:
    rule = _rule(["艾克美"], ["艾克美铁砧"])
    assert not _hits(rule, "艾克美鐵砧很重")
    assert _hits(rule, "艾克美手機很好")


def test_normalize_folds_traditional_to_simplified() -> None:
    assert normalize("艾克美手機壞了") == "艾克美手机坏了"


def test_match_brands_returns_the_matching_rules() -> None:
    acme = BrandRule.build(1, "Acme", ["acme", "艾克美"], ["acme anvil"])
    globex = BrandRule.build(2, "Globex", ["globex"], [])
    rules = [acme, globex]
    assert match_brands(rules, normalize("Globex and Acme both")) == [acme, globex]
    assert match_brands(rules, normalize("艾克美手機")) == [acme]
    assert match_brands(rules, normalize("acme anvil, globex")) == [globex]
    assert match_brands(rules, normalize("nothing here")) == []


def test_phrase_pattern_is_compiled_on_normalized_form() -> None:
    pattern = phrase_pattern("Acme Phone")
    assert pattern.search("acme phone")
    assert not pattern.search("Acme Phone")  # texts are normalised before matching


# --- detect_language --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("艾克美手机太差了，客服态度恶劣", "zh"),
        ("艾克美手機太差了", "zh"),
        ("The Acme phone is terrible and support was rude", "en"),
        ("我的Acme手机坏了", "zh"),  # mixed, mostly Chinese letters
        ("我的 Acme phone is really bad and nobody replies", "en"),  # mixed, mostly Latin
        ("😡😡😡👎", "en"),
        ("", "en"),
        ("123 !!! ...", "en"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_threshold_is_a_fifth() -> None:
    assert detect_language("坏" + "a" * 4) == "zh"  # exactly 1/5
    assert detect_language("坏" + "a" * 5) == "en"  # below 1/5


# --- normalize is robust ----------------------------------------------------------------


def test_normalize_survives_lone_surrogate() -> None:
    out = normalize("acme\ud800 phone")
    out.encode("utf-8")  # would raise on a surviving surrogate
    assert "\ud800" not in out
    assert "acme" in out and "phone" in out


@pytest.mark.parametrize("ch", ["\x00", "\x1b", "\x7f", "\u202e", "\u200b", "\ufeff"])
def test_normalize_drops_control_characters(ch: str) -> None:
    out = normalize(f"ac{ch}me")
    assert ch not in out
    assert out == "acme"


def test_control_characters_cannot_hide_a_keyword() -> None:
    assert _hits(_rule(["acme"]), "A\u200bC\x00M\u202eE sucks")


def test_clean_keeps_newline_and_tab() -> None:
    assert clean("a\nb\tc\rd") == "a\nb\tcd"


def test_normalize_maps_curly_quotes_and_casefolds() -> None:
    assert normalize("STRASSE \u201cAcme\u201d \u2018x\u2019") == 'strasse "acme" \'x\''
    assert normalize("Straße") == "strasse"


def test_latin_brand_inside_chinese_text() -> None:
    """Chinese has no spaces: 了 and 的 are word characters, yet "Acme" is a word here."""
    rule = BrandRule.build(1, "Acme", ["Acme"], [])
    for text in ("用了Acme的跑鞋，质量太差", "Acme客服不理人", "买了ACME"):
        assert rule.matches(normalize(text)), text
    assert not rule.matches(normalize("acmeville的店"))
    assert not rule.matches(normalize("acme_bot"))
    for text in ("AcmeX2手机电池鼓包", "my AcmePro15 died"):  # a model name glued on
        assert rule.matches(normalize(text)), text


def test_skipping_the_converter_never_changes_the_result() -> None:
    """``to_simplified`` skips OpenCC when no character would change; for every
    dictionary entry, alone and inside other text, it must agree with OpenCC."""
    from monitor.text.normalize import _t2s, to_simplified

    converter = _t2s()
    converter.convert("")
    keys = [k for _a, _b, mapping in converter.dict_cache.values() for k in mapping]
    assert len(keys) > 4000
    for key in keys:
        for text in (key, f"我说{key}了", f"{key}覆"):
            assert to_simplified(text) == converter.convert(text), text
    plain = "这家店的外卖送得太慢了，客服也不理人"
    assert to_simplified(plain) is plain  # nothing to convert: the converter is skipped
