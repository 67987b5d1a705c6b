"""Logging probes: syslog daemons' configuration, journald, logrotate, auditd, clock sync, log
shippers; and the framing every probe of the logging/firewall/agents/capacity areas shares.

A probe here prints *frames*: `@@file MTIME PATH` … `@@end` for a configuration file (secrets
masked on the host, before anything leaves it), `@@cmd NAME` … `@@rc NAME N` for a command,
`@@missing NAME` when the tool is absent, `@@denied PATH` when a file exists but is unreadable,
`@@uid N` for who ran the probe, `@@kv KEY VALUE` for small values and `@@stat MTIME SIZE PATH`
for log files. The configuration parsers below are pure; each reads configuration the way its
daemon does (includes in order, comments, continued statements) and records what it does not
understand instead of guessing.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from dataclasses import dataclass, field

from scanner.facts.logging import (
    Auditd,
    Forward,
    Journald,
    LogFileStat,
    Logrotate,
    LogRule,
    LogShippers,
    RotatePolicy,
    RotateStanza,
    Rsyslog,
    ShipperConfig,
    SyslogNg,
    TimeSync,
)
from scanner.hostprobes import Probe

MAX_UNPARSED = 50  # lines kept of what a parser did not understand
MAX_TEXT = 300  # characters kept of one configuration statement in evidence


# -- shared shell ------------------------------------------------------------------------------


def _ci(word: str) -> str:
    """A case-insensitive ERE for `word` without relying on sed's non-POSIX `I` flag."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


_SECRET_WORDS = ("pass", "pwd", "secret", "token", "credential", "apikey", "api_key", "api-key",
                 "access_key", "accesskey")
_KEY = "[A-Za-z0-9_.$-]*(" + "|".join(_ci(w) for w in _SECRET_WORDS + ("auth",)) + ")[A-Za-z0-9_.$-]*"
_KEY_FIRST = "[A-Za-z0-9_.$-]*(" + "|".join(_ci(w) for w in _SECRET_WORDS) + ")[A-Za-z0-9_.$-]*"
# Values of keys that look like secrets are masked *on the host*: raw probe output is kept as
# evidence in the scan file, which must never hold a password (architecture: secrets).
# 1) key=value, key: value, key="value" anywhere on a line; 2) `Key value` as the first token
# (fluent-bit, nxlog). "auth" only in form 1, so rsyslog selectors like `auth.info` survive.
REDACT_SED = " ".join([
    "sed -E -e",
    shlex.quote(f"s/({_KEY})([\"']?[[:space:]]*[=:][[:space:]]*)(\"[^\"]*\"|'[^']*'|[^[:space:],;)}}]+)/\\1\\3\"***\"/g"),
    "-e",
    shlex.quote(f"s/^([[:space:]]*{_KEY_FIRST})([[:space:]]+)[^[:space:]].*$/\\1\\3***/"),
    "-e",
    shlex.quote(f"s/(<{_KEY_FIRST}>)[^<]*/\\1***/g"),
])

SHELL_PRELUDE = f"""\
printf '@@uid %s\\n' "$(id -u 2>/dev/null)"
redact() {{ {REDACT_SED}; }}
mtime() {{ stat -c %Y "$1" 2>/dev/null || date -r "$1" +%s 2>/dev/null || echo -; }}
dump() {{
  for f in "$@"; do
    [ -f "$f" ] || continue
    if [ -r "$f" ]; then
      printf '\\n@@file %s %s\\n' "$(mtime "$f")" "$f"
      head -c 131072 "$f" | redact
      printf '\\n@@end\\n'
    else
      printf '\\n@@denied %s\\n' "$f"
    fi
  done
}}
run() {{
  n=$1; shift
  if command -v "$1" >/dev/null 2>&1; then
    printf '\\n@@cmd %s\\n' "$n"; "$@" 2>&1; printf '\\n@@rc %s %s\\n' "$n" "$?"
  else
    printf '\\n@@missing %s\\n' "$n"
  fi
}}
stats() {{ for f in "$@"; do [ -f "$f" ] && printf '@@stat %s %s %s\\n' "$(mtime "$f")" "$(wc -c < "$f" 2>/dev/null | tr -d ' ')" "$f"; done; return 0; }}
"""


def shell(body: str) -> str:
    """A probe script: the shared helpers, then the probe's own fixed body. Each command's exit
    status is in its own frame, so the script itself ends 0 once it has run to the end."""
    return SHELL_PRELUDE + body + "exit 0\n"


@dataclass
class FileFrame:
    path: str
    mtime: int | None
    text: str
    complete: bool


@dataclass
class CommandFrame:
    name: str
    output: str
    rc: int | None  # None: cut off before the tool finished

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass
class Frames:
    """A probe's output cut back into its frames (pure)."""

    uid: int | None = None
    files: dict[str, FileFrame] = field(default_factory=dict)
    commands: dict[str, CommandFrame] = field(default_factory=dict)
    denied: list[str] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    values: dict[str, list[str]] = field(default_factory=dict)
    stats: list[LogFileStat] = field(default_factory=list)
    truncated: bool = False

    @property
    def as_root(self) -> bool:
        return self.uid == 0

    def value(self, key: str) -> str | None:
        found = self.values.get(key)
        return found[0] if found else None


_FRAME = re.compile(r"^@@(uid|file|end|cmd|rc|denied|missing|kv|stat)(?: (.*))?$")


def split_frames(text: str) -> Frames:
    frames = Frames()
    open_file: FileFrame | None = None
    open_cmd: CommandFrame | None = None
    body: list[str] = []
    for line in text.split("\n"):
        m = _FRAME.match(line)
        kind, rest = (m.group(1), m.group(2) or "") if m else (None, "")
        if open_file is not None:
            if kind == "end":
                open_file.text, open_file.complete = _strip_nl("\n".join(body)), True
                frames.files.setdefault(open_file.path, open_file)
                open_file, body = None, []
            else:
                body.append(line)
            continue
        if open_cmd is not None:
            if kind == "rc" and rest.split(" ")[0] == open_cmd.name:
                rc = rest.rsplit(" ", 1)[-1]
                open_cmd.output = _strip_nl("\n".join(body))
                open_cmd.rc = int(rc) if rc.isdigit() else None
                frames.commands[open_cmd.name] = open_cmd
                open_cmd, body = None, []
            else:
                body.append(line)
            continue
        if kind == "uid":
            frames.uid = int(rest) if rest.strip().isdigit() else None
        elif kind == "file":
            mtime, _, path = rest.partition(" ")
            open_file = FileFrame(path, int(mtime) if mtime.isdigit() else None, "", False)
        elif kind == "cmd":
            open_cmd = CommandFrame(rest.strip(), "", None)
        elif kind == "denied":
            frames.denied.append(rest.strip())
        elif kind == "missing":
            frames.missing.add(rest.strip())
        elif kind == "kv":
            key, _, value = rest.partition(" ")
            frames.values.setdefault(key, []).append(value)
        elif kind == "stat":
            parts = rest.split(" ", 2)
            if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
                frames.stats.append(LogFileStat(path=parts[2], mtime=int(parts[0]), size=int(parts[1])))
    # Whatever is still open was cut off by the output cap or the timeout.
    if open_file is not None:
        open_file.text = "\n".join(body)
        frames.files.setdefault(open_file.path, open_file)
        frames.truncated = True
    if open_cmd is not None:
        open_cmd.output = "\n".join(body)
        frames.commands[open_cmd.name] = open_cmd
        frames.truncated = True
    return frames


