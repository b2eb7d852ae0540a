"""monitor/text/cues.py and monitor/scoring/risk.py: crisis cues and the risk score."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from monitor.scoring.risk import LexiconScorer, Score, combine_risk, intensity
from monitor.text.cues import DEFAULT_LEXICON, find_cues, load_lexicon
from monitor.text.normalize import normalize


@pytest.fixture(scope="module")
def scorer() -> LexiconScorer:
    return LexiconScorer()


def _neutral(text: str, language: str) -> float:
    return 0.5


def _positive(text: str, language: str) -> float:
    return 1.0


# --- combine_risk ------------------------------------------------------------------------

NEGATIVITY = [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
WEIGHTS = [0.0, 0.2, 0.35, 0.45, 1.0]


def test_combine_risk_bounded() -> None:
    for neg in [-5.0, -0.1, *NEGATIVITY, 1.5, 10.0]:
        for n in range(4):
            for cues in itertools.combinations_with_replacement(WEIGHTS, n):
                risk = combine_risk(neg, list(cues))
                assert 0.0 <= risk <= 1.0


def test_combine_risk_monotonic_in_negativity() -> None:
    for cues in ([], [0.2], [0.45, 0.4]):
        risks = [combine_risk(neg, cues) for neg in NEGATIVITY]
        assert risks == sorted(risks)
        assert risks[-1] > risks[0]


def test_combine_risk_monotonic_in_cues() -> None:
    for neg in NEGATIVITY:
        base = combine_risk(neg, [])
        one = combine_risk(neg, [0.3])
        two = combine_risk(neg, [0.3, 0.2])
        assert base < one < two
        assert combine_risk(neg, [0.2]) < combine_risk(neg, [0.45])


def test_combine_risk_values() -> None:
    assert combine_risk(0.0, []) == 0.0
    assert combine_risk(1.0, []) == 0.7
    assert combine_risk(0.0, [0.4]) == 0.4
    assert combine_risk(0.5, [0.4]) == pytest.approx(1 - 0.65 * 0.6, abs=1e-4)
    assert combine_risk(0.0, [1.0]) == 1.0
    assert combine_risk(-1.0, []) == 0.0  # clamped
    assert combine_risk(3.0, []) == 0.7  # clamped


# --- the shipped lexicon ----------------------------------------------------------------


def test_every_category_has_zh_and_en_terms_and_a_sane_weight() -> None:
    data = yaml.safe_load(DEFAULT_LEXICON.read_text(encoding="utf-8"))
    categories = data["categories"]
    assert len(categories) >= 5
    for key, spec in categories.items():
        assert spec.get("zh"), f"{key} has no zh terms"
        assert spec.get("en"), f"{key} has no en terms"
        assert 0 < float(spec["weight"]) <= 1, key
        assert all(str(t).strip() for t in spec["zh"] + spec["en"]), key
    loaded = load_lexicon()
    assert [c.key for c in loaded] == list(categories)
    for cat in loaded:
        assert len(cat.patterns) == len(categories[cat.key]["zh"]) + len(categories[cat.key]["en"])


def test_shipped_lexicon_has_sue_but_it_does_not_fire_on_issue() -> None:
    lexicon = load_lexicon()
    legal = next(c for c in lexicon if c.key == "legal_threat")
    assert "sue" in [term for term, _ in legal.patterns]
    hits = find_cues(lexicon, normalize("I have an issue with my order, pursue it please"))
    assert "legal_threat" not in [h.key for h in hits]
    hits = find_cues(lexicon, normalize("I will SUE you"))
    assert "legal_threat" in [h.key for h in hits]


# --- find_cues on a small lexicon -------------------------------------------------------


@pytest.fixture
def small_lexicon(tmp_path: Path):  # noqa: ANN201
    path = tmp_path / "cues.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "categories": {
                    "legal": {"label": "legal threat", "weight": 0.45, "strong": True,
                              "zh": ["律师", "起诉"], "en": ["sue", "lawyer*", "see you in court"]},
                    "refund": {"label": "refund", "weight": 0.2,
                               "zh": ["退款"], "en": ["refund*", "money back"]},
                }
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return load_lexicon(path)


def _stems(terms: tuple[str, ...]) -> list[str]:
    """Terms as shown in reasons, with or without the stem marker."""
    return [t.rstrip("*") for t in terms]


def test_small_lexicon_loads(small_lexicon) -> None:  # noqa: ANN001
    legal, refund = small_lexicon
    assert (legal.key, legal.label, legal.weight) == ("legal", "legal threat", 0.45)
    assert legal.strong is True
    assert (refund.key, refund.strong) == ("refund", False)


@pytest.mark.parametrize(
    "text", ["I have an issue", "Issues everywhere", "pursue", "suet pudding", "sueing", "tissue"]
)
def test_sue_does_not_fire_inside_words(small_lexicon, text: str) -> None:  # noqa: ANN001
    assert find_cues(small_lexicon, normalize(text)) == []


@pytest.mark.parametrize("text", ["I will sue.", "SUE them", "going to sue Acme", "(sue)"])
def test_sue_fires_as_a_word(small_lexicon, text: str) -> None:  # noqa: ANN001
    hits = find_cues(small_lexicon, normalize(text))
    assert [h.key for h in hits] == ["legal"]
    assert hits[0].terms == ("sue",)


def test_stem_term_matches_word_endings(small_lexicon) -> None:  # noqa: ANN001
    hits = find_cues(small_lexicon, normalize("Lawyers and a refunding mess"))
    assert {h.key: _stems(h.terms) for h in hits} == {"legal": ["lawyer"], "refund": ["refund"]}
    assert _stems(find_cues(small_lexicon, normalize("the lawyering"))[0].terms) == ["lawyer"]
    assert find_cues(small_lexicon, normalize("outlawyer")) == []


def test_multi_word_term_and_chinese(small_lexicon) -> None:  # noqa: ANN001
    hits = find_cues(small_lexicon, normalize("See   you in\ncourt! 我要找律師起訴，還要退款"))
    by_key = {h.key: h for h in hits}
    assert set(by_key["legal"].terms) == {"see you in court", "律师", "起诉"}
    assert by_key["refund"].terms == ("退款",)
    assert by_key["legal"].strong and not by_key["refund"].strong


# --- LexiconScorer ----------------------------------------------------------------------


def test_calm_viral_text_is_risky(scorer: LexiconScorer) -> None:
    score = scorer.score("视频已经在网上疯传")
    assert score.language == "zh"
    assert "viral_spread" in score.cues
    assert score.strong
    assert score.risk >= 0.5
    assert not any(r.startswith("negative tone") for r in score.reasons)
    assert any("疯传" in r for r in score.reasons)


def test_calm_viral_text_is_risky_with_neutral_tone() -> None:
    score = LexiconScorer(sentiment=_neutral).score("视频已经在网上疯传")
    assert score.sentiment == 0.5
    assert score.cues == ("viral_spread",)
    assert score.risk >= 0.5
    assert score.reasons == ("viral spread: 疯传",)


def test_legal_threat_is_strong(scorer: LexiconScorer) -> None:
    score = scorer.score("lawyers are next")
    assert score.language == "en"
    assert "legal_threat" in score.cues
    assert score.strong is True
    assert score.risk >= 0.5
    assert any(r.startswith("legal threat: lawyer") for r in score.reasons)


def test_positive_post_is_low_risk(scorer: LexiconScorer) -> None:
    score = scorer.score("Loving my new Acme phone, the camera is great!")
    assert score.sentiment > 0.5
    assert score.risk < 0.5
    assert score.cues == ()
    assert score.strong is False
    assert score.reasons == ()


def test_negative_post_has_tone_reason(scorer: LexiconScorer) -> None:
    score = scorer.score("The worst, most awful, horrible, disgusting phone ever. I hate it.")
    assert score.sentiment < 0.35
    assert any(r.startswith("negative tone (sentiment 0.") for r in score.reasons)
    assert score.risk > 0.5


def test_reasons_name_the_matched_terms() -> None:
    score = LexiconScorer(sentiment=_neutral).score(
        "Support was rude. I will contact the media and my attorney, and I want a refund."
    )
    expected = {"media_exposure", "legal_threat", "refund_demand", "service_attitude"}
    assert set(score.cues) >= expected
    named = {r.split(": ", 1)[0]: r.split(": ", 1)[1] for r in score.reasons}
    assert "contact the media" in named["media exposure threat"]
    assert "attorney" in named["legal threat"]
    assert "refund" in named["refund or compensation demand"]
    assert "rude" in named["poor service attitude"]
    assert len(score.reasons) == len(score.cues)  # no negative tone at 0.5


def _neutral(text: str, language: str) -> float:
    return 0.5


def test_a_category_counts_once() -> None:
    scorer = LexiconScorer(sentiment=_neutral)
    one = scorer.score("my lawyer")
    many = scorer.score("my lawyer and my attorney will sue, lawsuit coming")
    assert one.risk == many.risk == round(1 - (1 - 0.35) * (1 - 0.45), 4)
    assert many.cues == ("legal_threat",)


def test_a_safety_cue_raises_risk_even_when_tone_is_positive() -> None:
    scorer = LexiconScorer(sentiment=_positive)
    assert scorer.score("great phone").risk == 0.0
    assert scorer.score("great phone, it caught fire").risk == 0.5


@pytest.mark.parametrize("text", ["Our lawyer recommended Acme, great service!",
                                  "Reporters at the Acme launch loved the phone",
                                  "感谢艾克美，央视记者都来采访了"])
def test_threat_words_in_a_positive_post_are_not_threats(text: str) -> None:
    score = LexiconScorer(sentiment=_positive).score(text)
    assert score.risk == 0.0 and score.cues == () and not score.strong
    assert any(r.startswith("not counted: ") and "reads positive" in r
               for r in score.reasons), score.reasons


@pytest.mark.parametrize(("text", "counts"), [
    ("I won't sue Acme, just fix it", False),
    ("no need to call a lawyer, Acme fixed it", False),
    ("我不会起诉艾克美", False),
    ("我没找媒体，只想退款", False),
    ("I will sue Acme", True),
    ("I did not want to, but I will sue Acme", True),
    ("我要起诉艾克美", True),
    ("不退款我就起诉", True),
])
def test_a_threat_the_author_takes_back_is_not_counted(text: str, counts: bool) -> None:
    score = LexiconScorer(sentiment=_neutral).score(text)
    threat = {"legal_threat", "media_exposure"} & set(score.cues)
    assert bool(threat) is counts, score.reasons
    if not counts:
        assert any("negated" in r for r in score.reasons), score.reasons


def test_a_negated_refund_is_still_a_complaint() -> None:
    score = LexiconScorer(sentiment=_neutral).score("they would not refund me")
    assert "refund_demand" in score.cues


@pytest.mark.parametrize("text", ["", "   \n\t", "😀🔥👍", "\ud800\x00\x1b"])
def test_degenerate_texts_score(scorer: LexiconScorer, text: str) -> None:
    score = scorer.score(text)
    assert isinstance(score, Score)
    assert 0.0 <= score.risk <= 1.0
    assert score.cues == ()
    assert score.strong is False


def test_empty_text_is_neutral(scorer: LexiconScorer) -> None:
    score = scorer.score("")
    assert score.sentiment == 0.5
    assert score.language == "en"


def test_one_megabyte_text_scores(scorer: LexiconScorer) -> None:
    text = ("acme phone broke, my lawyer wants a refund. " * 30_000)[:1_000_000]
    assert len(text) == 1_000_000
    score = scorer.score(text)
    assert 0.0 <= score.risk <= 1.0
    assert {"legal_threat", "refund_demand", "product_defect"} <= set(score.cues)


def test_intensity_reads_shouting_and_piled_up_marks() -> None:
    calm = intensity("The delivery was late again and nobody answered.")
    loud = intensity("The delivery was LATE AGAIN and NOBODY answered!!!")
    assert calm.level == 0.0 and calm.reasons == ()
    assert loud.level > 0.5
    assert any("exclamation" in r for r in loud.reasons)
    assert any("LATE AGAIN NOBODY".split()[0] in r for r in loud.reasons)
    assert intensity("退款呢？？？！！").level > 0
    assert intensity("BREAKING NEWS: ACME RECALL").level == 0.0  # a headline, not shouting


def test_intensity_amplifies_negative_posts_only() -> None:
    assert combine_risk(0.9, [], 1.0) > combine_risk(0.9, [], 0.0)
    assert combine_risk(0.0, [], 1.0) == combine_risk(0.0, [], 0.0) == 0.0
    scorer = LexiconScorer(sentiment=lambda text, language: 0.05 if "late" in text else 0.95)
    quiet, shouted = scorer.score("late again"), scorer.score("LATE AGAIN, still nothing!!!")
    assert shouted.risk > quiet.risk
    assert any(r.startswith("intensity:") for r in shouted.reasons)
    happy = scorer.score("LOVE the new one, GREAT job!!!")
    assert happy.risk - scorer.score("love the new one, great job").risk < 0.01 < \
        shouted.risk - quiet.risk
    assert not any(r.startswith("intensity:") for r in happy.reasons)


@pytest.mark.parametrize("text", [
    "i will contact the  media and my lawyer", "refunds!! refund please", "won't turn on",
    "客服不理人，我要退款，找媒体曝光", "大v帮转 12315投诉", "leaking everywhere, leaky", "",
    "the media", "contact\tthe press", "lawyers lawyer"])
def test_cue_index_finds_what_every_term_finds(text):
    """find_cues scans once for the terms' longest words; the hits must be exactly
    those of trying every term's expression."""
    lexicon = load_lexicon()
    norm = normalize(text)
    every = [(c.key, tuple(t for t, p in c.patterns if p.search(norm))) for c in lexicon]
    assert [(h.key, h.terms) for h in find_cues(lexicon, norm)] == [e for e in every if e[1]]
