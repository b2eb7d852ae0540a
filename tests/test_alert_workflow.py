"""Routing, quiet hours, rate limit and digest, escalation, acknowledgement, dead
letters and trust: the outbox end to end, delivering with apprise to local
``json://`` receivers, on a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from alerts.escalation import escalate, next_tier
from alerts.outbox import Outbox, dispatch, plan_deliveries, plan_digests
from alerts.playbooks import load_playbooks
from alerts.routing import digest_due, quiet_until, route
from alerts.trust import Case, summarise, trust_score
from alerts.workflow import WorkflowError, acknowledge, failed_deliveries, resolve, retry
from db.engine import open_database, session
from db.models import Alert, Brand, Delivery, Incident, Mention, Post, Source
from monitor.cli.main import app
from monitor.config import parse_config
from monitor.history.summary import summarize
from monitor.lab.localsite import AlertReceiver
from monitor.stages.sync import sync_config

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BOOKS = load_playbooks()


@pytest.fixture
def receivers() -> Iterator[list[AlertReceiver]]:
    started = [AlertReceiver() for _ in range(3)]
    for r in started:
        r.server.start()
    yield started
    for r in started:
        r.server.stop()


def _engine(tmp_path: Path, channels: list[dict], brands: tuple[str, ...] = ("Acme", "Beta")):
    url = f"sqlite:///{tmp_path / 'cw.db'}"
    config = parse_config({"database": url,
                           "brands": [{"name": b, "keywords": [b]} for b in brands],
                           "channels": channels}, base=tmp_path, env={})
    engine = open_database(url)
    sync_config(engine, config)
    return engine


def _alert(engine, severity: str, *, brand: str = "Acme", at: datetime = T0,  # noqa: ANN001
           title: str = "Acme support hung up on me", category: str = "service_attitude",
           incident_id: int | None = None, url: str | None = "https://forum.example/t/1"
           ) -> int:
    """One stored post, mention, incident (or an existing one) and alert."""
    with session(engine) as s, s.begin():
        b = s.exec(select(Brand).where(Brand.name == brand)).one()
        src = s.exec(select(Source).where(Source.name == "forum")).first()
        if src is None:
            src = Source(name="forum", url="https://forum.example/")
            s.add(src)
            s.flush()
        n = len(s.exec(select(Post)).all())
        post = Post(source_id=src.id, entry_key=f"p{n}", fingerprint=f"f{n}", url=url,
                    title=title, text=title, fetched_at=at)
        s.add(post)
        s.flush()
        if incident_id is None:
            inc = Incident(brand_id=b.id, opened_at=at, last_seen_at=at, severity=severity,
                           category=category, title=title)
            s.add(inc)
            s.flush()
            incident_id = inc.id
        else:
            inc = s.get(Incident, incident_id)
            inc.severity = severity
            s.add(inc)
        s.add(Mention(post_id=post.id, brand_id=b.id, risk=0.9, flagged=True,
                      incident_id=incident_id, cues=["service_attitude"]))
        alert = Alert(incident_id=incident_id, brand_id=b.id, severity=severity,
                      dedup_key=f"{brand}:{incident_id}:{severity}:{n}", created_at=at,
                      reasons=[f"{severity}: test reason"], post_ids=[post.id])
        s.add(alert)
        s.flush()
        return alert.id


def _run(engine, now: datetime, *, max_attempts: int = 8, ignore_backoff: bool = False,  # noqa: ANN001
         console_url: str | None = None) -> None:
    """What the daemon's alert stages do on each wake-up."""
    plan_deliveries(engine, BOOKS, now=now)
    escalate(engine, now=now)
    plan_digests(engine, now=now)
    dispatch(engine, Outbox(BOOKS, console_url=console_url, max_attempts=max_attempts),
             now=now, ignore_backoff=ignore_backoff)


def _titles(r: AlertReceiver) -> list[str]:
    return [x.title for x in r.received]


# --- pure routing ----------------------------------------------------------------------


