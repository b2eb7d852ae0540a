"""A console channel with tags names an apprise configuration served over HTTP;
its entries are the URLs apprise really posts to, so each entry the tags pick is
checked like a channel URL typed in the console: on saving, on "send a test" and
before each delivery (issue 17, item 6). The config file's own channels may point
anywhere. Real apprise reads the configuration from a loopback server; the
allow-list lets ``localhost`` through by name, so an entry on ``127.0.0.1`` (the
same machine, another name) stands for a private address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from alerts.outbox import Outbox, dispatch, plan_deliveries, send_message
from db.engine import session
from db.models import Channel, Delivery
from monitor.lab.localsite import AlertReceiver, LoopbackServer, QuietHandler
from monitor.stages.chain import guard_sender
from tests.test_alert_workflow import BOOKS, T0, _alert, _engine, receivers  # noqa: F401
from tests.test_web_admin import (  # noqa: F401 - fixtures
    _channel_form,
    db_url,
    engine,
    make_client,
    one,
    post,
    rows,
)

ALLOW = ["localhost"]


class ConfigSite:
    """Serves ``body`` as an apprise YAML configuration at /team.yml (apprise
    fetches it with a POST); any other path is 404."""

    def __init__(self) -> None:
        self.body = ""
        self.fetches = 0
        site = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/team.yml":
                    return self.reply(404, b"not found", "text/plain")
                site.fetches += 1
                self.reply(200, site.body.encode(), "text/yaml")

            do_GET = do_POST

        self.server = LoopbackServer(Handler)

    def url(self, path: str = "/team.yml") -> str:
        return f"http://localhost:{self.server.server_address[1]}{path}"


@pytest.fixture
def config_site() -> Iterator[ConfigSite]:
    site = ConfigSite()
    site.server.start()
    yield site
    site.server.stop()


def _yaml(*entries: tuple[str, str], preamble: str = "") -> str:
    return preamble + "urls:\n" + "".join(f"  - {url}:\n    - tag: {tag}\n"
                                          for url, tag in entries)


def _allowed(r: AlertReceiver) -> str:
    """The receiver by the name the allow-list lets through."""
    return r.url.replace("127.0.0.1", "localhost")


def _deliver(eng, **kw: object):  # noqa: ANN001, ANN202
    return dispatch(eng, Outbox(BOOKS, max_attempts=5),
                    send=guard_sender(send_message, ALLOW), now=T0, **kw)


def _one_delivery(eng) -> Delivery:  # noqa: ANN001
    with session(eng) as s:
        return s.exec(select(Delivery).order_by(Delivery.id.desc())).first()


def test_a_private_entry_of_a_console_channels_configuration_is_refused_at_delivery(
        tmp_path, receivers, config_site) -> None:  # noqa: ANN001, F811
    outside, inside = receivers[0], receivers[1]
    config_site.body = _yaml((_allowed(outside), "pr"), (inside.url, "pr"))
    eng = _engine(tmp_path, [{"name": "team", "url": config_site.url(), "tags": ["pr"]}])
    with session(eng) as s, s.begin():  # as the console saved it
        s.exec(select(Channel)).one().managed_by = "console"
    _alert(eng, "warning")
    plan_deliveries(eng, BOOKS, now=T0)
    report = _deliver(eng)
    assert (report.sent, report.failed) == (0, 1)
    assert outside.received == [] and inside.received == []  # nothing sent, to either
    delivery = _one_delivery(eng)
    assert delivery.status == "pending"
    port = inside.server.server_address[1]
    assert f"refused: entry json://127.0.0.1:{port}/hook" in delivery.last_error
    assert "console.allow_private" in delivery.last_error
    # the configuration now names allowed hosts only: delivered, to its entry
    config_site.body = _yaml((_allowed(outside), "pr"), (inside.url, "other"))
    assert _deliver(eng, ignore_backoff=True).sent == 1
    assert len(outside.received) == 1 and inside.received == []


def test_the_config_files_tagged_channel_may_name_any_host(
        tmp_path, receivers, config_site) -> None:  # noqa: ANN001, F811
    outside, inside = receivers[0], receivers[1]
    config_site.body = _yaml((_allowed(outside), "pr"), (inside.url, "pr"))
    eng = _engine(tmp_path, [{"name": "team", "url": config_site.url(), "tags": ["pr"]}])
    _alert(eng, "warning")
    plan_deliveries(eng, BOOKS, now=T0)
    assert _deliver(eng).sent == 1
    assert len(outside.received) == 1 and len(inside.received) == 1


def test_saving_a_tagged_channel_checks_the_entries_it_picks(
        make_client, engine, receivers, config_site) -> None:  # noqa: ANN001, F811
    outside, inside = receivers[0], receivers[1]
    client = make_client("admin", allow=ALLOW)
    config_site.body = _yaml((_allowed(outside), "pr"), (inside.url, "pr"))
    refused = post(client, "/admin/channels/new", _channel_form(config_site.url(), tags="pr"))
    assert refused.status_code == 422
    port = inside.server.server_address[1]
    assert f"Apprise URL: entry json://127.0.0.1:{port}/hook" in refused.text
    assert "console.allow_private" in refused.text
    missing = post(client, "/admin/channels/new",
                   _channel_form(config_site.url("/gone.yml"), tags="pr"))
    assert missing.status_code == 422 and "could not be read" in missing.text
    assert rows(engine, Channel) == []
    # an entry the tags do not pick is not this channel's business
    saved = post(client, "/admin/channels/new", _channel_form(config_site.url(), tags="ops"))
    assert saved.status_code == 422 and "no entry of the apprise configuration" in saved.text
    config_site.body = _yaml((_allowed(outside), "pr"), (inside.url, "other"))
    assert post(client, "/admin/channels/new",
                _channel_form(config_site.url(), tags="pr")).status_code == 303
    assert one(engine, Channel, name="pr-team").tags == ["pr"]
    assert outside.received == [] and inside.received == []  # saving sends nothing


def test_a_configuration_that_turns_redirects_on_is_refused(
        make_client, engine, receivers, config_site) -> None:  # noqa: ANN001, F811
    """apprise lets a configuration's ``asset:`` section turn redirects back on for
    all its entries; the entry's URL then no longer says ``redirect=yes``."""
    client = make_client("admin", allow=ALLOW)
    config_site.body = _yaml((_allowed(receivers[0]), "pr"),
                             preamble="asset:\n  http_redirects: yes\n")
    answer = post(client, "/admin/channels/new", _channel_form(config_site.url(), tags="pr"))
    assert answer.status_code == 422 and "follows redirects" in answer.text
    config_site.body = _yaml((_allowed(receivers[0]) + "?redirect=yes", "pr"))
    answer = post(client, "/admin/channels/new", _channel_form(config_site.url(), tags="pr"))
    assert answer.status_code == 422 and "follows redirects" in answer.text
    assert rows(engine, Channel) == []


def test_the_test_button_checks_the_entries_like_a_delivery(
        make_client, engine, receivers, config_site) -> None:  # noqa: ANN001, F811
    outside, inside = receivers[0], receivers[1]
    config_site.body = _yaml((_allowed(outside), "pr"), (inside.url, "pr"))
    with session(engine) as s, s.begin():
        for owner in ("console", "config"):
            s.add(Channel(name=f"{owner}-team", url=config_site.url(), tags=["pr"],
                          managed_by=owner))
    client = make_client("admin", allow=ALLOW)
    refused = post(client, f"/admin/channels/{one(engine, Channel, name='console-team').id}/test")
    assert "Result: not delivered: refused: entry json://127.0.0.1:" in refused.text
    assert outside.received == [] and inside.received == []
    trusted = post(client, f"/admin/channels/{one(engine, Channel, name='config-team').id}/test")
    assert "Result: delivered" in trusted.text
    assert len(outside.received) == 1 and len(inside.received) == 1
