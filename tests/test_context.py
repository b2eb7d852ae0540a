"""monitor/detection/context.py: is a strong cue a threat against the brand?"""

from __future__ import annotations

import pytest

from monitor.detection.context import (
    REPORTED_TONE,
    reported_context,
    sentences,
    strong_cue_context,
)

ACME = ("Acme", "艾克美")
NEG, POS = 0.1, 0.9


@pytest.mark.parametrize("text, cues, sentiment, counts, why", [
    ("Acme refused my refund. I will sue Acme and call my lawyer.", ["legal_threat"], NEG,
     True, "own words"),
    # a third-person report naming the brand counts only when clearly negative
    ("Acme chargers caught fire in three homes, the fire service says", ["safety"], NEG,
     True, "a report, clearly negative: sentiment 0.10 < 0.3"),
    ("艾克美手机发烫\n客服不理我，我要找媒体曝光", ["media_exposure"], NEG, True, "own words"),
    ("My phone exploded. I am calling a lawyer tomorrow.", ["legal_threat"], NEG, True,
     "own words"),
    # a news repost about another company, naming the brand in passing
    ("央视曝光某奶粉企业质量问题 // 艾克美新品今天发布", ["media_exposure"], NEG, False,
     "something else"),
    ("Lawsuit filed against a rival carmaker. Separately, Acme opened a new store.",
     ["legal_threat"], NEG, False, "something else"),
    # the same words in a friendly post
    ("Our lawyer recommended Acme and we love it", ["legal_threat"], POS, False,
     "not negative"),
    ("Reporters everywhere at the Acme launch, great day", ["media_exposure"], POS, False,
     "not negative"),
    ("Acme was slow today", [], NEG, False, "no strong cue"),
    ("Acme was slow today, refund please", ["refund_demand"], NEG, False, "no strong cue"),
])
def test_strong_cue_context(text, cues, sentiment, counts, why) -> None:  # noqa: ANN001
    found = strong_cue_context(text, ACME, cues, sentiment)
    assert found.counts is counts and why in found.why, found


def test_sentences_split_on_repost_chains_and_punctuation() -> None:
    assert sentences("a。b！c//d\ne. f") == ["a", "b", "c", "d", "e", "f"]


@pytest.mark.parametrize("text", [
    "央视曝光某奶粉企业质量问题（来自艾克美客户端）",
    "Lawsuit filed against a rival carmaker today (via Acme)",
    "Lawsuit filed against a rival carmaker today. Sent from my Acme",
    "转发：央视曝光某奶粉企业质量问题 分享自艾克美App",
])
def test_client_signatures_do_not_put_the_brand_next_to_a_cue(text) -> None:  # noqa: ANN001
    found = strong_cue_context(text, ACME, ["media_exposure", "legal_threat"], NEG)
    assert not found.counts, found


def test_a_colon_separates_a_reposted_headline_from_the_reposter() -> None:
    text = "Reading this on my Acme tablet: lawsuit filed against a rival carmaker"
    assert not strong_cue_context(text, ACME, ["legal_threat"], NEG).counts
    own = "Acme lied to me: I am taking them to court with my lawyer"
    assert strong_cue_context(own, ACME, ["legal_threat"], NEG).counts


@pytest.mark.parametrize("text, cues, sentiment", [
    # real wire-style items of the SXSW set (issue 15): near-neutral, naming the brand
    ("RT @mention On its second day in business, the Apple pop-up store appears to be "
     "trending. #sxsw", ["viral_spread"], 0.42),
    ("Scepticism expressed about iPad newspapers at #SXSW {link}", ["media_exposure"], 0.43),
])
def test_a_near_neutral_report_naming_the_brand_is_no_threat(text, cues, sentiment) -> None:  # noqa: ANN001, E501
    found = strong_cue_context(text, ("Apple", "iPad"), cues, sentiment)
    assert not found.counts, found
    assert f"sentiment {sentiment:.2f} >= 0.3" in found.why


def test_reported_context_needs_a_clearly_negative_tone() -> None:
    assert reported_context("safety incident", 0.29).counts
    assert not reported_context("safety incident", REPORTED_TONE).counts
    assert not reported_context("safety incident", 0.45).counts
    # the author's own words keep the plain negative bar
    own = "Acme sold me a charger that caught fire in my kitchen"
    assert strong_cue_context(own, ACME, ["safety"], 0.45).counts
