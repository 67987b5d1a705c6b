"""A small YAML writer for the lab's own files (inventory, expected results).

The lab runs on the standard library alone, so it cannot use PyYAML. This writer covers what those
files need and writes them the way a person would: block mappings, block lists of mappings, flow
lists of scalars, optional flow mappings, and trailing comments.
"""
import json
import re
from dataclasses import dataclass

INDENT = "  "
PLAIN_SAFE = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#,\[\]{}]*$")
SPECIAL_WORDS = re.compile(r"^(y|n|yes|no|on|off|true|false|null|~)$", re.IGNORECASE)
# Looks like a number, date or time to a YAML 1.1 loader (an IP address, with 3 dots, does not).
NUMBER_OR_DATE = re.compile(r"^[-+.\d][\d\s:.+\-eE_]*$")


@dataclass(frozen=True)
class Raw:
    """Written as is, unquoted (``yes``, ``2025-01-15``)."""
    text: str


@dataclass(frozen=True)
class Note:
    """A value with a comment written after it on the same line."""
    value: object
    comment: str


@dataclass(frozen=True)
class Flow:
    """A mapping written on one line: ``{a: 1, b: 2}``."""
    mapping: dict


def scalar(value) -> str:
    if isinstance(value, Raw):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if (PLAIN_SAFE.match(text) and not SPECIAL_WORDS.match(text)
            and not (NUMBER_OR_DATE.match(text) and text.count(".") <= 1)
            and text == text.strip()):
        return text
    return json.dumps(text, ensure_ascii=False)   # a JSON string is a valid YAML double-quoted one


def inline(value) -> str:
    if isinstance(value, Flow):
        return "{" + ", ".join(f"{key}: {inline(item)}" for key, item in value.mapping.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(inline(item) for item in value) + "]"
    return scalar(value)


LINE_WIDTH = 100


def is_block(value) -> bool:
    """Mappings, lists of mappings, and lists too long for one line are written as blocks."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and (
        any(isinstance(item, (dict, Note, Flow)) for item in value) or len(inline(value)) > LINE_WIDTH)


def mapping_lines(mapping: dict, depth: int) -> list[str]:
    lines = []
    pad = INDENT * depth
    for key, value in mapping.items():
        comment = ""
        if isinstance(value, Note):
            value, comment = value.value, f"  # {value.comment}"
        if is_block(value) and value:
            lines.append(f"{pad}{key}:{comment}")
            lines += block_lines(value, depth + 1)
        else:
            lines.append(f"{pad}{key}: {inline(value)}{comment}")
    return lines


def block_lines(value, depth: int) -> list[str]:
    if isinstance(value, dict):
        return mapping_lines(value, depth)
    lines = []
    pad = INDENT * depth
    for item in value:
        comment = ""
        if isinstance(item, Note):
            item, comment = item.value, f"  # {item.comment}"
        if isinstance(item, dict) and item:
            nested = mapping_lines(item, depth + 1)
            lines.append(f"{pad}- {nested[0].lstrip()}{comment}")
            lines += nested[1:]
        else:
            lines.append(f"{pad}- {inline(item)}{comment}")
    return lines


def dump(document: dict, header: list[str] = ()) -> str:
    """YAML text of ``document``, with ``header`` lines written as leading comments."""
    lines = [f"# {line}".rstrip() for line in header]
    lines += mapping_lines(document, 0)
    return "\n".join(lines) + "\n"
