"""The framing inside one probe's output: the shell helpers every probe script starts with, the
reader that cuts a probe's output back into typed frames, and the small helpers parsers share.

The collector's own markers (with a nonce) separate one probe's output from the next; the
`@@KIND ARGUMENT` marker lines here only structure the output of one probe. Data comes in one of
two forms, and the reader takes both:

- A *raw frame* keeps text as the host had it, between an opening and a closing marker:
  `@@file MTIME PATH` … `@@end TAG` for a configuration file (secrets masked on the host, before
  anything leaves it), `@@cmd NAME` … `@@rc NAME STATUS TAG` for a command. TAG is the scan's
  random nonce (`RS_TAG`, set by the host collector, announced by `@@tag TAG` before anything
  else): a file on the target was written before the scan and cannot guess it, so a line
  reading `@@end` cannot close its frame early. Output without `@@tag` (recordings made before
  the tag existed) closes on the untagged markers.
- A *quoted block* prefixes every data line with `|`, so a target can never forge a marker (its
  text always starts with `|`): `@@file PATH` for a file, `@@section NAME` … `@@rc STATUS` for a
  command. A block runs up to the next marker.

Markers that stand alone: `@@uid N` (who ran the probe), `@@denied PATH` (exists, unreadable),
`@@nofile PATH` (does not exist), `@@missing NAME` (tool not installed), `@@stat MTIME SIZE PATH`
(a log file's age and size), and small values, `@@kv KEY VALUE` or a marker of their own
(`@@now 1795724384`, `@@manager apt`).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from dataclasses import dataclass, field

MAX_UNPARSED = 50  # lines kept of what a parser did not understand
MAX_TEXT = 300  # characters kept of one configuration statement in evidence
MAX_KEPT_LINE = 500  # characters of one unparsed line kept as evidence


# -- the shell side ------------------------------------------------------------------------------


def _ci(word: str) -> str:
    """A case-insensitive ERE for `word` without relying on sed's non-POSIX `I` flag."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


def any_case(words: tuple[str, ...]) -> str:
    """An ERE group matching any of `words` in any case."""
    return "(" + "|".join(_ci(w) for w in words) + ")"


_SECRET_WORDS = ("pass", "pwd", "secret", "token", "credential", "apikey", "api_key", "api-key",
                 "access_key", "accesskey")
_KEY = "[A-Za-z0-9_.$-]*(" + "|".join(_ci(w) for w in _SECRET_WORDS + ("auth",)) + ")[A-Za-z0-9_.$-]*"
_KEY_FIRST = "[A-Za-z0-9_.$-]*(" + "|".join(_ci(w) for w in _SECRET_WORDS) + ")[A-Za-z0-9_.$-]*"
# Values of keys that look like secrets are masked *on the host*: raw probe output is kept as
# evidence in the scan file, which must never hold a password (architecture: secrets).
# 1) key=value, key: value, key="value" anywhere on a line; 2) `Key value` as the first token
# (fluent-bit, nxlog). "auth" only in form 1, so rsyslog selectors like `auth.info` survive.
KEY_VALUE_SED = f"s/({_KEY})([\"']?[[:space:]]*[=:][[:space:]]*)(\"[^\"]*\"|'[^']*'|[^[:space:],;)}}]+)/\\1\\3\"***\"/g"
REDACT_SED = " ".join([
    "sed -E -e",
    shlex.quote(KEY_VALUE_SED),
    "-e",
    shlex.quote(f"s/^([[:space:]]*{_KEY_FIRST})([[:space:]]+)[^[:space:]].*$/\\1\\3***/"),
    "-e",
    shlex.quote(f"s/(<{_KEY_FIRST}>)[^<]*/\\1***/g"),
])

