"""Typed errors the store raises: a catalog key and its parameters, so the command line prints one
sentence in the reader's language and no traceback (`text(lang)`); `str()` is the English one."""

from __future__ import annotations

from typing import Any

from scanner.i18n import DEFAULT_LANG, default_catalog
from scanner.model import Message


class StoreError(Exception):
    key = "store.error"

    def __init__(self, **params: Any) -> None:
        super().__init__(self.key, params)
        self.params = params

    @property
    def message(self) -> Message:
        return Message(key=self.key, params=self.params)

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return default_catalog().text(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.text("en")


class UrlMissing(StoreError):
    key = "store.url_missing"


class UrlTwice(StoreError):
    key = "store.url_both"


class UrlFileRefused(StoreError):
    """The file holding a URL cannot be trusted or read; `params["path"]` names it."""

    def __init__(self, kind: str, **params: Any) -> None:
        self.key = f"store.url_file_{kind}"
        super().__init__(**params)


class UrlInvalid(StoreError):
    key = "store.url_invalid"


class DatabaseUnreachable(StoreError):
    """No connection to the database. `url` is shown without its password."""

    key = "store.unreachable"


class UnknownScan(StoreError):
    key = "store.unknown_scan"
