"""Detection on realistic streams of REAL posts (``bench/realstreams.py``): our
detector (the daemon's stages replayed by ``monitor.lab.backtest``, as in
``bench/detection.py``) against two peers' rules, side by side in one run:

- mean+3sigma: mean + 3 sigma over the trailing 24 hourly counts of all the brand's
  activity (posts + new replies; ``bench.detection.baseline``);
- mean+3sigma flagged: the same rule over the hourly count of FLAGGED mentions (the
  daemon's own risk threshold, read from the replay database), so the baseline gets
  our scoring and only the volume rule differs.

Per crisis: warned, warned before 25% of its observed peak, lead before 50%; false
warnings per brand-week per language; and for each happy viral thread whether a
detector warned on it (ours: a warning on an incident holding any of its posts; a
baseline: a flag between its start and the later of its last event and 12 h after
its peak). The report explains ours' misses and false warnings from the replay:
how many crisis posts were flagged and how many incidents they were split into, and
what the falsely warned incidents held, with the alerts' reasons.

Run: ``python -m bench.detection_real [--seeds N] [--jobs J]``; writes
bench/results/detection_real.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from bench.detection import (
    AFTER_PEAK,
    WARNING_UP,
    Marked,
    Outcome,
    StreamResult,
    _incident_posts,
    baseline,
    false_table,
    judge_flags,
    observed_marks,
    ours,
    outcome_table,
    seen_by,
    sigma_flags,
)
from bench.realstreams import HappyThread, RealStream, real_stream
from bench.simulate import activity
from db.engine import make_engine
from db.models import Mention, Post
from monitor.config import BrandConfig, Config, DetectionConfig
from monitor.lab.backtest import ReplayAlert, ReplayReport, parse_record, replay
from monitor.scoring.backends import scorer_for

OUT = Path(__file__).resolve().parent / "results" / "detection_real.md"

FLAGGED = "mean+3sigma flagged"
DETECTORS = ("ours", "mean+3sigma", FLAGGED)
DAYS = 14
TARGET_WARNED, TARGET_EARLY = 0.95, 0.80
# what a falsely warned incident is, by the most telling post it holds
KIND_ORDER = ("happy", "news", "busy thread", "complaint", "chatter")
MAX_NOTES = 80


@dataclass(frozen=True)
class HappyOutcome:
    stream: str
    thread: HappyThread
    first: dict[str, datetime | None]  # detector -> its first warning on the thread
    why: str  # ours: the growth reasons of that warning


@dataclass(frozen=True)
class RealResult:
    result: StreamResult
    happy: list[HappyOutcome]
    crisis_notes: list[str]
    false_notes: list[str]
    false_kinds: Counter[str]  # ours' false warnings by what the incident held
    posts: Counter[str]  # posts by kind
    flagged: Counter[str]  # ... of them with a flagged mention
    line: str  # records, alerts, time


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def _floor_hour(t: datetime) -> datetime:
    ts = _aware(t).timestamp()
    return datetime.fromtimestamp(ts // 3600 * 3600, UTC)


def flagged_posts(db: Path) -> dict[str, datetime]:
    """Stream id -> crawl time of every post with a flagged mention."""
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        rows = s.exec(select(Post.entry_key, Post.fetched_at)
                      .join(Mention, Mention.post_id == Post.id)
                      .where(Mention.flagged == True)).all()  # noqa: E712
    engine.dispose()
    return {key: _aware(at) for key, at in rows}


def flagged_baseline(flagged: dict[str, datetime], records: list[dict], crises: list[Marked],
                     name: str) -> tuple[list[Outcome], int, list[datetime]]:
    """Mean + 3 sigma over the trailing 24 hourly counts of flagged mentions, the
    hours spanning the whole stream (quiet hours count 0)."""
    bins = Counter(_floor_hour(t) for t in flagged.values())
    span = (_floor_hour(datetime.fromisoformat(records[0]["at"])),
            _floor_hour(datetime.fromisoformat(records[-1]["at"])))
    flags = sigma_flags(dict(bins), span) if bins else []
    outcomes, false = judge_flags(flags, crises, name, FLAGGED)
    return outcomes, false, flags


def _growth(alert: ReplayAlert) -> str:
    """An alert's reasons past its first ("risky mention ...") and the iceberg line."""
    kept = [r for r in alert.reasons[1:] if "complaints seen" not in r]
    return "; ".join(kept) or "; ".join(alert.reasons)


def _kind(posts: set[str], kinds: dict[str, str]) -> str:
    held = {kinds.get(p, "?").removesuffix(" reply").removesuffix(" repost") for p in posts}
    return next((k for k in KIND_ORDER if k in held), "?")


