"""A source's health in one word and why: what ``sources list`` and the run
summary show, so a source that half-works never reads as plain "ok"."""

from __future__ import annotations

from db.models import Source

STATES = ("ok", "partial", "throttled", "failing", "disabled")


def source_health(src: Source) -> tuple[str, str]:
    """(state, reason). ``throttled``: the server said 429, or 503 with a
    ``Retry-After``, or its rate limit (``X-RateLimit-*``) is nearly spent;
    ``failing``: the last fetch failed otherwise; ``partial``: it worked but
    something was off (a malformed feed whose items were stored, bytes replaced,
    GUIDs shared); ``ok``: nothing to say."""
    note = src.health_note or ""
    if not src.enabled:
        return "disabled", ""
    if src.last_error:
        asked_to_wait = src.last_status == 429 or (src.last_status == 503
                                                   and "Retry-After" in note)
        reason = f"{src.last_error}; {note}" if note else src.last_error
        return ("throttled" if asked_to_wait else "failing"), reason
    if "(X-RateLimit)" in note:  # it worked, but the instance's budget is nearly spent
        return "throttled", note
    if note:
        return "partial", note
    return "ok", ""
