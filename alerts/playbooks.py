"""Playbooks are data (YAML, bilingual en/zh), one per incident category, written
from the seed texts (../shared/seeds). This module reads and validates them and
picks one for an incident; ``choose_playbook`` is a pure function.

Built-ins live in ``alerts/playbooks/``; admins may add their own in the folder
the config names (``playbooks_dir``): same format, and a file with the name of a
built-in replaces it. Every problem in every file is reported at once, naming
the file and the key (``safety_incident.yaml: first_steps.zh: ...``), so an admin
fixes a folder in one pass.

The product never recommends astroturfing, sock puppets, deleting or burying
posts, or pressure on the complainant (seed 004 itself says blocking and
deleting backfire). Validation enforces it: the advice fields (first steps,
checks, holding statement, escalation) are scanned for such recommendations in
en and zh. Those fields say what to do; what not to do goes in ``never_do``,
which is not scanned, because naming the taboo is the point of it.

Holding-statement placeholders (filled by alerts/render.py): ``{brand}`` the brand
name; ``{product}`` the product or service as customers call it, written after
the brand ("your {brand} {product}"); ``{place}`` a store, branch or city, after
"at"; ``{time}`` a date or "recently", after a verb ("posted {time}"). A missing
value falls back to the playbook's ``placeholder_defaults``, then to neutral words.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from alerts.durations import parse_duration

BUILTIN = Path(__file__).parent / "playbooks"
LANGS = ("en", "zh")
PLACEHOLDERS = ("brand", "product", "time", "place")

REQUIRED = ("name", "title", "owner", "first_steps", "holding_statement", "escalation",
            "never_say")
OPTIONAL = ("default", "priority", "categories", "cues", "response_time", "never_do",
            "check_first", "triage", "placeholder_defaults")
TEXT_FIELDS = ("title", "owner", "holding_statement", "escalation", "triage")
LIST_FIELDS = ("first_steps", "never_say", "never_do", "check_first")
ADVICE_FIELDS = ("first_steps", "check_first", "holding_statement", "escalation")
DEFAULT_RESPONSE_TIME = "24h"

# The same grammar as monitor.config.parse_duration (tests check they agree):
# alerts/ may import only db/ (DESIGN.md layout), so it cannot import monitor/.
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_BRACED = re.compile(r"\{[^{}]*\}|[{}]")


class PlaybookError(ValueError):
    """A playbook file is invalid; the message names the file and key (one line per problem)."""


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


@dataclass(frozen=True)
class Playbook:
    """One playbook. Bilingual fields map "en" and "zh" to text or a list of text.
    ``categories`` are the incident categories it covers (monitor/lexicon/
    categories.yaml); ``cues`` the crisis cues (cues.yaml) that pick it when an
    incident has no category. Fields after ``never_say`` have defaults, so
    playbooks built in code before they existed still work."""

    name: str
    title: dict[str, str]
    default: bool
    priority: int
    categories: frozenset[str]
    owner: dict[str, str]
    response_time: str
    first_steps: dict[str, list[str]]
    holding_statement: dict[str, str]
    escalation: dict[str, str]
    never_say: dict[str, list[str]]
    never_do: dict[str, list[str]] = field(default_factory=lambda: {"en": [], "zh": []})
    check_first: dict[str, list[str]] = field(default_factory=lambda: {"en": [], "zh": []})
    triage: dict[str, str] = field(default_factory=lambda: {"en": "", "zh": ""})
    cues: frozenset[str] = frozenset()
    placeholder_defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str = "builtin"  # or "custom": from the admin's playbooks_dir

    @property
    def response_seconds(self) -> float:
        """The promised first-response time in seconds: seed 001's trust formula
        (1 - reply_time / promised_reply_time) needs it as a number."""
        return duration_seconds(self.response_time)

    def text(self, field: str, lang: str):  # noqa: ANN201 - str or list
        """A bilingual field in ``lang``, falling back to English."""
        value = getattr(self, field)
        return value.get(lang) or value.get("en")


duration_seconds = parse_duration  # the config's grammar, one parser


# --- validation: each check returns "key: problem" strings, the file name is added later ---


def _check_keys(data: dict, stem: str) -> list[str]:
    known = set(REQUIRED) | set(OPTIONAL)
    problems = [f"{key}: unknown key (known: {', '.join(REQUIRED + OPTIONAL)})"
                for key in sorted(set(map(str, data)) - known)]
    problems += [f"{key}: missing" for key in REQUIRED if key not in data]
    if "name" in data and data["name"] != stem:
        problems.append(f"name: must equal the file name ({stem!r}), not {data['name']!r}")
    return problems


def _check_languages(key: str, value: object) -> list[str]:
    if not isinstance(value, dict):
        return [f"{key}: must be a mapping with en and zh"]
    extra = sorted(set(map(str, value)) - set(LANGS))
    return [f"{key}.{lang}: unknown language (use en and zh)" for lang in extra]


def _check_texts(data: dict, stem: str) -> list[str]:
    problems = []
    for key in (k for k in TEXT_FIELDS if k in data):
        value = data[key]
        problems += _check_languages(key, value)
        if isinstance(value, dict):
            problems += [f"{key}.{lang}: must be non-empty text" for lang in LANGS
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
            problems += [f"{key}.{lang}: must be a non-empty list of strings" for lang in LANGS
                         if not _is_text_list(value.get(lang))]
    return problems


def _check_scalars(data: dict, stem: str) -> list[str]:
    problems = []
    if "default" in data and not isinstance(data["default"], bool):
        problems.append("default: must be true or false")
    priority = data.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        problems.append("priority: must be a whole number")
    if "response_time" in data:
        try:
            duration_seconds(data["response_time"])
        except ValueError as exc:
            problems.append(f"response_time: {exc}")
    return problems


def _check_key_list(key: str, value: object, known: Collection[str] | None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return [f"{key}: must be a list of keys"]
    if known is None:
        return []
    return [f"{key}: unknown key {v!r} (known: {', '.join(sorted(known))})"
            for v in value if v not in known]


def _check_placeholders(data: dict, stem: str) -> list[str]:
    problems = []
    for lang, text in _lang_texts(data.get("holding_statement")):
        bad = [m for m in _BRACED.findall(text) if not _PLACEHOLDER.fullmatch(m)]
        if bad:
            allowed = " ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            problems.append(f"holding_statement.{lang}: unknown placeholder(s) "
                            f"{', '.join(dict.fromkeys(bad))} (allowed: {allowed})")
    return problems


def _check_placeholder_defaults(data: dict, stem: str) -> list[str]:
    if "placeholder_defaults" not in data:
        return []
    value = data["placeholder_defaults"]
    allowed = [p for p in PLACEHOLDERS if p != "brand"]
    if not isinstance(value, dict):
        return [f"placeholder_defaults: must be a mapping of {', '.join(allowed)}"]
    problems = [f"placeholder_defaults.{k}: unknown placeholder (allowed: {', '.join(allowed)})"
                for k in map(str, value) if k not in allowed]
    for key in (k for k in allowed if k in value):
        where = f"placeholder_defaults.{key}"
        problems += _check_languages(where, value[key])
        if isinstance(value[key], dict):
            problems += [f"{where}.{lang}: must be non-empty text" for lang in LANGS
                         if not isinstance(value[key].get(lang), str)
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
                problems.append(f"{key}.{where}: recommends {found[1]} ({found[0]!r}), which "
                                "crisiswatch never does; say what to do here and list what "
                                "not to do under never_do")
    return problems


_CHECKS = (_check_keys, _check_texts, _check_lists, _check_scalars, _check_placeholders,
           _check_placeholder_defaults, _check_recommendations)


def _read(path: Path) -> tuple[object, list[str]]:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), []
    except OSError as exc:
        return None, [f"{path.name}: cannot read ({exc.strerror or exc})"]
    except UnicodeDecodeError:
        return None, [f"{path.name}: not UTF-8 text"]
    except yaml.YAMLError as exc:
        return None, [f"{path.name}: not valid YAML: {' '.join(str(exc).split())}"]


def _build(data: dict, source: str) -> Playbook:
    empty = {"en": [], "zh": []}
    return Playbook(
        name=data["name"], title=data["title"], default=data.get("default", False),
        priority=data.get("priority", 0), categories=frozenset(data.get("categories") or ()),
        owner=data["owner"], response_time=str(data.get("response_time",
                                                        DEFAULT_RESPONSE_TIME)),
        first_steps=data["first_steps"], holding_statement=data["holding_statement"],
        escalation=data["escalation"], never_say=data["never_say"],
        never_do=data.get("never_do") or empty, check_first=data.get("check_first") or empty,
        triage=data.get("triage") or {"en": "", "zh": ""},
        cues=frozenset(data.get("cues") or ()),
        placeholder_defaults=data.get("placeholder_defaults") or {}, source=source)


def check_playbook(path: Path, *, source: str = "builtin",
                   categories: Collection[str] | None = None,
                   cues: Collection[str] | None = None) -> tuple[Playbook | None, list[str]]:
    """The playbook in ``path`` and every problem with it (the playbook is None if
    there are any). ``categories``/``cues``, when given, are the known keys: a typo
    there would otherwise make a playbook silently never match."""
    data, problems = _read(path)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [f"{path.name}: expected a mapping of playbook fields"]
    found = [p for check in _CHECKS for p in check(data, path.stem)]
    if "categories" in data:
        found += _check_key_list("categories", data["categories"], categories)
    if "cues" in data:
        found += _check_key_list("cues", data["cues"], cues)
    if found:
        return None, [f"{path.name}: {p}" for p in found]
    return _build(data, source), []


def parse_playbook(path: Path, *, source: str = "builtin",
                   categories: Collection[str] | None = None,
                   cues: Collection[str] | None = None) -> Playbook:
    """One playbook file, or ``PlaybookError`` listing all of its problems."""
    book, problems = check_playbook(path, source=source, categories=categories, cues=cues)
    if book is None:
        raise PlaybookError("\n".join(problems))
    return book


def _read_folder(folder: Path, source: str, categories: Collection[str] | None,
                 cues: Collection[str] | None) -> tuple[list[Playbook], list[str]]:
    folder = Path(folder)
    if not folder.is_dir():
        return [], [f"{folder}: not a folder"]
    books, problems = [], []
    for path in sorted(folder.glob("*.yml")):
        problems.append(f"{path.name}: playbook files must end in .yaml")
    for path in sorted(folder.glob("*.yaml")):
        book, found = check_playbook(path, source=source, categories=categories, cues=cues)
        problems += found
        if book is not None:
            books.append(book)
    return books, problems


def _default_problems(books: Iterable[Playbook]) -> list[str]:
    defaults = sorted(b.name for b in books if b.default)
    if len(defaults) == 1:
        return []
    return [f"exactly one playbook must say default: true, found {len(defaults)}"
            f"{' (' + ', '.join(defaults) + ')' if defaults else ''}; to change the default, "
            "replace the built-in default with a copy that says default: false"]


def _merge(*layers: list[Playbook]) -> tuple[Playbook, ...]:
    merged: dict[str, Playbook] = {}
    for layer in layers:
        merged.update((b.name, b) for b in layer)
    return tuple(sorted(merged.values(), key=lambda b: b.name))


def load_playbooks(extra: Path | None = None, *, categories: Collection[str] | None = None,
                   cues: Collection[str] | None = None) -> tuple[Playbook, ...]:
    """The built-ins, then the admin folder ``extra`` (its files add playbooks or
    replace built-ins of the same name), sorted by name. Raise ``PlaybookError``
    listing every problem; exactly one playbook may be the default."""
    builtin, problems = _read_folder(BUILTIN, "builtin", categories, cues)
    custom: list[Playbook] = []
    if extra is not None:
        custom, found = _read_folder(Path(extra), "custom", categories, cues)
        problems += found
    books = _merge(builtin, custom)
    if not problems:  # a broken file may hold the default: count only when all parsed
        problems = _default_problems(books)
    if problems:
        raise PlaybookError("\n".join(problems))
    return books


def validate_folder(folder: Path, *, categories: Collection[str] | None = None,
                    cues: Collection[str] | None = None) -> list[str]:
    """Every problem in every playbook file of ``folder``, checked as the daemon
    would load it (on top of the built-ins), so an admin fixes them in one pass."""
    folder = Path(folder)
    custom, problems = _read_folder(folder, "custom", categories, cues)
    if folder.is_dir() and not any(folder.glob("*.yaml")) and not problems:
        return [f"{folder}: no playbook files (*.yaml)"]
    builtin, found = _read_folder(BUILTIN, "builtin", categories, cues)
    problems += found
    return problems + _default_problems(_merge(builtin, custom))


def _top(books: Iterable[Playbook]) -> Playbook:
    return min(books, key=lambda b: (-b.priority, b.name))


def choose_playbook(playbooks: Iterable[Playbook], cues: Iterable[str] = (),
                    category: str | None = None) -> Playbook:
    """The playbook for an incident: the most urgent (highest priority) of those that
    cover its guessed category and those whose cues meet the cues seen; otherwise the
    default (seed 000: most complaints are normal ones). A service complaint that also
    threatens the courts or the press is answered on the legal or media clock (2 h),
    not the service one (4 h): the category guess counts words, and the complaint's
    words outnumber its one threat."""
    books = list(playbooks)
    seen = set(cues)
    fitting = [b for b in books if (category is not None and category in b.categories)
               or b.cues & seen]
    if fitting:
        return _top(fitting)
    defaults = [b for b in books if b.default]
    if not defaults:
        raise PlaybookError("no default playbook among the playbooks given")
    return _top(defaults)
