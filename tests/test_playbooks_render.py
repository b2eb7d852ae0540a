"""alerts/playbooks.py and alerts/render.py: which playbook, and the alert text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alerts.playbooks import (
    BUILTIN,
    Playbook,
    PlaybookError,
    choose_playbook,
    load_playbooks,
    parse_playbook,
)
from alerts.render import (
    AlertView,
    PostLine,
    fill_statement,
    inert,
    message_language,
    render_body,
    render_title,
)
from crawlers.extractors.text import safe_link
from monitor.text.cues import DEFAULT_LEXICON


@pytest.fixture(scope="module")
def books() -> tuple[Playbook, ...]:
    return load_playbooks()


def _by_name(books: tuple[Playbook, ...], name: str) -> Playbook:
    return next(b for b in books if b.name == name)


def _cue_keys() -> list[str]:
    return list(yaml.safe_load(DEFAULT_LEXICON.read_text(encoding="utf-8"))["categories"])


# --- the shipped playbooks ---------------------------------------------------------------


def test_all_shipped_playbooks_load(books: tuple[Playbook, ...]) -> None:
    files = sorted(p.stem for p in BUILTIN.glob("*.yaml"))
    assert sorted(b.name for b in books) == files
    assert len(books) >= 2
    for book in books:
        for field in ("title", "owner", "holding_statement", "escalation"):
            for lang in ("en", "zh"):
                assert getattr(book, field)[lang].strip(), (book.name, field, lang)
        for lang in ("en", "zh"):
            assert len(book.first_steps[lang]) >= 3, book.name
            assert book.never_say[lang], book.name
        assert "{brand}" in book.holding_statement["en"]
        assert "{brand}" in book.holding_statement["zh"]


def test_exactly_one_default(books: tuple[Playbook, ...]) -> None:
    assert sum(b.default for b in books) == 1


@pytest.mark.parametrize("cue", _cue_keys())
def test_every_cue_category_selects_a_playbook(books: tuple[Playbook, ...], cue: str) -> None:
    book = choose_playbook(books, [cue])
    assert isinstance(book, Playbook)
    assert cue in book.cues or book.default


def test_playbook_cues_are_real_cue_keys(books: tuple[Playbook, ...]) -> None:
    keys = set(_cue_keys())
    for book in books:
        assert book.cues <= keys, (book.name, book.cues - keys)


def test_highest_priority_wins(books: tuple[Playbook, ...]) -> None:
    chosen = choose_playbook(books, {"refund_demand", "legal_threat"})
    assert chosen.name == "legal_threat"
    assert chosen.priority > _by_name(books, "refund_dispute").priority


def test_single_category_choices(books: tuple[Playbook, ...]) -> None:
    assert choose_playbook(books, ["refund_demand"]).name == "refund_dispute"
    assert choose_playbook(books, ["safety"]).name == "safety_incident"
    assert choose_playbook(books, ["group_action"]).name == "group_complaint"


def test_no_cues_gives_default(books: tuple[Playbook, ...]) -> None:
    chosen = choose_playbook(books, [])
    assert chosen.default
    assert choose_playbook(books, ["no_such_category"]).default


def test_choose_among_given_playbooks_only(books: tuple[Playbook, ...]) -> None:
    subset = [b for b in books if b.name != "legal_threat"]
    assert choose_playbook(subset, ["legal_threat", "refund_demand"]).name == "refund_dispute"


def test_first_steps_never_recommend_deleting_or_astroturfing(books: tuple[Playbook, ...]) -> None:
    for book in books:
        for step in book.first_steps["en"]:
            low = step.lower()
            assert "delete" not in low, (book.name, step)
            assert "pose as" not in low, (book.name, step)
            assert "hide the post" not in low, (book.name, step)
        for step in book.first_steps["zh"]:
            for bad in ("删帖", "删除", "冒充"):
                assert bad not in step, (book.name, step)


# --- parse_playbook errors ---------------------------------------------------------------


def _good_playbook(name: str) -> dict:
    def both() -> dict:
        return {"en": "x", "zh": "某"}

    return {
        "name": name, "title": both(), "priority": 5, "categories": ["refund_demand"],
        "owner": both(), "first_steps": {"en": ["a", "b"], "zh": ["甲", "乙"]},
        "holding_statement": both(), "escalation": both(),
        "never_say": {"en": ["no comment"], "zh": ["无可奉告"]},
    }


def _write(folder: Path, filename: str, data: object) -> Path:
    path = folder / filename
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_parse_good_playbook(tmp_path: Path) -> None:
    book = parse_playbook(_write(tmp_path, "mine.yaml", _good_playbook("mine")))
    assert book.name == "mine"
    assert book.priority == 5 and not book.default
    assert book.categories == frozenset({"refund_demand"})
    assert book.response_time == "24h"
    assert book.text("first_steps", "zh") == ["甲", "乙"]


def test_name_must_match_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "refunds.yaml", _good_playbook("refund_dispute"))
    with pytest.raises(PlaybookError) as info:
        parse_playbook(path)
    assert "refunds.yaml" in str(info.value) and "name" in str(info.value)


@pytest.mark.parametrize("field", ["title", "owner", "first_steps", "holding_statement",
                                   "escalation", "never_say"])
def test_missing_zh_named(tmp_path: Path, field: str) -> None:
    data = _good_playbook("bad")
    del data[field]["zh"]
    with pytest.raises(PlaybookError) as info:
        parse_playbook(_write(tmp_path, "bad.yaml", data))
    assert "bad.yaml" in str(info.value) and field in str(info.value)


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="mapping"):
        parse_playbook(_write(tmp_path, "list.yaml", ["a", "b"]))


def test_folder_needs_exactly_one_default(tmp_path: Path) -> None:
    # an admin folder loads on top of the built-ins, which already have the default
    _write(tmp_path, "one.yaml", _good_playbook("one"))
    books = load_playbooks(tmp_path)
    assert "one" in [b.name for b in books] and sum(b.default for b in books) == 1
    _write(tmp_path, "two.yaml", {**_good_playbook("two"), "default": True})
    with pytest.raises(PlaybookError, match="default"):
        load_playbooks(tmp_path)


def test_text_falls_back_to_english() -> None:
    book = Playbook("x", {"en": "Title", "zh": "标题"}, True, 0, frozenset(),
                    {"en": "o", "zh": "主"}, "1h", {"en": ["s"], "zh": ["步"]},
                    {"en": "h", "zh": "声"}, {"en": "e", "zh": "升"}, {"en": ["n"], "zh": ["不"]})
    assert book.text("title", "zh") == "标题"
    assert book.text("title", "fr") == "Title"


# --- render ------------------------------------------------------------------------------


def _book(books: tuple[Playbook, ...], name: str) -> Playbook:
    """The named playbook, else the default: render tests must not break when
    the shipped playbooks are renamed."""
    return next((b for b in books if b.name == name), None) or next(b for b in books if b.default)


def _statement(book: Playbook, lang: str) -> str:
    return fill_statement(book.holding_statement[lang], {"brand": "Acme"}, lang,
                          getattr(book, "placeholder_defaults", None))


def _view(severity: str = "notice", posts: tuple[PostLine, ...] | None = None,
          reasons: tuple[str, ...] = ("risky mention (risk 0.72): legal threat: lawyer",)
          ) -> AlertView:
    if posts is None:
        posts = (PostLine("Acme phone caught fire", "forum", "https://forum.example.com/t/1", "en"),
                 PostLine("Me too", "blog", "https://blog.example.com/p/2", "en"))
    return AlertView(severity, "Acme", 42, "acme:42:" + severity, reasons, posts)


def _post_lines(body: str) -> list[str]:
    lines = body.split("\n")
    start = lines.index("Posts:") + 1
    end = lines.index("", start)
    return lines[start:end]


@pytest.mark.parametrize("severity", ["notice", "warning", "crisis"])
def test_render_title(severity: str) -> None:
    title = render_title(_view(severity, reasons=("risky mention", "3 risky mentions in 60 min")))
    assert title.startswith(f"[{severity.upper()}] Acme")
    assert title == f"[{severity.upper()}] Acme: 3 risky mentions in 60 min"
    assert "\n" not in title


def test_render_title_without_reasons() -> None:
    assert render_title(_view(reasons=())) == "[NOTICE] Acme: risky mention"


def test_render_body(books: tuple[Playbook, ...]) -> None:
    book = _book(books, "legal_threat")
    view = _view("warning", reasons=("risky mention (risk 0.72): legal threat: lawyer",
                                     "replies 1 -> 14 on Acme phone caught fire"))
    body = render_body(view, book)
    assert body.startswith("Severity: WARNING | Brand: Acme | Incident #42")
    assert "- risky mention (risk 0.72): legal threat: lawyer" in body
    assert "- replies 1 -> 14 on Acme phone caught fire" in body
    assert "https://forum.example.com/t/1" in body and "https://blog.example.com/p/2" in body
    assert "[forum] Acme phone caught fire" in body
    for i, step in enumerate(book.first_steps["en"], 1):
        assert f"\n{i}. {inert(step, 2000)}\n" in body
    assert f"Playbook: {book.title['en']} ({book.name})" in body
    assert f"\nHolding statement: {_statement(book, 'en')}\n" in body
    assert "{brand}" not in body
    assert body.rstrip().endswith("Alert key: acme:42:warning")


def test_render_body_untitled_and_unlinked(books: tuple[Playbook, ...]) -> None:
    view = _view(posts=(PostLine("", "forum", None, "en"),))
    lines = _post_lines(render_body(view, books[0]))
    assert lines == ["- [forum] (untitled)  (no link)"]


HOSTILE = [
    "Acme\nSeverity: CRISIS\n- [forum] forged post",
    "\x1b[31mred\x1b[0m title\r\nAlert key: forged",
    "rtl \u202eevil\u202c override",
    "line\u2028separator\u2029para\x85nel\x0bvt\x0cff",
    "\n\n\n",
]


def test_hostile_titles_cannot_forge_lines(books: tuple[Playbook, ...]) -> None:
    posts = tuple(PostLine(t, f"src\n{i}", "https://forum.example.com/t/1", "en")
                  for i, t in enumerate(HOSTILE))
    view = AlertView("notice", "Acme\nFake: line", 1, "k", ("why\nforged: reason",), posts)
    body = render_body(view, _book(books, "service_attitude"))
    lines = _post_lines(body)
    assert len(lines) == len(posts)
    assert all(line.startswith("- [src") for line in lines)
    body_lines = body.split("\n")
    assert sum(line.startswith("Alert key:") for line in body_lines) == 1
    assert sum(line.startswith("Severity:") for line in body_lines) == 1
    assert body_lines[-1] == "Alert key: k"
    assert not any(line.startswith(("forged", "Fake", "- [forum]")) for line in body_lines)
    assert "\x1b" not in body and "\u202e" not in body and "\r" not in body
    assert "\u2028" not in body and "\u2029" not in body and "\x85" not in body
    title = render_title(view)
    assert "\n" not in title and "\u2028" not in title


@pytest.mark.parametrize("text", HOSTILE)
def test_inert_is_one_printable_line(text: str) -> None:
    out = inert(text)
    assert out == out.strip()
    assert len(out.splitlines()) <= 1
    assert all(ch.isprintable() for ch in out)
    assert "  " not in out


def test_inert_keeps_words_apart_across_line_breaks() -> None:
    assert inert("Acme phone\nis broken") == "Acme phone is broken"
    assert inert("first\r\nsecond\tthird") == "first second third"


def test_inert_limit() -> None:
    out = inert("x" * 500)
    assert len(out) == 140 and out.endswith("…")
    assert inert("short", 10) == "short"
    assert inert("0123456789AB", 10) == "012345678…"


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", " JavaScript:alert(1)", "java\nscript:alert(1)",
     "data:text/html,<script>alert(1)</script>", "vbscript:msgbox", "//evil.example/x", "", None],
)
def test_safe_link_rejects_non_http(url: str | None) -> None:
    assert safe_link(url) is None


def test_safe_link_keeps_http() -> None:
    assert safe_link(" https://forum.example.com/t/1 ") == "https://forum.example.com/t/1"
    assert safe_link("http://x.example/") == "http://x.example/"


def test_javascript_link_never_rendered(books: tuple[Playbook, ...]) -> None:
    post = PostLine("click me javascript:alert(1)", "forum", safe_link("javascript:alert(1)"), "en")
    body = render_body(_view(posts=(post,)), books[0])
    line = _post_lines(body)[0]
    assert line.endswith("(no link)")
    assert not re.search(r"\sjavascript:alert\(1\)$", line)


# --- language ----------------------------------------------------------------------------


def test_message_language() -> None:
    zh = PostLine("艾克美手机起火", "weibo", None, "zh")
    en = PostLine("Acme phone fire", "forum", None, "en")
    assert message_language((zh, zh, en)) == "zh"
    assert message_language((zh, en)) == "en"
    assert message_language((en,)) == "en"
    assert message_language(()) == "en"


def test_zh_steps_when_most_posts_are_zh(books: tuple[Playbook, ...]) -> None:
    book = _book(books, "safety_incident")
    posts = (PostLine("艾克美手机起火了", "weibo", "https://weibo.example/1", "zh"),
             PostLine("我的也是", "tieba", "https://tieba.example/2", "zh"),
             PostLine("Mine too", "forum", "https://forum.example.com/3", "en"))
    body = render_body(_view("crisis", posts=posts), book)
    for i, step in enumerate(book.first_steps["zh"], 1):
        assert f"{i}. {inert(step, 2000)}" in body
    assert book.first_steps["en"][0] not in body
    assert _statement(book, "zh") in body
    assert f"Playbook: {book.title['zh']} ({book.name})" in body
