"""Where things are on a forum's pages: selector rule sets, presets and overrides.

A rule set is data (YAML), not code, so a new forum is a config change and a
bad selector is a config error caught at load time, never at crawl time.
Selectors are CSS (parsel dialect: ``::text``, ``::attr(x)``) or XPath when
prefixed ``xpath:``. A selector that runs inside a post (or a listing row) reads
only that post: CSS does so by itself, and an XPath location path that starts with
``/`` or ``//`` is rewritten to start at the post (``.//``), because XPath would
otherwise search the whole page and give every post the first post's values. A
rule that really wants something outside the post says so with an axis
(``ancestor::``, ``preceding::``), which is left as written.
"""

from __future__ import annotations

import copy
import re
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import yaml
from parsel import Selector

from db.messages import said

PRESET_DIR = Path(__file__).resolve().parent.parent / "presets"
XPATH_PREFIX = "xpath:"


@dataclass(frozen=True)
class ListingRules:
    """A forum's thread list. Row-relative: every selector but next_page runs inside a row."""

    PAGE_WIDE = frozenset({"thread", "next_page"})

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

    PAGE_WIDE = frozenset({"post", "title", "next_page", "replies", "views"})

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
    follow: FollowRules | None = None  # a per-post follow-up request (comments loaded apart)
    notes: tuple[str, ...] = ()  # per-post XPaths read from the post: ``sources test`` says so


@dataclass(frozen=True)
class FollowRules:
    """A request made for a post whose comments the page does not all show (Askbot
    loads them from ``/post_comments/``), answered with a JSON list of comments.

    ``at`` runs inside the post; each element it matches makes one request to ``url``
    with ``{name}`` replaced by that element's attribute ``name`` (URL-quoted) and
    ``{post_id}`` by the post's id. The answer's ``items`` (a dotted path, empty for
    the top level) is a list of objects whose keys ``id``/``author``/``time``/``body``
    name; ``body`` is HTML, made plain text like a page's."""

    at: str
    url: str
    body: str
    items: str = ""
    id: str | None = None
    author: str | None = None
    time: str | None = None


_EMPTY = Selector(text="<html></html>")


def check_selector(query: str) -> None:
    """Compile ``query`` once against an empty page; raise whatever parsel raises."""
    if query.startswith(XPATH_PREFIX):
        _EMPTY.xpath(query[len(XPATH_PREFIX):])
    else:
        _EMPTY.css(query)


_XPATH_OPERATORS = frozenset("(|,=<>!+[")
_XPATH_WORD_OPS = re.compile(r"(?:^|\s)(?:and|or|div|mod)\s*$")


def relative_xpath(expr: str) -> str:
    """``expr`` with every location path that starts at the document root (``/x``,
    ``//x``) starting at the context node instead (``./x``, ``.//x``). String
    literals and predicates are left alone: inside ``[...]`` a ``//`` is a test
    written about the page, not a path to a value."""
    out: list[str] = []
    quote, depth, prev = "", 0, ""
    for i, ch in enumerate(expr):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif ch == "/" and depth == 0:
            starts = prev == "" or prev in _XPATH_OPERATORS or bool(
                _XPATH_WORD_OPS.search(expr[:i]))
            if starts and not (i and expr[i - 1] == "/"):
                out.append(".")
        out.append(ch)
        if not ch.isspace():
            prev = ch
    return "".join(out)


def _relative(value: str, where: str, notes: list[str]) -> str:
    """A per-post (per-row) selector made to read only its post; a note when changed."""
    if not value.startswith(XPATH_PREFIX):
        return value
    expr = value[len(XPATH_PREFIX):]
    rewritten = relative_xpath(expr)
    if rewritten != expr:
        notes.append(f"{where}: XPath {expr!r} starts at the page root; it is read from "
                     f"each post as {rewritten!r} (write that, or ancestor::... to reach "
                     "outside the post)")
    return XPATH_PREFIX + rewritten


def _section(data: Any, name: str, cls: type, notes: list[str] | None = None) -> Any:
    if not isinstance(data, dict):
        raise ValueError(said("%(key)s: must be a mapping, got %(type)s", key=name,
                              type=type(data).__name__))
    known = {f.name for f in fields(cls)}
    for key in data:
        if key not in known:
            raise ValueError(said("%(key)s: unknown key", key=f"{name}.{key}"))
    for f in fields(cls):
        value = data.get(f.name)
        if value is None or value == "":
            if f.default is MISSING:
                raise ValueError(said("%(key)s: required", key=f"{name}.{f.name}"))
            continue
        if not isinstance(value, str):
            raise ValueError(said("%(key)s: must be a selector string", key=f"{name}.{f.name}"))
        try:
            check_selector(value)
        except Exception as exc:  # cssselect, lxml and parsel each raise their own kind
            raise ValueError(said("%(key)s: invalid selector %(value)r: %(why)s",
                                  key=f"{name}.{f.name}", value=value, why=str(exc))) from None
    values = {k: v for k, v in data.items() if v not in (None, "")}
    if notes is not None:
        values = {k: v if k in cls.PAGE_WIDE else _relative(v, f"{name}.{k}", notes)
                  for k, v in values.items()}
    return cls(**values)


