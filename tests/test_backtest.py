"""Backtest: recorded streams replayed through the real stages in simulated time;
incidents grouped by matter; `crisiswatch incidents` / `incident ID`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from monitor.config import parse_config
from monitor.lab.backtest import RecordError, read_records, replay
from monitor.scoring.backends import scorer_for
from tests.conftest import crisiswatch

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
FIRE = "My Acme X2 charger caught fire last night and Acme refused a refund."
REPOST = "Saw this on forum-a: My Acme X2 charger caught fire last night and Acme refused a refund!"
PILE_ON = "Same here, my Acme X2 charger caught fire too. Going to the media with this."
OTHER = "Acme delivery is late again, terrible service, nobody answers the phone."


def rec(minutes: float, source: str, pid: str, text: str | None = None,
        replies: int | None = None, **extra) -> dict:  # noqa: ANN003
    r = {"at": (T0 + timedelta(minutes=minutes)).isoformat(), "source": source, "id": pid,
         "brand": "Acme", **extra}
    if text is not None:
        r["text"] = text
    if replies is not None:
        r["replies"] = replies
    return r


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def run(records: list[dict], tmp_path: Path, config: dict | None = None):  # noqa: ANN201
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = parse_config(config or {}, base=tmp_path)
    return replay(read_records(write(tmp_path / "s.jsonl", records)), cfg, scorer_for(cfg))


def test_a_growing_thread_is_alerted_at_simulated_times(tmp_path):
    stream = [rec(0, "forum-a", "p1", OTHER, 0), rec(30, "forum-a", "p1", replies=2),
              rec(60, "forum-a", "p1", replies=9), rec(75, "forum-a", "p1", replies=30)]
    report = run(stream, tmp_path)
    assert [a.severity for a in report.alerts][:2] == ["notice", "warning"]
    notice, warning = report.alerts[:2]
    assert notice.at == T0  # seen, scored and judged at the poll that saw it
    assert warning.at == T0 + timedelta(minutes=60)
    assert any(r.startswith("replies 0 -> 9 in 60 min") for r in warning.reasons)
    assert notice.post_ids == ("p1",) and report.incidents == 1


def test_reposts_join_one_incident_and_spreading_while_growing_makes_a_crisis(tmp_path):
    stream = [rec(0, "forum-a", "p1", FIRE), rec(40, "forum-a", "p2", OTHER),
              rec(50, "news-c", "p3", REPOST), rec(55, "forum-b", "p4", PILE_ON)]
    report = run(stream, tmp_path)
    fire = [a for a in report.alerts if "charger" in a.incident_title]
    other = [a for a in report.alerts if "delivery" in a.incident_title]
    assert {a.incident_id for a in fire} != {a.incident_id for a in other}
    assert len({a.incident_id for a in fire}) == 1
    assert [a.severity for a in other] == ["notice"]
    crisis = next(a for a in fire if a.severity == "crisis")
    assert "now on 3 sources: forum-a, news-c, forum-b" in crisis.reasons
    assert "3 risky mentions in 60 min" in crisis.reasons


def test_words_the_brand_hears_every_day_do_not_group_complaints(tmp_path):
    """Three different complaints about the X2 phone in one hour share only "x2",
    "phone" and "refund": one growing incident for a brand that has no history, but three separate
    notices for one whose everyday posts (stored, unflagged) all said "X2 phone" the day
    before (the background reads history older than a day: ``TERM_LAG``)."""
    complaints = [rec(48 * 60 + 10 * i, "forum-a", f"c{i}", text) for i, text in enumerate([
        "My Acme X2 phone keeps crashing, awful, I want a refund",
        "Acme X2 phone charger broke after a week, terrible, refund please",
        "Acme X2 phone screen went black, horrible, asking for a refund"])]
    alone = run(complaints, tmp_path / "alone")
    assert "warning" in [a.severity for a in alone.alerts] and alone.incidents == 1
    praise = ["Loving my Acme X2 phone, great camera", "Acme X2 phone on sale this weekend",
              "Which colour of the Acme X2 phone should I get?", "My Acme X2 phone arrived"]
    everyday = [rec(20 * i, "forum-b", f"e{i}", praise[i % 4]) for i in range(60)]
    report = run(everyday + complaints, tmp_path / "everyday")
    assert [a.severity for a in report.alerts] == ["notice"] * 3
    assert report.incidents == 3


def test_per_brand_thresholds_apply(tmp_path):
    again = "Acme delivery late again here too, terrible service and nobody answers."
    stream = [rec(0, "forum-a", "p1", OTHER), rec(20, "forum-a", "p2", again)]
    assert [a.severity for a in run(stream, tmp_path).alerts] == ["notice"]
    eager = {"brands": [{"name": "Acme", "keywords": ["Acme"],
                         "detection": {"growth_mentions": 2}}]}
    alerts = run(stream, tmp_path / "eager", eager).alerts
    assert [a.severity for a in alerts] == ["notice", "warning"]
    assert "2 risky mentions in 60 min" in alerts[1].reasons


def test_a_growing_crisis_is_reminded_until_acknowledged(tmp_path):
    stream = [rec(0, "forum-a", "p1", FIRE, 0), rec(2, "news-c", "p2", REPOST)]
    stream += [rec(10 + 20 * i, "forum-a", "p1", replies=5 * (i + 1)) for i in range(16)]
    report = run(stream, tmp_path, {"detection": {"remind_every": "2h"}})
    kinds = [a.severity for a in report.alerts]
    assert kinds.count("crisis") >= 2  # the rise, then reminders while it grows
    rise, reminder = [a for a in report.alerts if a.severity == "crisis"][:2]
    assert reminder.at - rise.at >= timedelta(hours=2)
    quiet = run(stream, tmp_path / "q")  # reminders are off by default
    assert [a.severity for a in quiet.alerts].count("crisis") == 1


def test_bad_records_name_their_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"at": "2026-03-02T09:00:00Z", "source": "a", "id": "1"}\n'
                   '{"at": "yesterday", "source": "a", "id": "2"}\n', encoding="utf-8")
    with pytest.raises(RecordError, match="line 2: 'at' is not an ISO 8601 time"):
        read_records(bad)
    bad.write_text('{"source": "a", "id": "1"}\n', encoding="utf-8")
    with pytest.raises(RecordError, match="line 1: missing at"):
        read_records(bad)
    bad.write_text('{"at": "2026-03-02T09:00:00", "source": "a", "id": "1", "replies": "x"}',
                   encoding="utf-8")
    with pytest.raises(RecordError, match="'replies' is not a number"):
        read_records(bad)


def test_cli_backtest_csv_then_incidents_and_timeline(tmp_path):
    stream = tmp_path / "s.csv"
    stream.write_text("at,source,id,brand,title,text,replies\n"
                      f"{T0.isoformat()},forum-a,p1,Acme,Charger fire,\"{FIRE}\",0\n"
                      f"{(T0 + timedelta(minutes=30)).isoformat()},forum-a,p1,Acme,,,12\n"
                      f"{(T0 + timedelta(minutes=31)).isoformat()},news-c,p2,Acme,,"
                      f"\"{REPOST}\",\n", encoding="utf-8")
    kept = tmp_path / "replay.db"
    result = crisiswatch("backtest", "--posts", str(stream), "--keep", str(kept),
                         cwd=tmp_path)  # no ./crisiswatch.yaml: the built-in settings
    assert result.returncode == 0, result.stderr
    assert "2026-03-02T09:00+00:00  NOTICE   Acme  incident #1: Charger fire" in result.stdout
    assert "CRISIS" in result.stdout and "3 records (2 posts)" in result.stdout
    listing = crisiswatch("incidents", "--database", f"sqlite:///{kept}")
    assert listing.returncode == 0, listing.stderr
    assert "crisis" in listing.stdout and "safety_incident" in listing.stdout
    one = crisiswatch("incident", "1", "--database", f"sqlite:///{kept}")
    assert one.returncode == 0, one.stderr
    lines = one.stdout.splitlines()
    assert lines[0].startswith("Incident #1 | Acme | CRISIS")
    assert any("replies   12 on" in line for line in lines)
    assert any("-> CRISIS" in line for line in lines)
    data = json.loads(crisiswatch("incident", "1", "--json", "--database",
                                  f"sqlite:///{kept}").stdout)
    assert [e["kind"] for e in data["timeline"]].count("mention") == 2
    missing = crisiswatch("incident", "99", "--database", f"sqlite:///{kept}")
    assert missing.returncode == 1 and "no incident #99" in missing.stderr


def test_cli_backtest_refuses_a_broken_file(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    result = crisiswatch("backtest", "--posts", str(bad), cwd=tmp_path)
    assert result.returncode == 2 and "line 1: not JSON" in result.stderr
    result = crisiswatch("backtest", "--posts", str(bad), "--config", str(tmp_path / "n.yaml"))
    assert result.returncode == 2 and "n.yaml: no such file" in result.stderr  # a typo
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"brands": []}), encoding="utf-8")
    nobrand = write(tmp_path / "nb.jsonl", [{"at": T0.isoformat(), "source": "a", "id": "1"}])
    result = crisiswatch("backtest", "--posts", str(nobrand), "--config", str(config))
    assert result.returncode == 2 and "no brand to watch" in result.stderr


SCATTERED = [  # different complaints, no two about the same matter: grouping keeps them apart
    "Acme charger melted overnight, awful", "Acme app deleted all my photos, useless",
    "Acme courier threw the parcel over the fence, rude", "Acme invoice billed me twice",
    "Acme headphones crackle constantly, garbage", "Acme store clerk laughed at me",
    "Acme warranty form never submits, broken", "Acme tablet battery swelled, scary",
    "Acme website lost my order, hopeless", "Acme printer jams every page, horrible",
    "Acme subscription cannot be cancelled, infuriating", "Acme speaker died after a day",
]


def test_a_scattered_surge_warns_through_the_brand_alarm(tmp_path):
    """Four days with a complaint every six hours, then twelve unrelated complaints in
    three hours: no incident grows, but the brand's negative volume does, and the
    brand alarm warns, naming the incidents the surge is spread over."""
    usual = [rec(6 * 60 * i, "forum-a", f"h{i}", SCATTERED[i % 12].replace("Acme", "Acme's"))
             for i in range(16)]
    surge = [rec(4 * 24 * 60 + 15 * i, "forum-b", f"s{i}", text)
             for i, text in enumerate(SCATTERED)]
    report = run(usual + surge, tmp_path)
    warned = [a for a in report.alerts if a.severity == "warning"]
    assert warned, [a.reasons for a in report.alerts]
    reason = next(r for r in warned[0].reasons if "brand alarm" in r)
    assert "negative mentions of Acme in the last" in reason and "in incidents #" in reason
    assert report.incidents > 3  # the surge was not one grouped incident
    assert all(a.at >= T0 + timedelta(days=4) for a in warned)  # the usual days stay quiet


def test_a_happy_thread_with_one_sour_reply_is_not_a_growing_complaint(tmp_path):
    """A launch thread draws 60 replies in an hour; one reply naming the brand reads
    as negative. Its replies answer a happy opener, so they are not that complaint's
    growth: a notice, no warning. The same replies under a complaint are a warning."""
    happy = "Acme launch today was amazing, love the new phone, great job team"
    sour = "Acme support is useless and rude, worst service ever, terrible"
    kind = ["Congrats Acme, stunning design", "So happy with my Acme order",
            "Acme nailed it, brilliant", "Best Acme launch so far, wonderful"]
    stream = [rec(0, "forum-a", "o1", happy, 0, thread="t1")]
    stream += [rec(2 + i, "forum-a", f"r{i}", kind[i % 4], thread="t1") for i in range(8)]
    stream += [rec(12, "forum-a", "bad", sour, thread="t1")]
    stream += [rec(15 + 15 * i, "forum-a", "o1", replies=15 * (i + 1), thread="t1")
               for i in range(4)]
    report = run(stream, tmp_path / "happy")
    assert [a.severity for a in report.alerts] == ["notice"], [a.reasons for a in report.alerts]
    complaint = [rec(0, "forum-a", "o1", sour, 0, thread="t1")] + stream[-4:]
    angry = run(complaint, tmp_path / "angry")
    assert "warning" in [a.severity for a in angry.alerts] or \
        "crisis" in [a.severity for a in angry.alerts]
