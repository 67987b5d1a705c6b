"""Facts about what runs and what is installed on a Windows host: the services the Service Control
Manager knows (Win32_Service) and the programs the Uninstall registry keys list (parsed by
scanner.winprobes.services from PowerShell `ConvertTo-Json` outputs)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from scanner.facts.host import WindowsFact
from scanner.model import Frozen

# ok / empty / unparsed as in scanner.facts.windows_system; error: PowerShell answered the section
# with an error record (the text is kept in `services_error` / `programs_error`); truncated: the
# probe's output cap cut the section, so nothing of it is kept (a cut list would make absence look
# like a finding).
ListStatus = Literal["ok", "empty", "unparsed", "error", "truncated"]
# Win32_Service.State, lower case with "_" for the space ("Start Pending" -> start_pending).
ServiceState = Literal["running", "stopped", "start_pending", "stop_pending", "continue_pending",
                       "pause_pending", "paused", "unknown"]
# Win32_Service.StartMode ("Auto" -> auto).
StartMode = Literal["boot", "system", "auto", "manual", "disabled", "unknown"]


class WindowsService(Frozen):
    name: str  # the service name (what `sc query <name>` takes), not the display name
    display_name: str | None = None
    state: ServiceState = "unknown"
    start_mode: StartMode = "unknown"
    pid: int | None = None  # None when the service has no process (stopped: ProcessId 0)
    executable: str | None = None  # the program of PathName, its arguments never kept


class InstalledProgram(Frozen):
    name: str  # DisplayName
    version: str | None = None  # DisplayVersion
    publisher: str | None = None
    install_date: date | None = None  # InstallDate when it is a valid yyyymmdd
    install_location: str | None = None


class WindowsServices(WindowsFact):
    """Win32_Service (or Get-Service when it gives no list) and the HKLM Uninstall keys (64- and
    32-bit views)."""

    PART: ClassVar[str] = "win_services"
    status: ListStatus = "unparsed"  # of the list `services` came from
    # cim: Win32_Service (state, start mode, pid, executable); get_service: Get-Service, used when
    # Win32_Service gave no list (state and start mode only); None: neither gave one
    services_source: Literal["cim", "get_service"] | None = None
    cim_status: ListStatus = "unparsed"  # of the Win32_Service section, whichever list was kept
    services: tuple[WindowsService, ...] = ()
    services_skipped: int = 0  # items that were not a service object with a name
    services_capped: bool = False  # more services than MAX_SERVICES: the list is incomplete
    services_error: str | None = None  # first line of the Win32_Service section's error record, if any
    programs_status: ListStatus = "unparsed"
    programs: tuple[InstalledProgram, ...] = ()
    programs_unnamed: int = 0  # Uninstall keys without a DisplayName (hidden from Programs and Features)
    programs_skipped: int = 0  # items that were not objects
    programs_capped: bool = False
    programs_error: str | None = None
