"""Apache httpd's configuration language, read the way httpd's own reader (server/config.c,
util.c's ap_cfg_getline and ap_getword_conf) reads it: one directive per line, a trailing `\\`
joining the next line, `#` starting a comment only as a line's first non-blank character,
words split on blanks with "…" and '…' quoting, `<Section args>` … `</Section>` blocks, and
directive names in any case.

httpd evaluates some of it while it reads, and so does this reader, in the same order:
`Include` and `IncludeOptional` are replaced in place by the files they name (relative to
ServerRoot as it stands at that line; a directory means every file under it, globs match in
sorted order), `LoadModule` adds a module for the `<IfModule>` blocks after it, `Define` and the
command line's `-D` feed `<IfDefine>`, `<IfVersion>` compares with the running version, and
`${VAR}` is replaced from `Define`s. Pure: text in, a tree out."""

from __future__ import annotations

import fnmatch
import operator
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from scanner.hostprobes.nginx_syntax import Node, Parsed, parse_all

MAX_INCLUDE_DEPTH = 16
MAX_TEXT = 300  # characters kept of a directive as written
INCLUDES = ("include", "includeoptional")
_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_COMPARE: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "=": operator.eq, "==": operator.eq, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def words(text: str) -> list[str]:
    """ap_getword_conf: blank-separated words, a word starting with a quote runs to the same
    quote (a backslash keeps a quote inside)."""
    out, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        if text[i] in "\"'":
            quote, i, buf = text[i], i + 1, []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n and text[i + 1] == quote:
                    i += 1
                buf.append(text[i])
                i += 1
            out.append("".join(buf))
            i += 1
        else:
            start = i
            while i < n and text[i] not in " \t":
                i += 1
            out.append(text[start:i])
    return out


def _split(text: str) -> tuple[str, str]:
    """A directive's name and the rest of its line."""
    name, _, rest = text.replace("\t", " ").partition(" ")
    return name, text[len(name):].strip()


