"""sshd settings, the drop-in way: the values go into one drop-in file read before any other
(`<dir>/sshd_config.d/00-readyscan.conf`, included at the top of the main file), each checked with
`sshd -t` before it is written; the lines that set the same keyword where sshd found it are removed,
so no earlier line wins; sshd is validated again and reloaded (SIGHUP, as systemd's ExecReload
does) once, at the end. Every path and value comes from the host's own `sshd -T` answer."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any

from scanner.model import Result

from .facts import SAFE_PATH, HostFacts, NotAutomatic
from .model import Handler, Step, Unsafe
from .reload import hup_reload

DROP_IN = "00-readyscan.conf"
RELOAD = "reload sshd"
# sshd_config(5): an older name sshd still accepts for the same setting
ALIASES = {"KbdInteractiveAuthentication": ("ChallengeResponseAuthentication",)}


class Sshd:
    """The paths a fix needs, from the sshd_config facts."""

    def __init__(self, facts: HostFacts):
        cfg = facts.part("sshd_config")
        if not cfg.get("installed") or cfg.get("effective_source") != "sshd -T":
            raise NotAutomatic("sshd_unobserved")
        self.settings: dict[str, Any] = cfg.get("settings") or {}
        self.configured: dict[str, Any] = cfg.get("configured") or {}
        self.binary = str(cfg.get("binary") or "/usr/sbin/sshd")
        self.main = str(cfg.get("main_file") or "/etc/ssh/sshd_config")
        self.dropin_dir = posixpath.join(posixpath.dirname(self.main), "sshd_config.d")
        self.dropin = posixpath.join(self.dropin_dir, DROP_IN)
        keys = (self.settings.get("hostkey") or {}).get("values") or []
        pid = (self.settings.get("pidfile") or {}).get("values") or ["/run/sshd.pid"]
        self.hostkey = str(keys[0]) if keys else None
        self.pidfile = str(pid[0])
        if not all(SAFE_PATH.fullmatch(p) for p in (self.binary, self.main, self.pidfile, self.hostkey or "/")):
            raise NotAutomatic("values_unknown")

    def validate(self, *, standalone: bool) -> str:
        """`sshd -t` on the candidate file; a file other than the main one names a host key, as
        alone it has none."""
        extra = f" -h {self.hostkey}" if standalone and self.hostkey else ""
        return f"{self.binary} -t -f %s{extra}"

    def files_setting(self, keyword: str) -> list[str]:
        """Where a keyword is set now, besides our drop-in: the files of its effective and its
        configured lines."""
        found = []
        for table in (self.settings, self.configured):
            entry = table.get(keyword.lower()) or {}
            where = entry.get("location")
            if isinstance(where, str) and where:
                path = where.rsplit(":", 1)[0]
                if not SAFE_PATH.fullmatch(path):
                    raise NotAutomatic("values_unknown")
                if path != self.dropin and path not in found:
                    found.append(path)
        return found

    def handlers(self) -> tuple[Handler, ...]:
        return hup_reload(RELOAD, "sshd", [self.binary, "-t", "-f", self.main], self.pidfile)

    def tasks(self, values: list[tuple[str, str]]) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = [
            {"name": Step("sshd_dropin_dir", path=self.dropin_dir), "ansible.builtin.file":
                {"path": Unsafe(self.dropin_dir), "state": "directory", "owner": "root", "group": "root",
                 "mode": "0755"}},
        ]
        for keyword, value in values:
            names = value.split(",")
            task: dict[str, Any] = {"name": Step("sshd_set", setting=f"{keyword} {value}" if len(names) == 1
                                                 else f"{keyword} ({len(names)})", path=self.dropin)}
            if len(names) > 1:
                # one name per line: a list of algorithms is longer than a line of YAML may be
                task["vars"] = {"readyscan_names": [Unsafe(n) for n in names]}
                line: str = f"{keyword} {{{{ readyscan_names | join(',') }}}}"
            else:
                line = Unsafe(f"{keyword} {value}")
            tasks.append(task | {"ansible.builtin.lineinfile": {
                "path": Unsafe(self.dropin), "regexp": _keyword_re(keyword), "line": line,
                "create": True, "owner": "root", "group": "root", "mode": "0600",
                "validate": Unsafe(self.validate(standalone=True))}, "notify": RELOAD})
        tasks.append({"name": Step("sshd_include", path=self.main), "ansible.builtin.lineinfile": {
            "path": Unsafe(self.main), "line": Unsafe(f"Include {self.dropin_dir}/*.conf"), "insertbefore": "BOF",
            "validate": Unsafe(self.validate(standalone=False))}, "notify": RELOAD})
        for keyword, _ in values:
            for path in self.files_setting(keyword):
                tasks.append({"name": Step("sshd_remove", keyword=keyword, path=path), "ansible.builtin.lineinfile": {
                    "path": Unsafe(path), "regexp": _keyword_re(keyword), "state": "absent",
                    "validate": Unsafe(self.validate(standalone=path != self.main))}, "notify": RELOAD})
        return tasks


def _keyword_re(keyword: str) -> str:
    names = "|".join((keyword, *ALIASES.get(keyword, ())))
    return f"(?i)^\\s*({names})\\s"


def _algorithms(r: Result) -> list[tuple[str, str]]:
    """Each list that turns on a weak algorithm, set to what sshd uses now less every weak name
    (the check's `without_weak`: with an explicit list, the defaults' weak names would be
    configured ones too)."""
    names = {"ciphers": "Ciphers", "macs": "MACs", "kexalgorithms": "KexAlgorithms"}
    out = []
    for keyword in dict.fromkeys(str(w.get("keyword")) for w in r.evidence.get("weak") or []):
        kept = (r.evidence.get(keyword) or {}).get("without_weak")
        if keyword not in names or not isinstance(kept, str) or not kept:
            raise NotAutomatic("values_unknown")
        out.append((names[keyword], kept))
    return out


def _idle(r: Result) -> list[tuple[str, str]]:
    interval, count = r.evidence.get("max_interval_seconds"), r.evidence.get("max_count")
    if not isinstance(interval, int) or not isinstance(count, int) or interval <= 0 or count <= 0:
        raise NotAutomatic("values_unknown")
    return [("ClientAliveInterval", str(interval)), ("ClientAliveCountMax", str(count))]


def _limit(r: Result) -> list[tuple[str, str]]:
    limit = r.message.params.get("limit") if r.message else None
    if not isinstance(limit, int) or limit <= 0:
        raise NotAutomatic("values_unknown")
    return [("MaxAuthTries", str(limit))]


# check id -> the sshd settings that fix its result (from the result's own values)
SETTINGS: dict[str, Callable[[Result], list[tuple[str, str]]]] = {
    "ssh.config.root_login": lambda r: [("PermitRootLogin", "no")],
    "ssh.config.password_auth": lambda r: [("PasswordAuthentication", "no"), ("KbdInteractiveAuthentication", "no")],
    "ssh.config.empty_passwords": lambda r: [("PermitEmptyPasswords", "no")],
    "ssh.config.max_auth_tries": _limit,
    "ssh.config.idle_timeout": _idle,
    "ssh.config.algorithms": _algorithms,
}
_SAFE_VALUE = re.compile(r"[A-Za-z0-9@.,+_-]+")


def sshd_fix(r: Result, facts: HostFacts) -> tuple[list[dict[str, Any]], tuple[Handler, ...]]:
    if r.message is not None and r.message.key == "match_override":
        raise NotAutomatic("match_block")
    values = SETTINGS[r.check_id](r)
    if not all(_SAFE_VALUE.fullmatch(v) for _, v in values):
        raise NotAutomatic("values_unknown")
    sshd = Sshd(facts)
    return sshd.tasks(values), sshd.handlers()
