"""The stages after fetching, run in flow order: monitor -> detect -> alerts.

Each reads only what the previous one wrote and keeps its own cursor, so
running them again (after a crash, or twice at once) neither loses nor
duplicates anything."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine

from alerts.escalation import escalate
from alerts.notify import SendResult
from alerts.outbox import (
    DispatchReport,
    Message,
    Outbox,
    Sender,
    dispatch,
    plan_deliveries,
    plan_digests,
    send_message,
)
from alerts.playbooks import Playbook
from crawlers.urlcheck import entry_screen, refuse_delivery
from db.engine import session
from db.models import utcnow
from db.queries import notify
from db.wakeup import OUTBOX
from monitor.config import Config, source_lookbacks
from monitor.detection.category import category_labels, playbooks_for
from monitor.detection.severity import Rules
from monitor.scoring.backends import scorer_for
from monitor.scoring.risk import Scorer
from monitor.stages.detect import DetectReport, run_detect
from monitor.stages.observe import timed
from monitor.stages.score import MonitorReport, run_monitor
from monitor.stages.silence import EVERY, SilenceReport, check_silence, rule_of


def rules_for(config: Config, brand: str) -> Rules:
    """``detection`` with the brand's own overrides (``brands[].detection``) applied."""
    merged = config.detection.model_dump()
    for b in config.brands:
        if b.name == brand:
            merged.update(b.detection.model_dump(exclude_none=True))
    remind = merged["remind_every"]
    return Rules(window=timedelta(seconds=merged["window"]),
                 growth_mentions=merged["growth_mentions"],
                 growth_replies=merged["growth_replies"],
                 crisis_sources=merged["crisis_sources"],
                 crisis_forecast=merged["crisis_forecast"], volume_p=merged["volume_p"],
                 soft_alarm=merged["soft_alarm"],
                 risk_threshold=merged["risk_threshold"],
                 iceberg_multiplier=merged["iceberg_multiplier"],
                 remind_every=None if remind is None else timedelta(seconds=remind))


def wake_dispatchers(engine: Engine) -> None:
    """Tell the dispatch workers (db/wakeup.py) that deliveries were queued; on
    SQLite, or with none listening, it does nothing and the sweep finds them."""
    if engine.dialect.name == "postgresql":
        with session(engine) as s, s.begin():
            notify(s, OUTBOX)


def guard_sender(send: Sender, allow: Sequence[str]) -> Sender:
    """``send``, except that a console-added channel whose host now resolves to a
    private address the config does not allow is refused (DNS rebinding after the
    console checked it), and so is one whose apprise configuration (a channel with
    tags) has such an entry; the delivery stays pending and is retried like any failure."""

    def guarded(message: Message) -> SendResult:
        refused = refuse_delivery(message.url, message.console_added, allow)
        if refused:
            return SendResult(False, refused)
        return send(replace(message, screen=entry_screen(message.console_added, allow)))

    return guarded


@dataclass(frozen=True)
class StagesReport:
    monitor: MonitorReport
    detect: DetectReport
    planned: int
    dispatch: DispatchReport
    escalated: int = 0
    digests: int = 0
    silence: SilenceReport = SilenceReport()


@dataclass(frozen=True)
class ProcessReport:
    """What one ``process`` pass did; ``now`` is the clock it planned with."""

    monitor: MonitorReport
    detect: DetectReport
    planned: int
    escalated: int
    digests: int
    silence: SilenceReport
    now: datetime

    @property
    def busy(self) -> bool:
        """True when the pass found work: the loop runs again without waiting."""
        return bool(self.monitor.posts or self.detect.mentions or self.planned
                    or self.escalated or self.digests)


@dataclass
class Stages:
    engine: Engine
    config: Config
    scorer: Scorer | None = None  # None: the one the config's scoring section names
    playbooks: tuple[Playbook, ...] | None = None  # None: built-ins + playbooks_dir
    send: Sender = send_message
    clock: Callable[[], datetime] = field(default=utcnow)  # tests move time themselves

    silence_checked: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.scorer is None:
            self.scorer = scorer_for(self.config)
        if self.playbooks is None:
            self.playbooks = playbooks_for(self.config)
        self.outbox = Outbox(self.playbooks, self.config.templates_dir,
                             self.config.console_url, self.config.alerts.max_attempts,
                             category_labels(), timedelta(seconds=self.config.alerts.lease))

    def rules_for(self, brand: str) -> Rules:
        """The detection thresholds of one brand: its overrides over the global ones."""
        return rules_for(self.config, brand)

    def run(self, *, ignore_backoff: bool = False) -> StagesReport:
        """One pass of every stage, each timed (crisiswatch_stage_seconds): the
        ``all`` role, which is ``process`` then ``dispatch``."""
        done = self.process()
        sent = self.send_pending(ignore_backoff=ignore_backoff, now=done.now)
        return StagesReport(done.monitor, done.detect, done.planned, sent, done.escalated,
                            done.digests, done.silence)

    def process(self) -> ProcessReport:
        """The ``process`` role's pass: score -> detect -> plan deliveries, escalations
        and digests (and the silent-source check); nothing fetched, nothing sent."""
        d = self.config.detection
        with timed("score"):
            monitor = run_monitor(self.engine, self.scorer, d.risk_threshold,
                                  timedelta(seconds=d.lookback), source_lookbacks(self.config))
        with timed("detect"):
            detect = run_detect(self.engine, self.rules_for,
                                timedelta(seconds=d.incident_quiet), timedelta(seconds=d.hot_for))
        now = self.clock()
        with timed("plan"):
            planned = plan_deliveries(self.engine, self.playbooks, now=now)
        with timed("escalate"):
            escalated = escalate(self.engine, now=now)
        with timed("digest"):
            digests = plan_digests(self.engine, now=now)
        silence = self.check_silence(now)
        if planned or escalated or digests or silence.raised or silence.cleared:
            wake_dispatchers(self.engine)
        return ProcessReport(monitor, detect, planned, escalated, digests, silence, now)

    def send_pending(self, *, ignore_backoff: bool = False,
                     now: datetime | None = None) -> DispatchReport:
        """The ``dispatch`` role's pass: send what the outbox holds (claimed with
        SKIP LOCKED, so any number of dispatchers send each delivery once)."""
        with timed("dispatch"):
            return dispatch(self.engine, self.outbox,
                            send=guard_sender(self.send, self.config.console.allow_private),
                            ignore_backoff=ignore_backoff, now=now or self.clock())

    def check_silence(self, now: datetime) -> SilenceReport:
        """Silent sources (monitor/stages/silence.py), at most every ``EVERY``."""
        rule = self.config.alerts.silent_source
        if not rule.enabled or (self.silence_checked and now - self.silence_checked < EVERY):
            return SilenceReport()
        with timed("silence"):
            report = check_silence(self.engine, rule_of(rule), now=now)
        self.silence_checked = now
        return report
