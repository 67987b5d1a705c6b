"""The probes a Windows host's script runs: every area's probes, each a few fixed read-only
PowerShell sections and the pure parser of what they print."""

from __future__ import annotations

from scanner.winprobes import (
    Section,
    WinProbe,
    WinProbeSet,
    localaccounts,
    policies,
    remote,
    services,
    storage,
)
from scanner.winprobes.accounts import parse_auditpol, parse_net_accounts
from scanner.winprobes.defense import parse_defender_status, parse_firewall_profiles
from scanner.winprobes.eventlogs import EVENT_LOGS, parse_event_logs, parse_listeners
from scanner.winprobes.system import parse_hotfixes, parse_reboot_pending, parse_windows_os

_LOGS = ",".join(EVENT_LOGS)


def _native(command: str) -> str:
    """A native program's output and error lines as text. Windows PowerShell 5.1 turns a native
    program's stderr into error records, which 'Stop' would raise on the first line; the parsers
    read the program's own words (auditpol's error 0x00000522), so here they are kept as text."""
    return f"$ErrorActionPreference = 'Continue'\n{command} 2>&1 | ForEach-Object {{ [string]$_ }}"

SYSTEM = (
    WinProbe("win_os", (
        Section("cim", "Get-CimInstance -ClassName Win32_OperatingSystem | Select-Object Caption,Version,"
                       "BuildNumber,InstallDate,LastBootUpTime,OSProductSuite,ProductType"),
        Section("registry", "Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion' | "
                            "Select-Object ProductName,CurrentBuild,UBR,DisplayVersion,ReleaseId,EditionID,"
                            "InstallationType"),
    ), lambda out: parse_windows_os(out.text("cim"), out.text("registry"))),
    # Win32_QuickFixEngineering, what Windows says is installed: no search of Windows Update or
    # WSUS (the Update API refuses remote sessions, and the scan contacts neither).
    WinProbe("win_hotfixes", (
        Section("hotfixes", "Get-HotFix | Select-Object HotFixID,Description,InstalledOn,InstalledBy"),
    ), lambda out: parse_hotfixes(out.text("hotfixes")), timeout=60),
    # The three markers Windows sets when a reboot is waited for (scanner/winprobes/system.py).
    WinProbe("win_reboot", (
        Section("markers", "[pscustomobject]@{\n"
                "  CbsRebootPending = Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\"
                "Component Based Servicing\\RebootPending'\n"
                "  WuRebootRequired = Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\"
                "WindowsUpdate\\Auto Update\\RebootRequired'\n"
                "  PendingFileRenameOperations = @((Get-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\"
                "Control\\Session Manager' -Name PendingFileRenameOperations -ErrorAction SilentlyContinue)."
                "PendingFileRenameOperations)\n}"),
    ), lambda out: parse_reboot_pending(out.text("markers"))),
)

ACCOUNTS = (
    # net.exe without arguments only reads (with arguments it changes the policy: never given).
    WinProbe("win_net_accounts", (Section("net", _native("net.exe accounts"), kind="text"),),
             lambda out: parse_net_accounts(out.text("net"))),
    # /get only; needs an administrator (error 0x00000522 otherwise, which the parser reads).
    WinProbe("win_auditpol", (Section("auditpol", _native("auditpol.exe /get /category:* /r"), kind="text"),),
             lambda out: parse_auditpol(out.text("auditpol")), admin=True),
)

DEFENSE = (
    WinProbe("win_defender", (
        Section("status", "Get-MpComputerStatus | Select-Object AMServiceEnabled,AntivirusEnabled,"
                          "RealTimeProtectionEnabled,IsTamperProtected,AntivirusSignatureLastUpdated,"
                          "AntivirusSignatureAge,AntivirusSignatureVersion,AMProductVersion"),
    ), lambda out: parse_defender_status(out.text("status"), out.now)),
    # ActiveStore: the policy in force, Group Policy included (the default store is the local one).
    WinProbe("win_firewall_profiles", (
        Section("profiles", "Get-NetFirewallProfile -PolicyStore ActiveStore | Select-Object Name,Enabled,"
                            "DefaultInboundAction,DefaultOutboundAction,LogAllowed,LogBlocked,LogFileName"),
    ), lambda out: parse_firewall_profiles(out.text("profiles"))),
)

LOGS = (
    # The Security log is listed only to an administrator; the refusal is its own section.
    WinProbe("win_eventlogs", (
        Section("list", f"Get-WinEvent -ListLog {_LOGS} -ErrorAction SilentlyContinue -ErrorVariable rsErr | "
                        "Select-Object LogName,MaximumSizeInBytes,LogMode,IsEnabled,RecordCount,FileSize,"
                        "LogFilePath\n$global:rsListErr = $rsErr"),
        Section("list_errors", "$global:rsListErr", kind="text"),
        Section("oldest", "$rsOldest = [ordered]@{}\n"
                          f"foreach ($rsLog in '{_LOGS.replace(',', chr(39) + ',' + chr(39))}') {{\n"
                          "  try { $rsOldest[$rsLog] = (Get-WinEvent -LogName $rsLog -MaxEvents 1 -Oldest).TimeCreated }\n"
                          "  catch { $rsOldest[$rsLog] = [string]$_.Exception.Message }\n"
                          "}\n[pscustomobject]$rsOldest"),
    ), lambda out: parse_event_logs(out.text("list"), out.text("oldest"), out.now, out.text("list_errors")),
        admin=True, timeout=60),
    WinProbe("win_listeners", (
        Section("connections", "Get-NetTCPConnection -State Listen | Select-Object LocalAddress,LocalPort,"
                               "OwningProcess"),
        Section("processes", "Get-Process | Select-Object Id,ProcessName"),
    ), lambda out: parse_listeners(out.text("connections"), out.text("processes"))),
)

AREAS: tuple[tuple[WinProbe, ...], ...] = (SYSTEM, ACCOUNTS, DEFENSE, LOGS, services.PROBES, remote.PROBES,
                                                  localaccounts.PROBES, policies.PROBES, storage.PROBES)


def default_windows_probes() -> WinProbeSet:
    return WinProbeSet(tuple(p for area in AREAS for p in area))

