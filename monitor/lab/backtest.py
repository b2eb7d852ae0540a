"""Replay a recorded stream of posts through scoring and detection in simulated
time, so thresholds can be tuned on history before going live.

The replay runs the daemon's own stages (``run_monitor``, ``run_detect``) on a
scratch SQLite database, with the clock set to each record's time: what it
reports is what the daemon would have alerted, and when. Nothing is delivered.

Input, one record per line (JSONL) or per row (CSV with these column names):

    at       ISO 8601 time (a zone offset; none means UTC)      required
    source   where it was seen (forum-a, weibo, ...)           required
    id       the post's id within the stream                    required
    brand    the brand it is about (used as the watch keyword when the config
             names no brands)
    thread   a thread id: posts in one thread are one matter
    title, text
    replies, likes, views   cumulative counts at ``at``

A record whose ``id`` was seen before updates that post's counts (an engagement
snapshot); its text, if any, is ignored.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from db.engine import open_database, session
from db.models import Alert, Brand, EngagementSnapshot, Incident, Post, Source, Thread
from monitor.config import Config
from monitor.scoring.risk import Scorer
from monitor.stages.chain import rules_for
from monitor.stages.detect import run_detect
from monitor.stages.score import run_monitor

REQUIRED = ("at", "source", "id")
COUNTS = ("replies", "likes", "views")


class RecordError(ValueError):
    """A record that cannot be replayed; the message names its line."""


@dataclass(frozen=True)
class Record:
    at: datetime
    source: str
    id: str
    brand: str = ""
    thread: str | None = None
    title: str = ""
    text: str = ""
    replies: int | None = None
    likes: int | None = None
    views: int | None = None


@dataclass(frozen=True)
class ReplayAlert:
    at: datetime
    severity: str
    brand: str
    incident_id: int
    incident_title: str
    reasons: tuple[str, ...]
    post_ids: tuple[str, ...]  # the stream's ids


@dataclass(frozen=True)
class ReplayReport:
    records: int
    posts: int
    alerts: tuple[ReplayAlert, ...]
    incidents: int
    first: datetime | None
    last: datetime | None


def _time(value: object, line: int) -> datetime:
    try:
        at = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"line {line}: 'at' is not an ISO 8601 time: {value!r}") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _count(raw: dict, key: str, line: int) -> int | None:
    value = raw.get(key)
    if value in (None, ""):
        return None
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError):
        raise RecordError(f"line {line}: {key!r} is not a number: {value!r}") from None


def parse_record(raw: dict, line: int) -> Record:
    """One record from a JSON object or CSV row; RecordError naming the line."""
    if not isinstance(raw, dict):
        raise RecordError(f"line {line}: expected an object, got {type(raw).__name__}")
    missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise RecordError(f"line {line}: missing {', '.join(missing)}")
    thread = raw.get("thread")
    return Record(at=_time(raw["at"], line), source=str(raw["source"]), id=str(raw["id"]),
                  brand=str(raw.get("brand") or ""),
                  thread=None if thread in (None, "") else str(thread),
                  title=str(raw.get("title") or ""), text=str(raw.get("text") or ""),
                  **{k: _count(raw, k, line) for k in COUNTS})


def _raw_rows(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        if path.suffix.lower() == ".csv":
            for n, row in enumerate(csv.DictReader(fh), start=2):
                yield n, row
            return
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(f"line {n}: not JSON ({exc.msg})") from None


def read_records(path: Path) -> list[Record]:
    """Every record of a JSONL (or ``.csv``) file, sorted by time (stable)."""
    try:
        records = [parse_record(raw, n) for n, raw in _raw_rows(Path(path))]
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8 (byte {exc.start})") from None
    return sorted(records, key=lambda r: r.at)


def _setup(s: Session, config: Config, records: list[Record]) -> None:
    brands = [(b.name, list(b.keywords), list(b.exclude)) for b in config.brands]
    if not brands:
        names = sorted({r.brand for r in records if r.brand})
        brands = [(name, [name], []) for name in names]
    if not brands:
        raise RecordError("no brand to watch: name brands in the config or give records "
                          "a 'brand'")
    s.add_all(Brand(name=n, keywords=k, exclude=e) for n, k, e in brands)
    s.add_all(Source(name=name, url=f"backtest://{name}", kind="feed")
              for name in sorted({r.source for r in records}))


class _Store:
    """Writes records as the crawler would: posts, threads, engagement snapshots."""

    def __init__(self, s: Session) -> None:
        self.sources = {x.name: x.id for x in s.exec(select(Source)).all()}
        self.posts: dict[str, int] = {}  # stream id -> Post.id
        self.stream_ids: dict[int, str] = {}  # Post.id -> stream id
        self.threads: dict[tuple[str, str], int] = {}
        self.openers: dict[int, int] = {}  # post id -> the thread it opened

    def add(self, s: Session, r: Record) -> None:
        counts = {k: getattr(r, k) for k in COUNTS}
        if r.id in self.posts:
            if any(v is not None for v in counts.values()):
                self._snapshot(s, self.posts[r.id], r.at, counts)
            return
        post = Post(source_id=self.sources[r.source], entry_key=r.id, fingerprint=f"bt:{r.id}",
                    title=r.title, text=r.text, published_at=r.at, fetched_at=r.at,
                    replies=r.replies, likes=r.likes, thread_id=self._thread(s, r))
        opens = post.thread_id is not None and post.thread_id not in self.openers.values()
        s.add(post)
        s.flush()
        self.posts[r.id], self.stream_ids[post.id] = post.id, r.id
        if opens:
            self.openers[post.id] = post.thread_id
        if r.replies is not None:
            self._snapshot(s, post.id, r.at, counts)

    def _snapshot(self, s: Session, post_id: int, at: datetime, counts: dict) -> None:
        """A thread's opener carries the thread's reply count, as a forum listing does."""
        s.add(EngagementSnapshot(post_id=post_id, thread_id=self.openers.get(post_id),
                                 seen_at=at, **counts))

    def _thread(self, s: Session, r: Record) -> int | None:
        if r.thread is None:
            return None
        key = (r.source, r.thread)
        if key not in self.threads:
            row = Thread(source_id=self.sources[r.source], key=r.thread, url=r.thread,
                         title=r.title, first_seen_at=r.at)
            s.add(row)
            s.flush()
            self.threads[key] = row.id
        return self.threads[key]


def _ticks(records: list[Record], step: timedelta) -> Iterator[tuple[datetime, list[Record]]]:
    """Records grouped by poll: those within ``step`` of the first one are seen
    together, judged at the time of the last (the records' times are when the
    crawler saw them)."""
    batch: list[Record] = []
    for r in records:
        if batch and r.at >= batch[0].at + step:
            yield batch[-1].at, batch
            batch = []
        batch.append(r)
    if batch:
        yield batch[-1].at, batch


def _alerts(s: Session, since_id: int, ids: dict[int, str]) -> list[ReplayAlert]:
    rows = s.exec(select(Alert, Brand, Incident).join(Brand, Alert.brand_id == Brand.id)
                  .join(Incident, Alert.incident_id == Incident.id)
                  .where(Alert.id > since_id).order_by(Alert.id)).all()
    return [ReplayAlert(a.created_at, a.severity, b.name, a.incident_id, inc.title,
                        tuple(a.reasons), tuple(ids.get(p, "?") for p in a.post_ids))
            for a, b, inc in rows]


def replay(records: list[Record], config: Config, scorer: Scorer, *,
           step: timedelta = timedelta(minutes=5), database: Path | None = None,
           progress: Callable[[int, int], None] | None = None) -> ReplayReport:
    """Run the stream through the stages, one poll (``step``) at a time."""
    with tempfile.TemporaryDirectory(prefix="crisiswatch-backtest-") as tmp:
        path = database or Path(tmp) / "backtest.db"
        engine = open_database(f"sqlite:///{path}")
        try:
            return _replay(engine, records, config, scorer, step, progress)
        finally:
            engine.dispose()


def _replay(engine: Engine, records: list[Record], config: Config, scorer: Scorer,
            step: timedelta, progress: Callable[[int, int], None] | None) -> ReplayReport:
    d = config.detection
    with session(engine) as s, s.begin():
        if s.exec(select(Post)).first() is not None:
            raise RecordError("the backtest database is not empty")
        _setup(s, config, records)
    with session(engine) as s:
        store = _Store(s)
    found: list[ReplayAlert] = []
    last_alert, done = 0, 0
    for now, batch in _ticks(records, step):
        with session(engine) as s, s.begin():
            for r in batch:
                store.add(s, r)
        run_monitor(engine, scorer, d.risk_threshold)
        run_detect(engine, lambda name: rules_for(config, name),
                   timedelta(seconds=d.incident_quiet), timedelta(seconds=d.hot_for), now=now)
        with session(engine) as s:
            new = _alerts(s, last_alert, store.stream_ids)
            if new:
                last_alert = s.exec(select(Alert.id).order_by(Alert.id.desc())).first()
        found += new
        done += len(batch)
        if progress:
            progress(done, len(records))
    with session(engine) as s:
        incidents = len(s.exec(select(Incident.id).where(  # merged fragments are one matter
            Incident.merged_into == None)).all())  # noqa: E711
    return ReplayReport(len(records), len(store.posts), tuple(found), incidents,
                        records[0].at if records else None, records[-1].at if records else None)


def alert_lines(report: ReplayReport) -> Iterable[str]:
    """The report for people: one block per alert, in time order."""
    for a in report.alerts:
        yield (f"{a.at.isoformat(timespec='minutes')}  {a.severity.upper():<7}  {a.brand}  "
               f"incident #{a.incident_id}: {a.incident_title[:70]}")
        yield from (f"    - {reason}" for reason in a.reasons)
