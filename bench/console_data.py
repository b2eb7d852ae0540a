"""The console benchmark's data (``bench/console.py``): a year of synthetic posts,
mentions and incidents bulk-inserted into a scratch SQLite or PostgreSQL
database, and the helpers that make, count and settle it.

Rows come in time order from one seeded ``random.Random``, so every run of the
same size holds the same rows, and a rare word (``RARE_PHRASE``) is planted at a
known rate so the search indexes have something rare to find.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, bindparam, create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url

from db.engine import read_session
from db.models import Brand, Incident, Mention, Post, Source

SEED = 7
BATCH = 100_000  # posts per transaction (and per progress line)
YEAR = timedelta(days=365)
# name, weight, Chinese name (written in zh posts)
BRANDS = (("Acme", 0.50, "艾克美"), ("Beta", 0.30, "贝塔"), ("Corvid", 0.15, "科维德"),
          ("Delta", 0.05, "德尔塔"))
# name, kind, weight
SOURCES = (("acme-forum", "forum", 0.30), ("tech-board", "forum", 0.20),
           ("weibo-feed", "feed", 0.18), ("news-wire", "feed", 0.12),
           ("community", "discourse", 0.10), ("tieba", "forum", 0.06),
           ("review-site", "feed", 0.03), ("local-news", "feed", 0.01))
SEVERITY_MIX = (("notice", 0.70), ("warning", 0.22), ("crisis", 0.08))
CATEGORIES = ("refund_dispute", "product_defect", "service_attitude", "safety_incident",
              "billing_error")
EN_CHATTER = ("just got the new {b} phone", "anyone tried the {b} app update",
              "the store was busy today", "shipping took three days", "nice design overall",
              "battery lasts all day", "looking for a case recommendation",
              "the camera is decent", "price seems fair for what you get",
              "waiting for the sale next week", "unboxing video coming soon",
              "customer service answered quickly", "switched from my old phone last month",
              "the {b} launch event was fun")
EN_COMPLAINT = ("still waiting for my refund", "support was rude and hung up on me",
                "the screen cracked after a week", "charger overheated and smelled burnt",
                "they refused my warranty claim", "worst customer service ever",
                "the app keeps crashing after the update", "never buying {b} again",
                "going to report this to the consumer council", "the battery swelled up",
                "billing charged me twice", "parcel lost and no refund either")
ZH_CHATTER = ("刚买了{b}的新手机", "外观设计还不错", "物流挺快的", "电池续航一整天",
              "有没有人推荐手机壳", "拍照效果一般般", "价格还算合理", "等双十一再买",
              "客服回复很及时", "开箱视频马上发", "{b}发布会挺有意思")
ZH_COMPLAINT = ("退款申请一直没处理", "客服态度太差了", "屏幕用了一周就裂了",
                "充电器发烫还有焦味", "保修被拒绝", "再也不买{b}了", "要去消协投诉",
                "电池鼓包了", "重复扣费", "快递丢了也不给退款")
RARE_ZH = "仲裁"  # in RARE_PHRASE["zh"]: too short for a trigram, so the bigram index
RARE_PHRASE = {"en": "filing for arbitration now", "zh": "准备申请arbitration仲裁"}
RARE_RATE = 0.0005  # posts that carry RARE: ~500 in a million, ~100 of them flagged


# ------------------------------------------------------------------ synthetic data


@dataclass
class OpenIncident:
    """A brand's current incident while filling: flagged mentions join it until its
    (random) size is reached or it goes quiet for six hours, as detection would."""

    id: int
    brand_id: int
    opened_at: datetime
    last_seen_at: datetime
    severity: str
    capacity: int
    count: int = 0
    sources: set[int] = field(default_factory=set)
    cues: set[str] = field(default_factory=set)


@dataclass
class FillStats:
    posts: int = 0
    mentions: int = 0
    flagged: int = 0
    incidents: int = 0
    seconds: float = 0.0
    reused: bool = False
    migrate_s: float = 0.0  # opening a reused database: the migrations it still needed


def weighted(rng: random.Random, items: tuple, weights: list[float]) -> object:
    return rng.choices(items, weights)[0]


class Generator:
    """Deterministic rows (one ``random.Random(SEED)``), produced in time order so ids
    grow with fetched_at, as they do in the daemon's database."""

    def __init__(self, n: int, now: datetime) -> None:
        self.n, self.now, self.start = n, now, now - YEAR
        self.rng = random.Random(SEED)
        self.brand_ids = list(range(1, len(BRANDS) + 1))
        self.brand_weights = [w for _, w, _ in BRANDS]
        self.source_ids = list(range(1, len(SOURCES) + 1))
        self.source_weights = [w for _, _, w in SOURCES]
        self.mention_id = 0
        self.incident_id = 0
        self.current: dict[int, OpenIncident] = {}
        self.incidents: dict[int, OpenIncident] = {}

    def _text(self, language: str, brand: int | None, complaint: bool) -> tuple[str, str]:
        rng = self.rng
        name = ("" if brand is None else
                BRANDS[brand - 1][2] if language == "zh" else BRANDS[brand - 1][0])
        chatter, moan = (ZH_CHATTER, ZH_COMPLAINT) if language == "zh" else (EN_CHATTER,
                                                                             EN_COMPLAINT)
        phrases = [rng.choice(moan if complaint and rng.random() < 0.7 else chatter)
                   for _ in range(rng.randint(2, 4))]
        if rng.random() < RARE_RATE:
            phrases.insert(1, RARE_PHRASE[language])
        lead = (f"{name} " if name else "")
        sep = "，" if language == "zh" else ". "
        body = lead + sep.join(p.format(b=name or "the") for p in phrases)
        title = "" if rng.random() < 0.3 else (lead + phrases[0].format(b=name or "the"))[:80]
        return title, body

    def _incident(self, brand: int, at: datetime, source: int, cue: str) -> OpenIncident:
        inc = self.current.get(brand)
        if inc is None or inc.count >= inc.capacity or at - inc.last_seen_at > timedelta(hours=6):
            self.incident_id += 1
            sev = weighted(self.rng, tuple(s for s, _ in SEVERITY_MIX),
                           [w for _, w in SEVERITY_MIX])
            capacity = 1 + int(self.rng.expovariate(1 / 40))
            inc = OpenIncident(self.incident_id, brand, at, at, sev, capacity)
            self.current[brand] = self.incidents[inc.id] = inc
        inc.count += 1
        inc.last_seen_at = at
        inc.sources.add(source)
        inc.cues.add(cue)
        return inc

    def batch(self, first: int, last: int) -> tuple[list[dict], list[dict], list[dict]]:
        """Posts ``first..last-1`` (0-based), their mentions, and incidents opened by them."""
        rng, posts, mentions = self.rng, [], []
        opened_before = self.incident_id
        span = YEAR.total_seconds()
        for i in range(first, last):
            at = self.start + timedelta(seconds=span * (i + rng.random()) / self.n)
            source = weighted(rng, self.source_ids, self.source_weights)
            language = "zh" if rng.random() < 0.4 else "en"
            brand = weighted(rng, self.brand_ids, self.brand_weights) if rng.random() < 0.9 \
                else None
            complaint = rng.random() < 0.3
            title, body = self._text(language, brand, complaint)
            post_id = i + 1
            posts.append({"id": post_id, "source_id": source, "entry_key": f"e{post_id}",
                          "fingerprint": f"{post_id:016x}",
                          "url": f"https://{SOURCES[source - 1][0]}.example/t/{post_id}",
                          "title": title, "text": body, "author": f"user{rng.randrange(50_000)}",
                          "published_at": at - timedelta(minutes=rng.randrange(120)),
                          "fetched_at": at, "replies": rng.randrange(40), "likes": None,
                          "thread_id": None})
            if brand is None:
                continue
            flagged = rng.random() < (0.7 if complaint else 0.02)
            if flagged:
                risk, sentiment = 0.5 + 0.5 * rng.random() ** 1.5, 0.45 * rng.random()
                cue = rng.choice(CATEGORIES)
            else:
                risk, sentiment = 0.49 * rng.random(), 0.1 + 0.9 * rng.random()
                cue = None
            incident = (self._incident(brand, at, source, cue)
                        if flagged and rng.random() < 0.6 else None)
            self.mention_id += 1
            mentions.append({
                "id": self.mention_id, "post_id": post_id, "brand_id": brand,
                "language": language, "sentiment": sentiment, "risk": risk,
                "flagged": flagged, "strong": flagged and rng.random() < 0.2,
                "cues": [cue] if cue else [],
                "reasons": ([f"negative tone {1 - sentiment:.2f}", f"cue: {cue}"] if flagged
                            else []),
                "scored_at": at, "incident_id": incident.id if incident else None,
                "severity": incident.severity if incident else None,
                "fingerprint": rng.getrandbits(62), "terms": [], "grouped_by":
                    ("fingerprint" if incident else None)})
        opened = [self._incident_row(self.incidents[k])
                  for k in range(opened_before + 1, self.incident_id + 1)]
        return posts, mentions, opened

    def _incident_row(self, inc: OpenIncident) -> dict:
        """The row as first inserted; counts and last activity are set at the end."""
        return {"id": inc.id, "brand_id": inc.brand_id, "opened_at": inc.opened_at,
                "last_seen_at": inc.opened_at, "severity": inc.severity, "mention_count": 0,
                "source_ids": [], "cues": [], "title": "", "category":
                    self.rng.choice(CATEGORIES), "category_confidence": 0.6,
                "thread_keys": [], "fingerprints": [], "term_counts": {}, "signals": {}}

    def final_incidents(self) -> list[dict]:
        """Mention counts, sources, last activity and closing of every incident."""
        quiet = timedelta(hours=6)
        return [{"b_id": inc.id, "b_count": inc.count, "b_last": inc.last_seen_at,
                 "b_sources": sorted(inc.sources), "b_cues": sorted(inc.cues),
                 "b_resolved": (inc.last_seen_at + quiet
                                if inc.last_seen_at + quiet < self.now else None),
                 "b_signals": {"growing": inc.count > 60}}
                for inc in self.incidents.values()]