def test_quiet_hours_wrap_midnight_and_follow_the_zone() -> None:
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert quiet_until(late, "22:00-07:00") == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 11, 24, 6, 59, tzinfo=UTC), "22:00-07:00") == \
        datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 11, 24, 7, 0, tzinfo=UTC), "22:00-07:00") is None
    assert quiet_until(T0, "12:00-13:00") == T0 + timedelta(hours=1)
    # 23:30 UTC is 07:30 in Shanghai: not quiet there
    assert quiet_until(late, "22:00-07:00", "Asia/Shanghai") is None
    assert quiet_until(T0, None) is None


def test_route_holds_digested_and_rate_limited_but_never_a_crisis() -> None:
    common = dict(now=T0, quiet_hours=None, timezone="UTC", quiet_override="crisis")
    assert route(severity="notice", digest="notice", rate_limit=None, sent_in_period=0,
                 **common).action == "hold"
    assert route(severity="warning", digest="notice", rate_limit=None, sent_in_period=0,
                 **common).action == "send"
    assert route(severity="warning", digest=None, rate_limit="2/1h", sent_in_period=2,
                 **common).action == "hold"
    assert route(severity="crisis", digest="crisis", rate_limit="2/1h", sent_in_period=9,
                 **common).action == "send"


def test_digest_waits_its_period_and_quiet_hours() -> None:
    every = timedelta(hours=1)
    assert not digest_due(T0 + timedelta(minutes=59), held_since=T0, last_digest_at=None,
                          every=every, quiet_hours=None, timezone="UTC")
    assert digest_due(T0 + every, held_since=T0, last_digest_at=None, every=every,
                      quiet_hours=None, timezone="UTC")
    assert not digest_due(T0 + every, held_since=T0, last_digest_at=None, every=every,
                          quiet_hours="12:30-14:00", timezone="UTC")


def test_trust_score_is_the_seed_formula() -> None:
    assert trust_score(0, 3600) == 100.0
    assert trust_score(1800, 3600) == 50.0
    assert trust_score(3600, 3600) == 0.0
    assert trust_score(7200, 3600) == -100.0  # late shows how late
    with pytest.raises(ValueError):
        trust_score(10, 0)
    rows = summarise([Case("Acme", T0, "warning", 1800, 3600),
                      Case("Acme", T0, "crisis", 7200, 3600),
                      Case("Acme", T0, "crisis", None, 3600),
                      Case("Beta", T0 + timedelta(days=31), "warning", 600, 3600)])
    acme, beta = rows
    assert (acme.brand, acme.month, acme.incidents, acme.replied, acme.on_time) == \
        ("Acme", "2026-11", 3, 2, 1)
    assert acme.mean_trust == -25.0 and acme.median_reply_h == 1.25
    assert (beta.month, beta.mean_trust) == ("2026-12", 83.3)


def test_next_tier_skips_gaps() -> None:
    assert next_tier(0, [1, 3]) == 1
    assert next_tier(1, [1, 3]) == 3
    assert next_tier(3, [1, 3]) is None


# --- end to end through apprise ----------------------------------------------------------


def test_routing_by_severity_and_brand(tmp_path: Path, receivers: list[AlertReceiver]) -> None:
    everyone, crisis_only, beta_only = receivers
    engine = _engine(tmp_path, [
        {"name": "all", "url": everyone.url},
        {"name": "crisis", "url": crisis_only.url, "min_severity": "crisis"},
        {"name": "beta", "url": beta_only.url, "brands": ["Beta"]}])
    _alert(engine, "warning", brand="Acme")
    _alert(engine, "crisis", brand="Beta", title="Beta heater caught fire")
    _run(engine, T0)
    assert len(everyone.received) == 2
    assert [t for t in _titles(crisis_only)] == [t for t in _titles(everyone) if "Beta" in t]
    assert len(beta_only.received) == 1 and "Beta" in beta_only.received[0].title
    _run(engine, T0 + timedelta(minutes=1))  # planned once, sent once
    assert len(everyone.received) == 2


