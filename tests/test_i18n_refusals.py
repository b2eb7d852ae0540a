"""Refusals raised below the console reach a Chinese user in Chinese (issue 18):
history filters (monitor/history/search.py), config and URL checks on the admin
forms (monitor/config.py, alerts/durations.py, crawlers/urlcheck.py, forum,
Mastodon, Reddit, Bluesky and Hacker News options), account rules
(monitor/users.py), alert-workflow refusals (alerts/workflow.py), playbook
validation (alerts/playbooks.py) and pydantic's own refusals. Each is provoked
for real over HTTP with a Chinese interface; the page must show the Chinese
wording and no English sentence beyond the keys and values the user typed. That
every ``said()`` template has its Chinese is tests/test_i18n.py's catalogue test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlmodel import select

from db.engine import open_database, session
from db.messages import said
from db.models import User
from monitor.config import parse_config
from monitor.stages.sync import sync_config
from monitor.users import add_user, set_language
from tests.test_i18n import CONTENT, english_words
from tests.web_support import (
    PASSWORD,
    USERS,
    Console,
    add_alert,
    add_incident,
    add_post,
    csrf_of,
    logged_in,
)
from web.app import create_app
from web.i18n import say, say_invalid

# what a refusal quotes back to the user: keys of the form or file and typed values
KEYS = {"sentiment_min", "sentiment_max", "since", "sort", "after", "thread", "rules", "hashtags",
        "console.allow_private", "name", "response_time", "broken.yaml", "old.yml",
        "title", "owner", "first_steps", "holding_statement", "escalation", "never_say",
        "admin", "analyst", "pr", "default", "true", "false",
        "client_id_env", "client_secret_env",  # the Reddit option names, as in the file
        "T08"}  # 2026-11-01T08:00, the format asked for


@pytest.fixture(scope="module")
def zh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Console, TestClient]]:
    """A console whose config names a playbooks folder with broken files, and an
    admin whose interface is Chinese (the account's setting)."""
    tmp = tmp_path_factory.mktemp("zh-refusals")
    books = tmp / "playbooks"
    books.mkdir()
    (books / "broken.yaml").write_text("name: other\nresponse_time: 很快\n", encoding="utf-8")
    (books / "old.yml").write_text("name: old\n", encoding="utf-8")
    url = f"sqlite:///{tmp / 'cw.db'}"
    config = parse_config({"database": url, "playbooks_dir": str(books),
                           "brands": [{"name": "Acme", "keywords": ["Acme"]}]},
                          base=tmp, env={})
    engine = open_database(url)
    sync_config(engine, config)
    for name, role in USERS:
        add_user(engine, name, role, PASSWORD)
        set_language(engine, name, "zh")
    console = Console(engine, config, create_app(config, engine))
    yield console, logged_in(console, "ada")
    engine.dispose()


def _shows_only_chinese(html: str) -> None:
    """No English word but keys, names and what the user typed (quoted: ``'boss'``)."""
    assert '<html lang="zh-CN">' in html
    left = english_words(re.sub(r"&#39;[^&<]*&#39;", "''", html), CONTENT | KEYS)
    assert not left, f"English on a Chinese page: {sorted(left)}"


SOURCE = {"name": "论坛", "kind": "feed", "url": "https://203.0.113.9/feed", "interval": "5m",
          "page": "listing", "hot_interval": "1m", "rules": "", "action": "save"}
CHANNEL = {"name": "值班群", "url": "json://198.51.100.7/hook", "min_severity": "notice",
           "tier": "0", "format": "plain", "timezone": "UTC", "quiet_override": "crisis",
           "digest_every": "1h", "brands": "", "tags": ""}

# (form path, fields over the defaults, the Chinese the page must show)
FORMS = [
    ("/admin/sources/new", SOURCE | {"interval": "很快"},
     "&#39;很快&#39; 不是时长（请用秒数或 30s、5m、1h、1d）"),
    ("/admin/sources/new", SOURCE | {"url": "http://127.0.0.1/feed"},
     "主机 &#39;127.0.0.1&#39; 是私有、回环、链路本地或保留地址；如需允许"),
    ("/admin/sources/new", SOURCE | {"url": "ftp://203.0.113.9/"}, "不是带主机的 http(s) URL"),
    ("/admin/sources/new", SOURCE | {"kind": "forum", "rules": "listing: {thread: a.t}"},
     "thread：必填"),
    ("/admin/sources/new", SOURCE | {"kind": "mastodon", "url": "https://203.0.113.9",
                                     "m_hashtags": "坏 标签"},
     "不是话题标签（只能有字母、数字和 _，不能有空格）"),
    ("/admin/sources/new", SOURCE | {"kind": "reddit", "url": "", "r_subreddits": "坏名字",
                                     "r_client_id_env": "RID", "r_client_secret_env": "RSEC"},
     "&#39;坏名字&#39; 不是子版块名称（2 到 21 个字母、数字或 _）"),
    ("/admin/sources/new", SOURCE | {"kind": "reddit", "url": "", "r_subreddits": "acme"},
     "Reddit 的 API 需要您自己应用的凭据"),
    # the form drops blank lines, so an empty term cannot be posted: an over-long one can
    ("/admin/sources/new", SOURCE | {"kind": "hackernews", "url": "", "hn_query": "长" * 201},
     "超过 200 个字符"),
    ("/admin/sources/new", SOURCE | {"kind": "bluesky", "url": "wss://203.0.113.9/subscribe",
                                     "b_handle": "坏 账号", "b_app_password_env": "BSKY"},
     "不是 Bluesky 账号（如 acme.bsky.social）"),
    ("/admin/channels/new", CHANNEL | {"quiet_hours": "夜里"},
     "&#39;夜里&#39; 不是时段（格式如 22:00-07:00）"),
    ("/admin/channels/new", CHANNEL | {"timezone": "火星/基地"},
     "不是时区名称（如 Asia/Shanghai）"),
    ("/admin/channels/new", CHANNEL | {"tier": "很高"}, "应为整数"),
    ("/admin/channels/new", CHANNEL | {"url": "json://127.0.0.1/hook"},
     "是私有、回环、链路本地或保留地址"),
    ("/admin/brands/new", {"name": "伽马", "keywords": "", "action": "save"}, "至少应有 1 项"),
    ("/admin/users/new", {"name": "kim", "role": "pr", "password": "短", "password2": "短"},
     "密码至少需要 10 个字符"),
]


@pytest.mark.parametrize(("path", "fields", "chinese"), FORMS,
                         ids=[f"{p.split('/')[2]}-{c[:12]}" for p, _f, c in FORMS])
def test_form_refusals_from_below_are_chinese(zh: tuple[Console, TestClient], path: str,
                                              fields: dict, chinese: str) -> None:
    _console, client = zh
    answer = client.post(path, data={"csrf_token": csrf_of(client, path.rsplit("/", 1)[0])}
                         | fields)
    assert answer.status_code == 422, answer.text[:500]
    assert chinese in answer.text
    _shows_only_chinese(answer.text)


@pytest.mark.parametrize(("query", "chinese"), [
    ("sentiment_min=很多", "sentiment_min：&#39;很多&#39; 不是数字"),
    ("sentiment_max=7", "必须在 0 到 1 之间（收到 7）"),
    ("since=明天", "since：&#39;明天&#39; 不是日期（格式如 2026-11-01 或 2026-11-01T08:00）"),
    ("q=" + "长" * 201, "q：最多 200 个字符"),
    ("after=坏", "after：不是本次搜索给出的翻页游标"),
])
def test_history_filter_refusals_are_chinese(zh: tuple[Console, TestClient], query: str,
                                             chinese: str) -> None:
    _console, client = zh
    answer = client.get(f"/history?{query}")
    assert answer.status_code == 400 and chinese in answer.text
    _shows_only_chinese(answer.text)


def test_workflow_and_role_refusals_are_chinese(zh: tuple[Console, TestClient]) -> None:
    console, client = zh
    incident = add_incident(console.engine, title="艾克美退款风波")
    add_post(console.engine, title="艾克美退款三周未到账", language="zh", incident_id=incident)
    alert = add_alert(console.engine, incident, title="艾克美退款")
    early = client.post(f"/alerts/{alert}/resolve", data={
        "csrf_token": csrf_of(client), "reply_at": "2001-01-01T08:00"})
    assert early.status_code == 400 and "早于事件开始时间" in early.text
    assert "2001-01-01T08:00" in early.text  # the typed time stays in the form
    _shows_only_chinese(early.text)
    assert client.post(f"/alerts/{alert}/resolve", data={"csrf_token": csrf_of(client)},
                       follow_redirects=False).status_code == 303
    again = client.post(f"/alerts/{alert}/ack", data={"csrf_token": csrf_of(client)})
    assert again.status_code == 409 and f"警报 #{alert} 已经解决" in again.text
    _shows_only_chinese(again.text)
    with session(console.engine) as s:
        pat = s.exec(select(User.id).where(User.name == "pat")).one()
    role = client.post(f"/admin/users/{pat}/role", data={
        "csrf_token": csrf_of(client, "/admin/users"), "role": "boss"})
    assert role.status_code == 422 and "未知角色 &#39;boss&#39;（可用：admin, analyst, pr）" \
        in role.text
    _shows_only_chinese(role.text)
    wrong_id = client.get("/alerts/第一")
    assert wrong_id.status_code == 422 and "应为整数" in wrong_id.text


def test_playbook_problems_are_chinese(zh: tuple[Console, TestClient]) -> None:
    _console, client = zh
    page = client.get("/admin/playbooks/validate").text
    for chinese in ("old.yml：应对手册文件必须以 .yaml 结尾",
                    "broken.yaml：name：必须与文件名（&#39;broken&#39;）相同，"
                    "而不是 &#39;other&#39;",
                    "broken.yaml：response_time：&#39;很快&#39; 不是时长",
                    "broken.yaml：title：缺失"):
        assert chinese in page
    _shows_only_chinese(page)
    listing = client.get("/admin/playbooks").text  # the daemon would refuse them: said why
    assert "old.yml：应对手册文件必须以 .yaml 结尾" in listing


def test_english_stays_as_before_and_nesting_translates() -> None:
    inner = said("%(key)s: required", key="thread")
    outer = said("rules: %(problem)s", problem=inner)
    assert outer == "rules: thread: required"  # the CLI and the API print this
    assert say("en", ValueError(outer)) == "rules: thread: required"
    assert say("zh", ValueError(outer)) == "rules：thread：必填"
    assert say("zh", "plain text from elsewhere") == "plain text from elsewhere"

    class Tier(BaseModel):
        tier: int

    with pytest.raises(ValidationError) as caught:
        Tier(tier="x")
    error = caught.value.errors()[0]
    assert say_invalid("zh", error) == "应为整数"
    assert say_invalid("en", error).startswith("Input should be a valid integer")
    assert say_invalid("zh", {**error, "type": "no_such_type"}) == error["msg"]


def test_the_page_check_sees_an_english_refusal(tmp_path: Path) -> None:
    """The check above could pass by seeing nothing: an English refusal must be found."""
    html = ('<html lang="zh-CN"><p class="error">must be more than 0 seconds</p></html>')
    assert {"must", "seconds"} <= english_words(html, CONTENT | KEYS)


def test_a_stream_sources_state_is_translated() -> None:
    """The sources page shows a stream's state through ``|said``: English as the CLI
    prints it, Chinese on a Chinese page."""
    from db.models import Source
    from monitor.history.health import stream_status

    status = stream_status(Source(name="bsky", kind="bluesky", url="wss://x/subscribe",
                                  stream_state="reconnecting"))
    assert status == "stream reconnecting"
    assert say("zh", status) == "信息流重连中"
    assert say("zh", stream_status(Source(name="b", kind="bluesky", url="wss://x/s"))) \
        == "信息流未启动"
