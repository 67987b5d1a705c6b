"""The one error type of the command line's setup steps (zone workers, the store, secret URLs): a
catalog key and its values, so the CLI prints one sentence in the reader's language and no
traceback (`text(lang)`), and a log line reads it in English (`str()`)."""

from __future__ import annotations

from typing import Any

from scanner.i18n import DEFAULT_LANG, default_catalog
from scanner.model import Message


class CatalogError(Exception):
    key = "cli.error"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        if key is not None:
            self.key = key
        self.params = params
        super().__init__(self.key, params)

    @property
    def message(self) -> Message:
        return Message(key=self.key, params=self.params)

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return default_catalog().text(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.text("en")
