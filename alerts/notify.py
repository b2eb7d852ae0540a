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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import apprise

from db.messages import either, said

NOTIFY_TYPE = {"notice": apprise.NotifyType.INFO, "warning": apprise.NotifyType.WARNING,
               "crisis": apprise.NotifyType.FAILURE}
BODY_FORMAT = {"plain": apprise.NotifyFormat.TEXT, "markdown": apprise.NotifyFormat.MARKDOWN,
               "html": apprise.NotifyFormat.HTML}
# why an entry URL of an apprise configuration must not be notified, or None
Screen = Callable[[str], str | None]


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


def _no_match(tags: Sequence[str]) -> str:
    return said("no entry of the apprise configuration has tag %(tags)s",
                tags=either([repr(t) for t in tags]))


def _entries(url: str, tags: Sequence[str], asset: apprise.AppriseAsset
             ) -> tuple[apprise.Apprise | None, str | None]:
    """An Apprise holding the entries of the configuration at ``url`` that ``tags``
    pick, read once: the entries a screen checks are the very ones notified (a
    second read could get other ones). Its ``include``s are not followed."""
    config = apprise.AppriseConfig(asset=asset, recursion=0)
    if not config.add(url):
        return None, said("apprise cannot read this channel's configuration")
    read = getattr(config, "services", None) or config.servers  # 2.x; 1.x
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        found = list(read())
    if not found:
        logged = [ln for ln in captured.getvalue().splitlines() if ln.strip()]
        if logged:
            return None, said("the apprise configuration could not be read or has no "
                              "entries: %(why)s", why=logged[-1][:300])
        return None, said("the apprise configuration could not be read or has no entries")
    target = apprise.Apprise(asset=asset)
    target.add(found)
    if not any(True for _ in target.find(tag=list(tags))):
        return None, _no_match(tags)
    return target, None


def screen_entries(target: apprise.Apprise, tags: Sequence[str], screen: Screen,
                   follow_redirects: bool) -> str | None:
    """Why the entries ``tags`` pick must not be notified (the first refused one,
    its URL redacted), or None: each passes ``screen`` like a channel URL would,
    and follows no redirect unless ``follow_redirects`` (a configuration may turn
    redirects on for an entry, or for all through its ``asset:`` section)."""
    for entry in target.find(tag=list(tags)):
        shown = entry.url(privacy=True)
        if not follow_redirects and getattr(entry, "redirects", False):
            return said("entry %(entry)s of the apprise configuration follows redirects: "
                        "the place a redirect leads to is not checked", entry=shown)
        error = screen(entry.url(privacy=False))
        if error:
            return said("entry %(entry)s of the apprise configuration: %(why)s", entry=shown,
                        why=error)
    return None


def check_config_entries(url: str, tags: Sequence[str], screen: Screen) -> str | None:
    """Why a channel with ``tags`` must not use the configuration at ``url`` (it
    cannot be read, no entry has the tags, or an entry is refused), or None. What
    the console checks when such a channel is saved; delivery checks again."""
    target, error = _entries(url, tags, apprise.AppriseAsset(http_redirects=False))
    if target is None:
        return error
    return screen_entries(target, tags, screen, follow_redirects=False)


def send_apprise(url: str, title: str, body: str, severity: str, fmt: str = "plain",
                 tags: Sequence[str] = (), follow_redirects: bool = True,
                 screen: Screen | None = None) -> SendResult:
    """Send one message to one apprise URL; report why it failed, if it did.

    With ``tags``, ``url`` is an apprise configuration (a YAML or text file, or a
    URL serving one) and only its entries carrying one of the tags are notified:
    a team keeps its on-call targets in one file and each channel picks some.
    With ``screen`` (console-added channels), every entry picked must pass it, or
    nothing is sent.

    ``follow_redirects=False`` (console-added channels) keeps apprise from following
    a 3xx: the host was checked, the place it redirects to was not."""
    if fmt not in BODY_FORMAT:
        return SendResult(False, f"unknown body format {fmt!r}")
    asset = apprise.AppriseAsset(http_redirects=follow_redirects)
    if tags:
        target, error = _entries(url, tags, asset)
        if target is None:
            return SendResult(False, error)
        refused = screen and screen_entries(target, tags, screen, follow_redirects)
        if refused:
            return SendResult(False, said("refused: %(why)s", why=refused))
    else:
        target = apprise.Apprise(asset=asset)
        if not target.add(url):
            return SendResult(False, said("apprise cannot use this channel URL"))
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
        return SendResult(False, _no_match(tags))
    lines = [ln for ln in captured.getvalue().splitlines() if ln.strip()]
    return SendResult(False, (" | ".join(lines[-2:]) or f"apprise returned {outcome}")[:500])
