"""The text of the simulated streams (``simulate.py``): product names, everyday
chatter, ordinary complaints, crisis topics with their first posts, follow-ups and
reposts, in English and Chinese.

Chatter has no word of monitor/lexicon/cues.yaml; ordinary complaints only weak
cues (service, defect); crisis posts carry strong ones (media, legal, safety,
group action, viral, deleted posts). tests/test_simulate.py checks this.
"""

from __future__ import annotations

import re

PRODUCTS = {
    "en": ("X2 phone", "air fryer", "smart kettle", "running shoes", "face cream", "e-bike",
           "earbuds", "coffee machine"),
    "zh": ("X2手机", "空气炸锅", "电热水壶", "跑鞋", "面霜", "电动车", "耳机", "咖啡机"),
}

CHATTER = {
    "en": ("Just picked up my {brand} order, looks fine",
           "Does anyone know when the new {brand} {product} comes out?",
           "Loving the {brand} {product} so far, great value",
           "{brand} has a sale on the {product} this weekend",
           "My {brand} {product} arrived today, nice packaging",
           "The {brand} {product} is decent for the price",
           "Thanks {brand}, the {product} does the job",
           "Which colour of the {brand} {product} should I get?",
           "Comparing the {brand} {product} with the older model, any tips?",
           "Used the {brand} {product} all week, pretty happy with it"),
    "zh": ("{brand}的新款{product}什么时候出？",
           "刚收到{brand}的{product}，包装不错",
           "{brand}{product}用了一个月，感觉还可以",
           "有人买过{brand}的{product}吗？值不值",
           "{brand}周末有活动，{product}打八折",
           "推荐一下{brand}{product}，性价比挺高",
           "{brand}{product}颜色选哪个好看？",
           "{brand}门店今天人好多，{product}都卖完了"),
}

COMPLAINTS = {
    "en": ("{brand} delivery is late again, annoyed",
           "{brand} customer service kept me on hold for 40 minutes",
           "My {brand} {product} stopped working after two weeks",
           "Not impressed with the {brand} {product}, feels cheaply made",
           "{brand} support never replied to my email about the {product}",
           "The {brand} app logs me out every day, so annoying",
           "{brand} charged me twice for the {product}, waiting for them to sort it"),
    "zh": ("{brand}客服态度太差了",
           "{brand}的快递又晚了，烦",
           "{brand}{product}用了两周就坏了",
           "{brand}{product}质量一般，有点失望",
           "{brand}客服打不通，等了半小时",
           "{brand}的App老是闪退，无语",
           "{brand}{product}的说明书写得乱七八糟"),
}

# A crisis's matter: a product and what happened to it, in both languages.
TOPICS = (
    {"en": ("charger", "caught fire"), "zh": ("充电器", "起火")},
    {"en": ("baby formula", "had bits of metal in it"), "zh": ("婴儿奶粉", "吃出金属异物")},
    {"en": ("e-bike", "lost its brakes on a hill"), "zh": ("电动车", "下坡刹车失灵")},
    {"en": ("face cream", "caused an allergic reaction"), "zh": ("面霜", "用了过敏红肿")},
    {"en": ("X2 phone", "overheated and the battery swelled"), "zh": ("X2手机", "电池鼓包冒烟")},
)

ORIGINS = {
    "en": ("My {brand} {product} {issue} and {brand} refused a refund. Talking to a lawyer now.",
           "Warning: my {brand} {product} {issue}. Customer service hung up on me, "
           "I'm going to the media.",
           "{brand} {product} {issue} last night. {brand} says it's my fault. Please share."),
    "zh": ("{brand}{product}{issue}，{brand}拒绝退款，已经找了律师",
           "曝光：{brand}{product}{issue}！客服还说是我们自己的问题",
           "{brand}的{product}{issue}，已经打了12315，大家帮忙转发"),
}

FOLLOW_UPS = {
    "en": ("Same here, my {brand} {product} {issue} too. I'm not the only one.",
           "Anyone else having this? {brand} {product} {issue}. Time for a class action.",
           "The {brand} {product} story is going viral and {brand} is still silent.",
           "{brand} deleted my post about the {product} that {issue}. Spread the word.",
           "A reporter contacted me about the {brand} {product} that {issue}.",
           "Please share: {brand} {product} {issue} and they refuse refunds.",
           "Reported {brand} to trading standards, the {product} {issue} for my sister too.",
           "My lawyer says the {brand} {product} that {issue} is a safety recall case."),
    "zh": ("我家的{brand}{product}也{issue}，不是个例！",
           "{brand}{product}{issue}的事已经疯传了，{brand}还不回应",
           "大家一起维权！{brand}{product}{issue}，已经拉了维权群",
           "已联系记者曝光{brand}{product}{issue}",
           "{brand}把我说{product}{issue}的帖子删了，删帖有用吗？",
           "打了12315投诉{brand}{product}{issue}，等结果",
           "{brand}{product}{issue}，律师说可以退一赔三"),
}

REPOSTS = {
    "en": ("Reposting for visibility: {origin}", "RT {origin}", "{origin} #{brand}fail",
           "Saw this on {source}, please share: {origin}"),
    "zh": ("转发：{origin}", "扩散！{origin}", "{origin} 顶上去",
           "在{source}看到的，帮转：{origin}"),
}

_SENTENCE_END = re.compile(r"[.!?。！？]")


def title_of(text: str, limit: int = 80) -> str:
    """A forum title: the first sentence of the text."""
    head = _SENTENCE_END.split(text, maxsplit=1)[0].strip() or text
    return head[:limit]