def test_quiet_hours_hold_a_warning_but_not_a_crisis(tmp_path: Path,
                                                      receivers: list[AlertReceiver]) -> None:
    r = receivers[0]
    engine = _engine(tmp_path, [{"name": "night", "url": r.url, "quiet_hours": "22:00-07:00"}])
    night = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    _alert(engine, "warning", at=night)
    _alert(engine, "crisis", at=night, title="Acme charger exploded")
    _run(engine, night)
    assert len(r.received) == 1 and "[CRISIS]" in r.received[0].title
    _run(engine, datetime(2026, 11, 24, 6, 59, tzinfo=UTC))
    assert len(r.received) == 1
    _run(engine, datetime(2026, 11, 24, 7, 0, tzinfo=UTC))
    assert len(r.received) == 2 and "[WARNING]" in r.received[1].title


def test_rate_limit_and_digest(tmp_path: Path, receivers: list[AlertReceiver]) -> None:
    busy, digesting = receivers[0], receivers[1]
    engine = _engine(tmp_path, [
        {"name": "busy", "url": busy.url, "rate_limit": "2/1h"},
        {"name": "digest", "url": digesting.url, "digest": "notice", "digest_every": "1h"}])
    for i in range(5):
        _alert(engine, "notice", title=f"Acme complaint number {i}")
    _alert(engine, "warning", title="Acme complaints are growing")
    _run(engine, T0)
    assert len(busy.received) == 2  # the rest wait for the digest
    assert [x.title[:9] for x in digesting.received] == ["[WARNING]"]  # notices wait
    _run(engine, T0 + timedelta(minutes=59))
    assert len(busy.received) == 2 and len(digesting.received) == 1
    _run(engine, T0 + timedelta(hours=1))
    digest_busy, digest_quiet = busy.received[-1], digesting.received[-1]
    assert "4 alerts" in digest_busy.title and "5 alerts" in digest_quiet.title
    for i in range(5):
        assert f"Acme complaint number {i}" in digest_quiet.body
    _run(engine, T0 + timedelta(hours=3))  # nothing held any more: no empty digest
    assert len(busy.received) == 3 and len(digesting.received) == 2


def test_escalation_after_the_response_time_once_per_tier(
        tmp_path: Path, receivers: list[AlertReceiver]) -> None:
    team, manager, director = receivers
    engine = _engine(tmp_path, [{"name": "team", "url": team.url},
                                {"name": "manager", "url": manager.url, "tier": 1},
                                {"name": "director", "url": director.url, "tier": 2}])
    alert_id = _alert(engine, "warning")
    _run(engine, T0)
    with session(engine) as s:
        alert = s.get(Alert, alert_id)
    respond = alert.respond_by - T0
    book = next(b for b in BOOKS if b.name == alert.playbook)
    assert respond == timedelta(seconds=book.response_seconds)
    assert len(team.received) == 1 and not manager.received
    _run(engine, T0 + respond - timedelta(minutes=1))
    assert not manager.received
    _run(engine, T0 + respond)
    assert len(manager.received) == 1 and "ESCALATED tier 1" in manager.received[0].title
    _run(engine, T0 + respond + timedelta(minutes=30))
    assert len(manager.received) == 1 and not director.received
    _run(engine, T0 + 2 * respond)
    assert len(director.received) == 1 and len(manager.received) == 1
    _run(engine, T0 + 5 * respond)  # no tier 3: nothing more
    assert len(director.received) == 1 and len(team.received) == 1


