"""Incidents for people: a listing with severity and trend, and one incident's
timeline (mentions, engagement, severity changes). Queries return plain dicts;
the formatters are pure."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Engine, or_
from sqlmodel import select

from alerts.trust import trust_score
from db.engine import read_session
from db.models import (
    SEVERITIES,
    Brand,
    EngagementSnapshot,
    Incident,
    IncidentChange,
    Mention,
    Post,
    Source,
    Thread,
)
from monitor.history.posts import cell


def _iso(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at else ""


def trend(signals: dict, resolved: bool = False, merged_into: int | None = None) -> str:
    """One word for the listing: "merged" once another incident absorbed it, "resolved"
    once the PR team resolved it (until a new mention reopens it), else what the
    latest assessment saw."""
    if merged_into is not None:
        return "merged"
    if resolved:
        return "resolved"
    if not signals:
        return "-"
    return "growing" if signals.get("growing") else "steady"


def list_incidents(engine: Engine, *, brand: str | None = None, min_severity: str | None = None,
                   since: datetime | None = None, limit: int = 50) -> list[dict]:
    """Incidents, most recently active first."""
    q = select(Incident, Brand).join(Brand, Incident.brand_id == Brand.id)
    if brand:
        q = q.where(Brand.name == brand)
    if min_severity:
        q = q.where(Incident.severity.in_(SEVERITIES[SEVERITIES.index(min_severity):]))
    if since:
        q = q.where(Incident.last_seen_at >= since)
    with read_session(engine) as s:
        rows = s.exec(q.order_by(Incident.last_seen_at.desc(), Incident.id.desc())
                      .limit(limit)).all()
    return [{"id": inc.id, "brand": b.name, "severity": inc.severity or "-",
             "trend": trend(inc.signals, inc.resolved_at is not None, inc.merged_into),
             "category": inc.category or "-",
             "mentions": inc.mention_count, "sources": len(inc.source_ids),
             "opened": _iso(inc.opened_at), "last_seen": _iso(inc.last_seen_at),
             "title": _title(inc), "merged_into": inc.merged_into,
             "forecast": (inc.signals or {}).get("forecast")}
            for inc, b in rows]


def incident_detail(engine: Engine, incident_id: int) -> dict | None:
    """One incident with its timeline, oldest event first; None if there is none."""
    with read_session(engine) as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            return None
        brand = s.get(Brand, inc.brand_id)
        rows = s.exec(select(Mention, Post, Source).join(Post, Mention.post_id == Post.id)
                      .join(Source, Post.source_id == Source.id)
                      .where(Mention.incident_id == inc.id).order_by(Post.fetched_at)).all()
        events = [{"at": _iso(p.fetched_at), "posted": _iso(p.published_at),
                   "kind": "mention", "source": src.name,
                   "sentiment": round(m.sentiment, 2), "risk": round(m.risk, 2),
                   "text": (p.title or p.text)[:200], "link": p.url or "",
                   "grouped_by": m.grouped_by or ""} for m, p, src in rows]
        events += _engagement(s, [p for _, p, _ in rows])
        events += [{"at": _iso(c.at), "kind": c.kind, "severity": c.severity,
                    "reasons": c.reasons}
                   for c in s.exec(select(IncidentChange).where(
                       IncidentChange.incident_id == inc.id)).all()]
    events.sort(key=lambda e: (e["at"], e["kind"] != "mention"))
    return {"id": inc.id, "brand": brand.name, "severity": inc.severity or "-",
            "trend": trend(inc.signals, inc.resolved_at is not None, inc.merged_into),
            "merged_into": inc.merged_into, "category": inc.category or "-",
            "category_confidence": inc.category_confidence, "title": inc.title,
            "opened": _iso(inc.opened_at), "last_seen": _iso(inc.last_seen_at),
            "acknowledged": _iso(inc.acknowledged_at), "resolved": _iso(inc.resolved_at),
            "cues": inc.cues,
            "first_reply": _iso(inc.first_reply_at), "trust": _trust(inc),
            "signals": inc.signals, "timeline": events}


def _title(inc: Incident) -> str:
    """The listing's title; an absorbed incident says where its mentions are."""
    if inc.merged_into is None:
        return inc.title
    return f"merged into #{inc.merged_into}: {inc.title}"


