"""Incident category guesses from posts and cues, and the category file's checks.

Every example post is written for these tests (a fictional 喵喵 brand and Acme)."""

from __future__ import annotations

import re

import pytest
import yaml

from monitor.detection.category import (
    DEFAULT_CATEGORIES,
    DEFAULT_KEY,
    PRECEDENCE,
    CategoryFileError,
    guess_category,
    load_categories,
)
from monitor.text.cues import load_lexicon
from monitor.text.normalize import normalize

EXAMPLES = {
    "safety_incident": [
        "喵喵家的儿童电动车充电时冒烟起火，孩子的腿被烫伤了，现在还在医院",
        "My kid's Acme night light overheated and caught fire in his room, he has burns "
        "on his hand and we spent the night in the emergency room.",
    ],
    "legal_threat": [
        "喵喵装修公司收了三万定金就不干活了，我已经请了律师，下周去法院起诉",
        "Acme kept my deposit after cancelling the job. My lawyer has the paperwork and "
        "I'm taking them to small claims court.",
    ],
    "media_exposure": [
        "喵喵4S店欺负消费者，我已经联系了电视台的记者，明天就把这事曝光出去",
        "I've been talking to a journalist at our local news station about how Acme treats "
        "pensioners. This is going public next week.",
    ],
    "group_complaint": [
        "喵喵健身房突然关门，我们几百个会员拉了维权群，不止我一个受害者，大家一起去讨说法",
        "I'm not the only one - hundreds of us lost our Acme gym memberships overnight. "
        "We started a petition and a group chat for everyone affected.",
    ],
    "product_defect": [
        "喵喵洗衣机才用了两个月就坏了，脱水的时候异响，底下还漏水，质量太差",
        "My Acme dishwasher stopped working after two months, it leaks all over the "
        "kitchen floor. Really poor quality for the price.",
    ],
    "refund_dispute": [
        "喵喵视频会员自动续费，莫名其妙扣款三十块，申请退款被拒了三次",
        "Acme charged me twice for the same subscription and keeps refusing my refund "
        "request. I just want my money back.",
    ],
    "delivery_delay": [
        "喵喵商城下单半个月了还没发货，物流信息一直没更新，问就是在路上",
        "Ordered a sofa from Acme five weeks ago, the delivery date was moved three times "
        "and the tracking page still says processing.",
    ],
    "service_attitude": [
        "喵喵门店的店员态度恶劣，问个价格就翻白眼，叫经理来也是爱答不理",
        "The staff at the Acme counter were incredibly rude, the manager was dismissive "
        "and laughed at my question.",
    ],
    "misunderstanding": [
        "昨天说喵喵少发了配件，原来是我自己没看说明书，误会一场，在这里向商家道歉",
        "Update on my Acme router post: my mistake, turns out I had plugged the cable "
        "into the wrong port. All sorted now, sorry everyone.",
    ],
    "malicious": [
        "有人用P图造谣说喵喵奶茶里喝出虫子，私信里还说不给钱就继续发，这就是敲诈",
        "That viral Acme review is a hoax: the photo is photoshopped and the poster tried "
        "to extort the owner - pay me or I keep posting.",
    ],
}
CASES = [(key, lang, text) for key, texts in EXAMPLES.items()
         for lang, text in zip(("zh", "en"), texts, strict=True)]


@pytest.mark.parametrize("key, lang, text", CASES, ids=[f"{k}-{lang}" for k, lang, _ in CASES])
def test_each_category_is_recognised(key, lang, text):
    guess = guess_category([text])
    assert guess.key == key, guess
    assert guess.evidence and guess.confidence > 0


def test_every_category_has_an_example_in_both_languages():
    assert set(EXAMPLES) == set(PRECEDENCE)


def test_traditional_chinese_input_works():
    guess = guess_category(["喵喵家的兒童電動車充電時冒煙起火，孩子的腿被燙傷了，現在還在醫院"])
    assert guess.key == "safety_incident"
    assert {"起火", "烫伤", "医院"} <= set(guess.evidence)  # reported as the YAML writes them
    assert guess_category(["喵喵門店的店員態度惡劣，經理也愛答不理"]).key == "service_attitude"


def test_label_comes_from_the_file():
    assert guess_category([EXAMPLES["legal_threat"][0]]).label == "legal threat"


def test_nothing_matching_gives_the_default_with_zero_confidence():
    guess = guess_category(["喵喵今天上新品了", "Acme opened a new store downtown"])
    assert (guess.key, guess.confidence, guess.evidence, guess.runner_up) == (
        DEFAULT_KEY, 0.0, (), None)
    assert guess_category([]).key == DEFAULT_KEY
    assert DEFAULT_KEY not in {"misunderstanding", "malicious"}


def test_a_cue_alone_decides():
    guess = guess_category(["喵喵这事我们已经委托专人处理了"], ["legal_threat"])
    assert guess.key == "legal_threat" and guess.evidence == ("cue:legal_threat",)
    assert guess_category(["nothing here"], ["regulator_complaint"]).key == "legal_threat"
    assert guess_category(["nothing here"], ["media_exposure"]).key == "media_exposure"
    assert guess_category(["nothing here"], ["group_action"]).key == "group_complaint"
    assert guess_category(["nothing here"], ["safety"]).key == "safety_incident"
    assert guess_category(["nothing here"], ["company_taboo"]).key == "service_attitude"


def test_a_cue_tips_a_close_call():
    text = "喵喵的吹风机坏了，要求退款"  # one product term (坏了), one refund term (退款)
    assert guess_category([text]).key == "product_defect"  # tie: product is more serious
    with_cue = guess_category([text], ["refund_demand"])
    assert with_cue.key == "refund_dispute" and with_cue.runner_up == "product_defect"
    assert "cue:refund_demand" in with_cue.evidence


