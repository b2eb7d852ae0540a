"""The daemon re-checks console-added sources when it fetches (crawlers/guard.py): a
host whose DNS answer turned private after the console saved it is refused, on
the first request, on redirects and on robots.txt; the config file's own sources
are never checked. Real daemon runs against the loopback site. Console-added
channels are checked before each delivery (monitor/stages/chain.py guard_sender)."""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy import Request
from sqlmodel import select

from crawlers.guard import GUARD_META, PrivateAddressGuard
from db.models import Post, Source
from tests.conftest import COMPLAINT, PRAISE, crisiswatch, db_engine, session


def test_only_console_sources_and_their_hosts_are_guarded() -> None:
    guard = PrivateAddressGuard([])
    assert not guard.guarded(Request("http://127.0.0.1:9/feed.xml"))  # the YAML's own
    assert guard.guarded(Request("http://LocalHost:9/feed.xml", meta={GUARD_META: True}))
    # Scrapy's robots.txt request for that host carries none of our meta
    assert guard.guarded(Request("http://localhost:9/robots.txt"))
    assert not guard.guarded(Request("http://127.0.0.1:9/robots.txt"))
    assert PrivateAddressGuard([], guard_all=True).guarded(Request("http://127.0.0.1/"))


def test_verdict_follows_the_allow_list() -> None:
    guard = PrivateAddressGuard(["10.0.0.0/8"], guard_all=True)
    assert guard.verdict(Request("http://10.1.2.3/feed")) is None
    assert guard.verdict(Request("https://93.184.216.34/feed")) is None
    for url in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1/robots.txt",
                "http://[::ffff:127.0.0.1]/"):
        error = guard.verdict(Request(url))
        assert error is not None and error.startswith(f"refused {url}")
        assert "console.allow_private" in error


def test_a_name_that_rebinds_to_a_private_address_is_refused_at_fetch_time() -> None:
    answers = iter([["93.184.216.34"], ["169.254.169.254"]])  # DNS: public, then not
    guard = PrivateAddressGuard([], resolver=lambda host: next(answers))
    request = Request("http://news.example/feed.xml", meta={GUARD_META: True})
    assert guard.verdict(request) is None
    error = guard.verdict(request)
    assert error is not None and "169.254.169.254" in error


def _add_console_source(config_dir, name: str, url: str) -> None:  # noqa: ANN001
    with session(db_engine(config_dir)) as s:
        s.add(Source(name=name, kind="feed", url=url, interval=60, managed_by="console"))
        s.commit()


def _source(config_dir, name: str) -> Source:  # noqa: ANN001
    with session(db_engine(config_dir)) as s:
        return s.exec(select(Source).where(Source.name == name)).one()


def _titles(config_dir, name: str) -> list[str]:  # noqa: ANN001
    with session(db_engine(config_dir)) as s:
        source = s.exec(select(Source).where(Source.name == name)).one()
        return [p.title for p in s.exec(select(Post).where(Post.source_id == source.id))]


def test_daemon_refuses_a_console_source_that_now_resolves_to_loopback(site, make_config):
    site.feeds["forum"] = [PRAISE]
    site.feeds["sneaky"] = [COMPLAINT]
    port = urlsplit(site.base).port
    config = make_config(["forum"])
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    # what the console saved as public; "localhost" stands for a name that rebinds
    _add_console_source(config.parent, "sneaky", f"http://localhost:{port}/sneaky.xml")
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    sneaky = _source(config.parent, "sneaky")
    assert sneaky.last_error is not None and "refused" in sneaky.last_error
    assert "console.allow_private" in sneaky.last_error
    assert not [r for r in site.requests if r[0] == "/sneaky.xml"]  # nothing was sent
    assert _titles(config.parent, "sneaky") == []
    assert _titles(config.parent, "forum") == [PRAISE.title]  # the YAML's own: unchecked
    assert _source(config.parent, "forum").last_error is None

    allowed = make_config(["forum"], extra={"console": {"allow_private": ["127.0.0.0/8"]}})
    assert crisiswatch("run", "--once", "--config", str(allowed)).returncode == 0
    assert _titles(config.parent, "sneaky") == [COMPLAINT.title]
    assert _source(config.parent, "sneaky").last_error is None


