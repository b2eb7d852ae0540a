"""Playbooks are data (YAML, bilingual en/zh), one per incident category, written
from the seed texts (../shared/seeds). This module reads them and picks one for an
incident; ``choose_playbook`` is a pure function. What makes a file valid, and the
never-recommend lint, is in ``alerts/playbook_check.py``.

Built-ins live in ``alerts/playbooks/``; admins may add their own in the folder
the config names (``playbooks_dir``): same format, and a file with the name of a
built-in replaces it. Every problem in every file is reported at once, naming
the file and the key (``safety_incident.yaml: first_steps.zh: ...``), so an admin
fixes a folder in one pass.

Holding statements have placeholders and optional clauses (``alerts/statement.py``
fills them): ``{brand} {product} {time}``, and ``{place}`` only inside a clause in
square brackets, "with {brand}[ at {place}]", left out when the incident names no
place. A missing ``{product}`` or ``{time}`` falls back to the playbook's
``placeholder_defaults``, then to neutral words.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from alerts.durations import parse_duration
from alerts.playbook_check import check_fields
from db.messages import said

BUILTIN = Path(__file__).parent / "playbooks"
DEFAULT_RESPONSE_TIME = "24h"


class PlaybookError(ValueError):
    """A playbook file is invalid; the message names the file and key (one line per
    problem); ``problems`` keeps each line as raised, for the console to translate."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Playbook:
    """One playbook. Bilingual fields map "en" and "zh" to text or a list of text.
    ``categories`` are the incident categories it covers (monitor/lexicon/
    categories.yaml); ``cues`` the crisis cues (cues.yaml) that pick it when an
    incident has no category. Fields after ``never_say`` have defaults, so
    playbooks built in code before they existed still work."""

    name: str
    title: dict[str, str]
    default: bool
    priority: int
    categories: frozenset[str]
    owner: dict[str, str]
    response_time: str
    first_steps: dict[str, list[str]]
    holding_statement: dict[str, str]
    escalation: dict[str, str]
    never_say: dict[str, list[str]]
    never_do: dict[str, list[str]] = field(default_factory=lambda: {"en": [], "zh": []})
    check_first: dict[str, list[str]] = field(default_factory=lambda: {"en": [], "zh": []})
    triage: dict[str, str] = field(default_factory=lambda: {"en": "", "zh": ""})
    cues: frozenset[str] = frozenset()
    placeholder_defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str = "builtin"  # or "custom": from the admin's playbooks_dir

    @property
    def response_seconds(self) -> float:
        """The promised first-response time in seconds: seed 001's trust formula
        (1 - reply_time / promised_reply_time) needs it as a number."""
        return duration_seconds(self.response_time)

    def text(self, field: str, lang: str):  # noqa: ANN201 - str or list
        """A bilingual field in ``lang``, falling back to English."""
        value = getattr(self, field)
        return value.get(lang) or value.get("en")


duration_seconds = parse_duration  # the config's grammar, one parser


def _read(path: Path) -> tuple[object, list[str]]:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), []
    except OSError as exc:
        return None, [said("%(file)s: cannot read (%(why)s)", file=path.name,
                            why=str(exc.strerror or exc))]
    except UnicodeDecodeError:
        return None, [said("%(file)s: not UTF-8 text", file=path.name)]
    except yaml.YAMLError as exc:
        return None, [said("%(file)s: not valid YAML: %(why)s", file=path.name,
                            why=" ".join(str(exc).split()))]


def _build(data: dict, source: str) -> Playbook:
    empty = {"en": [], "zh": []}
    return Playbook(
        name=data["name"], title=data["title"], default=data.get("default", False),
        priority=data.get("priority", 0), categories=frozenset(data.get("categories") or ()),
        owner=data["owner"], response_time=str(data.get("response_time",
                                                        DEFAULT_RESPONSE_TIME)),
        first_steps=data["first_steps"], holding_statement=data["holding_statement"],
        escalation=data["escalation"], never_say=data["never_say"],
        never_do=data.get("never_do") or empty, check_first=data.get("check_first") or empty,
        triage=data.get("triage") or {"en": "", "zh": ""},
        cues=frozenset(data.get("cues") or ()),
        placeholder_defaults=data.get("placeholder_defaults") or {}, source=source)


