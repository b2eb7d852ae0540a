"""Incident clustering: SimHash fingerprints, salient terms and the matching rules.

The example posts are written for these tests (a fictional supermarket 喵喵超市 and
brand Acme); the real-data checks at the end read ../shared/data in place."""

from __future__ import annotations

import csv
import itertools
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.detection.grouping import (
    INCIDENT_TERMS,
    MAX_FINGERPRINTS,
    IncidentKey,
    MentionKey,
    match_incident,
    merge_key,
)
from monitor.detection.simhash import (
    EMPTY_FINGERPRINT,
    NEAR_DUPLICATE_BITS,
    PART_BITS,
    copied_parts,
    fingerprint,
    hamming,
    near_duplicate,
    post_fingerprints,
)
from monitor.detection.terms import TermBackground, common_terms, salient_terms
from tests.conftest import ROOT, SHARED_DATA

ZH_BRAND = ("喵喵超市", "喵喵")
EN_BRAND = ("Acme",)

ZH_POST = "喵喵超市买的全麦面包还没过保质期就发霉了，找客服要求退款一直被推诿，真的太气人了！"
ZH_REPOSTS = {
    "repost prefix": "转发微博：" + ZH_POST,
    "weibo repost chain": "帮顶 //@小王同学: " + ZH_POST,
    "traditional script": ("喵喵超市買的全麥麵包還沒過保質期就發霉了，"
                           "找客服要求退款一直被推諉，真的太氣人了！"),
    "a few characters changed": ZH_POST.replace("真的太气人了！", "真的好气人啊！！"),
    "a line added": ZH_POST + " 大家评评理",
    "punctuation stripped": ZH_POST.replace("，", " ").replace("！", ""),
}
ZH_OTHERS = [  # different complaints about the same supermarket
    "喵喵超市的收银员态度恶劣，多扣了我二十块钱还不承认，经理也不管",
    "喵喵超市网上下单的水果一个星期了还没送到，物流信息一直不更新",
    "喵喵超市卖的鸡蛋里吃出了玻璃渣，孩子嘴都划伤了，已经去医院检查",
    "喵喵超市会员卡自动续费乱扣款，申请退款三次都被拒绝",
]

EN_POST = ("Bought a loaf of Acme sourdough on Monday and it was covered in mould by "
           "Wednesday, two days before the best-before date. Support keeps refusing a refund.")
EN_REPOSTS = {
    "RT prefix": "RT @jane_doe: " + EN_POST,
    "link appended": EN_POST + " https://t.co/x1y2z3",
    "shouted": EN_POST.upper(),
    "a spelling changed": EN_POST.replace("mould", "mold"),
    "a line added": "Unbelievable. " + EN_POST,
    "punctuation changed": EN_POST.replace(".", "!!"),
}
EN_OTHERS = [
    "The cashier at the Acme on Main Street was incredibly rude and overcharged me twice, "
    "the manager just shrugged.",
    "My Acme grocery order has been stuck in transit for ten days and the tracking page "
    "hasn't changed.",
    "Found a shard of glass in an Acme yogurt and my son cut his lip, we spent the evening "
    "at the hospital.",
    "Acme renewed my membership without asking and now refuses to refund the annual fee.",
]

PINNED_ZH = -5874250211532658370
PINNED_EN = 7638050281035820624

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
WINDOW = timedelta(hours=6)


# ---------------------------------------------------------------- fingerprints


@pytest.mark.parametrize("text, language", [(ZH_POST, "zh"), (EN_POST, "en")])
def test_fingerprint_fits_a_signed_bigint(text, language):
    fp = fingerprint(text, language)
    assert isinstance(fp, int)
    assert -(2 ** 63) <= fp < 2 ** 63
    assert fp != EMPTY_FINGERPRINT


def test_fingerprint_is_pinned():
    """Fingerprints are stored; a change in shingling or hashing silently splits every
    open incident from its posts. Change these only with a migration that recomputes."""
    assert fingerprint(ZH_POST, "zh") == PINNED_ZH
    assert fingerprint(EN_POST, "en") == PINNED_EN


def test_fingerprint_is_the_same_in_another_process():
    code = ("from monitor.detection.simhash import fingerprint; import sys; "
            "print(fingerprint(sys.argv[1], 'zh'), fingerprint(sys.argv[2], 'en'))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, ZH_POST, EN_POST], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    assert [int(x) for x in out] == [fingerprint(ZH_POST, "zh"), fingerprint(EN_POST, "en")]


def test_short_or_empty_posts_get_the_empty_fingerprint_which_matches_nothing():
    for text in ("", "垃圾！", "!!!", "Acme sucks", "   "):
        assert fingerprint(text, "zh") == EMPTY_FINGERPRINT
        assert fingerprint(text, "en") == EMPTY_FINGERPRINT
    assert not near_duplicate(EMPTY_FINGERPRINT, EMPTY_FINGERPRINT)
    assert not near_duplicate(fingerprint(ZH_POST, "zh"), EMPTY_FINGERPRINT)


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="fr"):
        fingerprint("bonjour", "fr")
    with pytest.raises(ValueError, match="fr"):
        salient_terms("bonjour", "fr")


