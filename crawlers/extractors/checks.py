"""Warnings about rules that read a page without error but wrongly, for
``crisiswatch sources test``: such rules fail silently in the crawl (a cut body,
every post with the first post's time) and a short preview hides it.

Pure functions of the page, the rules and what was extracted; nothing here
changes what the crawler stores.
"""

from __future__ import annotations

import copy
import re

from parsel import Selector

from crawlers.extractors.forum import as_text, select
from crawlers.extractors.rules import ForumRules
from crawlers.items import ThreadPage

MIN_POSTS = 3  # fewer posts sharing an author or a time is ordinary
MIN_BODY = 20  # shorter bodies ("same here") often end without a full stop
_ENDS = tuple(".!?…)]\"'”’»。！？）」』~:;") + ("...",)


def _cut_bodies(nodes: list[Selector], query: str) -> str | None:
    """Posts where an element body rule matched several elements: only the first is kept."""
    cut: list[tuple[int, int]] = []
    for node in nodes:
        matches = select(node, query)
        if not matches or isinstance(matches[0].root, str):
            continue  # ::text and attributes keep every match
        texts = [t for m in matches if (t := as_text(m))]
        if len(texts) > 1:
            cut.append((len(texts[0]), sum(len(t) for t in texts)))
    if not cut:
        return None
    kept, total = max(cut, key=lambda c: c[1] - c[0])
    return (f"thread.body {query!r} matched several elements in {len(cut)} of {len(nodes)} "
            f"posts and only the first is kept (e.g. {kept} of {total} characters): select "
            "their common parent, or add ' ::text' to keep every text node")


def _short_bodies(nodes: list[Selector], query: str) -> str | None:
    """Bodies that end mid-sentence at under a third of their post's text."""
    short = counted = 0
    for node in nodes:
        body = _first(node, query) or ""
        if len(body) < MIN_BODY:
            continue
        counted += 1
        whole = as_text(_own(node))
        if len(body) * 3 < len(whole) and not body.rstrip().endswith(_ENDS):
            short += 1
    if short < 2 or short * 2 < counted:
        return None
    return (f"thread.body: {short} of {counted} bodies end mid-sentence at under a third "
            "of their post's text: the body rule may read only part of each post")


def _shared(page: ThreadPage) -> list[str]:
    if len(page.posts) < MIN_POSTS:
        return []
    found = []
    for name, values in (("author", [p.author for p in page.posts]),
                         ("time", [p.published_at for p in page.posts])):
        if None not in values and len(set(values)) == 1:
            found.append(f"thread.{name}: all {len(values)} posts have the same {name} "
                         f"({values[0]}): the rule probably reads outside the post (an "
                         "XPath from the page root, or an element every post shares)")
    return found


_NESTED = ".//*[re:test(concat(@class, ' ', @id), 'comment|quot|reply', 'i')]"
_EXSLT = {"re": "http://exslt.org/regular-expressions"}
_NESTED_CLASS = re.compile(r"(?i)comment|quot|reply")


def _first(node: Selector, query: str) -> str | None:
    return next((t for m in select(node, query) if (t := as_text(m))), None)


def _own(node: Selector) -> Selector:
    """A copy of the post without the comments, quotes and replies nested in it."""
    root = copy.deepcopy(node.root)
    for element in root.xpath(_NESTED, namespaces=_EXSLT):
        if element.getparent() is not None:
            element.drop_tree()  # keeps the text that follows the element
    return Selector(root=root)


def _nested(nodes: list[Selector], name: str, query: str | None) -> str | None:
    """An author/time rule whose value came from a comment or quote inside the post:
    unanchored selectors match those too, and the first in page order wins."""
    if not query:
        return None
    taken = 0
    for node in nodes:
        if _NESTED_CLASS.search(f"{node.attrib.get('class', '')} {node.attrib.get('id', '')}"):
            continue  # a comment read as a post: its own parts are named "comment-..."
        kept = _first(node, query)
        if kept is not None and kept != _first(_own(node), query):
            taken += 1
    if not taken:
        return None
    return (f"thread.{name} {query!r} took its value from a comment or quote inside "
            f"{taken} of {len(nodes)} posts (the first match in page order is kept): "
            "anchor it to the post's own markup with ':scope > ...'")


def check_thread(text: str, rules: ForumRules, page: ThreadPage) -> list[str]:
    """What looks wrong with ``rules`` on this thread page (empty when nothing does)."""
    warnings = list(rules.notes)
    try:
        nodes = select(Selector(text=text or "<html></html>"), rules.thread.post)
    except Exception:  # an unparsable page already shows as "nothing extracted"
        return warnings
    tr = rules.thread
    for found in (_cut_bodies(nodes, tr.body), _short_bodies(nodes, tr.body),
                  _nested(nodes, "author", tr.author), _nested(nodes, "time", tr.time)):
        if found:
            warnings.append(found)
    return warnings + _shared(page)
