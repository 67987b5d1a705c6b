"""nginx's configuration language, read the way nginx's own reader (ngx_conf_file.c) reads it:
words, quoted strings with their escapes, `#` comments only where a word may start, `${var}`
inside a word, directives ended by `;` or opening a `{ }` block; and `include` replaced in place
by the directives of the files it names (relative paths under the main file's folder, globs
expanded in sorted order, as nginx's glob does). Pure: text in, a tree out."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_INCLUDE_DEPTH = 16
MAX_TEXT = 300  # characters kept of a directive as written
_ESCAPES = {"t": "\t", "r": "\r", "n": "\n"}


@dataclass
class Node:
    name: str
    args: list[str]
    path: str
    line: int
    text: str  # as written, `name … ;` or `name … {`
    alone: bool  # the only thing on its line (besides blanks and a comment), and kept whole in `text`
    indent: str
    children: list[Node] | None = None  # a block's directives; None for a simple directive

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class _Word:
    value: str
    start: int
    line: int


@dataclass
class Parsed:
    nodes: list[Node]
    errors: list[str] = field(default_factory=list)


class _Lexer:
    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def skip(self) -> str | None:
        """Past blanks and comments; the next character, None at the end."""
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\n":
                self.line += 1
                self.pos += 1
            elif ch in " \t\r":
                self.pos += 1
            elif ch == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return ch
        return None

    def word(self) -> _Word:
        text, start, line = self.text, self.pos, self.line
        out: list[str] = []
        quote = text[start] if text[start] in "\"'" else None
        self.pos += 1 if quote else 0
        brace = False  # inside `${…}`
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\" and self.pos + 1 < len(text):
                nxt = text[self.pos + 1]
                out.append(_ESCAPES.get(nxt, nxt) if quote else nxt)
                self.line += nxt == "\n"
                self.pos += 2
                continue
            if quote:
                self.pos += 1
                if ch == quote:
                    break
                self.line += ch == "\n"
                out.append(ch)
                continue
            if ch == "{" and out and out[-1] == "$":
                brace = True
            elif ch == "}" and brace:
                brace = False
            elif ch in " \t\r\n;{}" or (ch == "#" and not out):
                break
            out.append(ch)
            self.pos += 1
        return _Word("".join(out), start, line)


def _line_bounds(text: str, start: int, end: int) -> tuple[str, bool]:
    """The indentation of the line holding text[start:end], and whether nothing else is on it."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    before, after = text[line_start:start], text[end:line_end].strip()
    indent = set(before) <= {" ", "\t"}
    # too long to keep whole: a fix could not match the line by its text
    alone = (indent and (not after or after.startswith("#")) and "\n" not in text[start:end]
             and end - start <= MAX_TEXT)
    return before if indent else "", alone


def parse(path: str, text: str) -> Parsed:
    """One file's directives, blocks nested."""
    lexer = _Lexer(text)
    root: list[Node] = []
    stack: list[list[Node]] = [root]
    errors: list[str] = []
    words: list[_Word] = []
    while True:
        ch = lexer.skip()
        if ch is None:
            break
        if ch in ";{":
            lexer.pos += 1
            if not words:
                errors.append(f"{path}:{lexer.line}: '{ch}' without a directive")
                continue
            first = words[0]
            indent, alone = _line_bounds(text, first.start, lexer.pos)
            node = Node(first.value, [w.value for w in words[1:]], path, first.line,
                        text[first.start:lexer.pos][:MAX_TEXT], alone, indent, [] if ch == "{" else None)
            stack[-1].append(node)
            if node.children is not None:
                stack.append(node.children)
            words = []
        elif ch == "}":
            lexer.pos += 1
            if words:
                errors.append(f"{path}:{lexer.line}: directive '{words[0].value}' has no ';'")
                words = []
            if len(stack) == 1:
                errors.append(f"{path}:{lexer.line}: unexpected '}}'")
            else:
                stack.pop()
        else:
            words.append(lexer.word())
    if words:
        errors.append(f"{path}: ends inside directive '{words[0].value}'")
    if len(stack) > 1:
        errors.append(f"{path}: ends inside a block ('}}' missing)")
    return Parsed(root, errors)


def _glob_match(pattern: str, path: str) -> bool:
    # glob(3): `*` does not cross `/`, so match component by component
    pp, ps = pattern.split("/"), path.split("/")
    return len(pp) == len(ps) and all(fnmatch.fnmatchcase(s, p) for p, s in zip(pp, ps, strict=True))


def parse_all(files: dict[str, str], parse_one: Callable[[str, str], Parsed]) -> tuple[dict[str, list[Node]], list[str]]:
    """Every file of a configuration parsed once: its nodes by path, and the errors of all."""
    parsed: dict[str, list[Node]] = {}
    errors: list[str] = []
    for path, text in files.items():
        result = parse_one(path, text)
        parsed[path] = result.nodes
        errors += result.errors
    return parsed, errors


class Resolver:
    """Every file of a configuration, parsed once, and `include` expanded in place."""

    def __init__(self, files: dict[str, str], conf_dir: str):
        self.conf_dir = conf_dir
        self.parsed, self.errors = parse_all(files, parse)

    def matches(self, pattern: str) -> list[str]:
        full = pattern if pattern.startswith("/") else posixpath.join(self.conf_dir, pattern)
        if not any(c in full for c in "*?["):
            return [full] if full in self.parsed else []
        return sorted(p for p in self.parsed if _glob_match(full, p))

    def expand(self, nodes: list[Node], depth: int = 0) -> list[Node]:
        out: list[Node] = []
        for node in nodes:
            if node.name == "include" and node.children is None and len(node.args) == 1:
                if depth >= MAX_INCLUDE_DEPTH:
                    self.errors.append(f"{node.location}: includes nested deeper than {MAX_INCLUDE_DEPTH}")
                    continue
                for path in self.matches(node.args[0]):
                    out += self.expand(self.parsed[path], depth + 1)
                continue
            if node.children is not None:
                node = Node(node.name, node.args, node.path, node.line, node.text, node.alone, node.indent,
                            self.expand(node.children, depth))
            out.append(node)
        return out

    def tree(self, main: str) -> list[Node]:
        return self.expand(self.parsed.get(main, []))