def _follow(data: Any) -> FollowRules | None:
    """Validated follow-up rules: ``at`` is a selector, the rest are plain strings."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError(said("%(key)s: must be a mapping, got %(type)s", key="follow",
                              type=type(data).__name__))
    known = {f.name for f in fields(FollowRules)}
    for key, value in data.items():
        if key not in known:
            raise ValueError(said("%(key)s: unknown key", key=f"follow.{key}"))
        if value is not None and not isinstance(value, str):
            raise ValueError(said("%(key)s: must be a string", key=f"follow.{key}"))
    for f in fields(FollowRules):
        if f.default is MISSING and not data.get(f.name):
            raise ValueError(said("%(key)s: required", key=f"follow.{f.name}"))
    try:
        check_selector(data["at"])
    except Exception as exc:
        raise ValueError(said("%(key)s: invalid selector %(value)r: %(why)s", key="follow.at",
                              value=data["at"], why=str(exc))) from None
    if not re.match(r"(?i)^(https?://|/)", data["url"]):
        raise ValueError(said("follow.url: must be an absolute http(s) URL or a path"))
    at = _relative(data["at"], "follow.at", [])
    return FollowRules(**{**{k: v for k, v in data.items() if v not in (None, "")}, "at": at})


def _key_pattern(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(said("key_pattern: must be a regex string"))
    try:
        groups = re.compile(value).groups
    except re.error as exc:
        raise ValueError(said("key_pattern: invalid regex %(value)r: %(why)s", value=value,
                              why=str(exc))) from None
    if groups != 1:
        raise ValueError(said("key_pattern: needs exactly one group, %(value)r has %(n)s",
                              value=value, n=groups))
    return value


def rules_from_dict(data: dict) -> ForumRules:
    """Validated rules; a ``ValueError`` names the offending key ("thread.post: required")."""
    if not isinstance(data, dict):
        raise ValueError(said("%(key)s: must be a mapping, got %(type)s", key="rules",
                              type=type(data).__name__))
    for key in data:
        if key not in ("listing", "thread", "key_pattern", "follow"):
            raise ValueError(said("%(key)s: unknown key", key=key))
    if data.get("thread") is None:
        raise ValueError(said("%(key)s: required", key="thread"))
    listing, notes = data.get("listing"), []
    return ForumRules(
        listing=None if listing is None else _section(listing, "listing", ListingRules, notes),
        thread=_section(data["thread"], "thread", ThreadRules, notes),
        key_pattern=_key_pattern(data.get("key_pattern")),
        follow=_follow(data.get("follow")),
        notes=tuple(notes),
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
        raise ValueError(said("forum rules: give a preset, rules, or both"))
    base: dict = {}
    if preset is not None:
        if preset not in PRESETS:
            known = ", ".join(sorted(PRESETS))
            raise ValueError(said("preset: unknown preset %(preset)r; known presets: %(known)s",
                                  preset=preset, known=known))
        base = PRESETS[preset]
    if overrides is not None and not isinstance(overrides, dict):
        raise ValueError(said("%(key)s: must be a mapping, got %(type)s", key="rules",
                              type=type(overrides).__name__))
    return rules_from_dict(deep_merge(base, overrides or {}))


def check_forum_options(kind: str, preset: str | None, rules: dict | None, page: str) -> None:
    """A source config's forum options, or ValueError("field: message"): the field an
    error is about comes first, so the console shows it under that field."""
    if kind != "forum":
        if preset or rules:
            field = "preset" if preset else "rules"
            raise ValueError(said("%(field)s: preset and rules are for kind forum, not %(kind)s",
                                  field=field, kind=kind))
        return
    try:
        forum_rules = resolve_rules(preset, rules)
    except ValueError as exc:
        message = exc.args[0] if exc.args else str(exc)
        raise ValueError(message if str(message).startswith(("preset: ", "rules: "))
                         else said("rules: %(problem)s", problem=message)) from None
    if page == "listing" and forum_rules.listing is None:
        raise ValueError(said("page: these rules have no listing section; use page: thread"))
