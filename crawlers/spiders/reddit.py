"""The watch spider's ``kind: reddit`` half (a mixin of ``WatchSpider``).

A poll first holds an OAuth token (one per source, kept in memory until shortly
before it expires; fetched from the source's ``token_url`` with the credentials
its environment variables hold), then reads the streams one after another
(``crawlers/reddit.py``), each from its cursor (``before``), and yields one
FetchResult: every post opening its own thread, comments in their post's
thread, and the new cursors, stored in one transaction. A 401 on an API request
drops the token and fetches a new one once (tokens expire, apps get rotated);
a second 401 is an error. A hot thread (a flagged post or comment) is re-read as
``/comments/<id>`` (the post's score and comment count now, and its newest
comments). Every answer's ``X-Ratelimit-*`` headers are read: when the budget is
nearly spent (or Reddit says 429) the poll stops, the source waits until the
reset (its health says throttled), and hot re-reads wait too.

Requests skip robots.txt: this is an API read with the user's own app under
Reddit's API terms, not crawling of pages (``reddit_old`` does that, and obeys it).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers import reddit
from crawlers.extractors import reddit as extract
from crawlers.extractors.mastodon import parse_body
from crawlers.items import FetchResult, ThreadPage, ThreadRef, ThreadResult
from crawlers.mastodon import Stream, closed_visit, picked_headers, throttle
from crawlers.pipelines.store import store_result
from db.models import Source, utcnow

EARLY_S = 300.0  # renew a token this long before it expires


def rate_headers(response: Response) -> dict[str, str]:
    """Reddit's rate-limit headers of a response, lower-cased."""
    return picked_headers(response.headers, (b"X-Ratelimit-Used", b"X-Ratelimit-Remaining",
                                             b"X-Ratelimit-Reset"))


def reddit_wait(response: Response | None, now: datetime, refused: bool = False
                ) -> tuple[float, str] | None:
    """Seconds to wait and why (Reddit's budget nearly spent, or a 429), or None."""
    if response is None:
        return None
    return throttle(reddit.rate_limit(rate_headers(response), now), now, refused)


def token_request(rules: reddit.RedditRules, creds: dict, meta: dict,
                  callback: Callable, errback: Callable) -> scrapy.Request:
    """The OAuth token request (HTTP Basic client id:secret, a form body)."""
    basic = base64.b64encode(f"{creds['id']}:{creds['secret']}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "Accept": "application/json",
               "Content-Type": "application/x-www-form-urlencoded"}
    if rules.user_agent:
        headers["User-Agent"] = rules.user_agent
    return scrapy.Request(rules.token_url, method="POST", body=creds["form"], headers=headers,
                          callback=callback, errback=errback, dont_filter=True,
                          meta={**meta, "dont_obey_robotstxt": True})


def read_token(body: bytes) -> tuple[str, float]:
    """The access token and its lifetime in seconds; ``ValueError`` naming Reddit's
    refusal (``invalid_grant``: a wrong user name or password)."""
    data = parse_body(body)
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token.strip():
        why = data.get("error") if isinstance(data, dict) else None
        raise ValueError(f"no access_token in the answer ({str(why or 'unknown')[:100]})")
    life = data.get("expires_in")
    return token.strip(), float(life) if isinstance(life, int | float) else 3600.0


def api_headers(rules: reddit.RedditRules, token: str) -> dict[str, str]:
    headers = {"Authorization": f"bearer {token}", "Accept": "application/json"}
    return {**headers, "User-Agent": rules.user_agent} if rules.user_agent else headers