# The helpers every probe script starts with (POSIX sh: dash, busybox and bash).
#   have TOOL           is TOOL on the PATH
#   mtime FILE          FILE's modification time (epoch seconds), `-` if unknown
#   redact              stdin to stdout with the values of secret-looking keys masked
# Raw frames:
#   dump FILE...        each regular file, masked and cut at 128 KiB: @@file MTIME PATH … @@end,
#                       or @@denied PATH; files that do not exist are skipped
#   run NAME CMD...     @@cmd NAME, CMD's output (stdout+stderr), @@rc NAME STATUS TAG; @@missing
#                       NAME when CMD is not installed
#   endcmd NAME STATUS  the closing marker of a command frame opened by hand (`@@cmd NAME`)
#   stats FILE...       @@stat MTIME SIZE PATH for each regular file
# Quoted blocks:
#   qfile FILE          @@file PATH (true) for a readable file, else @@nofile / @@denied (false);
#                       a directory prints nothing (false)
#   qdump FILE...       qfile, then the file's lines
#   qdumpc FILE...      the same, without comment (#) and blank lines
#   qrun NAME CMD...    @@section NAME, CMD's output (stdout+stderr), @@rc STATUS
#   qmtimes FILE...     a line `MTIME PATH` for each existing file
PRELUDE = rf"""have() {{ command -v "$1" >/dev/null 2>&1; }}
redact() {{ {REDACT_SED}; }}
mtime() {{ stat -c %Y "$1" 2>/dev/null || date -r "$1" +%s 2>/dev/null || echo -; }}
dump() {{
  for f in "$@"; do
    [ -f "$f" ] || continue
    if [ -r "$f" ]; then
      printf '\n@@file %s %s\n' "$(mtime "$f")" "$f"
      head -c 131072 "$f" | redact
      printf '\n@@end%s\n' "${{RS_TAG:+ $RS_TAG}}"
    else
      printf '\n@@denied %s\n' "$f"
    fi
  done
}}
endcmd() {{ printf '\n@@rc %s %s%s\n' "$1" "$2" "${{RS_TAG:+ $RS_TAG}}"; }}
run() {{
  n=$1; shift
  if have "$1"; then
    printf '\n@@cmd %s\n' "$n"; "$@" 2>&1; endcmd "$n" "$?"
  else
    printf '\n@@missing %s\n' "$n"
  fi
}}
stats() {{ for f in "$@"; do [ -f "$f" ] && printf '@@stat %s %s %s\n' "$(mtime "$f")" "$(wc -c < "$f" 2>/dev/null | tr -d ' ')" "$f"; done; return 0; }}
qfile() {{ if [ -d "$1" ]; then :; elif [ ! -e "$1" ]; then echo "@@nofile $1"; elif [ ! -r "$1" ]; then echo "@@denied $1"; else echo "@@file $1"; return 0; fi; return 1; }}
qdump() {{ for _f in "$@"; do qfile "$_f" && sed 's/^/|/' "$_f"; done; }}
qdumpc() {{ for _f in "$@"; do qfile "$_f" && sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' -e 's/^/|/' "$_f"; done; }}
qrun() {{ _n=$1; shift; echo "@@section $_n"; _o=$("$@" 2>&1); _r=$?; [ -n "$_o" ] && printf '%s\n' "$_o" | sed 's/^/|/'; echo "@@rc $_r"; }}
qmtimes() {{ for _f in "$@"; do [ -e "$_f" ] && printf '|%s %s\n' "$(stat -c %Y "$_f" 2>/dev/null || date -r "$_f" +%s)" "$_f"; done; return 0; }}
if [ -n "${{RS_TAG:-}}" ]; then printf '@@tag %s\n' "$RS_TAG"; fi
"""


def masked_dump(name: str, redact: str) -> str:
    """A shell function `name FILE`: the file as a raw frame, cut at 128 KiB and put through the
    daemon's own `redact` command (a configuration language needs its own masking), or
    @@denied."""
    return f"""{name}() {{
  if [ -r "$1" ]; then
    printf '\\n@@file %s %s\\n' "$(mtime "$1")" "$1"
    head -c 131072 "$1" | {redact}
    printf '\\n@@end%s\\n' "${{RS_TAG:+ $RS_TAG}}"
  else
    printf '\\n@@denied %s\\n' "$1"
  fi
}}
"""


def shell(body: str) -> str:
    """A probe script that says who ran it, then runs its own fixed body. Each command's exit
    status is in its own frame, so the script itself ends 0 once it has run to the end."""
    return PRELUDE + "printf '@@uid %s\\n' \"$(id -u 2>/dev/null)\"\n" + body + "exit 0\n"


