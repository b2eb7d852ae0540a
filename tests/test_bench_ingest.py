"""bench/ingest.py serves real posts as RSS the crawler reads: every body parses to
its entries, each post first appears once with its text, a body repeats at most
``overlap`` entries served before, and the polls do not depend on the clock."""

from __future__ import annotations

import pytest

from bench.ingest import build_polls
from crawlers.extractors.feed import read_feed
from tests.conftest import SHARED_DATA

pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not SHARED_DATA.is_dir(),
                                 reason=f"{SHARED_DATA} is not there (real datasets)")]


def test_polls_serve_each_post_once_new_and_a_few_again() -> None:
    polls, brands, posts = build_polls(days=1, seeds=1, every=3600, overlap=3)
    assert set(brands) == {"Apple", "艾克美"}
    seen: dict[str, set[str]] = {}
    for poll in polls:
        for source, body in poll.bodies:
            items = read_feed(body, url=f"https://bench.invalid/{source}").items
            assert items and all(i.text for i in items), source
            keys = {i.entry_key for i in items}
            again = keys & seen.setdefault(source, set())
            assert len(again) <= 3 and len(keys) > len(again), (source, len(again))
            seen[source] |= keys
    assert sum(len(k) for k in seen.values()) == posts > 100
    again, _brands, _posts = build_polls(days=1, seeds=1, every=3600, overlap=3)
    assert [len(p.bodies) for p in again] == [len(p.bodies) for p in polls]
