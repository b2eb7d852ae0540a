"""The incident timeline's layout rules (web/charts.py), without a browser: bucket
size from the span, buckets aligned to the console's zone, gaps that break the
negative-share line, and texts that never overprint (estimated widths; the
browser test in test_browser_charts.py measures the real ones)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from web.charts import (
    FONT,
    LANES,
    NARROW,
    WIDE,
    Chart,
    Event,
    Text,
    bucket_size,
    floor_local,
    lane_of,
    runs,
    text_width,
    timeline,
)

T0 = datetime(2026, 5, 1, 6, 3, tzinfo=UTC)  # 14:03 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("span, expected", [
    (timedelta(seconds=40), "10 s"), (timedelta(minutes=20), "1 min"),
    (timedelta(hours=1), "5 min"), (timedelta(hours=3), "15 min"),
    (timedelta(hours=24), "1 h"), (timedelta(days=3), "3 h"),
    (timedelta(days=14), "1 d"), (timedelta(days=90), "7 d"), (timedelta(days=900), "30 d")])
def test_the_bucket_follows_the_span(span, expected):
    step, name = bucket_size(span)
    assert name == expected
    assert span / step <= 29 or name == "30 d"


def test_buckets_start_on_whole_local_hours_and_days():
    # 06:03 UTC is 14:03 in Shanghai: the hour bucket starts at 14:00 local
    assert floor_local(T0, timedelta(hours=1), SHANGHAI) == datetime(2026, 5, 1, 6, tzinfo=UTC)
    # the day bucket starts at local midnight, 16:00 UTC the day before
    assert floor_local(T0, timedelta(days=1), SHANGHAI) == datetime(2026, 4, 30, 16,
                                                                      tzinfo=UTC)
    # half-hour zones: 06:03 UTC is 11:33 in Kolkata, its hour begins at 05:30 UTC
    kolkata = ZoneInfo("Asia/Kolkata")
    assert floor_local(T0, timedelta(hours=1), kolkata) == datetime(2026, 5, 1, 5, 30,
                                                                      tzinfo=UTC)
    # week buckets begin on Mondays (2026-04-27)
    assert floor_local(T0, timedelta(days=7), UTC) == datetime(2026, 4, 27, tzinfo=UTC)


def test_runs_break_at_gaps():
    assert runs([1, None, 0.5, 0.2, None, None, 0.0]) == [[0], [2, 3], [6]]
    assert runs([None, None]) == []


def test_lanes_never_stack_two_boxes_on_one_row():
    lanes: list[list[tuple[float, float]]] = [[], []]
    assert lane_of((0, 50), lanes) == 0
    assert lane_of((40, 90), lanes) == 1  # overlaps the first: the next lane
    assert lane_of((60, 70), lanes) == 0  # clear of the first by more than GAP
    assert lane_of((52, 58), lanes) is None  # too close to the first, on the second


def test_text_width_counts_chinese_as_full_width():
    assert text_width("发烫") == 2 * FONT
    assert text_width("ab") == pytest.approx(2 * 0.66 * FONT)


def _boxes(chart: Chart) -> list[tuple[float, float, float, Text]]:
    """(left, right, baseline, text) of every text the chart draws."""
    texts = [*chart.texts, *(m.label for m in chart.marks if m.label)]
    out = []
    for t in texts:
        w = text_width(t.text)
        left = {"start": t.x, "middle": t.x - w / 2, "end": t.x - w}[t.anchor]
        out.append((left, left + w, t.y, t))
    return out


def assert_no_overprint(chart: Chart) -> None:
    boxes = _boxes(chart)
    for left, right, _, t in boxes:
        assert 0 <= left and right <= chart.width, f"{t.text!r} leaves the chart"
    for a, b in itertools.combinations(boxes, 2):
        same_row = abs(a[2] - b[2]) < 16  # text boxes are about 16 px tall
        assert not (same_row and a[0] < b[1] and b[0] < a[1]), f"{a[3]} overprints {b[3]}"


def _crowded() -> tuple[list[tuple[datetime, float]], list[Event]]:
    """An hour of mentions with a quiet stretch, and every kind of marker bunched up
    the way they happen: the alerts and the PR team's clicks minutes apart."""
    mentions = [(T0 + timedelta(minutes=m), 0.1 if m % 3 else 0.9)
                for m in (0, 1, 2, 4, 7, 8, 9, 40, 55, 56, 58, 60)]
    events = [Event(T0 + timedelta(minutes=5), "notice"),
              Event(T0 + timedelta(minutes=6), "warning"),
              Event(T0 + timedelta(minutes=7), "crisis"),
              Event(T0 + timedelta(minutes=7), "acknowledged", "by pat"),
              Event(T0 + timedelta(minutes=8), "warning", "alert #9"),
              Event(T0 + timedelta(minutes=60), "resolved")]
    return mentions, events


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_crowded_markers_and_ticks_never_overprint(width):
    mentions, events = _crowded()
    chart = timeline(mentions, events, SHANGHAI, width)
    assert chart is not None and chart.step == "5 min"
    assert_no_overprint(chart)
    assert len(chart.marks) == len(events)  # every marker keeps its shape and tooltip
    labelled = [m for m in chart.marks if m.label]
    assert len(labelled) >= LANES  # the lanes are used, not just the first
    assert {m.kind for m in chart.marks} == {"notice", "warning", "crisis", "acknowledged",
                                            "resolved"}
    shapes = {re.sub(r"-?[\d.]+", "n", m.path) for m in chart.marks}
    assert len(shapes) == 5  # five different shapes, not only colours
    ack = next(m for m in chart.marks if m.kind == "acknowledged")
    assert ack.title == "2026-05-01 14:10 CST (UTC+08:00): acknowledged (by pat)"


