"""Probe and pure parser of a Windows host's fixed disks: Win32_LogicalDisk with DriveType 3 (local
disk), sizes in bytes as CIM gives them (UInt64), turned into the KiB of the Linux `Filesystem`."""

from __future__ import annotations

import re

from scanner.facts.capacity import Filesystem
from scanner.facts.windows_storage import WindowsDisks
from scanner.winprobes import ProbeOutput, Section, WinProbe
from scanner.winprobes.psjson import clean_text, json_int, load_items
from scanner.winprobes.registry import error_kind, section_text

MAX_DISKS = 128
_DRIVE = re.compile(r"[A-Za-z]:")
MAX_BYTES = 2**64  # a UInt64


def _disk(item: object) -> Filesystem | None:
    if not isinstance(item, dict):
        return None
    device = clean_text(item.get("DeviceID"))
    size, free = json_int(item.get("Size")), json_int(item.get("FreeSpace"))
    if device is None or not _DRIVE.fullmatch(device) or size is None or free is None:
        return None
    if not 0 <= free <= size < MAX_BYTES:
        return None
    total_kb, free_kb = size // 1024, free // 1024
    used_kb = total_kb - free_kb
    # df's rounding (used / (used + available), rounded up) gives the same percent for a disk with no
    # reserved blocks, which NTFS does not have
    percent = -(-used_kb * 100 // total_kb) if total_kb else None
    return Filesystem(device=device.upper(), mount=device.upper() + "\\", fstype=clean_text(item.get("FileSystem")),
                      total_kb=total_kb, used_kb=used_kb, available_kb=free_kb, used_percent=percent)


def parse_disks_text(text: str) -> WindowsDisks:
    """Get-CimInstance Win32_LogicalDisk -Filter "DriveType=3" | Select-Object DeviceID,Size,FreeSpace,
    FileSystem,VolumeName | ConvertTo-Json (one object for one disk)."""
    if (kind := error_kind(text)) is not None:
        return WindowsDisks(status="access_denied" if kind == "access_denied" else "unavailable")
    items, status = load_items(text)
    if status != "ok":
        return WindowsDisks(status=status)  # type: ignore[arg-type]
    disks: dict[str, Filesystem] = {}
    skipped = max(0, len(items) - MAX_DISKS)
    for item in items[:MAX_DISKS]:
        disk = _disk(item)
        if disk is None or disk.device in disks:
            skipped += 1
            continue
        disks[disk.device] = disk
    if not disks:
        return WindowsDisks(status="unparsed", skipped=skipped)
    return WindowsDisks(status="ok", items=tuple(disks.values()), skipped=skipped)


def parse_disks(output: ProbeOutput) -> WindowsDisks:
    return parse_disks_text(section_text(output, "logical_disks"))


PROBES: tuple[WinProbe, ...] = (
    WinProbe("win_disks", sections=(
        Section("logical_disks", "Get-CimInstance -ClassName Win32_LogicalDisk -Filter \"DriveType=3\" | "
                                 "Select-Object DeviceID,Size,FreeSpace,FileSystem,VolumeName"),
    ), parse=parse_disks),
)
