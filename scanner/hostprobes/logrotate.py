"""logrotate: its configuration read the way logrotate reads it (includes, global defaults,
stanzas, scripts skipped), and the age and size of the system's log files and their rotated
copies."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field

from scanner.facts.logging import LogFileStat, Logrotate, RotatePolicy, RotateStanza
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import MAX_UNPARSED, Frames, as_int, cap, expand, shell, split_frames

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
    return Logrotate(present=LOGROTATE_MAIN in frames.files, binary=frames.value("binary"),
                     files=tuple(state.read), denied=tuple(frames.denied),
                     unresolved_includes=tuple(state.missing), stanzas=tuple(state.stanzas),
                     defaults=RotatePolicy(source="defaults", **state.defaults),
                     logs=tuple(LogFileStat(path=f.path, mtime=f.mtime, size=f.size) for f in frames.stats), now=as_int(frames.value("now"), signed=False),
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


PROBES = [Probe("logrotate", LOGROTATE_SCRIPT, parse_logrotate, root=True)]
