"""Strict validation of a YAML file against a typed model, with every error at file:line.

Shared by the inventory and the waiver file: one way to read user-written YAML.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from scanner.yamlsafe import LocatedDocument, YamlLoadError, load_located

M = TypeVar("M", bound=BaseModel)
PathProblems = list[tuple[tuple[Any, ...], str]]
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Issue:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f" {self.path}:" if self.path else ""
        return f"{self.file}:{self.line}:{where} {self.message}"


class ValidationFailed(Exception):
    def __init__(self, issues: list[Issue]):
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


def dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_text(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationFailed([Issue(str(path), 0, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationFailed([Issue(str(path), 0, "", "file larger than 5 MiB")])
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationFailed([Issue(str(path), line, "", "not valid UTF-8")]) from None


def validate_text(text: str, filename: str, model: type[M], *, what: str, doc: str,
                  cross_checks: Callable[[M], PathProblems] | None = None) -> M:
    """Parse YAML text into `model`; raise ValidationFailed listing every problem with its line."""
    try:
        located: LocatedDocument = load_located(text, filename)
    except YamlLoadError as exc:
        raise ValidationFailed([Issue(filename, i.line, dotted(i.path), i.message) for i in exc.issues]) from None
    if not isinstance(located.data, dict):
        raise ValidationFailed([Issue(filename, 1, "", f"the {what} must be a mapping of sections")])
    try:
        obj = model.model_validate(located.data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key (not in the {what} format; see {doc})"
            elif err["type"] == "missing":
                message = "required field is missing"
            issues.append(Issue(filename, located.line_of(loc), dotted(loc), message))
        raise ValidationFailed(sorted(issues, key=lambda i: i.line)) from None
    problems = cross_checks(obj) if cross_checks else []
    if problems:
        raise ValidationFailed(sorted((Issue(filename, located.line_of(p), dotted(p), m) for p, m in problems),
                                      key=lambda i: i.line))
    return obj
