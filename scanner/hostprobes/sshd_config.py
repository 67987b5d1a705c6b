"""The SSH daemon's configuration: sshd's own effective view (`sshd -T`) where it will give it,
and the configuration files read the way sshd reads them.

`sshd -T` needs root on most systems (it loads the host keys) and a privilege-separation
directory; when it refuses, the parser falls back to the files and fills OpenSSH's defaults for
keywords no file sets, marking them as defaults. The files are always read as well: `sshd -T`
prints only the global configuration, and the `Match` blocks (conditional settings) come from
the files.

Limits of the file reading, said once here: the probe starts from /etc/ssh/sshd_config (or the
vendor file /usr/etc/ssh/sshd_config when that is absent, as on recent openSUSE) and follows
`Include` lines to a depth of 16; it does not see options passed on sshd's command line (RHEL 8
passes its crypto policy that way, through $CRYPTO_POLICY in the systemd unit) or a `-f` file
named in a unit file; quoted Include paths containing spaces are not followed.
"""

from __future__ import annotations

import fnmatch
import re
import shlex

from scanner.facts.sshd_config import SshdConfig, SshMatchBlock, SshSetting
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import PRELUDE, CommandFrame, cap_lines, split_frames

# walk FILE DEPTH: print FILE, then every file its Include lines name (globs expanded by the
# shell, relative paths under /etc/ssh, as sshd resolves them), depth first, to a depth of 16.
WALK_SH = PRELUDE + r"""
walk() {
  if [ "$2" -gt 16 ]; then echo "@@toodeep $1"; return 0; fi
  qfile "$1" || return 0
  sed 's/^/|/' "$1"
  sed -n 's/^[[:space:]]*[Ii][Nn][Cc][Ll][Uu][Dd][Ee][[:space:]=][[:space:]=]*//p' "$1" | while read -r pats; do
    for p in $pats; do
      case "$p" in /*) ;; *) p="/etc/ssh/$p" ;; esac
      for f in $p; do walk "$f" $(($2 + 1)); done
    done
  done
}
"""

SSHD_SH = WALK_SH + r"""
SSHD=''
for c in sshd /usr/sbin/sshd /usr/local/sbin/sshd; do
  if have "$c"; then SSHD=$(command -v "$c"); break; fi
done
if [ -n "$SSHD" ]; then
  echo "@@sshd $SSHD"
  qrun version "$SSHD" -V
  qrun test "$SSHD" -T
else
  echo "@@missing sshd"
fi
MAIN=/etc/ssh/sshd_config
[ ! -e "$MAIN" ] && [ -e /usr/etc/ssh/sshd_config ] && MAIN=/usr/etc/ssh/sshd_config
echo "@@main $MAIN"
walk "$MAIN" 0
"""

# Keywords whose lines add up instead of the first one winning (sshd_config(5)).
LIST_KEYWORDS = frozenset({"allowusers", "allowgroups", "denyusers", "denygroups", "acceptenv", "listenaddress",
                           "port", "hostkey", "hostcertificate", "subsystem", "setenv"})
# ChallengeResponseAuthentication became an alias of KbdInteractiveAuthentication in 8.7.
ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication"}
KEYWORD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*)$")
VERSION_RE = re.compile(r"OpenSSH_(\d+)\.(\d+)(p\d+)?")


def openssh_defaults(version: tuple[int, int] | None) -> dict[str, str]:
    """OpenSSH's compiled-in defaults for the keywords our checks judge (sshd_config(5) of the
    version; PermitRootLogin was `yes` before 7.0). Unknown version: today's defaults."""
    modern = version is None or version >= (7, 0)
    return {
        "permitrootlogin": "prohibit-password" if modern else "yes",
        "passwordauthentication": "yes",
        "permitemptypasswords": "no",
        "kbdinteractiveauthentication": "yes",
        "usepam": "no",
        "maxauthtries": "6",
        "clientaliveinterval": "0",
        "clientalivecountmax": "3",
        "pubkeyauthentication": "yes",
    }


def split_line(line: str) -> tuple[str, list[str]] | None:
    """`Keyword value...` or `Keyword=value`, quotes honoured, a word starting with # ends it.
    None for a line sshd would reject (no argument, unbalanced quotes)."""
    m = KEYWORD_RE.match(line.strip())
    if not m:
        return None
    lexer = shlex.shlex(m.group(2), posix=True)
    lexer.whitespace_split, lexer.commenters = True, "#"
    try:
        args = list(lexer)
    except ValueError:
        return None
    return (m.group(1).lower(), args) if args else None


