"""Reading a YAML file node by node, so that every error names the file, line and field.

The routing policy and the IVR flows are both such files; each has its own error class and its
own sections on top of this reader."""

from __future__ import annotations

from pathlib import Path
from typing import Generic, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

E = TypeVar("E", bound=ValueError)


def read_file(path: Path, error: type[E]) -> str:
    """The file's text; `error` names it when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror}") from None


def compose(text: str, source: str, error: type[E]) -> Node:
    """The node tree of `text`; `error` names the line of a syntax error, or says it is empty."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise error(f"{source}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if root is None:
        raise error(f"{source}: the file is empty")
    return root


class YamlReader(Generic[E]):
    """Typed reads of nodes; each failure is `error("file:line: field: what is wrong")`."""

    def __init__(self, source: str, error: type[E]) -> None:
        self.source = source
        self.error = error

    def fail(self, node: Node, path: str, message: str) -> E:
        return self.error(f"{self.source}:{node.start_mark.line + 1}: {path}: {message}")

    def mapping(self, node: Node, path: str, allowed: set[str]) -> dict[str, Node]:
        """The keys of a mapping; with `allowed` given, any other key is an error."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, path, "must be a mapping of keys to values")
        found: dict[str, Node] = {}
        for key, value in node.value:
            name = self.scalar(key, path)
            if name in found:
                raise self.fail(key, f"{path}.{name}", "is given twice")
            if allowed and name not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(key, f"{path}.{name}", f"unknown field; known: {known}")
            found[name] = value
        return found

    def require(self, fields: dict[str, Node], node: Node, path: str, *names: str) -> None:
        for name in names:
            if name not in fields:
                raise self.fail(node, path, f"{name} is required")

    def sequence(self, node: Node, path: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, path, "must be a list")
        return list(node.value)

    def scalar(self, node: Node, path: str) -> str:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, path, "must be a single value")
        return str(node.value)

    def number(self, node: Node, path: str, low: float = 0, high: float | None = None) -> float:
        text = self.scalar(node, path)
        try:
            value = float(text)
        except ValueError:
            raise self.fail(node, path, f"must be a number, not {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise self.fail(node, path, f"must be {bound}, not {text}")
        return value

    def strings(self, node: Node, path: str) -> list[str]:
        """One value or a list of them."""
        if isinstance(node, ScalarNode):
            return [self.scalar(node, path)]
        return [self.scalar(n, f"{path}[{i}]") for i, n in enumerate(self.sequence(node, path))]
