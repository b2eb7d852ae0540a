"""Stage work is claimed by state, not by an id cursor (issue 17, item 1).

On PostgreSQL, ids from two writers commit out of order: a post that commits
after a later id was already processed must still be scored, and two stage
runners at once must neither skip a post, nor score one twice, nor roll back a
pass on a unique key."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from alerts.notify import SendResult
from db.engine import open_database, session
from db.models import Alert, Delivery, EngagementSnapshot, Incident, Mention, Post, Source
from monitor.config import Config, parse_config
from monitor.detection.severity import Rules
from monitor.scoring.backends import scorer_for
from monitor.stages.chain import Stages
from monitor.stages.detect import run_detect
from monitor.stages.score import run_monitor
from monitor.stages.sync import sync_config

pytestmark = pytest.mark.postgres

CONFIG = Config()
COMPLAINT = "My Acme phone exploded and support was rude and useless. Terrible, refund now!"
NEUTRAL = "Acme released a new phone today."


def _setup(url: str, tmp_path: Path):  # noqa: ANN202 - (Engine, Config)
    engine = open_database(url)
    config = parse_config({"database": url,
                           "brands": [{"name": "Acme", "keywords": ["Acme"]}],
                           "channels": [{"name": "pr", "url": "json://localhost/x"}]},
                          base=tmp_path, env={})
    sync_config(engine, config)
    with session(engine) as s, s.begin():
        s.add(Source(name="forum", url="https://forum.example/"))
    return engine, config


def _post(s: Session, n: int, text: str) -> None:
    src = s.exec(select(Source)).one()
    s.add(Post(source_id=src.id, entry_key=f"p{n}", fingerprint=f"f{n}", title="",
               text=f"{text} #{n}"))


def _unscored(engine) -> list[int]:  # noqa: ANN001
    with session(engine) as s:
        scored = select(Mention.post_id)
        return list(s.exec(select(Post.id).where(Post.id.not_in(scored))).all())


def test_a_post_that_commits_behind_a_later_one_is_still_scored(pg_url, tmp_path):
    engine, _config = _setup(pg_url, tmp_path)
    scorer = scorer_for(CONFIG)
    slow = session(engine)
    slow.begin()
    _post(slow, 1, COMPLAINT)
    slow.flush()  # id N is taken, not committed
    with session(engine) as s, s.begin():
        _post(s, 2, COMPLAINT)  # id N+1 commits first
    assert run_monitor(engine, scorer, 0.5).posts == 1
    slow.commit()
    slow.close()
    assert run_monitor(engine, scorer, 0.5).posts == 1  # N, committed late
    assert _unscored(engine) == []
    assert run_monitor(engine, scorer, 0.5).posts == 0  # and never twice


def test_a_reply_count_that_commits_behind_a_later_one_still_reassesses(pg_url, tmp_path):
    engine, _config = _setup(pg_url, tmp_path)
    with session(engine) as s, s.begin():
        _post(s, 1, COMPLAINT)
    run_monitor(engine, scorer_for(CONFIG), 0.5)
    t0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    run_detect(engine, Rules(), timedelta(hours=6), now=t0)
    with session(engine) as s:
        incident, post_id = s.exec(select(Incident.id)).one(), s.exec(select(Post.id)).one()
    slow = session(engine)
    slow.begin()
    slow.add(EngagementSnapshot(post_id=post_id, replies=40))
    slow.flush()  # id N is taken, not committed
    with session(engine) as s, s.begin():
        s.add(EngagementSnapshot(post_id=None, thread_id=None, replies=1))  # N+1 commits
    run_detect(engine, Rules(), timedelta(hours=6), now=t0 + timedelta(minutes=1))
    slow.commit()
    slow.close()
    later = t0 + timedelta(minutes=2)
    run_detect(engine, Rules(), timedelta(hours=6), now=later)
    with session(engine) as s:
        assert s.get(Incident, incident).assessed_at == later  # N was read after all


def test_two_daemons_under_a_growing_stream_score_each_post_once(pg_url, tmp_path):
    engine, config = _setup(pg_url, tmp_path)
    sent: list[str] = []
    stages = [Stages(engine, config, scorer=scorer_for(CONFIG),
                     send=lambda m: sent.append(m.title) or SendResult(True, None))
              for _ in range(2)]
    errors: list[BaseException] = []
    stop = threading.Event()
    counter = iter(range(1, 10**6))
    lock = threading.Lock()

    def write(seed: int) -> None:  # a fetcher: short transactions that commit out of order
        rng = random.Random(seed)
        while not stop.is_set():
            with session(engine) as s, s.begin():
                for _ in range(rng.randint(1, 4)):
                    with lock:
                        n = next(counter)
                    _post(s, n, COMPLAINT if n % 5 == 0 else NEUTRAL)
                    s.flush()
                time.sleep(rng.uniform(0, 0.05))

    def run(st: Stages) -> None:  # a daemon's stage loop
        while not stop.is_set():
            try:
                st.run()
            except Exception as exc:  # noqa: BLE001 - an aborted pass is the failure
                errors.append(exc)

    threads = ([threading.Thread(target=write, args=(i,)) for i in range(2)]
               + [threading.Thread(target=run, args=(st,)) for st in stages])
    for t in threads:
        t.start()
    time.sleep(8)
    stop.set()
    for t in threads:
        t.join(60)
    stages[0].run()
    assert errors == []
    with session(engine) as s:
        posts = s.exec(select(func.count()).select_from(Post)).one()
        per_post = s.exec(select(Mention.post_id, func.count()).group_by(Mention.post_id)).all()
        unscored = s.exec(select(func.count()).select_from(Post)
                          .where(Post.scored_at == None)).one()  # noqa: E711
        keys = s.exec(select(Alert.dedup_key)).all()
        deliveries = s.exec(select(Delivery.alert_id, Delivery.channel_id)).all()
    assert posts > 50
    assert len(per_post) == posts and {n for _, n in per_post} == {1}
    assert unscored == 0
    assert keys and len(keys) == len(set(keys))
    assert len(deliveries) == len(set(deliveries)) == len(keys)
    assert len(sent) == len(keys)


REPOST = "RT @angry: My Acme phone exploded and support was rude and useless. Terrible, refund now!"


def test_grouping_waits_for_an_earlier_post_another_daemon_is_still_scoring(pg_url, tmp_path):
    """Daemon A holds the first post mid-scoring (its claim is a row lock); daemon B
    scores the repost fetched a minute later and runs detection. B must not open the
    incident on the repost: the incident is the same one daemon would make, opened at
    and titled by the first post."""
    engine, _config = _setup(pg_url, tmp_path)
    scorer, t0 = scorer_for(CONFIG), datetime.now(UTC) - timedelta(minutes=5)
    with session(engine) as s, s.begin():
        src = s.exec(select(Source)).one()
        first = Post(source_id=src.id, entry_key="a", fingerprint="a", title="",
                     text=COMPLAINT, fetched_at=t0)
        s.add(first)
        s.add(Post(source_id=src.id, entry_key="b", fingerprint="b", title="", text=REPOST,
                   fetched_at=t0 + timedelta(minutes=1)))
        s.flush()
        first_id = first.id
    daemon_a = session(engine)
    daemon_a.begin()
    daemon_a.exec(select(Post).where(Post.id == first_id).with_for_update()).one()
    assert run_monitor(engine, scorer, 0.5).posts == 1  # B scores the repost only
    assert run_detect(engine, Rules(), timedelta(hours=6)).mentions == 0  # and waits
    daemon_a.rollback()
    daemon_a.close()
    assert run_monitor(engine, scorer, 0.5).posts == 1
    assert run_detect(engine, Rules(), timedelta(hours=6)).mentions == 2
    with session(engine) as s:
        incident = s.exec(select(Incident)).one()
        assert incident.opened_at == t0
        assert incident.title == COMPLAINT[:120]
        grouped = s.exec(select(Mention.grouped_by).join(Post, Mention.post_id == Post.id)
                         .order_by(Post.fetched_at)).all()
    assert grouped[0] == "new incident" and grouped[1] != "new incident"
