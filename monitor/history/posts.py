"""The CLI's view of the flagged-post history: the console's search
(``search.py``: same filters, same indexes, same order), cut to the columns a
terminal shows, and pure formatters (table, json, csv)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from itertools import islice

from sqlalchemy import Engine

from monitor.history.search import MAX_PAGE, HistoryFilter, iter_rows

COLUMNS = ("time", "brand", "severity", "sentiment", "risk", "source", "title", "link")


def flagged_posts(engine: Engine, *, brand: str | None = None, min_severity: str | None = None,
                  since: datetime | None = None, limit: int = 100) -> list[dict]:
    """Flagged mentions, newest first. ``min_severity`` keeps that level and above."""
    found = HistoryFilter(brand=brand, severity=min_severity, since=since)
    rows = islice(iter_rows(engine, found, batch=min(limit, MAX_PAGE)), limit)
    return [_short(row) for row in rows]


def _short(row: dict) -> dict:
    """A search row as the CLI prints it: two decimals, the title or the text's start."""
    return {"time": row["time"], "brand": row["brand"], "severity": row["severity"] or "-",
            "sentiment": round(row["sentiment"], 2), "risk": round(row["risk"], 2),
            "source": row["source"], "title": (row["title"] or row["text"])[:200],
            "link": row["link"], "language": row["language"], "reasons": row["reasons"]}


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
