"""The console's admin pages over a real SQLite database: roles and CSRF, brands
with a preview, sources with health and a real test fetch, channels with
redacted URLs and a real test notification, playbooks, users, escaping, and a
brand added in the console matched by the monitor stage without a restart.
Plus unit tests of crawlers/urlcheck.py (the console's SSRF guard)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from crawlers.urlcheck import check_channel_url, check_host, check_url, is_public
from db.engine import open_database, read_session, session
from db.models import Brand, Channel, Mention, Post, Source, User, utcnow
from monitor.config import Config
from monitor.lab.localsite import AlertReceiver, Entry, FeedSite
from monitor.scoring.risk import Score
from monitor.stages.score import run_monitor
from monitor.users import add_user
from web.admin.channels import TEST_TITLE
from web.app import create_app

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LOOPBACK = ["127.0.0.0/8"]


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cw.db'}"


@pytest.fixture
def engine(db_url: str):  # noqa: ANN201
    return open_database(db_url)


@pytest.fixture
def make_client(engine, db_url: str) -> Iterator[Callable[..., TestClient]]:  # noqa: ANN001
    """A logged-in client of a console whose config has ``allow`` and ``extra``."""
    clients: list[TestClient] = []

    def make(role: str = "admin", *, allow: list[str] | None = None, name: str | None = None,
             **extra: object) -> TestClient:
        config = Config(database=db_url, console={"allow_private": allow or []}, **extra)
        client = TestClient(create_app(config, engine))
        clients.append(client)
        name = name or f"{role}-user"
        add_user(engine, name, role, PASSWORD)
        login(client, name)
        return client

    yield make
    for client in clients:
        client.close()


def login(client: TestClient, name: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)
    answer = client.post("/login", data={"name": name, "password": password, "next": "/",
                                         "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, as a page's forms carry it."""
    return CSRF.search(client.get("/admin").text).group(1)


def post(client: TestClient, path: str, data: dict | None = None, *, csrf: bool = True):  # noqa: ANN201
    form = dict(data or {})
    if csrf:
        form["csrf_token"] = csrf_of(client)
    return client.post(path, data=form, follow_redirects=False)


def rows(engine, model) -> list:  # noqa: ANN001
    with read_session(engine) as s:
        return list(s.exec(select(model)).all())


def one(engine, model, **where: object):  # noqa: ANN001, ANN201
    found = [r for r in rows(engine, model) if all(getattr(r, k) == v for k, v in where.items())]
    assert len(found) == 1, f"{model.__name__} {where}: {found}"
    return found[0]


def add_source(engine, name: str = "forum-x", **values: object) -> Source:  # noqa: ANN001
    with session(engine) as s, s.begin():
        src = Source(name=name, url=values.pop("url", "https://example.com/feed.xml"),
                     managed_by=values.pop("managed_by", "console"), **values)
        s.add(src)
    return src


def add_post(engine, source: Source, title: str, text: str = "", *, age_days: float = 0,  # noqa: ANN001
             key: str | None = None) -> Post:
    with session(engine) as s, s.begin():
        p = Post(source_id=source.id, entry_key=key or title, fingerprint=key or title,
                 title=title, text=text, fetched_at=utcnow() - timedelta(days=age_days))
        s.add(p)
    return p


# --- who may do what --------------------------------------------------------------------

ADMIN_PAGES = ["/admin", "/admin/brands", "/admin/brands/new", "/admin/sources",
               "/admin/sources/new", "/admin/channels", "/admin/channels/new",
               "/admin/playbooks", "/admin/playbooks/validate", "/admin/playbooks/service_attitude",
               "/admin/users"]
ADMIN_POSTS = ["/admin/brands/new", "/admin/sources/new", "/admin/channels/new",
               "/admin/users/new", "/admin/brands/1/enabled", "/admin/sources/1/enabled",
               "/admin/sources/1/test", "/admin/channels/1/test", "/admin/users/1/disabled",
               "/admin/users/1/password", "/admin/users/1/role"]


@pytest.mark.parametrize("role", ["analyst", "pr"])
def test_other_roles_get_403_on_every_admin_page_and_post(make_client, engine, role) -> None:  # noqa: ANN001
    client = make_client(role)
    add_source(engine)
    for path in ADMIN_PAGES:
        assert client.get(path, follow_redirects=False).status_code == 403, path
    for path in ADMIN_POSTS:
        answer = post(client, path, {"name": "Evil", "keywords": "x", "enabled": "0"})
        assert answer.status_code == 403, path
    assert rows(engine, Brand) == []
    assert one(engine, Source, name="forum-x").enabled