def test_hamming_counts_differing_bits_of_signed_values():
    assert hamming(0, 0) == 0
    assert hamming(-1, 0) == 64
    assert hamming(-(2 ** 63), 0) == 1
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(5, 9) == hamming(9, 5)


@pytest.mark.parametrize("name", sorted(ZH_REPOSTS))
def test_chinese_reposts_are_near_duplicates(name):
    assert near_duplicate(fingerprint(ZH_POST, "zh"), fingerprint(ZH_REPOSTS[name], "zh"))


@pytest.mark.parametrize("name", sorted(EN_REPOSTS))
def test_english_reposts_are_near_duplicates(name):
    assert near_duplicate(fingerprint(EN_POST, "en"), fingerprint(EN_REPOSTS[name], "en"))


@pytest.mark.parametrize("texts, language", [([ZH_POST, *ZH_OTHERS], "zh"),
                                             ([EN_POST, *EN_OTHERS], "en")])
def test_different_complaints_about_one_brand_are_not_near_duplicates(texts, language):
    prints = [fingerprint(t, language) for t in texts]
    for a, b in itertools.combinations(prints, 2):
        assert not near_duplicate(a, b), hamming(a, b)


def test_default_threshold_sits_between_reposts_and_other_complaints():
    """Why NEAR_DUPLICATE_BITS is 12, not the classic 3 for web pages: a short
    post's reposts with a few edits already differ by ~10 bits, different complaints
    about the same brand by 20+; 12 keeps a margin on both sides."""
    reposts, others = [], []
    for post, variants, rest, lang in ((ZH_POST, ZH_REPOSTS, ZH_OTHERS, "zh"),
                                       (EN_POST, EN_REPOSTS, EN_OTHERS, "en")):
        fp = fingerprint(post, lang)
        reposts += [hamming(fp, fingerprint(v, lang)) for v in variants.values()]
        prints = [fp, *(fingerprint(t, lang) for t in rest)]
        others += [hamming(a, b) for a, b in itertools.combinations(prints, 2)]
    assert max(reposts) <= NEAR_DUPLICATE_BITS < min(others) - 6
    edited = [ZH_REPOSTS["a few characters changed"], EN_REPOSTS["a spelling changed"]]
    missed_at_3 = [not near_duplicate(fingerprint(ZH_POST, "zh"), fingerprint(edited[0], "zh"),
                                      max_distance=3),
                   not near_duplicate(fingerprint(EN_POST, "en"), fingerprint(edited[1], "en"),
                                      max_distance=3)]
    assert all(missed_at_3)


def test_a_repost_the_fingerprint_misses_still_joins_through_its_terms():
    """One changed word in a 25-word post can move a SimHash past 12 bits (about 1 in
    6 on real tweets); the repost still shares every matter word."""
    edited = EN_POST.replace("keeps refusing", "keeps denying")
    assert not near_duplicate(fingerprint(EN_POST, "en"), fingerprint(edited, "en"))
    first = MentionKey(1, None, "x", T0, fingerprint(EN_POST, "en"),
                       salient_terms(EN_POST, "en", exclude=EN_BRAND))
    repost = MentionKey(1, None, "x", T0 + timedelta(minutes=5), fingerprint(edited, "en"),
                        salient_terms(edited, "en", exclude=EN_BRAND))
    match = match_incident(repost, [IncidentKey.from_mention(1, first)], window=WINDOW)
    assert match is not None and match.rule == "terms"
    assert {"mould", "refund"} <= set(match.shared_terms)


# ---------------------------------------------------------------- copied parts

# Reposts that copy a post under words of their own: (title, text).
ZH_HEADLINED = ("网友投诉：喵喵超市面包没过期就发霉，客服推诿退款", ZH_POST)
ZH_COMMENTED = ("", "这也太过分了吧，大家评评理，以后再也不去了 //@面包受害者: " + ZH_POST)
ZH_REPORTED = ("喵喵超市被指销售发霉面包", "本报讯 近日有市民向本报反映：“" + ZH_POST
               + "”记者联系喵喵超市，对方称将核实处理。业内人士提醒消费者注意查看保质期。")
EN_HEADLINED = ("Shopper says Acme sourdough went mouldy days early and support refused a "
                "refund", EN_POST)
EN_COMMENTED = ("", "Disgusting. Never shopping there again, boycott them and tell your "
                    "friends. Their bakery section is a health hazard. RT @jane_doe: " + EN_POST)
EN_REPORTED = ("Shoppers complain about mouldy Acme bread", "A reader wrote to us this week: \""
               + EN_POST + "\" Acme said it was looking into the complaint. Food safety "
               "experts advise checking best-before dates and keeping receipts.")


def copy_key(title: str, text: str, language: str, minutes: int = 10) -> MentionKey:
    """A mention with fingerprints and no terms: the near-duplicate rule alone decides."""
    whole, *parts = post_fingerprints(title, text, language)
    return MentionKey(1, None, "news", T0 + timedelta(minutes=minutes), whole, (), tuple(parts))


