"""A dispatcher's claim is leased from the moment it claims (issue 20): a pass
whose first sends outlasted the lease must not date a later claim from the
pass's start, or another dispatcher takes that delivery at once and the message
goes out twice."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from alerts.notify import SendResult
from alerts.outbox import Message, Outbox, dispatch, plan_deliveries
from db.models import utcnow
from tests.test_alert_workflow import BOOKS, _alert, _engine


def test_a_claim_late_in_a_slow_pass_is_leased_from_the_claim(tmp_path: Path) -> None:
    engine = _engine(tmp_path, [{"name": "pr", "url": "json://127.0.0.1:9/x"}])
    for n in range(2):
        _alert(engine, "warning", title=f"Acme support hung up on me, call {n}")
    assert plan_deliveries(engine, BOOKS, now=utcnow()) == 2
    box = Outbox(BOOKS, lease=timedelta(seconds=1))
    sent: list[str] = []

    def other(message: Message) -> SendResult:  # a second dispatcher
        sent.append("other")
        return SendResult(True, None)

    def slow(message: Message) -> SendResult:
        sent.append("slow")
        if len(sent) == 1:
            time.sleep(1.5)  # the first send outlasts the lease
        else:  # the other dispatcher passes while the second is being sent
            dispatch(engine, box, send=other)
        return SendResult(True, None)

    assert dispatch(engine, box, send=slow, batch=1).sent == 2
    assert sent == ["slow", "slow"]
