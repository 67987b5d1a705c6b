"""nginx's configuration (from the host collector's `nginx` probe): the running master, and the
http and server blocks as nginx reads its files, includes expanded in place."""

from __future__ import annotations

from typing import ClassVar

from scanner.facts.directive import Directive
from scanner.facts.host import HostFact
from scanner.model import Frozen


class NginxListen(Frozen):
    address: str | None = None  # None: every address
    port: int
    ssl: bool = False
    default_server: bool = False
    directive: Directive


class NginxServer(Frozen):
    """A `server {}` block of the http context."""

    location: str  # "path:line" of its `server`
    listens: tuple[NginxListen, ...] = ()
    names: tuple[str, ...] = ()
    directives: tuple[Directive, ...] = ()  # its own simple directives, in order
    # "path:line" of every location (or if) block inside it that sets add_header: there, the
    # server's add_header lines are not inherited (nginx inherits them only into a block that
    # sets none of its own).
    header_blocks: tuple[str, ...] = ()

    def own(self, name: str) -> tuple[Directive, ...]:
        return tuple(d for d in self.directives if d.name == name)


class NginxConfig(HostFact):
    PART: ClassVar[str] = "nginx"
    installed: bool | None = None  # None: could not tell
    binary: str | None = None
    version: str | None = None  # "1.22.1"
    openssl_running: str | None = None  # "3.0.19": the library nginx runs with ("built with" if it says only that)
    master_pid: int | None = None  # the running master process, None: nginx is not running
    master_command: str | None = None  # its command line, as its process title shows it
    masters_elsewhere: int = 0  # nginx masters of other mount namespaces (containers): not this host's files
    main_file: str | None = None  # the -c file of the running master, else the compiled default
    pid_file: str | None = None  # the `pid` directive, else the compiled default
    http_directives: tuple[Directive, ...] = ()  # the http block's own simple directives
    servers: tuple[NginxServer, ...] = ()
    files_read: tuple[str, ...] = ()
    files_denied: tuple[str, ...] = ()
    files_missing: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # what the reader could not follow: syntax, include depth, caps

    def http(self, name: str) -> tuple[Directive, ...]:
        return tuple(d for d in self.http_directives if d.name == name)
