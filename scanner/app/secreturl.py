"""A connection URL that holds a password comes from the environment or from a file only its owner
can read, never from the inventory (which is shared, versioned and copied into scan files).

`secret_url("READYSCAN_DATABASE_URL")` reads the variable itself, or the file that the variable
`READYSCAN_DATABASE_URL_FILE` names, or the file passed in (a command-line option): one source, or
a refusal naming what to fix. The database's URL and the broker's are read this way.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from scanner.app.errors import CatalogError

MAX_BYTES = 4096  # a URL, not a document


class UrlMissing(CatalogError):
    key = "secret.url_missing"


class UrlTwice(CatalogError):
    key = "secret.url_both"


class UrlFileRefused(CatalogError):
    """The file holding a URL cannot be trusted or read; `params["path"]` names it."""

    def __init__(self, kind: str, **params: object) -> None:
        super().__init__(f"secret.url_file_{kind}", **params)


def secret_url(var: str, environ: Mapping[str, str] | None = None, file: Path | None = None) -> str:
    """The URL named by `var`: from `file` when given, else from the environment variable `var`
    or from the file named by `var`_FILE; exactly one of the two may be set."""
    environ = os.environ if environ is None else environ
    if file is not None:
        return read_url_file(Path(file))
    file_var = f"{var}_FILE"
    direct, named = environ.get(var, "").strip(), environ.get(file_var, "").strip()
    if direct and named:
        raise UrlTwice(var=var, file_var=file_var)
    if named:
        return read_url_file(Path(named))
    if direct:
        return direct
    raise UrlMissing(var=var, file_var=file_var)


def read_url_file(path: Path) -> str:
    """The one URL a file holds, if only its owner may read or write it (mode 0600 or stricter).
    The checks are made on the opened file (fstat), so the file cannot be swapped in between; a
    symbolic link is followed, as secret mounts are often links, and its target is what counts."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise UrlFileRefused("unreadable", path=str(path), reason=exc.strerror or str(exc)) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UrlFileRefused("not_regular", path=str(path))
        if info.st_uid != os.geteuid():
            raise UrlFileRefused("owner", path=str(path), uid=info.st_uid)
        if info.st_mode & 0o077:
            raise UrlFileRefused("open", path=str(path), mode=f"{stat.S_IMODE(info.st_mode):04o}")
        raw = fh.read(MAX_BYTES + 1)
    text = raw.decode("utf-8", "replace").strip()
    if not text or len(raw) > MAX_BYTES or "\n" in text:
        raise UrlFileRefused("content", path=str(path))
    return text
