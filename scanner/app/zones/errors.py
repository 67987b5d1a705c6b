"""The one error the distributed mode raises at setup: a catalog key and its values, so the CLI
prints it in the user's language (scanner/text/zones.yaml) and a log line reads it in English."""

from __future__ import annotations

from typing import Any

from scanner.app.errors import CatalogError


class ZoneSetupError(CatalogError):
    """The broker, the keys or the inventory cannot serve a zone worker; nothing was started."""

    def __init__(self, key: str, /, **params: Any):
        super().__init__(f"zones.{key}", **params)
