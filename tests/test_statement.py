"""Holding statements (alerts/statement.py): optional clauses, placeholders, the
brand's name per language, and the built-in playbooks' statements for an online
complaint, which names no store (issue 15)."""

from __future__ import annotations

import re

import pytest

from alerts.playbooks import load_playbooks
from alerts.render import AlertView, PostLine, render_alert
from alerts.statement import (
    bare_placeholders,
    fill_statement,
    statement_brand,
)


def test_an_optional_clause_is_kept_only_with_every_value_it_holds() -> None:
    text = "Sorry about {brand}[ at {place}][ on {time} at {place}]."
    assert fill_statement(text, {"brand": "Acme", "place": "Main St"}) == \
        "Sorry about Acme at Main St."
    assert fill_statement(text, {"brand": "Acme", "place": "Main St", "time": "3 May"}) == \
        "Sorry about Acme at Main St on 3 May at Main St."
    assert fill_statement(text, {"brand": "Acme"}) == "Sorry about Acme."
    assert fill_statement("抱歉您在{brand}[{place}]的经历", {"brand": "艾克美"}, "zh") == \
        "抱歉您在艾克美的经历"


def test_defaults_never_fill_an_optional_clause() -> None:
    defaults = {"place": {"en": "one of our stores", "zh": "门店"},
                "product": {"en": "kettle", "zh": "电水壶"}}
    assert fill_statement("your {product}[ from {place}]", {}, "en", defaults) == "your kettle"
    assert fill_statement("your[ {product}]", {}, "en", defaults) == "your"


def test_a_dropped_clause_leaves_no_stray_space() -> None:
    assert fill_statement("with {brand} [at {place}], and [more] .", {"brand": "Acme"}) == \
        "with Acme, and [more]."


def test_brackets_without_a_placeholder_and_values_with_brackets_stay_as_written() -> None:
    assert fill_statement("[sic] {brand}", {"brand": "Acme"}) == "[sic] Acme"
    values = {"brand": "[{place}]", "place": "{brand} [x]"}
    assert fill_statement("{brand}[ at {place}]", values) == "[{place}] at {brand} [x]"


def test_bare_placeholders_are_those_outside_clauses() -> None:
    assert bare_placeholders("{brand}[ at {place}] {time}") == ["brand", "time"]
    assert bare_placeholders("{brand} [at {place}") == ["brand", "place"]  # never closed
    assert bare_placeholders("{brand} [at] {place}") == ["brand", "place"]


def test_the_brand_is_named_in_the_statements_language_when_configured() -> None:
    names = {"zh": "艾克美"}
    assert statement_brand("Acme", names, "zh") == "艾克美"
    assert statement_brand("Acme", names, "en") == "Acme"
    assert statement_brand("Acme", None, "zh") == "Acme"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_builtin_statements_assert_no_store_for_an_online_post(lang: str) -> None:
    """A forum complaint names no store, branch or city: no statement may say one,
    and every placeholder and clause mark is gone."""
    store = re.compile(r"\b(?:store|shop|branch|location)s?\b|门店|店铺|分店|网点")
    for book in load_playbooks():
        out = fill_statement(book.holding_statement[lang], {"brand": "Acme"}, lang,
                             book.placeholder_defaults)
        assert not re.search(r"[{}\[\]]", out), (book.name, out)
        assert not store.search(out), (book.name, out)
        assert "Acme" in out, book.name


def _view(lang: str, **changes: object) -> AlertView:
    title = "Acme手机充电发烫，客服说正常" if lang == "zh" else "Acme phone overheating"
    values: dict = {"severity": "notice", "brand": "Acme", "incident_id": 1,
                    "dedup_key": "acme:1:notice", "reasons": ("risky mention",),
                    "posts": (PostLine(title, "forum", "https://forum.example/t/1", lang),),
                    "brand_names": {"zh": "艾克美"}}
    values.update(changes)
    return AlertView(**values)


def test_the_issue_case_renders_without_a_store_and_with_the_chinese_name() -> None:
    """Issue 15: a forum complaint about an overheating phone got "在Acme门店的经历"."""
    book = next(b for b in load_playbooks() if b.name == "service_attitude")
    zh = render_alert(_view("zh"), book).body
    assert "非常抱歉您在艾克美的经历给您带来了困扰" in zh
    assert "门店的经历" not in zh and "Brand: Acme" in zh  # the header keeps the config name
    en = render_alert(_view("en"), book).body
    assert "We are sorry about your experience with Acme, and we understand" in en
    assert "艾克美" not in en
    at_store = render_alert(_view("en", place="the Main St store"), book).body
    assert "your experience with Acme at the Main St store, and" in at_store
