"""The source form's own fields for the social kinds (mastodon, hackernews,
bluesky, reddit), so an admin fills in an instance's hashtags or a Reddit app's
environment variable names rather than YAML in the forum rules box.

Each kind's fields map one to one onto the option keys its config entry takes
(crawlers/mastodon.py, crawlers/reddit.py, crawlers/extractors/hackernews.py);
the form's values become that entry's options and go through the same
``SourceConfig`` validation as the YAML file, and the errors it names by option
key are shown under the field of that key. Form names carry a kind prefix
(``m_search``, ``r_search``) because the fields of every kind are in the page
(the script shows only the chosen kind's)."""

from __future__ import annotations

from dataclasses import dataclass

from web.admin.common import lines


@dataclass(frozen=True)
class KindField:
    """One form field: its form name, the option key it sets, and its shape
    (``list``: one item per line or comma-separated; ``flag``: a checkbox)."""

    name: str
    key: str
    shape: str = "text"


KIND_FIELDS: dict[str, tuple[KindField, ...]] = {
    "mastodon": (KindField("m_hashtags", "hashtags", "list"),
                 KindField("m_timeline", "timeline", "choice"),
                 KindField("m_search", "search", "list"),
                 KindField("m_token_env", "token_env")),
    "hackernews": (KindField("hn_query", "query", "list"),),
    "bluesky": (KindField("b_handle", "handle"),
                KindField("b_app_password_env", "app_password_env")),
    "reddit": (KindField("r_subreddits", "subreddits", "list"),
               KindField("r_search", "search", "list"),
               KindField("r_comments", "comments", "flag"),
               KindField("r_client_id_env", "client_id_env"),
               KindField("r_client_secret_env", "client_secret_env"),
               KindField("r_username_env", "username_env"),
               KindField("r_password_env", "password_env"),
               KindField("r_token_url", "token_url"),
               KindField("r_user_agent", "user_agent")),
}
TIMELINES = ("", "local", "federated")
ALL_FIELDS = tuple(f for fields in KIND_FIELDS.values() for f in fields)
# kinds whose options are the row's rules (hackernews keeps ``query`` in its own key)
RULES_KINDS = ("mastodon", "reddit", "bluesky")
# kinds with one service: a blank URL means the default (SourceConfig fills it in)
DEFAULT_URL_KINDS = ("hackernews", "reddit")


def blank_values() -> dict:
    """Every kind field empty (a new source's form)."""
    return {f.name: (False if f.shape == "flag" else "") for f in ALL_FIELDS}


def posted_values(get: callable, flag: callable) -> dict:
    """The kind fields of a posted form (``get``/``flag`` of ``AdminForm``)."""
    return {f.name: flag(f.name) if f.shape == "flag" else get(f.name).strip()
            for f in ALL_FIELDS}


def stored_values(kind: str, rules: dict | None) -> dict:
    """A stored row's options as its form fields (the other kinds' left blank)."""
    values = blank_values()
    for f in KIND_FIELDS.get(kind, ()):
        value = (rules or {}).get(f.key)
        if f.shape == "list":
            values[f.name] = "\n".join(value) if isinstance(value, list) else ""
        elif f.shape == "flag":
            values[f.name] = value is True
        else:
            values[f.name] = str(value) if value is not None else ""
    return values


def options_of(kind: str, values: dict) -> dict:
    """The kind's options from its fields, as a config entry would give them;
    blank fields left out (the option's default applies)."""
    out: dict = {}
    for f in KIND_FIELDS.get(kind, ()):
        value = values.get(f.name)
        if f.shape == "list":
            value = lines(value or "") or None
        elif f.shape == "flag":
            value = True if value else None
        if value not in (None, ""):
            out[f.key] = value
    return out


def field_for(kind: str, key: str) -> str:
    """The form field an error about option ``key`` belongs under (``key`` itself
    for the fields every kind has)."""
    return next((f.name for f in KIND_FIELDS.get(kind, ()) if f.key == key), key)


def option_keys(kind: str) -> tuple[str, ...]:
    return tuple(f.key for f in KIND_FIELDS.get(kind, ()))