# -- the reader ----------------------------------------------------------------------------------


@dataclass
class FileFrame:
    path: str
    mtime: int | None  # None: unknown, and always for a quoted file
    lines: list[str] = field(default_factory=list)
    complete: bool = True  # False: a raw frame cut off (output cap, timeout) before its @@end

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class CommandFrame:
    name: str
    lines: list[str] = field(default_factory=list)
    rc: int | None = None  # None: cut off before the tool finished

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class Marker:
    kind: str
    arg: str  # for a file its path, for a command its name


@dataclass(frozen=True)
class FileStat:
    """A file's `stat` frame: what each probe turns into its own fact."""

    path: str
    mtime: int  # epoch seconds
    size: int  # bytes


@dataclass
class Frames:
    """A probe's output cut back into its frames (pure)."""

    uid: int | None = None
    # A path printed twice is the same file read twice, unless the output cap cut a later path
    # short; which copy counts is each form's rule as its parsers have always read it: the first
    # raw frame, the last quoted block.
    files: dict[str, FileFrame] = field(default_factory=dict)
    commands: dict[str, CommandFrame] = field(default_factory=dict)  # the last frame of each name
    denied: list[str] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    values: dict[str, list[str]] = field(default_factory=dict)
    stats: list[FileStat] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)  # every marker but the closing ones, in order
    stray: list[str] = field(default_factory=list)  # lines outside frames that are not markers: unexpected
    truncated: bool = False  # a raw frame was still open at the end

    @property
    def as_root(self) -> bool:
        return self.uid == 0

    def value(self, key: str) -> str | None:
        found = self.values.get(key)
        return found[0] if found else None

    def args(self, kind: str) -> tuple[str, ...]:
        """The argument of every `@@kind` marker, in output order."""
        return tuple(m.arg for m in self.markers if m.kind == kind)

    def first(self, kind: str, arg: str | None = None) -> Marker | None:
        return next((m for m in self.markers if m.kind == kind and (arg is None or m.arg == arg)), None)

    def section(self, name: str) -> CommandFrame | None:
        """The command frame NAME (`@@section` in quoted output, `@@cmd` in raw)."""
        return self.commands.get(name)


_MARKER = re.compile(r"^@@([a-z_]+)(?: (.*))?$")
# `@@file MTIME PATH` opens a raw frame, also when the output was cut off inside that line. A
# quoted `@@file PATH` never has an empty first word, a number or `-` (its paths are absolute,
# or single words out of sudoers).
_RAW_FILE = re.compile(r"^(\d*|-)(?: (.*))?$")


