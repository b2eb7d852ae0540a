"""Delivery through apprise. ``notify()`` never raises. Apprise 1.x returns
True, False (a target failed) or None (nothing matched); 2.x returns an
``AppriseResult`` that is truthy only when every target succeeded. Anything
not truthy is "not delivered", and the reason apprise logged is kept for the
outbox row."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import apprise

NOTIFY_TYPE = {"notice": apprise.NotifyType.INFO, "warning": apprise.NotifyType.WARNING,
               "crisis": apprise.NotifyType.FAILURE}


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


def send_apprise(url: str, title: str, body: str, severity: str) -> SendResult:
    """Send one message to one apprise URL; report why it failed, if it did."""
    target = apprise.Apprise()
    if not target.add(url):
        return SendResult(False, "apprise cannot use this channel URL")
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        outcome = target.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT,
                                notify_type=NOTIFY_TYPE.get(severity, apprise.NotifyType.INFO))
    delivered = bool(outcome)  # AppriseResult: SUCCESS only; 1.x: True only
    if hasattr(outcome, "close"):
        outcome.close()
    if delivered:
        return SendResult(True)
    lines = [ln for ln in captured.getvalue().splitlines() if ln.strip()]
    return SendResult(False, (" | ".join(lines[-2:]) or f"apprise returned {outcome}")[:500])
