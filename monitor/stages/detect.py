"""Detect stage runner: flagged Mentions and engagement snapshots -> Incidents,
and one Alert row each time an incident's severity rises (or a growing crisis
is due a reminder).

Grouping (``monitor/detection/grouping.py``, with ``simhash.py`` and ``terms.py``)
and judging (``monitor/detection/severity.py``) are pure; this module fetches their
inputs and writes their outputs. ``now`` is a parameter so
``crisiswatch backtest`` can replay history through exactly this code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, func, select

from alerts.render import REOPENED
from db.engine import session
from db.models import (
    Alert,
    Brand,
    Incident,
    IncidentChange,
    Mention,
    Post,
    Source,
    utcnow,
)
from db.queries import lock_stage
from monitor.detection.alarm import NEAR, brand_alarm, reply_weights
from monitor.detection.grouping import (
    IncidentKey,
    Match,
    MentionKey,
    match_incident,
    merge_key,
)
from monitor.detection.merging import also_matches, plan_merge
from monitor.detection.severity import (
    Assessment,
    Evidence,
    Rules,
    assess,
    gather,
    reminder_due,
    rises,
)
from monitor.detection.soft_alarm import soft_alarm
from monitor.detection.terms import TermBackground
from monitor.stages.background import Backgrounds, background_for
from monitor.stages.brand_passes import (
    affected_by_snapshots,
    each_brand,
    mark_hot,
    mark_read,
    pending,
    replied_brands,
    snapshot_passes,
    write_hot,
)
from monitor.stages.copies import attach_copy
from monitor.stages.member_memo import last_changes
from monitor.stages.merge import absorb, hold_loaded, loaded, mention_key, store_key
from monitor.stages.pass_cache import (
    CATEGORY_TEXTS,
    Member,
    PassCache,
    pass_cache,
    prefetch,
    unchanged,
    write_checked,
)
from monitor.stages.readings import (
    BASELINE_DAYS,
    alarm_weights,
    mention_risks,
    near_weights,
    post_series,
    prime_series,
    reply_gains,
    series_of,
    volume,
)
from monitor.stages.surge import flagged_target, surge_target

log = logging.getLogger("crisiswatch.detect")

BATCH = 500
MAX_ALERT_POSTS = 5
RulesFor = Callable[[str], Rules]


@dataclass(frozen=True)
class DetectReport:
    mentions: int = 0
    alerts: int = 0


# ------------------------------------------------------------------ grouping


def _attach(s: Session, m: Mention, post: Post, quiet: timedelta,
            backgrounds: Backgrounds, now: datetime) -> Incident:
    """Put a flagged mention in the open incident about the same matter, or a new one.
    ``backgrounds`` caches each brand's term background per hour for this pass."""
    brand, source = unchanged(s, Brand, m.brand_id), unchanged(s, Source, post.source_id)
    cache = pass_cache(s)
    key = mention_key(m, post, source, brand)
    found = cache.candidates(s, m.brand_id, key.at - quiet)
    background = background_for(s, brand, key.at, backgrounds) if found else None
    match = match_incident(key, [cache.key(i) for i in found], window=quiet,
                           background=background)
    if match is None:
        inc = Incident(brand_id=m.brand_id, opened_at=key.at, last_seen_at=key.at,
                       title=(post.title or post.text).strip()[:120])
        s.add(inc)
        s.flush()
        cache.seen(inc)
        cache.opened(inc.id, tuple(brand.keywords))
        merged, m.grouped_by = IncidentKey.from_mention(inc.id, key), "new incident"
    else:
        inc, m.grouped_by = s.get(Incident, match.incident_id), match.reason
        at = max(now, post.fetched_at)
        if inc.resolved_at is not None:
            _reopen(s, inc, at)
        else:
            inc = _bridge(s, key, match, found, background, quiet, at) or inc
        if inc.id != match.incident_id:
            m.grouped_by += f"; its incident #{match.incident_id} merged into #{inc.id}"
        merged = merge_key(cache.key(inc), key)
    store_key(inc, merged)
    m.incident_id, m.fingerprint, m.terms = inc.id, key.fingerprint, list(key.terms)
    s.add_all([inc, m])
    cache.joined(inc.id, m, post, source, tuple(brand.keywords))
    return inc


