"""monitor/text/replycheck.py and the ``reply-check`` command: a draft public reply checked
against the seed texts' taboos, the required elements and the playbook's never_say."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from alerts.playbooks import BUILTIN, Playbook, load_playbooks
from monitor.cli.reply import reply_check
from monitor.text.replycheck import (
    Finding,
    ReplyCheck,
    check_reply,
    format_check,
    never_say_pattern,
)
from monitor.text.replyrules import (
    CONSIDER,
    FIX,
    ReplyLexiconError,
    compile_term,
    fold,
    load_lexicon,
)

GOOD_ZH = "非常抱歉给您带来不好的体验！请私信我们订单号，我们会在24小时内联系您安排退款。"
GOOD_EN = ("We're sorry about the delay with your order. Please DM us your order number and "
           "our team will arrange a replacement within 24 hours.")
TABOO_KEYS = {"company_rules", "final_interpretation", "blame_customer", "complain_anywhere",
              "dismissive", "pressure_complainant"}


@pytest.fixture(scope="module")
def books() -> tuple[Playbook, ...]:
    return load_playbooks()


@pytest.fixture(scope="module")
def default_book(books: tuple[Playbook, ...]) -> Playbook:
    return next(b for b in books if b.default)


def _keys(check: ReplyCheck) -> set[str]:
    return {f.key for f in check.findings}


def _only(check: ReplyCheck, key: str) -> list[Finding]:
    return [f for f in check.findings if f.key == key]


def _assert_located(text: str, finding: Finding) -> None:
    assert finding.start is not None and finding.end is not None
    assert text[finding.start:finding.end] == finding.matched


# --- good replies ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [GOOD_ZH, GOOD_EN])
def test_good_reply_passes_with_nothing_to_consider(text: str) -> None:
    check = check_reply(text)
    assert check.ok
    assert check.findings == ()


def test_language_is_detected_and_can_be_forced() -> None:
    assert check_reply(GOOD_ZH).language == "zh"
    assert check_reply(GOOD_EN).language == "en"
    forced = check_reply("这是公司规定。", lang="en")
    assert forced.language == "en"
    assert _only(forced, "company_rules")[0].message.startswith("Hiding behind company rules")
    zh = check_reply("这是公司规定。")
    assert _only(zh, "company_rules")[0].message.startswith("拿“公司规定”当挡箭牌")
    with pytest.raises(ValueError, match="unsupported language"):
        check_reply(GOOD_EN, lang="fr")


# --- taboos ------------------------------------------------------------------------------------


TABOOS = [
    ("很抱歉，这是公司规定，我们也没办法。", "company_rules", "公司规定"),
    ("Sorry, but that's company policy.", "company_rules", "company policy"),
    ("Rules are rules, I'm afraid.", "company_rules", "Rules are rules"),
    ("It is our policy. Sorry.", "company_rules", "It is our policy"),
    ("按规定不能退款。", "company_rules", "按规定不能"),
    ("本活动最终解释权归本公司所有。", "final_interpretation", "最终解释权"),
    ("The company reserves the right to refuse a refund.", "final_interpretation",
     "reserves the right"),
    ("这是你自己使用不当造成的。", "blame_customer", "你自己使用不当"),
    ("你怎么搞的？", "blame_customer", "你怎么搞的"),
    ("这是你开车习惯的问题。", "blame_customer", "开车习惯的问题"),
    ("You must have dropped it.", "blame_customer", "You must have dropped"),
    ("Sounds like user error to me.", "blame_customer", "user error"),
    ("You should have read the terms.", "blame_customer", "You should have read"),
    ("随便你去哪投诉。", "complain_anywhere", "随便你去哪投诉"),
    ("你爱去哪告去哪告。", "complain_anywhere", "爱去哪告"),
    ("Go ahead and complain.", "complain_anywhere", "Go ahead and complain"),
    ("Complain wherever you like.", "complain_anywhere", "Complain wherever you like"),
    ("Sue us if you want.", "complain_anywhere", "Sue us if you want"),
    ("这不可能，我们的产品没有问题。", "dismissive", "这不可能"),
    ("我知道你要说什么。", "dismissive", "我知道你要说什么"),
    ("这是行业惯例。", "dismissive", "行业惯例"),
    ("That has nothing to do with us.", "dismissive", "nothing to do with us"),
    ("That's impossible.", "dismissive", "That's impossible"),
    ("Everyone in the industry does it.", "dismissive", "Everyone in the industry"),
    ("请马上删帖，否则起诉。", "pressure_complainant", "删帖"),
    ("请马上删帖，否则起诉。", "pressure_complainant", "否则起诉"),
    ("Delete your post or we will sue.", "pressure_complainant", "Delete your post"),
    ("Delete your post or we will sue.", "pressure_complainant", "or we will sue"),
    ("We may take legal action against you.", "pressure_complainant", "legal action against you"),
    ("Please take down your review.", "pressure_complainant", "take down your review"),
]


@pytest.mark.parametrize(("text", "key", "matched"), TABOOS)
def test_taboo_found_with_its_text_and_offsets(text: str, key: str, matched: str) -> None:
    check = check_reply(text)
    assert not check.ok
    found = [f for f in _only(check, key) if f.matched == matched]
    assert found, [(f.key, f.matched) for f in check.findings]
    finding = found[0]
    assert (finding.kind, finding.level) == ("taboo", FIX)
    _assert_located(text, finding)
    assert finding.advice


def test_every_taboo_group_is_covered_by_the_cases() -> None:
    assert {key for _, key, _ in TABOOS} == TABOO_KEYS
    assert {g.key for g in load_lexicon().taboo} == TABOO_KEYS


def test_traditional_chinese_is_caught_and_offsets_point_at_it() -> None:
    text = "您好，這是公司規定，最終解釋權歸本公司所有。"
    check = check_reply(text)
    rules = _only(check, "company_rules")[0]
    assert rules.matched == "公司規定"
    assert (rules.start, rules.end) == (5, 9)
    final = _only(check, "final_interpretation")[0]
    assert final.matched == "最終解釋權"
    _assert_located(text, final)


def test_offsets_survive_folding_that_changes_length() -> None:
    # NFKC expands ㈱ to "(株)" and full-width letters fold; U+200B is dropped and
    # e + U+0301 composes: the folded text is longer and shorter in places.
    text = "㈱㈱ Cafe\u0301 said: ＣＯＭＰＡＮＹ　Ｐｏｌｉｃｙ, 公司\u200b規定。"
    check = check_reply(text)
    found = {f.matched: f for f in _only(check, "company_rules")}
    assert set(found) == {"ＣＯＭＰＡＮＹ　Ｐｏｌｉｃｙ", "公司\u200b規定"}
    assert found["ＣＯＭＰＡＮＹ　Ｐｏｌｉｃｙ"].start == text.index("ＣＯＭ")
    for finding in found.values():
        _assert_located(text, finding)


def test_fold_maps_every_folded_character_back() -> None:
    text = "Straße ㈱ 乾淨"
    folded = fold(text)
    assert folded.text == "strasse (株) 干净"
    assert len(folded.starts) == len(folded.ends) == len(folded.text)
    assert folded.original_span(4, 6) == (4, 5)  # "ss" comes from "ß"
    assert folded.original_span(8, 11) == (7, 8)  # "(株)" comes from "㈱"


def test_a_phrase_repeated_is_reported_each_time() -> None:
    text = "公司规定就是公司规定。"
    spans = [(f.start, f.end) for f in _only(check_reply(text), "company_rules")]
    assert spans == [(0, 4), (6, 10)]


# --- required elements -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Sorry for the inconvenience.", "不好意思，给您带来不便了。"])
def test_apology_alone_is_an_apology_without_next_step(text: str) -> None:
    check = check_reply(text)
    assert _keys(check) == {"apology_without_next_step", "time_commitment"}
    bare = _only(check, "apology_without_next_step")[0]
    assert (bare.kind, bare.level) == ("taboo", FIX)
    assert bare.matched in ("Sorry", "不好意思")
    _assert_located(text, bare)
    time = _only(check, "time_commitment")[0]
    assert (time.kind, time.level, time.matched, time.start) == ("missing", CONSIDER, None, None)
    assert not check.ok


def test_nothing_required_is_reported_missing() -> None:
    check = check_reply("Thanks for your feedback.")
    missing = {f.key: f.level for f in check.findings if f.kind == "missing"}
    assert missing == {"apology": FIX, "next_step": FIX, "time_commitment": CONSIDER}
    assert not check.ok


def test_missing_time_alone_is_only_worth_considering() -> None:
    check = check_reply("很抱歉，请私信我们订单号，我们会安排退款。")
    assert check.ok
    assert [(f.key, f.level) for f in check.findings] == [("time_commitment", CONSIDER)]


@pytest.mark.parametrize("text", [
    "Sorry! We'll call you by 5pm tomorrow.",
    "Sorry, we will reply within 2 business days.",
    "Sorry, we will reply within two hours.",
    "抱歉，我们将在3个工作日内给您答复。",
    "抱歉，我们会在两天内给您回复。",
    "抱歉，我们会在今天下午联系您。",
])
def test_time_commitments_are_recognised(text: str) -> None:
    assert check_reply(text).findings == ()


# --- no false positives ------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "We're sorry this happened. We have changed our policy so this won't happen again, and our "
    "team will contact you today to arrange a refund.",
    "We're sorry. It's our policy to refund you in full, and we will do so today.",
    "We're sorry, you must have been very frustrated. We will call you today.",
    "很抱歉，我们已修改公司规定，避免再次发生，今天会联系您退款。",
    "很抱歉，这种情况不可能再发生，我们会在24小时内联系您。",
    "很抱歉，我们不会要求您删帖，我们会在今天内转告您处理进度并安排退款。",
    "Sorry. We will never ask you to delete your post; we'll call you today.",
])
def test_harmless_wording_is_not_a_taboo(text: str) -> None:
    check = check_reply(text)
    assert not (_keys(check) & TABOO_KEYS), [(f.key, f.matched) for f in check.findings]
    assert check.ok


def test_words_inside_other_words_do_not_count() -> None:
    # "refund" in "non-refundable" and "dm" in "admin" are not next steps.
    check = check_reply("Sorry, it is a non-refund item, ask the admin or the xdm desk.")
    assert "apology_without_next_step" in _keys(check)


# --- the playbook's never_say --------------------------------------------------------------------


def _with_never_say(book: Playbook, en: list[str], zh: list[str]) -> Playbook:
    return dataclasses.replace(book, never_say={"en": en, "zh": zh})


def test_never_say_phrase_from_the_playbook_is_caught_tolerantly(default_book: Playbook) -> None:
    book = _with_never_say(default_book, ["We only deal with complaints one at a time."],
                           ["这个客户就是想讹我们。（不要在公开回复中说）"])
    text = "Sorry, we only deal with complaints ONE at a time! 這個客戶，就是想訛我們"
    check = check_reply(text, book)
    found = _only(check, "never_say")
    assert [f.matched for f in found] == ["we only deal with complaints ONE at a time",
                                          "這個客戶，就是想訛我們"]
    for finding in found:
        assert (finding.kind, finding.level) == ("never_say", FIX)
        assert book.name in finding.label
        _assert_located(text, finding)
    assert not check_reply(text).ok and not _only(check_reply(text), "never_say")


def test_never_say_apology_entries_do_not_flag_good_replies(default_book: Playbook) -> None:
    book = _with_never_say(default_book, ["Sorry for the inconvenience. (and nothing else)"],
                           ["不好意思，给您带来不便了。（之后没有任何解决方案）"])
    assert never_say_pattern("Sorry for the inconvenience. (and nothing else)") is None
    assert never_say_pattern("不好意思，给您带来不便了。（之后没有任何解决方案）") is None
    good = "Sorry for the inconvenience; we will refund you within 24 hours."
    assert check_reply(good, book).findings == ()
    assert check_reply("不好意思，给您带来不便了。我们会在24小时内为您退款。", book).findings == ()


def test_never_say_overlapping_a_taboo_is_reported_once(default_book: Playbook) -> None:
    book = _with_never_say(default_book, ["That's company policy."], ["这是公司规定。"])
    check = check_reply("That's company policy.", book)
    assert _keys(check) & {"company_rules", "never_say"} == {"company_rules"}


def test_never_say_phrases_are_escaped(default_book: Playbook) -> None:
    """Playbooks are data other people edit: their phrases are words, not regexes."""
    book = _with_never_say(default_book, ["[a-z]+ fixes it.*"], ["价格.*不变"])
    assert _only(check_reply("A-Z fixes it!", book), "never_say")
    assert not _only(check_reply("abc fixes it", book), "never_say")
    assert _only(check_reply("价格不变", book), "never_say")
    assert not _only(check_reply("价格一直不变", book), "never_say")


def test_every_shipped_never_say_phrase_is_flagged(books: tuple[Playbook, ...]) -> None:
    """Each phrase a playbook forbids, posted as the reply (without its note in
    brackets), must not pass as a good one."""
    for book in books:
        for lang in ("en", "zh"):
            for phrase in book.never_say.get(lang) or ():
                check = check_reply(re.sub(r"[(（][^()（）]*[)）]", "", phrase), book)
                flagged = [f for f in check.findings if f.kind in ("taboo", "never_say")]
                assert flagged, (book.name, phrase)


def test_shipped_holding_statements_are_free_of_taboos(books: tuple[Playbook, ...]) -> None:
    """The playbooks' own holding statements are good replies: no false alarms on them."""
    for book in books:
        for lang in ("en", "zh"):
            text = re.sub(r"\{\w+\}", "Acme", book.text("holding_statement", lang))
            check = check_reply(text, book)
            wrong = [(f.key, f.matched) for f in check.findings if f.kind != "missing"]
            assert not wrong, (book.name, lang, wrong)


