"""Editing a web server's configuration files safely, the same way for nginx and Apache.

A value set now is changed on its own recorded line (the line as the scan recorded it, in the
file it was read from); a missing one is added after a line of the block, between markers, with
an `assert` first that the line is still there (blockinfile would otherwise append the block at
the end of the file, in another context). Each edit sits between a read of the file and the
server's own test of its whole configuration; the rescue puts the earlier content back and fails
the block, so a broken configuration never waits on disk for the next restart. Step texts come
from the catalog keys `<daemon>_replace`, `_anchor`, `_insert`, `_keep`, `_mode`, `_test`,
`_restore`, `_failed` and `_failed_message`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scanner.model import Result

from .facts import SAFE_PATH, NotAutomatic
from .model import Guarded, Handler, Step, Unsafe

NAMES_VAR = "readyscan_names"
MASKED = '"***"'  # a value the probe masked on the host (a secret): the line as recorded is not the file's
Edit = tuple[list[dict[str, Any]], str]  # the edit's tasks and the file they change
Made = tuple[Guarded, tuple[Handler, ...]]
# a value both servers take as one word between double quotes
SAFE_WORD = re.compile(r"[A-Za-z0-9@.:+=_!*-]+")
TLS13_OPENSSL = (1, 1, 1)  # the first OpenSSL with TLS 1.3
HEADER_VALUES = {  # what a header fix writes, HSTS aside (its max-age comes from the result)
    "http.frame_options": ("X-Frame-Options", "SAMEORIGIN"),
    "http.content_type_options": ("X-Content-Type-Options", "nosniff"),
}


@dataclass(frozen=True)
class Line:
    """A directive as a fix writes it. With `names`, `text` is a template that joins them (a list
    of suites is longer than a line of YAML may be), and `label` names it in the task's name."""

    text: str
    label: str
    names: tuple[str, ...] = ()

    @classmethod
    def plain(cls, text: str) -> Line:
        return cls(Unsafe(text), text)

    def task_vars(self) -> dict[str, Any]:
        return {"vars": {NAMES_VAR: [Unsafe(n) for n in self.names]}} if self.names else {}


class ConfigEdits:
    """The edits of one server's files: `daemon` names the catalog keys and the handler,
    `test_argv` is the server's test of its whole configuration."""

    def __init__(self, daemon: str, test_argv: list[str], reload: str):
        self.daemon, self.test_argv, self.reload = daemon, test_argv, reload

    def replace(self, directive: dict[str, Any], line: Line) -> Edit:
        if not directive.get("alone"):
            raise NotAutomatic(f"{self.daemon}_line_shared", where=directive.get("location"))
        if MASKED in str(directive.get("text")):
            raise NotAutomatic(f"{self.daemon}_masked", where=directive.get("location"))
        path = path_of(directive)
        return [{"name": Step(f"{self.daemon}_replace", old=directive.get("text"), new=line.label,
                              where=directive.get("location")),
                 **line.task_vars(),
                 "ansible.builtin.replace": {
                     "path": Unsafe(path),
                     "regexp": Unsafe(r"^(\s*)" + re.escape(str(directive.get("text"))) + r"(?=\s*(#.*)?$)"),
                     "replace": same_kind(line.text, r"\g<1>" + line.text.replace("\\", "\\\\")),
                     "unsafe_writes": True},
                 "register": "readyscan_edit", "notify": self.reload}], path

    def insert_after(self, after: dict[str, Any], line: Line, marker: str, indent: str, block: str) -> Edit:
        """`line` added after the recorded line `after`, between markers naming `marker`;
        `block` names where, in the task's name."""
        path = path_of(after)
        found = r"^\s*" + re.escape(str(after.get("text"))) + r"\s*(#.*)?$"
        # blockinfile puts a block whose line is gone at the end of the file (another context
        # for an included file): the line the scan saw must still be there
        guard = {"name": Step(f"{self.daemon}_anchor", line=after.get("text"), where=after.get("location")),
                 "vars": {"readyscan_anchor": Unsafe(found)},
                 "ansible.builtin.assert": {"that": [
                     "(readyscan_before.content | b64decode | regex_search(readyscan_anchor, multiline=True)) is not none"],
                     "quiet": True}}
        return [guard, self.block_task(path, line, marker, indent, block, Unsafe(found))], path

    def block_task(self, path: str, line: Line, marker: str, indent: str, block: str,
                   after: str | None = None) -> dict[str, Any]:
        """The blockinfile task; without `after`, the block goes at the end of the file."""
        return {"name": Step(f"{self.daemon}_insert", lines=line.label, where=block),
                **line.task_vars(),
                "ansible.builtin.blockinfile": {
                    "path": Unsafe(path),
                    **({"insertafter": after} if after is not None else {}),
                    "marker": Unsafe(f"{indent}# {{mark}} readyscan: {marker}"),
                    "block": same_kind(line.text, "".join(f"{indent}{t}\n" for t in line.text.split("\n"))),
                    "unsafe_writes": True},
                "register": "readyscan_edit", "notify": self.reload}

    def guarded(self, edit: Edit) -> Guarded:
        """The edit between a read of the file and the server's test; the rescue puts the content back."""
        tasks, path = edit
        d = self.daemon
        before = [
            {"name": Step(f"{d}_keep", path=path), "ansible.builtin.slurp": {"src": Unsafe(path)},
             "register": "readyscan_before"},
            {"name": Step(f"{d}_mode", path=path), "ansible.builtin.stat": {"path": Unsafe(path), "follow": True},
             "register": "readyscan_stat"},
        ]
        test = {"name": Step(f"{d}_test"), "ansible.builtin.command": {"argv": [Unsafe(a) for a in self.test_argv]},
                "changed_when": False}
        rescue = [
            {"name": Step(f"{d}_restore", path=path), "ansible.builtin.copy": {
                "content": "{{ readyscan_before.content | b64decode }}", "dest": Unsafe(path), "follow": True,
                "mode": "{{ readyscan_stat.stat.mode }}", "unsafe_writes": True},
             "when": "readyscan_before.content is defined and readyscan_stat.stat.exists"},
            {"name": Step(f"{d}_failed", path=path), "ansible.builtin.fail":
                {"msg": Step(f"{d}_failed_message", path=path)}},
        ]
        return Guarded([*before, *tasks, test], rescue)