def _strip_nl(text: str) -> str:
    # The frame printers add one newline before the closing marker.
    return text[:-1] if text.endswith("\n") else text


def cap(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expand(pattern: str, frames: Frames, base: str = "/") -> list[str]:
    """The dumped files an include pattern names (a file, a glob, or a directory), sorted the
    way the daemons read them. Relative patterns are relative to `base`."""
    pattern = posixpath.normpath(posixpath.join(base, pattern))
    names = sorted(frames.files)
    if any(ch in pattern for ch in "*?["):
        return [p for p in names if fnmatch.fnmatchcase(p, pattern) and "/" not in p[len(posixpath.dirname(pattern)) + 1:]]
    if pattern in frames.files:
        return [pattern]
    prefix = pattern.rstrip("/") + "/"
    return [p for p in names if p.startswith(prefix) and "/" not in p[len(prefix):]]


def _denied_under(pattern: str, frames: Frames) -> list[str]:
    directory = pattern if not any(ch in pattern for ch in "*?[") else posixpath.dirname(pattern)
    return [d for d in frames.denied if d == pattern or d.startswith(directory.rstrip("/") + "/")]


# -- syslog selectors --------------------------------------------------------------------------

AUTH_FACILITIES = ("auth", "authpriv")
FACILITIES = {"auth", "authpriv", "cron", "daemon", "kern", "lpr", "mail", "mark", "news", "security",
              "syslog", "user", "uucp", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1",
              "local2", "local3", "local4", "local5", "local6", "local7", "*"}
PRIORITIES = {"debug", "info", "notice", "warning", "warn", "err", "error", "crit", "alert", "emerg",
              "panic", "none", "*"}
_SELECTOR_PART = re.compile(r"^([a-z0-9*]+(?:,[a-z0-9*]+)*)\.([!=<>]*)([a-z*]+)$")


# A rule "writes a facility" when it takes that facility's ordinary messages: sshd and PAM log
# at info and notice, so a selector that starts above notice (auth.warn) does not count.
ROUTINE_PRIORITIES = {"*", "debug", "info", "notice"}


def selector_facilities(selector: str) -> set[str] | None:
    """Facilities whose routine (info/notice) messages a legacy selector lets through, read
    left to right as syslogd does (`fac.none` removes fac). None if it is not a selector."""
    selected: set[str] = set()
    removed: set[str] = set()
    everything = False
    for part in selector.split(";"):
        m = _SELECTOR_PART.match(part.strip().lower())
        if not m:
            return None
        facs, modifier, prio = m.group(1).split(","), m.group(2), m.group(3)
        if any(f not in FACILITIES for f in facs) or prio not in PRIORITIES:
            return None
        removing = prio == "none" or (modifier.startswith("!") and prio == "*")
        routine = not modifier.startswith("!") and (
            prio in ROUTINE_PRIORITIES if "=" not in modifier else prio in ("info", "notice"))
        for fac in facs:
            if removing:
                if fac == "*":
                    everything, selected, removed = False, set(), set()
                else:
                    selected.discard(fac)
                    removed.add(fac)
            elif routine:
                if fac == "*":
                    everything, removed = True, set()
                else:
                    selected.add(fac)
                    removed.discard(fac)
    if everything:
        return (FACILITIES - {"*"} - removed) | selected
    return selected


# -- rsyslog -----------------------------------------------------------------------------------

RSYSLOG_MAIN = "/etc/rsyslog.conf"
FORWARD_TYPES = {"omfwd": ("target", "port", "protocol"), "omrelp": ("target", "port", None),
                 "omelasticsearch": ("server", "serverport", None), "omhttp": ("server", "serverport", None),
                 "omkafka": ("broker", None, None)}
_OBJECTS = ("module", "input", "global", "template", "include", "main_queue", "parser", "timezone",
            "lookup_table", "dyn_stats", "percentile_stats", "ratelimit", "license", "property", "constant")
_PARAM = re.compile(r"""([A-Za-z0-9_.]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|\[([^\]]*)\]|([^\s)]+))""")
_LEGACY_FWD = re.compile(r"^(@@?)(?:\([^)]*\))?(\[[^\]]+\]|[^:;\s]+)(?::(\d+))?")
_OMRELP = re.compile(r"^:omrelp:(\[[^\]]+\]|[^:;\s]+)(?::(\d+))?")
_PROP_FILTER = re.compile(r"""^:[\w$!.-]+\s*,\s*!?[\w-]+\s*,\s*"(?:[^"\\]|\\.)*"\s*(.*)$""", re.S)

RSYSLOG_SCRIPT = shell("""\
dump /etc/rsyslog.conf
seen=' /etc/rsyslog.conf '
todo=/etc/rsyslog.conf
depth=0
# Follow $IncludeConfig and include(file=...) as rsyslogd does, three levels deep.
while [ -n "$todo" ] && [ $depth -lt 3 ]; do
  next=''
  for conf in $todo; do
    [ -r "$conf" ] || continue
    for pat in $(sed -n -e 's/^[[:space:]]*\\$IncludeConfig[[:space:]]\\{1,\\}\\([^[:space:]#]*\\).*/\\1/p' \\
                        -e 's/.*include([^)]*file="\\([^"]*\\)".*/\\1/p' "$conf" 2>/dev/null); do
      [ -d "$pat" ] && pat="$pat/*"
      for f in $pat; do
        case "$seen" in *" $f "*) continue;; esac
        seen="$seen $f "
        dump "$f"
        next="$next $f"
      done
    done
  done
  todo=$next; depth=$((depth + 1))
done
command -v rsyslogd >/dev/null 2>&1 && printf '@@kv binary %s\\n' "$(command -v rsyslogd)"
""")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """rsyslog.conf as statements with their first line number: comments dropped (`#` outside
    quotes, /* */), a statement whose parentheses are still open continues on the next line,
    and so does a legacy line ending in a backslash."""
    out: list[tuple[int, str]] = []
    buf, start, depth = "", 0, 0
    in_block_comment = False
    for number, raw in enumerate(text.split("\n"), 1):
        line, i, quote = "", 0, ""
        while i < len(raw):
            ch = raw[i]
            if in_block_comment:
                if raw.startswith("*/", i):
                    in_block_comment, i = False, i + 2
                    continue
                i += 1
                continue
            if quote:
                line += ch
                if ch == "\\" and i + 1 < len(raw):
                    line += raw[i + 1]
                    i += 2
                    continue
                if ch == quote:
                    quote = ""
                i += 1
                continue
            if ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif raw.startswith("/*", i) and not raw.lstrip().startswith("$") and (i == 0 or raw[i - 1] in " \t"):
                # A comment only where a token starts: `/etc/rsyslog.d/*.conf` is a path.
                in_block_comment, i = True, i + 2
                continue
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth = max(0, depth - 1)
            line += ch
            i += 1
        if not buf:
            start = number
        stripped = line.rstrip()
        if stripped.endswith("\\") and depth == 0:
            buf += stripped[:-1] + " "
            continue
        buf += line + " "
        if depth > 0:
            continue
        if buf.strip():
            out.append((start, buf.strip()))
        buf = ""
    if buf.strip():
        out.append((start, buf.strip()))
    return out


def object_params(text: str) -> dict[str, str]:
    """`name="value"` pairs of a RainerScript object, keys lower-cased (rsyslog ignores case)."""
    params: dict[str, str] = {}
    for m in _PARAM.finditer(text):
        key = m.group(1).lower()
        value = next((g for g in m.groups()[1:] if g is not None), "")
        params.setdefault(key, value)
    return params


@dataclass
class _RsyslogState:
    frames: Frames
    rules: list[LogRule] = field(default_factory=list)
    forwards: list[Forward] = field(default_factory=list)
    includes_missing: list[str] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)  # open `ruleset(...) {` / `if ... then {` labels
    prev_selector: str | None = None

    @property
    def ruleset(self) -> str | None:
        return next((b[len("ruleset "):] for b in reversed(self.blocks) if b.startswith("ruleset ")), None)

    @property
    def condition(self) -> str | None:
        return next((b for b in reversed(self.blocks) if not b.startswith("ruleset ")), None)