def test_daemon_refuses_a_redirect_off_the_allowed_host(site, make_config):
    port = urlsplit(site.base).port
    site.feeds["inner"] = [COMPLAINT]
    site.redirect["hop"] = f"http://127.0.0.1:{port}/inner.xml"
    config = make_config([], extra={"console": {"allow_private": ["localhost"]}})
    assert crisiswatch("run", "--once", "--config", str(config)).returncode == 0
    _add_console_source(config.parent, "hop", f"http://localhost:{port}/hop.xml")
    result = crisiswatch("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    hop = _source(config.parent, "hop")
    assert hop.last_error is not None and "refused http://127.0.0.1" in hop.last_error
    assert ("/hop.xml", None, 302) in site.requests  # the allowed name was fetched
    assert not [r for r in site.requests if r[0] == "/inner.xml"]
    assert _titles(config.parent, "hop") == []


def test_a_console_channel_that_now_resolves_to_loopback_is_refused_then_sent(
        tmp_path, receiver) -> None:  # noqa: ANN001
    from alerts.outbox import Outbox, dispatch, plan_deliveries, send_message
    from alerts.workflow import failed_deliveries
    from db.models import Channel, Delivery
    from monitor.stages.chain import guard_sender
    from tests.test_alert_workflow import BOOKS, T0, _alert, _engine

    engine = _engine(tmp_path, [{"name": "webhook", "url": receiver.url}])
    with session(engine) as s, s.begin():  # as the console saved it, then rebound
        channel = s.exec(select(Channel)).one()
        channel.managed_by = "console"
        channel.url = receiver.url.replace("127.0.0.1", "localhost")
    _alert(engine, "warning")
    plan_deliveries(engine, BOOKS, now=T0)
    box = Outbox(BOOKS, max_attempts=3)
    report = dispatch(engine, box, send=guard_sender(send_message, []), now=T0)
    assert (report.sent, report.failed) == (0, 1) and not receiver.received
    with session(engine) as s:
        delivery = s.exec(select(Delivery)).one()
    assert delivery.status == "pending" and "refused: host 'localhost'" in delivery.last_error
    assert not failed_deliveries(engine)  # not lost: it waits for its next attempt
    allowed = guard_sender(send_message, ["localhost"])
    assert dispatch(engine, box, send=allowed, now=T0, ignore_backoff=True).sent == 1
    assert len(receiver.received) == 1


def test_a_console_ntfy_channel_on_loopback_is_refused_at_delivery(tmp_path, receiver) -> None:  # noqa: ANN001
    """Not only json/xml/form: any scheme whose apprise plugin names a host."""
    from alerts.outbox import Outbox, dispatch, plan_deliveries, send_message
    from db.models import Channel, Delivery
    from monitor.stages.chain import guard_sender
    from tests.test_alert_workflow import BOOKS, T0, _alert, _engine

    port = receiver.server.server_address[1]
    engine = _engine(tmp_path, [{"name": "push", "url": receiver.url}])
    with session(engine) as s, s.begin():
        channel = s.exec(select(Channel)).one()
        channel.managed_by = "console"
        channel.url = f"ntfy://127.0.0.1:{port}/alerts"
    _alert(engine, "warning")
    plan_deliveries(engine, BOOKS, now=T0)
    report = dispatch(engine, Outbox(BOOKS, max_attempts=3), send=guard_sender(send_message, []),
                      now=T0)
    assert (report.sent, report.failed) == (0, 1) and not receiver.received
    with session(engine) as s:
        delivery = s.exec(select(Delivery)).one()
    assert "refused: host '127.0.0.1'" in delivery.last_error


def test_a_console_channel_redirecting_inwards_is_not_followed(tmp_path, receiver) -> None:  # noqa: ANN001
    """The checked host answers 307 to a refused one: a console channel's delivery
    stops there (not delivered, retried), a config file's channel follows it."""
    from alerts.outbox import Outbox, dispatch, plan_deliveries, send_message
    from db.models import Channel, Delivery
    from monitor.lab.localsite import AlertReceiver
    from monitor.stages.chain import guard_sender
    from tests.test_alert_workflow import BOOKS, T0, _alert, _engine

    hop = AlertReceiver()
    hop.server.start()
    try:
        hop.redirect_to = receiver.url.replace("json://", "http://")
        port = hop.server.server_address[1]
        engine = _engine(tmp_path, [{"name": "hop", "url": receiver.url}])
        with session(engine) as s, s.begin():
            channel = s.exec(select(Channel)).one()
            channel.managed_by = "console"
            channel.url = f"json://localhost:{port}/hook"
        _alert(engine, "warning")
        plan_deliveries(engine, BOOKS, now=T0)
        box = Outbox(BOOKS, max_attempts=3)
        report = dispatch(engine, box, send=guard_sender(send_message, ["localhost"]), now=T0)
        assert (report.sent, report.failed) == (0, 1) and receiver.received == []
        with session(engine) as s:
            assert s.exec(select(Delivery)).one().status == "pending"
            s.exec(select(Channel)).one().managed_by = "config"
            s.commit()
        assert dispatch(engine, box, send=guard_sender(send_message, ["localhost"]), now=T0,
                        ignore_backoff=True).sent == 1
        assert len(receiver.received) == 1  # followed: the operator's own config
    finally:
        hop.server.stop()
