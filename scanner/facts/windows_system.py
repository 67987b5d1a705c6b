"""Facts about a Windows host's operating system: identity, installed updates, pending reboot
(parsed by scanner.winprobes.system from PowerShell `ConvertTo-Json` outputs)."""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import WindowsFact
from scanner.model import Frozen

# ok: the output parsed; empty: nothing came back (no claim either way); unparsed: the output was
# not the JSON expected (cut off, an error text, hostile): no field of the fact is a finding.
ParseStatus = Literal["ok", "empty", "unparsed"]


class WindowsOs(WindowsFact):
    """Win32_OperatingSystem and the CurrentVersion registry key, reconciled."""

    PART: ClassVar[str] = "win_os"
    status: ParseStatus = "unparsed"
    caption: str | None = None  # "Microsoft Windows Server 2019 Standard" (localised on some hosts)
    version: str | None = None  # "10.0.17763"
    build: int | None = None  # 17763
    ubr: int | None = None  # update build revision: 17763.<ubr> names the monthly update level
    display_version: str | None = None  # DisplayVersion, or ReleaseId on older builds
    product_name: str | None = None
    edition_id: str | None = None  # ServerStandard, ServerDatacenter, ...
    installation_type: str | None = None  # "Server", "Server Core", "Client", "Nano Server"
    product_type: int | None = None  # 1 workstation, 2 domain controller, 3 member/standalone server
    install_date: int | None = None  # epoch seconds (UTC)
    last_boot: int | None = None  # epoch seconds (UTC)
    server: bool | None = None
    release: str | None = None  # "2012 R2", "2016", "2019", "2022", "2025": from the build, servers only
    server_core: bool | None = None
    domain_controller: bool | None = None
    notes: tuple[str, ...] = ()  # why a field was left empty (conflicting sources, bad values)


class Hotfix(Frozen):
    id: str
    description: str | None = None  # "Security Update", "Update", "Hotfix"
    installed_on: int | None = None  # epoch seconds (UTC); Get-HotFix often has none
    installed_by: str | None = None


class WindowsHotfixes(WindowsFact):
    """Get-HotFix (Win32_QuickFixEngineering): what Windows says is installed, no search made."""

    PART: ClassVar[str] = "win_hotfixes"
    status: ParseStatus = "unparsed"
    hotfixes: tuple[Hotfix, ...] = ()
    last_install: int | None = None  # newest InstalledOn, epoch seconds; None when none is dated
    undated: int = 0  # entries without a usable InstalledOn
    skipped: int = 0  # entries that were not hotfix objects


class WindowsReboot(WindowsFact):
    """The registry markers Windows sets when an update or a file replacement waits for a reboot."""

    PART: ClassVar[str] = "win_reboot"
    status: ParseStatus = "unparsed"
    pending: bool | None = None  # True: a marker is set; False: every marker read and clear
    reasons: tuple[str, ...] = ()  # the markers that are set
    unknown: tuple[str, ...] = ()  # the markers that could not be read