class _Reader:
    def __init__(self) -> None:
        self.frames = Frames()
        self.tag: str | None = None  # the closing markers' nonce, once `@@tag` announced it
        self.raw: FileFrame | CommandFrame | None = None  # the raw frame being read
        self.quoted: list[str] | None = None  # where `|` lines go: the lines of the open quoted block
        self.last_section: CommandFrame | None = None  # what a quoted `@@rc STATUS` closes

    def raw_line(self, line: str) -> None:
        m = _MARKER.match(line)
        kind, rest = (m.group(1), m.group(2) or "") if m else (None, "")
        if isinstance(self.raw, FileFrame):
            closed = kind == "end" and (self.tag is None or rest == self.tag)
        else:
            words = rest.split(" ")
            closed = kind == "rc" and words[0] == self.raw.name and (
                self.tag is None or (len(words) == 3 and words[2] == self.tag))
            if closed:
                self.raw.rc = as_int(words[1] if self.tag else words[-1], signed=False)
        if not closed:
            self.raw.lines.append(line)
            return
        if self.raw.lines and self.raw.lines[-1] == "":
            self.raw.lines.pop()  # the frame printers add one newline before the closing marker
        if isinstance(self.raw, FileFrame):
            self.raw.complete = True
        self.raw = None

    def line(self, line: str) -> None:
        f = self.frames
        if line.startswith("|"):
            if self.quoted is not None:
                self.quoted.append(line[1:])
            elif not f.markers:
                f.stray.append(line)
            # else: data after a marker that carries none; nothing reads it
            return
        m = _MARKER.match(line)
        if m is None:
            if line.strip():
                f.stray.append(line)
            return
        kind, rest = m.group(1), m.group(2) or ""
        arg = rest.strip()
        if kind == "tag":
            # Only as the very first marker: the prelude prints it before any target text.
            if not f.markers and self.tag is None and arg:
                self.tag = arg
            return
        if kind == "end":
            return  # a raw frame's end with no frame open
        if kind == "rc":
            # a quoted command's status; a raw `@@rc NAME STATUS` outside its frame says nothing
            status = as_int(arg, signed=False)
            if self.last_section is not None and status is not None:
                self.last_section.rc = status
            return
        self.quoted = None
        if kind == "file":
            raw = _RAW_FILE.match(rest)
            path = (raw.group(2) or "") if raw else arg
            frame = FileFrame(path, as_int(raw.group(1), signed=False) if raw else None)
            if raw:
                f.files.setdefault(path, frame)
                frame.complete, self.raw = False, frame
            else:
                f.files[path] = frame
                self.quoted = frame.lines
            arg = path
        elif kind in ("cmd", "section"):
            frame = f.commands[arg] = CommandFrame(arg)
            if kind == "cmd":
                self.raw = frame
            else:
                self.quoted, self.last_section = frame.lines, frame
        elif kind == "uid":
            f.uid = as_int(rest, signed=False)
        elif kind == "denied":
            f.denied.append(arg)
        elif kind == "missing":
            f.missing.add(arg)
        elif kind == "stat":
            parts = rest.split(" ", 2)
            if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
                f.stats.append(FileStat(path=parts[2], mtime=int(parts[0]), size=int(parts[1])))
        elif kind == "kv":
            key, _, value = rest.partition(" ")
            f.values.setdefault(key, []).append(value)
        elif kind != "nofile":
            f.values.setdefault(kind, []).append(arg)
        f.markers.append(Marker(kind, arg))

    def finish(self) -> Frames:
        if self.raw is not None:  # cut off by the output cap or the timeout
            self.frames.truncated = True
        return self.frames


def split_frames(text: str) -> Frames:
    """Cut a probe's output into frames (pure). Never raises on odd input.

    Lines are split on newlines only: a vertical tab, form feed, lone CR or U+2028 inside a data
    line must not start a line of its own, which could then forge a marker. A raw frame's text
    stays as the host had it; a quoted line of a CRLF file loses its CR."""
    reader = _Reader()
    for segment in text.split("\n"):
        if reader.raw is not None:
            reader.raw_line(segment)
        else:
            reader.line(segment.removesuffix("\r"))
    return reader.finish()


# -- small helpers parsers share -----------------------------------------------------------------


def cap(text: str, limit: int = MAX_TEXT) -> str:
    """One statement as evidence: blanks folded, cut with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cap_lines(lines: list[str] | tuple[str, ...], limit: int = MAX_UNPARSED) -> tuple[str, ...]:
    """Untrusted text kept as evidence: few lines, each capped."""
    return tuple(line[:MAX_KEPT_LINE] for line in list(lines)[:limit])


def as_int(text: str | None, *, signed: bool = True) -> int | None:
    """The integer `text` holds (blanks around it allowed), else None. `signed=False` takes only
    a plain run of digits: a count, a time or a size that cannot be negative."""
    if text is None:
        return None
    text = str(text).strip()
    if not signed and not text.isdigit():
        return None
    try:
        return int(text)
    except ValueError:
        return None


def yes_no(value: str | None) -> bool | None:
    """A systemd-style boolean; None when absent or not one."""
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("yes", "true", "on", "1"):
        return True
    if v in ("no", "false", "off", "0"):
        return False
    return None


PERMISSION_RE = re.compile(r"permission denied|operation not permitted|must be root|you need to be root|"
                           r"not authorized|authorization failed|access denied|are you root", re.I)


def permission_refused(output: str) -> bool:
    """Whether a tool's output says it was refused for want of privilege."""
    return bool(PERMISSION_RE.search(output))


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
