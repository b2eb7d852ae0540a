"""Playbook file validation: every problem with a playbook's fields, as "key:
problem" strings (``alerts/playbooks.py`` adds the file name and reads, builds and
picks playbooks). Pure: a parsed YAML mapping in, messages out.

The product never recommends astroturfing, sock puppets, deleting or burying
posts, or pressure on the complainant (seed 004 itself says blocking and
deleting backfire). Validation enforces it: the advice fields (first steps,
checks, holding statement, escalation) are scanned for such recommendations in
en and zh. Those fields say what to do; what not to do goes in ``never_do``,
which is not scanned, because naming the taboo is the point of it.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from alerts.durations import parse_duration
from alerts.statement import CLAUSE_ONLY, PLACEHOLDERS, bare_placeholders
from db.messages import said

LANGS = ("en", "zh")
REQUIRED = ("name", "title", "owner", "first_steps", "holding_statement", "escalation",
            "never_say")
OPTIONAL = ("default", "priority", "categories", "cues", "response_time", "never_do",
            "check_first", "triage", "placeholder_defaults")
TEXT_FIELDS = ("title", "owner", "holding_statement", "escalation", "triage")
LIST_FIELDS = ("first_steps", "never_say", "never_do", "check_first")
ADVICE_FIELDS = ("first_steps", "check_first", "holding_statement", "escalation")

_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_BRACED = re.compile(r"\{[^{}]*\}|[{}]")


def _forbidden(pattern: str, what: str) -> tuple[re.Pattern[str], str]:
    return re.compile(pattern, re.IGNORECASE), what


_POSTS = r"(?:posts?|reviews?|comments?|threads?|tweets?|complaints?|content|videos?|articles?)"
_OWNERS = (r"(?:(?:the|their|his|her|its|this|that|these|those|all|any|negative|bad|critical|"
           r"angry|customer'?s?|complainant'?s?|offending|original)\s+)*")
_PEOPLE = (r"customers?|complainants?|posters?|authors?|users?|consumers?|critics?|reviewers?|"
           r"organi[sz]ers?|protesters?")
_PERSON = rf"(?:{_PEOPLE})"
_DELETING = "deleting, hiding or burying posts"
_ASTROTURF = "astroturfing (sock puppets, posing as customers, fake reviews)"
_PRESSURE = "pressure on the complainant"

# A small list of unmistakable recommendations, not a classifier: it keeps the
# built-ins and admins' files honest, and the wording of real advice avoids it.
FORBIDDEN: tuple[tuple[re.Pattern[str], str], ...] = (
    _forbidden(r"\b(?:delet|remov|hid|bur(?:y|ie|yi)|sink|suppress)\w*\s+" + _OWNERS + _POSTS
               + r"\b", _DELETING),
    _forbidden(r"\b(?:take|taking|took|push|pushing)\s+(?:down\s+" + _OWNERS + _POSTS + r"|"
               + _OWNERS + _POSTS + r"\s+down)\b", _DELETING),
    _forbidden(r"\b" + _POSTS + r"\s+(?:deleted|removed|taken down|hidden|buried|sunk)\b",
               _DELETING),
    _forbidden(r"[删刪](?:除|掉)?[^，。；,;]{0,6}(?:[帖贴貼]|评论|評論|差评|差評|微博|视频|視頻|内容|內容|文章)",
               _DELETING),
    _forbidden(r"[删刪]评|[沉压壓降撤][帖贴貼]|[帖贴貼]子?沉|[压壓撤降]热搜|降热度|撤稿|控评|控評|"
               r"(?:屏蔽|隐藏|隱藏)(?:帖|贴|評|评|差评|内容)", _DELETING),
    _forbidden(r"\bsock[\s-]?puppets?\b|\bastroturf\w*|\bwater army\b|\bbot accounts?\b",
               _ASTROTURF),
    _forbidden(r"\bfake\s+(?:positive\s+)?(?:reviews?|accounts?|customers?|comments?|posts?|"
               r"profiles?|followers?|ratings?)\b", _ASTROTURF),
    _forbidden(r"\b(?:pose|posing|pretend\w*|masquerad\w*|impersonat\w*)\s+"
               r"(?:as\s+|to\s+be\s+)?(?:an?\s+)?"
               r"(?:other\s+|another\s+|happy\s+|real\s+|satisfied\s+|ordinary\s+)?"
               r"(?:customers?|users?|buyers?|consumers?|netizens?|fans?|owners?)\b", _ASTROTURF),
    _forbidden(r"\bpaid\s+(?:posters?|commenters?|reviews?|trolls?)\b|"
               r"\b(?:buy|buying|bought)\s+(?:positive\s+)?(?:reviews|likes|followers|ratings)\b|"
               r"\bflood\w*\s+the\s+(?:comments|thread|replies)\b", _ASTROTURF),
    _forbidden(r"水[军軍]|马甲|馬甲|冒充|假冒(?:顾客|客户|网友|消费者)|(?:伪装|偽裝|化装|化妝)成|"
               r"刷好评|刷评|刷單|刷单|买好评|買好評|(?:虚假|假)评论|好评返现|带节奏", _ASTROTURF),
    _forbidden(r"\b(?:pressur\w*|intimidat\w*|threaten\w*|harass\w*|silenc\w*|gag|block)\s+"
               r"(?:the\s+|this\s+|that\s+)?" + _PERSON + r"\b", _PRESSURE),
    _forbidden(r"\bcall\w*\s+the\s+police\s+on\b|\bdox\w*\b|"
               r"\b(?:contact|call|visit|tell|complain)\w*\s+(?:to\s+)?(?:their|his|her|the\s+\w+'s)"
               r"\s+(?:employer|boss|school|family|workplace)\b", _PRESSURE),
    _forbidden(r"\b(?:in exchange for|on condition (?:that|of)|conditional on|provided (?:that )?"
               r"they)\b[^.;]{0,40}\b(?:delet\w*|remov\w*|tak\w* down|silen\w*|keep\w* quiet|"
               r"withdraw\w*)|\b(?:ask|require|demand)\w*\s+(?:for\s+)?(?:their\s+)?silence\b",
               _PRESSURE),
    _forbidden(r"\b(?:ask|get|make|persuade|tell|urge)\w*\s+(?:the\s+)?(?:" + _PEOPLE
               + r"|them|him|her)\s+(?:to|for)\s+(?:delete|remove|withdraw|retract|take\s+down|"
               r"[^.;]{0,30}\b(?:positive|good|five-star|5-star)\s+(?:reviews?|ratings?))",
               _PRESSURE),
    _forbidden(r"\b(?:publish|post|leak|share)\w*\s+(?:the\s+|their\s+|his\s+|her\s+)(?:\w+'s\s+)?"
               r"(?:private|personal|contact)\s+(?:details|information|data|address)", _PRESSURE),
    _forbidden(r"(?:向|对|對|给|給)[^，。；,;]{0,12}施[压壓]|(?:威胁|威脅|恐吓|恐嚇|骚扰|騷擾)"
               r"(?:客户|顾客|投诉人|消费者|对方|当事人|博主|网友)|封口费|捂嘴|禁言|扭送|"
               r"拉黑(?:客户|顾客|投诉人|用户|对方)|公开(?:客户|对方|投诉人|其)?的?(?:个人信息|住址|电话)",
               _PRESSURE),
    _forbidden(r"(?:找|联系|聯繫|通知)(?:其|他|她|对方|客户|投诉人)?的?(?:单位|單位|家人|领导|學校|学校)|"
               r"[对對](?:客户|顾客|投诉人|对方|其|消费者|当事人|博主|网友)[^，。；,;]{0,10}报警|"
               r"因[^，。；,;]{0,12}(?:投诉|维权|聚集|抱怨|不满|表达)[^，。；,;]{0,6}报警|"
               r"保持沉默作为|以[^，。；,;]{0,8}保持沉默|"
               r"(?:要求|让|讓|请|請|劝|勸)(?:客户|顾客|投诉人|对方|其|他|她|博主|网友)[^，。；,;]{0,6}"
               r"(?:删|刪|撤回|撤销|撤诉|保持沉默|好评|好評|不再发)", _PRESSURE),
)


# --- validation: each check returns "key: problem" strings, the file name is added later ---


def _check_keys(data: dict, stem: str) -> list[str]:
    known = set(REQUIRED) | set(OPTIONAL)
    problems = [said("%(key)s: unknown key (known: %(all)s)", key=key,
                     all=", ".join(REQUIRED + OPTIONAL))
                for key in sorted(set(map(str, data)) - known)]
    problems += [said("%(key)s: missing", key=key) for key in REQUIRED if key not in data]
    if "name" in data and data["name"] != stem:
        problems.append(said("name: must equal the file name (%(stem)r), not %(name)r",
                             stem=stem, name=data["name"]))
    return problems


def _check_languages(key: str, value: object) -> list[str]:
    if not isinstance(value, dict):
        return [said("%(key)s: must be a mapping with en and zh", key=key)]
    extra = sorted(set(map(str, value)) - set(LANGS))
    return [said("%(key)s: unknown language (use en and zh)", key=f"{key}.{lang}")
            for lang in extra]


def _check_texts(data: dict, stem: str) -> list[str]:
    problems = []
    for key in (k for k in TEXT_FIELDS if k in data):
        value = data[key]
        problems += _check_languages(key, value)
        if isinstance(value, dict):
            problems += [said("%(key)s: must be non-empty text", key=f"{key}.{lang}")
                         for lang in LANGS
                         if not isinstance(value.get(lang), str) or not value[lang].strip()]
    return problems


def _is_text_list(value: object) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(item, str) and item.strip() for item in value))


def _check_lists(data: dict, stem: str) -> list[str]:
    problems = []
    for key in (k for k in LIST_FIELDS if k in data):
        value = data[key]
        problems += _check_languages(key, value)
        if isinstance(value, dict):
            problems += [said("%(key)s: must be a non-empty list of strings", key=f"{key}.{lang}")
                         for lang in LANGS if not _is_text_list(value.get(lang))]
    return problems


def _check_scalars(data: dict, stem: str) -> list[str]:
    problems = []
    if "default" in data and not isinstance(data["default"], bool):
        problems.append(said("default: must be true or false"))
    priority = data.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        problems.append(said("priority: must be a whole number"))
    if "response_time" in data:
        try:
            parse_duration(data["response_time"])
        except ValueError as exc:
            problems.append(said("response_time: %(problem)s",
                                 problem=exc.args[0] if exc.args else str(exc)))
    return problems


def _check_key_list(key: str, value: object, known: Collection[str] | None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return [said("%(key)s: must be a list of keys", key=key)]
    if known is None:
        return []
    return [said("%(key)s: unknown key %(value)r (known: %(all)s)", key=key, value=v,
                 all=", ".join(sorted(known))) for v in value if v not in known]


def _check_placeholders(data: dict, stem: str) -> list[str]:
    """Known placeholders only, and the facts (``{place}``) only in an optional
    clause (alerts/statement.py): a statement must not invent a store for a post."""
    problems = []
    for lang, text in _lang_texts(data.get("holding_statement")):
        bad = [m for m in _BRACED.findall(text) if not _PLACEHOLDER.fullmatch(m)]
        if bad:
            allowed = " ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            problems.append(said("%(key)s: unknown placeholder(s) %(bad)s (allowed: %(allowed)s)",
                                 key=f"holding_statement.{lang}",
                                 bad=", ".join(dict.fromkeys(bad)), allowed=allowed))
        for key in dict.fromkeys(k for k in bare_placeholders(text) if k in CLAUSE_ONLY):
            problems.append(said(
                "%(key)s: {%(name)s} must be inside an optional clause in square brackets, "
                'e.g. "[ at {%(name)s}]", which is left out when the incident names none '
                "(an online post does not)", key=f"holding_statement.{lang}", name=key))
    return problems


def _check_placeholder_defaults(data: dict, stem: str) -> list[str]:
    if "placeholder_defaults" not in data:
        return []
    value = data["placeholder_defaults"]
    allowed = [p for p in PLACEHOLDERS if p != "brand" and p not in CLAUSE_ONLY]
    if not isinstance(value, dict):
        return [said("placeholder_defaults: must be a mapping of %(all)s",
                     all=", ".join(allowed))]
    problems = [said("placeholder_defaults.%(name)s: a %(name)s is a fact of the incident, "
                     "not a default: put {%(name)s} in an optional clause instead", name=k)
                for k in map(str, value) if k in CLAUSE_ONLY]
    problems += [said("%(key)s: unknown placeholder (allowed: %(all)s)",
                      key=f"placeholder_defaults.{k}", all=", ".join(allowed))
                 for k in map(str, value) if k not in allowed and k not in CLAUSE_ONLY]
    for key in (k for k in allowed if k in value):
        where = f"placeholder_defaults.{key}"
        problems += _check_languages(where, value[key])
        if isinstance(value[key], dict):
            problems += [said("%(key)s: must be non-empty text", key=f"{where}.{lang}")
                         for lang in LANGS if not isinstance(value[key].get(lang), str)
                         or not value[key][lang].strip()]
    return problems


def _lang_texts(value: object) -> list[tuple[str, str]]:
    """(key suffix, text) for every string of a bilingual text or list field."""
    if not isinstance(value, dict):
        return []
    found = []
    for lang in LANGS:
        item = value.get(lang)
        if isinstance(item, str):
            found.append((lang, item))
        elif isinstance(item, list):
            found += [(f"{lang}[{i}]", s) for i, s in enumerate(item) if isinstance(s, str)]
    return found


def recommends_forbidden(text: str) -> tuple[str, str] | None:
    """(matched words, what is recommended) if ``text`` recommends astroturfing,
    deleting or burying posts, or pressure on the complainant; else None."""
    for pattern, what in FORBIDDEN:
        match = pattern.search(text)
        if match:
            return match.group(0), what
    return None


def _check_recommendations(data: dict, stem: str) -> list[str]:
    problems = []
    for key in ADVICE_FIELDS:
        for where, text in _lang_texts(data.get(key)):
            found = recommends_forbidden(text)
            if found:
                problems.append(said(
                    "%(key)s: recommends %(what)s (%(words)r), which crisiswatch never does; "
                    "say what to do here and list what not to do under never_do",
                    key=f"{key}.{where}", what=found[1], words=found[0]))
    return problems


_CHECKS = (_check_keys, _check_texts, _check_lists, _check_scalars, _check_placeholders,
           _check_placeholder_defaults, _check_recommendations)


def check_fields(data: dict, stem: str, *, categories: Collection[str] | None = None,
                 cues: Collection[str] | None = None) -> list[str]:
    """Every problem with one playbook's fields (``stem``: its file name without
    ``.yaml``). ``categories``/``cues``, when given, are the known keys: a typo there
    would otherwise make a playbook silently never match."""
    found = [p for check in _CHECKS for p in check(data, stem)]
    if "categories" in data:
        found += _check_key_list("categories", data["categories"], categories)
    if "cues" in data:
        found += _check_key_list("cues", data["cues"], cues)
    return found