def _happy(name: str, stream: RealStream, report: ReplayReport,
           members: dict[int, set[str]], flags: dict[str, list[datetime]]) -> list[HappyOutcome]:
    out = []
    for h in stream.happy:
        ids = set(h.post_ids)
        mine = [a for a in report.alerts if a.severity in WARNING_UP
                and members.get(a.incident_id, set()) & ids]
        first = {"ours": min((a.at for a in mine), default=None)}
        end = max(h.end, h.peak + AFTER_PEAK)
        for detector, times in flags.items():
            first[detector] = min((t for t in times if h.start < t <= end), default=None)
        why = _growth(min(mine, key=lambda a: a.at)) if mine else ""
        out.append(HappyOutcome(name, h, first, why))
    return out


def _peers(c: Marked, others: dict[str, list[Outcome]], i: int) -> str:
    """When the crisis reached 25% and 50% of its peak, and when each baseline warned."""
    said = "; ".join(f"{d} {_rel(o[i].warned_at, c.t25)}" for d, o in others.items())
    return f"25% at {c.t25:%m-%d %H:%M}, 50% at {c.t50:%m-%d %H:%M}; {said}"


def _rel(t: datetime | None, mark: datetime) -> str:
    return "never" if t is None else f"{(t - mark) / timedelta(minutes=1):+.0f} min"


def _crisis_notes(name: str, stream: RealStream, crises: list[Marked], outcomes: list[Outcome],
                  report: ReplayReport, members: dict[int, set[str]],
                  flagged: dict[str, datetime], others: dict[str, list[Outcome]]
                  ) -> list[str]:
    """Per crisis: its posts, how many were flagged, how many incidents held them,
    when it reached 25% and 50% of its peak, when each baseline warned (from the 25%
    mark), and when and why ours first warned."""
    notes = []
    for i, (c, o) in enumerate(zip(crises, outcomes, strict=True)):
        posts = set(c.post_ids)
        held = {inc: len(keys & posts) for inc, keys in members.items() if keys & posts}
        warned = [a for a in report.alerts if a.severity in WARNING_UP and a.at >= c.start
                  and members.get(a.incident_id, set()) & posts]
        if warned:
            a = min(warned, key=lambda a: a.at)
            when = (f"warned {(a.at - c.t25) / timedelta(minutes=1):+.0f} min from the 25% mark "
                    f"({a.severity}, incident #{a.incident_id}, {held[a.incident_id]} of its "
                    f"posts): {_growth(a)}")
        else:
            when = "never warned"
        opener = "flagged" if c.post_ids[0] in flagged else "NOT flagged"
        notes.append(f"- {name}, {c.shape} ({c.topic}): {len(posts)} posts (first {opener}), "
                     f"{len(posts & flagged.keys())} flagged, in {len(held)} incident(s) "
                     f"(largest {max(held.values(), default=0)}); {o.seen_at_25} event(s) seen "
                     f"by the 25% mark; {_peers(c, others, i)}; ours {when}")
    return notes


def _false(name: str, stream: RealStream, report: ReplayReport, members: dict[int, set[str]],
           crises: list[Marked]) -> tuple[list[str], Counter[str]]:
    """Ours' warnings on incidents holding no crisis post, by incident."""
    every = {p for c in crises for p in c.post_ids}
    by_incident: dict[int, list[ReplayAlert]] = {}
    for a in report.alerts:
        if a.severity in WARNING_UP and not members.get(a.incident_id, set()) & every:
            by_incident.setdefault(a.incident_id, []).append(a)
    notes, kinds = [], Counter()
    texts = {r["id"]: r["text"] for r in stream.records if r.get("text")}
    for inc, alerts in by_incident.items():
        posts = members.get(inc, set())
        kind = _kind(posts, stream.kinds)
        kinds[kind] += len(alerts)
        held = Counter(stream.kinds.get(p, "?") for p in posts)
        steps = " -> ".join(f"{a.severity} {a.at:%m-%d %H:%M}" for a in alerts)
        text = texts.get(alerts[0].post_ids[0], "") if alerts[0].post_ids else ""
        notes.append(f"- {name}, incident #{inc} ({kind}; holds "
                     f"{', '.join(f'{k} x{n}' for k, n in held.most_common())}): {steps}; "
                     f"{_growth(alerts[0])}" + (f'; its post: "{text[:90]}"' if text else ""))
    return notes, kinds


