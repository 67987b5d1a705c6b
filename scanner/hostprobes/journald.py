"""systemd-journald: its configuration (main file and drop-ins, in systemd's order), whether the
journal is persistent, its size on disk and the age of its oldest entry."""

from __future__ import annotations

import posixpath
import re

from scanner.facts.logging import Journald
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import MAX_UNPARSED, as_int, cap, shell, split_frames, yes_no

JOURNALD_SCRIPT = shell("""\
dump /usr/lib/systemd/journald.conf /lib/systemd/journald.conf /usr/local/lib/systemd/journald.conf /run/systemd/journald.conf /etc/systemd/journald.conf
for d in /usr/lib/systemd/journald.conf.d /lib/systemd/journald.conf.d /usr/local/lib/systemd/journald.conf.d /run/systemd/journald.conf.d /etc/systemd/journald.conf.d; do
  [ -d "$d" ] && dump "$d"/*.conf
done
[ -d /var/log/journal ] && printf '@@kv persistent_dir yes\\n' || printf '@@kv persistent_dir no\\n'
[ -d /run/log/journal ] && printf '@@kv volatile_dir yes\\n'
if command -v journalctl >/dev/null 2>&1; then
  run disk_usage journalctl --disk-usage --no-pager
  # only the timestamp of the oldest entry leaves the host, never the message itself
  run oldest sh -c 'journalctl -q --no-pager -o short-unix 2>&1 | head -n 1 | cut -d " " -f 1'
else
  printf '\\n@@missing journalctl\\n'
fi
printf '@@kv now %s\\n' "$(date +%s)"
""")
TIME_UNITS = {"us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "s": 1, "sec": 1, "second": 1, "seconds": 1,
              "m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600,
              "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
              "weeks": 604800, "M": 2629800, "month": 2629800, "months": 2629800, "y": 31557600,
              "year": 31557600, "years": 31557600}


def parse_timespan(value: str) -> float | None:
    """systemd.time(7) time span in seconds ("1month", "2w 3d", "3600"); None if not one."""
    value = value.strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    total, pos = 0.0, 0
    for m in re.finditer(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)", value):
        if m.start() != pos:
            return None
        unit = m.group(2) if m.group(2) in TIME_UNITS else m.group(2).lower()
        if unit not in TIME_UNITS:
            return None
        total += float(m.group(1)) * TIME_UNITS[unit]
        pos = m.end()
    return total if pos == len(value) and pos else None


def parse_ini_section(text: str, section: str) -> tuple[dict[str, str], list[str]]:
    """Key=value lines of one [section] of a systemd-style file (later keys win)."""
    values: dict[str, str] = {}
    junk: list[str] = []
    current = None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if "=" not in line:
            junk.append(cap(line, 160))
            continue
        if current == section:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values, junk


# systemd's configuration folders, first wins (CONF_PATHS: /etc, /run, /usr/local/lib, /usr/lib;
# /lib on a system whose /usr is not merged)
_RANK = ("/etc/", "/run/", "/usr/local/lib/", "/usr/lib/", "/lib/")


def _rank(path: str) -> int:
    return next((i for i, folder in enumerate(_RANK) if path.startswith(folder)), len(_RANK))


def journald_order(paths: list[str]) -> list[str]:
    """systemd's order: the main file (the first found of /etc, /run, /usr/local/lib, /usr/lib),
    then drop-ins sorted by file name, where a file hides one of the same name in a folder of
    lower rank (/etc hides /run, which hides /usr/local/lib, which hides /usr/lib)."""
    mains = sorted((p for p in paths if p.endswith("/journald.conf")), key=_rank)
    dropins: dict[str, str] = {}
    for path in paths:
        if not path.endswith(".conf") or path in mains:
            continue
        name = posixpath.basename(path)
        if name not in dropins or _rank(path) < _rank(dropins[name]):
            dropins[name] = path
    return mains[:1] + [dropins[n] for n in sorted(dropins)]


def parse_journald(text: str) -> Journald:
    frames = split_frames(text)
    order = journald_order(list(frames.files))
    settings: dict[str, str] = {}
    sources: dict[str, str] = {}
    junk: list[str] = []
    for path in order:
        values, bad = parse_ini_section(frames.files[path].text, "Journal")
        junk += [f"{path}: {b}" for b in bad]
        for key, value in values.items():
            settings[key], sources[key] = value, path
    storage = settings.get("Storage", "auto").lower() or "auto"
    retention = parse_timespan(settings["MaxRetentionSec"]) if "MaxRetentionSec" in settings else None
    usage = frames.commands.get("disk_usage")
    disk_bytes = _disk_usage_bytes(usage.output) if usage and usage.ok else None
    oldest = frames.commands.get("oldest")
    oldest_ts = None
    if oldest and oldest.output:
        m = re.match(r"^(\d{9,11})(?:\.\d+)?(?:\s|$)", oldest.output)
        oldest_ts = int(m.group(1)) if m else None
    persistent_dir = frames.value("persistent_dir") == "yes"
    return Journald(files=tuple(order), settings=settings, sources=sources, storage=storage,
                    persistent_dir=persistent_dir,
                    persistent=storage == "persistent" or (storage == "auto" and persistent_dir),
                    max_retention_sec=retention, max_use=settings.get("SystemMaxUse"),
                    max_file_sec=settings.get("MaxFileSec"),
                    max_file_span_sec=parse_timespan(settings["MaxFileSec"]) if "MaxFileSec" in settings else None,
                    forward_to_syslog=yes_no(settings.get("ForwardToSyslog")),
                    disk_usage_bytes=disk_bytes, oldest_entry=oldest_ts, as_root=frames.as_root,
                    journalctl_missing="journalctl" in frames.missing, unparsed=tuple(junk[:MAX_UNPARSED]),
                    denied=tuple(frames.denied), now=as_int(frames.value("now"), signed=False))


_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _disk_usage_bytes(output: str) -> int | None:
    m = re.search(r"take up ([\d.]+)([KMGT]?)B?\b", output)
    if not m:
        return None
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])


PROBES = [Probe("journald", JOURNALD_SCRIPT, parse_journald, root=True)]
