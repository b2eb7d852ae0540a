"""A crawl worker's start-up with many sources (issue 20): reading the config
file and ``sync_config`` into a fresh database, then again into the same one
(a restart: nothing changed), then after one source's URL changed and one was
dropped from the file. Wall and CPU seconds of each step, PostgreSQL and SQLite.

``--before DIR`` runs the same steps from another checkout (e.g. main) in the
same run. Each side runs in its own process (``python -c`` with the checkout as
the working directory), so each imports its own code. Run:
``python -m bench.config_sync [--sources 10000] [--before DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.machine import cpu_name
from bench.scheduler import PG_ADMIN, postgres, sqlite

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "config_sync.md"

# run by each side in its own checkout: prints {step: [wall s, cpu s]} as JSON
SIDE = '''
import json, sys, time
from pathlib import Path
from db.engine import open_database
from monitor.config import load_config
from monitor.stages.sync import sync_config
path = Path(sys.argv[1])
out = {}
def timed(name, fn):
    w, c = time.perf_counter(), time.process_time()
    value = fn()
    out[name] = [time.perf_counter() - w, time.process_time() - c]
    return value
cfg = timed("read config", lambda: load_config(path))
engine = open_database(cfg.database)
timed("first sync (all new)", lambda: sync_config(engine, cfg))
timed("second sync (unchanged)", lambda: sync_config(engine, cfg))
changed = cfg.model_copy(update={"sources": [
    cfg.sources[0].model_copy(update={"url": cfg.sources[0].url + "?moved"}),
    *cfg.sources[2:]]})
timed("third sync (1 moved, 1 dropped)", lambda: sync_config(engine, changed))
print(json.dumps(out))
'''


def write_config(path: Path, database: str, sources: int) -> None:
    path.write_text(yaml.safe_dump({
        "database": database,
        "brands": [{"name": "Acme", "keywords": ["acme"]}],
        "sources": [{"name": f"feed-{i}", "kind": "feed",
                     "url": f"http://127.0.0.{2 + i % 100}:8080/f/{i}.xml", "interval": 300}
                    for i in range(sources)]}), encoding="utf-8")


def run_side(checkout: Path, config: Path) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", SIDE, str(config)], cwd=checkout, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--before", type=Path, help="another checkout to run as well")
    parser.add_argument("--admin", default=PG_ADMIN)
    args = parser.parse_args()
    sides = {"this branch": ROOT, **({"before": args.before} if args.before else {})}
    command = " ".join(["python -m bench.config_sync", *sys.argv[1:]])
    lines = [f"# Start-up with {args.sources:,} sources: config read and sync", "",
             f"`{command}` on {cpu_name()}, {time.strftime('%Y-%m-%d')} (2 cores, other "
             "work running); wall s / CPU s of the calling process (the database's own "
             "work shows in wall only)", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("PostgreSQL", "SQLite"):
            lines += [f"{backend}:"]
            for name, checkout in sides.items():
                ctx = postgres(args.admin) if backend == "PostgreSQL" else sqlite(Path(tmp))
                with ctx as url:
                    config = Path(tmp) / "sync.yaml"
                    write_config(config, url, args.sources)
                    steps = run_side(checkout, config)
                lines.append(f"- {name}: " + "; ".join(
                    f"{step} {wall:.2f} / {cpu:.2f}" for step, (wall, cpu) in steps.items()))
            lines.append("")
    text = "\n".join(lines)
    print(text)
    OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
