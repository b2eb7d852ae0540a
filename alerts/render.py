"""Alert messages as plain text. Pure: values in, (title, body) out.

Post titles come from the web: control characters are dropped, length is
capped, and only http(s) links are printed, so a post cannot forge lines or
inject markup into the channels that render text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from alerts.playbooks import Playbook

_WS = re.compile(r"\s+")


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


def inert(text: str, limit: int = 140) -> str:
    """One line of hostile text made safe to print: no controls, no newlines."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " if ch.isspace() else ""
                   for ch in text)
    text = _WS.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_language(posts: tuple[PostLine, ...]) -> str:
    """Answer in the language most of the posts are written in."""
    zh = sum(p.language == "zh" for p in posts)
    return "zh" if zh * 2 > len(posts) else "en"


def render_title(view: AlertView) -> str:
    head = inert(view.reasons[-1] if view.reasons else "risky mention", 90)
    return f"[{view.severity.upper()}] {inert(view.brand, 60)}: {head}"


def render_body(view: AlertView, book: Playbook) -> str:
    lang = message_language(view.posts)
    lines = [f"Severity: {view.severity.upper()} | Brand: {inert(view.brand, 60)} "
             f"| Incident #{view.incident_id}", "", "Why:"]
    lines += [f"- {inert(r, 300)}" for r in view.reasons]
    lines += ["", "Posts:"]
    for p in view.posts:
        link = p.url or "(no link)"
        lines.append(f"- [{inert(p.source, 40)}] {inert(p.title) or '(untitled)'}  {link}")
    lines += ["", f"Playbook: {book.text('title', lang)} ({book.name})",
              f"Owner: {book.text('owner', lang)} | respond within {book.response_time}",
              "First steps:"]
    lines += [f"{i}. {step}" for i, step in enumerate(book.text("first_steps", lang), 1)]
    statement = book.text("holding_statement", lang).replace("{brand}", inert(view.brand, 60))
    lines += ["", f"Holding statement: {statement}",
              f"Never say: {' / '.join(book.text('never_say', lang))}",
              "", f"Alert key: {view.dedup_key}"]
    return "\n".join(lines)
