"""syslog-ng's configuration: its destinations (network ones are forwards) and which files the
`log` paths write, with the facilities their filters let through."""

from __future__ import annotations

import re

from scanner.facts.logging import Forward, LogRule, SyslogNg
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import cap, expand, shell, split_frames
from scanner.hostprobes.rsyslog import FACILITIES

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


PROBES = [Probe("syslog_ng", SYSLOG_NG_SCRIPT, parse_syslog_ng)]
