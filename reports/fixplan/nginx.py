"""nginx: security headers, server_tokens, and the TLS protocols and suites of the server block
that serves a failing endpoint, edited where nginx reads them.

Where a value is set now, that line is changed in place (the line as the scan recorded it, in the
file it was read from); where it is not set, the directive goes into the server block right after
its `listen` line (or its `server_name` line, where servers share a listen line), between
markers. Each edit is followed by `nginx -t` on the whole configuration; if that fails the file
gets its earlier content back and the block fails, so a broken configuration never waits for the
next restart. nginx reloads once, at the end (SIGHUP to the master in its pid file, what
`nginx -s reload` sends).

Headers: nginx hands a block the add_header lines of its parent only when the block sets none of
its own: a server's inherited lines are copied into it first, and a server whose locations set
their own is left by hand (they would not get the new header)."""

from __future__ import annotations

from typing import Any

from scanner.model import Result

from .facts import SAFE_PATH, HostFacts, NotAutomatic
from .model import Handler
from .reload import hup_reload
from .webedit import (
    HEADER_VALUES,
    MASKED,
    NAMES_VAR,
    SAFE_WORD,
    TLS13_OPENSSL,
    ConfigEdits,
    Edit,
    Line,
    Made,
    disclosed_by,
    header_value,
    port_of,
    suites_with_level,
    unique_line,
    version,
)

RELOAD = "reload nginx"
CHANGED = ("add_header", "server_tokens", "ssl_protocols", "ssl_ciphers")  # what the fixes write


class Nginx(ConfigEdits):
    def __init__(self, facts: HostFacts):
        cfg = facts.part("nginx")
        if not cfg.get("installed") or cfg.get("master_pid") is None:
            raise NotAutomatic("nginx_not_running")
        self.binary = str(cfg.get("binary") or "")
        self.main = str(cfg.get("main_file") or "")
        self.pidfile = str(cfg.get("pid_file") or "")
        if not all(SAFE_PATH.fullmatch(p) for p in (self.binary, self.main, self.pidfile)):
            raise NotAutomatic("values_unknown")
        self.http: list[dict[str, Any]] = list(cfg.get("http_directives") or [])
        self.servers: list[dict[str, Any]] = list(cfg.get("servers") or [])
        self.openssl = version(str(cfg.get("openssl_running") or ""))
        super().__init__("nginx", [self.binary, "-t", "-c", self.main], RELOAD)

    # -- which server block -----------------------------------------------------------------
    def on_port(self, port: int) -> list[dict[str, Any]]:
        return [s for s in self.servers if any(lst.get("port") == port for lst in s.get("listens") or [])]

    def default_server(self, port: int) -> dict[str, Any]:
        """The block nginx uses for a connection on `port` before it knows a name (the TLS
        handshake's protocols and suites come from it): the one marked default_server, else the
        first."""
        servers = self.on_port(port)
        if not servers:
            raise NotAutomatic("nginx_no_server", port=port)
        return next((s for s in servers for lst in s.get("listens") or []
                     if lst.get("port") == port and lst.get("default_server")), servers[0])

    def named_server(self, port: int, host_header: str | None) -> dict[str, Any]:
        """The block a request with this Host header reaches (an exact server_name), else the default."""
        name = (host_header or "").rsplit(":", 1)[0].lower()
        exact = [s for s in self.on_port(port) if name and name in (n.lower() for n in s.get("names") or [])]
        return exact[0] if exact else self.default_server(port)

    # -- edits ------------------------------------------------------------------------------
    def set_directive(self, server: dict[str, Any], name: str, line: Line, port: int) -> Edit:
        """The edit that makes `name` in `server` read `line`: its own line replaced, else the
        http block's line (which it inherits) replaced, else the line added to the server block.
        Returns the edit task and the file it changes."""
        current = self.current(server, name)
        return self.replace(current, line) if current is not None else self.insert(server, line, port, name)

    def current(self, server: dict[str, Any], name: str) -> dict[str, Any] | None:
        """The line `name` takes its value from in `server`: its own last one, else http's."""
        own = [d for d in server.get("directives") or [] if d.get("name") == name]
        from_http = [d for d in self.http if d.get("name") == name]
        return (own or from_http or [None])[-1]

    def anchor(self, server: dict[str, Any], port: int) -> dict[str, Any]:
        """The line a directive added to `server` goes after: its `listen` line for the port, else
        its `server_name` line, else another of its own lines that no fix changes (name-based
        servers in one file often share their listen line): the first alone on its line and
        written once in its file (an included snippet several servers share is no place for one
        server's change)."""
        listen = _listen(server, port)
        own = server.get("directives") or []
        others = [d for d in own if d.get("name") not in ("listen", "server_name", *CHANGED)]
        written = [d for s in self.servers for d in s.get("directives") or []]
        found = unique_line([listen, *(d for d in own if d.get("name") == "server_name"), *others], written)
        if found is None:
            raise NotAutomatic("nginx_line_shared", where=listen.get("location"))
        return found

    def insert(self, server: dict[str, Any], line: Line, port: int, what: str) -> Edit:
        after = self.anchor(server, port)
        # blocks of several servers on one port, in one file, keep their own markers
        names = [str(n) for n in (server.get("names") or [])[:1] if SAFE_WORD.fullmatch(str(n))]
        marker = f"{what} ({', '.join([f'{port}/tcp', *names])})"
        return self.insert_after(after, line, marker, str(after.get("indent") or ""), str(server.get("location")))

    def keep_inherited_headers(self, server: dict[str, Any], port: int) -> list[dict[str, Any]]:
        """A server with no add_header of its own gets http's; one of its own would end that, so
        http's lines are copied into it first, in one marked block every header fix writes alike
        (the same block twice is one change). Where http sets a header a fix writes, the copy
        would depend on which fixes run: left by hand."""
        inherited = [d for d in self.http if d.get("name") == "add_header"]
        if not inherited:
            return []
        names = {str((d.get("args") or [""])[0]).lower() for d in inherited}
        if names & {"strict-transport-security", *(n.lower() for n, _ in HEADER_VALUES.values())} or any(
                not d.get("alone") or MASKED in str(d.get("text")) for d in inherited):
            raise NotAutomatic("nginx_inherited_headers", where=server.get("location"))
        tasks, _ = self.insert(server, Line.plain("\n".join(str(d.get("text")) for d in inherited)), port,
                               "add_header kept from http")
        return tasks

    def handlers(self) -> tuple[Handler, ...]:
        return hup_reload(RELOAD, "nginx", self.test_argv, self.pidfile)

    def supports_tls13(self) -> bool:
        return self.openssl is not None and self.openssl >= TLS13_OPENSSL

    def fix(self, edit: Edit) -> Made:
        return self.guarded(edit), self.handlers()


