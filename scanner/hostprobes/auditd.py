"""auditd: its configuration, and the kernel audit status and rules as auditctl reports them
(root only; without it the refusal is recorded)."""

from __future__ import annotations

from scanner.facts.logging import Auditd
from scanner.hostprobes import Probe
from scanner.hostprobes.frames import as_int, cap, permission_refused, shell, split_frames

AUDITD_SCRIPT = shell("""\
dump /etc/audit/auditd.conf
run status auditctl -s
run rules auditctl -l
command -v auditd >/dev/null 2>&1 && printf '@@kv binary %s\\n' "$(command -v auditd)"
""")


def parse_auditd(text: str) -> Auditd:
    frames = split_frames(text)
    conf: dict[str, str] = {}
    frame = frames.files.get("/etc/audit/auditd.conf")
    if frame:
        for raw in frame.text.split("\n"):
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                conf[key.strip().lower()] = value.strip()
    status_cmd, rules_cmd = frames.commands.get("status"), frames.commands.get("rules")
    status: dict[str, str] = {}
    if status_cmd and status_cmd.ok:
        for line in status_cmd.output.split("\n"):
            parts = line.split(None, 1)
            if len(parts) == 2:
                status[parts[0]] = parts[1].strip()
    rules: list[str] = []
    denied = not frames.as_root and bool(
        (status_cmd and not status_cmd.ok) or (rules_cmd and not rules_cmd.ok))
    if rules_cmd and rules_cmd.ok:
        rules = [ln.strip() for ln in rules_cmd.output.split("\n") if ln.strip() and ln.strip() != "No rules"]
    if rules_cmd and permission_refused(rules_cmd.output):
        denied = True
    return Auditd(config_present=frame is not None, config=conf, as_root=frames.as_root,
                  auditctl_missing="status" in frames.missing,
                  permission_denied=denied, binary=frames.value("binary"),
                  enabled=as_int(status.get("enabled"), signed=False), pid=as_int(status.get("pid"), signed=False),
                  rules=tuple(cap(r, 200) for r in rules[:200]),
                  rules_count=len(rules) if rules_cmd and rules_cmd.ok else None,
                  num_logs=as_int(conf.get("num_logs"), signed=False),
                  max_log_file_mb=as_int(conf.get("max_log_file"), signed=False),
                  max_log_file_action=(conf.get("max_log_file_action") or "").lower() or None,
                  denied=tuple(frames.denied))


PROBES = [Probe("auditd", AUDITD_SCRIPT, parse_auditd, root=True)]