def test_anonymous_is_sent_to_login(make_client) -> None:  # noqa: ANN001
    client = make_client("admin")
    client.cookies.clear()
    for path in ADMIN_PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=%2Fadmin"), path


def test_an_admin_sees_every_admin_page(make_client) -> None:  # noqa: ANN001
    client = make_client("admin")
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 200, path


def test_posts_without_the_csrf_token_are_refused(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    src = add_source(engine)
    data = {"name": "Acme", "keywords": "acme", "action": "save"}
    assert post(client, "/admin/brands/new", data, csrf=False).status_code == 403
    forged = client.post("/admin/brands/new", data={**data, "csrf_token": "forged"},
                         follow_redirects=False)
    assert forged.status_code == 403
    assert post(client, f"/admin/sources/{src.id}/enabled", {"enabled": "0"},
                csrf=False).status_code == 403
    assert rows(engine, Brand) == []
    assert one(engine, Source, name="forum-x").enabled
    assert post(client, "/admin/brands/new", data).status_code == 303  # the token makes it work
    assert one(engine, Brand, name="Acme").managed_by == "console"


# --- brands -----------------------------------------------------------------------------


def test_brand_preview_shows_recent_matches_only_and_saves_nothing(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    src = add_source(engine)
    add_post(engine, src, "Zyxcorp blender exploded in my kitchen", age_days=1)
    add_post(engine, src, "Zyxcorp recall from last month", age_days=10)
    add_post(engine, src, "Zyxcorp anvil review", age_days=2)  # excluded
    add_post(engine, src, "Nothing to see here", age_days=0.5)
    form = {"name": "Zyx", "keywords": "zyxcorp\nzyx corp", "exclude": "zyxcorp anvil",
            "enabled": "1", "action": "preview"}
    answer = post(client, "/admin/brands/new", form)
    assert answer.status_code == 200
    page = answer.text
    assert "1 of 3 posts match" in page
    assert "Zyxcorp blender exploded" in page
    assert "Zyxcorp recall from last month" not in page
    assert "Zyxcorp anvil review" not in page
    assert rows(engine, Brand) == []  # a preview saves nothing
    saved = post(client, "/admin/brands/new", {**form, "action": "save"})
    assert saved.status_code == 303
    brand = one(engine, Brand, name="Zyx")
    assert (brand.keywords, brand.exclude, brand.enabled, brand.managed_by) == (
        ["zyxcorp", "zyx corp"], ["zyxcorp anvil"], True, "console")


def test_brand_names_for_holding_statements_are_saved_and_shown(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    form = {"name": "Zyx", "keywords": "zyx", "exclude": "", "name_zh": " 齐艾克斯 ",
            "name_en": "", "enabled": "1", "action": "save"}
    assert post(client, "/admin/brands/new", form).status_code == 303
    brand = one(engine, Brand, name="Zyx")
    assert brand.names == {"zh": "齐艾克斯"}
    page = client.get(f"/admin/brands/{brand.id}").text
    assert 'name="name_zh" type="text" value="齐艾克斯"' in page
    assert post(client, f"/admin/brands/{brand.id}", {**form, "name_zh": ""}).status_code == 303
    assert one(engine, Brand, name="Zyx").names == {}


def test_brand_errors_name_the_field(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    answer = post(client, "/admin/brands/new", {"name": "Acme", "keywords": " ",
                                                "action": "save"})
    assert answer.status_code == 422
    assert "Keywords: List should have at least 1 item" in answer.text
    assert post(client, "/admin/brands/new", {"name": "Acme", "keywords": "acme",
                                              "action": "save"}).status_code == 303
    dup = post(client, "/admin/brands/new", {"name": "ACME", "keywords": "acme",
                                             "action": "save"})
    assert dup.status_code == 422
    assert "Name: a brand named &#39;Acme&#39; already exists" in dup.text
    assert len(rows(engine, Brand)) == 1


def test_brand_edit_and_disable(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    post(client, "/admin/brands/new", {"name": "Acme", "keywords": "acme", "action": "save"})
    brand = one(engine, Brand, name="Acme")
    assert post(client, f"/admin/brands/{brand.id}", {
        "name": "Acme", "keywords": "acme, acme corp", "exclude": "acme anvil",
        "enabled": "1", "action": "save"}).status_code == 303
    assert one(engine, Brand, name="Acme").keywords == ["acme", "acme corp"]
    assert post(client, f"/admin/brands/{brand.id}/enabled", {"enabled": "0"}).status_code == 303
    assert not one(engine, Brand, name="Acme").enabled
    assert "disabled brand Acme" in client.get("/admin/brands?done=disabled+brand+Acme").text


def test_config_managed_brands_are_read_only(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    with session(engine) as s, s.begin():
        s.add(Brand(name="FromYaml", keywords=["yaml"], managed_by="config"))
    brand = one(engine, Brand, name="FromYaml")
    answer = post(client, f"/admin/brands/{brand.id}", {"name": "FromYaml", "keywords": "x",
                                                        "action": "save"})
    assert answer.status_code == 409
    assert one(engine, Brand, name="FromYaml").keywords == ["yaml"]


# --- sources ----------------------------------------------------------------------------

PRIVATE_URLS = ["http://127.0.0.1/feed.xml", "http://10.0.0.5/feed.xml", "http://[::1]/feed",
                "http://169.254.169.254/latest/meta-data/", "http://localhost:8080/feed"]


def _source_form(url: str, name: str = "intranet", action: str = "save") -> dict:
    return {"name": name, "kind": "feed", "url": url, "interval": "5m", "page": "listing",
            "hot_interval": "1m", "robots": "1", "enabled": "1", "action": action}


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_source_on_a_private_address_is_refused_without_the_allow_list(
        make_client, engine, url) -> None:  # noqa: ANN001
    client = make_client("admin")
    answer = post(client, "/admin/sources/new", _source_form(url))
    assert answer.status_code == 422
    assert "URL: host" in answer.text and "console.allow_private" in answer.text
    assert rows(engine, Source) == []


@pytest.mark.parametrize("url", ["http://127.0.0.1\\@93.184.216.34/feed",
                                 "http://public.example\\@127.0.0.1/feed"])
def test_source_with_a_backslash_before_at_is_refused_at_save(make_client, engine, url) -> None:  # noqa: ANN001
    """Python reads the host after the @, a WHATWG parser the one before the
    backslash: refused whichever way it would be read, and whatever the allow-list."""
    client = make_client("admin", allow=["0.0.0.0/0"])
    answer = post(client, "/admin/sources/new", _source_form(url))
    assert answer.status_code == 422
    assert "URL: a backslash in the host part" in answer.text
    assert rows(engine, Source) == []
    assert check_channel_url(url.replace("http://", "json://"), []) is not None


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_source_on_a_private_address_is_accepted_with_the_allow_list(
        make_client, engine, url) -> None:  # noqa: ANN001
    client = make_client("admin", allow=["127.0.0.0/8", "10.0.0.0/8", "::1",
                                         "169.254.169.254/32"])
    assert post(client, "/admin/sources/new", _source_form(url)).status_code == 303
    row = one(engine, Source, name="intranet")
    assert (row.url, row.managed_by, row.interval_s, row.kind) == (url, "console", 300, "feed")


def test_source_input_is_validated_like_the_config(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    bad = post(client, "/admin/sources/new", {**_source_form("ftp://example.com/x"),
                                              "interval": "soon"})
    assert bad.status_code == 422
    assert "Poll every: &#39;soon&#39; is not a duration" in bad.text
    rules = post(client, "/admin/sources/new", {**_source_form("https://example.com/f"),
                                                "kind": "forum", "rules": "listing: [oops"})
    assert rules.status_code == 422 and "Forum rules: not valid YAML" in rules.text
    preset = post(client, "/admin/sources/new", {**_source_form("https://93.184.216.34/f"),
                                                 "preset": "phpbb"})
    assert preset.status_code == 422
    assert "Forum preset: preset and rules are for kind forum, not feed" in preset.text
    assert rows(engine, Source) == []


def test_test_fetch_shows_what_would_be_extracted(make_client, engine, site: FeedSite) -> None:  # noqa: ANN001
    site.feeds["news"] = [Entry("n1", "Zyxcorp blender exploded", "Sparks everywhere."),
                          Entry("n2", "Quiet day at the Zyxcorp plant", "Nothing happened.")]
    url = f"{site.base}/news.xml"
    refused = make_client("admin", name="strict")
    assert post(refused, "/admin/sources/new", _source_form(url, action="test")
                ).status_code == 422
    client = make_client("admin", allow=LOOPBACK)
    answer = post(client, "/admin/sources/new", _source_form(url, action="test"))
    assert answer.status_code == 200
    assert "Test fetch: ok (HTTP 200)" in answer.text
    assert "<li>Zyxcorp blender exploded</li>" in answer.text
    assert "<li>Quiet day at the Zyxcorp plant</li>" in answer.text
    assert rows(engine, Source) == [] and rows(engine, Post) == []  # nothing stored
    assert [r[0] for r in site.requests].count("/news.xml") == 1  # after /robots.txt


def test_stored_sources_are_tested_with_the_guard_unless_the_config_owns_them(
        make_client, engine, site: FeedSite) -> None:  # noqa: ANN001
    """The YAML is the operator's and trusted; a console row is checked again in
    the fetching process itself (which also stops redirects to private hosts)."""
    site.feeds["news"] = [Entry("n1", "Zyxcorp blender exploded", "Sparks.")]
    client = make_client("admin")  # no allow-list
    mine = add_source(engine, "typed-in", url=f"{site.base}/news.xml")
    theirs = add_source(engine, "from-yaml", url=f"{site.base}/news.xml", managed_by="config")
    refused = post(client, f"/admin/sources/{mine.id}/test")
    assert "Test fetch: failed" in refused.text and "console.allow_private" in refused.text
    trusted = post(client, f"/admin/sources/{theirs.id}/test")
    assert "Test fetch: ok (HTTP 200)" in trusted.text
    assert "<li>Zyxcorp blender exploded</li>" in trusted.text


def test_test_fetch_reports_a_broken_feed(make_client, site: FeedSite) -> None:  # noqa: ANN001
    site.override["broken"] = (500, b"oops")
    client = make_client("admin", allow=LOOPBACK)
    answer = post(client, "/admin/sources/new",
                  _source_form(f"{site.base}/broken.xml", action="test"))
    assert answer.status_code == 200
    assert "Test fetch: failed" in answer.text and "500" in answer.text


def test_source_list_shows_health_and_pause_works(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    src = add_source(engine, "flaky", last_success_at=utcnow() - timedelta(hours=3),
                     last_error="HTTP 503 Service Unavailable", error_count=7,
                     consecutive_errors=2, last_fetch_at=utcnow())
    add_post(engine, src, "today 1", age_days=0)
    add_post(engine, src, "today 2", age_days=0)
    add_post(engine, src, "six days ago", age_days=6)
    add_post(engine, src, "too old to count", age_days=9)
    with session(engine) as s, s.begin():  # what was odd about a fetch (hostile text)
        s.get(Source, src.id).health_note = "Retry-After 999999999 s capped at 24 h <b>x</b>"
    page = client.get("/admin/sources").text
    assert "HTTP 503 Service Unavailable" in page
    assert "note: Retry-After 999999999 s capped at 24 h &lt;b&gt;x&lt;/b&gt;" in page
    assert "7 (2)" in page and "failing" in page
    assert '<td class="per-day">1 0 0 0 0 0 2</td>' in page
    assert post(client, f"/admin/sources/{src.id}/enabled", {"enabled": "0"}).status_code == 303
    assert not one(engine, Source, name="flaky").enabled
    assert "paused" in client.get("/admin/sources").text
    assert post(client, f"/admin/sources/{src.id}/enabled", {"enabled": "1"}).status_code == 303
    assert one(engine, Source, name="flaky").enabled


def test_source_url_change_drops_the_old_validators(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    src = add_source(engine, "news", etag='"abc"', last_modified="yesterday")
    new_url = "https://93.184.216.34/other.xml"  # a public address: no DNS in the test
    assert post(client, f"/admin/sources/{src.id}", _source_form(new_url, name="news")
                ).status_code == 303
    row = one(engine, Source, name="news")
    assert (row.url, row.etag, row.last_modified) == (new_url, None, None)


# --- channels ---------------------------------------------------------------------------


def _channel_form(url: str, name: str = "pr-team", **extra: str) -> dict:
    return {"name": name, "url": url, "min_severity": "warning", "brands": "", "tags": "",
            "tier": "0", "format": "plain", "quiet_hours": "", "timezone": "UTC",
            "quiet_override": "crisis", "rate_limit": "", "digest": "", "digest_every": "1h",
            "enabled": "1", **extra}


def test_channel_is_saved_and_only_its_redacted_url_is_shown(
        make_client, engine, receiver: AlertReceiver) -> None:  # noqa: ANN001
    client = make_client("admin", allow=LOOPBACK)
    port = receiver.server.server_address[1]
    url = f"json://bot:s3cr3t-t0ken@127.0.0.1:{port}/hook"
    with session(engine) as s, s.begin():
        s.add(Brand(name="Acme", keywords=["acme"], managed_by="console"))
    answer = post(client, "/admin/channels/new", _channel_form(
        url, brands="Acme", quiet_hours="22:00-07:00", timezone="Asia/Shanghai",
        rate_limit="10/1h", digest="notice", digest_every="2h", tier="1", format="markdown"))
    assert answer.status_code == 303
    ch = one(engine, Channel, name="pr-team")
    assert ch.url == url and ch.managed_by == "console"
    assert (ch.min_severity, ch.brands, ch.tier, ch.format, ch.quiet_hours, ch.timezone,
            ch.rate_limit, ch.digest, ch.digest_every_s) == (
        "warning", ["Acme"], 1, "markdown", "22:00-07:00", "Asia/Shanghai", "10/1h",
        "notice", 7200)
    for path in ("/admin/channels", f"/admin/channels/{ch.id}"):
        page = client.get(path).text
        assert "s3cr3t" not in page and url not in page, path
        assert f"json://127.0.0.1:{port}/&lt;redacted&gt;" in page, path
    # editing without typing a URL keeps the stored one
    assert post(client, f"/admin/channels/{ch.id}", _channel_form("", min_severity="crisis")
                ).status_code == 303
    ch = one(engine, Channel, name="pr-team")
    assert (ch.url, ch.min_severity) == (url, "crisis")


def test_test_notification_reaches_the_receiver(make_client, engine, receiver) -> None:  # noqa: ANN001
    client = make_client("admin", allow=LOOPBACK)
    assert post(client, "/admin/channels/new", _channel_form(receiver.url)).status_code == 303
    ch = one(engine, Channel, name="pr-team")
    answer = post(client, f"/admin/channels/{ch.id}/test")
    assert answer.status_code == 200
    assert "Result: delivered" in answer.text
    assert [r.title for r in receiver.received] == [TEST_TITLE]
    assert "pr-team" in receiver.received[0].body
    receiver.down = True
    failed = post(client, f"/admin/channels/{ch.id}/test")
    assert "Result: not delivered" in failed.text
    assert len(receiver.received) == 1


def test_test_button_is_checked_like_a_delivery(make_client, engine, receiver) -> None:  # noqa: ANN001
    """A console channel whose host is now refused (saved under another allow-list,
    or its name rebound) is not sent a test either; a config file's channel is."""
    with session(engine) as s, s.begin():
        s.add(Channel(name="console-hook", url=receiver.url, managed_by="console"))
        s.add(Channel(name="config-hook", url=receiver.url, managed_by="config"))
    client = make_client("admin")  # console.allow_private is empty
    refused = post(client, f"/admin/channels/{one(engine, Channel, name='console-hook').id}/test")
    assert refused.status_code == 200
    assert "Result: not delivered: refused: host &#39;127.0.0.1&#39;" in refused.text
    assert receiver.received == []
    trusted = post(client, f"/admin/channels/{one(engine, Channel, name='config-hook').id}/test")
    assert "Result: delivered" in trusted.text and len(receiver.received) == 1


def test_channel_errors_name_the_field(make_client, engine, receiver) -> None:  # noqa: ANN001
    client = make_client("admin", allow=LOOPBACK)
    cases = [({"quiet_hours": "25:00-07:00"}, "Quiet hours: &#39;25:00-07:00&#39; is not a span"),
             ({"timezone": "Mars/Olympus"}, "Time zone: &#39;Mars/Olympus&#39; is not a time"),
             ({"rate_limit": "lots"}, "Rate limit: &#39;lots&#39; is not a rate"),
             ({"brands": "Nobody"}, "Brands: no brand named &#39;Nobody&#39;"),
             ({"url": "nonsense://x"}, "Apprise URL: not a URL apprise can notify")]
    for extra, message in cases:
        answer = post(client, "/admin/channels/new", {**_channel_form(receiver.url), **extra})
        assert answer.status_code == 422, extra
        assert message in answer.text, (extra, answer.text[-2000:])
    secret = receiver.url.replace("json://", "json://bot:s3cr3t@")
    sent_back = post(client, "/admin/channels/new", _channel_form(secret, quiet_hours="x"))
    # the URL typed in this very request comes back to be corrected, masked, in its own
    # field only (issue 18: a refused form keeps the draft)
    assert sent_back.status_code == 422 and sent_back.text.count("s3cr3t") == 1
    assert f'type="password" value="{secret}"' in sent_back.text.replace("&#34;", '"')
    assert rows(engine, Channel) == []
    with session(engine) as s, s.begin():
        s.add(Channel(name="stored", url=secret, managed_by="console"))
    edited = post(client, f"/admin/channels/{one(engine, Channel, name='stored').id}",
                  _channel_form("", name="stored", quiet_hours="x"))
    assert edited.status_code == 422 and "s3cr3t" not in edited.text  # the stored URL never


def test_channel_on_a_private_address_or_a_local_file_is_refused(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    for url in ("json://127.0.0.1:9/hook", "jsons://169.254.169.254/hook",
                "form://[::1]/hook"):
        answer = post(client, "/admin/channels/new", _channel_form(url))
        assert answer.status_code == 422, url
        assert "Apprise URL: host" in answer.text
    local = post(client, "/admin/channels/new", _channel_form("file:///etc/passwd", tags="x"))
    assert local.status_code == 422 and "put this channel in the config file" in local.text
    assert rows(engine, Channel) == []


# every scheme whose apprise plugin names a host, found by apprise's own parsing
PRIVATE_CHANNELS = ("ntfy://127.0.0.1/topic", "bark://10.0.0.1/device", "kodi://192.168.1.2",
                    "json://localhost/hook", "ncloud://a:b@10.0.0.3/user",
                    "signal://127.0.0.1:8080/+12345678901", "gotify://[::1]/token",
                    "mailto://u:p@mail.example?smtp=169.254.169.254")


def test_every_host_bearing_channel_scheme_is_checked_in_the_form(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    for url in PRIVATE_CHANNELS:
        answer = post(client, "/admin/channels/new", _channel_form(url))
        assert answer.status_code == 422, url
        assert "Apprise URL: host" in answer.text and "console.allow_private" in answer.text, url
    assert rows(engine, Channel) == []
    public = post(client, "/admin/channels/new", _channel_form("ntfy://93.184.216.34/topic"))
    assert public.status_code == 303
    assert one(engine, Channel, name="pr-team").url == "ntfy://93.184.216.34/topic"


# --- playbooks --------------------------------------------------------------------------


def test_playbooks_are_listed_and_shown(make_client) -> None:  # noqa: ANN001
    client = make_client("admin")
    page = client.get("/admin/playbooks").text
    assert "/admin/playbooks/service_attitude" in page and "builtin" in page
    one_book = client.get("/admin/playbooks/service_attitude?lang=zh")
    assert one_book.status_code == 200 and "Holding statement" in one_book.text
    assert client.get("/admin/playbooks/no-such-book").status_code == 404


def test_playbook_folder_problems_are_shown(make_client, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "books"
    folder.mkdir()
    (folder / "broken.yaml").write_text("name: broken\ntitle: [unclosed\n", encoding="utf-8")
    (folder / "thin.yaml").write_text("name: thin\ntitle: {en: Thin, zh: 薄}\n",
                                      encoding="utf-8")
    client = make_client("admin", playbooks_dir=str(folder))
    page = client.get("/admin/playbooks/validate").text
    assert "broken.yaml: not valid YAML" in page
    assert "thin.yaml" in page and "owner" in page
    listing = client.get("/admin/playbooks").text
    assert "The daemon would refuse these playbooks" in listing


def test_playbook_folder_without_problems(make_client, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "empty"
    folder.mkdir()
    client = make_client("admin", playbooks_dir=str(folder))
    assert "no playbook files" in client.get("/admin/playbooks/validate").text
    plain = make_client("admin", name="other-admin")
    assert "names no" in plain.get("/admin/playbooks/validate").text


# --- users ------------------------------------------------------------------------------


def test_users_are_added_disabled_and_reset(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    short = post(client, "/admin/users/new", {"name": "kim", "role": "pr", "password": "short",
                                              "password2": "short"})
    assert short.status_code == 422 and "Password: the password must have at least 10" \
        in short.text
    assert post(client, "/admin/users/new", {"name": "kim", "role": "pr", "password": PASSWORD,
                                             "password2": PASSWORD}).status_code == 303
    kim = one(engine, User, name="kim")
    assert kim.role == "pr" and not kim.disabled
    assert "kim" in client.get("/admin/users").text
    kim_client = TestClient(client.app)
    login(kim_client, "kim")
    assert kim_client.get("/", follow_redirects=False).status_code == 200
    assert post(client, f"/admin/users/{kim.id}/disabled", {"disabled": "1"}).status_code == 303
    assert one(engine, User, name="kim").disabled
    assert kim_client.get("/", follow_redirects=False).status_code == 303  # session ended
    assert post(client, f"/admin/users/{kim.id}/disabled", {"disabled": "0"}).status_code == 303
    new_password = "another long passphrase"
    assert post(client, f"/admin/users/{kim.id}/password",
                {"password": new_password}).status_code == 303
    login(kim_client, "kim", new_password)
    kim_client.close()


def test_an_admin_cannot_disable_themselves(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin", name="root")
    me = one(engine, User, name="root")
    assert post(client, f"/admin/users/{me.id}/disabled", {"disabled": "1"}).status_code == 409
    assert not one(engine, User, name="root").disabled
    assert post(client, f"/admin/users/{me.id}/role", {"role": "pr"}).status_code == 409
    assert one(engine, User, name="root").role == "admin"


def test_a_new_role_applies_to_the_next_request(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    add_user(engine, "kim", "analyst", PASSWORD)
    kim = one(engine, User, name="kim")
    kim_client = TestClient(client.app)
    login(kim_client, "kim")
    assert kim_client.get("/admin/users", follow_redirects=False).status_code == 403
    assert kim_client.get("/history", follow_redirects=False).status_code == 200
    bad = post(client, f"/admin/users/{kim.id}/role", {"role": "owner"})
    assert bad.status_code == 422 and "owner" in bad.text
    assert post(client, f"/admin/users/{kim.id}/role", {"role": "admin"}).status_code == 303
    assert kim_client.get("/admin/users", follow_redirects=False).status_code == 200
    assert post(client, f"/admin/users/{kim.id}/role", {"role": "pr"}).status_code == 303
    assert one(engine, User, name="kim").role == "pr"
    assert kim_client.get("/admin/users", follow_redirects=False).status_code == 403
    assert f'id="role-{kim.id}"' in client.get("/admin/users").text
    kim_client.close()


# --- escaping ---------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_names_are_escaped(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    assert post(client, "/admin/brands/new", {"name": HOSTILE, "keywords": HOSTILE,
                                              "action": "save"}).status_code == 303
    src = add_source(engine, HOSTILE, last_error=HOSTILE)
    add_post(engine, src, f"about {HOSTILE}")
    pages = [client.get("/admin/brands").text, client.get("/admin/sources").text,
             post(client, "/admin/brands/new", {"name": "x", "keywords": HOSTILE,
                                                "action": "preview"}).text]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


# --- changes apply to the running daemon ------------------------------------------------


class FixedScorer:
    """Every text is a negative complaint: the test is about matching, not scoring."""

    def score(self, text: str) -> Score:
        return Score(language="en", sentiment=0.1, risk=0.9, cues=(), strong=True,
                     reasons=("test",))


def test_brand_added_in_the_console_is_matched_on_the_next_run(make_client, engine) -> None:  # noqa: ANN001
    client = make_client("admin")
    scorer = FixedScorer()
    src = add_source(engine)
    add_post(engine, src, "Zyxcorp toaster caught fire", key="p1")
    assert run_monitor(engine, scorer, 0.5).mentions == 0  # nobody watches Zyxcorp yet
    assert post(client, "/admin/brands/new", {"name": "Zyx", "keywords": "zyxcorp",
                                              "enabled": "1", "action": "save"}
                ).status_code == 303
    add_post(engine, src, "Zyxcorp toaster caught fire again", key="p2")
    report = run_monitor(engine, scorer, 0.5)  # same process, same scorer: no restart
    assert (report.posts, report.mentions, report.flagged) == (1, 1, 1)
    brand = one(engine, Brand, name="Zyx")
    mention = one(engine, Mention, brand_id=brand.id)
    assert one(engine, Post, id=mention.post_id).entry_key == "p2"
    assert post(client, f"/admin/brands/{brand.id}/enabled", {"enabled": "0"}
                ).status_code == 303
    add_post(engine, src, "Zyxcorp toaster third fire", key="p3")
    assert run_monitor(engine, scorer, 0.5).mentions == 0  # disabled: no longer matched


# --- crawlers/urlcheck.py --------------------------------------------------------------------


def fake_dns(table: dict[str, list[str]]) -> Callable[[str], list[str]]:
    def resolve(host: str) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254",
    "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "100.64.0.1", "240.0.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:a00:1::1", "64:ff9b::a00:1",
    "::127.0.0.1"])
def test_private_and_special_addresses_are_refused(address: str) -> None:
    import ipaddress

    assert not is_public(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    assert check_url(f"http://{host}/feed", []) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    assert check_url(f"https://{host}/feed", []) is None


def test_names_are_checked_by_every_address_they_resolve_to() -> None:
    dns = fake_dns({"news.example": ["93.184.216.34"],
                    "sneaky.example": ["93.184.216.34", "10.1.2.3"],
                    "v6.example": ["2606:4700::1", "::ffff:192.168.0.1"]})
    assert check_url("https://news.example/feed", [], resolver=dns) is None
    error = check_url("https://sneaky.example/feed", [], resolver=dns)
    assert error is not None and "10.1.2.3" in error
    assert check_url("https://v6.example/feed", [], resolver=dns) is not None
    assert "does not resolve" in check_url("https://nowhere.example/", [], resolver=dns)


def test_localhost_is_refused_by_real_resolution() -> None:
    error = check_url("http://localhost:8000/", [])
    assert error is not None and "resolves to" in error
    assert check_url("http://LOCALHOST./", []) is not None


def test_the_allow_list_permits_networks_and_names() -> None:
    dns = fake_dns({"wiki.corp": ["10.20.0.7"]})
    assert check_url("http://127.0.0.1:9/", ["127.0.0.0/8"]) is None
    assert check_url("http://[::ffff:127.0.0.1]/", ["127.0.0.0/8"]) is None
    assert check_url("http://[::1]/", ["127.0.0.0/8"]) is not None  # a v4 net is not ::1
    assert check_url("http://[::1]/", ["::1"]) is None
    assert check_url("http://wiki.corp/", [], resolver=dns) is not None
    assert check_url("http://wiki.corp/", ["10.20.0.0/16"], resolver=dns) is None
    assert check_url("http://wiki.corp/", ["WIKI.corp"], resolver=dns) is None
    assert check_url("http://10.30.0.1/", ["10.20.0.0/16"]) is not None
    assert check_host("169.254.169.254", ["10.0.0.0/8"]) is not None


def test_only_http_schemes_for_sources() -> None:
    for url in ("ftp://93.184.216.34/x", "file:///etc/passwd", "gopher://8.8.8.8/",
                "javascript:alert(1)", "93.184.216.34/feed"):
        assert check_url(url, []) is not None, url
    assert check_url("http:///nohost", []) is not None


def test_channel_urls_check_every_host_apprise_connects_to() -> None:
    assert check_channel_url("json://127.0.0.1:8000/hook", []) is not None
    assert check_channel_url("jsons://10.0.0.1/hook", []) is not None
    assert check_channel_url("xml://[::1]/x", []) is not None
    assert check_channel_url("form://169.254.169.254/", []) is not None
    assert check_channel_url("https://192.168.1.10/config.yaml", []) is not None
    assert check_channel_url("json://127.0.0.1:8000/hook", ["127.0.0.0/8"]) is None
    assert check_channel_url("json://8.8.8.8/hook", []) is None
    # fixed public services: what stands where a host would be is a token, not a host
    assert check_channel_url("tgram://123456:ABCdef/987", []) is None
    assert check_channel_url("discord://123/abc", []) is None
    assert check_channel_url("ntfy://alerts", []) is None  # ntfy.sh's topic, not a host
    assert check_channel_url("wechat://corp/secret/1234", []) is None  # an agent id
    for url in PRIVATE_CHANNELS:
        assert check_channel_url(url, []) is not None, url
    assert check_channel_url("ntfy://127.0.0.1/topic", ["127.0.0.0/8"]) is None
    assert check_channel_url("bark://93.184.216.34/device", []) is None
    assert "redirect=yes cannot be set" in check_channel_url(
        "json://93.184.216.34/hook?redirect=yes", [])
    assert check_channel_url("json://93.184.216.34/hook?redirect=no", []) is None
    assert check_channel_url("json://no-such-host.invalid/x", []) == \
        "host 'no-such-host.invalid' does not resolve"
    assert check_channel_url("file:///etc/apprise.yaml", []) is not None


def test_a_test_fetch_that_hangs_is_cut_off() -> None:
    from web.admin.probe import probe

    result = probe({"kind": "feed", "url": "https://93.184.216.34/feed"}, allow=[],
                   timeout=0.2)
    assert not result.ok and result.error == "no answer within 0.2 s"