def parse_rsyslog(text: str) -> Rsyslog:
    frames = split_frames(text)
    state = _RsyslogState(frames)
    present = RSYSLOG_MAIN in frames.files or RSYSLOG_MAIN in frames.denied
    if RSYSLOG_MAIN in frames.files:
        _rsyslog_file(state, RSYSLOG_MAIN, 0)
    return Rsyslog(present=present, binary=frames.value("binary"), as_root=frames.as_root,
                   files=tuple(state.read), denied=tuple(frames.denied),
                   unresolved_includes=tuple(dict.fromkeys(state.includes_missing)),
                   rules=tuple(state.rules), forwards=tuple(state.forwards),
                   unparsed=tuple(state.unparsed[:MAX_UNPARSED]), truncated=frames.truncated)


def _rsyslog_file(state: _RsyslogState, path: str, depth: int) -> None:
    if path in state.read or depth > 5:
        return
    state.read.append(path)
    frame = state.frames.files[path]
    for number, stmt in _logical_lines(frame.text):
        _rsyslog_statement(state, f"{path}:{number}", stmt, depth)


def _rsyslog_include(state: _RsyslogState, pattern: str, where: str, depth: int, optional: bool) -> None:
    found = expand(pattern, state.frames)
    globbed = any(ch in pattern for ch in "*?[") or pattern.endswith("/")
    if not found and _denied_under(pattern, state.frames):
        state.includes_missing.append(f"{pattern} ({where}: permission denied)")
    elif not found and not optional and not globbed:
        # A glob that matches nothing is fine for rsyslogd; a named file that is missing is not.
        state.includes_missing.append(f"{pattern} ({where})")
    for path in found:
        _rsyslog_file(state, path, depth + 1)


