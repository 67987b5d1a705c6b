"""Apache httpd: security headers, ServerTokens, and the TLS protocols and suites of the virtual
host that serves a failing endpoint, edited where httpd reads them (webedit: the recorded line
changed in place, else a marked block added after the `<VirtualHost>` line; `apachectl -t`
after each edit, the earlier content put back if it fails).

Which virtual host: among those on the endpoint's port, the one whose ServerName or ServerAlias
is the request's name (SNI picks the same one for TLS in httpd 2.4.42+ with OpenSSL 1.1.1),
else the first (httpd's default for the address). A value a virtual host inherits from the main
server is changed where it is written, for every host alike.

Headers: httpd merges the main server's and a virtual host's `Header` lines with those of its
<Location> and <Directory> sections (which run later), so a header is added to the virtual host
unless one of its sections names the same header (it could unset or replace it: by hand).
mod_headers must be loaded; enabling a module is left to a person.

httpd reloads once, at the end, gracefully (`apachectl -k graceful` with the master's own -f/-d:
running requests finish)."""

from __future__ import annotations

import fnmatch
from typing import Any

from scanner.model import Result

from .facts import SAFE_PATH, HostFacts, NotAutomatic
from .model import Handler, Step, Unsafe
from .webedit import (
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

RELOAD = "reload apache"
CHANGED = ("header", "servertokens", "traceenable", "sslprotocol", "sslciphersuite")  # what the fixes write
TLS13_HTTPD = (2, 4, 36)  # the first httpd whose SSLProtocol knows TLSv1.3
INDENT = "    "


class Apache(ConfigEdits):
    def __init__(self, facts: HostFacts):
        cfg = facts.part("apache")
        if not cfg.get("installed") or cfg.get("master_pid") is None:
            raise NotAutomatic("apache_not_running")
        self.ctl = str(cfg.get("ctl") or "")
        self.main = str(cfg.get("main_file") or "")
        args = [str(a) for a in cfg.get("master_args") or []]
        if not SAFE_PATH.fullmatch(self.ctl) or not SAFE_PATH.fullmatch(self.main) or not all(
                SAFE_PATH.fullmatch(a) or SAFE_WORD.fullmatch(a) for a in args):
            raise NotAutomatic("values_unknown")
        self.args = args
        self.server: list[dict[str, Any]] = list(cfg.get("server_directives") or [])
        self.vhosts: list[dict[str, Any]] = list(cfg.get("vhosts") or [])
        self.ports = {lst.get("port") for lst in cfg.get("listens") or []}
        self.modules = set(cfg.get("modules") or [])
        self.version = version(str(cfg.get("version") or ""))
        self.openssl = version(str(cfg.get("openssl") or ""))
        super().__init__("apache", [self.ctl, *args, "-t"], RELOAD)

    # -- which virtual host -----------------------------------------------------------------
    def on_port(self, port: int) -> list[dict[str, Any]]:
        return [v for v in self.vhosts if any(a.get("port") in (None, port) for a in v.get("addresses") or [])]

    def vhost(self, port: int, host_header: str | None) -> dict[str, Any]:
        """The virtual host a request with this Host (or SNI) name reaches, else the port's first."""
        hosts = self.on_port(port)
        if not hosts:
            raise NotAutomatic("apache_no_server", port=port)
        name = (host_header or "").rsplit(":", 1)[0].lower()
        for v in hosts:
            if name and any(fnmatch.fnmatchcase(name, _bare(n)) for n in v.get("names") or []):
                return v
        return hosts[0]

    # -- edits ------------------------------------------------------------------------------
    def current(self, vhost: dict[str, Any], name: str) -> dict[str, Any] | None:
        """The line `name` takes its value from in `vhost`: its own last one, else the main
        server's. For SSLCipherSuite, the line for TLS 1.2 and older (not `SSLCipherSuite TLSv1.3 …`)."""
        def wanted(d: dict[str, Any]) -> bool:
            return d.get("name") == name and not (name == "sslciphersuite" and _protocol_word(d) == "tlsv1.3")
        own = [d for d in vhost.get("directives") or [] if wanted(d)]
        main = [d for d in self.server if wanted(d)]
        return (own or main or [None])[-1]

    def set_directive(self, vhost: dict[str, Any], name: str, line: Line, port: int) -> Edit:
        current = self.current(vhost, name)
        return (self.replace(current, line) if current is not None
                else self.insert(vhost, line, port, line.label.split(" ")[0]))

    def insert(self, vhost: dict[str, Any], line: Line, port: int, what: str) -> Edit:
        """`line` added to the virtual host after its `<VirtualHost>` line, else (several hosts
        in one file open alike) its ServerName line, else another line of its own."""
        opening = vhost.get("opening") or {}
        own = vhost.get("directives") or []
        written = [v.get("opening") or {} for v in self.vhosts] + [d for v in self.vhosts for d in v.get("directives") or []]
        candidates = [opening, *(d for d in own if d.get("name") == "servername"),
                      *(d for d in own if d.get("name") not in ("servername", *CHANGED))]
        after = unique_line(candidates, written)
        if after is None:
            raise NotAutomatic("apache_line_shared", where=vhost.get("location"))
        indent = next((str(d.get("indent") or "") for d in own if d.get("indent")), str(opening.get("indent") or "") + INDENT)
        names = [str(n) for n in (vhost.get("names") or [])[:1] if SAFE_WORD.fullmatch(str(n))]
        marker = f"{what} ({', '.join([f'{port}/tcp', *names])})"
        return self.insert_after(after, line, marker, indent, str(vhost.get("location")))

    def handlers(self) -> tuple[Handler, ...]:
        return (Handler(RELOAD, (
            {"name": Step("apache_check"), "ansible.builtin.command": {"argv": [Unsafe(a) for a in self.test_argv]},
             "changed_when": False},
            {"name": Step("apache_reload", ctl=self.ctl), "ansible.builtin.command": {
                "argv": [Unsafe(a) for a in (self.ctl, *self.args, "-k", "graceful")]}, "changed_when": True},
        )),)

    def supports_tls13(self) -> bool:
        return (self.openssl is not None and self.openssl >= TLS13_OPENSSL
                and self.version is not None and self.version >= TLS13_HTTPD)

    def fix(self, edit: Edit) -> Made:
        return self.guarded(edit), self.handlers()


def _bare(name: str) -> str:
    """A ServerName as a host name: `https://portal.example:443` -> `portal.example`."""
    return name.split("://", 1)[-1].rsplit(":", 1)[0].lower()


def _protocol_word(directive: dict[str, Any]) -> str:
    """SSLCipherSuite's optional first word: `SSL` (TLS 1.2 and older) or `TLSv1.3`."""
    args = [str(a) for a in directive.get("args") or []]
    return args[0].lower() if len(args) > 1 else ""


def _header_name(directive: dict[str, Any]) -> str:
    """The header a `Header` line names (after its condition and action words)."""
    words = [str(a) for a in directive.get("args") or []]
    words = words[1:] if words and words[0].lower() in ("always", "onsuccess") else words
    return words[1].lower() if len(words) > 1 else ""


# -- the fixers -------------------------------------------------------------------------------

def header(r: Result, facts: HostFacts) -> Made:
    """A missing (or wrong) security header, added to the virtual host the request reached."""
    apache, port = Apache(facts), port_of(r)
    if "headers_module" not in apache.modules:
        raise NotAutomatic("apache_no_mod_headers")
    name, value = header_value(r)
    vhost = apache.vhost(port, r.evidence.get("host_header"))
    nested = [h for h in vhost.get("nested_headers") or [] if h.rsplit(" ", 1)[-1].lower() == name.lower()]
    if nested:
        raise NotAutomatic("apache_location_headers", where=", ".join(h.rsplit(" ", 1)[0] for h in nested[:3]))
    line = Line.plain(f'Header always set {name} "{value}"')
    same = [d for d in vhost.get("directives") or [] if d.get("name") == "header" and _header_name(d) == name.lower()]
    return apache.fix(apache.replace(same[-1], line) if same else apache.insert(vhost, line, port, name))


def server_tokens(r: Result, facts: HostFacts) -> Made:
    """httpd's version and OS in its Server header: `ServerTokens Prod`, a main-server setting
    (the last line read wins); with none, it goes at the end of the main file."""
    apache, port = Apache(facts), port_of(r)
    if port not in apache.ports and not apache.on_port(port):  # a main-server port is Apache's too
        raise NotAutomatic("apache_no_server", port=port)
    if not disclosed_by(r, "apache"):
        raise NotAutomatic("disclosed_by_application")
    line = Line.plain("ServerTokens Prod")
    current = [d for d in apache.server if d.get("name") == "servertokens"]
    if current:
        return apache.fix(apache.replace(current[-1], line))
    return apache.fix(([apache.block_task(apache.main, line, "ServerTokens", "", apache.main)], apache.main))


def trace(r: Result, facts: HostFacts) -> Made:
    """TRACE echoed back: `TraceEnable Off` where the virtual host takes it from (its own line,
    else the main server's), else in the virtual host."""
    apache, port = Apache(facts), port_of(r)
    vhost = apache.vhost(port, r.evidence.get("host_header"))
    return apache.fix(apache.set_directive(vhost, "traceenable", Line.plain("TraceEnable Off"), port))


def protocols(r: Result, facts: HostFacts) -> Made:
    """SSLProtocol of the virtual host the handshake reached: TLS 1.2, and 1.3 where httpd and
    OpenSSL have it."""
    apache, port = Apache(facts), port_of(r)
    if not apache.supports_tls13() and r.check_id == "tls.protocol.tls13_missing":
        raise NotAutomatic("apache_tls13_unsupported", version=".".join(map(str, apache.version or ())) or "?",
                           openssl=".".join(map(str, apache.openssl or ())) or "?")
    versions = "-all +TLSv1.2 +TLSv1.3" if apache.supports_tls13() else "-all +TLSv1.2"
    vhost = apache.vhost(port, r.evidence.get("host_header"))
    return apache.fix(apache.set_directive(vhost, "sslprotocol", Line.plain(f"SSLProtocol {versions}"), port))


def ciphers(r: Result, facts: HostFacts, suites: tuple[str, ...]) -> Made:
    """SSLCipherSuite of the virtual host the handshake reached: the recommended suites, keeping
    an `@SECLEVEL=`."""
    apache, port = Apache(facts), port_of(r)
    vhost = apache.vhost(port, r.evidence.get("host_header"))
    current = apache.current(vhost, "sslciphersuite") or {}
    names = suites_with_level(list(current.get("args") or [])[-1:], suites)
    line = Line(f"SSLCipherSuite {{{{ {NAMES_VAR} | join(':') }}}}", f"SSLCipherSuite ({len(names)}: {names[0]}…)", names)
    return apache.fix(apache.set_directive(vhost, "sslciphersuite", line, port))
