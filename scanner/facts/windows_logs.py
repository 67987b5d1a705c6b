"""Facts about a Windows host's event logs (size, retention mode, how many days they reach back)
and its TCP listeners (parsed by scanner/winprobes/eventlogs.py from `ConvertTo-Json` outputs)."""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.capacity import Listener, Listeners
from scanner.facts.host import WindowsFact
from scanner.facts.windows_system import ParseStatus
from scanner.model import Frozen

# System.Diagnostics.Eventing.Reader.EventLogMode, spelled as facts: what the log does when full.
LogMode = Literal["circular", "auto_backup", "retain"]
# ok: the log's configuration was read; access_denied: Windows refused (the Security log needs an
# administrator); missing: the log was asked for and not in the output, no reason given.
LogStatus = Literal["ok", "access_denied", "missing"]


class WindowsEventLog(Frozen):
    name: str  # "Security", "System", "Application"
    status: LogStatus = "missing"
    reason: str | None = None  # the error text Windows gave, cleaned and capped
    enabled: bool | None = None
    max_size_bytes: int | None = None
    mode: LogMode | None = None
    record_count: int | None = None
    file_size_bytes: int | None = None
    path: str | None = None  # as Windows writes it: "%SystemRoot%\\System32\\Winevt\\Logs\\Security.evtx"
    oldest: int | None = None  # epoch seconds (UTC) of the oldest record
    retention_days: int | None = None  # whole days from the oldest record to `now`
    oldest_reason: str | None = None  # why there is no oldest record (none, refused, bad date)


class WindowsEventLogs(WindowsFact):
    """`Get-WinEvent -ListLog` for the logs asked for, with the time of each one's oldest record."""

    PART: ClassVar[str] = "win_eventlogs"
    status: ParseStatus = "unparsed"
    now: int | None = None  # epoch seconds the retention was measured against
    logs: tuple[WindowsEventLog, ...] = ()
    skipped: int = 0  # entries that were not event-log objects

    def log(self, name: str) -> WindowsEventLog | None:
        return next((entry for entry in self.logs if entry.name.lower() == name.lower()), None)


class WindowsListeners(WindowsFact):
    """`Get-NetTCPConnection -State Listen` with `Get-Process` names; the items are the Linux
    collector's `Listener`, so the exposure reconciliation reads both the same way."""

    PART: ClassVar[str] = "win_listeners"
    status: ParseStatus = "unparsed"
    items: tuple[Listener, ...] = ()
    processes_visible: bool = False  # the process map parsed: names are filled where the pid is known
    skipped: int = 0  # entries without a usable address, port or pid

    def as_listeners(self) -> Listeners:
        return Listeners(source="get-nettcpconnection", items=self.items, processes_visible=self.processes_visible)
