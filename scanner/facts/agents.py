"""Facts about what runs on a host and which security agents are installed (host collector).

Processes are read from `ps` or /proc, so they work on hosts without systemd (containers, the
lab's namespaces). Command lines are cut down *on the host* to the program path and the name
of its first argument: arguments can carry passwords and must not reach a scan file.
"""

from __future__ import annotations

import fnmatch
import posixpath
from typing import ClassVar

from scanner.facts.host import HostFact
from scanner.model import Frozen


class Process(Frozen):
    pid: int
    uid: int | None = None
    name: str  # the kernel's comm (15 characters at most)
    exe: str | None = None  # argv[0] as started (a path or a name), never the other arguments
    arg: str | None = None  # base name of argv[1] when it is a plain path (interpreted scripts)

    def names(self) -> set[str]:
        """Every name this process can be recognised by."""
        out = {self.name}
        if self.exe:
            out.add(posixpath.basename(self.exe).rstrip(":"))
        if self.arg:
            out.add(self.arg)
        return {n for n in out if n}


class Processes(HostFact):
    PART: ClassVar[str] = "processes"
    as_root: bool = False
    source: str | None = None  # ps | proc
    items: tuple[Process, ...] = ()
    hidepid: bool = False  # /proc mounted with hidepid: other users' processes are hidden
    init: str | None = None  # comm of PID 1 (systemd, init, tini, ...)
    enabled_units: tuple[str, ...] = ()  # systemd units enabled in /etc/systemd/system/*.wants
    truncated: bool = False

    @property
    def complete(self) -> bool:
        """Whether every process on the host was visible (not hidden by hidepid)."""
        return self.as_root or not self.hidepid

    def matching(self, names: list[str] | tuple[str, ...], prefixes: list[str] | tuple[str, ...] = ()) -> list[Process]:
        """Processes known by one of `names` (globs allowed) or started from under one of
        `prefixes`. The kernel cuts comm to 15 characters, so a longer name also matches on its
        first 15, unless the program's own name says it is another program that shares them
        (systemd-journald's comm is "systemd-journal", as systemd-journal-upload's is)."""
        wanted = set(names)
        cut = {n[:15] for n in names if "*" not in n and len(n) > 15}
        out = []
        for proc in self.items:
            known = proc.names()
            program = posixpath.basename(proc.exe or "")
            if (known & wanted or any(fnmatch.fnmatchcase(k, w) for k in known for w in wanted if "*" in w)
                    or (proc.name in cut and not program.startswith(proc.name))
                    or (proc.exe and any(proc.exe.startswith(p) for p in prefixes))):
                out.append(proc)
        return out


class SignatureFile(Frozen):
    path: str
    mtime: int
    size: int
    header: str | None = None  # ClamAV .cvd/.cld: the "ClamAV-VDB:..." header line


class AgentFiles(HostFact):
    PART: ClassVar[str] = "agent_files"
    as_root: bool = False
    present: tuple[str, ...] = ()  # install paths (from a fixed list) that exist
    signatures: tuple[SignatureFile, ...] = ()
    now: int | None = None  # the host's clock
    denied: tuple[str, ...] = ()

    def has(self, patterns: list[str] | tuple[str, ...]) -> list[str]:
        return [p for p in self.present if any(p == pat or fnmatch.fnmatchcase(p, pat) for pat in patterns)]