# --- input handling and the report ------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t", "\u200b\x00"])
def test_empty_reply_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="the reply is empty"):
        check_reply(text)


def test_hostile_and_long_input() -> None:
    text = "(.*)+[\\" * 20_000 + " 这是公司规定"
    check = check_reply(text)
    rules = _only(check, "company_rules")[0]
    assert rules.start == len(text) - 4
    _assert_located(text, rules)


def test_format_check_quotes_the_phrase_and_gives_advice() -> None:
    text = "Sorry, that's company policy."
    report = format_check(check_reply(text))
    assert "Must fix:" in report and "Consider:" in report
    assert "“company policy” (characters 14–28)" in report
    assert "Explain what you can do for them" in report
    assert report.rstrip().endswith("Fix the points above before posting.")
    zh = format_check(check_reply("很抱歉，請私信我們，我們會在今天內聯繫您。"))
    assert "没有必须修改的问题" in zh and "必须修改：" not in zh


def test_to_dict_is_json_ready() -> None:
    data = check_reply("That's company policy.").to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["ok"] is False
    assert {"kind", "key", "level", "message", "matched", "start", "end", "advice"} <= set(
        data["findings"][0])


# --- the lexicon ---------------------------------------------------------------------------------


def test_lexicon_syntax() -> None:
    term = compile_term("within {n} (business |)days", "en")
    assert term.found("within 3 business days") and term.found("within three days")
    assert not term.found("within days")
    assert compile_term("apologi*", "en").spans("we apologise.") == [(3, 12)]
    assert not compile_term("dm", "en").found("admin")
    assert not compile_term("dm", "en").found("cdm")
    assert not compile_term("refund", "en").found("non-refund")
    assert compile_term("dm", "en").spans("admin, dm us") == [(7, 9)]
    assert compile_term("{n}(个|)小时内", "zh").found("二十四小时内")
    optional = compile_term("per (our|the|) (company |)policy", "en")
    for text in ("per policy", "per our company policy", "per the policy"):
        assert optional.found(text), text
    assert not optional.found("per  our  the policy")
    for bad in ("(unclosed", "{n", "(|)"):
        with pytest.raises(ReplyLexiconError):
            compile_term(bad, "en")
    with pytest.raises(ReplyLexiconError, match=r"\*"):
        compile_term("抱歉*", "zh")


