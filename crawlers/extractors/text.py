"""Plain-text helpers shared by extractors: hostile HTML in, inert text out."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import urlsplit

import charset_normalizer
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding
from w3lib.html import remove_tags, remove_tags_with_content, replace_entities

_WS = re.compile(r"\s+")
_BLOCK = re.compile(r"(?i)<\s*(br|/p|/div|/li|/h\d)\b[^>]*>")
_IMG = re.compile(r"(?i)<img\b[^>]*>")
_ALT = re.compile(r"""(?is)\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
# an alt that is a link or a file name says nothing a reader would
_NOT_WORDS = re.compile(r"(?i)^(?:[a-z][a-z0-9+.-]*:|www\.)|\.(?:jpe?g|png|gif|webp|svg|bmp)$")
# a <video>/<audio> element's content is the fallback for readers that cannot play it
# ("视频无法显示，请前往…观看" in RSSHub's Weibo items), never what the author wrote
_DROPPED = ("script", "style", "noscript", "video", "audio")
# PostgreSQL refuses NUL in text, and a lone surrogate is not UTF-8 at all
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def html_to_text(html: str) -> str:
    """Strip markup (dropping script/style content) and collapse whitespace."""
    if not html:
        return ""
    html = remove_tags_with_content(html, which_ones=_DROPPED)
    html = _IMG.sub(_alt_text, html)
    html = _BLOCK.sub("\n", html)
    text = replace_entities(remove_tags(html))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return "\n".join(_WS.sub(" ", line).strip() for line in text.splitlines() if line.strip())


def _alt_text(match: re.Match[str]) -> str:
    """An image as its alt text (Weibo's emoji are ``<img alt="[怒]">``, which carries
    the tone), or nothing: an image's address is noise to a reader and to the scorer."""
    alt = _ALT.search(match.group(0))
    text = next((g for g in alt.groups() if g is not None), "").strip() if alt else ""
    if not text or len(text) > 80 or _NOT_WORDS.search(text):
        return ""
    return f" {text.replace('<', ' ').replace('>', ' ')} "


def fingerprint(title: str, text: str) -> str:
    """Content identity: same words, same fingerprint, whatever the entry id says."""
    norm = "\x1f".join(_WS.sub(" ", part.casefold()).strip() for part in (title, text))
    return hashlib.sha1(norm.encode("utf-8", "surrogatepass")).hexdigest()


def safe_link(url: str | None) -> str | None:
    """Only http(s) links survive; ``javascript:`` and friends become None."""
    if not url:
        return None
    url = url.strip()
    return url if urlsplit(url).scheme in ("http", "https") else None


def sniff_text(body: bytes, content_type: str | None) -> str | None:
    """Decode a page that declares no encoding and is not UTF-8 (old GBK/Big5
    forums often don't); None when it declares one, so the caller's decoding of
    the declared encoding stands."""
    if http_content_type_encoding(content_type or "") or html_body_declared_encoding(body):
        return None
    try:
        body.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body[:500_000]).best()
    return body.decode(best.encoding, errors="replace") if best else None


def storable(value: str | None) -> str | None:
    """``value`` without the characters a database refuses (NUL, lone surrogates):
    one poisoned GUID or link must not fail the store of a whole fetch."""
    return _UNSTORABLE.sub("", value) if value else value
