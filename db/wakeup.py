"""Wake-ups between worker processes through PostgreSQL's LISTEN/NOTIFY.

A crawl worker that stored posts notifies ``STORED`` in the same transaction
(``db.queries.notify``), and a process worker that planned deliveries notifies
``OUTBOX``: the process and dispatch workers start their next pass at once
instead of at their next sweep. A notification is only a hint: it is lost when
no one listens, or while a listener reconnects, so the workers keep a periodic
sweep as the safety net, and their work is claimed by state, never by what a
notification said.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import make_url

log = logging.getLogger("crisiswatch.wakeup")

STORED = "crisiswatch_stored"  # posts or engagement stored: process workers
OUTBOX = "crisiswatch_outbox"  # deliveries planned: dispatch workers
RECONNECT_S = 5.0


def listens(url: str) -> bool:
    """Whether workers on this database can be woken by notifications."""
    return make_url(url).get_backend_name() == "postgresql"


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL (``postgresql+psycopg://``) as psycopg's own connects to it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """A daemon thread LISTENing on ``channels`` on its own connection, setting
    ``wake`` at each notification. It reconnects after a lost connection (the
    sweep covers the gap); ``close`` ends it."""

    def __init__(self, url: str, channels: tuple[str, ...], wake: threading.Event) -> None:
        self.url, self.channels, self.wake = _libpq_url(url), channels, wake
        self.ready = threading.Event()  # set once LISTEN ran (tests wait on it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    for channel in self.channels:
                        conn.execute(f'LISTEN "{channel}"')
                    self.ready.set()
                    while not self._stop.is_set():
                        for _note in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake.set()
            except Exception as exc:  # noqa: BLE001 - the sweep covers until we are back
                self.ready.clear()
                log.warning("listening for wake-ups failed (%s); retrying in %.0f s",
                            exc, RECONNECT_S)
                self._stop.wait(RECONNECT_S)
