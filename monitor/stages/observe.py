"""The daemon's /metrics, /healthz and /readyz, and the stages' own metrics.

prometheus-client exposes the metrics: it is the reference client the Prometheus
project maintains, with the text format, histograms and scrape-time collectors
done right, and no dependency of its own. The endpoint is a small WSGI app on a
thread of its own (wsgiref, a thread per request), never on Scrapy's reactor,
so a slow scrape or database cannot stall fetching, and a stalled reactor still
answers /healthz.

- /metrics: the crawl's counters (crawlers/metrics.py), the stages' run times
  and errors (``timed``), and gauges read from the database when scraped
  (monitor/stages/vitals.py) by ``VitalsCollector``;
- /healthz: 200 while the process runs;
- /readyz: 503 with the reason while the role is still starting (models load, the
  spider opens its database), when the database cannot answer or when a stage's
  oldest waiting work is older than ``metrics.ready_lag``, else 200.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from socketserver import ThreadingMixIn
from time import perf_counter
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from db.models import utcnow
from monitor.stages.vitals import Vitals, age, not_ready, read_vitals, stage_lags

STAGE_SECONDS = Histogram("crisiswatch_stage_seconds", "Run time of one pass of a stage "
                          "(score, detect, plan, escalate, digest, dispatch, silence)",
                          ["stage"], buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 120))
STAGE_ERRORS = Counter("crisiswatch_stage_errors", "Stage passes that raised", ["stage"])


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Time one pass of ``stage``; count it as an error if it raises."""
    start = perf_counter()
    try:
        yield
    except Exception:
        STAGE_ERRORS.labels(stage).inc()
        raise
    finally:
        STAGE_SECONDS.labels(stage).observe(perf_counter() - start)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class VitalsCollector:
    """Gauges read from the database at scrape time (one query each)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.clock = engine, clock

    def describe(self) -> list:  # no queries when registered
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            v: Vitals = read_vitals(self.engine)
        except SQLAlchemyError:
            yield _gauge("crisiswatch_database_up", "1 when the database answered", 0)
            return
        now = self.clock()
        yield _gauge("crisiswatch_database_up", "1 when the database answered", 1)
        lag = GaugeMetricFamily("crisiswatch_stage_lag_seconds", "Age of the oldest work a "
                                "stage has still to do (score: unscored posts; detect: "
                                "flagged mentions not in an incident)", labels=["stage"])
        for stage, seconds in stage_lags(v, now).items():
            lag.add_metric([stage], seconds)
        yield lag
        yield _gauge("crisiswatch_deliveries_pending", "Deliveries waiting to be sent",
                     v.deliveries_pending)
        yield _gauge("crisiswatch_oldest_pending_delivery_seconds", "Age of the oldest "
                     "delivery waiting to be sent", age(v.oldest_pending_delivery, now))
        yield _gauge("crisiswatch_dead_letters", "Deliveries that used up their attempts",
                     v.dead_letters)
        sources = GaugeMetricFamily("crisiswatch_sources", "Sources by kind and state",
                                    labels=["kind", "state"])
        for (kind, state), n in sorted(v.sources.items()):
            sources.add_metric([kind, state], n)
        yield sources


def readiness(engine: Engine, max_lag: timedelta, now: datetime | None = None
              ) -> str | None:
    """Why the process is not ready, or None."""
    try:
        v = read_vitals(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
        return f"database unreachable: {reason[0] if reason else type(exc).__name__}"
    return not_ready(v, now or utcnow(), max_lag)


STARTING = "starting: the role has not begun its work yet"


def endpoint_app(engine: Engine, max_lag: timedelta, started: threading.Event,
                 registry: CollectorRegistry = REGISTRY):
    """The WSGI app: /metrics, /healthz, /readyz; 404 elsewhere. /readyz is 503 until
    ``started`` is set: the endpoint comes up before the models load and the crawl
    opens, and an orchestrator must not count a process that may still fail to start."""
    metrics = make_wsgi_app(registry)

    def app(environ, start_response):  # noqa: ANN001, ANN202
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            status, text = "200 OK", "ok"
        elif path == "/readyz":
            reason = readiness(engine, max_lag) if started.is_set() else STARTING
            status, text = ("503 Service Unavailable", reason) if reason else ("200 OK", "ready")
        else:
            status, text = "404 Not Found", "not found: /metrics, /healthz or /readyz"
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [f"{text}\n".encode()]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_args: object) -> None:  # scrapes every 15 s are not news
        pass


@dataclass
class Endpoint:
    server: WSGIServer
    thread: threading.Thread
    collector: VitalsCollector
    started: threading.Event

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        REGISTRY.unregister(self.collector)


def serve_endpoint(engine: Engine, host: str, port: int, max_lag: timedelta) -> Endpoint:
    """Start serving on ``host:port`` (0: a free port) in a daemon thread; /readyz
    stays 503 until the caller sets ``Endpoint.started``."""
    collector, started = VitalsCollector(engine), threading.Event()
    server = make_server(host, port, endpoint_app(engine, max_lag, started),
                         server_class=_Server, handler_class=_Quiet)
    REGISTRY.register(collector)
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return Endpoint(server, thread, collector, started)