def _listen(server: dict[str, Any], port: int) -> dict[str, Any]:
    for lst in server.get("listens") or []:
        if lst.get("port") == port and isinstance(lst.get("directive"), dict):
            return lst["directive"]
    raise NotAutomatic("nginx_no_server", port=port)


# -- the fixers -------------------------------------------------------------------------------

def header(r: Result, facts: HostFacts) -> Made:
    """A missing (or wrong) security header, added to the server block the request reached."""
    nginx, port = Nginx(facts), port_of(r)
    name, value = header_value(r)
    server = nginx.named_server(port, r.evidence.get("host_header"))
    if server.get("header_blocks"):
        raise NotAutomatic("nginx_location_headers", where=", ".join(server["header_blocks"][:3]))
    own = [d for d in server.get("directives") or [] if d.get("name") == "add_header"]
    line = Line.plain(f'add_header {name} "{value}" always;')
    same = [d for d in own if (d.get("args") or [""])[0].lower() == name.lower()]
    if same:
        return nginx.fix(nginx.replace(same[-1], line))
    tasks, path = nginx.insert(server, line, port, name)
    kept = [] if own else nginx.keep_inherited_headers(server, port)
    return nginx.fix((kept + tasks, path))


def server_tokens(r: Result, facts: HostFacts) -> Made:
    """nginx's version in its Server header: server_tokens off (other headers are the application's)."""
    nginx, port = Nginx(facts), port_of(r)
    server = nginx.named_server(port, r.evidence.get("host_header"))
    if not disclosed_by(r, "nginx"):
        raise NotAutomatic("disclosed_by_application")
    return nginx.fix(nginx.set_directive(server, "server_tokens", Line.plain("server_tokens off;"), port))


def protocols(r: Result, facts: HostFacts) -> Made:
    """ssl_protocols of the port's default server: TLS 1.2, and 1.3 where nginx's OpenSSL has it."""
    nginx, port = Nginx(facts), port_of(r)
    if not nginx.supports_tls13() and r.check_id == "tls.protocol.tls13_missing":
        raise NotAutomatic("nginx_openssl_old", version=".".join(map(str, nginx.openssl or ())) or "?")
    versions = "TLSv1.2 TLSv1.3" if nginx.supports_tls13() else "TLSv1.2"
    server = nginx.default_server(port)
    return nginx.fix(nginx.set_directive(server, "ssl_protocols", Line.plain(f"ssl_protocols {versions};"), port))


def ciphers(r: Result, facts: HostFacts, suites: tuple[str, ...]) -> Made:
    """ssl_ciphers of the port's default server: the recommended suites, keeping an `@SECLEVEL=`."""
    nginx, port = Nginx(facts), port_of(r)
    server = nginx.default_server(port)
    names = suites_with_level((nginx.current(server, "ssl_ciphers") or {}).get("args") or [], suites)
    line = Line(f'ssl_ciphers "{{{{ {NAMES_VAR} | join(\':\') }}}}";', f"ssl_ciphers ({len(names)}: {names[0]}…)", names)
    return nginx.fix(nginx.set_directive(server, "ssl_ciphers", line, port))


def trace(r: Result, facts: HostFacts) -> Made:
    """nginx answers TRACE with 405 itself: one that echoes comes from the application behind it."""
    nginx, port = Nginx(facts), port_of(r)
    nginx.named_server(port, r.evidence.get("host_header"))
    raise NotAutomatic("nginx_trace_backend")
