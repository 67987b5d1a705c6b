"""Facts about logging on a host (host collector): syslog daemons' configuration, journald,
logrotate, auditd, clock synchronisation and log shippers' destinations.

Each model records what was read, what could not be read (`denied`: root would see more) and
what the parser did not understand (`unparsed`), so a check can say `unknown` instead of guessing.
"""

from __future__ import annotations

from typing import ClassVar

from scanner.facts.host import HostFact
from scanner.model import Frozen


class LogRule(Frozen):
    """One rule that writes messages somewhere (a file, a user, a program)."""

    action: str  # file | dynafile | discard | other | an rsyslog output module name
    file: str | None = None
    selector: str  # the legacy selector, or [the filter] that guards the action
    facilities: tuple[str, ...] | None = None  # facilities it writes at info level; None: a filter we cannot read
    source: str  # path:line
    text: str  # the statement, capped
    ruleset: str | None = None


class Forward(Frozen):
    """A configured remote log destination."""

    via: str  # "rsyslog", "rsyslog omfwd", "syslog-ng network()", "filebeat", ...
    target: str
    port: int | None = None
    protocol: str | None = None
    selector: str = ""
    facilities: tuple[str, ...] | None = None
    source: str  # path:line or path
    text: str
    ruleset: str | None = None
    used: bool = True  # syslog-ng: the destination is referenced by a log path

    @property
    def destination(self) -> str:
        where = f"{self.target}:{self.port}" if self.port else self.target
        return f"{where}/{self.protocol}" if self.protocol else where


class SyslogConfig(HostFact):
    present: bool = False  # the main configuration file exists
    binary: str | None = None
    as_root: bool = False
    files: tuple[str, ...] = ()  # read, in the order the daemon reads them
    denied: tuple[str, ...] = ()
    unresolved_includes: tuple[str, ...] = ()
    rules: tuple[LogRule, ...] = ()
    forwards: tuple[Forward, ...] = ()
    unparsed: tuple[str, ...] = ()
    truncated: bool = False

    def files_for(self, facility: str) -> list[LogRule]:
        return [r for r in self.rules if r.action == "file" and r.file and r.facilities is not None
                and facility in r.facilities]


class Rsyslog(SyslogConfig):
    PART: ClassVar[str] = "rsyslog"


class SyslogNg(SyslogConfig):
    PART: ClassVar[str] = "syslog_ng"


JOURNAL_FILE_SPAN_DEFAULT = 2629800.0  # journald.conf(5): MaxFileSec= defaults to 1month (30.44 days)


class Journald(HostFact):
    PART: ClassVar[str] = "journald"
    files: tuple[str, ...] = ()  # journald.conf then drop-ins, in the order applied (later wins)
    settings: dict[str, str] = {}  # effective [Journal] settings
    sources: dict[str, str] = {}  # setting -> file that set it
    storage: str = "auto"
    persistent_dir: bool = False  # /var/log/journal exists
    persistent: bool = False  # Storage=persistent, or auto with /var/log/journal
    max_retention_sec: float | None = None  # MaxRetentionSec (0: no time limit)
    max_use: str | None = None  # SystemMaxUse
    max_file_sec: str | None = None
    max_file_span_sec: float | None = None  # MaxFileSec in seconds (None: not set, or not a time span)
    forward_to_syslog: bool | None = None
    disk_usage_bytes: int | None = None
    oldest_entry: int | None = None  # epoch of the oldest entry this user can read
    as_root: bool = False  # non-root sees only its own journal: oldest_entry is then a lower bound
    journalctl_missing: bool = False
    unparsed: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()
    now: int | None = None  # the host's clock


    @property
    def file_span_sec(self) -> float | None:
        """The longest time one journal file spans: MaxFileSec, or its default; None when it is 0
        (files rotate by size only) or not a time span. journald deletes an archived file whole once
        its first entry is older than MaxRetentionSec (journal-vacuum.c), so entries that much
        younger may go with it."""
        if self.max_file_sec is None:
            return JOURNAL_FILE_SPAN_DEFAULT
        return self.max_file_span_sec or None

class LogFileStat(Frozen):
    path: str
    mtime: int
    size: int


class RotatePolicy(Frozen):
    frequency: str | None = None  # hourly | daily | weekly | monthly | yearly
    rotate: int | None = 0
    maxage: int | None = None
    size: str | None = None  # size-only rotation: retention depends on log volume
    maxsize: str | None = None
    minsize: str | None = None
    source: str  # path:line of the stanza, or "defaults"


class RotateStanza(Frozen):
    paths: tuple[str, ...]
    policy: RotatePolicy


class Logrotate(HostFact):
    PART: ClassVar[str] = "logrotate"
    present: bool = False
    binary: str | None = None
    files: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()
    unresolved_includes: tuple[str, ...] = ()
    stanzas: tuple[RotateStanza, ...] = ()
    defaults: RotatePolicy  # global options in force at the end of logrotate.conf
    logs: tuple[LogFileStat, ...] = ()  # system/auth logs and their rotated copies
    now: int | None = None  # the host's clock when the probe ran
    unparsed: tuple[str, ...] = ()
    truncated: bool = False

    def stanza_for(self, path: str) -> RotateStanza | None:
        """The stanza logrotate applies to `path` (the first that names it, as logrotate
        refuses duplicates)."""
        import fnmatch

        for stanza in self.stanzas:
            if any(p == path or fnmatch.fnmatchcase(path, p) for p in stanza.paths):
                return stanza
        return None

    def copies_of(self, path: str) -> list[LogFileStat]:
        """The log and its rotated copies (path.1, path.2.gz, path-20240101)."""
        return [s for s in self.logs if s.path == path or s.path.startswith(path + ".")
                or s.path.startswith(path + "-")]


class Auditd(HostFact):
    PART: ClassVar[str] = "auditd"
    config_present: bool = False
    config: dict[str, str] = {}
    binary: str | None = None
    as_root: bool = False
    auditctl_missing: bool = False
    permission_denied: bool = False  # auditctl needs root
    enabled: int | None = None  # auditctl -s: 0 off, 1 on, 2 locked
    pid: int | None = None  # auditctl -s: the daemon registered with the kernel
    rules: tuple[str, ...] = ()
    rules_count: int | None = None
    num_logs: int | None = None
    max_log_file_mb: int | None = None
    max_log_file_action: str | None = None
    denied: tuple[str, ...] = ()


class TimeSync(HostFact):
    PART: ClassVar[str] = "time_sync"
    timedatectl: dict[str, str] = {}
    ntp_synchronized: bool | None = None
    chrony_tracking: dict[str, str] = {}
    chrony_leap: str | None = None
    chrony_reference: str | None = None
    ntpq_selected: tuple[str, ...] = ()
    configured_servers: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()  # tools not installed


class ShipperConfig(Frozen):
    product: str
    path: str
    destinations: tuple[Forward, ...] = ()
    note: str | None = None


class LogShippers(HostFact):
    PART: ClassVar[str] = "log_shippers"
    as_root: bool = False
    configs: tuple[ShipperConfig, ...] = ()
    denied: tuple[str, ...] = ()
