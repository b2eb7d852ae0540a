"""alerts/render.py templates: per-format escaping of hostile post content, the
Jinja2 sandbox, digests, acknowledgement links, and delivery through apprise to a
loopback json:// endpoint."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html import escape as html_escape
from pathlib import Path

import jinja2
import pytest
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from alerts.notify import send_apprise
from alerts.playbooks import Playbook, load_playbooks
from alerts.render import (
    FORMATS,
    AlertView,
    PostLine,
    Rendered,
    clean_url,
    fill_statement,
    inert,
    md_escape,
    render_alert,
    render_body,
    render_digest,
    template_env,
)
from monitor.lab.localsite import AlertReceiver

HOSTILE = ("<script>alert(1)</script> {{ 7*7 }} [click](javascript:alert(1)) "
           "![x](http://evil/p.png)")
GOOD_URL = "https://forum.example.com/t/1"
ACK = "https://console.example.com/alerts/7/ack"
APPRISE_FORMAT = {"plain": "text", "markdown": "markdown", "html": "html"}


@pytest.fixture(scope="module")
def book() -> Playbook:
    """The default playbook: present whatever the playbook files are called."""
    return next(b for b in load_playbooks() if b.default)


def _posts() -> tuple[PostLine, ...]:
    return (PostLine(HOSTILE, "forum", "javascript:alert(1)", "en"),
            PostLine("Acme phone caught fire", "blog", GOOD_URL, "en"))


def _view(**changes: object) -> AlertView:
    values: dict = {"severity": "warning", "brand": "Acme", "incident_id": 42,
                    "dedup_key": "acme:42:warning", "reasons": ("risky mention", "3 in 60 min"),
                    "posts": _posts()}
    values.update(changes)
    return AlertView(**values)


def _statement(book: Playbook, lang: str, brand: str = "Acme") -> str:
    return fill_statement(book.holding_statement[lang], {"brand": brand}, lang,
                          getattr(book, "placeholder_defaults", None))


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def _unescaped(text: str, body: str) -> bool:
    """``text`` occurs in ``body`` without a Markdown backslash before it."""
    return re.search(r"(?<!\\)" + re.escape(text), body, flags=re.I) is not None


def _md_targets(md: str) -> list[str]:
    """Targets of every real (unescaped) Markdown link or image."""
    return re.findall(r"(?<!\\)\]\(([^)]*)\)", md)


# --- escaping of hostile post content ---------------------------------------------------


def test_html_escapes_script(book: Playbook) -> None:
    body = render_alert(_view(), book, "html").body
    assert "<script" not in body.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_template_syntax_in_posts_stays_literal(book: Playbook, fmt: str) -> None:
    body = render_alert(_view(), book, fmt).body
    literal = r"\{\{ 7\*7 \}\}" if fmt == "markdown" else "{{ 7*7 }}"
    assert literal in body
    assert not re.search(r"\b49\b", body)


def test_markdown_link_and_image_injection_is_literal(book: Playbook) -> None:
    body = render_alert(_view(), book, "markdown").body
    assert r"\[click\]\(javascript:alert\(1\)\)" in body
    assert r"\!\[x\]\(http://evil/p\.png\)" in body
    assert r"\<script\>alert\(1\)\</script\>" in body
    assert _md_targets(body) == [GOOD_URL]
    assert "![" not in body.replace(r"\!\[", "")


def test_markdown_renders_to_harmless_html(book: Playbook) -> None:
    markdown = pytest.importorskip("markdown")
    html = markdown.markdown(render_alert(_view(), book, "markdown").body)
    assert "<img" not in html and "<script" not in html.lower()
    assert _hrefs(html) == [GOOD_URL]
    assert "[click](javascript:alert(1))" in html  # shown as text, not as a link


@pytest.mark.parametrize("fmt", FORMATS)
def test_javascript_url_is_never_a_link(book: Playbook, fmt: str) -> None:
    rendered = render_alert(_view(ack_url="javascript:alert(2)"), book, fmt)
    body = rendered.body
    assert "alert(2)" not in body and "Acknowledge" not in body
    if fmt == "html":
        assert _hrefs(body) == [GOOD_URL]
    elif fmt == "markdown":
        assert _md_targets(body) == [GOOD_URL]
    else:
        hostile_line = next(line for line in body.split("\n") if "[forum]" in line)
        assert hostile_line.endswith("  (no link)")
        assert f"[blog] Acme phone caught fire  {GOOD_URL}" in body


def test_html_links_are_noopener(book: Playbook) -> None:
    body = render_alert(_view(ack_url=ACK), book, "html").body
    anchors = re.findall(r"<a\s[^>]*>", body)
    assert len(anchors) == 2
    assert all('rel="noopener noreferrer"' in a for a in anchors)
    assert sorted(_hrefs(body)) == sorted([GOOD_URL, ACK])


@pytest.mark.parametrize("fmt", FORMATS)
def test_urls_cannot_break_out(book: Playbook, fmt: str) -> None:
    sneaky = 'https://x.example/a b"onmouseover="alert(3)(y)\n<b>'
    body = render_alert(_view(posts=(PostLine("t", "s", sneaky, "en"),)), book, fmt).body
    assert '"onmouseover="' not in body and "(y)\n" not in body
    assert "x.example/a%20b%22onmouseover=%22alert" in body and "%3Cb%3E" in body
    if fmt == "markdown":
        assert _md_targets(body) == ["https://x.example/a%20b%22onmouseover=%22alert%283%29"
                                     "%28y%29%3Cb%3E"]
    if fmt == "html":
        assert len(_hrefs(body)) == 1 and '"' not in _hrefs(body)[0]


def test_posts_cannot_forge_markdown_blocks(book: Playbook) -> None:
    posts = tuple(PostLine(t, "s", None, "en") for t in
                  ("# Heading", "- item", "1. first", "> quote", "line\n\n# two", "`code`"))
    body = render_alert(_view(posts=posts), book, "markdown").body
    for forged in ("# Heading", "- item", "1. first", "> quote", "# two", "`code`"):
        assert not any(line.startswith(forged) for line in body.split("\n"))
        assert not _unescaped(forged, body)
    assert r"\# Heading" in body and r"1\. first" in body and r"\`code\`" in body


# --- playbook content in every format ---------------------------------------------------


def _step_markup(fmt: str, step: str) -> str:
    if fmt == "html":
        return f"<li>{html_escape(inert(step, 2000))}</li>"
    return md_escape(step) if fmt == "markdown" else inert(step, 2000)


@pytest.mark.parametrize("fmt", FORMATS)
def test_statement_filled_and_steps_numbered(book: Playbook, fmt: str) -> None:
    body = render_alert(_view(), book, fmt).body
    assert "{brand}" not in body and "{product}" not in body
    statement = _statement(book, "en")
    expected = {"plain": statement, "markdown": md_escape(statement),
                "html": html_escape(statement)}[fmt]
    assert expected in body and "Acme" in expected
    steps = book.first_steps["en"]
    if fmt == "html":
        ordered = body[body.index("<ol>"):body.index("</ol>")]
        assert ordered.count("<li>") == len(steps)
    positions = []
    for i, step in enumerate(steps, 1):
        marker = _step_markup(fmt, step) if fmt == "html" else f"\n{i}. {_step_markup(fmt, step)}\n"
        assert marker in body, marker
        positions.append(body.index(marker))
    assert positions == sorted(positions)


@pytest.mark.parametrize("fmt", FORMATS)
def test_brand_markup_is_escaped(book: Playbook, fmt: str) -> None:
    brand = "Acme <b>*Co*</b> [x](javascript:1)"
    rendered = render_alert(_view(brand=brand), book, fmt)
    assert rendered.title.startswith(f"[WARNING] {brand}:")  # titles are plain text
    body = rendered.body
    if fmt == "html":
        assert "<b>*Co*" not in body and "Acme &lt;b&gt;*Co*&lt;/b&gt;" in body
        assert _hrefs(body) == [GOOD_URL]
    elif fmt == "markdown":
        assert r"Acme \<b\>\*Co\*\</b\> \[x\]\(javascript:1\)" in body
        assert _md_targets(body) == [GOOD_URL]
    else:
        assert brand in body
    statement_brand = {"plain": brand, "markdown": md_escape(brand),
                       "html": html_escape(brand)}[fmt]
    assert body.count(statement_brand) >= 2  # header and holding statement


def test_chinese_posts_get_the_chinese_playbook(book: Playbook) -> None:
    posts = (PostLine("艾克美手机起火了", "weibo", GOOD_URL, "zh"),
             PostLine("我的也是", "tieba", None, "zh"))
    for fmt in FORMATS:
        body = render_alert(_view(posts=posts), book, fmt).body
        assert _statement(book, "zh") in body
        assert inert(book.first_steps["zh"][0], 2000) in body
        assert book.first_steps["en"][0] not in body


def test_fill_statement() -> None:
    text = "{brand}: {product} at {place}, {time}. {unknown} {0} {{brand}}"
    out = fill_statement(text, {"brand": "Acme", "product": "X1", "place": "Berlin",
                                "time": "3 May"})
    assert out == "Acme: X1 at Berlin, 3 May. {unknown} {0} {Acme}"
    assert fill_statement("{product} {time}", {}) == "product recently"
    assert fill_statement("{product}{time}", {}, "zh") == "产品近日"
    defaults = {"product": {"en": "the kettle", "zh": "电水壶"}}
    assert fill_statement("{product}", {"product": ""}, "zh", defaults) == "电水壶"
    assert fill_statement("{brand}", {"brand": "{product} {time}"}) == "{product} {time}"


def test_placeholders_from_view_and_playbook(book: Playbook) -> None:
    kettle = {"en": "kettle", "zh": "电水壶"}
    custom = replace(book, placeholder_defaults={"product": kettle},
                     holding_statement={"en": "{brand} {product}[ <i>{place}</i>] on {time}.",
                                        "zh": "{brand}"})
    opened = datetime(2025, 5, 3, 9, 30, tzinfo=UTC)
    view = _view(product="Kettle <3", place="Main St [store]", opened_at=opened)
    plain = render_alert(view, custom, "plain").body
    assert "Holding statement: Acme Kettle <3 <i>Main St [store]</i> on 3 May 2025." in plain
    html = render_alert(view, custom, "html").body
    assert "Acme Kettle &lt;3 &lt;i&gt;Main St [store]&lt;/i&gt; on 3 May 2025." in html
    assert "Opened: 2025-05-03 09:30 UTC" in plain
    online = render_alert(_view(opened_at=opened), custom, "plain").body  # no place, no product
    assert "Holding statement: Acme kettle on 3 May 2025." in online


# --- ack link ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_ack_link_only_when_set(book: Playbook, fmt: str) -> None:
    without = render_alert(_view(), book, fmt).body
    assert "Acknowledge" not in without and "console.example.com" not in without
    body = render_alert(_view(ack_url=ACK, alert_id=7), book, fmt).body
    expected = {"plain": f"Acknowledge: {ACK}", "markdown": f"[Acknowledge]({ACK})",
                "html": f'<a href="{ACK}" rel="noopener noreferrer">Acknowledge</a>'}[fmt]
    assert expected in body


# --- digest -----------------------------------------------------------------------------


def _digest_views() -> list[AlertView]:
    return [_view(incident_id=101, severity="notice", reasons=(HOSTILE,), ack_url=ACK),
            _view(incident_id=102, severity="notice", brand="Globex", posts=()),
            _view(incident_id=103, severity="warning", brand="Initech <i>")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_digest_lists_every_alert(fmt: str) -> None:
    rendered = render_digest(_digest_views(), fmt)
    assert isinstance(rendered, Rendered) and rendered.fmt == fmt
    assert rendered.title == "[DIGEST] 3 alerts: Acme, Globex, Initech <i>"
    body = rendered.body
    for incident in (101, 102, 103):
        assert body.count(f"#{incident}") == 1
    item = {"plain": r"^- \[", "markdown": r"^- \*\*", "html": r"^<li>"}[fmt]
    assert len(re.findall(item, body, flags=re.M)) == 3
    assert not _unescaped("<script", body) or fmt == "plain"
    assert not re.search(r"\b49\b", body)
    assert body.count("Acknowledge") == 1
    if fmt == "html":
        assert sorted(_hrefs(body)) == sorted([GOOD_URL, ACK, GOOD_URL])
        assert "Initech &lt;i&gt;" in body
    elif fmt == "markdown":
        assert sorted(_md_targets(body)) == sorted([GOOD_URL, ACK, GOOD_URL])
        assert r"Initech \<i\>" in body
    else:
        assert "Globex: risky mention | Incident #102 | (no link)" in body


def test_digest_of_one_and_of_none() -> None:
    assert render_digest(_digest_views()[:1]).title == "[DIGEST] 1 alert: Acme"
    with pytest.raises(ValueError):
        render_digest([])


# --- the template environment -----------------------------------------------------------


def test_environment_is_sandboxed_strict_and_escapes_html_only() -> None:
    env = template_env()
    assert isinstance(env, ImmutableSandboxedEnvironment)
    assert env.undefined is jinja2.StrictUndefined
    assert env.autoescape("alert.html.j2") is True
    assert env.autoescape("alert.md.j2") is False and env.autoescape("alert.txt.j2") is False
    for kind in ("alert", "digest"):
        for ext in ("txt", "md", "html"):
            assert env.get_template(f"{kind}.{ext}.j2")


def test_post_content_is_never_compiled(book: Playbook, monkeypatch: pytest.MonkeyPatch) -> None:
    template_env.cache_clear()
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def spy(self, source, name=None, filename=None, raw=False, defer_init=False):  # noqa: ANN001, ANN202
        compiled.append(source if isinstance(source, str) else "<ast>")
        return real(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    for fmt in FORMATS:
        render_alert(_view(), book, fmt)
        render_digest(_digest_views(), fmt)
    template_env.cache_clear()
    assert len(compiled) == 6  # our six files, once each
    assert not any("7*7" in src or "javascript" in src for src in compiled)


def test_custom_folder_overrides_builtin(book: Playbook, tmp_path: Path) -> None:
    (tmp_path / "alert.txt.j2").write_text("CUSTOM {{ brand }} #{{ incident_id }}",
                                           encoding="utf-8")
    assert render_alert(_view(), book, "plain", folder=tmp_path).body == "CUSTOM Acme #42"
    builtin_md = render_alert(_view(), book, "markdown").body
    assert render_alert(_view(), book, "markdown", folder=tmp_path).body == builtin_md


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ brand.__class__.__base__.__subclasses__() }}",
    "{{ posts.append(1) }}",
    "{% set x = book.update(name='evil') %}",
])
def test_malicious_custom_template_is_stopped(book: Playbook, tmp_path: Path, source: str
                                              ) -> None:
    (tmp_path / "alert.html.j2").write_text(source, encoding="utf-8")
    with pytest.raises(SecurityError):
        render_alert(_view(), book, "html", folder=tmp_path)


def test_typo_in_template_is_an_error(book: Playbook, tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text("{{ cuont }} alerts", encoding="utf-8")
    with pytest.raises(UndefinedError, match="cuont"):
        render_digest(_digest_views(), "markdown", folder=tmp_path)


def test_unknown_format(book: Playbook) -> None:
    with pytest.raises(ValueError, match="markdown"):
        render_alert(_view(), book, "rtf")


def test_render_body_is_the_plain_alert(book: Playbook) -> None:
    rendered = render_alert(_view(), book)
    assert rendered.fmt == "plain" and render_body(_view(), book) == rendered.body
    assert rendered.body.startswith("Severity: WARNING | Brand: Acme | Incident #42")


# --- helpers ----------------------------------------------------------------------------


def test_md_escape() -> None:
    assert md_escape("a*b_c`d[e](f)!g#h+i-j.k|l<m>n{o}p\\q~r") == \
        r"a\*b\_c\`d\[e\]\(f\)\!g\#h\+i\-j\.k\|l\<m\>n\{o\}p\\q\~r"
    assert md_escape("line\n# two") == r"line \# two"


def test_clean_url() -> None:
    assert clean_url("javascript:alert(1)") is None
    assert clean_url(" JavaScript:alert(1)") is None
    assert clean_url("data:text/html,x") is None
    assert clean_url("https://x.example/" + "a" * 3000) is None
    assert clean_url("https://x.example/a b?q=\u00e9") == "https://x.example/a%20b?q=%C3%A9"
    assert clean_url("https://x.example/a%20b") == "https://x.example/a%20b"


# --- end to end through apprise ---------------------------------------------------------


def _expected_escapes(fmt: str) -> list[str]:
    return {"plain": ["<script>alert(1)</script> {{ 7*7 }}", "  (no link)"],
            "markdown": [r"\<script\>", r"\{\{ 7\*7 \}\}", r"\[click\]\(javascript:"],
            "html": ["&lt;script&gt;alert(1)&lt;/script&gt;",
                     f'<a href="{GOOD_URL}" rel="noopener noreferrer">']}[fmt]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_arrives_escaped(receiver: AlertReceiver, book: Playbook, fmt: str) -> None:
    rendered = render_alert(_view(ack_url=ACK), book, fmt)
    url = f"{receiver.url}?format={APPRISE_FORMAT[fmt]}"
    result = send_apprise(url, rendered.title, rendered.body, "warning", fmt)
    assert result.ok, result.error
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.title == "[WARNING] Acme: 3 in 60 min"
    assert got.type == "warning"
    assert got.body.strip() == rendered.body.strip()
    for escaped in _expected_escapes(fmt):
        assert escaped in got.body
    if fmt != "plain":
        assert not _unescaped("<script", got.body)
    assert ACK in got.body


def test_plain_send_keeps_four_argument_call(receiver: AlertReceiver, book: Playbook) -> None:
    body = render_body(_view(), book)
    assert send_apprise(receiver.url, "t", body, "notice").ok
    assert receiver.received[0].body.strip() == body


def test_markdown_to_an_html_channel_stays_harmless(receiver: AlertReceiver,
                                                    book: Playbook) -> None:
    rendered = render_alert(_view(ack_url=ACK), book, "markdown")
    assert send_apprise(f"{receiver.url}?format=html", rendered.title, rendered.body,
                        "crisis", "markdown").ok
    html = receiver.received[0].body
    assert "<strong>" in html  # apprise really converted the Markdown
    assert "<script" not in html.lower() and "<img" not in html
    assert "&lt;script&gt;" in html
    assert sorted(_hrefs(html)) == sorted([GOOD_URL, ACK])


def test_digest_through_apprise(receiver: AlertReceiver) -> None:
    rendered = render_digest(_digest_views(), "html")
    assert send_apprise(f"{receiver.url}?format=html", rendered.title, rendered.body,
                        "notice", "html").ok
    got = receiver.received[0]
    assert got.title == rendered.title
    assert got.body.count("<li>") == 3 and "<script" not in got.body.lower()


def test_unknown_body_format_is_reported_not_raised(receiver: AlertReceiver) -> None:
    result = send_apprise(receiver.url, "t", "b", "notice", "rtf")
    assert not result.ok and "rtf" in result.error
    assert receiver.received == []
