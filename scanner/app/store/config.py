"""Where the store is: the database URL, from READYSCAN_DATABASE_URL, the 0600 file
READYSCAN_DATABASE_URL_FILE names, or a file given on the command line (never the inventory)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from scanner.app.secreturl import secret_url

DATABASE_URL_VAR = "READYSCAN_DATABASE_URL"


def database_url(environ: Mapping[str, str] | None = None, file: Path | None = None) -> str:
    return secret_url(DATABASE_URL_VAR, environ, file)
