"""The soft brand alarm end to end: a surge of risky mentions that the scorer does
not flag warns as one surge incident; a surge of praise as big does not."""

from __future__ import annotations

from datetime import timedelta

from monitor.config import parse_config
from monitor.scoring.backends import scorer_for
from tests.test_backtest import T0, rec, run

EVERYDAY = ["Acme event this afternoon", "Acme store was busy today", "Picked up an Acme case",
            "Acme keynote is on Tuesday", "Reading about the Acme tablet",
            "Acme phones at the mall"]
# each scores between about 0.3 and 0.45: riskier than the everyday mix, under the flag
SOUR = ["Why is Acme so slow to reply", "Not sure about the new Acme update",
        "Hmm, Acme sync seems off", "Acme screen flickers sometimes",
        "Acme app feels slow today"]
PRAISE = ["Love my new Acme phone", "Acme launch was great fun", "So happy with Acme today",
          "Acme camera is wonderful", "Great job Acme team", "Thanks Acme, lovely service"]
DAY = 24 * 60
SOFT = {"detection": {"soft_alarm": True}}  # off by default (README: the trade)


def stream(burst: list[str]) -> list[dict]:
    """Four days of an everyday mention an hour, then fifteen mentions in 50 minutes."""
    usual = [rec(60 * i + 7, "forum-a", f"u{i}", f"{EVERYDAY[i % 6]} #{i}")
             for i in range(4 * 24)]
    surge = [rec(4 * DAY + 10 * 60 + 200 * i / 60, "forum-b", f"s{i}",
                 f"{burst[i % len(burst)]} #{i}") for i in range(15)]
    return usual + surge


def test_the_sour_mentions_are_risky_but_unflagged(tmp_path):
    """The premise of the tests below, checked on the shipped scorer: when a model
    change breaks it, this says so, rather than the surge test failing obscurely."""
    scorer = scorer_for(parse_config({}, base=tmp_path))
    everyday = max(scorer.score(t).risk for t in EVERYDAY)
    for text in SOUR:
        assert everyday < scorer.score(text).risk < 0.5, text


def test_a_surge_of_unflagged_sour_mentions_warns_as_one_surge_incident(tmp_path):
    report = run(stream(SOUR), tmp_path, SOFT)
    warned = [a for a in report.alerts if a.severity == "warning"]
    assert len(warned) == 1, [(a.at, a.reasons) for a in report.alerts]
    reason = warned[0].reasons[0]
    assert "(soft brand alarm)" in reason and "as risky as the brand's usual mention" in reason
    assert "in incidents #" in reason
    assert warned[0].at >= T0 + timedelta(days=4, hours=10)  # the usual days stay quiet
    assert set(warned[0].post_ids) <= {f"s{i}" for i in range(15)} and warned[0].post_ids


def test_a_surge_of_praise_as_big_stays_quiet(tmp_path):
    report = run(stream(PRAISE), tmp_path, SOFT)
    assert not [a for a in report.alerts if a.severity in ("warning", "crisis")], \
        [(a.at, a.reasons) for a in report.alerts]


def test_the_soft_alarm_is_off_unless_configured(tmp_path):
    report = run(stream(SOUR), tmp_path)
    assert not [a for a in report.alerts if "(soft brand alarm)" in " ".join(a.reasons)]