def check_playbook(path: Path, *, source: str = "builtin",
                   categories: Collection[str] | None = None,
                   cues: Collection[str] | None = None) -> tuple[Playbook | None, list[str]]:
    """The playbook in ``path`` and every problem with it (the playbook is None if
    there are any). ``categories``/``cues``, when given, are the known keys: a typo
    there would otherwise make a playbook silently never match."""
    data, problems = _read(path)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [said("%(file)s: expected a mapping of playbook fields", file=path.name)]
    found = check_fields(data, path.stem, categories=categories, cues=cues)
    if found:
        return None, [said("%(file)s: %(problem)s", file=path.name, problem=p) for p in found]
    return _build(data, source), []


def parse_playbook(path: Path, *, source: str = "builtin",
                   categories: Collection[str] | None = None,
                   cues: Collection[str] | None = None) -> Playbook:
    """One playbook file, or ``PlaybookError`` listing all of its problems."""
    book, problems = check_playbook(path, source=source, categories=categories, cues=cues)
    if book is None:
        raise PlaybookError(problems)
    return book


def _read_folder(folder: Path, source: str, categories: Collection[str] | None,
                 cues: Collection[str] | None) -> tuple[list[Playbook], list[str]]:
    folder = Path(folder)
    if not folder.is_dir():
        return [], [said("%(file)s: not a folder", file=str(folder))]
    books, problems = [], []
    for path in sorted(folder.glob("*.yml")):
        problems.append(said("%(file)s: playbook files must end in .yaml", file=path.name))
    for path in sorted(folder.glob("*.yaml")):
        book, found = check_playbook(path, source=source, categories=categories, cues=cues)
        problems += found
        if book is not None:
            books.append(book)
    return books, problems


def _default_problems(books: Iterable[Playbook]) -> list[str]:
    defaults = sorted(b.name for b in books if b.default)
    if len(defaults) == 1:
        return []
    return [said("exactly one playbook must say default: true, found %(n)s%(names)s; to "
                 "change the default, replace the built-in default with a copy that says "
                 "default: false", n=len(defaults),
                 names=f" ({', '.join(defaults)})" if defaults else "")]


def _merge(*layers: list[Playbook]) -> tuple[Playbook, ...]:
    merged: dict[str, Playbook] = {}
    for layer in layers:
        merged.update((b.name, b) for b in layer)
    return tuple(sorted(merged.values(), key=lambda b: b.name))


def load_playbooks(extra: Path | None = None, *, categories: Collection[str] | None = None,
                   cues: Collection[str] | None = None) -> tuple[Playbook, ...]:
    """The built-ins, then the admin folder ``extra`` (its files add playbooks or
    replace built-ins of the same name), sorted by name. Raise ``PlaybookError``
    listing every problem; exactly one playbook may be the default."""
    builtin, problems = _read_folder(BUILTIN, "builtin", categories, cues)
    custom: list[Playbook] = []
    if extra is not None:
        custom, found = _read_folder(Path(extra), "custom", categories, cues)
        problems += found
    books = _merge(builtin, custom)
    if not problems:  # a broken file may hold the default: count only when all parsed
        problems = _default_problems(books)
    if problems:
        raise PlaybookError(problems)
    return books


def validate_folder(folder: Path, *, categories: Collection[str] | None = None,
                    cues: Collection[str] | None = None) -> list[str]:
    """Every problem in every playbook file of ``folder``, checked as the daemon
    would load it (on top of the built-ins), so an admin fixes them in one pass."""
    folder = Path(folder)
    custom, problems = _read_folder(folder, "custom", categories, cues)
    if folder.is_dir() and not any(folder.glob("*.yaml")) and not problems:
        return [said("%(file)s: no playbook files (*.yaml)", file=str(folder))]
    builtin, found = _read_folder(BUILTIN, "builtin", categories, cues)
    problems += found
    return problems + _default_problems(_merge(builtin, custom))


def _top(books: Iterable[Playbook]) -> Playbook:
    return min(books, key=lambda b: (-b.priority, b.name))


def choose_playbook(playbooks: Iterable[Playbook], cues: Iterable[str] = (),
                    category: str | None = None) -> Playbook:
    """The playbook for an incident: the most urgent (highest priority) of those that
    cover its guessed category and those whose cues meet the cues seen; otherwise the
    default (seed 000: most complaints are normal ones). A service complaint that also
    threatens the courts or the press is answered on the legal or media clock (2 h),
    not the service one (4 h): the category guess counts words, and the complaint's
    words outnumber its one threat."""
    books = list(playbooks)
    seen = set(cues)
    fitting = [b for b in books if (category is not None and category in b.categories)
               or b.cues & seen]
    if fitting:
        return _top(fitting)
    defaults = [b for b in books if b.default]
    if not defaults:
        raise PlaybookError(said("no default playbook among the playbooks given"))
    return _top(defaults)
