"""The first checks every social kind's options share: the options are a mapping,
every key is one the kind knows, and a list of words is a list of words. Why one
place: the words of these refusals are translated once (web/i18n_zh_product.py),
and each kind stays with what is its own."""

from __future__ import annotations

from collections.abc import Sequence

from db.messages import said


def known_options(rules: object, kind: str, keys: Sequence[str], example: str) -> dict:
    """``rules`` (None: no options) as a dict, or ``ValueError("key: what is wrong")``."""
    rules = rules or {}
    if not isinstance(rules, dict):
        raise ValueError(said("rules: expected a mapping such as %(example)s", example=example))
    unknown = sorted(set(rules) - set(keys))
    if unknown:
        raise ValueError(said("%(key)s: unknown key for kind %(kind)s (use %(all)s)",
                              key=unknown[0], kind=kind, all=", ".join(keys)))
    return rules


def word_list(value: object, key: str, *, max_len: int | None = None,
              collapse: bool = False) -> tuple[str, ...]:
    """A word or a list of words (hashtags, subreddits, search terms), each stripped
    (``collapse``: inner runs of white space made one space too), or ValueError.
    ``max_len`` caps each word, for APIs that refuse longer queries."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(said("%(key)s: expected a list of words, got %(value)r", key=key,
                              value=value))
    items = tuple(" ".join(v.split()) if collapse else v.strip() for v in value)
    if max_len is None and any(not v for v in items):
        raise ValueError(said("%(key)s: must not contain empty strings", key=key))
    if max_len is not None and any(not v or len(v) > max_len for v in items):
        raise ValueError(said("%(key)s: must not contain empty strings (or over %(n)s "
                              "characters)", key=key, n=max_len))
    return items
