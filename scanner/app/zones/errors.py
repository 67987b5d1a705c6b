"""The one error the distributed mode raises at setup: a catalog key and its values, so the CLI
prints it in the user's language (scanner/text/zones.yaml) and a log line reads it in English."""

from __future__ import annotations

from typing import Any

from scanner.i18n import DEFAULT_LANG, default_catalog


class ZoneSetupError(Exception):
    """The broker, the keys or the inventory cannot serve a zone worker; nothing was started."""

    def __init__(self, key: str, /, **params: Any):
        self.key = f"zones.{key}"
        self.params = params
        super().__init__(self.text("en"))

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return default_catalog().text(self.key, lang, **self.params)
