"""The first checks every social kind's options share: the options are a mapping,
and every key is one the kind knows. Why one place: the words of these refusals
are translated once (web/i18n_zh_product.py), and each kind stays with what is
its own."""

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
