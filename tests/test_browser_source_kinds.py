"""An admin adds a Mastodon and a Reddit source through the source form's own
fields in a real browser (Playwright driving Debian's headless Chromium against
the app served on a loopback port, as in tests/test_browser_controls.py): only
the chosen kind's fields show, a refused entry keeps the draft with the error
under its field, and what is saved is what the YAML entry would store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from sqlmodel import select

from db.engine import open_database, read_session
from db.models import Source
from monitor.config import load_config
from monitor.users import add_user
from tests.browser_support import artifacts_dir, chromium, loopback_socket, serve
from web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ADMIN, PASSWORD = "ada", "correct horse battery"
LOCAL = "http://127.0.0.1:9"  # allowed by the config's console.allow_private


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, object]]:
    path = tmp_path / "crisiswatch.yaml"
    path.write_text(yaml.safe_dump({
        "database": f"sqlite:///{tmp_path / 'cw.db'}",
        "brands": [{"name": "Acme", "keywords": ["Acme"]}],
        "console": {"allow_private": ["127.0.0.0/8"]}, "data_dir": str(tmp_path)}),
        encoding="utf-8")
    config = load_config(path, env={})
    engine = open_database(config.database)
    add_user(engine, ADMIN, "admin", PASSWORD)
    with serve(create_app(config, engine), loopback_socket()) as base:
        yield base, engine


@pytest.fixture
def page(browser: Browser, console, tmp_path_factory, request) -> Iterator[Page]:  # noqa: ANN001
    context = browser.new_context(base_url=console[0], viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    found = context.new_page()
    found.goto("/login")
    found.get_by_label("Name").fill(ADMIN)
    found.get_by_label("Password").fill(PASSWORD)
    found.get_by_role("button", name="Log in").click()
    yield found
    try:
        folder = artifacts_dir(tmp_path_factory)
        found.screenshot(path=str(folder / f"{request.node.name}-last.png"), full_page=True)
    finally:
        context.close()


def stored(engine, name: str) -> Source:  # noqa: ANN001
    with read_session(engine) as s:
        return s.exec(select(Source).where(Source.name == name)).one()


def test_admin_adds_mastodon_and_reddit_sources_through_their_fields(page: Page,
                                                                     console) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    engine = console[1]
    page.goto("/admin/sources/new")
    mastodon, reddit = (page.locator(f'fieldset[data-kind="{k}"]') for k in ("mastodon",
                                                                             "reddit"))
    expect(mastodon).to_be_hidden()  # feed chosen: no social fields
    page.get_by_label("Name").fill("acme-masto")
    page.get_by_label("Kind").select_option("mastodon")
    expect(mastodon).to_be_visible()
    expect(reddit).to_be_hidden()
    page.locator("#f-url").fill(LOCAL)
    page.locator("#f-m_hashtags").fill("acme phones")  # a space: not a hashtag
    page.get_by_label("Public timeline").select_option("local")
    page.get_by_label("Token environment variable").fill("MASTO_TOKEN")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#error-m_hashtags")).to_contain_text("'acme phones' is not a hashtag")
    expect(mastodon).to_be_visible()  # the draft comes back with its kind's fields
    expect(page.get_by_label("Token environment variable")).to_have_value("MASTO_TOKEN")
    page.locator("#f-m_hashtags").fill("#acme\nacmephone")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("saved source acme-masto")
    row = stored(engine, "acme-masto")
    assert (row.kind, row.url, row.managed_by) == ("mastodon", LOCAL, "console")
    assert row.rules == {"hashtags": ["acme", "acmephone"], "timeline": "local",
                         "token_env": "MASTO_TOKEN"}

    page.goto("/admin/sources/new")
    page.get_by_label("Name").fill("acme-reddit")
    page.get_by_label("Kind").select_option("reddit")
    expect(reddit).to_be_visible()
    expect(mastodon).to_be_hidden()
    page.locator("#f-url").fill(LOCAL)
    page.get_by_label("Subreddits", exact=True).fill("r/acme, AcmePhones")
    page.locator("#f-r_search").fill("acme refund")
    page.get_by_label("Read the subreddits' new comments too").check()
    page.get_by_label("Client id environment variable").fill("REDDIT_CLIENT_ID")
    page.get_by_label("Client secret environment variable").fill("REDDIT_CLIENT_SECRET")
    page.get_by_label("Token endpoint").fill(f"{LOCAL}/api/v1/access_token")
    page.get_by_label("User-Agent").fill("server:crisiswatch:1.0 (by /u/ada)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("saved source acme-reddit")
    row = stored(engine, "acme-reddit")
    assert (row.kind, row.url) == ("reddit", LOCAL)
    assert row.rules == {"client_id_env": "REDDIT_CLIENT_ID",
                         "client_secret_env": "REDDIT_CLIENT_SECRET",
                         "subreddits": ["acme", "AcmePhones"], "search": ["acme refund"],
                         "comments": True, "token_url": f"{LOCAL}/api/v1/access_token",
                         "user_agent": "server:crisiswatch:1.0 (by /u/ada)"}

    page.goto(f"/admin/sources/{row.id}")  # the edit form shows it back in its fields
    expect(reddit).to_be_visible()
    expect(page.get_by_label("Subreddits", exact=True)).to_have_value("acme\nAcmePhones")
    expect(page.get_by_label("Read the subreddits' new comments too")).to_be_checked()
