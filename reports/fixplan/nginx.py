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

import re
from dataclasses import dataclass
from typing import Any

from scanner.model import Result

from .facts import SAFE_PATH, HostFacts, NotAutomatic
from .model import Guarded, Handler, Step, Unsafe
from .reload import hup_reload

RELOAD = "reload nginx"
NAMES_VAR = "readyscan_names"
CHANGED = ("add_header", "server_tokens", "ssl_protocols", "ssl_ciphers")  # what the fixes write
MASKED = '"***"'  # a value the probe masked on the host (a secret): the line as recorded is not the file's
HEADER_VALUES = {
    "http.frame_options": ("X-Frame-Options", "SAMEORIGIN"),
    "http.content_type_options": ("X-Content-Type-Options", "nosniff"),
}
TLS13_OPENSSL = (1, 1, 1)  # the first OpenSSL with TLS 1.3
Edit = tuple[list[dict[str, Any]], str]  # the edit's tasks and the file they change
Made = tuple[Guarded, tuple[Handler, ...]]
# a value nginx takes as one word between double quotes
_SAFE_WORD = re.compile(r"[A-Za-z0-9@.:+=_!*-]+")


@dataclass(frozen=True)
class Line:
    """A directive as a fix writes it. With `names`, `text` is a template that joins them (a list
    of suites is longer than a line of YAML may be), and `label` names it in the task's name."""

    text: str
    label: str
    names: tuple[str, ...] = ()

    @classmethod
    def plain(cls, text: str) -> Line:
        return cls(Unsafe(text), text)

    def task_vars(self) -> dict[str, Any]:
        return {"vars": {NAMES_VAR: [Unsafe(n) for n in self.names]}} if self.names else {}


