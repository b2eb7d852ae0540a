"""Decide a feed body's encoding before feedparser does, so one stray byte cannot
re-decode a whole document.

feedparser tries the declared encoding and, when it fails anywhere, falls back to
a legacy codec for the *whole* body: one 0xE9 in a UTF-8 feed turns every Chinese
post into ISO-8859-2 mojibake. Here a body that is meant to be UTF-8 (declared so,
or undeclared) and is UTF-8 except for a few bytes is decoded as UTF-8 with those
bytes replaced. A genuinely declared legacy encoding (gb2312, big5, ...) and
UTF-16/32 are left to feedparser, as are bodies with no evidence of UTF-8.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.I)
_OTHER_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE,
               codecs.BOM_UTF16_BE)
# at most one bad byte per this many good multi-byte characters counts as "a few"
GOOD_PER_BAD = 4


@dataclass
class Decoded:
    body: bytes  # what to hand feedparser: the original, or valid UTF-8
    replaced: int = 0  # bytes (or runs) that were not UTF-8 and became U+FFFD


def _is_utf8(name: str) -> bool | None:
    """True for UTF-8, False for another known codec, None for an unknown name."""
    try:
        return codecs.lookup(name).name == "utf-8"
    except LookupError:
        return None


def _declared_utf8_or_none(body: bytes, content_type: str | None) -> bool:
    """No declaration says anything but UTF-8 (the header's charset and the XML
    declaration; either may be absent)."""
    names = []
    if content_type and (m := _CHARSET.search(content_type)):
        names.append(m.group(1))
    if m := _XML_DECL.match(body[:1024]):
        names.append(m.group(1).decode("ascii"))
    return all(_is_utf8(n) for n in names)


def decode_feed(body: bytes, content_type: str | None = None) -> Decoded:
    """The body to parse; valid UTF-8 with a few bad bytes replaced when it is
    UTF-8 but for those bytes, else unchanged (feedparser decides)."""
    if body.startswith(_OTHER_BOMS) or not _declared_utf8_or_none(body, content_type):
        return Decoded(body)
    try:
        body.decode("utf-8")
        return Decoded(body)
    except UnicodeDecodeError:
        pass
    text = body.decode("utf-8", "replace")
    replaced = text.count("\ufffd") - body.count("\ufffd".encode())
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    good = non_ascii - text.count("\ufffd")
    if good < 1 or replaced * GOOD_PER_BAD > good:
        return Decoded(body)  # no sign it is UTF-8: a legacy codec may well be right
    return Decoded(text.encode("utf-8"), replaced)
