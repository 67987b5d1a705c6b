"""Typed errors the store raises (scanner/app/errors.py CatalogError, texts in
scanner/text/store.yaml)."""

from __future__ import annotations

from typing import Any

from scanner.app.errors import CatalogError


class StoreError(CatalogError):
    key = "store.error"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)


class UrlInvalid(StoreError):
    key = "store.url_invalid"


class DatabaseUnreachable(StoreError):
    """No connection to the database. `url` is shown without its password."""

    key = "store.unreachable"


class UnknownScan(StoreError):
    key = "store.unknown_scan"
