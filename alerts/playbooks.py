"""Playbooks are data (YAML, bilingual), one per incident category, written from
the seed texts. ``choose_playbook`` is a pure function of the cues seen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

BUILTIN = Path(__file__).parent / "playbooks"
LANGS = ("en", "zh")


class PlaybookError(ValueError):
    """A playbook file is invalid; the message names the file and key."""


@dataclass(frozen=True)
class Playbook:
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

    def text(self, field: str, lang: str):  # noqa: ANN201 - str or list
        """A bilingual field in ``lang``, falling back to English."""
        value = getattr(self, field)
        return value.get(lang) or value.get("en")


def _bilingual(path: Path, data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict) or not all(value.get(lang) for lang in LANGS):
        raise PlaybookError(f"{path.name}: {key} needs both en and zh")
    return value


def parse_playbook(path: Path) -> Playbook:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise PlaybookError(f"{path.name}: expected a mapping")
    if data.get("name") != path.stem:
        raise PlaybookError(f"{path.name}: name must equal the file name ({path.stem!r})")
    return Playbook(
        name=data["name"],
        title=_bilingual(path, data, "title"),
        default=bool(data.get("default", False)),
        priority=int(data.get("priority", 0)),
        categories=frozenset(data.get("categories") or ()),
        owner=_bilingual(path, data, "owner"),
        response_time=str(data.get("response_time", "24h")),
        first_steps=_bilingual(path, data, "first_steps"),
        holding_statement=_bilingual(path, data, "holding_statement"),
        escalation=_bilingual(path, data, "escalation"),
        never_say=_bilingual(path, data, "never_say"),
    )


def load_playbooks(folder: Path = BUILTIN) -> tuple[Playbook, ...]:
    books = tuple(parse_playbook(p) for p in sorted(Path(folder).glob("*.yaml")))
    if sum(b.default for b in books) != 1:
        raise PlaybookError(f"{folder}: exactly one playbook must say default: true")
    return books


def choose_playbook(playbooks: Iterable[Playbook], cues: Iterable[str]) -> Playbook:
    """The highest-priority playbook whose categories meet the cues, else the default."""
    books = list(playbooks)
    seen = set(cues)
    matching = [b for b in books if b.categories & seen]
    if matching:
        return max(matching, key=lambda b: b.priority)
    return next(b for b in books if b.default)
