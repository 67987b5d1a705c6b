"""OS identity probes."""

from __future__ import annotations

from scanner.facts.system import Kernel, OsRelease
from scanner.hostprobes import Probe, parse_key_values


def parse_os_release(text: str) -> OsRelease:
    kv = parse_key_values(text)
    return OsRelease(id=kv.get("ID", "").lower() or None, id_like=tuple(kv.get("ID_LIKE", "").split()),
                     version_id=kv.get("VERSION_ID") or None, pretty_name=kv.get("PRETTY_NAME") or None,
                     version_codename=kv.get("VERSION_CODENAME") or None)


def parse_kernel(text: str) -> Kernel:
    lines = [line.strip() for line in text.splitlines()]
    lines += [""] * (4 - len(lines))
    try:
        uptime = float(lines[3].split()[0]) if lines[3] else None
    except ValueError:
        uptime = None
    return Kernel(release=lines[0] or None, machine=lines[1] or None, hostname=lines[2] or None,
                  uptime_seconds=uptime)


PROBES = [
    Probe("os_release", "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release", parse_os_release),
    Probe("kernel", "uname -r; uname -m; uname -n; cat /proc/uptime", parse_kernel),
]
