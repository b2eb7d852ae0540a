"""The stages after fetching, run in flow order: monitor -> detect -> alerts.

Each reads only what the previous one wrote and keeps its own cursor, so
running them again (after a crash, or twice at once) neither loses nor
duplicates anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from alerts.notify import send_apprise
from alerts.outbox import DispatchReport, Sender, dispatch, plan_deliveries
from alerts.playbooks import Playbook, load_playbooks
from monitor.config import Config
from monitor.detect import Rules
from monitor.scorers import scorer_for
from monitor.scoring import Scorer
from monitor.stage_detect import DetectReport, run_detect
from monitor.stage_monitor import MonitorReport, run_monitor


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
                 iceberg_multiplier=merged["iceberg_multiplier"],
                 remind_every=None if remind is None else timedelta(seconds=remind))


@dataclass(frozen=True)
class StagesReport:
    monitor: MonitorReport
    detect: DetectReport
    planned: int
    dispatch: DispatchReport


@dataclass
class Stages:
    engine: Engine
    config: Config
    scorer: Scorer | None = None  # None: the one the config's scoring section names
    playbooks: tuple[Playbook, ...] = field(default_factory=load_playbooks)
    send: Sender = send_apprise

    def __post_init__(self) -> None:
        if self.scorer is None:
            self.scorer = scorer_for(self.config)

    def rules_for(self, brand: str) -> Rules:
        """The detection thresholds of one brand: its overrides over the global ones."""
        return rules_for(self.config, brand)

    def run(self, *, ignore_backoff: bool = False) -> StagesReport:
        d = self.config.detection
        monitor = run_monitor(self.engine, self.scorer, d.risk_threshold)
        detect = run_detect(self.engine, self.rules_for, timedelta(seconds=d.incident_quiet),
                            timedelta(seconds=d.hot_for))
        planned = plan_deliveries(self.engine, self.playbooks)
        sent = dispatch(self.engine, send=self.send, ignore_backoff=ignore_backoff)
        return StagesReport(monitor, detect, planned, sent)
