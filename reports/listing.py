"""Listings the command line prints (the check catalog, a scan diff) in one of three forms:
a rich table for a person at a terminal, JSON or CSV for scripts.

Machine forms carry stable keys and whole values (a table may fold a long title; JSON and CSV
never cut anything), and CSV cells a spreadsheet would run as a formula are defused as in the
results CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from reports.formats import csv_cell

ListingFormat = Literal["table", "json", "csv"]
FORMATS: tuple[ListingFormat, ...] = ("table", "json", "csv")


@dataclass(frozen=True)
class Column:
    key: str  # JSON key and CSV header: stable, English
    label: str  # table header: in the report's language
    keep_whole: bool = False  # a table never folds or cuts it (ids that scripts copy)
    shown: Callable[[Any], str] | None = None  # how a table shows the value (e.g. translated)


@dataclass(frozen=True)
class Listing:
    kind: str  # "checks" | "changes": the JSON array's key
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]
    summary: Mapping[str, Any] | None = None  # JSON only: counts and the like


def choose_format(requested: str | None, stdout_is_tty: bool) -> ListingFormat:
    """A table only for a person at a terminal; a pipe gets JSON unless asked otherwise."""
    if requested:
        return requested  # type: ignore[return-value]
    return "table" if stdout_is_tty else "json"


def _plain(value: Any, sep: str = ", ") -> str:
    if isinstance(value, list | tuple):
        return sep.join(str(v) for v in value)
    return "" if value is None else str(value)


def render_text(listing: Listing, fmt: Literal["json", "csv"]) -> str:
    if fmt == "json":
        doc: dict[str, Any] = {"count": len(listing.rows), **(listing.summary or {}),
                               listing.kind: [{c.key: row.get(c.key) for c in listing.columns}
                                              for row in listing.rows]}
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.key for c in listing.columns])
    for row in listing.rows:
        writer.writerow([csv_cell(_plain(row.get(c.key), " ")) for c in listing.columns])  # lists as in the results CSV
    return out.getvalue()


def _shown(column: Column, value: Any) -> str:
    return column.shown(value) if column.shown else _plain(value)


def print_table(listing: Listing, console: Console) -> None:
    table = Table(title=listing.title)
    for column in listing.columns:
        if column.keep_whole:  # as wide as its longest line (a list shown one item a line folds between items)
            width = max([len(column.label)] + [len(line) for r in listing.rows
                                               for line in _shown(column, r.get(column.key)).splitlines()])
            table.add_column(column.label, no_wrap=True, min_width=width)
        else:
            table.add_column(column.label, overflow="fold")
    for row in listing.rows:
        # Values are data (target text included): never read as rich markup.
        table.add_row(*(Text(_shown(c, row.get(c.key))) for c in listing.columns))
    console.print(table)


def emit(listing: Listing, fmt: ListingFormat, console: Console, write: Any) -> None:
    if fmt == "table":
        print_table(listing, console)
    else:
        write(render_text(listing, fmt))
