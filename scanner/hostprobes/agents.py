"""Processes and security agents: what runs (from `ps`, or /proc where ps is missing, so hosts
without systemd work too), and which agent install paths and signature files exist.

Command lines can hold secrets (`mysql -pPASSWORD`), so the script keeps only argv[0] and the
base name of argv[1] when it is a plain path; the rest never leaves the host.
"""

from __future__ import annotations

import re

from scanner.facts.agents import AgentFiles, Process, Processes, SignatureFile
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import as_int, shell, split_frames

# awk: "PID ARGS..." -> "PID argv0 argv1-basename-or-dash"; kernel threads ([kworker]) dropped.
_ARGS_AWK = (
    "awk '{ if ($2 ~ /^\\[.*\\]$/ || $2 == \"\") next; a1 = \"-\";"
    " if ($3 ~ /^[A-Za-z0-9._\\/-]+$/ && $3 !~ /^-/) { a1 = $3; sub(/.*\\//, \"\", a1) }"
    " a0 = substr($2, 1, 200); print $1, a0, a1 }'"
)
PROCESSES_SCRIPT = shell(f"""\
if ps -e -o pid= -o uid= -o comm= >/dev/null 2>&1; then
  printf '@@kv source ps\\n'
  run names ps -e -o pid= -o uid= -o comm=
  printf '\\n@@cmd args\\n'; ps -e -o pid= -o args= 2>/dev/null | {_ARGS_AWK}; endcmd args 0
else
  printf '@@kv source proc\\n'
  printf '\\n@@cmd names\\n'
  for d in /proc/[0-9]*; do
    c=$(cat "$d/comm" 2>/dev/null) || continue
    u=$(awk '/^Uid:/ {{print $2}}' "$d/status" 2>/dev/null)
    printf '%s %s %s\\n' "${{d#/proc/}}" "${{u:--}}" "$c"
  done
  endcmd names 0
  printf '\\n@@cmd args\\n'
  for d in /proc/[0-9]*; do
    a=$(tr '\\000' ' ' < "$d/cmdline" 2>/dev/null | cut -c1-400)
    [ -n "$a" ] && printf '%s %s\\n' "${{d#/proc/}}" "$a"
  done | {_ARGS_AWK}
  endcmd args 0
fi
grep -q '^[^ ]* /proc proc .*hidepid=\\([12]\\|invisible\\|noaccess\\)' /proc/mounts 2>/dev/null && printf '@@kv hidepid yes\\n'
printf '@@kv init %s\\n' "$(cat /proc/1/comm 2>/dev/null)"
for u in /etc/systemd/system/*.wants/*; do [ -e "$u" ] && printf '@@kv unit %s\\n' "${{u##*/}}"; done; true
""")
PROCESSES_CAP = 1024 * 1024


def parse_processes(text: str) -> Processes:
    frames = split_frames(text)
    names = frames.commands.get("names")
    args = frames.commands.get("args")
    argv: dict[int, tuple[str, str | None]] = {}
    if args:
        for line in args.output.split("\n"):
            parts = line.split(" ")
            if len(parts) >= 3 and parts[0].isdigit():
                a1 = parts[-1]
                argv[int(parts[0])] = (" ".join(parts[1:-1]), None if a1 == "-" else a1)
    items: list[Process] = []
    if names:
        for line in names.output.split("\n"):
            parts = line.split(None, 2)
            if len(parts) < 3 or not parts[0].isdigit():
                continue
            pid = int(parts[0])
            exe, arg = argv.get(pid, (None, None))
            if pid not in argv and args is not None:
                continue  # a kernel thread (no command line) or a process that has exited
            items.append(Process(pid=pid, uid=int(parts[1]) if parts[1].isdigit() else None,
                                 name=parts[2].strip()[:64], exe=exe, arg=arg))
    units = sorted(set(frames.values.get("unit", [])))
    return Processes(as_root=frames.as_root, source=frames.value("source"), items=tuple(items),
                     hidepid=frames.value("hidepid") == "yes", init=frames.value("init") or None,
                     enabled_units=tuple(units[:500]), truncated=frames.truncated)


# Install locations of the security products in checks/data/products.yaml (its `paths`), and
# their signature files (its `signatures`). tests/test_hostprobes_agents.py checks that every
# path the data file names is looked at here, so the two cannot drift apart.
INSTALL_PATHS = (
    "/usr/bin/clamscan", "/usr/sbin/clamd", "/usr/bin/freshclam", "/opt/microsoft/mdatp",
    "/opt/eset/efs", "/opt/eset/eea", "/opt/kaspersky/kesl", "/var/opt/kaspersky/kesl",
    "/opt/kaspersky/klnagent64", "/opt/kaspersky/klnagent", "/opt/sophos-spl", "/opt/ds_agent",
    "/opt/CrowdStrike", "/opt/sentinelone", "/var/ossec/bin/wazuh-agentd", "/var/ossec/bin/ossec-agentd",
    "/usr/share/auditbeat", "/usr/bin/osqueryd", "/opt/osquery", "/usr/bin/crowdsec",
    "/usr/bin/fail2ban-server", "/usr/share/filebeat", "/opt/fluent-bit", "/usr/bin/fluent-bit",
    "/opt/td-agent", "/opt/fluent", "/usr/bin/vector", "/opt/nxlog", "/usr/bin/nxlog",
    "/opt/splunkforwarder", "/opt/Elastic/Agent", "/usr/lib/systemd/systemd-journal-upload",
    "/lib/systemd/systemd-journal-upload", "/usr/sbin/auditd", "/sbin/auditd",
)
SIGNATURE_GLOBS = ("/var/lib/clamav/*.cvd", "/var/lib/clamav/*.cld", "/var/lib/clamav/*.cud")

AGENT_FILES_SCRIPT = shell(
    "for p in " + " ".join(INSTALL_PATHS) + "; do [ -e \"$p\" ] && printf '@@kv path %s\\n' \"$p\"; done\n"
    "for f in " + " ".join(SIGNATURE_GLOBS) + "; do\n"
    "  [ -f \"$f\" ] || continue\n"
    "  if [ -r \"$f\" ]; then\n"
    "    stats \"$f\"\n"
    "    printf '@@kv header %s %s\\n' \"$f\" \"$(head -c 512 \"$f\" | tr -cd '[:print:]' | cut -c1-300)\"\n"
    "  else printf '\\n@@denied %s\\n' \"$f\"; fi\n"
    "done\n"
    "[ -d /var/lib/clamav ] && [ ! -r /var/lib/clamav ] && printf '\\n@@denied /var/lib/clamav\\n'\n"
    "printf '@@kv now %s\\n' \"$(date +%s)\"\n"
)


def parse_agent_files(text: str) -> AgentFiles:
    frames = split_frames(text)
    headers = {}
    for value in frames.values.get("header", []):
        path, _, header = value.partition(" ")
        m = re.search(r"ClamAV-VDB:[^ ]*(?: [^:]*)?(?::[^ ]*)*", header)
        headers[path] = header[m.start():].strip()[:200] if m else None
    signatures = tuple(SignatureFile(path=s.path, mtime=s.mtime, size=s.size, header=headers.get(s.path))
                       for s in frames.stats)
    return AgentFiles(as_root=frames.as_root, present=tuple(frames.values.get("path", [])),
                      signatures=signatures, now=as_int(frames.value("now"), signed=False),
                      denied=tuple(frames.denied))


PROBES = [
    Probe("processes", PROCESSES_SCRIPT, parse_processes, root=True, output_cap=PROCESSES_CAP),
    Probe("agent_files", AGENT_FILES_SCRIPT, parse_agent_files, root=True),
]