def _glob_match(pattern: str, path: str) -> bool:
    # glob(3) semantics: `*` does not cross `/`, so match component by component.
    pp, ps = pattern.split("/"), path.split("/")
    return len(pp) == len(ps) and all(fnmatch.fnmatchcase(s, p) for p, s in zip(pp, ps, strict=True))


class _Reader:
    """Walks the files the probe printed, the way sshd's parser does."""

    def __init__(self, files: dict[str, list[str]], known: set[str]):
        self.files, self.known = files, known
        self.configured: dict[str, SshSetting] = {}
        self.blocks: list[dict] = []
        self.unparsed: list[str] = []

    def read(self, path: str, block: dict | None = None, depth: int = 0) -> None:
        if path not in self.files or depth > 16:
            return
        for number, raw in enumerate(self.files[path], 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parsed = split_line(line)
            where = f"{path}:{number}"
            if parsed is None:
                self.unparsed.append(f"{where}: {raw}")
                continue
            keyword, args = parsed
            if keyword == "include":
                for pattern in args:
                    full = pattern if pattern.startswith("/") else "/etc/ssh/" + pattern
                    for match in sorted(p for p in self.known if _glob_match(full, p)):
                        self.read(match, block, depth + 1)
                continue  # an included file's Match blocks end with it; ours go on (as in sshd)
            if keyword == "match":
                block = {"criteria": " ".join(args), "location": where, "settings": {}}
                self.blocks.append(block)
                continue
            keyword = ALIASES.get(keyword, keyword)
            target = block["settings"] if block is not None else self.configured
            setting = SshSetting(values=(" ".join(args),), source="file", location=where)
            if keyword not in target:
                target[keyword] = setting
            elif keyword in LIST_KEYWORDS:
                old = target[keyword]
                target[keyword] = old.model_copy(update={"values": old.values + setting.values})


def _from_sshd_t(block: CommandFrame) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in block.lines:
        keyword, _, value = line.strip().partition(" ")
        if keyword and keyword.isalnum():
            out.setdefault(ALIASES.get(keyword.lower(), keyword.lower()), []).append(value.strip())
    return out


def _sshd_t_usable(block: CommandFrame | None) -> tuple[dict[str, list[str]] | None, str | None]:
    if block is None:
        return None, "sshd -T not run"
    values = _from_sshd_t(block) if block.rc == 0 else {}
    # A real dump always has these; anything else is an error message, kept as the reason.
    if block.rc == 0 and {"port", "permitrootlogin"} <= set(values):
        return values, None
    reason = " ".join(line.strip() for line in block.lines[:3])[:300] or "no output"
    return None, f"{reason} (exit {block.rc})"


def parse_sshd_config(text: str) -> SshdConfig:
    frames = split_frames(text)
    binary = frames.value("sshd")
    version_block = frames.commands.get("version")
    version_text = "\n".join(version_block.lines) if version_block else ""
    vm = VERSION_RE.search(version_text)
    version = (int(vm.group(1)), int(vm.group(2))) if vm else None
    files = {path: frame.lines for path, frame in frames.files.items()}
    known = set(files) | set(frames.denied) | set(frames.args("nofile"))
    main = frames.value("main")
    reader = _Reader(files, known)
    if main:
        reader.read(main)
    dump, sshd_t_error = _sshd_t_usable(frames.commands.get("test"))
    if dump is not None:
        settings = {k: SshSetting(values=tuple(v), source="sshd -T",
                                  location=reader.configured[k].location if k in reader.configured else None)
                    for k, v in dump.items()}
        source = "sshd -T"
    elif main and main in files:
        settings = dict(reader.configured)
        for keyword, value in openssh_defaults(version).items():
            settings.setdefault(keyword, SshSetting(values=(value,), source="default"))
        source = "files"
    else:
        settings, source = {}, "none"
    installed = True if binary else (False if frames.missing else None)
    return SshdConfig(
        installed=installed, binary=binary, version=vm.group(0) if vm else None, effective_source=source,
        sshd_t_error=sshd_t_error if binary else None, settings=settings, configured=reader.configured,
        match_blocks=tuple(SshMatchBlock(**b) for b in reader.blocks), main_file=main,
        files_read=tuple(files), files_denied=tuple(frames.denied), files_missing=frames.args("nofile"),
        unparsed_lines=cap_lines(reader.unparsed + frames.stray))


PROBES = [
    Probe("sshd_config", SSHD_SH, parse_sshd_config, root=True),
]
