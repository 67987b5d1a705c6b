"""Accounts, password policy, lockout and sudo: /etc/passwd and /etc/shadow (classified on the
host, no hash leaves it), /etc/login.defs, pwquality, the PAM stacks, faillock, sudoers.

/etc/shadow and sudoers need root; without it the parser records `permission_denied` and, for
sudo, falls back to `sudo -n -l` (what the scanning user itself may run). Read limits: sudoers
includes are followed one level from /etc/sudoers (`@includedir`/`#includedir`, skipping files
sudo skips: names with a dot or ending in ~); PAM files are read as named below, their
`@include`/`include` lines are recorded but not expanded beyond the files the probe prints.
"""

from __future__ import annotations

import re

from scanner.facts.accounts import Account, Accounts, PamEntry, SudoDefault, SudoFacts, SudoRule
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import PRELUDE, Frames, Marker, as_int, cap_lines, split_frames

PAM_FILES = ("/etc/pam.d/common-password", "/etc/pam.d/common-auth", "/etc/pam.d/system-auth",
             "/etc/pam.d/password-auth", "/etc/pam.d/sshd", "/etc/pam.d/login")

ACCOUNTS_SH = PRELUDE + r"""
echo "@@uid $(id -u)"
pwclass() { awk -F: '{ p = $2
  if (p == "") c = "empty"; else if (p == "x") c = "shadow"; else if (p ~ /^[!*]/) c = "locked"; else c = "hash"
  print $1 ":" c ":" $3 ":" $4 ":" $6 ":" $7 }' /etc/passwd; }
shclass() { awk -F: '{ p = $2
  if (p == "") c = "empty"
  else if (p ~ /^[!*]+$/) c = "locked"
  else if (p ~ /^[!*]/) c = "locked_hash"
  else if (p ~ /^\$/) { split(p, a, "$"); c = "hash_" a[2] }
  else if (length(p) == 13) c = "hash_des"
  else c = "other"
  print $1 ":" c ":" $3 ":" $4 ":" $5 ":" $6 ":" $7 ":" $8 }' /etc/shadow; }
if [ -r /etc/passwd ]; then qrun passwd pwclass; else qfile /etc/passwd; fi
if [ -r /etc/shadow ]; then qrun shadow shclass; else qfile /etc/shadow; fi
qdumpc /etc/login.defs /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf /etc/security/faillock.conf
qdumpc """ + " ".join(PAM_FILES) + r"""
if have sudo; then echo "@@sudo_installed yes"; else echo "@@missing sudo"; fi
qdump /etc/sudoers
if [ -r /etc/sudoers ]; then
  for inc in $(sed -n 's/^[[:space:]]*[#@]includedir[[:space:]][[:space:]]*//p' /etc/sudoers); do
    if [ -d "$inc" ] && [ ! -r "$inc" ]; then echo "@@denied $inc"; continue; fi
    for f in "$inc"/*; do
      case "${f##*/}" in *~|*.*) continue ;; esac
      [ -f "$f" ] && qdump "$f"
    done
  done
  for inc in $(sed -n 's/^[[:space:]]*[#@]include[[:space:]][[:space:]]*//p' /etc/sudoers); do qdump "$inc"; done
fi
if [ "$(id -u)" != 0 ] && have sudo; then qrun sudo_list sudo -n -l; fi
"""

SUDO_TAGS = {"NOPASSWD", "PASSWD", "NOEXEC", "EXEC", "SETENV", "NOSETENV", "LOG_INPUT", "NOLOG_INPUT",
             "LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL", "NOMAIL", "FOLLOW", "NOFOLLOW", "INTERCEPT", "NOINTERCEPT"}
