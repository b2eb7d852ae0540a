"""A source's health in one word and why: what ``sources list`` and the run
summary show, so a source that half-works never reads as plain "ok"."""

from __future__ import annotations

from datetime import UTC, datetime

from db.messages import said
from db.models import Source, as_utc

STATES = ("ok", "partial", "throttled", "failing", "disabled")


LAGGING_S = 300.0  # a stream further behind than this is "partial"


def stream_lag(src: Source, now: datetime | None = None) -> float | None:
    """Seconds between now and the last stream event processed (kind bluesky);
    None for a source that is not a stream or has read nothing yet. It grows while
    the consumer falls behind, and while the daemon is down."""
    if src.stream_event_at is None:
        return None
    return max(0.0, ((now or datetime.now(UTC)) - as_utc(src.stream_event_at)).total_seconds())


# a stream's states (crawlers/pipelines/stream_store.py) as words the console translates
STREAM_WORDS = {"connected": said("connected"), "reconnecting": said("reconnecting"),
                "stopped": said("stopped"), None: said("not started")}


def stream_status(src: Source, now: datetime | None = None) -> str:
    """``stream connected, lag 1.2 s``: a stream source's connection and lag."""
    lag = stream_lag(src, now)
    state = STREAM_WORDS.get(src.stream_state) or src.stream_state
    if lag is None:
        return said("stream %(state)s", state=state)
    return said("stream %(state)s, lag %(lag)s s", state=state, lag=f"{lag:.1f}")


def source_health(src: Source, now: datetime | None = None) -> tuple[str, str]:
    """(state, reason). ``throttled``: the server said 429, or 503 with a
    ``Retry-After``, or its rate limit (``X-RateLimit-*``) is nearly spent;
    ``failing``: the last fetch failed otherwise; ``partial``: it worked but
    something was off (a malformed feed whose items were stored, bytes replaced,
    GUIDs shared, a stream more than ``LAGGING_S`` behind); ``ok``: nothing to say
    (a stream's reason is its state and lag)."""
    note = src.health_note or ""
    if not src.enabled:
        return "disabled", ""
    if src.last_error and src.last_error.startswith("disabled: "):  # e.g. no credentials
        return "disabled", src.last_error.removeprefix("disabled: ")
    if src.last_error:
        asked_to_wait = src.last_status == 429 or (src.last_status == 503
                                                   and "Retry-After" in note)
        reason = f"{src.last_error}; {note}" if note else src.last_error
        return ("throttled" if asked_to_wait else "failing"), reason
    if "(X-RateLimit)" in note:  # it worked, but the instance's budget is nearly spent
        return "throttled", note
    if note:
        return "partial", note
    if src.stream_state is not None:  # a stream: its lag is its health
        lag = stream_lag(src, now)
        lagging = src.stream_state == "connected" and lag is not None and lag > LAGGING_S
        return ("partial" if lagging else "ok"), stream_status(src, now)
    return "ok", ""
