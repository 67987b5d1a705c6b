"""Apache httpd's configuration (from the host collector's `apache` probe): the running master,
and the main server's and each virtual host's directives as httpd reads its files (includes
and conditional sections applied in order)."""

from __future__ import annotations

from typing import ClassVar

from scanner.facts.directive import Directive
from scanner.facts.host import HostFact
from scanner.model import Frozen


class ApacheAddress(Frozen):
    """One address of `<VirtualHost>`: `*:443`, `_default_:443`, `10.0.0.1:80`, `[::1]:8443`."""

    address: str | None = None  # None: any address (`*`, `_default_`)
    port: int | None = None  # None: any port (`*` alone)


class ApacheVhost(Frozen):
    location: str  # "path:line" of its `<VirtualHost …>` line
    opening: Directive  # that line, where a fix adds a directive after it
    addresses: tuple[ApacheAddress, ...] = ()
    names: tuple[str, ...] = ()  # ServerName, then ServerAlias words (wildcards as written)
    directives: tuple[Directive, ...] = ()  # its own simple directives, in order
    # "path:line Header-Name" of each Header line inside its sections (<Location>, <Directory>…):
    # those run after the virtual host's own and may unset or replace what a fix adds.
    nested_headers: tuple[str, ...] = ()

    def serves(self, port: int) -> bool:
        return any(a.port in (None, port) for a in self.addresses)


class ApacheListen(Frozen):
    address: str | None = None
    port: int
    directive: Directive


class ApacheConfig(HostFact):
    PART: ClassVar[str] = "apache"
    installed: bool | None = None  # None: could not tell
    binary: str | None = None  # apache2 or httpd
    ctl: str | None = None  # apache2ctl / apachectl beside it: the test and the graceful reload
    version: str | None = None  # "2.4.62"
    openssl: str | None = None  # `openssl version` of the host (mod_ssl links the system's library)
    master_pid: int | None = None  # None: httpd is not running
    master_command: str | None = None
    master_args: tuple[str, ...] = ()  # the master's -f, -d and -D options, to test and reload the same instance
    masters_elsewhere: int = 0  # httpd masters of other mount namespaces (containers)
    server_root: str | None = None
    main_file: str | None = None
    modules: tuple[str, ...] = ()  # loaded modules, by identifier (`headers_module`)
    server_directives: tuple[Directive, ...] = ()  # the main server's own simple directives
    listens: tuple[ApacheListen, ...] = ()
    vhosts: tuple[ApacheVhost, ...] = ()
    files_read: tuple[str, ...] = ()
    files_denied: tuple[str, ...] = ()
    files_missing: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    def server(self, name: str) -> tuple[Directive, ...]:
        return tuple(d for d in self.server_directives if d.name == name)

    def on_port(self, port: int) -> tuple[ApacheVhost, ...]:
        return tuple(v for v in self.vhosts if v.serves(port))
