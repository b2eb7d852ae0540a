"""The database ``python -m bench.screens`` photographs: the demo's brand and its
complaint thread, laid out over hours the way a real incident unfolds (a burst, a
quiet stretch, the news repost and a threat to go to the media), plus a resolved
Chinese incident and a fresh notice, relative to now so that relative times,
the 24 h sparkline and the respond-by countdown look live.

Rows are written directly (no daemon run): the demo itself plays one scripted
minute, too short for a timeline worth looking at. The texts come from the demo's
script (monitor/lab/demo_script.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import select

from db.engine import open_database, session
from db.models import Alert, Brand, Channel, Incident, IncidentChange, Mention, Post, Source
from monitor.config import parse_config
from monitor.lab.demo_script import BRAND, NEWS, THREADS
from monitor.stages.sync import sync_config
from monitor.users import add_user

ADMIN, PASSWORD = "demo-admin", "demo-password-1"
MIN = timedelta(minutes=1)
SOURCES = [{"name": "demo-forum", "kind": "feed", "url": "https://forum.example/feed"},
           {"name": "demo-news", "kind": "feed", "url": "https://news.example/feed"},
           {"name": "weibo-feed", "kind": "feed", "url": "https://weibo.example/feed"}]
ZH_REPLIES = ("贝塔充电器用了两天就发烫，客服一直不回", "我的也是，充电时烫手，不敢用了",
              "已经向消协投诉，等回复", "同款问题，售后说是正常现象？")


@dataclass(frozen=True)
class Seeded:
    """What the screenshots open: the crisis incident, and the admin's login."""

    incident: int
    alert: int
    admin: str = ADMIN
    password: str = PASSWORD


class Writer:
    """Posts, mentions, incidents and alerts into one session, at times given in
    minutes before ``now``."""

    def __init__(self, s, now: datetime) -> None:  # noqa: ANN001 - Session
        self.s, self.now, self.n = s, now, 0
        self.brands = {b.name: b.id for b in s.exec(select(Brand)).all()}
        self.sources = {src.name: src.id for src in s.exec(select(Source)).all()}

    def at(self, minutes_ago: float) -> datetime:
        return self.now - minutes_ago * MIN

    def post(self, brand: str, source: str, title: str, text: str, minutes_ago: float, *,
             flagged: bool = True, incident: Incident | None = None, lang: str = "en",
             sentiment: float = 0.15) -> int:
        self.n += 1
        at = self.at(minutes_ago)
        post = Post(source_id=self.sources[source], entry_key=f"s{self.n}",
                    fingerprint=f"f{self.n}", url=f"https://{source}.example/p/{self.n}",
                    title=title, text=text, fetched_at=at, published_at=at - 4 * MIN)
        self.s.add(post)
        self.s.flush()
        self.s.add(Mention(post_id=post.id, brand_id=self.brands[brand],
                           risk=0.85 if flagged else 0.1, sentiment=sentiment, language=lang,
                           flagged=flagged, severity="notice" if flagged else None,
                           incident_id=incident.id if incident else None,
                           cues=["refund"] if flagged else [], grouped_by="thread"))
        if incident is not None:
            incident.mention_count += 1
            incident.last_seen_at = max(incident.last_seen_at, at)
        return post.id

    def incident(self, brand: str, title: str, minutes_ago: float, category: str) -> Incident:
        inc = Incident(brand_id=self.brands[brand], opened_at=self.at(minutes_ago),
                       last_seen_at=self.at(minutes_ago), severity="notice", category=category,
                       title=title, mention_count=0, source_ids=list(self.sources.values()),
                       reply_promised_s=3600, cues=["refund"])
        self.s.add(inc)
        self.s.flush()
        return inc

    def alert(self, inc: Incident, severity: str, minutes_ago: float, playbook: str,
              respond_min: int = 60) -> Alert:
        at = self.at(minutes_ago)
        inc.severity = severity
        self.s.add(IncidentChange(incident_id=inc.id, at=at, severity=severity,
                                  reasons=[f"{severity}: negative mentions rising"]))
        brand = next(n for n, i in self.brands.items() if i == inc.brand_id)
        alert = Alert(incident_id=inc.id, brand_id=inc.brand_id, severity=severity,
                      dedup_key=f"{inc.id}:{severity}", created_at=at, playbook=playbook,
                      reasons=[f"{severity}: negative mentions rising"],
                      post_ids=[m.post_id for m in self.s.exec(
                          select(Mention).where(Mention.incident_id == inc.id)).all()][:10],
                      title=f"{brand}: {inc.title}", body=inc.title, rendered_at=at,
                      respond_by=at + respond_min * MIN)
        self.s.add(alert)
        self.s.flush()
        return alert

    def done(self, inc: Incident, minutes_ago: float, by: str, resolved: bool = False) -> None:
        """Acknowledge (and resolve) every alert of ``inc`` so far, as the console would."""
        at = self.at(minutes_ago)
        for a in self.s.exec(select(Alert).where(Alert.incident_id == inc.id)).all():
            a.acknowledged_at, a.acknowledged_by = a.acknowledged_at or at, by
            a.status = "resolved" if resolved else "acknowledged"
            a.resolved_at = at if resolved else None
        inc.acknowledged_at = inc.acknowledged_at or at
        if resolved:
            inc.resolved_at = inc.first_reply_at = at


