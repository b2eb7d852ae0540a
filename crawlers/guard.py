"""Downloader middleware: refuse requests of console-added sources that would reach a
private, loopback or link-local address (``crawlers/urlcheck.py``).

The console checks a URL when an admin saves it, but a host name's DNS answer can
change afterwards (rebinding: public when saved, 169.254.169.254 when fetched). So
the daemon checks again on every request a console-added source makes (the watch
spider marks them with ``meta["guard_private"]``), on every redirect they follow
(Scrapy copies meta to the redirected request) and on robots.txt of any host such a
request went to. Requests of sources in the operator's YAML are not checked: the
file may point anywhere. ``CRISISWATCH_GUARD_ALL`` checks every request (the
console's test fetch). The look-up runs in a thread so the reactor keeps fetching.

What is left: the check resolves the name itself, moments before Scrapy resolves
it again to connect; a DNS server that answers differently within that moment is
not caught."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

from crawlers.urlcheck import Resolver, check_url, resolve

GUARD_META = "guard_private"


class PrivateAddressRefused(IgnoreRequest):
    """The request's host is a private address the config does not allow."""


class PrivateAddressGuard:
    """Refuse guarded requests whose host ``check_url`` refuses (see module doc)."""

    def __init__(self, allow: Sequence[str], *, guard_all: bool = False,
                 resolver: Resolver = resolve) -> None:
        self.allow = list(allow)
        self.guard_all = guard_all
        self.resolver = resolver
        self.hosts: set[str] = set()  # hosts guarded requests went to (for robots.txt)

    @classmethod
    def from_crawler(cls, crawler) -> PrivateAddressGuard:  # noqa: ANN001
        s = crawler.settings
        return cls(s.getlist("CRISISWATCH_ALLOW_PRIVATE"),
                   guard_all=s.getbool("CRISISWATCH_GUARD_ALL"))

    def guarded(self, request: Request) -> bool:
        """Must this request be checked? Remembers the host of a guarded one, so the
        robots.txt request Scrapy makes for it later is checked too."""
        host = (urlsplit(request.url).hostname or "").lower()
        if self.guard_all or request.meta.get(GUARD_META):
            self.hosts.add(host)
            return True
        return host in self.hosts

    def verdict(self, request: Request) -> str | None:
        """Why ``request`` must not be sent, or None (may block on DNS: run in a thread)."""
        error = check_url(request.url, self.allow, resolver=self.resolver)
        return f"refused {request.url}: {error}" if error else None

    async def process_request(self, request: Request) -> None:
        if not self.guarded(request):
            return
        error = await maybe_deferred_to_future(threads.deferToThread(self.verdict, request))
        if error:
            raise PrivateAddressRefused(error)
