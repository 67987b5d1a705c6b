"""One vi/en catalog for every user-facing string: check texts, result messages, report and CLI.

Catalog files are YAML whose leaves are `{vi: ..., en: ...}`; nested keys join with dots, so a
check's texts live under its id (`tls.protocol.legacy.title`). Vietnamese is the default.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIRS = (ROOT / "checks" / "text", ROOT / "reports" / "text", ROOT / "scanner" / "text")


LIST_SHOWN = 8  # items of a list a sentence names; the rest are counted (the scan file keeps them all)
MORE = {"vi": "và {n} mục khác", "en": "and {n} more"}
ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class TextError(LookupError):
    """A text the catalog cannot render whole: its key has no entry, or a placeholder has no value.
    Rendering stops rather than print `{limit}` or a bare key to an inspector."""


def placeholders(template: str) -> set[str]:
    """The names a template's `{…}` fields read (`{a}` and `{a!r}` both read `a`)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def render_value(value: Any, lang: str = DEFAULT_LANG) -> str:
    """A parameter as the reader's text: lists joined, whole floats without ".0", and days in the
    form the language writes them (dd/mm/yyyy in Vietnamese, as the Ministry's forms do)."""
    if isinstance(value, (list, tuple, set)):
        items = [render_value(v, lang) for v in value]
        if len(items) > LIST_SHOWN + 1:
            items = [*items[:LIST_SHOWN], MORE.get(lang, MORE["en"]).format(n=len(items) - LIST_SHOWN)]
        return ", ".join(items)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y") if lang == "vi" else value.isoformat()
    if isinstance(value, str) and lang == "vi" and (m := ISO_DAY.match(value)):
        return f"{m.group(3)}/{m.group(2)}/{m.group(1)}"
    return str(value)


def _flatten(tree: Mapping[str, Any], prefix: str, out: dict[str, dict[str, str]], source: str) -> None:
    for key, value in tree.items():
        if not isinstance(key, str):  # YAML 1.1 reads a bare yes/no/on/off key as a boolean
            raise ValueError(f"{source}: key {key!r} under '{prefix}' is not a string: quote it")
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and set(value) <= set(LANGS):
            if set(value) != set(LANGS):
                raise ValueError(f"{source}: {full} lacks {set(LANGS) - set(value)}")
            if full in out:
                raise ValueError(f"{source}: {full} defined twice")
            out[full] = {k: str(v) for k, v in value.items()}
        elif isinstance(value, dict):
            _flatten(value, full, out, source)
        else:
            raise ValueError(f"{source}: {full} is not a vi/en pair")


class Catalog:
    def __init__(self, entries: Mapping[str, Mapping[str, str]]):
        self.entries = dict(entries)

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> Catalog:
        out: dict[str, dict[str, str]] = {}
        for path in sorted(paths):
            _flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, "", out, str(path))
        return cls(out)

    def has(self, key: str) -> bool:
        return key in self.entries

    def template(self, key: str, lang: str = DEFAULT_LANG) -> str:
        entry = self.entries.get(key)
        if entry is None:
            raise TextError(f"no text for {key!r} in the catalog")
        return entry.get(lang) or entry[DEFAULT_LANG]

    def text(self, key: str, lang: str = DEFAULT_LANG, **params: Any) -> str:
        """The text of a key with its placeholders filled; TextError when the key has no entry or
        a placeholder has no value."""
        template = self.template(key, lang)
        missing = placeholders(template) - set(params)
        if missing:
            raise TextError(f"{key}: no value for {', '.join(sorted(missing))} (given: {', '.join(sorted(params)) or 'none'})")
        if not params and "{" not in template:
            return template
        return template.format_map({k: render_value(v, lang) for k, v in params.items()})

    def variants(self, prefix: str) -> list[str]:
        """Keys directly under `prefix.`, in the order their file lists them (alternatives)."""
        return self._children.get(prefix, [])

    @cached_property
    def _children(self) -> dict[str, list[str]]:
        by_parent: dict[str, list[str]] = {}
        for key in self.entries:
            by_parent.setdefault(key.rsplit(".", 1)[0], []).append(key)
        return by_parent

    @staticmethod
    def message_key(check_id: str, key: str) -> str:
        """Where a result message's text lives: the check's own key, else a common one (`_not_observed`)."""
        return f"{check_id}.messages.{key}" if not key.startswith("_") else f"common.{key[1:]}"

    def message(self, check_id: str, key: str, params: Mapping[str, Any], lang: str = DEFAULT_LANG) -> str:
        return self.text(self.message_key(check_id, key), lang, **params)


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return Catalog.from_files(p for d in CATALOG_DIRS if d.is_dir() for p in d.glob("*.yaml"))
