"""The console's interface in Simplified Chinese and English (issue 18): every
string the templates and handlers show goes through the catalogue and has its
Chinese; each page an admin can open, rendered in Chinese, shows no English
interface word; the language is the user's setting, else the browser's; the
playbook and the board's countdown follow it."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser

import pytest
from sqlmodel import select

from db.engine import session
from db.models import User
from monitor.history.board import COUNTDOWN_EN, countdown_text
from monitor.users import UserError, set_language
from tests.conftest import ROOT
from tests.web_support import (
    Console,
    add_alert,
    add_incident,
    add_post,
    console_fixture,  # noqa: F401 - the console fixture
    csrf_of,
    logged_in,
)
from web.i18n import WORDS, choose_lang, countdown_words, from_accept_language
from web.i18n_zh import ZH
from web.pages import TEMPLATES, templates

ZH_BROWSER = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdfr]|\{\w+\}")
LATIN_OK = {"Discourse", "Markdown", "HTML"}  # names, the same in Chinese
FIND = {"N_": 0, "t": 1, "translate": 1, "plural": 2}  # where each helper takes its key


def template_keys() -> dict[str, str]:
    """Every ``_()``, ``ngettext()`` and ``{% trans %}`` key of every template (for
    ``ngettext`` the plural, the form Chinese uses), with the file it is in."""
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        calls = templates.env.extract_translations(path.read_text(encoding="utf-8"))
        for _line, func, message in calls:
            if isinstance(message, tuple):
                message = message[1] if func == "ngettext" else message[0]
            if isinstance(message, str):
                found.setdefault(message, path.name)
    return found


def python_keys() -> dict[str, str]:
    """The literal keys web/ passes to ``N_``, ``t``, ``translate`` and ``plural``."""
    found = {}
    for path in sorted((ROOT / "web").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            at = FIND.get(node.func.id)
            if at is None or len(node.args) <= at:
                continue
            key = node.args[at]  # a variable key is a word marked elsewhere (N_, WORDS)
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.setdefault(key.value, path.name)
    return found


PRODUCT = ("db", "crawlers", "monitor", "alerts", "web")


def said_keys() -> dict[str, str]:
    """The English templates the product passes to ``said()`` (db/messages.py): the
    refusals monitor/, alerts/ and crawlers/ raise, which the console translates.
    A template that is not a literal could not be looked up: the scan fails on it."""
    found = {}
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id == "said"):
                    key = node.args[0]
                    assert isinstance(key, ast.Constant) and isinstance(key.value, str), \
                        f"{path}:{node.lineno}: said() needs a literal template"
                    found.setdefault(key.value, str(path.relative_to(ROOT)))
    return found


def all_keys() -> dict[str, str]:
    words = {w: "WORDS" for w in (*WORDS, *COUNTDOWN_EN.values())}
    return {**words, **said_keys(), **python_keys(), **template_keys()}


def test_every_key_has_chinese_with_the_same_placeholders_and_none_is_stale() -> None:
    keys = all_keys()
    assert len(keys) > 300  # the scan found the templates' keys, not nothing
    missing = sorted(f"{where}: {key!r}" for key, where in keys.items() if key not in ZH)
    assert not missing, "no Chinese for:\n" + "\n".join(missing)
    stale = sorted(set(ZH) - set(keys))
    assert not stale, f"catalogue entries nothing uses: {stale}"
    for key, chinese in ZH.items():
        assert sorted(PLACEHOLDER.findall(key)) == sorted(PLACEHOLDER.findall(chinese)), key
        # Chinese words, or at least Chinese punctuation ("rules：%(problem)s")
        assert re.search(r"[\u4e00-\u9fff\uff01-\uff1f]", chinese) or chinese in LATIN_OK, key


def test_templates_print_no_bare_english_text() -> None:
    """Text between tags in a template is a ``_()`` call, markup, a value or a symbol:
    a literal English word there would skip the catalogue."""
    for path in sorted(TEMPLATES.rglob("*.html")):
        source = re.sub(r"{%-? trans .*?endtrans %}|{#.*?#}|{%.*?%}|{{.*?}}", " ",
                        path.read_text(encoding="utf-8"), flags=re.S)
        for text in re.findall(r">([^<]+)<", source):
            words = re.findall(r"[A-Za-z]{2,}", text)
            assert not [w for w in words if w not in ("CSV", "JSON", "URL", "HTTP",
                                                      "crisiswatch")], \
                f"{path.name}: {text.strip()!r}"


@pytest.mark.parametrize(("header", "lang"), [
    (None, "en"), ("", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("zh-TW", "zh"),
    ("zh-Hans-CN", "zh"), ("en-US,en;q=0.9,zh-CN;q=0.8", "en"), ("fr-FR,zh;q=0.5", "zh"),
    ("fr-FR,de;q=0.8", "en"), ("en;q=0.2,zh;q=0.7", "zh"), ("zh;q=0,en", "en"),
    ("*", "en"), ("zh;q=bogus,en;q=0.1", "en"),
])
def test_the_browser_language_picks_chinese_or_english(header: str | None, lang: str) -> None:
    assert from_accept_language(header) == lang


def test_the_users_choice_beats_the_browser() -> None:
    assert choose_lang("en", "zh-CN") == "en" and choose_lang("zh", "en-US") == "zh"
    assert choose_lang(None, "zh-CN") == "zh" and choose_lang("fr", "zh") == "zh"


def test_countdown_words_in_chinese() -> None:
    words = countdown_words("zh")
    assert countdown_text(3900, words) == "1 小时 05 分"
    assert countdown_text(750, words) == "12 分 30 秒"
    assert countdown_text(-190, words) == "已超时 3 分 10 秒"
    assert countdown_text(-190) == "overdue by 3 min 10 s"


class _Chrome(HTMLParser):
    """The words a reader sees that the interface wrote: text and the attributes
    people read (title, placeholder, labels, confirm questions, countdown words),
    leaving out content marked with another language (``lang="en"`` on an English
    post in a Chinese page) and code."""

    ATTRS = ("title", "placeholder", "aria-label", "data-confirm", "data-label", "alt")
    SKIP = ("code", "pre", "script", "style", "textarea", "title")
    VOID = {"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per open element: is it skipped?
        self.seen: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        skipped = (bool(self.stack and self.stack[-1]) or tag in self.SKIP
                   or (found.get("lang") or "zh").startswith("en") and tag != "html"
                   or found.get("translate") == "no")  # keys of the YAML files: cues
        if not skipped:
            self.seen += [v for k, v in attrs if v and (k in self.ATTRS
                                                         or k.startswith("data-countdown"))]
        if tag not in self.VOID:
            self.stack.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.seen.append(data)


def english_words(html: str, allowed: set[str]) -> set[str]:
    parser = _Chrome()
    parser.feed(html)
    text = re.sub(r"\{\w+\}|\S+://\S*", " ", " ".join(parser.seen))  # {placeholders}, URLs
    words = set(re.findall(r"[A-Za-z][\w'.]+", text, re.ASCII))
    return {w.rstrip(".") for w in words} - allowed - {""}


# names in the test data, units and formats that are the same in Chinese
CONTENT = {"Acme", "Beta", "ada", "ana", "pat", "kim", "forum", "crisiswatch", "UTC",
           "CSV", "JSON", "HTTP", "URL", "Apprise", "apprise", "YAML", "robots.txt", "json",
           "mailto", "tgram", "vbulletin", "phpbb", "discuz", "reddit_old", "hackernews",
           "console.allow_private", "playbooks_dir", "English", "refund", "refund_dispute",
           "acme", "anvil", "Asia", "Shanghai", "yaml", "http", "https", "HTML", "Markdown",
           "Discourse", "CST", "mastodon",
           # the social kinds' names, a header's and environment variables' (source form)
           "Mastodon", "Hacker", "News", "Algolia", "API", "Bluesky", "Jetstream", "Reddit",
           "bluesky", "reddit", "User", "Agent", "MASTODON_TOKEN", "REDDIT_CLIENT_ID",
           "REDDIT_CLIENT_SECRET", "BSKY_APP_PASSWORD", "acme.bsky.social"}


def _war_room(console: Console) -> tuple[int, int]:
    incident = add_incident(console.engine, title="艾克美退款风波", severity="crisis")
    add_post(console.engine, title="艾克美退款三周未到账", language="zh", incident_id=incident)
    add_post(console.engine, title="Acme refund still missing", language="en",
             incident_id=incident)
    return incident, add_alert(console.engine, incident, severity="crisis", title="艾克美退款")


def test_every_admin_page_in_chinese_shows_no_english_interface_word(console: Console) -> None:
    incident, alert = _war_room(console)
    client = logged_in(console, "ada")
    client.headers.update(ZH_BROWSER)
    pages = ["/", "/board", "/history", "/history?q=艾克美", "/incidents", f"/incidents/{incident}",
             "/alerts", "/alerts?status=resolved", f"/alerts/{alert}", "/admin", "/admin/brands",
             "/admin/brands/new", "/admin/sources", "/admin/sources/new", "/admin/channels",
             "/admin/channels/new", "/admin/playbooks", "/admin/playbooks/validate",
             "/admin/playbooks/refund_dispute", "/admin/users", "/no/such/page",
             f"/alerts/{alert + 99}"]
    for path in pages:
        answer = client.get(path)
        assert answer.status_code in (200, 404), path
        assert '<html lang="zh-CN">' in answer.text, path
        assert not english_words(answer.text, CONTENT), path
    refused = client.post("/admin/users/new", data={
        "csrf_token": csrf_of(client, "/admin/users"), "name": "kim", "role": "pr",
        "password": "correct horse battery", "password2": "another horse battery"})
    assert refused.status_code == 422 and "两次输入的密码不一致" in refused.text
    assert not english_words(refused.text, CONTENT)
    login = console.client()
    login.headers.update(ZH_BROWSER)
    assert not english_words(login.get("/login").text, CONTENT)


def test_the_check_finds_english_in_an_english_page(console: Console) -> None:
    """The page check above could pass by seeing nothing: here it must see English."""
    client = logged_in(console, "ada")
    found = english_words(client.get("/admin/users").text, CONTENT)
    assert {"Users", "Role", "Password", "Disable"} <= found


def test_language_setting_is_kept_on_the_user_and_beats_the_browser(console: Console) -> None:
    client = logged_in(console, "pat")
    client.headers.update(ZH_BROWSER)
    board = client.get("/board").text
    assert '<html lang="zh-CN">' in board and "分诊看板" in board  # from the browser
    answer = client.post("/account/language", data={
        "csrf_token": csrf_of(client, "/board"), "language": "en", "next": "/board?x=1"},
        follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/board?x=1"
    assert '<html lang="en">' in client.get("/board").text  # the choice, not the browser
    with session(console.engine) as s:
        assert s.exec(select(User.language).where(User.name == "pat")).one() == "en"
    other = logged_in(console, "pat")  # another browser: the account's choice follows
    other.headers.update(ZH_BROWSER)
    assert "Triage board" in other.get("/board").text
    bad = client.post("/account/language", data={"csrf_token": csrf_of(client, "/board"),
                                                 "language": "fr"})
    assert bad.status_code == 400
    away = client.post("/account/language", data={"csrf_token": csrf_of(client, "/board"),
                                                  "language": "zh", "next": "//evil.example"},
                       follow_redirects=False)
    assert away.headers["location"] == "/"
    assert console.client().post("/account/language", data={"language": "zh"}).status_code \
        == 403  # no session, no CSRF token


def test_set_language_refuses_unknown_languages(console: Console) -> None:
    with pytest.raises(UserError):
        set_language(console.engine, "pat", "fr")
    set_language(console.engine, "pat", "zh")
    set_language(console.engine, "pat", None)  # back to following the browser
    with session(console.engine) as s:
        assert s.exec(select(User.language).where(User.name == "pat")).one() is None


def test_chinese_pages_use_chinese_times_flash_and_countdown(console: Console) -> None:
    incident, alert = _war_room(console)
    set_language(console.engine, "pat", "zh")
    client = logged_in(console, "pat")
    board = client.get("/board").text
    assert re.search(r'data-countdown-overdue="已超时 \{span\}"', board)
    assert re.search(r'<time class="countdown"[^>]*>(已超时 )?(\d+ 小时 )?\d+ 分', board)
    assert "小时前" in board  # the newest post, relative in Chinese
    acked = client.post(f"/alerts/{alert}/ack", data={"csrf_token": csrf_of(client)})
    assert "已认领：该事件的升级和提醒已停止。" in acked.text
    assert '<strong id="status">已认领</strong>' in acked.text


def test_playbook_team_text_follows_the_interface_statement_the_posts(console: Console) -> None:
    """Chinese interface, English posts: first steps in Chinese, the holding statement
    in English (it answers the posts) and marked so; no posts: all in Chinese."""
    incident = add_incident(console.engine)
    add_post(console.engine, title="Acme refused my refund", incident_id=incident)
    alert = add_alert(console.engine, incident)
    client = logged_in(console, "pat")
    client.headers.update(ZH_BROWSER)
    page = client.get(f"/alerts/{alert}").text
    steps = page.split("<h3>首要步骤</h3>", 1)[1].split("</ol>", 1)[0]
    assert re.search(r"[\u4e00-\u9fff]", steps)
    assert '临时声明 (English)</h3>\n  <div lang="en"><p class="text" id="statement">' in page
    bare = add_alert(console.engine, add_incident(console.engine, title="空事件"))
    page = client.get(f"/alerts/{bare}").text
    statement = re.search(r'<p class="text" id="statement">(.*?)</p>', page, re.S).group(1)
    assert re.search(r"[\u4e00-\u9fff]", statement) and "(English)" not in page


def test_handler_errors_are_in_chinese_on_chinese_pages(console: Console) -> None:
    """Errors raised by web/ code, not only the templates, go through the catalogue:
    the reply time, the page size, the severity filter and the forum rules."""
    _incident, alert = _war_room(console)
    client = logged_in(console, "ada")
    client.headers.update(ZH_BROWSER)
    refused = client.post(f"/alerts/{alert}/resolve", data={
        "csrf_token": csrf_of(client), "reply_at": "2999-01-01T08:00"})
    assert refused.status_code == 400
    assert "回应时间：这是将来的时间；请填写首次公开回应发出的时间（UTC）" in refused.text
    assert "in the future" not in refused.text
    bad_date = client.post(f"/alerts/{alert}/resolve", data={
        "csrf_token": csrf_of(client), "reply_at": "明天"})
    assert bad_date.status_code == 400 and "不是日期和时间" in bad_date.text
    limit = client.get("/history?limit=lots")
    assert limit.status_code == 400 and "limit：&#39;lots&#39; 不是整数" in limit.text
    too_many = client.get("/history?limit=99999")
    assert too_many.status_code == 400 and "limit：必须在 1 到" in too_many.text
    severity = client.get("/incidents?severity=bad")
    assert severity.status_code == 400 and "不是 notice, warning, crisis 之一" in severity.text
    missing = client.get("/incidents/999")
    assert missing.status_code == 404 and "没有事件 #999。" in missing.text
    rules = client.post("/admin/sources/new", data={
        "csrf_token": csrf_of(client, "/admin/sources/new"), "name": "bbs", "kind": "forum",
        "url": "https://forum.example/", "interval": "5m", "page": "listing",
        "hot_interval": "1m", "rules": "listing: [oops", "action": "save"})
    assert rules.status_code == 422 and "不是有效的 YAML：" in rules.text
    assert "not valid YAML" not in rules.text
    mapping = client.post("/admin/sources/new", data={
        "csrf_token": csrf_of(client, "/admin/sources/new"), "name": "bbs", "kind": "forum",
        "url": "https://forum.example/", "interval": "5m", "page": "listing",
        "hot_interval": "1m", "rules": "- a list", "action": "save"})
    assert mapping.status_code == 422 and "应为映射" in mapping.text
