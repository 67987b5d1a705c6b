"""One vi/en catalog for every user-facing string: check texts, result messages, report and CLI.

Catalog files are YAML whose leaves are `{vi: ..., en: ...}`; nested keys join with dots, so a
check's texts live under its id (`tls.protocol.legacy.title`). Vietnamese is the default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIRS = (ROOT / "checks" / "text", ROOT / "reports" / "text", ROOT / "scanner" / "text")


class _Params(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _render_value(value: Any) -> str:
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
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

    def text(self, key: str, lang: str = DEFAULT_LANG, **params: Any) -> str:
        entry = self.entries.get(key)
        if entry is None:
            return key
        template = entry.get(lang) or entry[DEFAULT_LANG]
        if not params:
            return template
        return template.format_map(_Params({k: _render_value(v) for k, v in params.items()}))

    def message(self, check_id: str, key: str, params: Mapping[str, Any], lang: str = DEFAULT_LANG) -> str:
        """A result message: the check's own key, else a common one (`_not_observed`)."""
        full = f"{check_id}.messages.{key}" if not key.startswith("_") else f"common.{key[1:]}"
        return self.text(full, lang, **params)


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    return Catalog.from_files(p for d in CATALOG_DIRS if d.is_dir() for p in d.glob("*.yaml"))