class Nginx:
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
        self.openssl = _version(str(cfg.get("openssl_running") or ""))
        self.test_argv = [self.binary, "-t", "-c", self.main]

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

    def replace(self, directive: dict[str, Any], line: Line) -> Edit:
        if not directive.get("alone"):
            raise NotAutomatic("nginx_line_shared", where=directive.get("location"))
        if MASKED in str(directive.get("text")):
            raise NotAutomatic("nginx_masked", where=directive.get("location"))
        path = _path(directive)
        return [{"name": Step("nginx_replace", old=directive.get("text"), new=line.label, where=directive.get("location")),
                 **line.task_vars(),
                 "ansible.builtin.replace": {
                     "path": Unsafe(path),
                     "regexp": Unsafe(r"^(\s*)" + re.escape(str(directive.get("text"))) + r"(?=\s*(#.*)?$)"),
                     "replace": _same_kind(line.text, r"\g<1>" + line.text.replace("\\", "\\\\")),
                     "unsafe_writes": True},
                 "register": "readyscan_edit", "notify": RELOAD}], path

    def anchor(self, server: dict[str, Any], port: int) -> dict[str, Any]:
        """The line a directive added to `server` goes after: its `listen` line for the port, else
        its `server_name` line, else another of its own lines that no fix changes (name-based
        servers in one file often share their listen line): the first alone on its line and
        written once in its file (an included snippet several servers share is no place for one
        server's change)."""
        listen = _listen(server, port)
        own = server.get("directives") or []
        others = [d for d in own if d.get("name") not in ("listen", "server_name", *CHANGED)]
        for candidate in (listen, *(d for d in own if d.get("name") == "server_name"), *others):
            path = _path(candidate)
            same = [d for s in self.servers for d in s.get("directives") or []
                    if d.get("text") == candidate.get("text") and _path(d) == path]
            if candidate.get("alone") and len(same) == 1:
                return candidate
        raise NotAutomatic("nginx_line_shared", where=listen.get("location"))

    def insert(self, server: dict[str, Any], line: Line, port: int, what: str) -> Edit:
        after = self.anchor(server, port)
        path = _path(after)
        indent = str(after.get("indent") or "")
        # blocks of several servers on one port, in one file, keep their own markers
        names = [str(n) for n in (server.get("names") or [])[:1] if _SAFE_WORD.fullmatch(str(n))]
        where = ", ".join([f"{port}/tcp", *names])
        found = r"^\s*" + re.escape(str(after.get("text"))) + r"\s*(#.*)?$"
        # blockinfile puts a block whose line is gone at the end of the file (in http, for an
        # included site): the line the scan saw must still be there
        guard = {"name": Step("nginx_anchor", line=after.get("text"), where=after.get("location")),
                 "vars": {"readyscan_anchor": Unsafe(found)},
                 "ansible.builtin.assert": {"that": [
                     "(readyscan_before.content | b64decode | regex_search(readyscan_anchor, multiline=True)) is not none"],
                     "quiet": True}}
        return [guard, {"name": Step("nginx_insert", lines=line.label, where=server.get("location")),
                 **line.task_vars(),
                 "ansible.builtin.blockinfile": {
                     "path": Unsafe(path),
                     "insertafter": Unsafe(found),
                     "marker": Unsafe(f"{indent}# {{mark}} readyscan: {what} ({where})"),
                     "block": _same_kind(line.text, "".join(f"{indent}{t}\n" for t in line.text.split("\n"))),
                     "unsafe_writes": True},
                 "register": "readyscan_edit", "notify": RELOAD}], path

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

    def guarded(self, edit: list[dict[str, Any]], path: str) -> Guarded:
        """The edit between a read of the file and `nginx -t`; the rescue puts the content back."""
        before = [
            {"name": Step("nginx_keep", path=path), "ansible.builtin.slurp": {"src": Unsafe(path)},
             "register": "readyscan_before"},
            {"name": Step("nginx_mode", path=path), "ansible.builtin.stat": {"path": Unsafe(path), "follow": True},
             "register": "readyscan_stat"},
        ]
        test = {"name": Step("nginx_test"), "ansible.builtin.command": {"argv": [Unsafe(a) for a in self.test_argv]},
                "changed_when": False}
        rescue = [
            {"name": Step("nginx_restore", path=path), "ansible.builtin.copy": {
                "content": "{{ readyscan_before.content | b64decode }}", "dest": Unsafe(path), "follow": True,
                "mode": "{{ readyscan_stat.stat.mode }}", "unsafe_writes": True},
             "when": "readyscan_before.content is defined and readyscan_stat.stat.exists"},
            {"name": Step("nginx_failed", path=path), "ansible.builtin.fail":
                {"msg": Step("nginx_failed_message", path=path)}},
        ]
        return Guarded([*before, *edit, test], rescue)

    def handlers(self) -> tuple[Handler, ...]:
        return hup_reload(RELOAD, "nginx", self.test_argv, self.pidfile)

    def supports_tls13(self) -> bool:
        return self.openssl is not None and self.openssl >= TLS13_OPENSSL


def _same_kind(text: str, value: str) -> str:
    """`value`, built around `text`, kept `!unsafe` when `text` was (a template stays a template)."""
    return Unsafe(value) if isinstance(text, Unsafe) else value


def _version(text: str) -> tuple[int, ...] | None:
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in m.groups()) if m else None


def _path(directive: dict[str, Any]) -> str:
    path = str(directive.get("location") or "").rsplit(":", 1)[0]
    if not SAFE_PATH.fullmatch(path):
        raise NotAutomatic("values_unknown")
    return path


def _listen(server: dict[str, Any], port: int) -> dict[str, Any]:
    for lst in server.get("listens") or []:
        if lst.get("port") == port and isinstance(lst.get("directive"), dict):
            return lst["directive"]
    raise NotAutomatic("nginx_no_server", port=port)


def _port(r: Result) -> int:
    port = r.evidence.get("port")
    if not isinstance(port, int):
        raise NotAutomatic("values_unknown")
    return port