def test_acknowledgement_stops_escalation(tmp_path: Path,
                                          receivers: list[AlertReceiver]) -> None:
    team, manager = receivers[0], receivers[1]
    engine = _engine(tmp_path, [{"name": "team", "url": team.url},
                                {"name": "manager", "url": manager.url, "tier": 1}])
    first = _alert(engine, "warning")
    with session(engine) as s:
        incident_id = s.get(Alert, first).incident_id
    second = _alert(engine, "crisis", incident_id=incident_id)
    notice = _alert(engine, "notice", title="Acme app slow")
    _run(engine, T0)
    assert acknowledge(engine, second, by="Li Wei", now=T0 + timedelta(minutes=5)) == \
        [first, second]  # the incident's earlier alert too, not another incident's
    _run(engine, T0 + timedelta(days=2))
    assert not manager.received  # a notice never escalates
    with session(engine) as s:
        assert s.get(Alert, notice).status == "open"
        assert s.get(Incident, incident_id).acknowledged_at == T0 + timedelta(minutes=5)


def test_dead_letter_then_retry_delivers_once(tmp_path: Path,
                                              receivers: list[AlertReceiver]) -> None:
    r = receivers[0]
    r.down = True
    engine = _engine(tmp_path, [{"name": "flaky", "url": r.url}])
    _alert(engine, "warning")
    for minute in range(3):
        _run(engine, T0 + timedelta(minutes=minute), max_attempts=3, ignore_backoff=True)
    dead = failed_deliveries(engine)
    assert len(dead) == 1 and dead[0].attempts == 3 and dead[0].channel == "flaky"
    assert "503" in (dead[0].last_error or "") or dead[0].last_error
    summary = "\n".join(summarize(engine).lines())  # what `run --once` prints
    assert "0 waiting to retry, 1 failed for good (crisiswatch alerts failed)" in summary
    r.down = False
    _run(engine, T0 + timedelta(hours=1), max_attempts=3)
    assert not r.received  # dead letters stay dead until someone retries
    with pytest.raises(WorkflowError, match="#999"):
        retry(engine, [999])
    assert retry(engine, [dead[0].id], now=T0 + timedelta(hours=1)) == 1
    _run(engine, T0 + timedelta(hours=1), max_attempts=3)
    _run(engine, T0 + timedelta(hours=2), max_attempts=3)
    assert len(r.received) == 1 and not failed_deliveries(engine)


def test_hostile_post_is_escaped_in_an_html_channel(tmp_path: Path,
                                                    receivers: list[AlertReceiver]) -> None:
    r = receivers[0]
    engine = _engine(tmp_path, [{"name": "mail", "url": r.url, "format": "html"}])
    _alert(engine, "warning", title="<script>alert(1)</script> {{ 7*7 }} Acme",
           url="javascript:alert(1)")
    _run(engine, T0, console_url="https://console.example")
    body = r.received[0].body
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "{{ 7*7 }}" in body and "49" not in body
    assert 'href="javascript:' not in body
    assert "https://console.example/alerts/1" in body


def test_resolve_records_the_reply_and_the_trust_score(tmp_path: Path,
                                                       receivers: list[AlertReceiver]) -> None:
    engine = _engine(tmp_path, [{"name": "team", "url": receivers[0].url}])
    alert_id = _alert(engine, "warning")
    _run(engine, T0)
    with session(engine) as s:
        promised = s.get(Incident, s.get(Alert, alert_id).incident_id).reply_promised_s
    with pytest.raises(WorkflowError, match="before the incident opened"):
        resolve(engine, alert_id, T0 - timedelta(hours=1))
    trust = resolve(engine, alert_id, T0 + timedelta(seconds=promised / 4))
    assert trust == 75.0
    with session(engine) as s:
        alert = s.get(Alert, alert_id)
        assert alert.status == "resolved"
        assert s.get(Incident, alert.incident_id).first_reply_at == \
            T0 + timedelta(seconds=promised / 4)