def test_copied_parts_are_the_text_after_the_last_repost_marker_and_the_longest_quote():
    assert copied_parts("太吓人了 //@小王: 转发微博 //@老李：原文在这里") == ["原文在这里"]
    assert copied_parts("Scary. RT @jane: my Acme phone") == [" my acme phone"]  # normalised
    assert copied_parts("大家注意！转发：面包发霉") == ["面包发霉"]
    assert copied_parts("网友称：“面包发霉了，客服不退款”，商家回应「会核实」") == [
        "面包发霉了,客服不退款"]
    assert copied_parts('She wrote "it broke" and later "it broke again, twice"') == [
        "it broke again, twice"]
    assert copied_parts(ZH_POST) == [] and copied_parts("email me at x@y.com: thanks") == []


def test_post_fingerprints_give_the_whole_post_first_then_its_parts():
    title, text = ZH_HEADLINED
    assert post_fingerprints("", ZH_POST, "zh") == (fingerprint(ZH_POST, "zh"),)
    assert post_fingerprints(title, text, "zh") == (fingerprint(f"{title}\n{text}", "zh"),
                                                   fingerprint(text, "zh"))
    assert post_fingerprints(*ZH_COMMENTED, "zh")[1:] == (fingerprint(ZH_POST, "zh"),)
    assert post_fingerprints("Acme", "垃圾！", "zh") == (EMPTY_FINGERPRINT,)  # too short a part
    assert post_fingerprints(*EN_COMMENTED, "en")[0] == fingerprint(EN_COMMENTED[1], "en")


@pytest.mark.parametrize("copy, language", [
    (ZH_HEADLINED, "zh"), (ZH_COMMENTED, "zh"), (ZH_REPORTED, "zh"),
    (EN_HEADLINED, "en"), (EN_COMMENTED, "en"), (EN_REPORTED, "en")])
def test_a_repost_under_words_of_its_own_joins_on_the_copied_part(copy, language):
    """The headline or comment moves the whole post past the threshold; the copied
    part is the original to the bit, whichever of the two came first."""
    original = ZH_POST if language == "zh" else EN_POST
    assert not near_duplicate(fingerprint(original, language),
                              fingerprint(f"{copy[0]}\n{copy[1]}", language))
    first, later = copy_key("", original, language, minutes=0), copy_key(*copy, language)
    for a, b in ((first, later), (later, first)):
        match = match_incident(b, [IncidentKey.from_mention(3, a)], window=WINDOW)
        assert match is not None and match.rule == "near_duplicate", (a, b)
        assert match.distance == 0
        assert "apart from a headline or comment" in match.reason


@pytest.mark.parametrize("texts, language", [([ZH_POST, *ZH_OTHERS], "zh"),
                                             ([EN_POST, *EN_OTHERS], "en")])
def test_different_complaints_under_one_headline_or_marker_stay_apart(texts, language):
    """A letters page or a repost marker shared by different complaints is not a
    matter: only the copied part may match, and it differs."""
    heads = ("读者来信：喵喵超市", "转发：") if language == "zh" else ("Letters: Acme", "RT @a: ")
    keys = [copy_key(heads[0], t, language) for t in texts]
    keys += [copy_key("", heads[1] + t, language) for t in texts]
    for i, a in enumerate(keys):
        others = [IncidentKey.from_mention(j, b) for j, b in enumerate(keys)
                  if j % len(texts) != i % len(texts)]
        assert match_incident(a, others, window=WINDOW) is None


def test_a_part_must_be_closer_than_a_whole_post():
    post = 1 << 40
    eight = post ^ 0xFF  # 8 bits away: a whole-post near-duplicate, too far for a part
    assert PART_BITS < 8 <= NEAR_DUPLICATE_BITS
    by_whole = incident(3, prints=(post,))
    assert match_incident(mention(eight), [by_whole], window=WINDOW).distance == 8
    assert match_incident(MentionKey(1, None, "x", T0, FAR, (), (eight,)), [by_whole],
                          window=WINDOW) is None  # the mention's part
    by_part = IncidentKey(4, 1, frozenset(), (FAR,), {}, T0, part_prints=(post,))
    assert match_incident(mention(eight), [by_part], window=WINDOW) is None
    close = post ^ 0b111
    assert match_incident(mention(close), [by_part], window=WINDOW).distance == 3
    assert match_incident(MentionKey(1, None, "x", T0, FAR, (), (close,)), [by_whole],
                          window=WINDOW).incident_id == 3


def test_merge_key_keeps_parts_apart_once_each_and_only_the_latest():
    inc = merge_key(incident(3, prints=(11,)), MentionKey(1, None, "x", T0, 22, (), (33, 33)))
    assert inc.fingerprints == (11, 22) and inc.part_prints == (33,)
    again = merge_key(inc, MentionKey(1, None, "x", T0, 44, (), (33, EMPTY_FINGERPRINT, 55)))
    assert again.part_prints == (33, 55)
    full = IncidentKey(3, 1, frozenset(), (), {}, T0,
                       part_prints=tuple(range(1, MAX_FINGERPRINTS + 1)))
    merged = merge_key(full, MentionKey(1, None, "x", T0, 0, (), (999,)))
    assert len(merged.part_prints) == MAX_FINGERPRINTS and merged.part_prints[-1] == 999


