"""rsyslog's configuration read the way rsyslogd reads it: the main file and its includes in
order, legacy selector lines and RainerScript, comments and continued statements; what it does
not understand is recorded, not guessed. Also the syslog facilities and what a legacy selector
(`auth,authpriv.*`) lets through; syslog-ng's reader shares the facilities."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from scanner.facts.logging import Forward, LogRule, Rsyslog
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import MAX_UNPARSED, Frames, cap, expand, shell, split_frames

# -- syslog selectors ----------------------------------------------------------------------------

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


# -- rsyslog -------------------------------------------------------------------------------------

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


def _denied_under(pattern: str, frames: Frames) -> list[str]:
    directory = pattern if not any(ch in pattern for ch in "*?[") else posixpath.dirname(pattern)
    return [d for d in frames.denied if d == pattern or d.startswith(directory.rstrip("/") + "/")]


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


PROBES = [Probe("rsyslog", RSYSLOG_SCRIPT, parse_rsyslog)]
