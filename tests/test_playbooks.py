"""The playbook library (alerts/playbooks.py, alerts/playbook_check.py,
alerts/playbooks/*.yaml) and its CLI (monitor/cli/playbooks.py): the ten
built-ins, validation, the never-recommend lint, admin folders, the choice of
playbook, and the commands."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alerts.playbook_check import PLACEHOLDERS, recommends_forbidden
from alerts.playbooks import (
    BUILTIN,
    Playbook,
    PlaybookError,
    choose_playbook,
    duration_seconds,
    load_playbooks,
    parse_playbook,
    validate_folder,
)
from monitor.cli.playbooks import playbooks_app
from monitor.config import parse_duration
from monitor.detection.category import DEFAULT_CATEGORIES, DEFAULT_KEY, PRECEDENCE
from monitor.text.cues import DEFAULT_LEXICON

NAMES = ("safety_incident", "legal_threat", "media_exposure", "group_complaint",
         "product_defect", "refund_dispute", "delivery_delay", "service_attitude",
         "misunderstanding", "malicious")
BILINGUAL_TEXT = ("title", "owner", "holding_statement", "escalation", "triage")
BILINGUAL_LISTS = ("first_steps", "never_say", "never_do", "check_first")


def _yaml_keys(path: Path) -> set[str]:
    return set(yaml.safe_load(path.read_text(encoding="utf-8"))["categories"])


CATEGORY_KEYS = _yaml_keys(DEFAULT_CATEGORIES)
CUE_KEYS = _yaml_keys(DEFAULT_LEXICON)


@pytest.fixture(scope="module")
def books() -> tuple[Playbook, ...]:
    return load_playbooks(categories=CATEGORY_KEYS, cues=CUE_KEYS)


def _by_name(books: tuple[Playbook, ...], name: str) -> Playbook:
    return next(b for b in books if b.name == name)


def _builtin_data(name: str) -> dict:
    return yaml.safe_load((BUILTIN / f"{name}.yaml").read_text(encoding="utf-8"))


def _write(folder: Path, name: str, data: object, suffix: str = ".yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{suffix}"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _custom(name: str, **changes: object) -> dict:
    """A valid custom playbook: a copy of a built-in with a new name."""
    data = copy.deepcopy(_builtin_data("refund_dispute"))
    data.update(name=name, **changes)
    return data


def _problems(tmp_path: Path, data: dict, name: str = "mine") -> str:
    with pytest.raises(PlaybookError) as info:
        parse_playbook(_write(tmp_path, name, data), categories=CATEGORY_KEYS, cues=CUE_KEYS)
    return str(info.value)


# --- the ten built-ins -------------------------------------------------------------------


def test_exactly_the_ten_builtins_load(books: tuple[Playbook, ...]) -> None:
    assert sorted(p.stem for p in BUILTIN.glob("*.yaml")) == sorted(NAMES)
    assert [b.name for b in books] == sorted(NAMES)
    assert all(b.source == "builtin" for b in books)


def test_every_detected_category_has_its_own_playbook(books: tuple[Playbook, ...]) -> None:
    assert CATEGORY_KEYS == set(NAMES) == set(PRECEDENCE)
    for key in CATEGORY_KEYS:
        book = _by_name(books, key)
        assert key in book.categories
        assert choose_playbook(books, (), key).name == key


def test_the_default_is_the_categorisers_default(books: tuple[Playbook, ...]) -> None:
    assert [b.name for b in books if b.default] == [DEFAULT_KEY] == ["service_attitude"]


def test_priorities_follow_the_category_precedence(books: tuple[Playbook, ...]) -> None:
    priorities = [_by_name(books, key).priority for key in PRECEDENCE]
    assert priorities == sorted(priorities, reverse=True)
    assert len(set(priorities)) == len(priorities)


def test_every_cue_key_exists_and_picks_a_playbook(books: tuple[Playbook, ...]) -> None:
    used = set().union(*(b.cues for b in books))
    assert used <= CUE_KEYS, used - CUE_KEYS
    assert used == CUE_KEYS  # every cue the scorer reports leads to a specific playbook
    for cue in CUE_KEYS:
        assert cue in choose_playbook(books, [cue]).cues


def test_builtins_are_complete_in_both_languages(books: tuple[Playbook, ...]) -> None:
    for book in books:
        for field in BILINGUAL_TEXT:
            for lang in ("en", "zh"):
                assert getattr(book, field)[lang].strip(), (book.name, field, lang)
        for field in BILINGUAL_LISTS:
            en, zh = getattr(book, field)["en"], getattr(book, field)["zh"]
            assert en and zh, (book.name, field)
            if field != "never_say":  # taboo phrases may differ; advice must match
                assert len(en) == len(zh), (book.name, field)
        assert len(book.first_steps["en"]) >= 4, book.name
        assert len(book.check_first["en"]) >= 3, book.name


def test_triage_notes_cite_the_seed_shares(books: tuple[Playbook, ...]) -> None:
    assert "5%" in _by_name(books, "misunderstanding").triage["en"]
    assert "2%" in _by_name(books, "malicious").triage["en"]
    assert "20%" in _by_name(books, "group_complaint").triage["en"]
    assert "67%" in _by_name(books, "service_attitude").triage["zh"]
    for book in books:
        assert re.search(r"\d+%", book.triage["en"]) and re.search(r"\d+%", book.triage["zh"])


def test_holding_statements_use_only_known_placeholders(books: tuple[Playbook, ...]) -> None:
    allowed = {f"{{{p}}}" for p in PLACEHOLDERS}
    used = set()
    for book in books:
        for lang in ("en", "zh"):
            text = book.holding_statement[lang]
            assert "{brand}" in text, (book.name, lang)
            braces = set(re.findall(r"\{[^{}]*\}", text))
            assert braces <= allowed, (book.name, lang, braces - allowed)
            assert re.sub(r"\{[^{}]*\}", "", text).count("{") == 0
            used |= braces
        for key, value in book.placeholder_defaults.items():
            assert key in {"product", "time"} and value["en"] and value["zh"]
    assert used == allowed  # the library as a whole draws on every incident value


def test_response_times(books: tuple[Playbook, ...]) -> None:
    seconds = {b.name: b.response_seconds for b in books}
    assert seconds["safety_incident"] == 3600
    assert seconds["legal_threat"] == seconds["media_exposure"] == 7200
    assert seconds["service_attitude"] == 4 * 3600
    assert seconds["misunderstanding"] == 24 * 3600
    assert min(seconds, key=seconds.get) == "safety_incident"


def test_owner_names_the_one_spokesperson(books: tuple[Playbook, ...]) -> None:
    for book in books:
        assert "the one spokesperson" in book.owner["en"], book.name
        assert "唯一对外发言人" in book.owner["zh"], book.name


@pytest.mark.parametrize("value", [60, 2.5, "90", "90s", "5m", "1h", " 2 h ", "1.5d", "24h"])
def test_duration_agrees_with_the_config_parser(value: object) -> None:
    assert duration_seconds(value) == parse_duration(value)


@pytest.mark.parametrize("value", ["soon", "1w", "-1h", "0", 0, True, "", "1 hour"])
def test_bad_durations_are_refused_like_the_config(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)
    with pytest.raises(ValueError):
        duration_seconds(value)


# --- validation --------------------------------------------------------------------------


def test_a_good_custom_playbook_parses(tmp_path: Path) -> None:
    book = parse_playbook(_write(tmp_path, "mine", _custom("mine")), source="custom",
                          categories=CATEGORY_KEYS, cues=CUE_KEYS)
    assert book.name == "mine" and book.source == "custom"
    assert book.categories == frozenset({"refund_dispute"})
    assert book.cues == frozenset({"refund_demand"})
    assert book.text("check_first", "zh") == _builtin_data("refund_dispute")["check_first"]["zh"]


def test_the_issue_example_message(tmp_path: Path) -> None:
    data = copy.deepcopy(_builtin_data("safety_incident"))
    data["first_steps"]["zh"] = []
    message = _problems(tmp_path, data, "safety_incident")
    assert message == "safety_incident.yaml: first_steps.zh: must be a non-empty list of strings"


@pytest.mark.parametrize("change, expected", [
    ({"colour": "red"}, "mine.yaml: colour: unknown key"),
    ({"name": "other"}, "mine.yaml: name: must equal the file name ('mine')"),
    ({"title": {"en": "Only English"}}, "mine.yaml: title.zh: must be non-empty text"),
    ({"title": {"en": "T", "zh": "标", "fr": "Titre"}}, "mine.yaml: title.fr: unknown language"),
    ({"title": "no languages"}, "mine.yaml: title: must be a mapping with en and zh"),
    ({"triage": {"en": "x", "zh": " "}}, "mine.yaml: triage.zh: must be non-empty text"),
    ({"check_first": {"en": ["a"], "zh": "not a list"}},
     "mine.yaml: check_first.zh: must be a non-empty list of strings"),
    ({"never_do": {"en": ["a", 3], "zh": ["甲"]}},
     "mine.yaml: never_do.en: must be a non-empty list of strings"),
    ({"response_time": "soon"}, "mine.yaml: response_time: 'soon' is not a duration"),
    ({"response_time": "0h"}, "mine.yaml: response_time: must be more than 0 seconds"),
    ({"priority": "high"}, "mine.yaml: priority: must be a whole number"),
    ({"default": "yes"}, "mine.yaml: default: must be true or false"),
    ({"categories": "refund_dispute"}, "mine.yaml: categories: must be a list of keys"),
    ({"categories": ["refund_dispte"]}, "mine.yaml: categories: unknown key 'refund_dispte'"),
    ({"cues": ["refund"]}, "mine.yaml: cues: unknown key 'refund'"),
    ({"placeholder_defaults": {"brand": {"en": "us", "zh": "我们"}}},
     "mine.yaml: placeholder_defaults.brand: unknown placeholder"),
    ({"placeholder_defaults": {"time": {"en": "lately"}}},
     "mine.yaml: placeholder_defaults.time.zh: must be non-empty text"),
    ({"placeholder_defaults": {"place": {"en": "our shop", "zh": "门店"}}},
     "mine.yaml: placeholder_defaults.place: a place is a fact of the incident, not a "
     "default: put {place} in an optional clause instead"),
])
def test_each_kind_of_problem_names_file_and_key(tmp_path: Path, change: dict,
                                                 expected: str) -> None:
    data = _custom("mine")
    data.update(change)
    assert expected in _problems(tmp_path, data)


@pytest.mark.parametrize("field", ["title", "owner", "first_steps", "holding_statement",
                                   "escalation", "never_say"])
def test_required_fields(tmp_path: Path, field: str) -> None:
    data = _custom("mine")
    del data[field]
    assert f"mine.yaml: {field}: missing" in _problems(tmp_path, data)


@pytest.mark.parametrize("text, bad", [
    ("Dear {customer}, sorry about {brand}.", "{customer}"),
    ("Sorry about {brand} {0}.", "{0}"),
    ("Sorry about {brand.name}.", "{brand.name}"),
    ("Sorry about {brand and more.", "{"),
    ("Sorry about {{brand}}.", "{"),
])
def test_holding_statement_placeholders(tmp_path: Path, text: str, bad: str) -> None:
    data = _custom("mine")
    data["holding_statement"]["zh"] = text
    message = _problems(tmp_path, data)
    assert message.startswith("mine.yaml: holding_statement.zh: unknown placeholder(s) ")
    assert bad in message and "allowed: {brand} {product} {time} {place}" in message


@pytest.mark.parametrize("text", [
    "Sorry about your visit to {brand} at {place}.",
    "Sorry about your visit to {brand} [at {place}.",  # the clause never closes
    "Sorry about your visit to {brand} [at] {place}.",
])
def test_a_place_outside_an_optional_clause_is_refused(tmp_path: Path, text: str) -> None:
    data = _custom("mine")
    data["holding_statement"]["en"] = text
    assert _problems(tmp_path, data) == (
        "mine.yaml: holding_statement.en: {place} must be inside an optional clause in square "
        'brackets, e.g. "[ at {place}]", which is left out when the incident names none (an '
        "online post does not)")


def test_a_place_in_an_optional_clause_is_accepted(tmp_path: Path) -> None:
    data = _custom("mine")
    data["holding_statement"] = {"en": "Sorry about {brand}[ at {place}] [sic].",
                                 "zh": "抱歉您在{brand}[{place}]的经历。"}
    book = parse_playbook(_write(tmp_path, "mine", data))
    assert book.holding_statement["en"] == "Sorry about {brand}[ at {place}] [sic]."


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match=r"^broken\.yaml: not valid YAML"):
        parse_playbook(tmp_path / "broken.yaml")
    (tmp_path / "latin.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(PlaybookError, match=r"^latin\.yaml: not UTF-8"):
        parse_playbook(tmp_path / "latin.yaml")
    _write(tmp_path, "list", ["a", "b"])
    with pytest.raises(PlaybookError, match=r"^list\.yaml: expected a mapping"):
        parse_playbook(tmp_path / "list.yaml")


def test_several_problems_in_one_file_are_reported_together(tmp_path: Path) -> None:
    data = _custom("mine", colour="red", response_time="soon")
    del data["owner"]["zh"]
    lines = _problems(tmp_path, data).splitlines()
    assert len(lines) == 3
    assert all(line.startswith("mine.yaml: ") for line in lines)
    assert {line.split(": ")[1] for line in lines} == {"colour", "owner.zh", "response_time"}


def test_validate_folder_reports_every_file(tmp_path: Path) -> None:
    _write(tmp_path, "good", _custom("good"))
    _write(tmp_path, "one", _custom("one", priority="high"))
    _write(tmp_path, "two", _custom("wrong", cues=["nope"]))
    _write(tmp_path, "old", _custom("old"), suffix=".yml")
    problems = validate_folder(tmp_path, categories=CATEGORY_KEYS, cues=CUE_KEYS)
    assert problems == [
        "old.yml: playbook files must end in .yaml",
        "one.yaml: priority: must be a whole number",
        "two.yaml: name: must equal the file name ('two'), not 'wrong'",
        "two.yaml: cues: unknown key 'nope' (known: " + ", ".join(sorted(CUE_KEYS)) + ")",
    ]


def test_validate_folder_checks_the_default_against_the_builtins(tmp_path: Path) -> None:
    _write(tmp_path, "mine", _custom("mine", default=True))
    [problem] = validate_folder(tmp_path)
    assert "exactly one playbook must say default: true, found 2" in problem
    assert "(mine, service_attitude)" in problem
    replaced = copy.deepcopy(_builtin_data("service_attitude"))
    replaced["default"] = False
    _write(tmp_path, "service_attitude", replaced)
    assert validate_folder(tmp_path) == []


def test_validate_folder_edge_cases(tmp_path: Path) -> None:
    assert validate_folder(BUILTIN, categories=CATEGORY_KEYS, cues=CUE_KEYS) == []
    assert validate_folder(tmp_path) == [f"{tmp_path}: no playbook files (*.yaml)"]
    assert validate_folder(tmp_path / "missing") == [f"{tmp_path / 'missing'}: not a folder"]


# --- the never-recommend lint ------------------------------------------------------------


RECOMMENDS = [
    "Delete the post as soon as you see it.",
    "Ask the platform to take the thread down.",
    "Quietly hide negative comments.",
    "Bury the complaint under fresh content.",
    "Reply from a few sock puppets to calm things down.",
    "Post fake reviews to balance the score.",
    "Pose as other customers and say this is normal.",
    "Pressure the customer until they give up.",
    "Call the police on the protesters.",
    "Contact the complainant's employer.",
    "Offer the refund in exchange for deleting the post.",
    "Ask the customer to delete the post.",
    "联系平台删帖。",
    "请水军把帖子压下去。",
    "化装成其他客户的身份发言，让他的贴子沉下去。",
    "安排刷好评。",
    "向投诉人施压，要求其撤回投诉。",
    "找其单位协助处理。",
    "要求客户删除差评后再退款。",
    "冒充顾客发帖解释。",
]

HARMLESS = [
    "Remove the product from sale until the inspection is done.",
    "Reply publicly within the hour and move the conversation to a private channel.",
    "Has anyone on our side reported the post to the platform? If so, withdraw the report.",
    "Check for similar reports on the same model or batch.",
    "Keep the post online and answer it there.",
    "发生火灾时立即报警并疏散。",
    "把单个反映当作可能存在共性问题的信号。",
    "如因燃气泄漏触发报警器，立即疏散人员。",
    "与客户一起检测，保持产品原状。",
]


@pytest.mark.parametrize("text", RECOMMENDS)
def test_recommendations_are_recognised(text: str) -> None:
    assert recommends_forbidden(text), text


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_advice_passes(text: str) -> None:
    assert recommends_forbidden(text) is None


@pytest.mark.parametrize("field", ["first_steps", "check_first", "holding_statement",
                                   "escalation"])
@pytest.mark.parametrize("lang, text, what", [
    ("zh", "先联系平台删帖，再私信客户。", "deleting, hiding or burying posts"),
    ("en", "Have a few sock puppets defend us.", "astroturfing"),
    ("en", "Pressure the complainant to withdraw.", "pressure on the complainant"),
])
def test_custom_playbook_recommending_it_is_refused(tmp_path: Path, field: str, lang: str,
                                                   text: str, what: str) -> None:
    data = _custom("mine")
    if isinstance(data[field][lang], list):
        data[field][lang] = [*data[field][lang], text]
        where = f"{field}.{lang}[{len(data[field][lang]) - 1}]"
    else:
        data[field][lang] = text
        where = f"{field}.{lang}"
    message = _problems(tmp_path, data)
    assert message.startswith(f"mine.yaml: {where}: recommends {what}")
    assert "never_do" in message


def test_never_do_may_name_the_taboos(books: tuple[Playbook, ...], tmp_path: Path) -> None:
    flagged = [item for b in books for lang in ("en", "zh") for item in b.never_do[lang]
               if recommends_forbidden(item)]
    assert len(flagged) >= 20  # the lists name the taboos, and the built-ins still load
    data = _custom("mine", never_do={"en": ["Use sock puppets", "Delete the post"],
                                     "zh": ["删帖", "雇水军"]},
                   never_say={"en": ["Delete your post and we'll refund you."],
                              "zh": ["你把帖子删了我们就退款。"]})
    book = parse_playbook(_write(tmp_path, "mine", data))
    assert book.never_do["zh"] == ["删帖", "雇水军"]


def test_builtin_advice_passes_the_lint(books: tuple[Playbook, ...]) -> None:
    for book in books:
        for field in ("first_steps", "check_first"):
            for lang in ("en", "zh"):
                for item in getattr(book, field)[lang]:
                    assert recommends_forbidden(item) is None, (book.name, item)
        for field in ("holding_statement", "escalation"):
            for lang in ("en", "zh"):
                assert recommends_forbidden(getattr(book, field)[lang]) is None


# --- admin folders -----------------------------------------------------------------------


def test_admin_folder_replaces_and_adds(tmp_path: Path) -> None:
    replaced = copy.deepcopy(_builtin_data("refund_dispute"))
    replaced["title"] = {"en": "Refunds, our way", "zh": "退款（本公司流程）"}
    _write(tmp_path, "refund_dispute", replaced)
    _write(tmp_path, "vip_refund", _custom("vip_refund", priority=55,
                                           title={"en": "VIP refund", "zh": "贵宾退款"}))
    books = load_playbooks(tmp_path, categories=CATEGORY_KEYS, cues=CUE_KEYS)
    assert len(books) == 11
    refund = _by_name(books, "refund_dispute")
    assert refund.source == "custom" and refund.title["en"] == "Refunds, our way"
    assert _by_name(books, "vip_refund").source == "custom"
    assert _by_name(books, "safety_incident").source == "builtin"
    assert choose_playbook(books, (), "refund_dispute").name == "vip_refund"  # priority 55 > 50
    assert load_playbooks() != books  # the built-ins themselves are untouched


def test_admin_folder_problems_are_all_reported(tmp_path: Path) -> None:
    _write(tmp_path, "one", _custom("one", response_time="whenever"))
    _write(tmp_path, "two", _custom("two", categories=["refunds"]))
    with pytest.raises(PlaybookError) as info:
        load_playbooks(tmp_path, categories=CATEGORY_KEYS, cues=CUE_KEYS)
    lines = str(info.value).splitlines()
    assert lines[0].startswith("one.yaml: response_time: 'whenever' is not a duration")
    assert lines[1].startswith("two.yaml: categories: unknown key 'refunds'")
    assert len(lines) == 2


def test_admin_folder_must_exist_and_keep_one_default(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="not a folder"):
        load_playbooks(tmp_path / "missing")
    _write(tmp_path, "mine", _custom("mine", default=True))
    with pytest.raises(PlaybookError, match=r"found 2 \(mine, service_attitude\)"):
        load_playbooks(tmp_path)


# --- choose_playbook ---------------------------------------------------------------------


def test_category_decides_alone(books: tuple[Playbook, ...]) -> None:
    assert choose_playbook(books, category="misunderstanding").name == "misunderstanding"
    assert choose_playbook(books, category="delivery_delay").name == "delivery_delay"
    assert choose_playbook(books, category="malicious").name == "malicious"


def test_the_most_urgent_of_category_and_cues_wins(books: tuple[Playbook, ...]) -> None:
    """A service complaint with a legal threat and a media threat gets the 2 h legal
    playbook, not the 4 h service one; a weaker cue never overrides the category."""
    legal = choose_playbook(books, ["legal_threat", "media_exposure"], "service_attitude")
    assert legal.name == "legal_threat" and legal.response_time == "2h"
    assert choose_playbook(books, ["legal_threat"], "misunderstanding").name == "legal_threat"
    assert choose_playbook(books, ["safety"], "legal_threat").name == "safety_incident"
    assert choose_playbook(books, ["refund_demand"], "product_defect").name == "product_defect"


def test_cues_decide_without_a_covering_category(books: tuple[Playbook, ...]) -> None:
    assert choose_playbook(books, ["refund_demand"]).name == "refund_dispute"
    assert choose_playbook(books, ["refund_demand", "safety"]).name == "safety_incident"
    assert choose_playbook(books, ["viral_spread"], "no_such").name == "media_exposure"
    assert choose_playbook(iter(books), {"group_action", "boycott"}).name == "group_complaint"


def test_default_when_nothing_fits(books: tuple[Playbook, ...]) -> None:
    assert choose_playbook(books).name == "service_attitude"
    assert choose_playbook(books, ["no_such_cue"], "no_such_category").name == "service_attitude"
    without_default = [b for b in books if not b.default]
    with pytest.raises(PlaybookError, match="no default"):
        choose_playbook(without_default, [])


def test_malicious_and_misunderstanding_are_never_picked_by_cues(
        books: tuple[Playbook, ...]) -> None:
    for cue in CUE_KEYS:
        assert choose_playbook(books, [cue]).name not in {"malicious", "misunderstanding"}


# --- the CLI -----------------------------------------------------------------------------


runner = CliRunner()


def _config(tmp_path: Path, folder: str | None) -> Path:
    path = tmp_path / "crisiswatch.yaml"
    path.write_text(f"playbooks_dir: {folder}\n" if folder else "{}\n", encoding="utf-8")
    return path


def test_cli_list_builtins_without_a_config(tmp_path: Path) -> None:
    result = runner.invoke(playbooks_app, ["list", "--config", str(tmp_path / "none.yaml")])
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()
    assert rows[0].split()[:3] == ["NAME", "SOURCE", "RESPOND"]
    assert len(rows) == 12  # header, ten playbooks, footnote
    safety = next(r for r in rows if r.startswith("safety_incident "))
    assert safety.split()[1:3] == ["builtin", "1h"] and "Safety incident" in safety
    assert any(r.startswith("service_attitude* ") for r in rows)
    assert "custom" not in result.output


def test_cli_list_with_an_admin_folder(tmp_path: Path) -> None:
    _write(tmp_path / "mine", "vip_refund", _custom("vip_refund"))
    config = _config(tmp_path, "mine")
    result = runner.invoke(playbooks_app, ["list", "-c", str(config), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    row = next(r for r in result.output.splitlines() if r.startswith("vip_refund "))
    assert row.split()[1] == "custom"
    assert "安全事件" in result.output


def test_cli_list_refuses_bad_playbooks_and_configs(tmp_path: Path) -> None:
    _write(tmp_path / "mine", "bad", _custom("bad", cues=["nope"]))
    result = runner.invoke(playbooks_app, ["list", "-c", str(_config(tmp_path, "mine"))])
    assert result.exit_code == 2
    assert "error: invalid playbooks" in result.output
    assert "bad.yaml: cues: unknown key 'nope'" in result.output
    result = runner.invoke(playbooks_app, ["list", "-c", str(_config(tmp_path, "absent"))])
    assert result.exit_code == 2 and "not a folder" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("no_such_setting: 1\n", encoding="utf-8")
    result = runner.invoke(playbooks_app, ["list", "-c", str(broken)])
    assert result.exit_code == 2 and "invalid configuration" in result.output


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cli_show(tmp_path: Path, lang: str) -> None:
    book = _by_name(load_playbooks(), "safety_incident")
    result = runner.invoke(playbooks_app, ["show", "safety_incident", "--lang", lang,
                                           "-c", str(tmp_path / "none.yaml")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(f"safety_incident: {book.title[lang]} (builtin)")
    assert "Respond within: 1h" in out and "Cues: safety" in out
    assert f"Owner: {book.owner[lang]}" in out
    assert f"Triage: {book.triage[lang]}" in out
    assert f"  - {book.check_first[lang][0]}" in out
    for i, step in enumerate(book.first_steps[lang], 1):
        assert f"  {i}. {step}\n" in out
    assert f"  {book.holding_statement[lang]}" in out
    assert f"Escalation: {book.escalation[lang]}" in out
    assert all(f"  - {item}" in out for item in book.never_say[lang] + book.never_do[lang])
    assert out.index("Check first:") < out.index("First steps:") < out.index("Never do:")


def test_cli_show_marks_the_default_and_its_placeholders(tmp_path: Path) -> None:
    result = runner.invoke(playbooks_app, ["show", "service_attitude",
                                           "-c", str(tmp_path / "none.yaml")])
    assert result.exit_code == 0
    assert result.output.startswith("service_attitude: Service attitude complaint "
                                    "(builtin, default)")
    assert "Placeholder defaults" not in result.output  # a place is never a default
    show = runner.invoke(playbooks_app, ["show", "delivery_delay",
                                         "-c", str(tmp_path / "none.yaml")])
    assert "Placeholder defaults: product = order" in show.output


def test_cli_show_unknown_name(tmp_path: Path) -> None:
    result = runner.invoke(playbooks_app, ["show", "service_complaint",
                                           "-c", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert "error: no playbook named 'service_complaint'" in result.output
    assert "service_attitude" in result.output


def test_cli_validate_ok(tmp_path: Path) -> None:
    _write(tmp_path, "vip_refund", _custom("vip_refund"))
    _write(tmp_path, "refund_dispute", _builtin_data("refund_dispute"))
    result = runner.invoke(playbooks_app, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 playbooks OK"
    result = runner.invoke(playbooks_app, ["validate", str(BUILTIN)])
    assert result.exit_code == 0 and result.output.strip() == "10 playbooks OK"


def test_cli_validate_problems(tmp_path: Path) -> None:
    _write(tmp_path, "one", _custom("one", first_steps={"en": ["Delete the post."],
                                                        "zh": ["删帖。"]}))
    _write(tmp_path, "two", _custom("two", response_time="later"))
    result = runner.invoke(playbooks_app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("one.yaml: first_steps.en[0]: recommends deleting")
    assert lines[1].startswith("one.yaml: first_steps.zh[0]: recommends deleting")
    assert lines[2].startswith("two.yaml: response_time: 'later' is not a duration")
    assert "OK" not in result.output


def test_cli_validate_missing_folder(tmp_path: Path) -> None:
    result = runner.invoke(playbooks_app, ["validate", str(tmp_path / "missing")])
    assert result.exit_code == 2


def test_cli_help_on_every_command() -> None:
    result = runner.invoke(playbooks_app, ["--help"])
    assert result.exit_code == 0
    for command in ("list", "show", "validate"):
        assert command in result.output
        help_text = runner.invoke(playbooks_app, [command, "--help"]).output
        assert "Show this message and exit." in help_text
    assert "--lang" in runner.invoke(playbooks_app, ["show", "--help"]).output
