"""crawlers/schedule.py: when a source is due, and the backoff after errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.schedule import (
    MAX_BACKOFF_S,
    MAX_RETRY_AFTER_S,
    is_due,
    next_poll,
    next_poll_after,
    retry_after_seconds,
    retry_wait,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _delay(interval: float, errors: int) -> float:
    return (next_poll(NOW, interval, errors) - NOW).total_seconds()


@pytest.mark.parametrize("interval", [30.0, 300.0, 3600.0, 7200.0, 86400.0])
def test_zero_errors_waits_the_interval(interval: float) -> None:
    assert _delay(interval, 0) == interval


def test_negative_errors_treated_as_none() -> None:
    assert _delay(300, -2) == 300


def test_backoff_doubles_per_consecutive_error() -> None:
    assert [_delay(300, n) for n in range(1, 4)] == [600, 1200, 2400]
    assert [_delay(60, n) for n in range(0, 6)] == [60, 120, 240, 480, 960, 1920]


def test_backoff_capped_at_an_hour() -> None:
    assert MAX_BACKOFF_S == 3600
    assert _delay(300, 4) == 3600  # 4800 capped
    assert _delay(300, 5) == 3600
    assert _delay(60, 10) == 3600


def test_backoff_capped_at_interval_when_longer() -> None:
    assert _delay(7200, 1) == 7200
    assert _delay(7200, 6) == 7200
    assert _delay(86400, 3) == 86400


def test_backoff_never_shorter_than_interval_and_monotonic() -> None:
    for interval in (10.0, 300.0, 3599.0, 3600.0, 5000.0):
        delays = [_delay(interval, n) for n in range(0, 40)]
        assert delays == sorted(delays)
        assert all(d >= interval for d in delays)
        assert max(delays) == max(interval, 3600.0)


def test_huge_error_count_does_not_overflow() -> None:
    assert _delay(300, 10_000) == 3600
    assert _delay(0.5, 10**9) == 3600


def test_next_poll_keeps_timezone() -> None:
    at = next_poll(NOW, 300, 2)
    assert at.tzinfo is not None
    assert at == NOW + timedelta(seconds=1200)


def test_is_due() -> None:
    assert is_due(None, NOW)
    assert is_due(NOW, NOW)
    assert is_due(NOW - timedelta(seconds=1), NOW)
    assert not is_due(NOW + timedelta(seconds=1), NOW)


def test_due_after_the_backoff() -> None:
    at = next_poll(NOW, 300, 1)
    assert not is_due(at, NOW + timedelta(seconds=599))
    assert is_due(at, NOW + timedelta(seconds=600))


def test_retry_after_is_capped_at_a_day_with_a_note() -> None:
    assert retry_wait(120) == (120, "server asked to wait 120 s (Retry-After)")
    wait, note = retry_wait(float("9" * 400))  # inf
    assert wait == MAX_RETRY_AFTER_S == 86400
    assert note.endswith("capped at 86400 s")


@pytest.mark.parametrize("value", ["²", "1²", "", "  ", "soon"])
def test_retry_after_ignores_what_is_not_a_delay(value: str) -> None:
    assert retry_after_seconds(value) is None


# -- counted from the poll's start (issue 20: re-polls drifted later by each fetch) --


def _after(started: float | None, fetched: float, interval: float = 300, errors: int = 0
           ) -> float:
    """Seconds after NOW of the next poll, for a poll started and stored at those offsets."""
    claim = None if started is None else NOW + timedelta(seconds=started)
    at = next_poll_after(claim, NOW + timedelta(seconds=fetched), interval, errors)
    return (at - NOW).total_seconds()


def test_next_poll_counts_from_the_start_not_the_store() -> None:
    # went out at 0, downloaded, parsed and committed 20 s later: still due at 300
    assert _after(0, 20) == 300
    assert _after(0, 149.5) == 300


def test_backoff_counts_from_the_start_too() -> None:
    assert _after(0, 20, errors=1) == 600
    assert _after(0, 20, interval=60, errors=2) == 240


def test_never_sooner_than_half_the_interval_after_the_fetch() -> None:
    # a poll that took long (slow site, a worker that fell behind) is not repeated at once
    assert _after(0, 200) == 350
    assert _after(-3600, 0) == 150


def test_without_a_start_or_with_one_after_the_fetch_counts_from_the_fetch() -> None:
    assert _after(None, 20) == 320
    assert _after(30, 20) == 320  # a start after the fetch (clocks apart) is not believed