def test_lexicon_errors_name_the_key(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parent.parent / "monitor" / "lexicon" / "replycheck.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    del data["taboo"]["dismissive"]["why"]["zh"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ReplyLexiconError, match=r"taboo\.dismissive\.why needs both en and zh"):
        load_lexicon(bad)


# --- the command -----------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.chdir(tmp_path)  # no crisiswatch.yaml here: built-in playbooks only
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    app.command("reply-check")(reply_check)
    return app


def _run(app: typer.Typer, *args: str, stdin: str | None = None):  # noqa: ANN202
    return CliRunner().invoke(app, ["reply-check", *args], input=stdin)


def test_cli_exit_codes(cli: typer.Typer) -> None:
    good = _run(cli, GOOD_EN)
    assert good.exit_code == 0, good.output
    assert "Nothing must be fixed" in good.stdout
    bad = _run(cli, "这是公司规定。")
    assert bad.exit_code == 1
    assert "“公司规定”" in bad.stdout


def test_cli_json(cli: typer.Typer, default_book: Playbook) -> None:
    text = "Sorry, that's company policy."
    result = _run(cli, text, "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["language"] == "en"
    assert data["playbook"] == default_book.name
    rules = next(f for f in data["findings"] if f["key"] == "company_rules")
    assert text[rules["start"]:rules["end"]] == rules["matched"] == "company policy"
    forced = json.loads(_run(cli, text, "--json", "--lang", "zh").stdout)
    assert forced["language"] == "zh"


def test_cli_reads_files_and_stdin(cli: typer.Typer, tmp_path: Path) -> None:
    draft = tmp_path / "draft.txt"
    draft.write_text(GOOD_ZH, encoding="utf-8")
    assert _run(cli, str(draft)).exit_code == 0
    draft.write_text("這是公司規定", encoding="utf-8")
    assert _run(cli, str(draft)).exit_code == 1
    assert _run(cli, "-", stdin=GOOD_EN).exit_code == 0
    assert _run(cli, "-", stdin="Rules are rules.").exit_code == 1


@pytest.mark.parametrize(("args", "message"), [
    (["   "], "error: the reply is empty"),
    (["-"], "error: the reply is empty"),
    ([GOOD_EN, "--playbook", "no_such_playbook"], "error: unknown playbook 'no_such_playbook'"),
    (["."], "is not a file"),
])
def test_cli_usage_errors(cli: typer.Typer, args: list[str], message: str) -> None:
    result = _run(cli, *args, stdin="")
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_cli_unreadable_file_and_bad_options(cli: typer.Typer, tmp_path: Path) -> None:
    binary = tmp_path / "draft.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    result = _run(cli, str(binary))
    assert result.exit_code == 2 and "error: cannot read" in result.stderr
    assert _run(cli, GOOD_EN, "--lang", "fr").exit_code == 2
    broken = tmp_path / "broken.yaml"
    broken.write_text("no_such_key: 1\n", encoding="utf-8")
    result = _run(cli, GOOD_EN, "-c", str(broken))
    assert result.exit_code == 2 and "error:" in result.stderr


def test_cli_default_playbook_by_name(cli: typer.Typer, default_book: Playbook) -> None:
    result = _run(cli, GOOD_EN, "--playbook", "default", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["playbook"] == default_book.name


def test_cli_uses_the_configs_playbooks_dir(cli: typer.Typer, tmp_path: Path,
                                            default_book: Playbook) -> None:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    data = yaml.safe_load((BUILTIN / f"{default_book.name}.yaml").read_text(encoding="utf-8"))
    data.update(name="house", default=False,
                never_say={"en": ["We never read complaints on weekends."],
                           "zh": ["周末我们从不看投诉。"]})
    (folder / "house.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                       encoding="utf-8")
    (tmp_path / "crisiswatch.yaml").write_text("playbooks_dir: playbooks\n", encoding="utf-8")
    text = "Sorry, we never read complaints on weekends. We will call you today."
    result = _run(cli, text, "--playbook", "house", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["playbook"] == "house"
    assert [f["key"] for f in data["findings"]] == ["never_say"]
    assert _run(cli, text).exit_code == 0  # the default playbook does not forbid it


def test_cli_help_documents_every_option(cli: typer.Typer) -> None:
    result = _run(cli, "--help")
    assert result.exit_code == 0
    for text in ("FILE_OR_TEXT", "--playbook", "--lang", "--config", "--json",
                 "Check a draft public reply", "stdin", "never-say", "detected"):
        assert text in result.stdout, text