def _bridge(s: Session, key: MentionKey, match: Match, candidates: list[Incident],
            background: TermBackground | None, quiet: timedelta, now: datetime
            ) -> Incident | None:
    """When the mention also matches other open incidents (fragments of its matter),
    merge them (``merge.py``); returns the surviving incident, or None."""
    cache = pass_cache(s)
    open_keys = [cache.key(i) for i in candidates if i.resolved_at is None]
    others = also_matches(key, open_keys, match, window=quiet, background=background)
    plan = plan_merge(match, others)
    if plan is None:
        return None
    cache.forget(plan.survivor, *plan.absorbed)
    return absorb(s, plan, now)


def _reopen(s: Session, inc: Incident, now: datetime) -> None:
    """A new mention of a resolved matter: the matter is live again. The incident
    opens, its acknowledgement is cleared, and its severity starts over, so the next
    assessment alerts at whatever level the matter has now ("reopened after resolve"),
    instead of rising silently past a level it reached before."""
    s.add(IncidentChange(incident_id=inc.id, at=now, severity=inc.severity or "notice",
                         kind="reopened",
                         reasons=[f"reopened after resolve ({inc.resolved_at:%Y-%m-%d %H:%M} "
                                  "UTC): a new mention joined"]))
    pass_cache(s).changed(inc.id)
    inc.resolved_at = inc.acknowledged_at = inc.reminded_at = None
    inc.severity = None


# ------------------------------------------------------------------ signals


def _summary(assessment: Assessment, signals) -> dict:  # noqa: ANN001
    """The latest readings, kept on the incident for listings."""
    top = signals.forecast
    return {"growing": assessment.growing, "recent_mentions": signals.recent_mentions,
            "sources": list(signals.spread.order), "iceberg": signals.iceberg,
            "forecast": None if top is None else {
                "label": top.label, "observed": top.forecast.observed,
                "expected": round(top.forecast.expected, 1), "low": round(top.forecast.low, 1),
                "high": round(top.forecast.high, 1)},
            "volume": None if signals.volume is None else {
                "observed": signals.volume.observed,
                "expected": round(signals.volume.expected, 2),
                "p": signals.volume.p_value},
            "reasons": list(assessment.reasons)}


# ------------------------------------------------------------------ judging


def _categorise(cache: PassCache, inc: Incident, members: list[Member]) -> None:
    guess = cache.category(inc.id, members)
    inc.category, inc.category_confidence = guess.key, round(guess.confidence, 3)
    cues = sorted({c for x in members[:CATEGORY_TEXTS] for c in x.mention.cues})
    if cues != inc.cues:
        inc.cues = cues


def _alert(s: Session, inc: Incident, result: Assessment, evidence: list[Evidence],
           now: datetime, kind: str) -> Alert:
    brand = unchanged(s, Brand, inc.brand_id)
    newest = sorted(evidence, key=lambda e: e.at, reverse=True)
    post_ids = list(dict.fromkeys(e.post_id for e in newest))[:MAX_ALERT_POSTS]
    key = f"{brand.name.casefold()}:{inc.id}:{result.severity}"
    reopens = s.exec(select(func.count()).select_from(IncidentChange).where(
        IncidentChange.incident_id == inc.id, IncidentChange.kind == "reopened")).one()
    if reopens:  # a level reached before the resolve is a new alert now
        key += f":reopen{reopens}"
        if _reopened_just_now(s, inc):
            result = Assessment(result.severity, (REOPENED, *result.reasons),
                                result.growing)
    if kind == "reminder":
        done = s.exec(select(func.count()).select_from(IncidentChange).where(
            IncidentChange.incident_id == inc.id, IncidentChange.kind == "reminder")).one()
        key += f":reminder{done + 1}"
    s.add(IncidentChange(incident_id=inc.id, at=now, severity=result.severity, kind=kind,
                         reasons=list(result.reasons)))
    pass_cache(s).changed(inc.id)
    alert = Alert(incident_id=inc.id, brand_id=inc.brand_id, severity=result.severity,
                  dedup_key=key, reasons=list(result.reasons), post_ids=post_ids,
                  created_at=now)
    s.add(alert)
    log.info("incident %s of %s: %s alert %s", inc.id, brand.name, result.severity, key,
             extra={"alert": key, "brand": brand.name, "incident": inc.id})
    return alert


