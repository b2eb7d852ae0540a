"""Detection outcomes of a fixed stream, as a canonical dump: the guard that a
change to the detect stage's plumbing (caches, batching of writes) leaves what it
decides alone. Run it on two checkouts and compare the files:

    PYTHONPATH=/work/main python -m bench.detect_same --out /tmp/main.json
    python -m bench.detect_same --out /tmp/branch.json
    python -m bench.detect_same --compare /tmp/main.json /tmp/branch.json

The streams are ``bench/realstreams.py``'s (real posts, en and zh), replayed by
``monitor.lab.backtest`` (the daemon's stages with the clock at each poll), once
with 5-minute polls and once with 1-hour polls (more mentions a pass, so a cache
that lives for a pass is used more). Dumped: every incident (its brand, merge,
severity, times, and its members as stream post ids with how each was grouped),
every alert (brand, severity, incident, key, time, reasons, posts) and every
incident change; ids are the database's, equal when the same things happen in
the same order.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bench.realstreams import real_stream
from db.engine import make_engine, session
from db.models import Alert, Brand, Incident, IncidentChange, Mention, Post
from monitor.config import BrandConfig, Config
from monitor.lab.backtest import parse_record, replay
from monitor.scoring.backends import scorer_for


def _iso(t) -> str | None:  # noqa: ANN001
    return None if t is None else t.isoformat()


def dump_database(db: Path) -> dict:
    """What detection decided, in a form two runs can be compared by."""
    engine = make_engine(f"sqlite:///{db}")
    with session(engine) as s:
        brands = {b.id: b.name for b in s.exec(select(Brand)).all()}
        keys = dict(s.exec(select(Post.id, Post.entry_key)).all())
        members: dict[int, list] = {}
        for m in s.exec(select(Mention).order_by(Mention.id)).all():
            if m.incident_id is not None:
                members.setdefault(m.incident_id, []).append(
                    [keys[m.post_id], m.grouped_by, m.severity])
        incidents = [{"id": i.id, "brand": brands[i.brand_id], "merged_into": i.merged_into,
                      "severity": i.severity, "opened": _iso(i.opened_at),
                      "last_seen": _iso(i.last_seen_at), "resolved": _iso(i.resolved_at),
                      "mentions": i.mention_count, "category": i.category,
                      "signals": i.signals, "members": members.get(i.id, [])}
                     for i in s.exec(select(Incident).order_by(Incident.id)).all()]
        alerts = [{"brand": brands[a.brand_id], "severity": a.severity,
                   "incident": a.incident_id, "key": a.dedup_key, "at": _iso(a.created_at),
                   "reasons": a.reasons, "posts": [keys[p] for p in a.post_ids]}
                  for a in s.exec(select(Alert).order_by(Alert.id)).all()]
        changes = [[c.incident_id, _iso(c.at), c.severity, c.kind, c.reasons]
                   for c in s.exec(select(IncidentChange).order_by(IncidentChange.id)).all()]
        unchecked = [m.id for m in s.exec(select(Mention).where(
            Mention.incident_id == None, Mention.grouped_by == None)).all()]  # noqa: E711
    engine.dispose()
    return {"incidents": incidents, "alerts": alerts, "changes": changes,
            "pending": unchecked}


def run(days: int, seed: int) -> dict:
    out = {}
    for language in ("en", "zh"):
        stream = real_stream(language, seed, days)
        records = [parse_record(r, i) for i, r in enumerate(stream.records, start=1)]
        config = Config(brands=[BrandConfig(name=stream.brand, keywords=list(stream.keywords))])
        for minutes in (5, 60):
            with tempfile.TemporaryDirectory() as tmp:
                db = Path(tmp) / "replay.db"
                replay(records, config, scorer_for(config), step=timedelta(minutes=minutes),
                       database=db)
                out[f"{language} seed {seed}, {minutes}-minute polls"] = dump_database(db)
            done = out[f"{language} seed {seed}, {minutes}-minute polls"]
            print(f"{language} seed {seed}, {minutes}-minute polls: "
                  f"{len(done['incidents'])} incidents, {len(done['alerts'])} alerts", flush=True)
    return out


def compare(a: dict, b: dict) -> list[str]:
    """Differences between two dumps, one line each (empty: the same)."""
    lines = []
    for name in sorted(set(a) | set(b)):
        for part in ("incidents", "alerts", "changes", "pending"):
            x, y = a.get(name, {}).get(part, []), b.get(name, {}).get(part, [])
            if x != y:
                diff = [i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q]
                lines.append(f"{name}: {part} differ ({len(x)} vs {len(y)}; first differing "
                             f"at {diff[:5]})")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", type=Path, nargs=2)
    args = parser.parse_args(argv)
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        lines = compare(a, b)
        print("\n".join(lines) or f"the same: {', '.join(sorted(a))}")
        sys.exit(1 if lines else 0)
    result = run(args.days, args.seed)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
