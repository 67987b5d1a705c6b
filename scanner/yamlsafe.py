"""Safe YAML loading that remembers where every value came from.

The inventory's errors must name file, line and field, so we compose the node tree ourselves
(yaml.SafeLoader, never yaml.load) and build plain Python data while recording the line of every
path. Aliases are expanded with a node budget, which stops alias bombs quickly; duplicate keys
are errors rather than silently last-one-wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]

NODE_BUDGET = 100_000


@dataclass(frozen=True)
class YamlIssue:
    line: int
    path: Path
    message: str


class YamlLoadError(Exception):
    def __init__(self, issues: list[YamlIssue]):
        super().__init__("; ".join(i.message for i in issues))
        self.issues = issues


@dataclass
class LocatedDocument:
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """Line of the longest known prefix of `path` (a missing field points at its parent)."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line is not None:
                return line
        return 1


class _Builder:
    def __init__(self, loader: yaml.SafeLoader):
        self.loader = loader
        self.lines: dict[Path, int] = {}
        self.issues: list[YamlIssue] = []
        self.nodes_seen = 0

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.nodes_seen += 1
        if self.nodes_seen > NODE_BUDGET:
            raise YamlLoadError(
                [YamlIssue(node.start_mark.line + 1, path,
                           f"document expands to more than {NODE_BUDGET} nodes (alias bomb?)")]
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # resolves `<<` merge keys the way SafeLoader does
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    self.issues.append(YamlIssue(key_node.start_mark.line + 1, path,
                                                 "mapping keys must be plain scalars"))
                    continue
                key = str(key) if not isinstance(key, str) else key
                child = path + (key,)
                if key in result:
                    self.issues.append(YamlIssue(key_node.start_mark.line + 1, child,
                                                 f"duplicate key '{key}'"))
                    continue
                self.lines[child] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def load_located(text: str, filename: str = "<inventory>") -> LocatedDocument:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # raised while reading, before any node exists
        line = text[: exc.position].count("\n") + 1
        raise YamlLoadError([YamlIssue(line, (), f"YAML: character {exc.character!r} is not allowed")]) from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            raise YamlLoadError([YamlIssue(line, (), f"YAML syntax: {exc.problem or exc}")]) from None
        except yaml.reader.ReaderError as exc:
            line = text[: exc.position].count("\n") + 1
            raise YamlLoadError([YamlIssue(line, (), f"YAML: character {exc.character!r} is not allowed")]) from None
        except RecursionError:
            raise YamlLoadError([YamlIssue(1, (), "YAML nesting too deep")]) from None
        except yaml.YAMLError as exc:
            raise YamlLoadError([YamlIssue(1, (), f"YAML: {exc}")]) from None
        if node is None:
            return LocatedDocument(data=None)
        builder = _Builder(loader)
        try:
            data = builder.build(node, ())
        except yaml.constructor.ConstructorError as exc:
            mark = exc.problem_mark
            raise YamlLoadError([YamlIssue(mark.line + 1 if mark else 1, (), f"YAML: {exc.problem}")]) from None
        except RecursionError:
            raise YamlLoadError([YamlIssue(1, (), "YAML nesting too deep")]) from None
        if builder.issues:
            raise YamlLoadError(builder.issues)
        return LocatedDocument(data=data, lines=builder.lines)
    finally:
        loader.dispose()