def _reopened_just_now(s: Session, inc: Incident) -> bool:
    """Whether the incident's last change is its reopening (this is its first alert since)."""
    last = s.exec(select(IncidentChange.kind).where(IncidentChange.incident_id == inc.id,
                                                    IncidentChange.kind != "merged")
                  .order_by(IncidentChange.id.desc()).limit(1)).first()
    return last == "reopened"


def _reassess(s: Session, inc: Incident, rules: Rules, now: datetime) -> Alert | None:
    cache = pass_cache(s)
    members = cache.members_of(s, inc, tuple(unchanged(s, Brand, inc.brand_id).keywords))
    evidence = [x.evidence for x in members]
    series = series_of(s, [e.post_id for e in evidence], inc.brand_id, cache.series)
    signals = gather(evidence, series, cache.volume(
        inc.brand_id, now, rules.window, lambda: volume(s, inc.brand_id, now, rules.window)),
        now, rules)
    result = assess(evidence, signals, rules)
    inc.mention_count = len(evidence)
    source_ids = sorted({x.source.id for x in members})
    if source_ids != inc.source_ids:
        inc.source_ids = source_ids
    inc.signals, inc.assessed_at = _summary(result, signals), now
    if result.growing:  # growth keeps an incident open, up to its newest reading
        inc.last_seen_at = max(inc.last_seen_at, _newest_reading(evidence, series, now))
    cache.seen(inc)
    _categorise(cache, inc, members)
    s.add(inc)
    if rises(inc.severity, result.severity):
        inc.severity = result.severity
        return _alert(s, inc, result, evidence, now, "rise")
    last = inc.reminded_at or cache.last_changed(s, inc.id, lambda: _last_change(s, inc))
    if reminder_due(inc.severity, result.growing, inc.acknowledged_at is not None, last, now,
                    rules):
        inc.reminded_at = now
        return _alert(s, inc, Assessment(inc.severity, result.reasons, True), evidence, now,
                      "reminder")
    return None


def _newest_reading(evidence: list[Evidence], series: list, now: datetime) -> datetime:
    """When the incident's data last moved (a post, a reply count) up to ``now``: not
    the clock, so an incident stays open as long whenever its posts are grouped."""
    times = [e.at for e in evidence] + [at for x in series for at, _ in x.points]
    return max((t for t in times if t <= now), default=now)