def test_a_marker_at_the_right_edge_keeps_its_label_inside():
    mentions, events = _crowded()
    chart = timeline(mentions, events, UTC, NARROW)
    resolved = next(m for m in chart.marks if m.kind == "resolved")
    assert resolved.label is not None and resolved.label.anchor == "end"
    assert resolved.label.x <= resolved.x  # drawn left of its shape
    assert_no_overprint(chart)


def test_empty_buckets_draw_no_bar_and_break_the_line():
    mentions, _ = _crowded()
    chart = timeline(mentions, (), UTC)
    # 13 buckets of 5 min from 06:00 to 07:05: mentions in 06:00-06:15, 06:45, 06:55-07:05
    assert len(chart.bars) == 6
    assert len(chart.lines) == 2  # 06:00-06:10 and 06:55-07:05: two runs, not one line
    assert len(chart.dots) == 1  # 06:40 alone between empty buckets
    xs = [float(p.split(",")[0]) for line in chart.lines for p in line.split()]
    assert chart.dots[0].x not in xs
    assert chart.bars[0].title == "06:00-06:05: 2 mentions, 1 negative"


def test_the_chart_states_its_bucket_and_axes():
    day = [(T0 + timedelta(hours=h), 0.2) for h in range(0, 24, 2)]
    chart = timeline(day, (), SHANGHAI)
    words = [t.text for t in chart.texts]
    assert chart.step == "1 h" and "mentions / 1 h" in words and "100%" in words
    assert ("bar", "mentions per 1 h", "") in chart.legend
    ticks = [t for t in chart.texts if t.y > chart.bottom]
    assert ticks[0].text == "05-01 14:00"  # the span crosses midnight in Shanghai: dated
    assert "12 mentions from 05-01 14:00" in chart.summary
    weeks = timeline([(T0, 0.2), (T0 + timedelta(days=20), 0.9)], (), UTC)
    assert weeks.step == "1 d" and weeks.texts[-1].text.count("-") == 1  # "05-21"


def test_no_mentions_no_chart_and_one_instant_still_draws():
    assert timeline([], [Event(T0, "notice")]) is None
    chart = timeline([(T0, 0.2)], (), UTC)
    assert chart.step == "10 s" and len(chart.bars) == 1 and len(chart.dots) == 1


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_the_chart_speaks_chinese_and_its_labels_still_never_overprint(width):
    mentions, events = _crowded()
    chart = timeline(mentions, events, SHANGHAI, width, "zh")
    assert_no_overprint(chart)
    words = [t.text for t in chart.texts]
    assert chart.step == "5 分钟" and "提及 / 5 分钟" in words and "负面 %" in words
    assert {m.label.text for m in chart.marks if m.label} <= {"提示", "警告", "危机", "已认领",
                                                              "已解决"}
    assert ("bar", "每 5 分钟 提及数", "") in chart.legend
    assert ("crisis", "危机警报") == chart.legend[4][:2]
    ack = next(m for m in chart.marks if m.kind == "acknowledged")
    assert ack.title == "2026-05-01 14:10 CST (UTC+08:00)：已认领（by pat）"
    assert chart.bars[0].title == "14:00-14:05：2 条提及，1 条负面"
    assert chart.summary.startswith("05-01 14:00 至 05-01 15:05 共 12 条提及，按每 5 分钟 计")
    assert chart.summary.endswith("已解决于 05-01 15:03。")
    readable = " ".join([*words, *(w for _, w, _ in chart.legend), chart.summary,
                         *(m.title for m in chart.marks), *(b.title for b in chart.bars)])
    allowed = {"CST", "UTC", "by", "pat", "alert"}  # the notes: the caller words them
    assert not set(re.findall(r"[A-Za-z]{2,}", readable)) - allowed
