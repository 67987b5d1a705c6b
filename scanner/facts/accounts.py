"""Local accounts, password policy and sudo (from the host collector's `accounts` probe).

No password hash ever reaches these facts: the probe classifies /etc/shadow's password field on
the host (empty, locked, hash scheme) and prints only the class.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import HostFact
from scanner.model import Frozen

FileState = Literal["ok", "permission_denied", "missing", "not_run"]
# empty: no password at all; locked: "!", "*", "!!"; locked_hash: "!" before a hash;
# hash_<id>: a usable hash ($6$ -> hash_6, $y$ -> hash_y, 13-char DES -> hash_des).
PasswordClass = str


class Account(Frozen):
    name: str
    uid: int
    gid: int
    home: str
    shell: str
    passwd_field: Literal["shadow", "empty", "locked", "hash"]  # the /etc/passwd field, classified
    password: PasswordClass | None = None  # from /etc/shadow; None when it was not readable
    last_change: int | None = None  # shadow fields, days since 1970 / days
    min_days: int | None = None
    max_days: int | None = None
    warn_days: int | None = None
    inactive_days: int | None = None
    expire: int | None = None

    @property
    def interactive(self) -> bool:
        return not any(self.shell.endswith(s) for s in ("nologin", "/false", "/sync", "/shutdown", "/halt")) \
            and bool(self.shell)

    @property
    def usable_password(self) -> bool:
        return (self.password or "").startswith("hash_") or self.passwd_field == "hash"


class PamEntry(Frozen):
    file: str
    type: str  # auth, account, password, session (a leading "-" removed)
    control: str
    module: str  # base name, e.g. pam_pwquality.so
    args: tuple[str, ...] = ()

    def arg(self, name: str) -> str | None:
        for a in self.args:
            key, sep, value = a.partition("=")
            if key == name:
                return value if sep else ""
        return None


class SudoRule(Frozen):
    file: str
    line: str  # the rule as written (continuations joined), capped
    who: str
    runas: str | None = None
    commands: tuple[str, ...] = ()  # the commands granted without a password
    all_commands: bool = False  # ALL, or an alias that expands to ALL


class SudoDefault(Frozen):
    file: str
    scope: str  # "" for plain Defaults, else ":user", "@host", ">runas", "!cmnd"
    name: str  # logfile, log_output, syslog, use_pty, authenticate, ...
    value: str | None = None
    negated: bool = False


class SudoFacts(Frozen):
    installed: bool | None = None
    sudoers: FileState = "not_run"
    files: tuple[str, ...] = ()  # sudoers files read
    files_denied: tuple[str, ...] = ()
    nopasswd_rules: tuple[SudoRule, ...] = ()
    rule_count: int = 0  # all rules (with or without NOPASSWD)
    defaults: tuple[SudoDefault, ...] = ()
    # `sudo -n -l` as the scanning user, the fallback when sudoers is unreadable
    list_status: Literal["ok", "password_required", "not_allowed", "error", "not_run"] = "not_run"
    list_rules: tuple[str, ...] = ()

    def default(self, name: str) -> SudoDefault | None:
        """The global (unscoped) Defaults entry for `name`, the last one winning as in sudo."""
        found = [d for d in self.defaults if d.name == name and d.scope == ""]
        return found[-1] if found else None


class Accounts(HostFact):
    PART: ClassVar[str] = "accounts"
    uid: int | None = None  # who the probe ran as
    passwd: FileState = "not_run"
    shadow: FileState = "not_run"
    accounts: tuple[Account, ...] = ()
    login_defs: dict[str, str] = {}
    login_defs_state: FileState = "not_run"
    pwquality: dict[str, str] = {}  # pwquality.conf then pwquality.conf.d/*.conf, later wins
    pwquality_files: tuple[str, ...] = ()
    faillock: dict[str, str] = {}  # /etc/security/faillock.conf
    pam: tuple[PamEntry, ...] = ()
    pam_files: tuple[str, ...] = ()  # PAM files read
    sudo: SudoFacts = SudoFacts()
    unparsed_lines: tuple[str, ...] = ()

    def pam_modules(self, module: str, type_: str | None = None) -> tuple[PamEntry, ...]:
        return tuple(e for e in self.pam if e.module == module and (type_ is None or e.type == type_))