def _brand_alarm(s: Session, brand_id: int, rules: Rules, now: datetime,
                 flagged: bool) -> Alert | None:
    """The brand alarms: when the brand's negative volume over 1 h, 6 h or 24 h is far
    above its usual level, warn. First the flagged-mention alarm (``detection/alarm.py``,
    when ``flagged`` mentions arrived; each counted as ``readings.alarm_weights`` says):
    the incident holding most of that window's counted flagged mentions is raised.
    Else, when ``detection.soft_alarm`` is on (off by default: on real posts it warned
    every crisis but doubled false warnings), the soft alarm (``detection/soft_alarm.py``,
    every mention weighted by its risk): its risky mentions that no incident holds
    become a surge incident (``stages/surge.py``). The alert names every incident the
    surge is spread over: grouping may have split the matter; this does not care.
    Replies count under flagged posts and under unflagged ones that came near the
    risk threshold (``readings.near_weights``, ``alarm.near_weight``)."""
    brand = unchanged(s, Brand, brand_id)
    name, alarm = brand.name, None
    if flagged:
        counted = alarm_weights(s, brand_id, now, tuple(brand.keywords))
        near = near_weights(s, brand_id, now, rules.risk_threshold, tuple(brand.keywords))
        replies = reply_weights({**near, **counted},
                                reply_gains(s, sorted({*counted, *near}), now))
        alarm = brand_alarm([at for at, _ in counted.values()], now,
                            history_days=BASELINE_DAYS, p=rules.volume_p,
                            weights=[w for _, w in counted.values()],
                            replies=[(at, w) for _, at, w in replies])
    if alarm is not None and alarm.fired is not None:
        found = flagged_target(s, brand_id, alarm.fired.hours, now,
                               {pid: w for pid, (_, w) in counted.items()}, replies)
    elif rules.soft_alarm:
        alarm = soft_alarm(mention_risks(s, brand_id, now), now, history_days=BASELINE_DAYS,
                           p=rules.volume_p)
        if alarm.fired is None:
            return None
        found = surge_target(s, brand_id, alarm.fired.hours, alarm.mean_risk, now)
    else:
        return None
    if found is None:
        return None
    inc, counts, evidence = found
    if not rises(inc.severity, "warning"):
        return None
    spread = ", ".join(f"#{i} ({n:g})" for i, n in counts.most_common(5))
    inc.severity = "warning"
    s.add(inc)
    reasons = (f"{alarm.reason(name)}; in incidents {spread}",)
    return _alert(s, inc, Assessment("warning", reasons, True), evidence, now, "rise")


def _last_change(s: Session, inc: Incident) -> datetime | None:
    """When the incident last alerted (or reopened): a merge is not an alert."""
    return last_changes(s, [inc.id]).get(inc.id)


def _brand_rules(s: Session, rules_for: RulesFor, brand_id: int) -> Rules:
    """The brand's thresholds, worked out once a pass."""
    held = pass_cache(s).rules
    if brand_id not in held:
        held[brand_id] = rules_for(unchanged(s, Brand, brand_id).name)
    return held[brand_id]


def run_detect(engine: Engine, rules: Rules | RulesFor, quiet: timedelta,
               hot_for: timedelta = timedelta(hours=6), now: datetime | None = None
               ) -> DetectReport:
    """Attach flagged mentions not yet in an incident, and re-assess what changed.

    Mentions are picked by state (flagged, no incident), not by an id cursor, so a
    mention that ``rescore`` flags later is detected exactly once too. ``rules``
    may be a function of the brand name (per-brand thresholds). On PostgreSQL each
    brand is a pass of its own under that brand's advisory lock (``brand_passes``):
    several process workers decide different brands at once, and one brand's
    incidents one worker at a time; SQLite runs one pass over every brand."""
    rules_for = rules if callable(rules) else (lambda _name: rules)
    if engine.dialect.name == "postgresql":
        return _by_brand(engine, rules_for, quiet, hot_for, now)
    total = DetectReport()
    while True:
        at = now or utcnow()
        with session(engine) as s, s.begin():
            lock_stage(s, "detect")  # SQLite serializes writers: a no-op kept for clarity
            hold_loaded(s)
            rows = pending(s, BATCH)
            touched, snaps = affected_by_snapshots(s, BATCH)
            replied = replied_brands(s, snaps, _near_floor(rules_for))
            grouped, alerts = detect_rows(s, rows, touched, rules_for, quiet, hot_for, at)
            alerts += _reassess_touched(s, touched, rules_for, at, replied)
            mark_read(s, snaps)
        total = DetectReport(total.mentions + grouped, total.alerts + alerts)
        if len(rows) < BATCH and not touched:
            return total


