"""Capacity and listener probes: filesystems (`df -P -k`, POSIX output), CPU and memory from
/proc, and listening sockets from `ss`, else `netstat`, else /proc/net (process names need
root in all three)."""

from __future__ import annotations

import ipaddress
import re

from scanner.facts.capacity import Disks, Filesystem, Hardware, Listener, Listeners
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import MAX_UNPARSED, cap, shell, split_frames

# Filesystems that hold no data an inspector counts as storage (kernel, memory, images).
PSEUDO_FS = {"tmpfs", "devtmpfs", "proc", "sysfs", "devpts", "cgroup", "cgroup2", "overlay", "squashfs",
             "securityfs", "debugfs", "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl",
             "autofs", "binfmt_misc", "efivarfs", "ramfs", "nsfs", "rpc_pipefs", "nfsd", "fuse.lxcfs",
             "fuse.gvfsd-fuse", "fuse.portal", "selinuxfs", "shm", "iso9660", "udf", "zram"}

DISKS_SCRIPT = shell("""\
run df df -P -k
run mounts cat /proc/mounts
""")


def parse_disks(text: str) -> Disks:
    frames = split_frames(text)
    df = frames.commands.get("df")
    mounts = frames.commands.get("mounts")
    types: dict[str, str] = {}
    if mounts and mounts.ok:
        for line in mounts.output.split("\n"):
            parts = line.split()
            if len(parts) >= 3:
                types[_unescape(parts[1])] = parts[2]
    items: list[Filesystem] = []
    junk: list[str] = []
    if df is not None:
        for line in df.output.split("\n"):
            if not line.strip() or line.startswith("Filesystem"):
                continue
            m = re.match(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(/.*)$", line)
            if not m:
                junk.append(cap(line, 160))  # "df: /run/user/1000/doc: Permission denied", etc.
                continue
            mount = m.group(6)
            fstype = types.get(mount)
            pseudo = fstype in PSEUDO_FS and not (mount == "/" and fstype == "overlay")
            items.append(Filesystem(device=m.group(1), mount=mount, fstype=fstype, total_kb=int(m.group(2)),
                                    used_kb=int(m.group(3)), available_kb=int(m.group(4)),
                                    used_percent=int(m.group(5)), pseudo=pseudo or int(m.group(2)) == 0))
    return Disks(items=tuple(items), df_missing="df" in frames.missing, unparsed=tuple(junk[:MAX_UNPARSED]))


def _unescape(path: str) -> str:
    # /proc/mounts escapes blanks as \040
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


HARDWARE_SCRIPT = shell("""\
printf '@@kv cpus %s\\n' "$(grep -c '^processor' /proc/cpuinfo 2>/dev/null)"
printf '@@kv online %s\\n' "$(getconf _NPROCESSORS_ONLN 2>/dev/null)"
printf '@@kv model %s\\n' "$(grep -m 1 -E '^(model name|Hardware|cpu model|uarch|Processor)[[:space:]]*:' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | cut -c1-200)"
run meminfo head -n 30 /proc/meminfo
""")


def parse_hardware(text: str) -> Hardware:
    frames = split_frames(text)
    cpus = frames.value("online") or frames.value("cpus") or ""
    mem: dict[str, int] = {}
    meminfo = frames.commands.get("meminfo")
    if meminfo and meminfo.ok:
        for line in meminfo.output.split("\n"):
            m = re.match(r"^(\w+):\s+(\d+)\s*kB", line)
            if m:
                mem[m.group(1)] = int(m.group(2))
    return Hardware(cpu_count=int(cpus) if cpus.strip().isdigit() and int(cpus) > 0 else None,
                    cpu_model=(frames.value("model") or "").strip() or None,
                    mem_total_kb=mem.get("MemTotal"), mem_available_kb=mem.get("MemAvailable"),
                    swap_total_kb=mem.get("SwapTotal"))


LISTENERS_SCRIPT = shell("""\
if command -v ss >/dev/null 2>&1 && ss -tuln >/dev/null 2>&1; then
  run ss ss -tulnp
elif command -v netstat >/dev/null 2>&1; then
  run netstat netstat -tulnp
else
  for t in tcp tcp6 udp udp6; do [ -r /proc/net/$t ] && run proc_$t cat /proc/net/$t; done
fi
""")
_SS_USER = re.compile(r'\("([^"]*)",pid=(\d+)')


def split_endpoint(text: str) -> tuple[str, int, str | None] | None:
    """'0.0.0.0:22', '[::]:22', ':::22', '*:22', '127.0.0.53%lo:53', '[fe80::1]%eth0:546'."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    iface = None
    if "%" in host:
        host, _, iface = host.partition("%")
    host = host.strip("[]")
    if host == "":
        host = "::"  # old ss and netstat print ':::22' for the IPv6 wildcard
    return host, int(port), iface or None


def parse_ss(text: str) -> tuple[list[Listener], list[str]]:
    items, junk = [], []
    for line in text.split("\n"):
        parts = line.split()
        if not parts or parts[0] in ("Netid", "State"):
            continue
        proto = parts[0] if parts[0] in ("tcp", "udp") else None
        if proto is None:
            junk.append(cap(line, 160))
            continue
        endpoint = split_endpoint(parts[4]) if len(parts) > 4 else None
        if endpoint is None or parts[1] not in ("LISTEN", "UNCONN"):
            junk.append(cap(line, 160))
            continue
        users = _SS_USER.search(line)
        items.append(Listener(proto=proto, address=endpoint[0], port=endpoint[1], interface=endpoint[2],
                              process=users.group(1)[:64] if users else None,
                              pid=int(users.group(2)) if users else None))
    return items, junk


def parse_netstat(text: str) -> tuple[list[Listener], list[str]]:
    items, junk = [], []
    for line in text.split("\n"):
        parts = line.split()
        if not parts or not re.match(r"^(tcp|udp)6?$", parts[0]):
            if parts and not line.startswith(("Active", "Proto", "(")):
                junk.append(cap(line, 160))
            continue
        endpoint = split_endpoint(parts[3]) if len(parts) > 3 else None
        if endpoint is None:
            junk.append(cap(line, 160))
            continue
        proto = parts[0][:3]
        if proto == "tcp" and (len(parts) < 6 or parts[5] != "LISTEN"):
            continue
        prog = parts[6] if proto == "tcp" and len(parts) > 6 else (parts[5] if proto == "udp" and len(parts) > 5 else "-")
        pid, _, name = prog.partition("/")
        items.append(Listener(proto=proto, address=endpoint[0], port=endpoint[1], interface=endpoint[2],
                              process=name.rstrip(":")[:64] or None if pid.isdigit() else None,
                              pid=int(pid) if pid.isdigit() else None))
    return items, junk


def _proc_address(hexaddr: str) -> str:
    raw = bytes.fromhex(hexaddr)
    # /proc/net prints each 32-bit word in host (little-endian) order
    swapped = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(swapped))


def parse_proc_net(text: str, proto: str) -> tuple[list[Listener], list[str]]:
    items, junk = [], []
    for line in text.split("\n")[1:]:
        parts = line.split()
        if len(parts) < 4:
            continue
        try:
            host_hex, port_hex = parts[1].split(":")
            state = parts[3]
            if (proto == "tcp" and state != "0A") or (proto == "udp" and state != "07"):
                continue
            items.append(Listener(proto=proto, address=_proc_address(host_hex), port=int(port_hex, 16)))
        except ValueError:
            junk.append(cap(line, 160))
    return items, junk


def parse_listeners(text: str) -> Listeners:
    frames = split_frames(text)
    items: list[Listener] = []
    junk: list[str] = []
    source = None
    if "ss" in frames.commands:
        source = "ss"
        items, junk = parse_ss(frames.commands["ss"].output)
    elif "netstat" in frames.commands:
        source = "netstat"
        items, junk = parse_netstat(frames.commands["netstat"].output)
    else:
        for name, cmd in frames.commands.items():
            if name.startswith("proc_"):
                source = "proc"
                found, bad = parse_proc_net(cmd.output, name[5:8])
                items += found
                junk += bad
    unique = list(dict.fromkeys(items))
    visible = source != "proc" and frames.as_root
    return Listeners(source=source, as_root=frames.as_root, items=tuple(unique), processes_visible=visible,
                     unparsed=tuple(junk[:MAX_UNPARSED]))


PROBES = [
    Probe("disks", DISKS_SCRIPT, parse_disks),
    Probe("hardware", HARDWARE_SCRIPT, parse_hardware),
    Probe("listeners", LISTENERS_SCRIPT, parse_listeners, root=True),
]