class RedditCrawl:
    """Polls and hot re-reads of Reddit sources; needs WatchSpider's ``_meta``,
    ``why``, ``in_flight``, ``threads_in_flight``, ``mastodon_quiet`` (the shared
    per-source pause) and ``on_thread_error``."""

    reddit_tokens: dict[int, tuple[str, datetime]]

    def _reddit_pause(self, source_id: int, response: Response | None,
                      refused: bool = False) -> tuple[float, str] | None:
        wait = reddit_wait(response, utcnow(), refused)
        if wait is not None:
            self.mastodon_quiet[source_id] = utcnow() + timedelta(seconds=min(wait[0], 86400.0))
        return wait

    def _token(self, source: Source) -> str | None:
        held = self.reddit_tokens.get(source.id)
        return held[0] if held and held[1] > utcnow() else None

    def _authorized(self, source: Source, rules: reddit.RedditRules, creds: dict,
                    then: Callable[[str], scrapy.Request], fail: Callable[[str], Iterator]
                    ) -> scrapy.Request | None:
        """``then(token)`` now when a token is held, else after fetching one (None:
        a fetch is under way already; ``then`` joins those waiting for it)."""
        token = self._token(source)
        if token:
            return then(token)
        waiting = self.reddit_waiting.setdefault(source.id, [])
        waiting.append((then, fail))
        if len(waiting) > 1:
            return None
        return token_request(rules, creds, self._meta(source, token_source=source),
                             self.parse_reddit_token, self.on_reddit_token_error)

    def parse_reddit_token(self, response: Response) -> Iterator:
        source = response.meta["token_source"]
        waiting = self.reddit_waiting.pop(source.id, [])
        try:
            token, life = read_token(response.body)
        except ValueError as exc:
            for _then, fail in waiting:
                yield from fail(f"cannot get a Reddit token from {response.url}: {exc}")
            return
        until = utcnow() + timedelta(seconds=max(60.0, life - EARLY_S))
        self.reddit_tokens[source.id] = (token, until)
        for then, _fail in waiting:
            yield then(token)

    def on_reddit_token_error(self, failure: Failure) -> Iterator:
        waiting = self.reddit_waiting.pop(failure.request.meta["token_source"].id, [])
        hint = " (check the app's client id and secret)" if isinstance(
            failure.value, HttpError) and failure.value.response.status in (400, 401) else ""
        for _then, fail in waiting:
            yield from fail(f"cannot get a Reddit token from {failure.request.url}: "
                            f"{self.why(failure)}{hint}")

    # -- polls -------------------------------------------------------------------

    def reddit_poll(self, source: Source) -> scrapy.Request | None:
        """The first request of a poll; None when the credentials are not set (the
        source stays unread, "disabled" on its health, until they are)."""
        rules = reddit.parse_rules(source.rules)
        creds, why = reddit.credentials(rules, os.environ)
        if creds is None:
            self.in_flight.discard(source.id)
            store_result(self.engine, FetchResult(source_id=source.id, error=why))
            return None
        visit = {"source": source, "rules": rules, "creds": creds,
                 "streams": reddit.streams(rules), "cursor": dict(source.cursor or {}),
                 "errors": [], "done": 0, "result": FetchResult(source_id=source.id, cursor={})}
        return self._reddit_next(visit, visit["streams"].pop(0), 1)

    def _reddit_next(self, visit: dict, stream: Stream, page: int, fresh: bool = False,
                     recheck: bool = False) -> scrapy.Request | None:
        """The stream's next page; ``recheck``: its newest page without the cursor
        (Reddit answers nothing after a ``before`` item that was deleted)."""
        def then(token: str) -> scrapy.Request:
            since = visit["result"].cursor.get(stream.name) or visit["cursor"].get(stream.name)
            before = None if recheck else since
            return scrapy.Request(
                reddit.stream_url(visit["source"].url, stream, before),
                headers=api_headers(visit["rules"], token), callback=self.parse_reddit_stream,
                errback=self.on_reddit_stream_error, dont_filter=True,
                meta=self._meta(visit["source"], visit=visit, stream=stream, page=page,
                                before=before, since=since, fresh=fresh, recheck=recheck,
                                dont_obey_robotstxt=True))

        def fail(error: str) -> Iterator[FetchResult]:
            self.in_flight.discard(visit["source"].id)
            yield FetchResult(source_id=visit["source"].id, error=error[:300])
        return self._authorized(visit["source"], visit["rules"], visit["creds"], then, fail)

    def parse_reddit_stream(self, response: Response) -> Iterator:
        meta = response.meta
        visit, stream = meta["visit"], meta["stream"]
        result: FetchResult = visit["result"]
        result.status = response.status
        try:
            page = extract.extract_listing(parse_body(response.body), meta["since"])
        except ValueError as exc:
            visit["errors"].append(f"{stream.name}: {exc}"[:300])
        else:
            if meta["before"] and not page.names and self._reddit_stop(visit, response) is None:
                yield from filter(None, [self._reddit_next(visit, stream, meta["page"],
                                                           recheck=True)])
                return
            visit["done"] += 1
            known = {p.entry_key for p in result.posts}
            result.posts += [p for p in page.posts if p.entry_key not in known]
            threads = {t.key: t for t in result.threads}
            for ref in page.threads:  # a post's own counters win over a comment's stub
                if ref.key not in threads or threads[ref.key].replies is None:
                    threads[ref.key] = ref
            result.threads = list(threads.values())
            cursor = reddit.newest(page.names, meta["since"])
            if cursor:
                result.cursor[stream.name] = cursor
            full = page.more and meta["before"] is not None
            if self._reddit_stop(visit, response) is None and full \
                    and meta["page"] < reddit.MAX_PAGES:
                yield from filter(None, [self._reddit_next(visit, stream, meta["page"] + 1)])
                return
        yield from self._reddit_streams(visit)

    def _reddit_stop(self, visit: dict, response: Response | None, refused: bool = False
                     ) -> tuple[float, str] | None:
        wait = self._reddit_pause(visit["source"].id, response, refused)
        result: FetchResult = visit["result"]
        if wait is not None and result.retry_after is None:
            result.retry_after, result.retry_reason = wait[0], "X-RateLimit"
            result.notes.append(wait[1])
        return wait

    def _reddit_streams(self, visit: dict) -> Iterator:
        result: FetchResult = visit["result"]
        if visit["streams"] and result.retry_after is None:
            yield from filter(None, [self._reddit_next(visit, visit["streams"].pop(0), 1)])
            return
        self.in_flight.discard(visit["source"].id)
        yield closed_visit(visit)

    def on_reddit_stream_error(self, failure: Failure) -> Iterator:
        meta = failure.request.meta
        visit, stream = meta["visit"], meta["stream"]
        response = getattr(failure.value, "response", None)
        status = response.status if isinstance(failure.value, HttpError) else None
        if status == 401 and not meta["fresh"]:  # the token expired or was revoked
            self.reddit_tokens.pop(visit["source"].id, None)
            yield from filter(None, [self._reddit_next(visit, stream, meta["page"], fresh=True,
                                                       recheck=meta["recheck"])])
            return
        if response is not None:
            visit["result"].status = response.status
        self._reddit_stop(visit, response, refused=status == 429)
        again = " with a fresh token" if status == 401 else ""
        visit["errors"].append(f"{stream.name}: {self.why(failure)}{again}"[:300])
        yield from self._reddit_streams(visit)

    # -- hot posts ---------------------------------------------------------------

    def reddit_thread(self, source: Source, ref: ThreadRef, fresh: bool = False
                      ) -> scrapy.Request | None:
        """Re-read a flagged post: its counters and newest comments."""
        rules = reddit.parse_rules(source.rules)
        creds, why = reddit.credentials(rules, os.environ)
        if creds is None:
            self.threads_in_flight.discard((source.id, ref.key))
            return None

        def then(token: str) -> scrapy.Request:
            return scrapy.Request(
                reddit.comments_url(source.url, ref.key, rules.limit),
                headers=api_headers(rules, token), callback=self.parse_reddit_comments,
                errback=self.on_reddit_thread_error, dont_filter=True,
                meta=self._meta(source, ref=ref, source=source, is_poll=False, fresh=fresh,
                                dont_obey_robotstxt=True))

        def fail(error: str) -> Iterator[ThreadResult]:
            self.threads_in_flight.discard((source.id, ref.key))
            yield ThreadResult(source_id=source.id, ref=ref, page_url=rules.token_url,
                               error=error[:300])
        return self._authorized(source, rules, creds, then, fail)

    def parse_reddit_comments(self, response: Response) -> Iterator[ThreadResult]:
        source, ref = response.meta["source"], response.meta["ref"]
        self._reddit_pause(source.id, response)
        self.threads_in_flight.discard((source.id, ref.key))
        try:
            page = extract.extract_comments(parse_body(response.body), ref.key)
        except ValueError as exc:
            yield ThreadResult(source_id=source.id, ref=ref, page_url=response.url,
                               error=f"cannot read {response.url}: {exc}"[:300])
            return
        head = next((p for p in page.posts if p.entry_key == ref.key), None)
        ref.title = ref.title or page.title
        ref.likes = head.likes if head else ref.likes
        yield ThreadResult(source_id=source.id, ref=ref, page_url=response.url,
                           posts=page.posts, replies=page.replies, done=True)

    def on_reddit_thread_error(self, failure: Failure) -> Iterator:
        meta = failure.request.meta
        response = getattr(failure.value, "response", None)
        status = response.status if isinstance(failure.value, HttpError) else None
        if status == 401 and not meta["fresh"]:
            self.reddit_tokens.pop(meta["source"].id, None)
            retry = self.reddit_thread(meta["source"], meta["ref"], fresh=True)
            if retry is not None:
                yield retry
                return
        self._reddit_pause(meta["source"].id, response, refused=status == 429)
        yield from self.on_thread_error(failure)