def fill(engine: Engine, n: int, now: datetime) -> FillStats:
    """Bulk inserts: Core ``executemany`` in one transaction per BATCH posts."""
    stats, gen, started = FillStats(), Generator(n, now), time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Brand.__table__), [
            {"id": i, "name": name, "keywords": [name, zh], "exclude": [], "enabled": True,
             "managed_by": "config"} for i, (name, _, zh) in enumerate(BRANDS, 1)])
        conn.execute(insert(Source.__table__), [
            {"id": i, "name": name, "kind": kind, "url": f"https://{name}.example/",
             "interval_s": 300, "page": "listing", "obey_robots": True, "hot_interval_s": 60,
             "enabled": True, "managed_by": "config", "error_count": 0,
             "consecutive_errors": 0, "posts_seen": 0, "last_success_at": now,
             "last_fetch_at": now} for i, (name, kind, _) in enumerate(SOURCES, 1)])
    for first in range(0, n, BATCH):
        posts, mentions, opened = gen.batch(first, min(n, first + BATCH))
        with engine.begin() as conn:
            if opened:
                conn.execute(insert(Incident.__table__), opened)
            conn.execute(insert(Post.__table__), posts)
            if mentions:
                conn.execute(insert(Mention.__table__), mentions)
        stats.posts += len(posts)
        stats.mentions += len(mentions)
        stats.flagged += sum(m["flagged"] for m in mentions)
        elapsed = time.perf_counter() - started
        print(f"  {stats.posts:>9,} posts, {stats.mentions:,} mentions "
              f"({stats.flagged:,} flagged), {gen.incident_id:,} incidents: "
              f"{elapsed:6.1f} s, {stats.posts / elapsed:,.0f} posts/s", flush=True)
    table = Incident.__table__
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            mention_count=bindparam("b_count"), last_seen_at=bindparam("b_last"),
            source_ids=bindparam("b_sources"), cues=bindparam("b_cues"),
            resolved_at=bindparam("b_resolved"), signals=bindparam("b_signals")),
            gen.final_incidents())
        titles = select(Post.title).join(Mention, Mention.post_id == Post.id).where(
            Mention.incident_id == table.c.id).order_by(Mention.id).limit(1).scalar_subquery()
        conn.execute(update(table).values(title=titles))
    stats.incidents = gen.incident_id
    stats.seconds = time.perf_counter() - started
    return stats


