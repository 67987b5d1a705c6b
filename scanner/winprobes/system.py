"""Parsers of the Windows OS identity, installed-update and pending-reboot outputs.

Each takes the text a PowerShell `... | ConvertTo-Json` printed and returns a typed fact. They
never raise on what a host sends: an output that is cut off, not JSON, or not the shape expected
gives a fact with status `unparsed` (or `empty`) and no value a check could take as a finding.
"""

from __future__ import annotations

import re
from typing import Any

from scanner.facts.windows_system import Hotfix, WindowsHotfixes, WindowsOs, WindowsReboot
from scanner.winprobes.psjson import clean_text, json_int, load_items, load_json, parse_datetime

MAX_HOTFIXES = 5000

# Windows Server LTSC releases by build number (Win32_OperatingSystem.BuildNumber, CurrentBuild).
# The same builds exist as client Windows (17763 is also Windows 10 1809), so a release is only
# derived on a host that says it is a server.
SERVER_RELEASES = {9200: "2012", 9600: "2012 R2", 14393: "2016", 17763: "2019", 20348: "2022", 26100: "2025"}

_CAPTION_YEAR = re.compile(r"\b(2003|2008|2012|2016|2019|2022|2025)\b(\s+R2\b)?")


def _release(build: int | None, server: bool | None, caption: str | None, notes: list[str]) -> str | None:
    if build is None or server is not True:
        return None
    release = SERVER_RELEASES.get(build)
    if release is None:
        notes.append(f"build {build} is no Windows Server LTSC release this table knows")
        return None
    named = _CAPTION_YEAR.search(caption or "")
    if named and (named.group(1) + (" R2" if named.group(2) else "")) != release:
        notes.append(f"caption names {named.group(0).strip()} but build {build} is {release}")
        return None
    return release


def parse_windows_os(cim_text: str, registry_text: str) -> WindowsOs:
    """Win32_OperatingSystem (Caption, Version, BuildNumber, InstallDate, LastBootUpTime,
    OSProductSuite, ProductType) and HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion
    (ProductName, CurrentBuild, UBR, DisplayVersion/ReleaseId, EditionID, InstallationType),
    each as ConvertTo-Json printed it. Either may be missing; when both give a build and they
    differ, there is no build (and so no release)."""
    cim, cim_status = load_json(cim_text)
    reg, reg_status = load_json(registry_text)
    cim = cim if isinstance(cim, dict) else {}
    reg = reg if isinstance(reg, dict) else {}
    if not cim and not reg:
        empty = cim_status == reg_status == "empty"
        return WindowsOs(status="empty" if empty else "unparsed")
    notes: list[str] = []
    builds = {b for b in (json_int(cim.get("BuildNumber")), json_int(reg.get("CurrentBuild"))) if b is not None}
    build = builds.pop() if len(builds) == 1 else None
    if len(builds) > 0:  # two different builds were left after the pop
        notes.append("BuildNumber and CurrentBuild differ")
    caption = clean_text(cim.get("Caption"))
    product_name = clean_text(reg.get("ProductName"))
    installation_type = clean_text(reg.get("InstallationType"))
    edition_id = clean_text(reg.get("EditionID"))
    product_type = json_int(cim.get("ProductType"))
    if product_type not in (1, 2, 3):
        product_type = None
    if product_type is not None:
        server: bool | None = product_type in (2, 3)
    elif installation_type is not None:
        server = installation_type.lower() != "client"
    elif edition_id is not None:
        # server editions are ServerStandard, ServerDatacenter, ServerDatacenterEval...; client
        # ones Professional, Enterprise, ...: any other prefix says nothing either way
        server = True if edition_id.lower().startswith("server") else None
    else:
        server = None
    core = None
    if server and installation_type is not None:
        core = installation_type.lower() == "server core"
    ubr = json_int(reg.get("UBR"))
    return WindowsOs(
        status="ok", caption=caption, version=clean_text(cim.get("Version")), build=build,
        ubr=ubr if ubr is not None and ubr >= 0 else None,
        display_version=clean_text(reg.get("DisplayVersion")) or clean_text(reg.get("ReleaseId")),
        product_name=product_name, edition_id=edition_id,
        installation_type=installation_type, product_type=product_type,
        install_date=parse_datetime(cim.get("InstallDate")), last_boot=parse_datetime(cim.get("LastBootUpTime")),
        server=server, release=_release(build, server, caption or product_name, notes),
        server_core=core, domain_controller=None if product_type is None else product_type == 2,
        notes=tuple(notes))


def parse_hotfixes(text: str) -> WindowsHotfixes:
    """Get-HotFix | Select-Object HotFixID,Description,InstalledOn,InstalledBy | ConvertTo-Json:
    a list, or a single object when there is one hotfix, or nothing when there is none."""
    data, status = load_items(text)
    if status != "ok":
        return WindowsHotfixes(status=status)
    found: list[Hotfix] = []
    skipped = 0
    for item in data[:MAX_HOTFIXES]:
        ident = clean_text(item.get("HotFixID")) if isinstance(item, dict) else None
        if ident is None:
            skipped += 1
            continue
        found.append(Hotfix(id=ident[:64], description=clean_text(item.get("Description")),
                            installed_on=parse_datetime(item.get("InstalledOn")),
                            installed_by=clean_text(item.get("InstalledBy"))))
    skipped += max(0, len(data) - MAX_HOTFIXES)
    if not found and skipped:
        return WindowsHotfixes(status="unparsed", skipped=skipped)
    dated = [h.installed_on for h in found if h.installed_on is not None]
    return WindowsHotfixes(status="ok", hotfixes=tuple(found), last_install=max(dated, default=None),
                           undated=len(found) - len(dated), skipped=skipped)


# The markers, as keys of the probe's JSON object (the script to come reads each key with
# Test-Path or Get-ItemProperty and writes true/false, or the value list, or null when unreadable):
#   CbsRebootPending: HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending exists
#   WuRebootRequired: HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired exists
#   PendingFileRenameOperations: HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager, the value (a list of paths)
REBOOT_MARKERS = ("CbsRebootPending", "WuRebootRequired", "PendingFileRenameOperations")


def _marker(value: Any, key: str) -> bool | None:
    if key == "PendingFileRenameOperations":
        if value is False or value == [] or value == "":
            return False  # the value is absent or holds nothing
        if isinstance(value, str):
            return True
        if isinstance(value, list):
            return any(isinstance(v, str) and v.strip() for v in value)
        return None
    return value if isinstance(value, bool) else None


def parse_reboot_pending(text: str) -> WindowsReboot:
    """{"CbsRebootPending": bool, "WuRebootRequired": bool, "PendingFileRenameOperations": [..]}:
    pending when any marker is set, not pending only when every marker was read and is clear."""
    data, status = load_json(text)
    if status != "ok":
        return WindowsReboot(status=status)
    if not isinstance(data, dict):
        return WindowsReboot(status="unparsed")
    states = {key: _marker(data.get(key), key) for key in REBOOT_MARKERS}
    reasons = tuple(k for k, v in states.items() if v is True)
    unknown = tuple(k for k, v in states.items() if v is None)
    pending = True if reasons else (None if unknown else False)
    return WindowsReboot(status="ok", pending=pending, reasons=reasons, unknown=unknown)