def _crisis(w: Writer) -> tuple[Incident, Alert]:
    """The demo's complaint thread over three hours: replies, a lull, the news repost
    (English and Chinese), the threat to go to the media; acknowledged, not resolved."""
    opener = THREADS[2].posts[0]
    inc = w.incident("Acme", THREADS[2].title, 180, "service_attitude")
    w.post("Acme", "demo-forum", THREADS[2].title, opener.body, 180, incident=inc)
    for i, reply in enumerate(THREADS[2].posts[1:]):
        w.post("Acme", "demo-forum", THREADS[2].title, reply.body, 172 - 6 * i, incident=inc,
               sentiment=0.2 if i % 2 else 0.6)
    w.alert(inc, "notice", 170, "service_attitude")
    w.alert(inc, "warning", 150, "service_attitude")
    news = NEWS[3]
    for minutes, lang in ((105, "en"), (98, "zh"), (90, "zh")):
        title = news.title if lang == "en" else news.body[:24]
        w.post("Acme", "demo-news" if lang == "en" else "weibo-feed", title,
               news.body, minutes, incident=inc, lang=lang, sentiment=0.05)
    for minutes in (80, 76, 71, 64, 58, 40, 33, 20, 12):
        w.post("Acme", "weibo-feed", "艾克美手机死机，客服推诿",
               "网友表示要找记者曝光，已经有媒体在问了。", minutes, incident=inc, lang="zh",
               sentiment=0.1)
    crisis = w.alert(inc, "crisis", 75, "media_exposure", respond_min=30)
    w.done(inc, 62, "pat")
    inc.signals = {"growing": True}
    return inc, crisis


def _resolved(w: Writer) -> None:
    """A Chinese complaint about Beta six hours ago, handled and resolved."""
    inc = w.incident("Beta", ZH_REPLIES[0], 400, "product_defect")
    for i, text in enumerate(ZH_REPLIES * 2):
        w.post("Beta", "weibo-feed", ZH_REPLIES[0], text, 400 - 9 * i, incident=inc, lang="zh")
    w.alert(inc, "notice", 390, "product_defect")
    w.alert(inc, "warning", 370, "product_defect")
    w.done(inc, 350, "pat")
    w.done(inc, 300, "pat", resolved=True)


def _fresh(w: Writer) -> None:
    """A refund complaint that began 40 minutes ago: a notice nobody has answered."""
    inc = w.incident("Acme", "Still waiting for my Acme refund", 40, "refund_dispute")
    for minutes in (40, 31, 22):
        w.post("Acme", "demo-forum", "Still waiting for my Acme refund",
               "Three weeks and no refund. Support keeps closing my ticket.", minutes,
               incident=inc)
    w.alert(inc, "notice", 30, "refund_dispute", respond_min=120)


def _chatter(w: Writer) -> None:
    """Everyday posts over the day: the sparkline has a background to stand out from."""
    for hour in range(0, 24, 3):
        w.post("Acme", "demo-forum", THREADS[1].title, THREADS[1].posts[0].body,
               hour * 60 + 17, flagged=False, sentiment=0.9)
        w.post("Beta", "demo-news", "Beta opens a flagship store", "Shoppers queued.",
               hour * 60 + 43, flagged=False, sentiment=0.8)
    for hours_ago in (20, 14, 9):
        w.post("Acme", "demo-forum", "Acme delivery late", "My order is a week late.",
               hours_ago * 60, sentiment=0.3)


def seed(url: str, now: datetime) -> Seeded:
    """Build the screenshot database at ``url`` (an empty SQLite file or database)."""
    config = parse_config({"database": url,
                           "brands": [BRAND, {"name": "Beta", "keywords": ["Beta", "贝塔"]}],
                           "sources": SOURCES}, base=Path.cwd(), env={})
    engine = open_database(url)
    try:
        sync_config(engine, config)
        add_user(engine, ADMIN, "admin", PASSWORD)
        with session(engine) as s, s.begin():
            s.add(Channel(name="pr-team", url="json://127.0.0.1:9/", timezone="Asia/Shanghai",
                          managed_by="console", enabled=False))
            w = Writer(s, now)
            _chatter(w)
            _resolved(w)
            inc, crisis = _crisis(w)
            _fresh(w)
            s.flush()
            return Seeded(inc.id, crisis.id)
    finally:
        engine.dispose()
