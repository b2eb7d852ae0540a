"""Where things are on a forum's pages: selector rule sets, presets and overrides.

A rule set is data (YAML), not code, so a new forum is a config change and a
bad selector is a config error caught at load time, never at crawl time.
Selectors are CSS (parsel dialect: ``::text``, ``::attr(x)``) or XPath when
prefixed ``xpath:``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import yaml
from parsel import Selector

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"
XPATH_PREFIX = "xpath:"


@dataclass(frozen=True)
class ListingRules:
    """A forum's thread list. Row-relative: every selector but next_page runs inside a row."""

    thread: str  # one match per thread row
    link: str  # the thread's <a> (or its @href); its text is the default title
    title: str | None = None
    replies: str | None = None
    views: str | None = None
    last_post: str | None = None
    next_page: str | None = None  # page-wide


@dataclass(frozen=True)
class ThreadRules:
    """A thread page. Post-relative: id/author/time/body/likes/permalink run inside a post;
    title/next_page/replies/views run on the whole page."""

    post: str
    body: str
    id: str | None = None
    author: str | None = None
    time: str | None = None
    likes: str | None = None
    permalink: str | None = None
    title: str | None = None
    next_page: str | None = None
    replies: str | None = None
    views: str | None = None


@dataclass(frozen=True)
class ForumRules:
    """Everything needed to read one forum engine's listing and thread pages."""

    listing: ListingRules | None
    thread: ThreadRules
    key_pattern: str | None = None  # regex, one group: the thread id inside a thread URL


_EMPTY = Selector(text="<html></html>")


def check_selector(query: str) -> None:
    """Compile ``query`` once against an empty page; raise whatever parsel raises."""
    if query.startswith(XPATH_PREFIX):
        _EMPTY.xpath(query[len(XPATH_PREFIX):])
    else:
        _EMPTY.css(query)


def _section(data: Any, name: str, cls: type) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{name}: must be a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    for key in data:
        if key not in known:
            raise ValueError(f"{name}.{key}: unknown key")
    for f in fields(cls):
        value = data.get(f.name)
        if value is None or value == "":
            if f.default is MISSING:
                raise ValueError(f"{name}.{f.name}: required")
            continue
        if not isinstance(value, str):
            raise ValueError(f"{name}.{f.name}: must be a selector string")
        try:
            check_selector(value)
        except Exception as exc:  # cssselect, lxml and parsel each raise their own kind
            raise ValueError(f"{name}.{f.name}: invalid selector {value!r}: {exc}") from None
    return cls(**{k: v for k, v in data.items() if v not in (None, "")})


def _key_pattern(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("key_pattern: must be a regex string")
    try:
        groups = re.compile(value).groups
    except re.error as exc:
        raise ValueError(f"key_pattern: invalid regex {value!r}: {exc}") from None
    if groups != 1:
        raise ValueError(f"key_pattern: needs exactly one group, {value!r} has {groups}")
    return value


def rules_from_dict(data: dict) -> ForumRules:
    """Validated rules; a ``ValueError`` names the offending key ("thread.post: required")."""
    if not isinstance(data, dict):
        raise ValueError(f"rules: must be a mapping, got {type(data).__name__}")
    for key in data:
        if key not in ("listing", "thread", "key_pattern"):
            raise ValueError(f"{key}: unknown key")
    if data.get("thread") is None:
        raise ValueError("thread: required")
    listing = data.get("listing")
    return ForumRules(
        listing=None if listing is None else _section(listing, "listing", ListingRules),
        thread=_section(data["thread"], "thread", ThreadRules),
        key_pattern=_key_pattern(data.get("key_pattern")),
    )


def _load_presets() -> dict[str, dict]:
    presets = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        presets[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return presets


PRESETS: dict[str, dict] = _load_presets()


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` laid over ``base``: nested mappings merge, anything else replaces
    (so ``listing: {next_page: null}`` switches one selector off)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_rules(preset: str | None, overrides: dict | None) -> ForumRules:
    """A preset with a source's own tweaks on top, or the source's rules alone."""
    if preset is None and not overrides:
        raise ValueError("forum rules: give a preset, rules, or both")
    base: dict = {}
    if preset is not None:
        if preset not in PRESETS:
            known = ", ".join(sorted(PRESETS))
            raise ValueError(f"preset: unknown preset {preset!r}; known presets: {known}")
        base = PRESETS[preset]
    if overrides is not None and not isinstance(overrides, dict):
        raise ValueError(f"rules: must be a mapping, got {type(overrides).__name__}")
    return rules_from_dict(deep_merge(base, overrides or {}))