# ---------------------------------------------------------------- salient terms


def test_chinese_terms_name_the_matter_and_drop_the_brand_and_stopwords():
    terms = salient_terms(ZH_POST, "zh", exclude=ZH_BRAND)
    assert terms[:4] == ("保质期", "发霉", "退款", "推诿")  # known matter words first
    assert "面包" in terms
    joined = "".join(terms)
    assert "喵" not in joined and "超市" not in terms
    assert not {"客服", "一直", "真的"} & set(terms)
    assert not any(ch in joined for ch in "的了我")


def test_complaint_vocabulary_is_not_a_matter():
    terms = salient_terms("喵喵超市的面包发霉了，客服不给退款，我要找媒体曝光，还要找律师起诉！",
                          "zh", exclude=ZH_BRAND)
    assert {"发霉", "退款", "面包"} <= set(terms)
    assert not {"曝光", "律师", "起诉", "媒体", "客服"} & set(terms)
    en = salient_terms("Acme sold me moldy bread, I'm calling my lawyer and the media, "
                       "this needs to go viral", "en", exclude=EN_BRAND)
    assert {"moldy", "bread"} <= set(en)
    assert not {"lawyer", "media", "viral"} & set(en)


def test_traditional_chinese_gives_the_same_terms():
    traditional = ZH_REPOSTS["traditional script"]
    assert (salient_terms(traditional, "zh", exclude=["喵喵超市"])
            == salient_terms(ZH_POST, "zh", exclude=["喵喵超市"]))


def test_english_terms_fold_plurals_and_drop_brand_and_stopwords():
    text = ("Acme's delivery lost two parcels this month. Acme refunds? None. "
            "The parcel tracking for my refund still says 'in transit'.")
    terms = salient_terms(text, "en", exclude=EN_BRAND)
    assert terms[0] in {"parcel", "refund"}  # each said twice, as singular and plural
    assert {"parcel", "refund", "tracking"} <= set(terms)
    assert "acme" not in terms and "acme's" not in terms
    assert not {"the", "my", "for", "this", "still", "says", "two"} & set(terms)


def test_multiword_brand_keywords_are_excluded_as_phrases():
    terms = salient_terms("Acme Market sold me mouldy bread at Acme Market", "en",
                          exclude=["Acme Market"])
    assert "market" not in terms and "acme" not in terms
    assert {"mouldy", "bread"} <= set(terms)


def test_mixed_script_posts_give_both_kinds_of_terms():
    terms = salient_terms("Acme 的 iPhone 壳开裂了, screen cracked", "zh", exclude=EN_BRAND)
    assert {"开裂", "iphone", "cracked", "screen"} <= set(terms)


def test_terms_are_deterministic_and_limited():
    a = salient_terms(EN_POST, "en", exclude=EN_BRAND, limit=3)
    assert a == salient_terms(EN_POST, "en", exclude=EN_BRAND, limit=3)
    assert len(a) == 3
    assert a == salient_terms(EN_POST, "en", exclude=EN_BRAND, limit=20)[:3]
    assert salient_terms(EN_POST, "en", limit=0) == ()


def test_reposts_and_rewordings_share_terms():
    rewording = "喵喵家的面包保质期内就长了霉点，发霉严重，客服说退款要等审核"
    shared = (set(salient_terms(ZH_POST, "zh", exclude=ZH_BRAND))
              & set(salient_terms(rewording, "zh", exclude=ZH_BRAND)))
    assert {"发霉", "保质期", "面包"} <= shared


# ---------------------------------------------------------------- matching


def mention(fp: int = 1, terms: tuple[str, ...] = (), *, brand: int = 1,
            thread: str | None = None, at: datetime = T0) -> MentionKey:
    return MentionKey(brand, thread, "weibo", at, fp, terms)


def incident(incident_id: int, *, brand: int = 1, threads: tuple[str, ...] = (),
             prints: tuple[int, ...] = (), terms: dict[str, int] | None = None,
             at: datetime = T0) -> IncidentKey:
    return IncidentKey(incident_id, brand, frozenset(threads), prints, terms or {}, at)


FAR = 0x0F0F_0F0F_0F0F_0F0F  # 32 bits from 0 and from -1


def test_no_incidents_means_a_new_incident():
    assert match_incident(mention(), [], window=WINDOW) is None


def test_other_brands_incidents_are_never_joined():
    inc = incident(3, brand=2, threads=("t1",), prints=(1,), terms={"退款": 5, "发霉": 5})
    m = mention(1, ("退款", "发霉"), thread="t1")
    assert match_incident(m, [inc], window=WINDOW) is None


