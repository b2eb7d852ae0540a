"""Workers killed mid-work on PostgreSQL (issue 20): 3 crawl, 2 process and 2
dispatch workers, real ``crisiswatch run --role`` subprocesses, against a local
site whose feeds gain posts in waves and a local ``json://`` receiver; one worker
of each role is killed with SIGKILL while it works:

- a crawl worker while it holds source leases (a wave was just revealed);
- a process worker while its database session is inside a transaction;
- a dispatcher while the receiver holds its request open (the message arrived,
  the dispatcher never learns it did: the one resend a dead dispatcher may cause).

Then it checks what a PR team relies on: every served post stored once and
processed (scored, its mentions grouped), every alert key received, at most one
resend per killed dispatcher, no source's poll gap over its interval plus the
lease (plus two scheduler ticks and 1.5 s of slack for a loaded machine).

Determinism: ``--compare`` runs the same waves through one ``--role all`` process
first and compares posts, mentions, incidents and alerts (incidents by their
member posts, alerts by brand, severity and incident: serial ids differ).

A wave is revealed once the previous one is stored and processed, so both runs
see the same arrival order (grouping follows fetch order; ``wave`` has one
flagged post per brand per wave). Run: ``python -m bench.fault [--waves 8]
[--compare]``; writes ``bench/results/fault.md``. ``tests/test_fault_kill.py``
runs a short version.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import Engine, text

from bench.scheduler import PG_ADMIN, postgres
from db.engine import make_engine
from monitor.lab.localsite import Entry, FeedSite, LoopbackServer, QuietHandler

ROOT = Path(__file__).resolve().parent.parent
BRANDS = ("Acme", "Globex", "Initech")
TOPICS = (
    "my {b} phone battery caught fire overnight and burned the desk, this is dangerous",
    "{b} charged my card three times for one order and billing refuses to refund me, scam",
    "{b} leaked my home address and password in a data breach and never told customers",
    "the {b} courier lost my parcel and support hung up on me twice, worst service ever",
    "{b} app crashes every time I open it after the update and I lost all my photos, awful",
    "{b} cancelled my account without warning and kept my money, absolutely disgraceful",
)
CHATTER = ("{b} opened store number {k} downtown today", "{b} released firmware {k} this morning",
           "nice weather for picnic number {k} in the park", "which bus goes to {b} office {k}")
INTERVAL, LEASE, TICK = 2.0, 6.0, 0.5
SLACK = 1.5  # seconds of fetch, store and scheduling delay allowed on a loaded machine
# a dead worker's source: claimed up to a tick after it was due, its lease lapses a
# lease later, the next claim comes up to a tick after that
GAP_BOUND = INTERVAL + LEASE + 2 * TICK + SLACK
KEY = re.compile(r"Alert key: (\S+)")


def feeds() -> list[str]:
    return [f"{b.lower()}-{i}" for b in BRANDS for i in range(3)]


def wave(k: int) -> dict[str, list[Entry]]:
    """Wave ``k``'s new entries per feed: per brand, a complaint on a new topic (feed
    0, even waves) or a repost of the last one (feed 1, odd waves), and chatter
    (feed 2). One flagged post per brand per wave: the brand's volume reading counts
    the flagged mentions scored by the time detection runs, so two flagged posts of
    one brand fetched from two feeds in either order could read differently."""
    out: dict[str, list[Entry]] = {}
    for b in BRANDS:
        name = b.lower()
        topic = TOPICS[(k // 2) % len(TOPICS)].format(b=b)
        if k % 2 == 0:
            out[f"{name}-0"] = [Entry(f"{name}-w{k}-c", f"{b} complaint {k}", topic)]
        else:
            out[f"{name}-1"] = [Entry(f"{name}-w{k}-r", "", f"RT @angry{k}: {topic}")]
        out[f"{name}-2"] = [Entry(f"{name}-w{k}-n{j}", "", CHATTER[(k + j) % 4].format(b=b, k=k))
                            for j in range(2)]
    return out


# ------------------------------------------------------------------ the receiver


@dataclass
class Receiver:
    """A ``json://`` receiver that records each message's alert key; with ``catch``
    set it holds the next request open until ``release`` (``caught`` is the
    sender's TCP port), so the sender can be killed after the message arrived."""

    keys: list[str] = field(default_factory=list)
    catch: bool = False
    caught: int | None = None
    released: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                data = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                receiver.keys.extend(KEY.findall(data.get("message", "")))
                if receiver.catch:
                    receiver.catch, receiver.caught = False, self.client_address[1]
                    receiver.arrived.set()
                    receiver.released.wait(60)
                try:
                    self.reply(200, b"ok")
                except OSError:  # the sender was killed meanwhile
                    pass

        self.server = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"


class TimedRequests(list):
    """``FeedSite.requests`` that also notes when each request came."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, item) -> None:  # noqa: ANN001
        super().append(item)
        self.times.append(time.monotonic())


# ------------------------------------------------------------------ processes


def socket_owner(port: int, pids: list[int]) -> int | None:
    """The pid among ``pids`` whose TCP socket has local port ``port`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                continue
    return None


def local_ports(pid: int) -> set[int]:
    """Local ports of ``pid``'s TCP sockets (its database connections among them)."""
    owned = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                owned.add(link[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                cols = line.split()
                if cols[9] in owned:
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


@dataclass
class Worker:
    role: str
    proc: subprocess.Popen
    log: Path
    killed: bool = False


@dataclass
class Run:
    """One run's stack: the site, the receiver, the database and the workers."""

    url: str
    workdir: Path
    site: FeedSite
    receiver: Receiver
    engine: Engine
    workers: list[Worker] = field(default_factory=list)
    served: list[str] = field(default_factory=list)
    kills: dict[str, str] = field(default_factory=dict)  # role: how it was caught

    def count(self, sql: str) -> int:
        try:
            with self.engine.connect() as conn:
                return conn.execute(text(sql)).scalar_one()
        except Exception:  # noqa: BLE001 - the schema is not there yet
            return -1

    def start(self, role: str, n: int, config: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "CRISISWATCH_DATABASE"}
        env["PYTHONPATH"] = str(ROOT)
        for i in range(n):
            log = self.workdir / f"{role}-{i}.log"
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "run", "--role", role, "--config",
                 str(config)], cwd=ROOT, env=env, stdout=log.open("w"),
                stderr=subprocess.STDOUT)
            self.workers.append(Worker(role, proc, log))

    def alive(self, role: str) -> list[Worker]:
        return [w for w in self.workers if w.role == role and not w.killed]

    def settled(self) -> bool:
        """Every served post stored and scored, every mention grouped."""
        return (self.count("SELECT count(*) FROM post") == len(self.served)
                and self.count("SELECT count(*) FROM post WHERE scored_at IS NULL") == 0
                and self.count("SELECT count(*) FROM mention WHERE incident_id IS NULL "
                               "AND grouped_by IS NULL") == 0)

    def delivered(self) -> bool:
        """Every alert planned, and every delivery sent."""
        return (self.count("SELECT count(*) FROM alert WHERE rendered_at IS NULL") == 0
                and self.count("SELECT count(*) FROM delivery WHERE status <> 'sent'") == 0
                and self.count("SELECT count(*) FROM delivery") >= 0)

    def reveal(self, k: int) -> None:
        for name, entries in wave(k).items():
            self.site.feeds[name].extend(entries)
            self.served += [f"{name}/{e.id}" for e in entries]

    def kill(self, w: Worker, how: str) -> None:
        w.proc.send_signal(signal.SIGKILL)
        w.proc.wait()
        w.killed = True
        self.kills[w.role] = how


def wait_for(predicate, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def write_config(path: Path, url: str, site: FeedSite, receiver: Receiver) -> Path:
    data = {"database": url,
            "brands": [{"name": b, "keywords": [b]} for b in BRANDS],
            "sources": [{"name": f, "kind": "feed", "url": f"{site.base}/{f}.xml",
                         "interval": INTERVAL} for f in feeds()],
            "channels": [{"name": "pr", "url": receiver.url, "min_severity": "notice"}],
            "fetch": {"lease": LEASE, "autothrottle": False},
            "alerts": {"lease": LEASE, "silent_source": {"enabled": False}}}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------ one run


@dataclass
class Outcome:
    """What one run left: the checks' inputs and a snapshot for ``--compare``."""

    served: list[str]
    stored: Counter
    unscored: int
    ungrouped: int
    alert_keys: list[str]
    received: Counter
    undelivered: int
    gaps: dict[str, float]
    kills: dict[str, str]
    tracebacks: dict[str, int]
    exits: dict[str, int]
    snapshot: dict[str, list]
    seconds: float

    @property
    def resends(self) -> int:
        return sum(n - 1 for n in self.received.values() if n > 1)

    @property
    def max_gap(self) -> float:
        return max(self.gaps.values(), default=0.0)

    def problems(self, killed_dispatchers: int) -> list[str]:
        """Every broken promise, in words (empty: the run kept them all)."""
        out = []
        missing = [p for p in self.served if self.stored[p] == 0]
        twice = [p for p, n in self.stored.items() if n > 1]
        extra = sorted(set(self.stored) - set(self.served))
        out += [f"served but not stored: {missing}"] if missing else []
        out += [f"stored twice: {twice}"] if twice else []
        out += [f"stored but never served: {extra}"] if extra else []
        out += [f"{self.unscored} posts not scored"] if self.unscored else []
        out += [f"{self.ungrouped} mentions not grouped"] if self.ungrouped else []
        lost = sorted(set(self.alert_keys) - set(self.received))
        out += [f"alert keys never received: {lost}"] if lost else []
        out += [f"{self.undelivered} deliveries not sent"] if self.undelivered else []
        if self.resends > killed_dispatchers:
            out.append(f"{self.resends} resends for {killed_dispatchers} killed dispatchers: "
                       f"{[k for k, n in self.received.items() if n > 1]}")
        late = {f: round(g, 1) for f, g in self.gaps.items() if g > GAP_BOUND}
        out += [f"poll gaps over {GAP_BOUND:g} s: {late}"] if late else []
        broken = {r: n for r, n in self.tracebacks.items() if n}
        out += [f"tracebacks in the logs of surviving workers: {broken}"] if broken else []
        failed = {r: c for r, c in self.exits.items() if c != 0}
        out += [f"surviving workers exited non-zero: {failed}"] if failed else []
        return out


def run(url: str, workdir: Path, roles: dict[str, int], *, waves: int, kill: bool,
        timeout: float = 120.0, startup: float = 400.0) -> Outcome:
    """Start ``roles`` (role: how many) against a fresh site, reveal ``waves`` waves
    (each once the last is stored and processed: ``timeout``, the first ``startup``
    while the workers start), killing one worker of each role (``kill``) on the way;
    stop the survivors with SIGTERM and read the outcome."""
    site, receiver = FeedSite(), Receiver()
    site.requests = TimedRequests()
    site.feeds = {f: [] for f in feeds()}
    site.server.start()
    receiver.server.start()
    engine = make_engine(url)
    r = Run(url, workdir, site, receiver, engine)
    config = write_config(workdir / "crisiswatch.yaml", url, site, receiver)
    began = time.monotonic()
    try:
        for role, n in roles.items():
            r.start(role, n, config)
        for k in range(waves):
            r.reveal(k)
            if kill and k == 1:
                _kill_crawler(r)
            if kill and k == 2:
                _kill_processor(r)
            if kill and k >= 3 and not any(w.killed for w in r.workers if w.role == "dispatch"):
                _kill_dispatcher(r, last=k == waves - 1)
            wait_for(r.settled, timeout if k else startup, f"wave {k} stored and processed")
        wait_for(lambda: r.delivered() and set(_keys(engine)) <= set(receiver.keys),
                 timeout, "every alert delivered")
        stopped = time.monotonic()
    finally:
        receiver.released.set()
        for w in r.workers:
            if not w.killed and w.proc.poll() is None:
                w.proc.send_signal(signal.SIGTERM)
        for w in r.workers:
            try:
                w.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                w.proc.kill()
        site.server.stop()
        receiver.server.stop()
    try:
        return _outcome(r, site, stopped, time.monotonic() - began)
    finally:
        engine.dispose()


def _keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT dedup_key FROM alert")).scalars())


def _kill_crawler(r: Run) -> None:
    """Kill a crawl worker the moment it holds a lease (a poll in flight)."""
    pids = {w.proc.pid: w for w in r.alive("crawl")}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with r.engine.connect() as conn:
            owners = conn.execute(text("SELECT lease_owner FROM source WHERE "
                                       "lease_owner IS NOT NULL")).scalars().all()
        held = Counter(int(o.split(":")[1]) for o in owners)
        for pid, n in held.items():
            if pid in pids:
                r.kill(pids[pid], f"holding {n} source leases")
                return
        time.sleep(0.01)
    r.kill(next(iter(pids.values())), "holding no lease (none seen in 15 s)")


def _kill_processor(r: Run) -> None:
    """Kill a process worker while one of its database sessions is in a transaction."""
    workers = r.alive("process")
    deadline = time.monotonic() + 20
    sql = text("SELECT client_port FROM pg_stat_activity WHERE datname = current_database() "
               "AND xact_start IS NOT NULL AND pid <> pg_backend_pid()")
    while time.monotonic() < deadline:
        with r.engine.connect() as conn:
            busy = set(conn.execute(sql).scalars())
        for w in workers:
            if busy & local_ports(w.proc.pid):
                r.kill(w, "inside a database transaction")
                return
        time.sleep(0.01)
    r.kill(workers[0], "not seen inside a transaction in 20 s")


def _kill_dispatcher(r: Run, *, last: bool) -> None:
    """Hold the next message open at the receiver and kill the dispatcher sending it:
    the message arrived and the dispatcher never marks it sent."""
    r.receiver.catch = True
    if not r.receiver.arrived.wait(60):
        if not last:  # this wave alerted nothing new: try again on the next one
            return
        r.kill(r.alive("dispatch")[0], "no message seen in 60 s")
        return
    workers = r.alive("dispatch")
    pid = socket_owner(r.receiver.caught, [w.proc.pid for w in workers])
    target = next((w for w in workers if w.proc.pid == pid), None)
    if target is None:
        r.receiver.released.set()
        r.kill(workers[0], "the held message came from no dispatcher")
        return
    r.kill(target, "while the receiver held its message open")
    r.receiver.released.set()


def _outcome(r: Run, site: FeedSite, stopped: float, seconds: float) -> Outcome:
    with r.engine.connect() as conn:
        stored = Counter(f"{s}/{k.rsplit('/', 1)[-1]}" for s, k in conn.execute(text(
            "SELECT s.name, p.entry_key FROM post p JOIN source s ON s.id = p.source_id")))
        undelivered = conn.execute(text(
            "SELECT count(*) FROM delivery WHERE status <> 'sent'")).scalar_one()
    gaps: dict[str, float] = {}
    last: dict[str, float] = {}
    for (path, _inm, _status), at in zip(list(site.requests), list(site.requests.times),
                                        strict=False):
        if not path.endswith(".xml") or at > stopped:
            continue
        name = path.strip("/").removesuffix(".xml")
        if name in last:
            gaps[name] = max(gaps.get(name, 0.0), at - last[name])
        last[name] = at
    survivors = [w for w in r.workers if not w.killed]
    tracebacks = Counter()
    for w in survivors:
        tracebacks[w.role] += w.log.read_text(errors="replace").count("Traceback")
    return Outcome(
        served=list(r.served), stored=stored,
        unscored=r.count("SELECT count(*) FROM post WHERE scored_at IS NULL"),
        ungrouped=r.count("SELECT count(*) FROM mention WHERE incident_id IS NULL "
                          "AND grouped_by IS NULL"),
        alert_keys=_keys(r.engine), received=Counter(r.receiver.keys),
        undelivered=undelivered, gaps=gaps, kills=dict(r.kills),
        tracebacks=dict(tracebacks),
        exits={f"{w.role}-{i}": w.proc.returncode for i, w in enumerate(survivors)},
        snapshot=snapshot(r.engine), seconds=seconds)


def snapshot(engine: Engine) -> dict[str, list]:
    """Posts, mentions, incidents and alerts with serial ids left out: incidents by
    their member posts, alerts by brand, severity and their incident's members."""
    post = "s.name || '/' || regexp_replace(p.entry_key, '^.*/', '')"  # the feed's entry id
    with engine.connect() as conn:
        def rows(sql: str) -> list:
            return sorted(tuple(r) for r in conn.execute(text(sql)))

        members = {}
        for inc, key in conn.execute(text(
                f"SELECT m.incident_id, {post} FROM mention m JOIN post p ON p.id = m.post_id "
                "JOIN source s ON s.id = p.source_id WHERE m.incident_id IS NOT NULL")):
            members.setdefault(inc, []).append(key)
        incidents = [(b, sev, tuple(sorted(members.get(i, [])))) for i, b, sev in conn.execute(
            text("SELECT i.id, b.name, i.severity FROM incident i JOIN brand b ON "
                 "b.id = i.brand_id WHERE i.merged_into IS NULL"))]
        alerts = [(b, sev, tuple(sorted(members.get(i, [])))) for i, b, sev in conn.execute(
            text("SELECT a.incident_id, b.name, a.severity FROM alert a JOIN brand b ON "
                 "b.id = a.brand_id"))]
        return {
            "posts": rows(f"SELECT {post} FROM post p JOIN source s ON s.id = p.source_id"),
            "mentions": rows(f"SELECT {post}, b.name, m.flagged, round(m.risk::numeric, 3), "
                             "m.incident_id IS NOT NULL FROM mention m JOIN post p ON "
                             "p.id = m.post_id JOIN source s ON s.id = p.source_id JOIN "
                             "brand b ON b.id = m.brand_id"),
            "incidents": sorted(incidents), "alerts": sorted(alerts)}


def differences(a: dict[str, list], b: dict[str, list]) -> dict[str, tuple[list, list]]:
    """Per kind, what only ``a`` has and what only ``b`` has (empty: the same)."""
    out = {}
    for kind in a:
        only_a = sorted((Counter(map(repr, a[kind])) - Counter(map(repr, b[kind]))).elements())
        only_b = sorted((Counter(map(repr, b[kind])) - Counter(map(repr, a[kind]))).elements())
        if only_a or only_b:
            out[kind] = (only_a, only_b)
    return out


WORKERS = {"crawl": 3, "process": 2, "dispatch": 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waves", type=int, default=8)
    parser.add_argument("--compare", action="store_true",
                        help="first run the same waves through one --role all process")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/fault.md")
    args = parser.parse_args()
    import tempfile

    lines = [f"# Workers killed mid-work on PostgreSQL\n\n`python -m bench.fault --waves "
             f"{args.waves}{' --compare' if args.compare else ''}`, "
             f"{time.strftime('%Y-%m-%d')}.\n"]
    base = None
    if args.compare:
        with tempfile.TemporaryDirectory() as tmp, postgres(PG_ADMIN) as url:
            base = run(url, Path(tmp), {"all": 1}, waves=args.waves, kill=False)
        lines.append(f"- one `--role all` process: {len(base.served)} posts served, "
                     f"{len(base.alert_keys)} alerts, {base.seconds:.0f} s; problems: "
                     f"{base.problems(0) or 'none'}")
    with tempfile.TemporaryDirectory() as tmp, postgres(PG_ADMIN) as url:
        out = run(url, Path(tmp), WORKERS, waves=args.waves, kill=True)
    lines += [f"- 3 crawl + 2 process + 2 dispatch, one of each killed: {len(out.served)} "
              f"posts served, {sum(out.stored.values())} stored, {len(out.alert_keys)} "
              f"alerts, {sum(out.received.values())} messages received ({out.resends} "
              f"resends), longest poll gap {out.max_gap:.1f} s (bound "
              f"{GAP_BOUND:g} s), {out.seconds:.0f} s",
              f"- kills: {out.kills}",
              f"- problems: {out.problems(1) or 'none'}"]
    if base is not None:
        diff = differences(base.snapshot, out.snapshot)
        counts = {k: len(v) for k, v in out.snapshot.items()}
        lines.append(f"- same posts, mentions, incidents and alerts as one `all` process "
                     f"({counts}): {'yes' if not diff else 'NO: ' + repr(diff)}")
    text_out = "\n".join(lines) + "\n"
    args.out.write_text(text_out, encoding="utf-8")
    print(text_out)


if __name__ == "__main__":
    main()
