"""Messages for people that the console can translate without the product
importing it: ``said("%(key)s: %(raw)r is not a number", key=..., raw=...)`` is the
English text itself (a ``str``: the CLI, logs and the JSON API print it as
before) that also remembers its English template and values. The console
(web/i18n.py ``say``) looks the template up in its catalogue and fills in the
values, so a refusal raised in monitor/, alerts/ or crawlers/ reaches a Chinese
user in Chinese while those packages never import ``web``.

It lives in ``db`` only because ``db`` is the one package every other may import
(crawlers and alerts may import nothing else of ours); it touches no database.
A value may itself be a ``Said`` (a problem inside "sources[1].url: ...") and is
translated in turn. tests/test_i18n.py finds every ``said()`` literal in the
product and fails when the catalogue has no Chinese for it."""

from __future__ import annotations


class Said(str):
    """English text with its template and values kept for translation."""

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, /, **values: object) -> Said:
        text = super().__new__(cls, template % values)
        text.template, text.values = template, values
        return text

    def __reduce__(self) -> tuple:  # pickles (e.g. a process pool) keep the template
        return (_rebuild, (self.template, self.values))


def _rebuild(template: str, values: dict[str, object]) -> Said:
    return Said(template, **values)


def said(template: str, /, **values: object) -> Said:
    """``template % values`` (always %-formatted: a literal percent is ``%%``), kept
    translatable. The template is the catalogue key: write it as a literal."""
    return Said(template, **values)



def either(items: list[str] | tuple[str, ...]) -> str:
    """Choices in a message: ``en or zh``, ``a, b or c`` (one item: itself)."""
    items = [str(i) for i in items]
    if len(items) < 2:
        return "".join(items)
    return said("%(first)s or %(last)s", first=", ".join(items[:-1]), last=items[-1])
