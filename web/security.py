"""Response headers every page carries, and the login rate limit.

The Content-Security-Policy allows scripts and styles from this site only (no
inline script, no inline style), so a post that slips markup past escaping still
cannot run; framing is refused (clickjacking on the Acknowledge button)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class SecurityHeaders:
    """Pure ASGI middleware (works with streaming responses): adds HEADERS, and
    ``Cache-Control: no-store`` to everything but static files, since pages and
    exports hold customer complaints that shared caches must not keep."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginLimiter:
    """At most ``max_failures`` failed logins per (name, client address) in ``window``
    seconds; then 429 until the oldest failure ages out. In memory: one process
    serves the console, and a restart forgiving everyone is acceptable."""

    def __init__(self, max_failures: int = 5, window: float = 15 * 60,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures, self.window, self.clock = max_failures, window, clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = self.clock()
        found = self._failures.setdefault(key, deque())
        while found and found[0] <= now - self.window:
            found.popleft()
        return found

    def retry_after(self, name: str, address: str) -> float:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        key = (name.strip().casefold(), address)
        with self._lock:
            found = self._recent(key)
            if len(found) < self.max_failures:
                return 0.0
            return max(found[0] + self.window - self.clock(), 1.0)

    def failed(self, name: str, address: str) -> None:
        key = (name.strip().casefold(), address)
        with self._lock:
            self._recent(key).append(self.clock())

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name.strip().casefold(), address), None)