def _outside_quotes(text: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', '""', text)


def _rsyslog_statement(state: _RsyslogState, where: str, stmt: str, depth: int) -> None:
    """One logical statement: a legacy directive, a RainerScript object, a filter with its
    action(s), or block punctuation. Block labels are kept so an action inside `if … then {`
    is recorded with its condition, not mistaken for an unconditional rule."""
    lower = stmt.lower()
    if stmt.startswith("$"):
        directive, _, arg = stmt.partition(" ")
        if directive.lower() == "$includeconfig":
            pattern = arg.strip()
            _rsyslog_include(state, pattern + "*" if pattern.endswith("/") else pattern, where, depth, False)
        return  # other legacy directives set options; none of them decides what we judge
    head = re.match(r"^([a-z_]+)\s*\(", lower)
    if head and head.group(1) in _OBJECTS:
        if head.group(1) == "include":
            params = object_params(stmt)
            if "file" in params:
                _rsyslog_include(state, params["file"], where, depth, params.get("mode", "") == "optional")
        return
    bare = _outside_quotes(stmt)
    opens, closes = bare.count("{"), bare.count("}")
    if head and head.group(1) == "ruleset":
        state.blocks.append(f"ruleset {object_params(stmt).get('name', '?')}")
        return
    if re.match(r"^(\}\s*)?else\b", lower):
        if state.blocks and lower.startswith("}"):
            state.blocks.pop()
        label = f"[else of {state.condition or '?'}]"
        body = re.sub(r"^(\}\s*)?else\s*", "", stmt).strip()
        if body.startswith("if"):
            stmt, lower = body, body.lower()
        else:
            if body.startswith("{"):
                state.blocks.append(label)
                body = body[1:].strip()
            if body and body != "}":
                _rsyslog_action(state, where, label, body.rstrip("}").strip(), stmt)
            return
    if re.match(r"^if\b", lower):
        m = re.match(r"^if\b(.*?)\bthen\b(.*)$", stmt, re.S | re.I)
        if not m:
            state.unparsed.append(f"{where}: {cap(stmt, 160)}")
            return
        label = f"[if {cap(m.group(1).strip(), 80)}]"
        body = m.group(2).strip()
        if body.startswith("{"):
            body = body[1:].strip()
            if not body.endswith("}"):
                state.blocks.append(label)
            else:
                body = body[:-1].strip()
        if body:
            _rsyslog_action(state, where, label, body, stmt)
        return
    if stmt in ("{", "}") or re.fullmatch(r"[{}\s]+", stmt):
        for _ in range(closes - opens):
            if state.blocks:
                state.blocks.pop()
        return
    if lower in ("stop", "~", "& stop", "& ~") or lower.startswith(("set ", "unset ", "call ", "reset ",
                                                                      "foreach", "continue")):
        return
    if stmt.startswith("&"):
        _rsyslog_action(state, where, state.prev_selector or "&", stmt[1:].strip(), stmt)
        return
    if stmt.startswith(":"):
        m = _PROP_FILTER.match(stmt)
        if m:
            _rsyslog_action(state, where, f"[{cap(stmt[: len(stmt) - len(m.group(1))], 80)}]", m.group(1), stmt)
            return
    if re.match(r"^action\s*\(", lower):
        _rsyslog_action(state, where, state.condition or "*.*", stmt, stmt)
        return
    m = re.match(r"^((?:[^\s;]+\s*;\s*)*[^\s;]+)\s+(.+)$", stmt, re.S)
    if m:
        selector = re.sub(r"\s*;\s*", ";", m.group(1))
        if selector_facilities(selector) is not None:
            state.prev_selector = selector
            _rsyslog_action(state, where, selector, m.group(2).strip(), stmt)
            return
    state.unparsed.append(f"{where}: {cap(stmt, 160)}")


def _rsyslog_action(state: _RsyslogState, where: str, selector: str, action: str, stmt: str) -> None:
    facilities = selector_facilities(selector) if not selector.startswith("[") else None
    if state.condition and not selector.startswith("["):
        selector, facilities = f"{state.condition} {selector}", None
    base = {"selector": selector, "source": where, "text": cap(stmt),
            "facilities": tuple(sorted(facilities)) if facilities is not None else None,
            "ruleset": state.ruleset}
    for obj in re.finditer(r"action\s*\(", action, re.I):
        params = object_params(action[obj.end():])
        kind = params.get("type", "").lower()
        if kind in FORWARD_TYPES:
            target_key, port_key, proto_key = FORWARD_TYPES[kind]
            target = params.get(target_key, "")
            port = params.get(port_key, "") if port_key else ""
            proto = params.get(proto_key, "udp" if kind == "omfwd" else "") if proto_key else ""
            if kind == "omrelp":
                proto = "relp"
            state.forwards.append(Forward(via=f"rsyslog {kind}", target=cap(target, 200),
                                          port=int(port) if port.isdigit() else None,
                                          protocol=proto.lower() or None, **base))
        elif kind == "omfile":
            path = params.get("file") or params.get("dynafile")
            state.rules.append(LogRule(action="file", file=path, **base))
        else:
            state.rules.append(LogRule(action=kind or "other", file=None, **base))
    if re.search(r"action\s*\(", action, re.I):
        return
    action = action.split(";")[0].strip() if not action.startswith(":om") else action
    fwd = _LEGACY_FWD.match(action)
    relp = _OMRELP.match(action)
    if fwd:
        host = fwd.group(2).strip("[]")
        state.forwards.append(Forward(via="rsyslog", target=cap(host, 200),
                                      port=int(fwd.group(3)) if fwd.group(3) else None,
                                      protocol="tcp" if fwd.group(1) == "@@" else "udp", **base))
    elif relp:
        state.forwards.append(Forward(via="rsyslog omrelp", target=cap(relp.group(1).strip("[]"), 200),
                                      port=int(relp.group(2)) if relp.group(2) else None, protocol="relp",
                                      **base))
    elif action.lstrip("-").startswith("/"):
        state.rules.append(LogRule(action="file", file=action.lstrip("-").split()[0], **base))
    elif action.startswith("?"):
        state.rules.append(LogRule(action="dynafile", file=None, **base))
    elif action in ("~", "stop"):
        state.rules.append(LogRule(action="discard", file=None, **base))
    else:
        state.rules.append(LogRule(action="other", file=None, **base))


# -- syslog-ng ---------------------------------------------------------------------------------

SYSLOG_NG_MAIN = "/etc/syslog-ng/syslog-ng.conf"
SYSLOG_NG_SCRIPT = shell("""\
dump /etc/syslog-ng/syslog-ng.conf
for pat in $(sed -n 's/^[[:space:]]*@include[[:space:]]*"\\([^"]*\\)".*/\\1/p' /etc/syslog-ng/syslog-ng.conf 2>/dev/null); do
  case "$pat" in /*) ;; *) pat="/etc/syslog-ng/$pat";; esac
  [ -d "$pat" ] && pat="$pat/*"
  for f in $pat; do dump "$f"; done
done
command -v syslog-ng >/dev/null 2>&1 && printf '@@kv binary %s\\n' "$(command -v syslog-ng)"
""")
_NG_DRIVERS = {"network": None, "tcp": "tcp", "udp": "udp", "tcp6": "tcp", "udp6": "udp", "syslog": None}


def _strip_ng_comments(text: str) -> str:
    out = []
    for line in text.split("\n"):
        quote, cut = "", len(line)
        for i, ch in enumerate(line):
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


def _block_end(text: str, start: int, opening: str = "{", closing: str = "}") -> int:
    """Index just after the block that opens at text[start] (quotes respected), or len(text)."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def parse_syslog_ng(text: str) -> SyslogNg:
    frames = split_frames(text)
    read: list[str] = []
    missing: list[str] = []
    blocks: list[tuple[str, str, str, str]] = []  # (kind, name, body, source)
    logs: list[tuple[str, str]] = []

    def read_file(path: str, depth: int) -> None:
        if path in read or depth > 5:
            return
        read.append(path)
        body = _strip_ng_comments(frames.files[path].text)
        for m in re.finditer(r'^\s*@include\s+"([^"]+)"', body, re.M):
            pattern = m.group(1)
            if not pattern.startswith("/"):
                pattern = "/etc/syslog-ng/" + pattern
            found = expand(pattern, frames)
            if not found and "scl" not in pattern:  # scl.conf lives under /usr/share: library, not config
                missing.append(pattern)
            for inc in found:
                read_file(inc, depth + 1)
        for m in re.finditer(r"\b(source|destination|filter|log)\b\s*([A-Za-z0-9_.-]*)\s*\{", body):
            end = _block_end(body, m.end() - 1)
            line = body.count("\n", 0, m.start()) + 1
            kind, name, inner = m.group(1), m.group(2), body[m.end(): end - 1]
            if kind == "log":
                logs.append((inner, f"{path}:{line}"))
            else:
                blocks.append((kind, name, inner, f"{path}:{line}"))

    if SYSLOG_NG_MAIN in frames.files:
        read_file(SYSLOG_NG_MAIN, 0)
    filters = {name: inner for kind, name, inner, _ in blocks if kind == "filter"}
    destinations = {name: (inner, src) for kind, name, inner, src in blocks if kind == "destination"}
    used = {name for inner, _ in logs for name in re.findall(r"destination\s*\(\s*([A-Za-z0-9_.-]+)\s*\)", inner)}
    forwards: list[Forward] = []
    rules: list[LogRule] = []
    for name, (inner, src) in destinations.items():
        for m in re.finditer(r"\b(network|tcp6?|udp6?|syslog)\s*\(", inner):
            end = _block_end(inner, m.end() - 1, "(", ")")
            args = inner[m.end(): end - 1]
            host = re.match(r'\s*"([^"]*)"|\s*([A-Za-z0-9_.:-]+)', args)
            target = (host.group(1) or host.group(2)) if host else ""
            port = re.search(r"\bport\s*\(\s*(\d+)\s*\)", args)
            transport = re.search(r'\btransport\s*\(\s*"?([a-z]+)"?\s*\)', args)
            proto = _NG_DRIVERS[m.group(1)] or (transport.group(1) if transport else
                                                 ("tcp" if m.group(1) == "syslog" else "udp"))
            forwards.append(Forward(via=f"syslog-ng {m.group(1)}()", target=cap(target, 200),
                                    port=int(port.group(1)) if port else None, protocol=proto,
                                    selector=f"destination {name}", source=src, text=cap(inner),
                                    facilities=None, ruleset=None, used=name in used))
        for m in re.finditer(r'\bfile\s*\(\s*"([^"]+)"', inner):
            rules.append(LogRule(action="file", file=m.group(1), selector=f"destination {name}", source=src,
                                 text=cap(inner), facilities=None, ruleset=None))
    auth_paths = []
    for inner, src in logs:
        names = re.findall(r"filter\s*\(\s*([A-Za-z0-9_.-]+)\s*\)", inner)
        facs = _ng_facilities([filters.get(n, "") for n in names]) if names else None
        for dest in re.findall(r"destination\s*\(\s*([A-Za-z0-9_.-]+)\s*\)", inner):
            files = re.findall(r'\bfile\s*\(\s*"([^"]+)"', destinations.get(dest, ("", ""))[0])
            for path in files:
                auth_paths.append(LogRule(action="file", file=path, selector=f"log {','.join(names) or '*'}",
                                          source=src, text=cap(inner), ruleset=None,
                                          facilities=tuple(sorted(facs)) if facs is not None else
                                          tuple(sorted(FACILITIES - {"*"}))))
    return SyslogNg(present=SYSLOG_NG_MAIN in frames.files or SYSLOG_NG_MAIN in frames.denied,
                    binary=frames.value("binary"), as_root=frames.as_root, files=tuple(read),
                    denied=tuple(frames.denied), unresolved_includes=tuple(missing),
                    rules=tuple(auth_paths or rules), forwards=tuple(forwards), unparsed=(),
                    truncated=frames.truncated)


def _ng_facilities(filter_bodies: list[str]) -> set[str] | None:
    """Facilities a chain of syslog-ng filters lets through: `facility(a, b)` keeps, `not
    facility(...)` removes. None when a filter is something we cannot read (then: unknown)."""
    allowed = set(FACILITIES - {"*"})
    for body in filter_bodies:
        if not body.strip():
            return None
        positive = re.findall(r"(?<!not )\bfacility\s*\(([^)]*)\)", body)
        negative = re.findall(r"\bnot\s+facility\s*\(([^)]*)\)", body)
        if positive:
            allowed &= {f.strip() for group in positive for f in group.replace(",", " ").split()}
        for group in negative:
            allowed -= {f.strip() for f in group.replace(",", " ").split()}
    return allowed


# -- journald ----------------------------------------------------------------------------------

JOURNALD_SCRIPT = shell("""\
dump /usr/lib/systemd/journald.conf /lib/systemd/journald.conf /etc/systemd/journald.conf
for d in /usr/lib/systemd/journald.conf.d /lib/systemd/journald.conf.d /run/systemd/journald.conf.d /etc/systemd/journald.conf.d; do
  [ -d "$d" ] && dump "$d"/*.conf
done
[ -d /var/log/journal ] && printf '@@kv persistent_dir yes\\n' || printf '@@kv persistent_dir no\\n'
[ -d /run/log/journal ] && printf '@@kv volatile_dir yes\\n'
if command -v journalctl >/dev/null 2>&1; then
  run disk_usage journalctl --disk-usage --no-pager
  # only the timestamp of the oldest entry leaves the host, never the message itself
  run oldest sh -c 'journalctl -q --no-pager -o short-unix 2>&1 | head -n 1 | cut -d " " -f 1'
else
  printf '\\n@@missing journalctl\\n'
fi
printf '@@kv now %s\\n' "$(date +%s)"
""")
TIME_UNITS = {"us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "s": 1, "sec": 1, "second": 1, "seconds": 1,
              "m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600,
              "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
              "weeks": 604800, "M": 2629800, "month": 2629800, "months": 2629800, "y": 31557600,
              "year": 31557600, "years": 31557600}


def parse_timespan(value: str) -> float | None:
    """systemd.time(7) time span in seconds ("1month", "2w 3d", "3600"); None if not one."""
    value = value.strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    total, pos = 0.0, 0
    for m in re.finditer(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)", value):
        if m.start() != pos:
            return None
        unit = m.group(2) if m.group(2) in TIME_UNITS else m.group(2).lower()
        if unit not in TIME_UNITS:
            return None
        total += float(m.group(1)) * TIME_UNITS[unit]
        pos = m.end()
    return total if pos == len(value) and pos else None


def parse_ini_section(text: str, section: str) -> tuple[dict[str, str], list[str]]:
    """Key=value lines of one [section] of a systemd-style file (later keys win)."""
    values: dict[str, str] = {}
    junk: list[str] = []
    current = None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if "=" not in line:
            junk.append(cap(line, 160))
            continue
        if current == section:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values, junk


def journald_order(paths: list[str]) -> list[str]:
    """systemd's order: the main file, then drop-ins sorted by file name, where a file in /etc
    hides one of the same name in /run and /usr/lib (and /run hides /usr/lib)."""
    mains = [p for p in paths if p.endswith("/journald.conf")]
    main = next((p for p in mains if p.startswith("/etc/")), mains[0] if mains else None)
    rank = {"/etc/": 0, "/run/": 1, "/usr/lib/": 2, "/lib/": 3}
    dropins: dict[str, str] = {}
    for path in paths:
        if not path.endswith(".conf") or path in mains:
            continue
        name = posixpath.basename(path)
        prio = next((v for k, v in rank.items() if path.startswith(k)), 9)
        old = dropins.get(name)
        if old is None or prio < next((v for k, v in rank.items() if old.startswith(k)), 9):
            dropins[name] = path
    return ([main] if main else []) + [dropins[n] for n in sorted(dropins)]


def parse_journald(text: str) -> Journald:
    frames = split_frames(text)
    order = journald_order(list(frames.files))
    settings: dict[str, str] = {}
    sources: dict[str, str] = {}
    junk: list[str] = []
    for path in order:
        values, bad = parse_ini_section(frames.files[path].text, "Journal")
        junk += [f"{path}: {b}" for b in bad]
        for key, value in values.items():
            settings[key], sources[key] = value, path
    storage = settings.get("Storage", "auto").lower() or "auto"
    retention = parse_timespan(settings["MaxRetentionSec"]) if "MaxRetentionSec" in settings else None
    usage = frames.commands.get("disk_usage")
    disk_bytes = _disk_usage_bytes(usage.output) if usage and usage.ok else None
    oldest = frames.commands.get("oldest")
    oldest_ts = None
    if oldest and oldest.output:
        m = re.match(r"^(\d{9,11})(?:\.\d+)?(?:\s|$)", oldest.output)
        oldest_ts = int(m.group(1)) if m else None
    persistent_dir = frames.value("persistent_dir") == "yes"
    return Journald(files=tuple(order), settings=settings, sources=sources, storage=storage,
                    persistent_dir=persistent_dir,
                    persistent=storage == "persistent" or (storage == "auto" and persistent_dir),
                    max_retention_sec=retention, max_use=settings.get("SystemMaxUse"),
                    max_file_sec=settings.get("MaxFileSec"),
                    forward_to_syslog=_yes_no(settings.get("ForwardToSyslog")),
                    disk_usage_bytes=disk_bytes, oldest_entry=oldest_ts, as_root=frames.as_root,
                    journalctl_missing="journalctl" in frames.missing, unparsed=tuple(junk[:MAX_UNPARSED]),
                    denied=tuple(frames.denied), now=_int(frames.value("now")))


_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _disk_usage_bytes(output: str) -> int | None:
    m = re.search(r"take up ([\d.]+)([KMGT]?)B?\b", output)
    if not m:
        return None
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])


def _yes_no(value: str | None) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("yes", "true", "on", "1"):
        return True
    if v in ("no", "false", "off", "0"):
        return False
    return None


# -- logrotate ---------------------------------------------------------------------------------

LOGROTATE_MAIN = "/etc/logrotate.conf"
# The logs that hold system and authentication messages on the families we meet, rotated
# siblings included (syslog.1, syslog.2.gz, secure-20240101, messages-20240101.gz).
SYSTEM_LOG_GLOBS = "/var/log/syslog* /var/log/messages* /var/log/auth.log* /var/log/secure* /var/log/audit/audit.log*"
LOGROTATE_SCRIPT = shell(f"""\
dump /etc/logrotate.conf
for inc in $(sed -n 's/^[[:space:]]*include[[:space:]]\\{{1,\\}}\\([^[:space:]#]*\\).*/\\1/p' /etc/logrotate.conf 2>/dev/null); do
  if [ -d "$inc" ]; then dump "$inc"/*; else dump "$inc"; fi
  [ -d "$inc" ] && [ ! -r "$inc" ] && printf '\\n@@denied %s\\n' "$inc"
done
command -v logrotate >/dev/null 2>&1 && printf '@@kv binary %s\\n' "$(command -v logrotate)"
printf '@@kv now %s\\n' "$(date +%s)"
stats {SYSTEM_LOG_GLOBS}
[ -r /var/log/audit ] || {{ [ -d /var/log/audit ] && printf '\\n@@denied /var/log/audit\\n'; }}
""")
FREQUENCIES = {"hourly": 1 / 24, "daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}
# logrotate's default tabooext list: files in an included directory with these endings are skipped.
TABOO = (",v", ".cfsaved", ".disabled", ".dpkg-bak", ".dpkg-del", ".dpkg-dist", ".dpkg-new", ".dpkg-old",
         ".rhn-cfg-tmp-*", ".rpmnew", ".rpmorig", ".rpmsave", ".swp", ".ucf-dist", ".ucf-new", ".ucf-old", "~")
_SCRIPT_OPEN = ("postrotate", "prerotate", "firstaction", "lastaction", "preremove")


def _taboo(path: str) -> bool:
    name = posixpath.basename(path)
    return any(fnmatch.fnmatchcase(name, "*" + t) for t in TABOO)


@dataclass
class _RotState:
    frames: Frames
    defaults: dict[str, str | int | None]
    stanzas: list[RotateStanza] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)


def _directive_words(line: str) -> list[str]:
    # logrotate reads `size=100M` and `size 100M` alike
    key, sep, rest = line.strip().partition("=")
    if sep and " " not in key.strip() and "\t" not in key.strip():
        return [key.strip(), *rest.split()]
    return line.split()


def _apply_directive(policy: dict[str, str | int | None], words: list[str]) -> bool:
    """Apply one logrotate directive to a policy dict; False if it is not one we track."""
    key = words[0].lower()
    arg = words[1] if len(words) > 1 else ""
    if key in FREQUENCIES:
        # size and a time interval are exclusive: the one given last wins (logrotate(8)).
        policy["frequency"], policy["size"] = key, None
    elif key == "size":
        policy["size"], policy["frequency"] = arg or None, None
    elif key in ("rotate", "maxage"):
        policy[key] = int(arg) if re.fullmatch(r"-?\d+", arg) else None
    elif key in ("maxsize", "minsize"):
        policy[key] = arg or None
    else:
        return False
    return True


def parse_logrotate(text: str) -> Logrotate:
    frames = split_frames(text)
    state = _RotState(frames, {"frequency": None, "rotate": 0, "maxage": None, "size": None,
                               "maxsize": None, "minsize": None})
    if LOGROTATE_MAIN in frames.files:
        _rotate_file(state, LOGROTATE_MAIN, 0)
    now = frames.value("now")
    return Logrotate(present=LOGROTATE_MAIN in frames.files, binary=frames.value("binary"),
                     files=tuple(state.read), denied=tuple(frames.denied),
                     unresolved_includes=tuple(state.missing), stanzas=tuple(state.stanzas),
                     defaults=RotatePolicy(source="defaults", **state.defaults),
                     logs=tuple(frames.stats), now=int(now) if now and now.isdigit() else None,
                     unparsed=tuple(state.unparsed[:MAX_UNPARSED]), truncated=frames.truncated)


def _rotate_file(state: _RotState, path: str, depth: int) -> None:
    if path in state.read or depth > 5:
        return
    state.read.append(path)
    lines = state.frames.files[path].text.split("\n")
    i = 0
    pending: list[str] = []  # log paths seen before a '{'
    while i < len(lines):
        number, raw = i + 1, lines[i]
        i += 1
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0].lower() == "include" and not pending:
            target = words[1] if len(words) > 1 else ""
            found = [p for p in expand(target, state.frames) if not _taboo(p)] if target else []
            if not found:
                state.missing.append(f"{target} ({path}:{number})")
            for inc in found:
                _rotate_file(state, inc, depth + 1)
            continue
        if "{" in line:
            head, _, rest = line.partition("{")
            pending += _split_paths(head)
            policy = dict(state.defaults)
            body, i, closed = _stanza_body(lines, i, rest)
            if not closed:
                # logrotate rejects a file whose stanza or script never ends: say so, keep nothing
                state.unparsed.append(f"{path}:{number}: stanza or script not terminated (missing }} or endscript)")
                pending = []
                continue
            for directive in body:
                _apply_directive(policy, _directive_words(directive))
            if pending:
                state.stanzas.append(RotateStanza(paths=tuple(pending), policy=RotatePolicy(
                    source=f"{path}:{number - (1 if not head.strip() else 0)}", **policy)))
            pending = []
            continue
        if line.startswith(("/", '"', "'")) or "*" in words[0]:
            pending += _split_paths(line)
            continue
        words = _directive_words(line)
        if not _apply_directive(state.defaults, words) and words[0].lower() not in _KNOWN_DIRECTIVES:
            state.unparsed.append(f"{path}:{number}: {cap(line, 160)}")


_KNOWN_DIRECTIVES = {"compress", "nocompress", "delaycompress", "nodelaycompress", "create", "nocreate",
                     "copytruncate", "nocopytruncate", "missingok", "nomissingok", "notifempty", "ifempty",
                     "dateext", "nodateext", "dateformat", "dateyesterday", "datehourago", "sharedscripts",
                     "nosharedscripts", "su", "olddir", "noolddir", "tabooext", "taboopat", "compresscmd",
                     "uncompresscmd", "compressext", "compressoptions", "extension", "mail", "nomail",
                     "mailfirst", "maillast", "start", "shred", "noshred", "shredcycles", "createolddir",
                     "nocreateolddir", "minage", "copy", "nocopy", "renamecopy", "norenamecopy", "allowhardlink",
                     "noallowhardlink", "addextension", "ignoreduplicates"}


def _split_paths(text: str) -> list[str]:
    return [w.strip("\"'") for w in re.findall(r'"[^"]*"|\'[^\']*\'|\S+', text) if w.strip("\"'")]


def _stanza_body(lines: list[str], i: int, first: str) -> tuple[list[str], int, bool]:
    """Directives up to the closing brace, skipping script blocks (postrotate … endscript);
    the flag is False when the file ends first."""
    body: list[str] = []
    pending = [first] if first.strip() else []
    in_script = False
    while True:
        if pending:
            line = pending.pop().strip()
        elif i < len(lines):
            line, i = lines[i].strip(), i + 1
        else:
            return body, i, False
        if in_script:
            if line == "endscript":
                in_script = False
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("}"):
            return body, i, True
        word = line.split()[0].lower()
        if word in _SCRIPT_OPEN:
            in_script = True
            continue
        if "}" in line:
            body.append(line.split("}")[0])
            return body, i, True
        body.append(line)


# -- auditd ------------------------------------------------------------------------------------

AUDITD_SCRIPT = shell("""\
dump /etc/audit/auditd.conf
[ -d /etc/audit ] && [ ! -r /etc/audit/auditd.conf ] && [ -e /etc/audit/auditd.conf ] || true
run status auditctl -s
run rules auditctl -l
command -v auditd >/dev/null 2>&1 && printf '@@kv binary %s\\n' "$(command -v auditd)"
""")


def parse_auditd(text: str) -> Auditd:
    frames = split_frames(text)
    conf: dict[str, str] = {}
    frame = frames.files.get("/etc/audit/auditd.conf")
    if frame:
        for raw in frame.text.split("\n"):
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                conf[key.strip().lower()] = value.strip()
    status_cmd, rules_cmd = frames.commands.get("status"), frames.commands.get("rules")
    status: dict[str, str] = {}
    if status_cmd and status_cmd.ok:
        for line in status_cmd.output.split("\n"):
            parts = line.split(None, 1)
            if len(parts) == 2:
                status[parts[0]] = parts[1].strip()
    rules: list[str] = []
    denied = not frames.as_root and bool(
        (status_cmd and not status_cmd.ok) or (rules_cmd and not rules_cmd.ok))
    if rules_cmd and rules_cmd.ok:
        rules = [ln.strip() for ln in rules_cmd.output.split("\n") if ln.strip() and ln.strip() != "No rules"]
    if rules_cmd and _permission_text(rules_cmd.output):
        denied = True
    return Auditd(config_present=frame is not None, config=conf, as_root=frames.as_root,
                  auditctl_missing="status" in frames.missing,
                  permission_denied=denied, binary=frames.value("binary"),
                  enabled=int(status["enabled"]) if status.get("enabled", "").isdigit() else None,
                  pid=int(status["pid"]) if status.get("pid", "").isdigit() else None,
                  rules=tuple(cap(r, 200) for r in rules[:200]),
                  rules_count=len(rules) if rules_cmd and rules_cmd.ok else None,
                  num_logs=_int(conf.get("num_logs")), max_log_file_mb=_int(conf.get("max_log_file")),
                  max_log_file_action=(conf.get("max_log_file_action") or "").lower() or None,
                  denied=tuple(frames.denied))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


PERMISSION_RE = re.compile(r"permission denied|operation not permitted|must be root|you need to be root|"
                           r"not authorized|authorization failed|access denied|are you root", re.I)


def _permission_text(output: str) -> bool:
    return bool(PERMISSION_RE.search(output))


# -- time synchronisation ----------------------------------------------------------------------

TIME_SYNC_SCRIPT = shell("""\
run timedatectl timedatectl show
run chronyc chronyc -n tracking
run ntpq ntpq -pn
dump /etc/chrony.conf /etc/chrony/chrony.conf /etc/ntp.conf /etc/ntpsec/ntp.conf /etc/systemd/timesyncd.conf
""")


def parse_time_sync(text: str) -> TimeSync:
    frames = split_frames(text)
    td = frames.commands.get("timedatectl")
    show = {}
    if td and td.ok:
        for line in td.output.split("\n"):
            key, sep, value = line.partition("=")
            if sep:
                show[key.strip()] = value.strip()
    chrony = frames.commands.get("chronyc")
    tracking: dict[str, str] = {}
    if chrony and chrony.ok:
        for line in chrony.output.split("\n"):
            key, sep, value = line.partition(":")
            if sep:
                tracking[key.strip()] = value.strip()
    servers = []
    for path, frame in frames.files.items():
        for line in frame.text.split("\n"):
            m = re.match(r"^\s*(server|pool|peer)\s+(\S+)", line)
            if m:
                servers.append(f"{m.group(1)} {m.group(2)} ({path})")
            m = re.match(r"^\s*(NTP|FallbackNTP)\s*=\s*(.+)$", line)
            if m and m.group(2).strip():
                servers.append(f"{m.group(1)}={m.group(2).strip()} ({path})")
    ntpq = frames.commands.get("ntpq")
    peers = []
    if ntpq and ntpq.ok:
        peers = [ln.strip() for ln in ntpq.output.split("\n") if ln[:1] in "*+#o"]
    return TimeSync(timedatectl=show, ntp_synchronized=_yes_no(show.get("NTPSynchronized")),
                    chrony_tracking=tracking, chrony_leap=tracking.get("Leap status"),
                    chrony_reference=tracking.get("Reference ID"),
                    ntpq_selected=tuple(cap(p, 120) for p in peers[:10]),
                    configured_servers=tuple(cap(s, 200) for s in servers[:40]),
                    missing=tuple(sorted(frames.missing)))


# -- log shippers' configuration -----------------------------------------------------------------

# Where each shipper keeps the setting that names its destination (vendor documentation; the
# rows in checks/data/products.yaml cite it). Dumped with secrets masked on the host.
SHIPPER_FILES = {
    "filebeat": ["/etc/filebeat/filebeat.yml"],
    "fluent-bit": ["/etc/fluent-bit/fluent-bit.conf", "/etc/td-agent-bit/td-agent-bit.conf"],
    "fluentd": ["/etc/fluent/fluentd.conf", "/etc/fluent/fluent.conf", "/etc/td-agent/td-agent.conf"],
    "vector": ["/etc/vector/vector.toml", "/etc/vector/vector.yaml"],
    "nxlog": ["/etc/nxlog/nxlog.conf", "/opt/nxlog/etc/nxlog.conf"],
    "wazuh-agent": ["/var/ossec/etc/ossec.conf"],
    "splunkforwarder": ["/opt/splunkforwarder/etc/system/local/outputs.conf"],
    "elastic-agent": ["/opt/Elastic/Agent/elastic-agent.yml", "/etc/elastic-agent/elastic-agent.yml"],
    "systemd-journal-upload": ["/etc/systemd/journal-upload.conf"],
}
_SHIPPER_GLOBS = ["/etc/fluent-bit/*.conf", "/etc/vector/*.toml", "/etc/vector/*.yaml",
                  "/opt/splunkforwarder/etc/apps/*/local/outputs.conf", "/etc/systemd/journal-upload.conf.d/*.conf"]
LOG_SHIPPERS_SCRIPT = shell(
    "dump " + " ".join(p for paths in SHIPPER_FILES.values() for p in paths) + "\n"
    + "for f in " + " ".join(_SHIPPER_GLOBS) + "; do dump \"$f\"; done\n"
    + "for d in /var/ossec/etc /opt/splunkforwarder/etc; do [ -d \"$d\" ] && [ ! -x \"$d\" ] && "
      "printf '\\n@@denied %s\\n' \"$d\"; done; true\n")


def _shipper_of(path: str) -> str | None:
    for name, paths in SHIPPER_FILES.items():
        if path in paths:
            return name
    for name, prefix in (("fluent-bit", "/etc/fluent-bit/"), ("vector", "/etc/vector/"),
                         ("splunkforwarder", "/opt/splunkforwarder/"),
                         ("systemd-journal-upload", "/etc/systemd/journal-upload.conf.d/")):
        if path.startswith(prefix):
            return name
    return None


def parse_log_shippers(text: str) -> LogShippers:
    frames = split_frames(text)
    configs = []
    for path, frame in frames.files.items():
        name = _shipper_of(path)
        if name is None:
            continue
        dests, note = SHIPPER_PARSERS[name](frame.text)
        configs.append(ShipperConfig(product=name, path=path, destinations=tuple(
            Forward(via=name, target=cap(t, 200), port=p, protocol=proto, selector="", source=path,
                    text=cap(txt), facilities=None, ruleset=None) for t, p, proto, txt in dests[:20]),
            note=note))
    return LogShippers(as_root=frames.as_root, configs=tuple(configs), denied=tuple(frames.denied))


Dest = tuple[str, int | None, str | None, str]


def _host_port(value: str) -> tuple[str, int | None]:
    value = value.strip().strip("\"'")
    value = re.sub(r"^[a-z]+://", "", value).split("/")[0]
    m = re.match(r"^\[([^\]]+)\](?::(\d+))?$|^([^:]+)(?::(\d+))?$", value)
    if not m:
        return value, None
    host = m.group(1) or m.group(3) or value
    port = m.group(2) or m.group(4)
    return host, int(port) if port else None


def _filebeat(text: str) -> tuple[list[Dest], str | None]:
    import yaml

    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        return [], f"YAML error: {cap(str(exc), 120)}"
    if not isinstance(doc, dict):
        return [], "not a YAML mapping"
    outputs: dict = {}
    for key, value in doc.items():
        if key == "output" and isinstance(value, dict):
            outputs.update(value)
        elif str(key).startswith("output."):
            rest = str(key)[len("output."):]
            kind, _, sub = rest.partition(".")
            if sub:
                outputs.setdefault(kind, {})[sub] = value
            else:
                outputs[kind] = value
    dests: list[Dest] = []
    for kind, conf in outputs.items():
        if not isinstance(conf, dict) or conf.get("enabled") is False or kind in ("console", "file", "discard"):
            continue
        hosts = conf.get("hosts") or ([conf["host"]] if conf.get("host") else [])
        for host in hosts if isinstance(hosts, list) else [hosts]:
            h, p = _host_port(str(host))
            dests.append((h, p, kind, f"output.{kind}.hosts: {host}"))
    if doc.get("cloud.id") or (isinstance(doc.get("cloud"), dict) and doc["cloud"].get("id")):
        dests.append(("Elastic Cloud (cloud.id)", None, "https", "cloud.id"))
    return dests, None


def _fluent_bit(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for block in re.split(r"^\s*\[", text, flags=re.M):
        if not block.upper().startswith("OUTPUT]"):
            continue
        kv = {}
        for line in block.split("\n")[1:]:
            parts = line.strip().split(None, 1)
            if len(parts) == 2 and not parts[0].startswith("#"):
                kv[parts[0].lower()] = parts[1].strip()
        name = kv.get("name", "").lower()
        if name in ("stdout", "file", "null", "counter", "") or "host" not in kv:
            continue
        dests.append((kv["host"], int(kv["port"]) if kv.get("port", "").isdigit() else None, name,
                      f"[OUTPUT] Name {name} Host {kv['host']}"))
    return dests, None


def _fluentd(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for m in re.finditer(r"<match[^>]*>(.*?)</match>", text, re.S):
        body = m.group(1)
        kind = re.search(r"@?type\s+(\S+)", body)
        kind_name = kind.group(1) if kind else ""
        if kind_name in ("stdout", "file", "null"):
            continue
        for host in re.finditer(r"^\s*host\s+(\S+)(?:.*?^\s*port\s+(\d+))?", body, re.M | re.S):
            dests.append((host.group(1), int(host.group(2)) if host.group(2) else None, kind_name,
                          f"<match> @type {kind_name} host {host.group(1)}"))
    return dests, None


def _vector(text: str) -> tuple[list[Dest], str | None]:
    import tomllib

    import yaml

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            return [], f"neither TOML nor YAML: {cap(str(exc), 120)}"
    sinks = doc.get("sinks", {}) if isinstance(doc, dict) else {}
    dests: list[Dest] = []
    for name, sink in (sinks.items() if isinstance(sinks, dict) else []):
        if not isinstance(sink, dict) or sink.get("type") in ("console", "file", "blackhole"):
            continue
        for key in ("address", "endpoint", "uri", "endpoints"):
            values = sink.get(key)
            for value in values if isinstance(values, list) else ([values] if values else []):
                h, p = _host_port(str(value))
                dests.append((h, p, str(sink.get("type")), f"sinks.{name}.{key} = {value}"))
    return dests, None


def _nxlog(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for m in re.finditer(r"<Output\s+([^>]+)>(.*?)</Output>", text, re.S | re.I):
        body = m.group(2)
        module = re.search(r"^\s*Module\s+(\S+)", body, re.M | re.I)
        host = re.search(r"^\s*(Host|URL)\s+(\S+)", body, re.M | re.I)
        port = re.search(r"^\s*Port\s+(\d+)", body, re.M | re.I)
        if module and host and module.group(1).lower() in ("om_tcp", "om_udp", "om_ssl", "om_http", "om_batchcompress"):
            h, p = _host_port(host.group(2))
            dests.append((h, int(port.group(1)) if port else p, module.group(1).lower(),
                          f"<Output {m.group(1)}> Module {module.group(1)} {host.group(1)} {host.group(2)}"))
    return dests, None


def _ossec(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for client in re.finditer(r"<client>(.*?)</client>", text, re.S):
        for server in re.finditer(r"<server>(.*?)</server>", client.group(1), re.S):
            address = re.search(r"<address>\s*([^<\s]+)\s*</address>", server.group(1))
            port = re.search(r"<port>\s*(\d+)\s*</port>", server.group(1))
            proto = re.search(r"<protocol>\s*(\w+)\s*</protocol>", server.group(1))
            if address:
                dests.append((address.group(1), int(port.group(1)) if port else None,
                              proto.group(1).lower() if proto else None,
                              f"<client><server><address>{address.group(1)}</address>"))
        old = re.search(r"<server-ip>\s*([^<\s]+)\s*</server-ip>", client.group(1))
        if old:
            dests.append((old.group(1), None, None, f"<server-ip>{old.group(1)}</server-ip>"))
    return dests, None


def _splunk_outputs(text: str) -> tuple[list[Dest], str | None]:
    dests: list[Dest] = []
    for m in re.finditer(r"^\s*server\s*=\s*(.+)$", text, re.M):
        for server in m.group(1).split(","):
            h, p = _host_port(server)
            if h:
                dests.append((h, p, "splunktcp", f"server = {server.strip()}"))
    return dests, None


def _elastic_agent(text: str) -> tuple[list[Dest], str | None]:
    dests, note = _filebeat(text.replace("outputs:", "output:", 1))
    if re.search(r"^\s*fleet:\s*\n\s+enabled:\s*true", text, re.M):
        note = "managed by Fleet: outputs are in the encrypted fleet.enc, not readable here"
    return dests, note


def _journal_upload(text: str) -> tuple[list[Dest], str | None]:
    values, _ = parse_ini_section(text, "Upload")
    url = values.get("URL", "")
    if not url:
        return [], None
    h, p = _host_port(url)
    return [(h, p if p else (19532 if url.startswith("http") else None), url.split(":")[0], f"URL={url}")], None


SHIPPER_PARSERS = {"filebeat": _filebeat, "fluent-bit": _fluent_bit, "fluentd": _fluentd, "vector": _vector,
                   "nxlog": _nxlog, "wazuh-agent": _ossec, "splunkforwarder": _splunk_outputs,
                   "elastic-agent": _elastic_agent, "systemd-journal-upload": _journal_upload}


PROBES = [
    Probe("rsyslog", RSYSLOG_SCRIPT, parse_rsyslog),
    Probe("syslog_ng", SYSLOG_NG_SCRIPT, parse_syslog_ng),
    Probe("journald", JOURNALD_SCRIPT, parse_journald, root=True),
    Probe("logrotate", LOGROTATE_SCRIPT, parse_logrotate, root=True),
    Probe("auditd", AUDITD_SCRIPT, parse_auditd, root=True),
    Probe("time_sync", TIME_SYNC_SCRIPT, parse_time_sync),
    Probe("log_shippers", LOG_SHIPPERS_SCRIPT, parse_log_shippers, root=True),
]