def parse(path: str, text: str) -> Parsed:
    """One file into nodes: a directive's `name` in lower case (httpd matches names in any case),
    `text` the line as written (joined lines with their `\\`), `alone` false for a directive
    written over several lines or cut off in `text`."""
    root: list[Node] = []
    stack: list[tuple[str, list[Node]]] = [("", root)]
    errors: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        first, number = lines[i], i + 1
        raw = [first]
        while raw[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            raw.append(lines[i])
        i += 1
        joined = " ".join(r.rstrip()[:-1] if r.rstrip().endswith("\\") else r for r in raw).strip()
        if not joined or joined.startswith("#"):
            continue
        indent = first[:len(first) - len(first.lstrip())]
        written = "\n".join(raw).strip()
        alone = len(raw) == 1 and len(written) <= MAX_TEXT
        where = f"{path}:{number}"
        if joined.startswith("</"):
            name = joined[2:].rstrip(">").strip().lower()
            if len(stack) == 1 or stack[-1][0] != name:
                errors.append(f"{where}: '</{name}>' closes no open section")
                continue
            stack.pop()
            continue
        if joined.startswith("<"):
            if not joined.endswith(">"):
                errors.append(f"{where}: section line without its closing '>'")
                continue
            inner = joined[1:-1].strip()
            name, rest = _split(inner)
            children: list[Node] = []
            node = Node(name.lower(), words(rest), path, number, written[:MAX_TEXT], alone, indent, children)
            stack[-1][1].append(node)
            stack.append((node.name, children))
            continue
        name, rest = _split(joined)
        stack[-1][1].append(Node(name.lower(), words(rest), path, number, written[:MAX_TEXT], alone, indent))
    if len(stack) > 1:
        errors.append(f"{path}: ends inside <{stack[-1][0]}> (its closing line is missing)")
    return Parsed(root, errors)


def module_names(name: str, path: str = "") -> set[str]:
    """The names `<IfModule>` knows a module by: its identifier (`ssl_module`) and its source
    file (`mod_ssl.c`), from a LoadModule line or from `httpd -l`'s list (`mod_so.c`)."""
    if name.endswith(".c"):
        stem = name[:-2]
        return {name, (stem[4:] if stem.startswith("mod_") else stem) + "_module"}
    base = posixpath.basename(path)
    source = base[:-3] + ".c" if base.endswith(".so") else "mod_" + name.removesuffix("_module") + ".c"
    return {name, source}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


@dataclass
class Context:
    """What httpd knows while it reads: its ServerRoot, loaded modules, defines and version."""

    server_root: str
    modules: set[str] = field(default_factory=set)
    defines: dict[str, str] = field(default_factory=dict)
    version: str = ""

    def condition(self, node: Node) -> bool | None:
        """Whether a conditional section's body is read; None: not a conditional."""
        arg = node.args[0] if node.args else ""
        negate = arg.startswith("!")
        name = arg[1:] if negate else arg
        if node.name == "ifmodule":
            return (name in self.modules) != negate
        if node.name == "ifdefine":
            return (name in self.defines) != negate
        if node.name == "ifversion":
            return self.version_matches(node.args)
        return None

    def version_matches(self, args: list[str]) -> bool:
        if not self.version or not args:
            return True  # unknown version: httpd would know; read the body rather than lose it
        op, wanted = (args[0], args[1]) if len(args) > 1 else ("=", args[0])
        negate = op.startswith("!")
        op = op.lstrip("!")
        if op in ("~",) or (wanted.startswith("/") and wanted.endswith("/")):
            return bool(re.search(wanted.strip("/"), self.version)) != negate
        compare = _COMPARE.get(op)
        return (compare(_version(self.version), _version(wanted)) if compare else True) != negate


class Resolver:
    """Every file of a configuration, parsed once, read from the main file with includes and
    conditionals applied in order."""

    def __init__(self, files: dict[str, str], context: Context):
        self.context = context
        self.parsed, self.errors = parse_all(files, parse)

    def substitute(self, text: str, where: str | None) -> str:
        """`${VAR}` replaced from Define; one that is not (httpd's environment: Debian's envvars)
        stays as written, and is an error where it hides which file is read (`where` given)."""
        def value(m: re.Match[str]) -> str:
            if m.group(1) in self.context.defines:
                return self.context.defines[m.group(1)]
            if where is not None:
                self.errors.append(f"{where}: ${{{m.group(1)}}} is not defined in the files read "
                                   "(an environment variable of httpd's): the files it names are not read")
            return m.group(0)
        return _VAR.sub(value, text)

    def matches(self, pattern: str) -> list[str]:
        full = posixpath.normpath(pattern if pattern.startswith("/") else
                                  posixpath.join(self.context.server_root, pattern))
        if any(c in full for c in "*?["):
            parts = full.split("/")
            return sorted(p for p in self.parsed if len(p.split("/")) == len(parts) and all(
                fnmatch.fnmatchcase(s, q) for q, s in zip(parts, p.split("/"), strict=True)))
        if full in self.parsed:
            return [full]
        # a directory: every file under it, in order
        return sorted(p for p in self.parsed if p.startswith(full.rstrip("/") + "/"))

    def expand(self, nodes: list[Node], depth: int = 0) -> list[Node]:
        out: list[Node] = []
        for node in nodes:
            if node.children is None:
                out += self.simple(node, depth)
                continue
            wanted = self.context.condition(node)
            if wanted is not None:
                if wanted:
                    out += self.expand(node.children, depth)
                continue
            out.append(Node(node.name, node.args, node.path, node.line, node.text, node.alone, node.indent,
                            self.expand(node.children, depth)))
        return out

    def simple(self, node: Node, depth: int) -> list[Node]:
        args = [self.substitute(a, node.location if node.name in INCLUDES else None) for a in node.args]
        if node.name in INCLUDES and args:
            if depth >= MAX_INCLUDE_DEPTH:
                self.errors.append(f"{node.location}: includes nested deeper than {MAX_INCLUDE_DEPTH}")
                return []
            found = self.matches(args[0])
            if not found and node.name == "include" and not any(c in args[0] for c in "*?[") and "${" not in args[0]:
                self.errors.append(f"{node.location}: Include {args[0]} names no file that was read")
            return [n for path in found for n in self.expand(self.parsed[path], depth + 1)]
        if node.name == "serverroot" and args:
            self.context.server_root = args[0]
        elif node.name == "loadmodule" and len(args) >= 2:
            self.context.modules |= module_names(args[0], args[1])
        elif node.name == "define" and args:
            self.context.defines[args[0]] = args[1] if len(args) > 1 else ""
        elif node.name == "undefine" and args:
            self.context.defines.pop(args[0], None)
        return [Node(node.name, args, node.path, node.line, node.text, node.alone, node.indent)]

    def tree(self, main: str) -> list[Node]:
        return self.expand(self.parsed.get(main, []))