# --- sources test ----------------------------------------------------------------

def reddit_probe_requests(probe: scrapy.Spider) -> list[scrapy.Request]:
    """``sources test``: a token, then each stream's newest page once (no cursor)."""
    rules = reddit.parse_rules(probe.rules)
    creds, why = reddit.credentials(rules, os.environ)
    probe.report.label = "stream"
    if creds is None:
        probe.report.error = why.removeprefix("disabled: ")
        return []

    def streams(response: Response) -> Iterator[scrapy.Request]:
        try:
            token, _life = read_token(response.body)
        except ValueError as exc:
            probe.report.error = f"cannot get a Reddit token from {response.url}: {exc}"
            return
        for stream in reddit.streams(rules):
            yield scrapy.Request(reddit.stream_url(probe.url, stream, None),
                                 headers=api_headers(rules, token),
                                 callback=lambda r: _probe_page(probe, r),
                                 errback=probe.on_thread_error,
                                 meta={**probe.meta, "dont_obey_robotstxt": True})
    return [token_request(rules, creds, probe.meta, streams, probe.on_error)]


def _probe_page(probe: scrapy.Spider, response: Response) -> None:
    report = probe.report
    report.status = report.status or response.status
    wait = reddit_wait(response, utcnow())
    if wait is not None:
        report.warnings.setdefault(response.url, []).append(wait[1])
    try:
        page = extract.extract_listing(parse_body(response.body))
    except ValueError as exc:
        report.pages.append((response.url, None, str(exc)))
        return
    report.pages.append((response.url, ThreadPage(posts=page.posts), None))
