"""A source entry's kind-specific options, checked in one place for the config
schema: which keys each social kind lifts out of the entry, its default URL, and
the rules it stores. Why here and not in monitor/config.py: each kind's checks live
beside its crawler, and the schema only needs one door to them."""

from __future__ import annotations

from crawlers import bluesky as bsky
from crawlers import mastodon, reddit
from crawlers.extractors import hackernews as hn
from crawlers.extractors.rules import check_forum_options


def with_defaults(data: object) -> object:
    """``url`` may be left out where the kind has one service (Hacker News, Reddit);
    mastodon, bluesky and reddit options written at the entry's top level move into
    its rules."""
    data = reddit.with_default_url(hn.with_default_url(data))
    return bsky.lift_keys(mastodon.lift_keys(reddit.lift_keys(data)))


def checked_rules(kind: str, url: str, rules: dict | None, preset: str | None, page: str,
                  query: list[str] | None, items_url: str | None) -> dict | None:
    """The rules to store for this entry, or ValueError naming the bad option
    ("field: message")."""
    hn.check_options(kind, query, items_url)
    if kind == "mastodon":
        return mastodon.check_source(url, rules, preset, page)
    if kind == "reddit":
        return reddit.check_source(url, rules, preset, page)
    if kind == "bluesky" and rules is not None:  # engagement, back-fill
        return bsky.check_source(rules, preset)
    check_forum_options(kind, preset, rules, page)
    return rules
