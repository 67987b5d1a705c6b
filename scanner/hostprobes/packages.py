"""Installed packages (dpkg, rpm, apk), and the marked-output conventions that this module's
sibling probes (patching, sshd_config, accounts) share.

Marked output: a probe prints `@@kind argument` marker lines, and every line that came from a
file or a command is printed with a leading `|`. A target can therefore never forge a marker
(its text always starts with `|`), and the parser can tell our structure from its data. The
collector's own frame markers (with a nonce) separate probes; these only structure one probe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scanner.facts.packages import Packages
from scanner.hostprobes import Probe

# Shell helpers prepended to each snippet of this family (POSIX sh; dash, busybox and bash).
#   have TOOL          is TOOL on the PATH
#   sec NAME CMD...    run CMD, print its output (stdout+stderr) prefixed, then its exit status
#   dump FILE...       print each readable regular file prefixed, else say why not
#   dumpc FILE...      the same, without comment (#) and blank lines
#   mt FILE...         "|<mtime epoch> <path>" for each existing file
SH_HELPERS = r"""
have() { command -v "$1" >/dev/null 2>&1; }
sec() { _n=$1; shift; echo "@@section $_n"; _o=$("$@" 2>&1); _r=$?; [ -n "$_o" ] && printf '%s\n' "$_o" | sed 's/^/|/'; echo "@@rc $_r"; }
_file() { if [ -d "$1" ]; then :; elif [ ! -e "$1" ]; then echo "@@nofile $1"; elif [ ! -r "$1" ]; then echo "@@denied $1"; else echo "@@file $1"; return 0; fi; return 1; }
dump() { for _f in "$@"; do _file "$_f" && sed 's/^/|/' "$_f"; done; }
dumpc() { for _f in "$@"; do _file "$_f" && sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' -e 's/^/|/' "$_f"; done; }
mt() { for _f in "$@"; do [ -e "$_f" ] && printf '|%s %s\n' "$(stat -c %Y "$_f" 2>/dev/null || date -r "$_f" +%s)" "$_f"; done; return 0; }
""".strip()

MAX_KEPT_LINE = 500  # characters of one unparsed line kept as evidence
MAX_UNPARSED = 50  # unparsed lines kept per probe


@dataclass
class Block:
    """One marker and the data lines that follow it (without their `|`)."""

    kind: str  # section, file, denied, nofile, missing, now, manager, ...
    arg: str
    lines: list[str] = field(default_factory=list)
    rc: int | None = None  # for `section` blocks: the command's exit status, None if cut off


@dataclass
class Marked:
    blocks: list[Block]
    stray: list[str]  # lines that are neither markers nor data: the parser did not expect them

    def first(self, kind: str, arg: str | None = None) -> Block | None:
        return next((b for b in self.blocks if b.kind == kind and (arg is None or b.arg == arg)), None)

    def all(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]

    def value(self, kind: str) -> str | None:
        block = self.first(kind)
        return block.arg if block else None

    def section(self, name: str) -> Block | None:
        return self.first("section", name)

    def args(self, kind: str) -> tuple[str, ...]:
        return tuple(b.arg for b in self.all(kind))


MARKER_RE = re.compile(r"^@@([a-z_]+)(?: (.*))?$")


def read_marked(text: str) -> Marked:
    """Split marked probe output into blocks (pure). Never raises on odd input."""
    blocks: list[Block] = []
    stray: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            if blocks:
                blocks[-1].lines.append(line[1:])
            else:
                stray.append(line)
            continue
        m = MARKER_RE.match(line)
        if m is None:
            if line.strip():
                stray.append(line)
            continue
        kind, arg = m.group(1), (m.group(2) or "").strip()
        if kind == "rc":
            section = next((b for b in reversed(blocks) if b.kind == "section"), None)
            if section is not None and arg.isdigit():
                section.rc = int(arg)
            continue
        blocks.append(Block(kind, arg))
    return Marked(blocks, stray)


def cap_lines(lines: list[str] | tuple[str, ...], limit: int = MAX_UNPARSED) -> tuple[str, ...]:
    """Untrusted text kept as evidence: few lines, each capped."""
    return tuple(line[:MAX_KEPT_LINE] for line in list(lines)[:limit])


def as_int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


# -- version ordering --------------------------------------------------------------------------
def _order(c: str) -> int:
    # dpkg's order of non-digit characters: ~ sorts before everything, letters before the rest.
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def compare_versions(a: str, b: str) -> int:
    """Order two version strings the way dpkg does (epoch, then digit and non-digit runs);
    good enough for kernel releases of every distribution we meet (`6.1.0-18-amd64`,
    `5.14.0-427.13.1.el9_4.x86_64`). Negative, zero or positive, like strcmp."""
    def split_epoch(v: str) -> tuple[int, str]:
        epoch, sep, rest = v.partition(":")
        return (int(epoch), rest) if sep and epoch.isdigit() else (0, v)
    (ea, ra), (eb, rb) = split_epoch(a), split_epoch(b)
    if ea != eb:
        return ea - eb
    return _verrevcmp(ra, rb)


# -- the packages probe ------------------------------------------------------------------------
PACKAGES_SH = SH_HELPERS + r"""
if have dpkg-query && [ -e /var/lib/dpkg/status ]; then
  echo "@@manager dpkg"
  sec list dpkg-query -W -f '${Package}\t${Version}\t${Status}\n'
elif have rpm; then
  echo "@@manager rpm"
  sec list rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\n'
elif have apk; then
  echo "@@manager apk"
  sec list apk info -v
else
  echo "@@missing dpkg-query"; echo "@@missing rpm"; echo "@@missing apk"
fi
"""

APK_RE = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+-r\d+)$")


def parse_packages(text: str) -> Packages:
    marked = read_marked(text)
    manager = marked.value("manager") or "unknown"
    if manager not in ("dpkg", "rpm", "apk"):
        manager = "unknown"
    problems = [f"missing {tool}" for tool in marked.args("missing")]
    unparsed = list(marked.stray)
    installed: dict[str, str] = {}
    listing = marked.section("list")
    if manager != "unknown":
        if listing is None:
            problems.append("no package list in the output")
        elif listing.rc is None:
            problems.append("package list cut off")
        elif listing.rc != 0:
            problems.append(f"package query exited {listing.rc}")
    for line in listing.lines if listing else []:
        if manager == "dpkg":
            parts = line.split("\t")
            if len(parts) != 3 or not parts[0]:
                unparsed.append(line)
            elif parts[2].split()[-1:] == ["installed"]:  # not config-files, half-installed...
                installed[parts[0]] = parts[1]
        elif manager == "rpm":
            parts = line.split("\t")
            if len(parts) == 2 and parts[0] and parts[1]:
                # Several versions of one name (kernels) may be installed: keep the newest.
                old = installed.get(parts[0])
                if old is None or compare_versions(parts[1], old) > 0:
                    installed[parts[0]] = parts[1]
            else:
                unparsed.append(line)
        else:
            m = APK_RE.match(line.strip())
            if m:
                installed[m.group("name")] = m.group("version")
            elif line.strip():
                unparsed.append(line)
    return Packages(manager=manager, installed=installed, problems=tuple(problems),
                    unparsed_lines=cap_lines(unparsed))


PROBES = [
    Probe("packages", PACKAGES_SH, parse_packages, output_cap=2 * 1024 * 1024),
]