def run_real_stream(language: str, seed: int, days: int = DAYS,
                    soft: bool = False) -> RealResult:
    stream = real_stream(language, seed, days)
    name = f"{language} seed {seed}"
    records = [parse_record(r, i) for i, r in enumerate(stream.records, start=1)]
    crises = [Marked(c, *observed_marks(stream.records, c)) for c in stream.crises]
    config = Config(brands=[BrandConfig(name=stream.brand, keywords=list(stream.keywords))],
                    detection=DetectionConfig(soft_alarm=soft))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "replay.db"
        report = replay(records, config, scorer_for(config), database=db)
        members, flagged = _incident_posts(db), flagged_posts(db)
    elapsed = time.perf_counter() - start
    seen = [seen_by(stream.records, c.truth, c.t25) for c in crises]
    mine, mine_false = ours(report, members, crises, name, seen)
    base, base_false = baseline(stream.records, crises, stream.brand, name)
    base_flags = sigma_flags(activity(stream.records, brand=stream.brand))
    flag_out, flag_false, flag_flags = flagged_baseline(flagged, stream.records, crises, name)
    happy = _happy(name, stream, report, members,
                   {"mean+3sigma": base_flags, FLAGGED: flag_flags})
    notes = _crisis_notes(name, stream, crises, mine, report, members, flagged,
                          {"mean+3sigma": base, FLAGGED: flag_out})
    false_notes, kinds = _false(name, stream, report, members, crises)
    line = (f"{name}: {len(records):,} records ({report.posts:,} posts) replayed in "
            f"{elapsed:.0f} s, {len(report.alerts)} alerts, {len(flagged)} flagged posts")
    print(f"  {line}", flush=True)
    result = StreamResult(language, mine + base + flag_out,
                          {"ours": mine_false, "mean+3sigma": base_false, FLAGGED: flag_false},
                          days / 7, elapsed)
    posts = Counter(stream.kinds.values())
    flagged_kinds = Counter(stream.kinds[p] for p in flagged if p in stream.kinds)
    return RealResult(result, happy, notes, false_notes, kinds, posts, flagged_kinds, line)


def _at(t: datetime | None) -> str:
    return "no" if t is None else f"yes, {t:%m-%d %H:%M}"


def happy_lines(rows: list[HappyOutcome]) -> list[str]:
    out = ["", "Happy viral threads (must not be warned on):", ""]
    for h in rows:
        t = h.thread
        said = "; ".join(f"{d}: {_at(h.first[d])}" for d in DETECTORS)
        out.append(f"- {h.stream}: {t.replies} replies on {t.source}, {t.start:%m-%d %H:%M} "
                   f"to {t.end:%m-%d %H:%M} (curve peak {t.peak:%H:%M}). Warned? {said}"
                   + (f". Ours because: {h.why}" if h.why else ""))
    return out


def _median(outcomes: list[Outcome], detector: str) -> float | None:
    leads = [o.lead_min for o in outcomes if o.detector == detector and o.lead_min is not None]
    return statistics.median(leads) if leads else None


def target_lines(real: list[RealResult]) -> list[str]:
    results = [r.result for r in real]
    outcomes = [o for r in results for o in r.outcomes]
    mine = [o for o in outcomes if o.detector == "ours"]
    n = len(mine) or 1
    warned = sum(o.warned_at is not None for o in mine)
    early = sum(o.before_25 for o in mine)
    lead = _median(outcomes, "ours")

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    lines = ["", "Targets (ours):", "",
             f"- >= {TARGET_WARNED:.0%} of crises warned: {warned}/{len(mine)} -> "
             f"{verdict(warned / n >= TARGET_WARNED)}",
             f"- >= {TARGET_EARLY:.0%} warned before 25% of peak: {early}/{len(mine)} -> "
             f"{verdict(early / n >= TARGET_EARLY)}"]
    for detector in DETECTORS[1:]:
        theirs = _median(outcomes, detector)
        ok = lead is not None and (theirs is None or lead >= theirs)
        lines.append(f"- median lead before 50% >= {detector}'s: "
                     f"{'-' if lead is None else f'{lead:,.0f}'} vs "
                     f"{'-' if theirs is None else f'{theirs:,.0f}'} min -> {verdict(ok)}")
    for language in ("en", "zh"):
        rows = [r for r in results if r.language == language]
        if rows:
            rate = sum(r.false_warnings["ours"] for r in rows) / sum(r.weeks for r in rows)
            lines.append(f"- < 1 false warning per brand-week, {language}: {rate:.2f} -> "
                         f"{verdict(rate < 1)}")
    hit = sum(h.first["ours"] is not None for r in real for h in r.happy)
    total = sum(len(r.happy) for r in real)
    lines.append(f"- no warning on any happy viral thread: warned on {hit}/{total} -> "
                 f"{verdict(hit == 0)}")
    return lines


def _notes(title: str, notes: list[str]) -> list[str]:
    if not notes:
        return []
    more = len(notes) - MAX_NOTES
    return (["", title, ""] + notes[:MAX_NOTES]
            + ([f"- ... and {more} more"] if more > 0 else []))