def test_same_thread_matches_regardless_of_time():
    inc = incident(3, threads=("forum:42",), prints=(FAR,), at=T0 - timedelta(days=5))
    match = match_incident(mention(0, thread="forum:42"), [inc], window=WINDOW)
    assert match is not None
    assert (match.incident_id, match.rule, match.reason) == (3, "thread", "same thread")


def test_same_thread_beats_a_near_duplicate_elsewhere():
    by_thread = incident(3, threads=("forum:42",), at=T0 - timedelta(hours=1))
    by_text = incident(4, prints=(0b1,), at=T0)
    match = match_incident(mention(0b11, thread="forum:42"), [by_text, by_thread], window=WINDOW)
    assert match.incident_id == 3


def test_near_duplicate_within_the_window_matches_with_its_distance():
    fp = fingerprint(ZH_POST, "zh")
    repost = fingerprint(ZH_REPOSTS["a few characters changed"], "zh")
    inc = incident(3, prints=(FAR, fp), at=T0 - timedelta(hours=5))
    match = match_incident(mention(repost), [inc], window=WINDOW)
    assert match.incident_id == 3 and match.rule == "near_duplicate"
    assert match.distance == hamming(fp, repost)
    assert match.reason == f"near-duplicate of a post in incident #3 (distance {match.distance})"


def test_near_duplicate_outside_the_window_does_not_match():
    inc = incident(3, prints=(0,), terms={"退款": 1, "发霉": 1}, at=T0 - timedelta(hours=7))
    assert match_incident(mention(1, ("退款", "发霉")), [inc], window=WINDOW) is None
    late = incident(4, prints=(1,), at=T0 + timedelta(hours=7))  # a post fetched late
    assert match_incident(mention(1), [late], window=WINDOW) is None
    early = incident(5, prints=(1,), at=T0 + timedelta(hours=5))
    assert match_incident(mention(1), [early], window=WINDOW).incident_id == 5


def test_the_closest_near_duplicate_wins():
    post = 1 << 40
    near = incident(3, prints=(post ^ 0b111,), at=T0)  # 3 bits away
    nearer = incident(4, prints=(FAR, post ^ 0b1), at=T0 - timedelta(hours=2))  # 1 bit
    match = match_incident(mention(post), [near, nearer], window=WINDOW)
    assert match.incident_id == 4 and match.distance == 1


def test_max_distance_is_honoured():
    inc = incident(3, prints=(0b1111_1111,), at=T0)
    assert match_incident(mention(1 << 20), [inc], window=WINDOW) is not None
    assert match_incident(mention(1 << 20), [inc], window=WINDOW, max_distance=4) is None


def test_shared_terms_within_the_window_match_with_the_terms_named():
    inc = incident(3, prints=(FAR,), terms={"发霉": 2, "退款": 1, "面包": 1})
    match = match_incident(mention(1, ("退款", "发霉", "牛奶")), [inc], window=WINDOW)
    assert match.rule == "terms" and match.shared_terms == ("退款", "发霉")
    assert match.reason == "shares terms 退款, 发霉 with incident #3"


def test_one_shared_term_is_not_enough_by_default():
    inc = incident(3, terms={"退款": 9})
    assert match_incident(mention(FAR, ("退款", "牛奶")), [inc], window=WINDOW) is None
    match = match_incident(mention(FAR, ("退款", "牛奶")), [inc], window=WINDOW,
                           min_shared_terms=1)
    assert match.incident_id == 3
    with pytest.raises(ValueError):
        match_incident(mention(), [inc], window=WINDOW, min_shared_terms=0)


def test_shared_terms_outside_the_window_do_not_match():
    inc = incident(3, terms={"退款": 1, "发霉": 1}, at=T0 - WINDOW - timedelta(seconds=1))
    assert match_incident(mention(FAR, ("退款", "发霉")), [inc], window=WINDOW) is None


def test_most_shared_terms_win_then_the_most_recent_incident():
    two = incident(3, terms={"a": 1, "b": 1}, at=T0)
    three = incident(4, terms={"a": 1, "b": 1, "c": 1}, at=T0 - timedelta(hours=3))
    m = mention(FAR, ("a", "b", "c"))
    assert match_incident(m, [two, three], window=WINDOW).incident_id == 4
    older = incident(5, terms={"a": 1, "b": 1}, at=T0 - timedelta(hours=2))
    newer = incident(6, terms={"a": 1, "b": 1}, at=T0 - timedelta(hours=1))
    assert match_incident(mention(FAR, ("a", "b")), [older, newer], window=WINDOW
                          ).incident_id == 6


def test_near_duplicate_beats_shared_terms():
    by_terms = incident(3, terms={"退款": 3, "发霉": 3, "面包": 3}, at=T0)
    by_text = incident(4, prints=(0b11,), at=T0 - timedelta(hours=1))
    match = match_incident(mention(0b10, ("退款", "发霉", "面包")), [by_terms, by_text],
                           window=WINDOW)
    assert match.incident_id == 4 and match.rule == "near_duplicate"


