"""A local stand-in for Hacker News's two JSON APIs, serving our own fixtures.

The fixtures in ``tests/sample_data/hackernews/`` are written by hand in the shape
of the real responses, copied from the public documentation:

* ``search_by_date.json``: Algolia's HN Search API as documented at
  https://hn.algolia.com/api (``/api/v1/search_by_date``: ``hits[]`` with
  ``objectID``, ``created_at``, ``created_at_i``, ``author``, ``_tags``; stories
  with ``title``, ``url``, ``story_text``, ``points``, ``num_comments``; comments
  with ``comment_text``, ``story_id``, ``story_title``, ``story_url``,
  ``parent_id``; and ``nbHits``, ``nbPages``, ``page``, ``hitsPerPage``, ``query``,
  ``params``, ``processingTimeMS`` around them);
* ``item_41230001.json``: the official API's item as documented at
  https://github.com/HackerNews/API (``/v0/item/<id>.json``: ``by``,
  ``descendants``, ``id``, ``kids``, ``score``, ``time``, ``title``, ``type``,
  ``text``, ``url``).

The server answers like Algolia does for what the crawler asks: the hits whose
text contains the query (a plain substring, Algolia is fuzzier), of the tags
asked, passing ``numericFilters`` on ``created_at_i`` (``>``, ``>=``, ``<``,
``<=``), newest first, ``hitsPerPage`` per ``page``. Timestamps are moved so the
newest fixture hit is ten minutes old: the daemon ignores posts older than its
look-back.
"""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from monitor.lab.localsite import LoopbackServer, QuietHandler

DATA = Path(__file__).parent / "sample_data" / "hackernews"
STORY = 41230001
_FILTER = re.compile(r"^created_at_i(>=|<=|>|<)(\d+)$")


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_fixture(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class FakeHackerNews:
    """``/api/v1/search_by_date`` over ``hits`` and ``/v0/item/<id>.json`` over
    ``items``; ``requests`` logs every path asked."""

    def __init__(self) -> None:
        answer = load_fixture("search_by_date.json")
        self.envelope = {k: v for k, v in answer.items() if k != "hits"}
        newest = max(h["created_at_i"] for h in answer["hits"])
        self.shift = int(time.time()) - 600 - newest
        self.hits: list[dict] = []
        self.items: dict[int, dict] = {}
        self.requests: list[str] = []
        for hit in answer["hits"]:
            self.add_hit(hit, shift=True)
        self.add_item(load_fixture(f"item_{STORY}.json"))
        self.server = LoopbackServer(self._handler()).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def search_api(self) -> str:
        return f"{self.base}/api/v1"

    @property
    def items_api(self) -> str:
        return f"{self.base}/v0"

    def stop(self) -> None:
        self.server.stop()

    def add_hit(self, hit: dict, *, shift: bool = False) -> dict:
        """A hit as Algolia stores it; ``shift`` moves a fixture's time to now."""
        hit = copy.deepcopy(hit)
        if shift:
            hit["created_at_i"] += self.shift
        hit["created_at"] = _iso(hit["created_at_i"])
        self.hits.append(hit)
        return hit

    def add_item(self, item: dict) -> None:
        item = copy.deepcopy(item)
        item["time"] += self.shift
        self.items[item["id"]] = item

    def comment(self, ident: int, when: int, text: str, story: int = STORY) -> dict:
        """A comment hit shaped like the fixture's, on ``story``."""
        first = next(h for h in self.hits if "comment" in h["_tags"])
        hit = {**copy.deepcopy(first), "objectID": str(ident), "created_at_i": when,
               "comment_text": text, "story_id": story, "parent_id": story,
               "_tags": ["comment", "author_someone", f"story_{story}"], "author": "someone"}
        return self.add_hit(hit)

    def search(self, query: dict[str, list[str]]) -> dict:
        term = query.get("query", [""])[0].casefold()
        tags = query.get("tags", ["(story,comment)"])[0].strip("()").split(",")
        chosen = [h for h in self.hits if any(t in h["_tags"] for t in tags)
                  and term in " ".join(str(h.get(f) or "") for f in (
                      "title", "story_text", "comment_text", "url")).casefold()]
        for cond in (query.get("numericFilters", [""])[0].split(",")):
            if m := _FILTER.match(cond.replace(" ", "")):
                op, n = m.group(1), int(m.group(2))
                test = {">": int.__gt__, ">=": int.__ge__, "<": int.__lt__, "<=": int.__le__}[op]
                chosen = [h for h in chosen if test(h["created_at_i"], n)]
        chosen.sort(key=lambda h: (h["created_at_i"], int(h["objectID"])), reverse=True)
        per = int(query.get("hitsPerPage", ["20"])[0])
        page = int(query.get("page", ["0"])[0])
        return {**self.envelope, "hits": chosen[page * per:(page + 1) * per],
                "nbHits": len(chosen), "nbPages": -(-len(chosen) // per), "page": page,
                "hitsPerPage": per, "query": term}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.requests.append(self.path)
                parts = urlsplit(self.path)
                if parts.path == "/api/v1/search_by_date":
                    data = site.search(parse_qs(parts.query))
                elif m := re.fullmatch(r"/v0/item/(\d+)\.json", parts.path):
                    data = site.items.get(int(m.group(1)))
                else:
                    data = None
                if data is None:
                    self.reply(404, b"null", "application/json")
                    return
                self.reply(200, json.dumps(data).encode(), "application/json; charset=utf-8")

        return Handler
