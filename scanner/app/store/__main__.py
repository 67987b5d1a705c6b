"""`python -m scanner.app.store migrate`: bring the store's schema to the newest migration, with
the URL from READYSCAN_DATABASE_URL, READYSCAN_DATABASE_URL_FILE or --url-file.

A refused URL or an unreachable database is one line on stderr and exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scanner.app.errors import CatalogError
from scanner.app.store.api import Store
from scanner.app.store.config import database_url
from scanner.i18n import DEFAULT_LANG, LANGS, default_catalog

EXIT_OK, EXIT_STORE = 0, 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.app.store")
    parser.add_argument("action", choices=["migrate"])
    parser.add_argument("--url-file", type=Path, help="a file of mode 0600 holding the database URL")
    parser.add_argument("--lang", choices=LANGS, default=DEFAULT_LANG)
    args = parser.parse_args(argv)
    try:
        url = database_url(file=args.url_file)
        with Store(url) as store:
            store.migrate()
            print(default_catalog().text("store.migrated", args.lang, url=store.safe_url), file=sys.stderr)
    except CatalogError as exc:  # a refused URL file, an unreachable database
        print(exc.text(args.lang), file=sys.stderr)
        return EXIT_STORE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