def test_an_incident_is_compared_on_its_most_frequent_terms_only():
    """A long incident piles up one-off terms; they must not make it a magnet."""
    counts = {"发霉": 5, "面包": 5, **{f"词{i:02d}": 1 for i in range(INCIDENT_TERMS + 10)}}
    inc = incident(3, terms=counts)
    late_terms = ("词40", "词41")  # among the one-offs ranked past INCIDENT_TERMS
    assert match_incident(mention(FAR, late_terms), [inc], window=WINDOW) is None
    assert match_incident(mention(FAR, ("发霉", "面包")), [inc], window=WINDOW) is not None


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        mention(at=datetime(2025, 3, 1, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        incident(3, at=datetime(2025, 3, 1, 9, 0))


def test_other_timezones_compare_by_instant():
    beijing = timezone(timedelta(hours=8))
    inc = incident(3, prints=(1,), at=datetime(2025, 3, 1, 17, 0, tzinfo=beijing))  # = T0
    assert match_incident(mention(1), [inc], window=timedelta(minutes=1)) is not None


# ---------------------------------------------------------------- merge_key


def test_merge_key_folds_a_mention_in():
    inc = incident(3, threads=("t1",), prints=(11,), terms={"发霉": 1}, at=T0)
    m = mention(22, ("发霉", "退款", "发霉"), thread="t2", at=T0 + timedelta(hours=1))
    merged = merge_key(inc, m)
    assert merged.thread_keys == {"t1", "t2"}
    assert merged.fingerprints == (11, 22)
    assert dict(merged.term_counts) == {"发霉": 2, "退款": 1}  # once per mention
    assert merged.last_seen_at == T0 + timedelta(hours=1)
    assert dict(inc.term_counts) == {"发霉": 1}  # the original is untouched
    older = merge_key(merged, mention(EMPTY_FINGERPRINT, at=T0 - timedelta(hours=2)))
    assert older.last_seen_at == merged.last_seen_at
    assert older.fingerprints == merged.fingerprints  # an empty fingerprint is not kept


def test_merge_key_keeps_the_latest_fingerprints_only():
    inc = incident(3, prints=tuple(range(1, MAX_FINGERPRINTS + 1)))
    merged = merge_key(inc, mention(999))
    assert len(merged.fingerprints) == MAX_FINGERPRINTS
    assert merged.fingerprints[-1] == 999 and 1 not in merged.fingerprints


def test_merge_key_refuses_another_brand():
    with pytest.raises(ValueError, match="brand"):
        merge_key(incident(3, brand=2), mention(brand=1))


def test_from_mention_opens_an_incident_key():
    m = mention(7, ("发霉",), thread="t9")
    inc = IncidentKey.from_mention(5, m)
    assert (inc.incident_id, inc.brand_id, inc.thread_keys, inc.fingerprints,
            dict(inc.term_counts), inc.last_seen_at) == (5, 1, {"t9"}, (7,), {"发霉": 1}, T0)


def test_merge_key_counts_the_incidents_mentions():
    inc = IncidentKey.from_mention(5, mention(7, ("发霉",)))
    assert inc.mentions == 1
    assert merge_key(merge_key(inc, mention(8)), mention(9)).mentions == 3


# ---------------------------------------------------------------- term background


def test_background_counts_each_term_once_per_mention():
    bg = TermBackground.from_documents([("有人", "有人", "面包"), ("有人",), ()], excluded=[4])
    assert bg.docs == 3 and dict(bg.counts) == {"有人": 2, "面包": 1}
    assert bg.excluded == {4}


def test_common_terms_are_frequent_outside_the_mentions_compared():
    bg = TermBackground(200, {"有人": 30, "咖啡": 6, "鼓包": 20, "退款": 5})
    # 3% of 200 = 6 mentions: "有人" and "咖啡" are how this brand's audience talks
    assert common_terms(["有人", "咖啡", "鼓包", "退款", "新词"], bg) == {"有人", "咖啡", "鼓包"}
    # ... but "鼓包" is common only because of the incident's own 18 mentions
    own = {"鼓包": 18, "有人": 1}
    assert common_terms(["有人", "鼓包"], bg, own=own, own_docs=18) == {"有人"}
    assert common_terms(["有人"], None) == frozenset()  # no history: nothing is common


def test_a_small_background_needs_a_few_mentions_before_calling_a_term_common():
    bg = TermBackground(20, {"有人": 3, "面包": 2})
    assert common_terms(["有人", "面包"], bg) == {"有人"}  # floor of 3, not 3% of 20
    assert common_terms(["有人", "面包"], bg, min_docs=2) == {"有人", "面包"}


def test_generic_words_shared_with_an_incident_do_not_join_it():
    inc = incident(3, prints=(FAR,), terms={"有人": 1, "人买": 1, "咖啡": 1, "值不": 1})
    chatter = mention(1, ("有人", "人买", "值不", "跑鞋"))
    bg = TermBackground(300, {"有人": 40, "人买": 40, "值不": 40, "咖啡": 30, "跑鞋": 30})
    assert match_incident(chatter, [inc], window=WINDOW) is not None  # no background
    assert match_incident(chatter, [inc], window=WINDOW, background=bg) is None


def test_a_matters_own_words_stay_rare_however_big_it_grows():
    inc = IncidentKey(3, 1, frozenset(), (FAR,), {"鼓包": 40, "冒烟": 40, "手机": 40}, T0,
                      mentions=40)
    bg = TermBackground(341, {"鼓包": 41, "冒烟": 41, "手机": 90})  # incl. the 40 and this one
    match = match_incident(mention(1, ("鼓包", "冒烟", "手机")), [inc], window=WINDOW,
                           background=bg)
    assert match is not None and match.shared_terms == ("鼓包", "冒烟")  # 手机 is common


def test_a_grown_incident_left_out_of_the_background_is_not_subtracted_twice():
    inc = IncidentKey(3, 1, frozenset(), (FAR,), {"面霜": 40, "过敏": 40}, T0, mentions=40)
    # incident 3 reached warning, so the stage left its mentions out of the background:
    # the 30 "面霜" are everyday chatter about the product, "过敏" only this mention
    bg = TermBackground(300, {"面霜": 30, "过敏": 1, "红肿": 1}, excluded={3})
    match = match_incident(mention(1, ("面霜", "过敏", "红肿")), [inc], window=WINDOW,
                           background=bg)
    assert match is None  # only 过敏 is shared and distinctive: one term is not enough
    inc2 = IncidentKey(3, 1, frozenset(), (FAR,), {"面霜": 40, "过敏": 40, "红肿": 30}, T0,
                       mentions=40)
    match = match_incident(mention(1, ("面霜", "过敏", "红肿")), [inc2], window=WINDOW,
                           background=bg)
    assert match is not None and match.shared_terms == ("过敏", "红肿")


# ---------------------------------------------------------------- end to end


def cluster_stream(posts: list[tuple[int, str | None, str, str, tuple[str, ...]]],
                   everyday: list[str] = ()) -> list[tuple[int, str]]:
    """Feed (minutes, thread, text, language, brand keywords) through the real
    functions; returns (incident id, rule) per post. ``everyday``: the brand's
    other recent posts, the term background (with every post fed so far in it)."""
    open_incidents: dict[int, IncidentKey] = {}
    out, seen = [], [salient_terms(t, "zh", exclude=ZH_BRAND, limit=64) for t in everyday]
    for minutes, thread, text, language, brand in posts:
        m = MentionKey(1, thread, "test", T0 + timedelta(minutes=minutes),
                       fingerprint(text, language),
                       salient_terms(text, language, exclude=brand))
        seen.append(salient_terms(text, language, exclude=brand, limit=64))
        bg = TermBackground.from_documents(seen) if everyday else None
        match = match_incident(m, list(open_incidents.values()), window=WINDOW, background=bg)
        if match is None:
            new_id = len(open_incidents) + 1
            open_incidents[new_id] = IncidentKey.from_mention(new_id, m)
            out.append((new_id, "new"))
        else:
            open_incidents[match.incident_id] = merge_key(open_incidents[match.incident_id], m)
            out.append((match.incident_id, match.rule))
    return out


def test_a_stream_of_posts_groups_into_matters():
    posts = [
        (0, None, ZH_POST, "zh", ZH_BRAND),
        (5, None, ZH_OTHERS[1], "zh", ZH_BRAND),  # late fruit delivery: a new matter
        (10, None, ZH_REPOSTS["repost prefix"], "zh", ZH_BRAND),
        (20, None, "喵喵家的面包保质期内就长了霉点，发霉严重，客服说退款要等审核", "zh", ZH_BRAND),
        (30, "bbs:77", ZH_OTHERS[2], "zh", ZH_BRAND),  # glass in eggs: a new matter
        (40, "bbs:77", "楼主孩子没事吧？", "zh", ZH_BRAND),  # a reply in that thread
        (50, None, ZH_REPOSTS["traditional script"], "zh", ZH_BRAND),
        (60 * 24, None, ZH_POST, "zh", ZH_BRAND),  # a day later: outside the window
    ]
    assert cluster_stream(posts) == [(1, "new"), (2, "new"), (1, "near_duplicate"),
                                     (1, "terms"), (3, "new"), (3, "thread"),
                                     (1, "near_duplicate"), (4, "new")]


CHATTER = ("有人买过喵喵超市的{}吗？值不值", "喵喵超市的{}什么时候到货？",
           "喵喵超市门店今天人好多，{}都卖完了", "喵喵超市{}打八折，挺划算")
PRODUCTS = ("面包", "牛奶", "鸡蛋", "水果", "饼干", "酸奶", "咖啡", "大米")


def test_everyday_phrasing_does_not_group_but_a_matter_still_does():
    """The simulated-stream failure: questions the Chinese model reads as negative
    shared 有人/人买/值不 and product names, grouped and "grew"."""
    everyday = [t.format(p) for t in CHATTER for p in PRODUCTS] * 3  # a few days of chatter
    posts = [(0, None, "有人买过喵喵超市的面包吗？值不值", "zh", ZH_BRAND),
             (10, None, "喵喵超市的面包什么时候到货？有人买过吗", "zh", ZH_BRAND),
             (20, None, "喵喵超市门店今天人好多，面包都卖完了，值不值得排队", "zh", ZH_BRAND),
             (30, None, ZH_POST, "zh", ZH_BRAND),
             (40, None, "喵喵家的面包保质期内就长了霉点，发霉严重，客服说退款要等审核", "zh",
              ZH_BRAND)]
    # without a background the three questions are one "growing" incident
    assert cluster_stream(posts) == [(1, "new"), (1, "terms"), (1, "terms"), (2, "new"),
                                     (2, "terms")]
    assert cluster_stream(posts, everyday) == [(1, "new"), (2, "new"), (3, "new"), (4, "new"),
                                               (4, "terms")]


def test_an_english_stream_groups_into_matters():
    posts = [
        (0, None, EN_POST, "en", EN_BRAND),
        (3, None, EN_OTHERS[0], "en", EN_BRAND),
        (6, None, EN_REPOSTS["RT prefix"], "en", EN_BRAND),
        (9, None, "Acme sourdough again: mould all over it days before the best-before "
                  "date, and no refund. Disgusting.", "en", EN_BRAND),
        (12, None, EN_OTHERS[1], "en", EN_BRAND),
    ]
    assert [i for i, _ in cluster_stream(posts)] == [1, 2, 1, 1, 3]


# ---------------------------------------------------------------- real data

def _texts(path, column, keep):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(dict.fromkeys(r[column] for r in csv.DictReader(fh) if keep(r)))


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent")
def test_different_real_complaints_about_one_airline_rarely_look_duplicated():
    """Measured ~6 in a million pairs (half of them real copies); guard 3e-5."""
    texts = _texts(SHARED_DATA / "en" / "airline_tweets.csv", "text",
                   lambda r: r["airline"] == "United" and r["airline_sentiment"] == "negative")
    prints = [p for p in (fingerprint(t, "en") for t in texts[:1000]) if p != EMPTY_FINGERPRINT]
    pairs = close = 0
    for i, a in enumerate(prints):
        for b in prints[i + 1:]:
            pairs += 1
            close += near_duplicate(a, b)
    assert pairs > 300_000
    assert close / pairs < 3e-5


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent")
def test_real_reviews_with_one_character_changed_stay_near_duplicates():
    """Measured 94% within 12 bits for one random substitution; guard 88%."""
    texts = [t for t in _texts(SHARED_DATA / "zh" / "waimai_10k.csv", "review",
                               lambda r: r["label"] == "0") if len(t) >= 20][:400]
    rng = random.Random(7)
    kept = 0
    for text in texts:
        chars = list(text)
        chars[rng.randrange(len(chars))] = rng.choice("的一是不了人我在有他这中大来上个")
        kept += near_duplicate(fingerprint(text, "zh"), fingerprint("".join(chars), "zh"))
    assert kept / len(texts) >= 0.88


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent")
def test_real_tweets_with_one_word_changed_mostly_stay_near_duplicates():
    """Measured 83% within 12 bits for one random word replaced; guard 78%. The
    rest join through shared terms (see the repost test above)."""
    texts = [t for t in _texts(SHARED_DATA / "en" / "airline_tweets.csv", "text",
                               lambda r: r["airline_sentiment"] == "negative")
             if len(t) >= 60][:400]
    rng = random.Random(7)
    kept = 0
    for text in texts:
        words = text.split()
        words[rng.randrange(len(words))] = rng.choice(["really", "flight", "awful", "gate"])
        kept += near_duplicate(fingerprint(text, "en"), fingerprint(" ".join(words), "en"))
    assert kept / len(texts) >= 0.78


@pytest.mark.realdata
@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent")
def test_real_weibo_repost_chains_join_on_the_original_and_nothing_else():
    """Weibo reposts carry a comment before "//@user:". Of 320k pairs of 800 such
    posts, ~1,800 join only through the quoted original, all of them copies of one
    text (measured: none below 0.8 similarity; at 12 bits, 367 different posts under
    one hashtag would have joined too)."""
    import difflib
    import json

    from monitor.detection.simhash import prepare

    path = SHARED_DATA / "social" / "zh" / "smp2020_virus_train.json"
    posts = json.loads(path.read_text(encoding="utf-8"))
    texts = [t for t in dict.fromkeys(p["content"] for p in posts) if "//@" in t][:800]
    keys = [copy_key("", t, "zh") for t in texts]
    opened = [IncidentKey.from_mention(i, k) for i, k in enumerate(keys)]
    copies = strangers = 0
    for j, key in enumerate(keys):
        for i in range(j):
            match = match_incident(key, [opened[i]], window=WINDOW)
            if match is None or "apart from" not in match.reason:
                continue
            sides = [[prepare(t)] + [prepare(q) for q in copied_parts(t)]
                     for t in (texts[i], texts[j])]
            similar = max(difflib.SequenceMatcher(None, a, b).ratio()
                          for a in sides[0] for b in sides[1])
            copies += similar >= 0.8
            strangers += similar < 0.8
    assert copies > 1000
    assert strangers <= 2