def test_a_reposted_complaint_keeps_its_matter():
    guess = guess_category(["转发微博：喵喵快递三天了还没到，大家帮忙扩散"], ["viral_spread"])
    assert guess.key == "delivery_delay"
    en = guess_category(["RT @bob: my Acme parcel never arrived, please share"],
                        ["viral_spread"])
    assert en.key == "delivery_delay"


def test_a_term_inside_a_longer_one_counts_once():
    guess = guess_category(["喵喵店员态度恶劣"])
    assert guess.evidence == ("态度恶劣", "店员")
    assert guess.confidence == round(2 / 3, 3)


def test_unknown_or_unmapped_cue_keys_are_ignored():
    text = EXAMPLES["delivery_delay"][0]
    assert guess_category([text], ["boycott", "no_such_cue"]) == guess_category([text])


@pytest.mark.parametrize("text, expected, runner_up", [
    ("喵喵快递送来的时候，盒子里的杯子割伤了我的手", "safety_incident", "delivery_delay"),
    ("喵喵的台灯坏了，经理说不管", "product_defect", "service_attitude"),
    ("My Acme parcel is late and I've called a lawyer", "legal_threat", "delivery_delay"),
    ("喵喵的客服骂人，是个误会", "service_attitude", "misunderstanding"),
])
def test_ties_go_to_the_more_serious_category(text, expected, runner_up):
    guess = guess_category([text])
    assert (guess.key, guess.runner_up) == (expected, runner_up), guess


def test_precedence_order_is_the_documented_one():
    assert PRECEDENCE == ("safety_incident", "legal_threat", "media_exposure",
                          "group_complaint", "product_defect", "refund_dispute",
                          "delivery_delay", "service_attitude", "misunderstanding",
                          "malicious")


def test_what_most_posts_say_outweighs_a_passing_threat():
    posts = [
        "喵喵快递三天了还没到，物流一直不动",
        "同一天下的单，喵喵物流到现在都没发货",
        "喵喵的快递是不是丢件了？包裹一直没签收",
        "喵喵再不送到我就找律师",
    ]
    guess = guess_category(posts, ["legal_threat"])
    assert guess.key == "delivery_delay" and guess.runner_up == "legal_threat"
    assert guess.confidence > guess_category(posts[:1]).confidence - 0.2


def test_confidence_grows_with_uncontested_evidence():
    one = guess_category(["喵喵的洗衣机漏水"])
    three = guess_category(["喵喵的洗衣机漏水，还有异响，质量太差"])
    contested = guess_category(["喵喵的洗衣机漏水，客服态度恶劣"])
    assert 0 < contested.confidence < one.confidence < three.confidence < 1


def test_a_single_string_is_one_post():
    assert guess_category(EXAMPLES["refund_dispute"][1]).key == "refund_dispute"


# ---------------------------------------------------------------- the category file


def test_file_is_loaded_once_in_precedence_order():
    cats = load_categories()
    assert cats is load_categories()
    assert tuple(c.key for c in cats) == PRECEDENCE


def test_file_header_cites_the_seed_triage():
    header = DEFAULT_CATEGORIES.read_text(encoding="utf-8").split("categories:")[0]
    for share in ("67%", "5%", "20%", "6%", "2%"):
        assert share in header
    assert "seed 000" in header


def test_terms_follow_the_lexicon_conventions():
    cue_keys = {c.key for c in load_lexicon()}
    for cat in load_categories():
        assert set(cat.cues) <= cue_keys, cat.key
        for term in cat.zh:
            assert len(term) > 1, (cat.key, term)
            assert normalize(term) == term.casefold(), f"{cat.key}: {term} is not Simplified"
        for term in cat.en:
            assert term == term.lower() and term.strip() == term, (cat.key, term)
            assert not re.search(r"\s\*|\*.", term), (cat.key, term)  # * only at the end
        assert len(set(cat.zh)) == len(cat.zh) and len(set(cat.en)) == len(cat.en), cat.key


def test_stems_do_not_catch_unrelated_words():
    assert guess_category(["I feel fine about Acme"]).key == DEFAULT_KEY  # no "fee*"
    assert guess_category(["Acme's hospitality was lovely"]).key == DEFAULT_KEY


def _write(tmp_path, mutate):
    data = yaml.safe_load(DEFAULT_CATEGORIES.read_text(encoding="utf-8"))
    mutate(data["categories"])
    path = tmp_path / "categories.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.update(lawsuit={"label": "x", "zh": ["诉讼"], "en": ["sue"]}), "lawsuit"),
    (lambda c: c.pop("malicious"), "malicious"),
    (lambda c: c["delivery_delay"].pop("label"), "delivery_delay.*label"),
    (lambda c: c["product_defect"].update(zh=[]), "product_defect.*zh"),
    (lambda c: c["refund_dispute"].pop("en"), "refund_dispute.*en"),
    (lambda c: c["media_exposure"].update(weight=0.4), "media_exposure.*weight"),
    (lambda c: c["legal_threat"].update(cues=["legal_action"]), "legal_threat.*legal_action"),
    (lambda c: c["safety_incident"]["zh"].append("火"), "safety_incident.*火"),
])
def test_a_malformed_file_is_refused_naming_the_key(tmp_path, mutate, message):
    path = _write(tmp_path, mutate)
    with pytest.raises(CategoryFileError, match=message):
        load_categories(path)


def test_a_valid_copy_loads_and_guesses(tmp_path):
    path = _write(tmp_path, lambda c: c["delivery_delay"]["zh"].append("慢死了"))
    assert guess_category(["喵喵送货慢死了"], path=path).key == "delivery_delay"