def unique_line(candidates: list[dict[str, Any]], written: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first candidate alone on its line and written once in its file among `written` (an
    included snippet several blocks share is no place for one block's change)."""
    for candidate in candidates:
        path = path_of(candidate)
        same = [d for d in written if d.get("text") == candidate.get("text") and path_of(d) == path]
        if candidate.get("alone") and len(same) == 1:
            return candidate
    return None


def same_kind(text: str, value: str) -> str:
    """`value`, built around `text`, kept `!unsafe` when `text` was (a template stays a template)."""
    return Unsafe(value) if isinstance(text, Unsafe) else value


def version(text: str) -> tuple[int, ...] | None:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in m.groups()) if m else None


def path_of(directive: dict[str, Any]) -> str:
    path = str(directive.get("location") or "").rsplit(":", 1)[0]
    if not SAFE_PATH.fullmatch(path):
        raise NotAutomatic("values_unknown")
    return path


def port_of(r: Result) -> int:
    port = r.evidence.get("port")
    if not isinstance(port, int):
        raise NotAutomatic("values_unknown")
    return port


def header_value(r: Result) -> tuple[str, str]:
    """The header a header fix writes: HSTS with the result's minimum max-age, else a fixed value."""
    if r.check_id == "http.hsts":
        minimum = r.evidence.get("minimum_max_age")
        if not isinstance(minimum, int) or minimum <= 0:
            raise NotAutomatic("values_unknown")
        return "Strict-Transport-Security", f"max-age={minimum}"
    return HEADER_VALUES[r.check_id]


def disclosed_by(r: Result, server: str) -> bool:
    """Whether every header that disclosed a version is `server`'s own Server header."""
    disclosed = r.message.params.get("headers") if r.message else None
    lines = [str(x).lower() for x in disclosed] if isinstance(disclosed, list) else []
    return bool(lines) and all(line.startswith(f"server: {server}") for line in lines)


def suites_with_level(words: list[Any], suites: tuple[str, ...]) -> tuple[str, ...]:
    """The recommended suites and the `@SECLEVEL=` the current list has (today's OpenSSL refuses
    a weak certificate key without it; that key is a finding of its own, fixed by a new
    certificate)."""
    level = [t for w in words for t in str(w).split(":") if t.upper().startswith("@SECLEVEL=")]
    names = (*suites, *level[-1:])
    if not names or not all(SAFE_WORD.fullmatch(n) for n in names):
        raise NotAutomatic("values_unknown")
    return names
