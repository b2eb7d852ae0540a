"""monitor/detection/context.py: is a strong cue a threat against the brand?"""

from __future__ import annotations

import pytest

from monitor.detection.context import sentences, strong_cue_context

ACME = ("Acme", "艾克美")
NEG, POS = 0.1, 0.9


@pytest.mark.parametrize("text, cues, sentiment, counts, why", [
    ("Acme refused my refund. I will sue Acme and call my lawyer.", ["legal_threat"], NEG,
     True, "sentence naming the brand"),
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
