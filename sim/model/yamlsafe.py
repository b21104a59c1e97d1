"""A bounded YAML loader for scenarios and plan.yaml (issue 10 item 8).

``yaml.safe_load`` constructs nothing dangerous, but it accepts inputs that
stall or crash whatever reads the result:

* alias expansion ("billion laughs"): 352 bytes whose value, once walked,
  has 10^9 elements; the composed graph is checked before construction, and a
  document whose expanded size passes :data:`MAX_NODES` is refused;
* nesting: ``[[[[...]]]]`` a few thousand deep ends in a ``RecursionError``;
  composition stops at :data:`MAX_DEPTH` levels (counting through aliases);
* size: more than :data:`MAX_BYTES` is refused before parsing;
* duplicate keys are silently last-wins in YAML 1.1 loaders; here they are an
  error naming both lines.

Every refusal is a :class:`yaml.MarkedYAMLError`, so callers that report
YAML errors with their line number report these too.
"""

from __future__ import annotations

import yaml

MAX_BYTES = 1_000_000
MAX_NODES = 200_000  # expanded scalars + collections, aliases counted as many times as they are used
MAX_DEPTH = 50


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document refused by the bounds of this module."""


class BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that stops composing past :data:`MAX_DEPTH` levels."""

    _depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(problem=f"nested more than {MAX_DEPTH} levels deep",
                                     problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_graph(root: yaml.Node) -> None:
    """Expanded size, depth through aliases and duplicate keys of a composed document (iterative)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    state: dict[int, int] = {}  # 1: being walked, 2: done
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            state[key] = 2
            if size[key] > MAX_NODES:
                raise YamlLimitError(problem=f"expands to more than {MAX_NODES:,} values (aliases)",
                                     problem_mark=node.start_mark)
            if depth[key] > MAX_DEPTH:
                raise YamlLimitError(problem=f"nested more than {MAX_DEPTH} levels deep (through aliases)",
                                     problem_mark=node.start_mark)
            continue
        if state.get(key) == 2:
            continue
        if state.get(key) == 1:
            raise YamlLimitError(problem="an alias refers to a value that contains it (recursive)",
                                 problem_mark=node.start_mark)
        state[key] = 1
        if isinstance(node, yaml.MappingNode):
            _check_duplicates(node)
        stack.append((node, True))
        for kid in _children(node):
            if state.get(id(kid)) == 1:
                raise YamlLimitError(problem="an alias refers to a value that contains it (recursive)",
                                     problem_mark=kid.start_mark)
            if state.get(id(kid)) != 2:
                stack.append((kid, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_duplicates(node: yaml.MappingNode) -> None:
    seen: dict[str, yaml.Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        first = seen.get(key_node.value)
        if first is not None:
            raise YamlLimitError(problem=f"duplicate key {key_node.value!r} on lines {first.start_mark.line + 1} "
                                         f"and {key_node.start_mark.line + 1}",
                                 problem_mark=key_node.start_mark)
        seen[key_node.value] = key_node


def load(text: str):
    """Parse one YAML document within the bounds above; :class:`YamlLimitError` (a YAMLError) otherwise.

    >>> load("a: [1, 2]")
    {'a': [1, 2]}
    """
    if len(text) > MAX_BYTES:
        raise YamlLimitError(problem=f"{len(text):,} characters, more than {MAX_BYTES:,}")
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