# ------------------------------------------------------------------ the database


@contextmanager
def scratch_database(url: str | None, keep: str | None) -> Iterator[tuple[str, bool]]:
    """(URL of the database to use, whether it already holds a filled benchmark).

    SQLite: a temp folder, or ``keep`` (a file path, reused when it exists). PostgreSQL:
    a scratch database created on ``url``'s server and dropped afterwards, or the
    database named ``keep``, kept (and reused when it exists)."""
    if url is None:
        folder = None if keep else tempfile.mkdtemp(prefix="cw-console-")
        path = Path(keep).resolve() if keep else Path(folder) / "console.db"
        try:
            yield f"sqlite:///{path}", path.exists()
        finally:
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
        return
    server = make_url(url)
    name = keep or f"crisiswatch_bench_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": name}).first() is not None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False), exists
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def counts(engine: Engine) -> FillStats:
    """What a reused database holds."""
    with read_session(engine) as s:
        return FillStats(
            posts=s.exec(select(func.count()).select_from(Post)).one()[0],
            mentions=s.exec(select(func.count()).select_from(Mention)).one()[0],
            flagged=s.exec(select(func.count()).select_from(Mention)
                           .where(Mention.flagged == True)).one()[0],  # noqa: E712
            incidents=s.exec(select(func.count()).select_from(Incident)).one()[0],
            reused=True)


def settle(engine: Engine) -> str:
    """After the bulk load: fold SQLite's WAL into the file (the daemon's checkpoints
    would), or VACUUM ANALYZE on PostgreSQL (autovacuum would); the size on disk."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside a transaction, or SQLite refuses
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        path = Path(engine.url.database)
        size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            size = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
    return f"{size / 2**20:,.0f} MiB"


def fix_sequences(engine: Engine) -> None:
    """PostgreSQL: the fill chose ids itself, so move the id sequences past them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in ("brand", "source", "post", "mention", "incident"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT coalesce(max(id), 1) FROM {table}))")
