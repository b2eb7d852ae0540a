"""Delivery through apprise. ``notify()`` never raises. Apprise 1.x returns
True, False (a target failed) or None (nothing matched); 2.x returns an
``AppriseResult`` that is truthy only when every target succeeded. Anything
not truthy is "not delivered", and the reason apprise logged is kept for the
outbox row.

The body is sent in the format it was rendered in (``fmt``: plain, markdown or
html), so apprise converts it only for channels that need another format, and
never mistakes our escaped Markdown or HTML for plain text."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import apprise

NOTIFY_TYPE = {"notice": apprise.NotifyType.INFO, "warning": apprise.NotifyType.WARNING,
               "crisis": apprise.NotifyType.FAILURE}
BODY_FORMAT = {"plain": apprise.NotifyFormat.TEXT, "markdown": apprise.NotifyFormat.MARKDOWN,
               "html": apprise.NotifyFormat.HTML}


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


def send_apprise(url: str, title: str, body: str, severity: str, fmt: str = "plain",
                 tags: Sequence[str] = (), follow_redirects: bool = True) -> SendResult:
    """Send one message to one apprise URL; report why it failed, if it did.

    With ``tags``, ``url`` is an apprise configuration (a YAML or text file, or a
    URL serving one) and only its entries carrying one of the tags are notified:
    a team keeps its on-call targets in one file and each channel picks some.

    ``follow_redirects=False`` (console-added channels) keeps apprise from following
    a 3xx: the host was checked, the place it redirects to was not."""
    if fmt not in BODY_FORMAT:
        return SendResult(False, f"unknown body format {fmt!r}")
    asset = apprise.AppriseAsset(http_redirects=follow_redirects)
    target = apprise.Apprise(asset=asset)
    if tags:
        config = apprise.AppriseConfig(asset=asset)
        if not config.add(url) or not target.add(config):
            return SendResult(False, "apprise cannot read this channel's configuration")
    elif not target.add(url):
        return SendResult(False, "apprise cannot use this channel URL")
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        outcome = target.notify(title=title, body=body, body_format=BODY_FORMAT[fmt],
                                notify_type=NOTIFY_TYPE.get(severity, apprise.NotifyType.INFO),
                                **({"tag": list(tags)} if tags else {}))
    delivered = bool(outcome)  # AppriseResult: SUCCESS only; 1.x: True only
    if hasattr(outcome, "close"):
        outcome.close()
    if delivered:
        return SendResult(True)
    nothing_matched = outcome is None or getattr(getattr(outcome, "status", None), "name",
                                                 "") == "NOMATCH"
    if nothing_matched and tags:
        return SendResult(False, f"no entry of the apprise configuration has tag "
                                 f"{' or '.join(map(repr, tags))}")
    lines = [ln for ln in captured.getvalue().splitlines() if ln.strip()]
    return SendResult(False, (" | ".join(lines[-2:]) or f"apprise returned {outcome}")[:500])
