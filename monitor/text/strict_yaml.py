"""YAML read strictly, for ``crisiswatch.yaml``: a config is small and written by hand,
so what YAML allows but nobody means is refused instead of silently accepted.

- A key given twice in one mapping (a second ``sources:``) is an error naming the
  key and both lines: plain YAML keeps the last one, and the sources in the first
  list would be dropped without a word.
- Aliases (``*name``) are allowed (``yaml.safe_dump`` writes them for a value used
  twice, and admins use anchors to share rules), but what the document expands to
  is capped at ``MAX_VALUES``: an alias bomb in ``keywords`` expands to billions of
  strings from a few lines.
- Nesting deeper than ``MAX_DEPTH`` is invalid YAML, not a RecursionError.

Pure: text in, Python data and the node tree (for line numbers) out.
"""

from __future__ import annotations

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

MAX_DEPTH = 64  # a real config nests 4 levels deep; a rules: section perhaps 6
MAX_VALUES = 200_000  # expanded: thousands of sources and keywords fit many times over


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without duplicate keys or unbounded nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: ANN001, ANN201
        if isinstance(node, yaml.MappingNode):
            seen: dict[object, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # <<: is resolved by the base class
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base class says so
                    continue
                if first is not None:
                    raise ConstructorError(
                        None, None, f"duplicate key {key!r} (first on line {first}); "
                        "a second one would silently replace the first",
                        key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, name: str = "<config>") -> tuple[object, yaml.Node | None]:
    """The document's data and its node tree; ``yaml.YAMLError`` (its message with
    ``name`` and the line) if it is not valid (strict) YAML."""
    loader = _StrictLoader(text)
    loader.name = name
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:  # the limit above should stop it first; never a traceback
            raise ComposerError(None, None, "nested too deeply", None) from None
        if node is not None and _expanded(node, {}) > MAX_VALUES:
            raise ComposerError(None, None, f"the document expands to more than {MAX_VALUES:,} "
                                "values through its aliases (*name)", node.start_mark)
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def _expanded(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for once every alias is expanded; each
    distinct node is counted once (``sizes``), so a bomb is measured, not expanded.
    Depth is already capped by the loader."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded(k, sizes) + _expanded(v, sizes) for k, v in node.value)
    else:
        total = 1
    sizes[id(node)] = min(total, MAX_VALUES + 1)
    return sizes[id(node)]


def line_of(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the value at ``loc`` (pydantic's error path), or of its
    nearest ancestor found; None without a node tree."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line
