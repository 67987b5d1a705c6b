"""Clock synchronisation: timedatectl, chrony and ntpd's view, and the servers their
configuration files name."""

from __future__ import annotations

import re

from scanner.facts.logging import TimeSync
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import cap, shell, split_frames, yes_no

TIME_SYNC_SCRIPT = shell("""\
run timedatectl timedatectl show
run chronyc chronyc -n tracking
run ntpq ntpq -pn
dump /etc/chrony.conf /etc/chrony/chrony.conf /etc/ntp.conf /etc/ntpsec/ntp.conf /etc/systemd/timesyncd.conf
""")


def parse_time_sync(text: str) -> TimeSync:
    frames = split_frames(text)
    td = frames.commands.get("timedatectl")
    show = {}
    if td and td.ok:
        for line in td.output.split("\n"):
            key, sep, value = line.partition("=")
            if sep:
                show[key.strip()] = value.strip()
    chrony = frames.commands.get("chronyc")
    tracking: dict[str, str] = {}
    if chrony and chrony.ok:
        for line in chrony.output.split("\n"):
            key, sep, value = line.partition(":")
            if sep:
                tracking[key.strip()] = value.strip()
    servers = []
    for path, frame in frames.files.items():
        for line in frame.text.split("\n"):
            m = re.match(r"^\s*(server|pool|peer)\s+(\S+)", line)
            if m:
                servers.append(f"{m.group(1)} {m.group(2)} ({path})")
            m = re.match(r"^\s*(NTP|FallbackNTP)\s*=\s*(.+)$", line)
            if m and m.group(2).strip():
                servers.append(f"{m.group(1)}={m.group(2).strip()} ({path})")
    ntpq = frames.commands.get("ntpq")
    peers = []
    if ntpq and ntpq.ok:
        peers = [ln.strip() for ln in ntpq.output.split("\n") if ln[:1] in "*+#o"]
    return TimeSync(timedatectl=show, ntp_synchronized=yes_no(show.get("NTPSynchronized")),
                    chrony_tracking=tracking, chrony_leap=tracking.get("Leap status"),
                    chrony_reference=tracking.get("Reference ID"),
                    ntpq_selected=tuple(cap(p, 120) for p in peers[:10]),
                    configured_servers=tuple(cap(s, 200) for s in servers[:40]),
                    missing=tuple(sorted(frames.missing)))


PROBES = [Probe("time_sync", TIME_SYNC_SCRIPT, parse_time_sync)]
