"""Alert messages per channel format (plain, Markdown, HTML). Pure: values in,
strings out.

Post titles come from the web and are data, never template code: they are
passed to our own Jinja2 templates as variables, in a sandbox, and escaped for
the format (``inert`` for plain, the ``md`` filter for Markdown, autoescape for
HTML). Control characters are dropped and lengths capped, so a post cannot
forge lines, and only http(s) links are printed, so a ``javascript:`` URL never
becomes a link. Playbook text is treated the same way: an admin's YAML is not a
template either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from alerts.playbooks import Playbook
from alerts.statement import fill_statement, statement_brand, statement_time

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("plain", "markdown", "html")
_EXT = {"plain": "txt", "markdown": "md", "html": "html"}
_WS = re.compile(r"\s+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
# Printable ASCII a URL may keep as is; everything else (spaces, quotes, angle
# brackets, backslash, non-ASCII, controls) is percent-encoded. "%" stays so
# existing escapes are not encoded twice.
_URL_SAFE = "-._~:/?#[]@!$&'()*+,;=%"
_URL_DROPPED = str.maketrans("", "", "\t\r\n")
_MAX_URL = 2048
REOPENED = "reopened after resolve"  # first reason of an incident's first alert after it
# Field caps: one screen line for titles, more for reasons and playbook text.
TITLE_CAP, SOURCE_CAP, BRAND_CAP, REASON_CAP, BOOK_CAP = 140, 40, 60, 300, 2000


@dataclass(frozen=True)
class PostLine:
    title: str
    source: str
    url: str | None
    language: str


@dataclass(frozen=True)
class AlertView:
    severity: str
    brand: str
    incident_id: int
    dedup_key: str
    reasons: tuple[str, ...]
    posts: tuple[PostLine, ...]
    alert_id: int | None = None
    category: str | None = None
    category_label: str | None = None
    product: str | None = None
    place: str | None = None
    opened_at: datetime | None = None
    ack_url: str | None = None
    brand_names: Mapping[str, str] = field(default_factory=dict)  # language -> name


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    fmt: str


# --- escaping ----------------------------------------------------------------------------


def inert(text: str, limit: int = 140) -> str:
    """One line of hostile text made safe to print: no controls, no newlines. A
    printable string has no character of a "C" category: nothing to drop then."""
    if not text.isprintable():
        text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " if ch.isspace()
                       else "" for ch in text)
    text = _WS.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_link(url: str | None) -> str | None:
    """Only http(s) links survive; ``javascript:`` and friends become None."""
    if not url:
        return None
    url = url.strip()
    return url if urlsplit(url).scheme in ("http", "https") else None


def md_escape(text: object) -> str:
    """Markdown-inert text: every metacharacter backslash-escaped, on one line,
    so ``[x](javascript:...)``, ``![x](...)``, ``# heading`` or ``- item`` in a
    post shows as the characters it is, never as a link, image or block."""
    return _MD_SPECIAL.sub(r"\\\1", inert(str(text), 100_000))


def clean_url(url: str | None) -> str | None:
    """An http(s) URL that prints on one line, or None. Spaces, quotes,
    angle brackets and other controls are percent-encoded, so the URL cannot end a
    line, an attribute or an autolink early; overlong URLs are dropped rather
    than cut into a different link."""
    link = safe_link(url)
    if link is None:
        return None
    # Browsers drop tabs and newlines inside URLs (WHATWG), and so does urlsplit.
    link = quote(link.translate(_URL_DROPPED), safe=_URL_SAFE)
    return link if len(link) <= _MAX_URL and safe_link(link) else None


def md_url(url: str | None) -> str | None:
    """A clean URL fit for a Markdown link destination: parentheses and
    brackets encoded too, so it cannot close ``(...)`` and start a new link."""
    link = clean_url(url)
    if link is None:
        return None
    return link.replace("(", "%28").replace(")", "%29").replace("[", "%5B").replace("]", "%5D")


def md_link(url: str | None, text: object) -> str:
    """``[escaped text](encoded url)``, or the escaped text alone without an
    http(s) URL: a template filter, so admin templates get the same guarantee."""
    label = md_escape(text)
    link = md_url(url)
    return f"[{label}]({link})" if link else label


# --- language ----------------------------------------------------------------------------


def message_language(posts: tuple[PostLine, ...]) -> str:
    """Answer in the language most of the posts are written in."""
    zh = sum(p.language == "zh" for p in posts)
    return "zh" if zh * 2 > len(posts) else "en"


# --- template environment ----------------------------------------------------------------


@lru_cache(maxsize=8)
def template_env(folder: Path | None = None) -> ImmutableSandboxedEnvironment:
    """The sandboxed environment over our templates, ``folder`` searched first.

    Only files are templates. The sandbox stops a template (ours or an admin's)
    from reaching Python internals, StrictUndefined turns a typo'd variable
    into an error instead of a silently empty field, and autoescape is on for
    ``*.html.j2`` only (Markdown and plain escape with filters)."""
    searched = [str(folder)] if folder is not None else []
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader([*searched, str(BUILTIN_TEMPLATES)]),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"),
                                     default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(md=md_escape, md_link=md_link, md_url=md_url, inert=inert)
    return env


def template_name(kind: str, fmt: str) -> str:
    """``alert.md.j2`` and the like; unknown formats are an error, not plain."""
    if fmt not in _EXT:
        raise ValueError(f"unknown message format {fmt!r}; use one of {', '.join(FORMATS)}")
    return f"{kind}.{_EXT[fmt]}.j2"


def _render(kind: str, fmt: str, folder: Path | None, context: Mapping[str, object]) -> str:
    template = template_env(Path(folder) if folder is not None else None).get_template(
        template_name(kind, fmt))
    return template.render(**context).strip("\n")


# --- context: every value already one inert line -----------------------------------------


def _post(p: PostLine) -> dict[str, object]:
    return {"title": inert(p.title, TITLE_CAP), "source": inert(p.source, SOURCE_CAP),
            "url": clean_url(p.url), "language": p.language}


def _book_field(book: Playbook, field: str, lang: str) -> object:
    """A bilingual playbook field, or None when this playbook has no such field
    (the schema is growing: never_do, placeholder_defaults ...)."""
    value = getattr(book, field, None)
    if not isinstance(value, Mapping):
        return None
    return value.get(lang) or value.get("en")


def _book_lines(book: Playbook, field: str, lang: str) -> list[str]:
    value = _book_field(book, field, lang)
    items = value if isinstance(value, list | tuple) else [value] if value else []
    return [inert(str(item), BOOK_CAP) for item in items if str(item).strip()]


def _book_context(book: Playbook, view: AlertView, lang: str) -> dict[str, object]:
    values = {"brand": statement_brand(view.brand, view.brand_names, lang),
              "product": view.product, "place": view.place,
              "time": statement_time(view.opened_at, lang)}
    statement = fill_statement(str(_book_field(book, "holding_statement", lang) or ""),
                               {k: inert(v, BRAND_CAP) if v else None for k, v in values.items()},
                               lang, getattr(book, "placeholder_defaults", None))
    return {
        "name": inert(book.name, 80),
        "title": inert(str(_book_field(book, "title", lang) or book.name), BOOK_CAP),
        "owner": inert(str(_book_field(book, "owner", lang) or ""), BOOK_CAP),
        "response_time": inert(str(book.response_time), 40),
        "triage": inert(str(_book_field(book, "triage", lang) or ""), BOOK_CAP),
        "check_first": _book_lines(book, "check_first", lang),
        "first_steps": _book_lines(book, "first_steps", lang),
        "statement": inert(statement, BOOK_CAP),
        "escalation": inert(str(_book_field(book, "escalation", lang) or ""), BOOK_CAP),
        "never_say": _book_lines(book, "never_say", lang),
        "never_do": _book_lines(book, "never_do", lang),
    }


def _alert_context(view: AlertView) -> dict[str, object]:
    category = view.category_label or view.category
    return {
        "severity": inert(view.severity, 20).upper(),
        "brand": inert(view.brand, BRAND_CAP),
        "incident_id": int(view.incident_id),
        "alert_id": view.alert_id,
        "dedup_key": inert(view.dedup_key, 200),
        "category": inert(category, 80) if category else None,
        "opened_at": f"{view.opened_at:%Y-%m-%d %H:%M %Z}".strip() if view.opened_at else None,
        "ack_url": clean_url(view.ack_url),
        "reasons": [inert(r, REASON_CAP) for r in view.reasons],
        "posts": [_post(p) for p in view.posts],
    }


# --- public rendering --------------------------------------------------------------------


def render_title(view: AlertView) -> str:
    """Always plain and one line: titles land in subjects and push banners. The last
    reason is the one that raised the level; a reopened incident says so first."""
    head = view.reasons[-1] if view.reasons else "risky mention"
    if view.reasons and view.reasons[0] == REOPENED and len(view.reasons) > 1:
        head = f"{REOPENED}: {head}"
    head = inert(head, 90)
    return f"[{view.severity.upper()}] {inert(view.brand, BRAND_CAP)}: {head}"


def render_alert(view: AlertView, book: Playbook, fmt: str = "plain",
                 folder: Path | None = None) -> Rendered:
    """One alert with its playbook: holding statement filled, first steps numbered."""
    lang = message_language(view.posts)
    context = {**_alert_context(view), "lang": lang, "book": _book_context(book, view, lang)}
    return Rendered(render_title(view), _render("alert", fmt, folder, context), fmt)


def render_body(view: AlertView, book: Playbook) -> str:
    """The plain-text body, as stored on the alert row."""
    return render_alert(view, book).body


def _digest_item(view: AlertView) -> dict[str, object]:
    links = [u for u in (clean_url(p.url) for p in view.posts) if u]
    item = _alert_context(view)
    item["reason"] = item["reasons"][0] if item["reasons"] else "risky mention"
    item["url"] = links[0] if links else None
    item["post_count"] = len(view.posts)
    item["post"] = item["posts"][0]["title"] if item["posts"] else None  # what it is about
    return item


def render_digest(views: Sequence[AlertView], fmt: str = "plain",
                  folder: Path | None = None) -> Rendered:
    """Several lower-severity alerts in one message, one line each."""
    if not views:
        raise ValueError("a digest needs at least one alert")
    items = [_digest_item(v) for v in views]
    brands = list(dict.fromkeys(str(i["brand"]) for i in items))
    count = f"{len(items)} alert{'s' if len(items) != 1 else ''}"
    title = inert(f"[DIGEST] {count}: {', '.join(brands)}", 120)
    lang = message_language(tuple(p for v in views for p in v.posts))
    body = _render("digest", fmt, folder, {"count": len(items), "alerts": items, "lang": lang})
    return Rendered(title, body, fmt)