def kind_table(real: list[RealResult]) -> list[str]:
    lines = ["", "Ours' false warnings by what the warned incident held (its most telling "
             "post: happy thread > news > busy thread > complaint > chatter):", "",
             "| language | " + " | ".join(KIND_ORDER) + " |",
             "|---|" + "---:|" * len(KIND_ORDER)]
    for language in ("en", "zh"):
        kinds = sum((r.false_kinds for r in real if r.result.language == language), Counter())
        lines.append(f"| {language} | " + " | ".join(str(kinds[k]) for k in KIND_ORDER) + " |")
    return lines


def flagged_table(real: list[RealResult]) -> list[str]:
    """How often the scorer flags each kind of real post (risk >= the threshold)."""
    kinds = sorted({k for r in real for k in r.posts})
    lines = ["", "Posts flagged by the scorer, by kind (flagged / posts):", "",
             "| kind | en | zh |", "|---|---:|---:|"]
    for kind in kinds:
        cells = []
        for language in ("en", "zh"):
            rows = [r for r in real if r.result.language == language]
            n, f = sum(r.posts[kind] for r in rows), sum(r.flagged[kind] for r in rows)
            cells.append(f"{f}/{n} ({f / n:.0%})" if n else "-")
        lines.append(f"| {kind} | {' | '.join(cells)} |")
    return lines


def report_lines(real: list[RealResult], seeds: int, soft: bool = False, jobs: int = 1
                 ) -> list[str]:
    results = [r.result for r in real]
    outcomes = [o for r in results for o in r.outcomes]
    lines = ["# Detection on realistic streams of real posts", "",
             f"- date: {dt.date.today().isoformat()}",
             f"- command: `python -m bench.detection_real --seeds {seeds}"
             f"{' --soft-alarm' if soft else ''}{f' --jobs {jobs}' if jobs > 1 else ''}`",
             f"- streams: {len(results)} x {DAYS} days (en and zh, seeds 1..{seeds}; "
             "bench/realstreams.py): one brand (en Apple, keywords Apple/iPhone/iPad/iTunes, "
             "SXSW 2011 tweets; zh 艾克美 put into osm2022 / smp2020 Weibo posts and waimai "
             "reviews), three sources, benign traffic with ordinary complaints, busy threads, "
             "news with strong cues naming the brand in passing, one happy viral thread, one "
             "crisis of each shape of real negative posts with no strong cue; default "
             "detection config" + (" with detection.soft_alarm on" if soft else ""),
             "- ours: the daemon's stages replayed with a 5-minute poll; mean+3sigma: the "
             "previous 24 hourly volumes of all brand activity (posts + new replies); "
             f"{FLAGGED}: the previous 24 hourly counts of flagged mentions (the replay's "
             "own); both judged when each hour ends",
             "- marks: as bench/results/detection.md (observed volume of the crisis's posts)",
             f"- replay time: {sum(r.seconds for r in results):,.0f} s in all"
             + (f" (wall clock, {jobs} streams at once)" if jobs > 1 else ""),
             *(f"  - {r.line}" for r in real), ""]
    lines += outcome_table(outcomes, DETECTORS) + [""]
    lines += false_table(results, DETECTORS, "per brand-week")
    lines += kind_table(real) + flagged_table(real)
    lines += happy_lines([h for r in real for h in r.happy])
    lines += target_lines(real)
    lines += _notes("Ours on each crisis (posts before the stream's end; flagged: risk >= "
                    "the threshold; incidents: how grouping split them):",
                    [n for r in real for n in r.crisis_notes])
    lines += _notes("Ours' false warnings, by incident (first alert's growth reasons):",
                    [n for r in real for n in r.false_notes])
    return lines


def _stream_job(job: tuple[str, int, bool]) -> RealResult:
    language, seed, soft = job
    return run_real_stream(language, seed, soft=soft)


def run_real(seeds: int, out: Path, soft: bool = False, jobs: int = 1) -> None:
    """Every stream, ``jobs`` at a time in separate processes (each replay is its own
    database: the results are the same, in the same order, as one at a time)."""
    todo = [(language, seed, soft) for language in ("en", "zh") for seed in range(1, seeds + 1)]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            real = list(pool.map(_stream_job, todo))
    else:
        real = [_stream_job(job) for job in todo]
    text = "\n".join(report_lines(real, seeds, soft, jobs)) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="streams per language")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default bench/results/detection_real.md, or "
                             "detection_real_soft.md with --soft-alarm)")
    parser.add_argument("--soft-alarm", action="store_true",
                        help="turn on detection.soft_alarm (the risk-weighted brand alarm)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="streams replayed at once, in separate processes")
    args = parser.parse_args(argv)
    out = args.out or (OUT.with_name("detection_real_soft.md") if args.soft_alarm else OUT)
    run_real(args.seeds, out, args.soft_alarm, args.jobs)


if __name__ == "__main__":
    main()
