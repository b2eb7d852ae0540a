"""The config's small grammars for time: durations (``90s``, ``5m``, ``1h``, ``2d``),
rates (``10/1h``) and daily spans (``22:00-07:00``). Pure; here so that alerts/
(which may import only db/) and monitor/config.py share one parser of each."""

from __future__ import annotations

import math
import re

from db.messages import said

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
MAX_SECONDS = 10 * 366 * 86400.0  # ten years: beyond any schedule, within datetime's range
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_duration(value: object, *, at_most: float = MAX_SECONDS, shown: str = "3660d"
                   ) -> float:
    """Seconds from ``60``, ``"90s"``, ``"5m"``, ``"1h"`` or ``"2d"``: finite and at
    most ten years, so that no caller's date arithmetic overflows (``.inf``, ``1e11d``),
    or at most ``at_most`` seconds (``shown`` in the message)."""
    if isinstance(value, bool):
        raise ValueError(said("expected seconds or a duration like 5m, 1h"))
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(said("%(value)r is not a duration (use seconds or 30s, 5m, 1h, 1d)",
                                   value=value))
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(said("%(value)r is not a finite duration", value=value))
    if seconds <= 0:
        raise ValueError(said("must be more than 0 seconds"))
    if seconds > at_most:
        raise ValueError(said("%(value)r is too long (at most %(most)s)", value=value, most=shown))
    return seconds


def parse_quiet_hours(value: str) -> tuple[int, int]:
    """``"22:00-07:00"`` -> minutes after midnight (1320, 420); the span may wrap midnight."""
    start, sep, end = str(value).partition("-")
    minutes = []
    for part in (start.strip(), end.strip()):
        match = _CLOCK.match(part) if sep else None
        if not match:
            raise ValueError(said("%(value)r is not a span like 22:00-07:00", value=value))
        minutes.append(int(match.group(1)) * 60 + int(match.group(2)))
    if minutes[0] == minutes[1]:
        raise ValueError(said("%(value)r starts and ends at the same minute", value=value))
    return minutes[0], minutes[1]


def parse_rate(value: object) -> tuple[int, float]:
    """``"10/1h"`` -> (10 messages, 3600 s)."""
    count, sep, period = str(value).partition("/")
    if not sep or not count.strip().isdigit() or int(count) < 1:
        raise ValueError(said("%(value)r is not a rate like 10/1h (messages per period)",
                              value=value))
    return int(count), parse_duration(period)
