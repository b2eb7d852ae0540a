"""The loop behind the ``process`` and ``dispatch`` roles: run one pass, then
sleep until the next sweep, a wake-up, or a stop.

The roles coordinate through the database alone (posts claimed by state, the
outbox claimed with SKIP LOCKED), so a pass that finds nothing is cheap. On
PostgreSQL a notification (db/wakeup.py: a crawl worker stored posts, a process
worker planned deliveries) starts the next pass at once and the sweep is only
the safety net; on SQLite the sweep is the wake-up. A pass that found work runs
again at once so a burst drains without waiting a sweep per batch. A failing
pass is logged and retried at the next sweep: a database restart must not end
the worker."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

log = logging.getLogger("crisiswatch.loop")
SWEEP_S = 1.0  # how often an idle process or dispatch worker looks for work
LISTENING_SWEEP_S = 5.0  # ... when notifications wake it (the net for lost ones)


def repeat(step: Callable[[], bool], stop: threading.Event, *,
           every: float = SWEEP_S, name: str = "pass",
           wake: threading.Event | None = None) -> int:
    """Call ``step`` until ``stop`` is set; ``step`` returns True when it found
    work (run again now), False when idle (wait ``every`` seconds, or until
    ``wake`` is set: cleared before each pass, so a wake-up that arrives during a
    pass runs one more). Returns the number of passes, failed ones included."""
    wake = wake if wake is not None else stop
    passes = 0
    while not stop.is_set():
        passes += 1
        if wake is not stop:
            wake.clear()
        try:
            busy = step()
        except Exception:  # noqa: BLE001 - one bad pass must not end the worker
            log.exception("%s failed; retrying in %.0f s", name, every)
            busy = False
        if not busy:
            wake.wait(every)
    return passes


def stop_on_signals(wake: threading.Event | None = None) -> threading.Event:
    """An event set by SIGINT (Ctrl-C) or SIGTERM (systemd, docker stop): the
    current pass finishes, then the loop ends and the command exits 0. ``wake``
    (the loop's wake-up event) is set too, so an idle loop stops at once."""
    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        log.info("%s: stopping after the current pass", signal.Signals(signum).name)
        stop.set()
        if wake is not None:
            wake.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stop
