"""Flagged-post history: one query, pure formatters (table, json, csv)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import select

from db.engine import read_session
from db.models import SEVERITIES, Brand, Mention, Post, Source

COLUMNS = ("time", "brand", "severity", "sentiment", "risk", "source", "title", "link")


def flagged_posts(engine: Engine, *, brand: str | None = None, min_severity: str | None = None,
                  since: datetime | None = None, limit: int = 100) -> list[dict]:
    """Flagged mentions, newest first. ``min_severity`` keeps that level and above."""
    q = (select(Mention, Post, Source, Brand).join(Post, Mention.post_id == Post.id)
         .join(Source, Post.source_id == Source.id).join(Brand, Mention.brand_id == Brand.id)
         .where(Mention.flagged == True))  # noqa: E712
    if brand:
        q = q.where(Brand.name == brand)
    if min_severity:
        q = q.where(Mention.severity.in_(SEVERITIES[SEVERITIES.index(min_severity):]))
    if since:
        q = q.where(Post.fetched_at >= since)
    q = q.order_by(Post.fetched_at.desc(), Mention.id.desc()).limit(limit)
    with read_session(engine) as s:
        rows = s.exec(q).all()
    return [{"time": p.fetched_at.isoformat(timespec="seconds"), "brand": b.name,
             "severity": m.severity or "-", "sentiment": round(m.sentiment, 2),
             "risk": round(m.risk, 2), "source": src.name,
             "title": (p.title or p.text)[:200], "link": p.url or "",
             "language": m.language, "reasons": m.reasons}
            for m, p, src, b in rows]


def cell(value: object, width: int) -> str:
    """One table cell: whitespace folded, cut to ``width`` with an ellipsis."""
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def as_table(rows: list[dict]) -> str:
    if not rows:
        return "no flagged posts match"
    widths = {"time": 19, "brand": 12, "severity": 8, "sentiment": 9, "risk": 5,
              "source": 14, "title": 48, "link": 60}
    head = "  ".join(c.upper().ljust(widths[c]) for c in COLUMNS)
    body = ["  ".join(cell(r[c], widths[c]).ljust(widths[c]) for c in COLUMNS) for r in rows]
    return "\n".join([head, *body])


def as_json(rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2)


def as_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "language", "reasons"],
                            lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "reasons": "; ".join(r["reasons"])})
    return out.getvalue()


FORMATS = {"table": as_table, "json": as_json, "csv": as_csv}