ALIAS_RE = re.compile(r"^(User_Alias|Runas_Alias|Host_Alias|Cmnd_Alias|Cmd_Alias)\s+(.*)$")
DEFAULTS_RE = re.compile(r"^Defaults([:@!>]\S+)?\s+(.*)$")
TAG_RE = re.compile(r"^([A-Z_]+):\s*")
OPTION_RE = re.compile(r"^(CWD|CHROOT|ROLE|TYPE|TIMEOUT|NOTBEFORE|NOTAFTER|APPARMOR_PROFILE)=\S+\s+")


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split on `sep` outside parentheses and double quotes."""
    parts, depth, quoted, cur, escaped = [], 0, False, "", False
    for ch in text:
        if escaped:  # sudoers escapes , : = \ inside commands with a backslash
            cur, escaped = cur + ch, False
            continue
        if ch == "\\":
            cur, escaped = cur + ch, True
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth = max(depth - 1, 0)
        if ch == sep and depth == 0 and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _logical_lines(lines: list[str]) -> list[str]:
    """sudoers lines with backslash continuations joined and comments removed."""
    out, cur = [], ""
    for raw in lines:
        line = raw.rstrip()
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        line = (cur + line).strip()
        cur = ""
        # `#` starts a comment unless it is `#include` or a uid (`#1000`).
        line = re.sub(r"(^|\s)#(?!\d|include).*$", "", line).strip()
        if line and not line.startswith(("#include", "@include")):
            out.append(line)
    return out


class _Sudoers:
    def __init__(self) -> None:
        self.cmnd_aliases: dict[str, list[str]] = {}
        self.defaults: list[SudoDefault] = []
        self.rules: list[tuple[str, str, str]] = []  # (file, line, spec)
        self.unparsed: list[str] = []

    def feed(self, path: str, lines: list[str]) -> None:
        for line in _logical_lines(lines):
            if m := DEFAULTS_RE.match(line):
                for param in _split_top(m.group(2)):
                    negated = param.startswith("!")
                    name, sep, value = param.lstrip("!").partition("=")
                    name = name.rstrip("+-").strip()
                    self.defaults.append(SudoDefault(file=path, scope=m.group(1) or "", name=name,
                                                     value=value.strip().strip('"') if sep else None,
                                                     negated=negated))
            elif m := ALIAS_RE.match(line):
                for definition in re.split(r"(?<!\\):", m.group(2)):
                    name, sep, members = definition.partition("=")
                    if not sep:
                        self.unparsed.append(f"{path}: {line}")
                        break
                    if m.group(1) in ("Cmnd_Alias", "Cmd_Alias"):
                        self.cmnd_aliases[name.strip()] = _split_top(members)
            elif "=" in line:
                self.rules.append((path, line, line.partition("=")[2]))
            else:
                self.unparsed.append(f"{path}: {line}")

    def expands_to_all(self, command: str, seen: frozenset[str] = frozenset()) -> bool:
        command = command.strip()
        if command == "ALL":
            return True
        if command in self.cmnd_aliases and command not in seen:
            return any(self.expands_to_all(c, seen | {command}) for c in self.cmnd_aliases[command])
        return False

    def nopasswd_rules(self) -> list[SudoRule]:
        out = []
        for path, line, spec in self.rules:
            who = line.split()[0]
            nopasswd, runas, granted = False, None, []
            for item in _split_top(spec):
                if item.startswith("("):
                    runas, _, item = item[1:].partition(")")
                    item = item.strip()
                while True:
                    if m := TAG_RE.match(item):
                        if m.group(1) in SUDO_TAGS:
                            nopasswd = {"NOPASSWD": True, "PASSWD": False}.get(m.group(1), nopasswd)
                        item = item[m.end():]
                    elif m := OPTION_RE.match(item):
                        item = item[m.end():]
                    else:
                        break
                if nopasswd and item and not item.startswith("!"):
                    granted.append(item)
            if granted:
                out.append(SudoRule(file=path, line=line[:500], who=who, runas=runas, commands=tuple(granted),
                                    all_commands=any(self.expands_to_all(c) for c in granted)))
        return out


def parse_pam_line(path: str, line: str) -> PamEntry | None:
    tokens: list[str] = []
    for word in line.split():
        if word.startswith("#") and not (tokens and tokens[-1].startswith("[") and not tokens[-1].endswith("]")):
            break  # a comment runs to the end of the line
        if tokens and tokens[-1].startswith("[") and not tokens[-1].endswith("]"):
            tokens[-1] += " " + word
        else:
            tokens.append(word)
    if tokens and tokens[0] in ("@include",) and len(tokens) == 2:
        return PamEntry(file=path, type="@include", control="", module=tokens[1])
    if len(tokens) < 3:
        return None
    type_ = tokens[0].lstrip("-").lower()
    if type_ not in ("auth", "account", "password", "session"):
        return None
    return PamEntry(file=path, type=type_, control=tokens[1], module=tokens[2].rsplit("/", 1)[-1],
                    args=tuple(tokens[3:]))


def _key_values(lines: list[str], sep: str | None) -> dict[str, str]:
    out = {}
    for line in lines:
        if sep:
            key, has, value = line.partition(sep)
            if not has:
                key, value = line, ""
        else:
            key, value = (line.split(None, 1) + [""])[:2]
        if key.strip():
            out[key.strip()] = value.strip().strip('"')
    return out


def _state(frames: Frames, path: str, section: str | None = None) -> str:
    if section and (block := frames.commands.get(section)) is not None:
        return "ok" if block.rc == 0 else "missing" if block.rc is None else "permission_denied"
    if path in frames.files:
        return "ok"
    if path in frames.denied:
        return "permission_denied"
    if path in frames.args("nofile"):
        return "missing"
    return "not_run"


def _accounts(frames: Frames, unparsed: list[str]) -> list[Account]:
    shadow: dict[str, list[str]] = {}
    block = frames.commands.get("shadow")
    for line in block.lines if block else []:
        fields = line.split(":")
        if len(fields) == 8:
            shadow[fields[0]] = fields[1:]
        else:
            unparsed.append("shadow: " + line.split(":")[0])  # never more than the name
    out = []
    block = frames.commands.get("passwd")
    for line in block.lines if block else []:
        fields = line.split(":")
        if len(fields) != 6 or as_int(fields[2]) is None or fields[1] not in ("shadow", "empty", "locked", "hash"):
            unparsed.append("passwd: " + line[:200])
            continue
        name, passwd_field, uid, gid, home, shell = fields
        sh = shadow.get(name)
        out.append(Account(name=name, uid=int(uid), gid=as_int(gid) or 0, home=home, shell=shell,
                           passwd_field=passwd_field, password=sh[0] if sh else None,
                           last_change=as_int(sh[1]) if sh else None, min_days=as_int(sh[2]) if sh else None,
                           max_days=as_int(sh[3]) if sh else None, warn_days=as_int(sh[4]) if sh else None,
                           inactive_days=as_int(sh[5]) if sh else None, expire=as_int(sh[6]) if sh else None))
    return out


def _sudo_list(frames: Frames) -> tuple[str, tuple[str, ...]]:
    block = frames.commands.get("sudo_list")
    if block is None:
        return "not_run", ()
    text = "\n".join(block.lines)
    if "may run the following commands" in text:
        after = text.split("may run the following commands", 1)[1].splitlines()[1:]
        return "ok", cap_lines([line.strip() for line in after if line.strip()], 30)
    if "password is required" in text:
        return "password_required", ()
    if "may not run sudo" in text or "not in the sudoers file" in text or "not allowed to run sudo" in text:
        return "not_allowed", ()
    return "error", cap_lines(block.lines, 5)


def parse_accounts(text: str) -> Accounts:
    frames = split_frames(text)
    unparsed = list(frames.stray)
    accounts = _accounts(frames, unparsed)
    files = {path: frame.lines for path, frame in frames.files.items()}
    pwquality_files = [p for p in files if p.startswith("/etc/security/pwquality.conf")]
    pwquality: dict[str, str] = {}
    for path in pwquality_files:
        pwquality.update(_key_values(files[path], "="))
    pam: list[PamEntry] = []
    for path in (p for p in PAM_FILES if p in files):
        for line in files[path]:
            entry = parse_pam_line(path, line.strip())
            if entry is None:
                unparsed.append(f"{path}: {line[:200]}")
            else:
                pam.append(entry)
    sudoers = _Sudoers()
    # Everything the probe printed after its sudo marker is sudoers (the marker order is ours).
    start = next((i for i, m in enumerate(frames.markers) if m.kind == "sudo_installed"
                  or m == Marker("missing", "sudo")), len(frames.markers))
    sudo_files = [m.arg for m in frames.markers[start:] if m.kind == "file"]
    for path in sudo_files:
        sudoers.feed(path, files[path])
    unparsed += sudoers.unparsed
    list_status, list_rules = _sudo_list(frames)
    sudo = SudoFacts(
        installed=True if frames.value("sudo_installed") else (False if "sudo" in frames.missing else None),
        sudoers=_state(frames, "/etc/sudoers"), files=tuple(sudo_files),
        files_denied=tuple(p for p in frames.denied if "sudoers" in p),
        nopasswd_rules=tuple(sudoers.nopasswd_rules()), rule_count=len(sudoers.rules),
        defaults=tuple(sudoers.defaults), list_status=list_status, list_rules=list_rules)
    return Accounts(
        uid=frames.uid, passwd=_state(frames, "/etc/passwd", "passwd"),
        shadow=_state(frames, "/etc/shadow", "shadow"), accounts=tuple(accounts),
        login_defs=_key_values(files.get("/etc/login.defs", []), None),
        login_defs_state=_state(frames, "/etc/login.defs"), pwquality=pwquality,
        pwquality_files=tuple(pwquality_files),
        faillock=_key_values(files.get("/etc/security/faillock.conf", []), "="),
        pam=tuple(pam), pam_files=tuple(p for p in PAM_FILES if p in files), sudo=sudo,
        unparsed_lines=cap_lines(unparsed))


PROBES = [
    Probe("accounts", ACCOUNTS_SH, parse_accounts, root=True),
]
