"""A web server's configuration directive where it is written (nginx's and Apache's alike), so a
finding can name the line and a fix can replace it."""

from __future__ import annotations

from scanner.model import Frozen


class Directive(Frozen):
    """One simple directive (nginx: `name args;`, Apache: `Name args`) where it is written."""

    name: str  # Apache's in lower case (httpd matches names in any case)
    args: tuple[str, ...] = ()
    location: str  # "path:line"
    text: str  # as written (capped)
    # The directive is alone on its line (nothing but blanks and a comment around it), so a fix
    # can find and replace that line; `indent` is the line's leading whitespace.
    alone: bool = False
    indent: str = ""

    @property
    def path(self) -> str:
        return self.location.rsplit(":", 1)[0]
