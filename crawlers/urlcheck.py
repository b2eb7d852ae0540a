"""Refuse URLs typed into the console or API that would make the server reach
into its own network (SSRF): cloud metadata at 169.254.169.254, an admin port on
127.0.0.1, the office LAN. A source is fetched and a channel is posted to by the
server, so whoever may type a URL could otherwise probe what the server sees.

A host is checked by every address it resolves to (one private address among
public ones is enough to refuse: the fetcher may pick any of them), including
IPv4 hidden in IPv6 (``::ffff:127.0.0.1``, 6to4, Teredo). Names and networks the
operator lists in ``console.allow_private`` are let through: a forum on the
intranet, or the tests' loopback server.

The operator's own YAML is not checked; it is trusted like the rest of the
server's configuration. The console checks a URL when it is saved or tested, and
the daemon checks every request of a console-added source again when it fetches
(``crawlers/guard.py``) and a console-added channel before each delivery
(``monitor/stages/chain.py``; the console's "send a test" too), so a name whose
DNS answer changes after saving (rebinding) is refused too; apprise follows no
redirect for such a channel (``alerts/notify.py``). A channel with tags names an
apprise configuration: each entry its tags pick is checked like a channel URL, on
saving and before each send (``entry_screen``). Lives in ``crawlers/``
because both need it."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from functools import partial
from urllib.parse import parse_qs, urlsplit

from db.messages import either, said

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], list[str]]

SOURCE_SCHEMES = ("http", "https")
# apprise reads configuration from these; a local file is not the console's business
LOCAL_SCHEMES = frozenset({"file", "windows"})
# http://127.0.0.1\@example.com/: Python reads host example.com, a browser or a
# WHATWG parser 127.0.0.1 (a backslash ends the host there); refuse the ambiguity
BACKSLASH = said("a backslash in the host part reads as a different host to different "
                 "parsers; write the URL without it")
# what apprise's own parsing names the host of a URL that connects to it; a "Domain"
# (mailgun://, mailto://) may be only a mail domain, and an optional host (ntfy://)
# is absent in the hosted-service form
HOST_TOKENS = ("Hostname", "Host", "Domain")


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (what a fetcher might connect to)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0].split("%", 1)[0] for info in infos})


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address an IPv6 one carries (mapped, 6to4, Teredo):
    the packets end up at that IPv4 address."""
    found: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        found += [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
        if ip.teredo is not None:
            found += list(ip.teredo)
    return found


def is_public(ip: IPAddress) -> bool:
    """Neither private, loopback, link-local, multicast, reserved nor unspecified,
    nor any other address IANA does not route globally (100.64.0.0/10 ...)."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d (the v6 form itself counts as reserved)
        return is_public(mapped)
    return all(a.is_global and not (a.is_private or a.is_loopback or a.is_link_local
                                    or a.is_multicast or a.is_reserved or a.is_unspecified)
               for a in _embedded(ip))


def _networks(allow: Sequence[str]) -> tuple[list[ipaddress.IPv4Network |
                                                   ipaddress.IPv6Network], set[str]]:
    """Split the allow-list into networks and host names (lower case, no final dot)."""
    nets, names = [], set()
    for entry in allow:
        try:
            nets.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            names.add(entry.strip().lower().rstrip("."))
    return nets, names


def _allowed(ip: IPAddress, nets: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
             ) -> bool:
    return any(a in net for a in _embedded(ip) for net in nets if a.version == net.version)


def check_host(host: str, allow: Sequence[str], resolver: Resolver = resolve) -> str | None:
    """Why the server must not connect to ``host``, or None when it may."""
    nets, names = _networks(allow)
    name = host.lower().rstrip(".").strip("[]")
    if name in names:
        return None
    literal = True
    try:
        addresses = [ipaddress.ip_address(name)]
    except ValueError:
        literal = False
        try:
            addresses = [ipaddress.ip_address(a) for a in resolver(name)]
        except (OSError, UnicodeError, ValueError):
            return said("host %(host)r does not resolve", host=host)
        if not addresses:
            return said("host %(host)r does not resolve", host=host)
    for ip in addresses:
        if not is_public(ip) and not _allowed(ip, nets):
            if literal:
                return said("host %(host)r is a private, loopback, link-local or reserved "
                            "address; add it to console.allow_private in the config to "
                            "permit it", host=host)
            return said("host %(host)r is a private, loopback, link-local or reserved address "
                        "(it resolves to %(ip)s); add it to console.allow_private in the config "
                        "to permit it", host=host, ip=str(ip))
    return None


def check_url(url: str, allow: Sequence[str], *, schemes: Sequence[str] = SOURCE_SCHEMES,
              resolver: Resolver = resolve) -> str | None:
    """An error message for a URL the server would fetch (a source), or None.
    Only ``schemes`` are accepted, and the host must pass ``check_host``."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return said("not a valid URL")
    if parts.scheme.lower() not in schemes:
        return said("scheme %(scheme)r is not allowed; use %(all)s",
                    scheme=parts.scheme or "(none)", all=either(schemes))
    if "\\" in parts.netloc:
        return BACKSLASH
    if not host:
        return said("the URL has no host")
    return check_host(host, allow, resolver)


def _plugin_hosts(url: str) -> list[tuple[str, bool]] | None:
    """The hosts apprise would connect to for ``url``, each with whether it must
    resolve; [] when its plugin talks to a fixed public service only, None when
    apprise cannot parse it. Taken from the plugin's own ``parse_url`` and its
    declared ``host`` token, so every host-bearing scheme is covered, new ones too."""
    from apprise.manager_plugins import NotificationManager  # heavy: only for channels

    scheme = url.split("://", 1)[0].lower()
    manager = NotificationManager()
    if scheme not in manager:
        return []  # apprise cannot notify it; the config's validation says so
    plugin = manager[scheme]
    token = getattr(plugin, "template_tokens", {}).get("host") or {}
    parsed = plugin.parse_url(url)
    if parsed is None:
        return None
    hosts: list[tuple[str, bool]] = []
    name = str(token.get("name", ""))
    if name in HOST_TOKENS and token.get("map_to", "host") == "host" and parsed.get("host"):
        hosts.append((parsed["host"], bool(token.get("required")) and name != "Domain"))
    if parsed.get("smtp_host"):  # mailto://...?smtp=10.0.0.1
        hosts.append((parsed["smtp_host"], True))
    return hosts


def _follows_redirects(url: str) -> bool:
    """apprise's ``?redirect=yes`` would override the no-redirect rule of delivery."""
    try:
        values = parse_qs(urlsplit(url).query).get("redirect", [])
    except ValueError:
        return False
    return any(v.strip().lower() not in ("no", "n", "false", "0", "off", "") for v in values)


def check_channel_url(url: str, allow: Sequence[str], resolver: Resolver = resolve
                      ) -> str | None:
    """An error message for an apprise URL entered in the console, or None. Every
    host apprise would connect to is checked like a source's (a name that does not
    resolve is let through only where it may be a token or a mail domain rather than
    a host: it cannot be connected to, and delivery checks it again); local files
    (apprise configuration from file://) are refused."""
    url = url.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in LOCAL_SCHEMES:
        return said("%(scheme)s:// cannot be entered in the console; put this channel in the "
                    "config file", scheme=scheme)
    if scheme in SOURCE_SCHEMES:  # a native webhook URL or a remote apprise configuration
        return check_url(url, allow, resolver=resolver)
    if "\\" in url.split("://", 1)[-1].split("/", 1)[0]:
        return BACKSLASH
    if _follows_redirects(url):
        return said("redirect=yes cannot be set on a console channel: the place a redirect "
                    "leads to is not checked")
    hosts = _plugin_hosts(url) if scheme else []
    if hosts is None:
        return said("apprise cannot read this URL")
    for host, must_resolve in hosts:
        error = check_host(host, allow, resolver)
        if error and (must_resolve or not error.endswith("does not resolve")):
            return error
    return None


def refuse_delivery(url: str, console_added: bool, allow: Sequence[str],
                    resolver: Resolver = resolve) -> str | None:
    """Why a message must not be sent to this channel now, or None: a console-added
    channel is checked again at each send (its DNS answer may have changed since it
    was saved). The one check of every send: deliveries and the console's test button."""
    if not console_added:
        return None  # the operator's config file is trusted
    error = check_channel_url(url, allow, resolver)
    return said("refused: %(why)s", why=error) if error else None


def entry_screen(console_added: bool, allow: Sequence[str], resolver: Resolver = resolve
                 ) -> Callable[[str], str | None] | None:
    """What each entry of a channel's apprise configuration (a channel with tags)
    must pass before a send, or None for the config file's channels (trusted): for
    a console-added one, the check of a URL typed in the console. apprise applies it
    to the entries it read, just before notifying them (``alerts/notify.py``)."""
    if not console_added:
        return None
    return partial(check_channel_url, allow=allow, resolver=resolver)


_HOSTPORT = re.compile(r"(?:localhost|[\w-]+(?:\.[\w-]+)+|\[[0-9a-f:]+\])(?::\d{1,5})?", re.I)


def redact_url(url: str) -> str:
    """Scheme and host only, and the host only when it is a real host name:
    apprise URLs carry tokens and passwords, some of them where a host would be
    (``tgram://BOT_ID:TOKEN/CHAT``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<redacted>"
    hostport = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    shown = hostport if _HOSTPORT.fullmatch(hostport) else ""
    return f"{scheme}://{shown}/<redacted>" if shown else f"{scheme}://<redacted>"