def _fix(nginx: Nginx, edit: Edit) -> Made:
    tasks, path = edit
    return nginx.guarded(tasks, path), nginx.handlers()


# -- the fixers -------------------------------------------------------------------------------

def header(r: Result, facts: HostFacts) -> Made:
    """A missing (or wrong) security header, added to the server block the request reached."""
    nginx, port = Nginx(facts), _port(r)
    if r.check_id == "http.hsts":
        minimum = r.evidence.get("minimum_max_age")
        if not isinstance(minimum, int) or minimum <= 0:
            raise NotAutomatic("values_unknown")
        name, value = "Strict-Transport-Security", f"max-age={minimum}"
    else:
        name, value = HEADER_VALUES[r.check_id]
    server = nginx.named_server(port, r.evidence.get("host_header"))
    if server.get("header_blocks"):
        raise NotAutomatic("nginx_location_headers", where=", ".join(server["header_blocks"][:3]))
    own = [d for d in server.get("directives") or [] if d.get("name") == "add_header"]
    line = Line.plain(f'add_header {name} "{value}" always;')
    same = [d for d in own if (d.get("args") or [""])[0].lower() == name.lower()]
    if same:
        return _fix(nginx, nginx.replace(same[-1], line))
    tasks, path = nginx.insert(server, line, port, name)
    kept = [] if own else nginx.keep_inherited_headers(server, port)
    return _fix(nginx, (kept + tasks, path))


def server_tokens(r: Result, facts: HostFacts) -> Made:
    """nginx's version in its Server header: server_tokens off (other headers are the application's)."""
    disclosed = r.message.params.get("headers") if r.message else None
    lines = [str(x) for x in disclosed] if isinstance(disclosed, list) else []
    if not lines or not all(line.lower().startswith("server: nginx") for line in lines):
        raise NotAutomatic("disclosed_by_application")
    nginx, port = Nginx(facts), _port(r)
    server = nginx.named_server(port, r.evidence.get("host_header"))
    return _fix(nginx, nginx.set_directive(server, "server_tokens", Line.plain("server_tokens off;"), port))


def protocols(r: Result, facts: HostFacts) -> Made:
    """ssl_protocols of the port's default server: TLS 1.2, and 1.3 where nginx's OpenSSL has it."""
    nginx, port = Nginx(facts), _port(r)
    if not nginx.supports_tls13() and r.check_id == "tls.protocol.tls13_missing":
        raise NotAutomatic("nginx_openssl_old", version=".".join(map(str, nginx.openssl or ())) or "?")
    versions = "TLSv1.2 TLSv1.3" if nginx.supports_tls13() else "TLSv1.2"
    server = nginx.default_server(port)
    return _fix(nginx, nginx.set_directive(server, "ssl_protocols", Line.plain(f"ssl_protocols {versions};"), port))


def ciphers(r: Result, facts: HostFacts, suites: tuple[str, ...]) -> Made:
    """ssl_ciphers of the port's default server: the recommended suites. An `@SECLEVEL=` the line
    has now stays: today's OpenSSL refuses a weak certificate key without it, and that key is a
    finding of its own (tls.cert.weak_key), fixed by a new certificate."""
    nginx, port = Nginx(facts), _port(r)
    server = nginx.default_server(port)
    words = (nginx.current(server, "ssl_ciphers") or {}).get("args") or []
    level = [t for w in words for t in str(w).split(":") if t.upper().startswith("@SECLEVEL=")]
    names = (*suites, *level[-1:])
    if not names or not all(_SAFE_WORD.fullmatch(n) for n in names):
        raise NotAutomatic("values_unknown")
    line = Line(f'ssl_ciphers "{{{{ {NAMES_VAR} | join(\':\') }}}}";', f"ssl_ciphers ({len(names)}: {names[0]}…)", names)
    return _fix(nginx, nginx.set_directive(server, "ssl_ciphers", line, port))