def test_cli_list_ack_resolve_failed_report(tmp_path: Path,
                                            receivers: list[AlertReceiver]) -> None:
    engine = _engine(tmp_path, [{"name": "team", "url": receivers[0].url}])
    alert_id = _alert(engine, "crisis", title="Acme heater caught fire")
    _run(engine, T0)
    db = ["--database", f"sqlite:///{tmp_path / 'cw.db'}"]
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list", *db])
    assert listed.exit_code == 0 and "crisis" in listed.output and "open" in listed.output
    acked = runner.invoke(app, ["alerts", "ack", str(alert_id), "--by", "Wang Fang", *db])
    assert acked.exit_code == 0 and f"#{alert_id}" in acked.output
    assert "acknowledged" in runner.invoke(app, ["alerts", "list", *db]).output
    missing = runner.invoke(app, ["alerts", "ack", "999", *db])
    assert missing.exit_code == 1 and "no alert #999" in missing.output
    bad_time = runner.invoke(app, ["alerts", "resolve", str(alert_id), "--reply-at", "soon",
                                   *db])
    assert bad_time.exit_code == 2
    reply = (T0 + timedelta(minutes=30)).isoformat()
    resolved = runner.invoke(app, ["alerts", "resolve", str(alert_id), "--reply-at", reply, *db])
    assert resolved.exit_code == 0 and "trust score" in resolved.output
    failed = runner.invoke(app, ["alerts", "failed", *db])
    assert failed.exit_code == 0 and "no failed deliveries" in failed.output
    assert runner.invoke(app, ["alerts", "retry", *db]).exit_code == 2
    report = runner.invoke(app, ["report", *db])
    assert report.exit_code == 0 and "Acme" in report.output and "2026-11" in report.output


def test_deliveries_survive_a_restart_without_duplicates(
        tmp_path: Path, receivers: list[AlertReceiver]) -> None:
    r = receivers[0]
    engine = _engine(tmp_path, [{"name": "team", "url": r.url}])
    _alert(engine, "warning")
    plan_deliveries(engine, BOOKS, now=T0)
    plan_deliveries(engine, BOOKS, now=T0)  # a second daemon, or the same one after a crash
    with session(engine) as s:
        assert len(s.exec(select(Delivery)).all()) == 1
    engine.dispose()
    again = open_database(f"sqlite:///{tmp_path / 'cw.db'}")
    _run(again, T0)
    _run(again, T0 + timedelta(minutes=5))
    assert len(r.received) == 1


def test_tags_pick_entries_of_an_apprise_configuration(
        tmp_path: Path, receivers: list[AlertReceiver]) -> None:
    on_call, everyone = receivers[0], receivers[1]
    team_file = tmp_path / "team.yml"
    team_file.write_text(f"urls:\n  - {on_call.url}:\n    - tag: oncall\n"
                         f"  - {everyone.url}:\n    - tag: all\n", encoding="utf-8")
    engine = _engine(tmp_path, [{"name": "oncall", "url": f"file://{team_file}",
                                 "tags": ["oncall"]},
                                {"name": "nobody", "url": f"file://{team_file}",
                                 "tags": ["nobody"]}])
    _alert(engine, "crisis", title="Acme heater caught fire")
    _run(engine, T0)
    assert len(on_call.received) == 1 and not everyone.received
    with session(engine) as s:
        errors = [d.last_error for d in s.exec(select(Delivery)).all() if d.last_error]
    assert errors and "no entry of the apprise configuration has tag 'nobody'" in errors[0]


def test_incident_view_shows_the_reply_and_trust(tmp_path: Path,
                                                 receivers: list[AlertReceiver]) -> None:
    from monitor.history.incidents import incident_detail, incident_text

    engine = _engine(tmp_path, [{"name": "team", "url": receivers[0].url}])
    alert_id = _alert(engine, "warning")
    _run(engine, T0)
    with session(engine) as s:
        incident_id = s.get(Alert, alert_id).incident_id
    assert incident_detail(engine, incident_id)["trust"] is None
    trust = resolve(engine, alert_id, T0 + timedelta(minutes=30))
    detail = incident_detail(engine, incident_id)
    assert detail["trust"] == trust and trust is not None
    assert f"trust {trust:.1f}" in incident_text(detail)