def _by_brand(engine: Engine, rules_for: RulesFor, quiet: timedelta, hot_for: timedelta,
              now: datetime | None) -> DetectReport:
    """PostgreSQL: each brand's pending mentions, then the reply-count snapshots
    (``brand_passes.each_brand`` and ``snapshot_passes`` hold the locks)."""
    def brand(s: Session, brand_id: int) -> tuple[int, int, int]:
        hold_loaded(s)
        rows = pending(s, BATCH, brand_id)
        return len(rows), *detect_rows(s, rows, set(), rules_for, quiet, hot_for,
                                       now or utcnow())

    grouped, alerts = each_brand(engine, brand, BATCH)
    alerts += snapshot_passes(engine, lambda s, touched, replied: _reassess_touched(
        s, touched, rules_for, now or utcnow(), replied), BATCH, _near_floor(rules_for))
    return DetectReport(grouped, alerts)


def _near_floor(rules_for: RulesFor) -> float:
    """The risk from which a post's replies count in the brand alarm (``alarm.NEAR``
    of ``detection.risk_threshold``, which no brand overrides)."""
    return NEAR * rules_for("").risk_threshold


def _reassess_touched(s: Session, touched: set[int], rules_for: RulesFor, at: datetime,
                      replied: set[int] = frozenset()) -> int:
    """Reassess incidents whose reply counts moved, then their brands' alarms and
    those of ``replied`` (brands whose near-threshold posts drew replies: replies
    count there, ``alarm.reply_weights``); how many alerts that raised."""
    alerts, brands, cache = 0, set(replied), pass_cache(s)
    incidents = dict(zip(sorted(touched), loaded(s, Incident, sorted(touched)), strict=True))
    prefetch(s, Brand, {inc.brand_id for inc in incidents.values()})
    cache.prime(s, sorted(touched))
    live = [inc for inc in incidents.values() if inc.merged_into is None]
    for inc in live:  # members first, then every member post's reply series at once
        cache.members_of(s, inc, tuple(unchanged(s, Brand, inc.brand_id).keywords))
    with s.no_autoflush:
        post_series(s, [x.post.id for inc in live for x in cache.members[inc.id]], cache.series)
    for inc in incidents.values():
        if inc.merged_into is not None:  # its survivor holds its mentions now
            continue
        brands.add(inc.brand_id)
        alerts += _reassess(s, inc, _brand_rules(s, rules_for, inc.brand_id), at) is not None
    for brand_id in sorted(brands):
        alerts += _brand_alarm(s, brand_id, _brand_rules(s, rules_for, brand_id), at,
                               True) is not None
    return alerts


def detect_rows(s: Session, rows: list[tuple[Mention, Post]], touched: set[int],
                rules_for: RulesFor, quiet: timedelta, hot_for: timedelta, at: datetime
                ) -> tuple[int, int]:
    """Group ``rows`` into incidents, reassess each incident they joined (dropping it
    from ``touched``) and run the alarms of their brands: (grouped, alerts)."""
    alerts, grouped, backgrounds = 0, 0, {}
    hot: dict[int, datetime] = {}
    cache = pass_cache(s)
    prefetch(s, Brand, {m.brand_id for m, _ in rows})
    prefetch(s, Source, {p.source_id for _, p in rows})
    prime_series(s, [p for _, p in rows], cache.series)
    for m, post in rows:
        if m.flagged:
            inc = _attach(s, m, post, quiet, backgrounds, at)
            mark_hot(hot, post, hot_for)
        else:
            inc = attach_copy(s, m, post, quiet)
            if inc is None:
                continue
        grouped += 1
        brand_rules = _brand_rules(s, rules_for, inc.brand_id)
        alerts += _reassess(s, inc, brand_rules, max(at, post.fetched_at)) is not None
        set_committed_value(m, "severity", inc.severity)  # written by write_checked
        cache.severities[m.id] = inc.severity
        touched.discard(inc.id)
    write_checked(s)
    for brand_id in sorted({m.brand_id for m, _ in rows}):
        mine = [(m, p) for m, p in rows if m.brand_id == brand_id]
        latest = max([at, *(p.fetched_at for _, p in mine)])
        alerts += _brand_alarm(s, brand_id, _brand_rules(s, rules_for, brand_id),
                               latest, any(m.flagged for m, _ in mine)) is not None
    write_hot(s, hot)
    return grouped, alerts
