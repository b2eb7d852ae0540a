"""The console's own words in English and Simplified Chinese: which language a page
speaks, and the catalogue its templates and handlers read.

The language is the user's setting (``User.language``, changed from the header's
switch), else the browser's ``Accept-Language`` (a ``zh`` tag preferred over ``en``
picks Chinese; anything else English). Only the interface is translated: post
texts, incident titles and playbooks are content and are shown as written.

English text is the key (templates stay readable; a missing Chinese entry shows
English, never a blank) and web/i18n_zh.py holds the Chinese. A Python dict rather
than gettext .po/.mo files: two languages and a few hundred short strings need no
compile step and no new dependency, and a test can read it directly. Templates
call ``_()`` / ``ngettext()`` from Jinja's i18n extension in its "newstyle" form,
so ``%(name)s`` placeholders are filled after translation and their values are
escaped; the extension's ``extract_translations`` lets tests find every key."""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import pass_context
from jinja2.runtime import Context

from alerts.workflow import STATUSES
from db.messages import Said
from db.models import INTERFACE_LANGUAGES, ROLES, SEVERITIES
from monitor.detection.category import known_keys
from monitor.history.board import COUNTDOWN_EN
from monitor.history.health import STATES
from web.i18n_zh import ZH

DEFAULT_LANG = "en"
LANG_COOKIE = "cw_lang"  # the last choice on this browser, for the logged-out login page
LANGS = INTERFACE_LANGUAGES  # ("zh", "en")
HTML_LANG = {"en": "en", "zh": "zh-CN"}  # <html lang>: Simplified Chinese, say so
LANG_NAMES = {"zh": "中文", "en": "English"}  # each in its own language, for the switch
CATALOGUE: Mapping[str, Mapping[str, str]] = {"zh": ZH}


def known(lang: str | None) -> str | None:
    """``lang`` if the console speaks it, else None."""
    return lang if lang in LANGS else None


def from_accept_language(header: str | None) -> str:
    """The language the browser prefers among ours: the supported tag with the highest
    ``q`` (earlier wins a tie), by its primary subtag (``zh-TW`` and ``zh-Hans-CN`` are
    Chinese); English when the browser names neither."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.lower().split("-")[0]
        if primary in LANGS and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANG


def choose_lang(setting: str | None, accept_language: str | None) -> str:
    """The user's own choice when they made one, else the browser's."""
    return known(setting) or from_accept_language(accept_language)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """Marks an English key kept in Python data (the menu) and translated later with
    ``t()``; the catalogue test finds these calls like ``t()``'s."""
    return message


def translate(lang: str, message: str) -> str:
    """``message`` (English) in ``lang``; English itself when there is no entry."""
    return CATALOGUE.get(lang, {}).get(message, message)


def t(lang: str, message: str, **values: object) -> str:
    """A handler's message (a flash, an error) in ``lang``, ``%(name)s`` filled in.
    Always %-formatted, like the templates' ``_()``: a literal percent is ``%%``."""
    return translate(lang, message) % values


def say(lang: str, message: object) -> str:
    """A message from below the console in ``lang``: a ``Said`` (db/messages.py) is
    translated by its English template, values that are ``Said`` in turn; an
    exception says its first argument; any other text is shown as it is."""
    if isinstance(message, BaseException):
        message = message.args[0] if message.args else str(message)
    if not isinstance(message, Said):
        return str(message)
    values = {k: say(lang, v) if isinstance(v, Said) else v for k, v in message.values.items()}
    return translate(lang, message.template) % values


# pydantic's own refusals of a form value, by error type, in words of ours (English
# keeps pydantic's text; the values come from the error's ``ctx``)
PYDANTIC = {
    "missing": N_("required"),
    "extra_forbidden": N_("not a known field"),
    "string_too_short": N_("should have at least %(min_length)s characters"),
    "too_short": N_("should have at least %(min_length)s items"),
    "literal_error": N_("should be one of %(expected)s"),
    "int_parsing": N_("should be a whole number"),
    "int_type": N_("should be a whole number"),
    "int_from_float": N_("should be a whole number"),
    "float_parsing": N_("should be a number"),
    "float_type": N_("should be a number"),
    "bool_parsing": N_("should be true or false"),
    "bool_type": N_("should be true or false"),
    "greater_than_equal": N_("should be at least %(ge)s"),
    "greater_than": N_("should be more than %(gt)s"),
    "less_than_equal": N_("should be at most %(le)s"),
    "less_than": N_("should be less than %(lt)s"),
    "string_type": N_("should be text"),
    "list_type": N_("should be a list"),
    "dict_type": N_("should be a mapping"),
}


def say_invalid(lang: str, error: Mapping) -> str:
    """One pydantic error (``ValidationError.errors()`` item) in ``lang``: a validator's
    ``Said`` through the catalogue, pydantic's own refusals through ``PYDANTIC``;
    English keeps pydantic's wording, an unknown type stays English."""
    raised = (error.get("ctx") or {}).get("error")
    if isinstance(raised, BaseException):
        return say(lang, raised)
    english = str(error.get("msg", ""))
    key = PYDANTIC.get(str(error.get("type")))
    if lang == DEFAULT_LANG or key is None:
        return english
    values = {k: str(v).replace("' or '", "', '") for k, v in (error.get("ctx") or {}).items()}
    try:
        return translate(lang, key) % values
    except (KeyError, TypeError, ValueError):
        return english


def plural(lang: str, singular: str, plural_form: str, n: int) -> str:
    """English picks by ``n``; Chinese has one form, keyed by the English plural."""
    if lang == DEFAULT_LANG:
        return singular if n == 1 else plural_form
    return translate(lang, plural_form)


def countdown_words(lang: str) -> dict[str, str]:
    """The board countdown's phrases in ``lang`` (monitor/history/board.py
    countdown_text; app.js reads the same from the board's data attributes)."""
    return {key: translate(lang, words) for key, words in COUNTDOWN_EN.items()}


def _lang_of(context: Context) -> str:
    return context.get("page_lang") or DEFAULT_LANG


@pass_context
def gettext(context: Context, message: str) -> str:
    """The templates' ``_()`` (before Jinja's newstyle wrapper formats it)."""
    return translate(_lang_of(context), message)


@pass_context
def ngettext(context: Context, singular: str, plural_form: str, n: int) -> str:
    return plural(_lang_of(context), singular, plural_form, n)


@pass_context
def word(context: Context, value: object) -> str:
    """A stored word shown as a label (``crisis``, ``acknowledged``, ``pr``) in the
    page's language; the words are listed in ``WORDS`` so a test checks each has
    its Chinese, since no ``_()`` literal names them."""
    return translate(_lang_of(context), str(value)) if value is not None else ""


@pass_context
def said_filter(context: Context, value: object) -> str:
    """The templates' ``|said``: a message from below (db/messages.py) in the page's
    language."""
    return say(_lang_of(context), value) if value is not None else ""


# Stored words the pages show through ``|word``: severities, alert statuses, roles,
# source states, incident categories, trends and changes, who manages a row, and the
# choices of the admin forms' selects (source kinds and pages, message formats).
WORDS = (*SEVERITIES, *STATUSES, *ROLES, *STATES, *sorted(known_keys()[0]), "paused",
         "not fetched yet", "stale",
         "growing", "steady", "merged", "rise", "reminder", "reopened", "enabled",
         "disabled", "active", "console", "config", "feed", "forum", "discourse", "listing",
         "thread", "plain", "markdown", "html", "local", "federated",
         "builtin", "custom")
