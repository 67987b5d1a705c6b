"""The logging probes, in the order they run: syslog daemons' configuration, journald,
logrotate, auditd, clock sync and log shippers. Each daemon's probe lives in its own module."""

from __future__ import annotations

from scanner.hostprobes import auditd, journald, log_shippers, logrotate, rsyslog, syslog_ng, time_sync

PROBES = [
    *rsyslog.PROBES,
    *syslog_ng.PROBES,
    *journald.PROBES,
    *logrotate.PROBES,
    *auditd.PROBES,
    *time_sync.PROBES,
    *log_shippers.PROBES,
]
