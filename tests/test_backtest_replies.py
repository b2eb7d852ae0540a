"""The brand alarm counts replies under negative posts, end to end (issue 15): three
complaints about different things within an hour, each drawing four replies, are
no incident's growth (one mention each, under five replies) and were no brand alarm
(three flagged mentions); with the replies counted, they are a surge."""

from __future__ import annotations

from datetime import timedelta

from monitor.config import parse_config
from monitor.scoring.backends import scorer_for
from tests.test_backtest import T0, rec, run

EVERYDAY = ["Acme event this afternoon", "Acme store was busy today", "Picked up an Acme case",
            "Acme keynote is on Tuesday", "Reading about the Acme tablet",
            "Acme phones at the mall"]
USUAL_COMPLAINT = "Acme checkout page is slow again, annoying"
BURST = ["Acme delivery is late again, terrible service, nobody answers the phone.",
         "My Acme blender broke after two days, awful quality, I want my money back.",
         "Acme app keeps crashing and deleting my photos, worst update ever."]
DAY = 24 * 60


def stream(replies: int) -> list[dict]:
    """Four days of an everyday mention an hour and a complaint every twelve hours
    (one reply each), then the three complaints of ``BURST`` within 40 minutes, each
    gaining ``replies`` replies over the next half hour."""
    out = [rec(60 * i + 7, "forum-a", f"u{i}", f"{EVERYDAY[i % 6]} #{i}")
           for i in range(4 * 24)]
    for i in range(8):
        out += [rec(720 * i + 30, "forum-b", f"c{i}", f"{USUAL_COMPLAINT} #{i}", 0),
                rec(720 * i + 60, "forum-b", f"c{i}", replies=1)]
    for j, text in enumerate(BURST):
        at = 4 * DAY + 600 + 20 * j
        out.append(rec(at, "forum-b", f"b{j}", text, 0))
        out += [rec(at + 10 * k, "forum-b", f"b{j}", replies=k * replies // 3)
                for k in range(1, 4)]
    return sorted(out, key=lambda r: r["at"])


def test_the_burst_is_flagged_and_carries_no_strong_cue(tmp_path):
    scorer = scorer_for(parse_config({}, base=tmp_path))
    for text in BURST + [USUAL_COMPLAINT]:
        found = scorer.score(text)
        assert found.risk >= 0.5 and not found.strong, (text, found)


def test_complaints_drawing_replies_alarm_as_a_surge(tmp_path):
    report = run(stream(4), tmp_path)
    warned = [a for a in report.alerts if a.severity in ("warning", "crisis")]
    assert warned, [(a.at, a.reasons) for a in report.alerts]
    reason = warned[0].reasons[0]
    assert "brand alarm" in reason and "replies under them counted 0.5 each" in reason, reason
    assert warned[0].at >= T0 + timedelta(days=4, minutes=600)
    assert set(warned[0].post_ids) & {"b0", "b1", "b2"}


def test_the_same_complaints_without_replies_stay_notices(tmp_path):
    report = run(stream(0), tmp_path)
    assert not [a for a in report.alerts if a.severity in ("warning", "crisis")], \
        [(a.at, a.reasons) for a in report.alerts]


# An opener the scorer rates just under the threshold (0.45 of 0.5: near, ``alarm.NEAR``)
# and one rated far under it (0.25), as a busy or happy thread's opener is.
NEAR_OPENER = "My Acme order still hasn't shipped"
FAR_OPENER = "Acme support has not replied to my ticket in a week"


def near_stream(opener: str) -> list[dict]:
    """The four usual days, then ``opener`` drawing 30 replies within the hour while
    two flagged complaints (no replies) arrive: the matter's volume is the replies
    under an unflagged post (issue 15: real crises often open so)."""
    out = [r for r in stream(0) if not r["id"].startswith("b")]
    at = 4 * DAY + 600
    out += [rec(at, "forum-b", "n0", opener, 0),
            rec(at + 15, "forum-b", "b0", BURST[0], 0), rec(at + 35, "forum-a", "b1", BURST[1], 0)]
    out += [rec(at + 10 * k, "forum-b", "n0", replies=5 * k) for k in range(1, 7)]
    return sorted(out, key=lambda r: r["at"])


def test_the_openers_sit_near_and_far_under_the_threshold(tmp_path):
    scorer = scorer_for(parse_config({}, base=tmp_path))
    assert 0.6 * 0.5 <= scorer.score(NEAR_OPENER).risk < 0.5
    assert scorer.score(FAR_OPENER).risk < 0.6 * 0.5


def test_replies_under_a_near_threshold_opener_alarm(tmp_path):
    report = run(near_stream(NEAR_OPENER), tmp_path)
    warned = [a for a in report.alerts if a.severity in ("warning", "crisis")]
    assert warned, [(a.at, a.reasons) for a in report.alerts]
    assert "brand alarm" in warned[0].reasons[0], warned[0].reasons
    # the post whose replies lead the window is warned on, not a complaint beside it
    assert warned[0].post_ids == ("n0",), (warned[0].post_ids, warned[0].reasons)


def test_the_same_replies_under_a_far_opener_stay_quiet(tmp_path):
    report = run(near_stream(FAR_OPENER), tmp_path)
    assert not [a for a in report.alerts if a.severity in ("warning", "crisis")], \
        [(a.at, a.reasons) for a in report.alerts]