def _trust(inc: Incident) -> float | None:
    """Seed 001's trust score once the first public reply is recorded."""
    if inc.first_reply_at is None or not inc.reply_promised_s:
        return None
    return trust_score((inc.first_reply_at - inc.opened_at).total_seconds(),
                       inc.reply_promised_s)


def _engagement(s, posts: list[Post]) -> list[dict]:  # noqa: ANN001
    """Reply counts over time of the incident's posts and threads (changes only)."""
    threads = {p.thread_id for p in posts if p.thread_id is not None}
    loose = {p.id: (p.title or p.text)[:60] for p in posts if p.thread_id is None}
    labels = {("thread", t.id): t.title[:60] for t in s.exec(
        select(Thread).where(Thread.id.in_(threads))).all()} if threads else {}
    labels.update({("post", pid): label for pid, label in loose.items()})
    snaps = s.exec(select(EngagementSnapshot).where(or_(
        EngagementSnapshot.post_id.in_(list(loose)),
        EngagementSnapshot.thread_id.in_(list(threads)))).order_by(EngagementSnapshot.id)
    ).all() if labels else []  # one query, not one per post (bench/console.py)
    out, last = [], {}
    for snap in snaps:
        key = ("post", snap.post_id) if snap.post_id in loose else ("thread", snap.thread_id)
        if key in labels and snap.replies is not None and snap.replies != last.get(key):
            out.append({"at": _iso(snap.seen_at), "kind": "replies", "on": labels[key],
                        "replies": snap.replies})
            last[key] = snap.replies
    return out


# ------------------------------------------------------------------ formatting


def _forecast(f: dict | None) -> str:
    return f"{f['low']:,.0f}-{f['high']:,.0f}" if f else "-"


def incidents_table(rows: list[dict]) -> str:
    if not rows:
        return "no incidents match"
    cols = (("id", 5), ("brand", 12), ("severity", 8), ("trend", 7), ("category", 16),
            ("mentions", 8), ("sources", 7), ("forecast", 11), ("last_seen", 19),
            ("title", 40))
    head = "  ".join(name.upper().ljust(w) for name, w in cols)
    body = ["  ".join(cell(_forecast(r[n]) if n == "forecast" else r[n], w).ljust(w)
                      for n, w in cols) for r in rows]
    return "\n".join([head, *body])


def _event_line(e: dict) -> str:
    when = e["at"].replace("T", " ")[:19]
    if e["kind"] == "mention":
        return (f"{when}  mention   {e['source']}: {cell(e['text'], 70)} "
                f"(risk {e['risk']:.2f}; {e['grouped_by']})")
    if e["kind"] == "replies":
        return f"{when}  replies   {e['replies']} on {cell(e['on'], 50)}"
    if e["kind"] == "merged":
        return "\n".join([f"{when}  merged"] + [f"{'':21}  - {r}" for r in e["reasons"]])
    lines = [f"{when}  {e['kind']:<8}  -> {e['severity'].upper()}"]
    return "\n".join(lines + [f"{'':21}  - {r}" for r in e["reasons"]])


def incident_text(d: dict) -> str:
    head = [f"Incident #{d['id']} | {d['brand']} | {d['severity'].upper()} ({d['trend']}) | "
            f"{d['category']} (confidence {d['category_confidence']:.2f})",
            f"  {d['title']}",
            *([f"  merged into #{d['merged_into']}: its mentions are in that incident now"]
              if d.get("merged_into") else []),
            f"  opened {d['opened']}, last activity {d['last_seen']}"
            + (f", acknowledged {d['acknowledged']}" if d["acknowledged"] else ""),
            *([f"  first public reply {d['first_reply']}"
               + (f", trust {d['trust']:.1f}" if d["trust"] is not None else "")]
              if d.get("first_reply") else []), ""]
    return "\n".join(head + ["Timeline:"] + [_event_line(e) for e in d["timeline"]])


def as_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
