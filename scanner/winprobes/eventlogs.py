"""Parsers of the event-log configuration and TCP listener outputs of a Windows host.

Like the other winprobes parsers they never raise on what a host sends: an output that is cut
off, not JSON, or not the shape expected gives `unparsed` (or `empty`) and no value a check could
take as a finding.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from scanner.facts.capacity import Listener
from scanner.facts.windows_logs import LogMode, WindowsEventLog, WindowsEventLogs, WindowsListeners
from scanner.winprobes.psjson import clean_text, json_int, load_json, parse_datetime

EVENT_LOGS = ("Security", "System", "Application")
MAX_ENTRIES = 20000  # listeners or processes; a server with more is not what this probe reads
DAY = 86400

# EventLogMode (System.Diagnostics.Eventing.Reader): Circular 0, AutoBackup 1, Retain 2, read at
# https://learn.microsoft.com/en-us/dotnet/api/system.diagnostics.eventing.reader.eventlogmode
# Windows PowerShell 5.1's ConvertTo-Json writes the number; a cast or PowerShell 7's
# -EnumsAsStrings writes the name: both are accepted.
_MODES: dict[int | str, LogMode] = {0: "circular", 1: "auto_backup", 2: "retain",
                                    "circular": "circular", "autobackup": "auto_backup", "retain": "retain"}
# What Windows prints when the caller may not read a log: the .NET UnauthorizedAccessException
# text, the Win32 "Access is denied." and its HRESULT.
_DENIED = re.compile(r"unauthorized operation|access is denied|0x80070005", re.IGNORECASE)


def _objects(text: str) -> tuple[list[Any] | None, str]:
    """The items of a ConvertTo-Json list output (one object for one item), and the status."""
    data, status = load_json(text)
    if status != "ok":
        return None, status
    items = [data] if isinstance(data, dict) else data if isinstance(data, list) else None
    return (items, "ok") if items is not None else (None, "unparsed")


def _mode(value: Any) -> LogMode | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _MODES.get(value)
    if isinstance(value, str):
        return _MODES.get(value.strip().lower())
    return None


def _size(value: Any) -> int | None:
    number = json_int(value)
    return number if number is not None and number >= 0 else None


def _denial(text: Any) -> str | None:
    """The cleaned first line of an error text that says access was refused, else None."""
    if not isinstance(text, str) or not _DENIED.search(text):
        return None
    line = next((ln for ln in text.splitlines() if _DENIED.search(ln)), text)
    return clean_text(line)


def _oldest(entry: WindowsEventLog, value: Any, now: int) -> dict[str, Any]:
    if entry.record_count == 0:
        return {"oldest_reason": "no records"}
    if value is None:
        return {"oldest_reason": "not given"}
    if (reason := _denial(value)) is not None:
        return {"oldest_reason": reason}
    oldest = parse_datetime(value)
    if oldest is None:
        return {"oldest_reason": "not a date"}
    if oldest > now:
        return {"oldest": oldest, "oldest_reason": "oldest record is after now (clock skew)"}
    return {"oldest": oldest, "retention_days": (now - oldest) // DAY}


def _log_entry(item: dict[str, Any]) -> WindowsEventLog | None:
    name = clean_text(item.get("LogName"))
    if name is None:
        return None
    enabled = item.get("IsEnabled")
    return WindowsEventLog(
        name=name, status="ok", enabled=enabled if isinstance(enabled, bool) else None,
        max_size_bytes=_size(item.get("MaximumSizeInBytes")), mode=_mode(item.get("LogMode")),
        record_count=_size(item.get("RecordCount")), file_size_bytes=_size(item.get("FileSize")),
        path=clean_text(item.get("LogFilePath")))


def parse_event_logs(list_text: str, oldest_text: str, now: int, errors_text: str = "",
                     wanted: tuple[str, ...] = EVENT_LOGS) -> WindowsEventLogs:
    """`Get-WinEvent -ListLog <wanted> | Select-Object LogName,MaximumSizeInBytes,LogMode,IsEnabled,
    RecordCount,FileSize,LogFilePath | ConvertTo-Json` (a list, or one object for one log), its
    error stream, and a JSON map LogName -> TimeCreated of the oldest record (or the error text
    reading it gave). `now` (epoch seconds) is what the retention is measured against.

    A wanted log absent from the list is `access_denied` when the error stream says access was
    refused (without an administrator the Security log is), else `missing`."""
    items, status = _objects(list_text)
    denied = _denial(errors_text)
    if status == "empty" and denied is not None:
        items = []  # nothing listed because every log was refused
    if items is None:
        return WindowsEventLogs(status=status, now=now)  # type: ignore[arg-type]
    oldest_map, oldest_status = load_json(oldest_text)
    oldest_map = oldest_map if oldest_status == "ok" and isinstance(oldest_map, dict) else {}
    found: dict[str, WindowsEventLog] = {}
    skipped = 0
    for item in items[:MAX_ENTRIES]:
        entry = _log_entry(item) if isinstance(item, dict) else None
        if entry is None or entry.name.lower() in found:
            skipped += 1
            continue
        found[entry.name.lower()] = entry
    skipped += max(0, len(items) - MAX_ENTRIES)
    if not found and skipped:
        return WindowsEventLogs(status="unparsed", now=now, skipped=skipped)
    oldest_by_name = {str(k).lower(): v for k, v in oldest_map.items()}
    logs = []
    for name in dict.fromkeys([*wanted, *(e.name for e in found.values())]):
        entry = found.get(name.lower())
        if entry is None:
            logs.append(WindowsEventLog(name=name, status="access_denied" if denied else "missing", reason=denied))
            continue
        logs.append(entry.model_copy(update=_oldest(entry, oldest_by_name.get(name.lower()), now)))
    return WindowsEventLogs(status="ok", now=now, logs=tuple(logs), skipped=skipped)


def _address(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def parse_listeners(connections_text: str, processes_text: str = "") -> WindowsListeners:
    """`Get-NetTCPConnection -State Listen | Select-Object LocalAddress,LocalPort,OwningProcess |
    ConvertTo-Json` and `Get-Process | Select-Object Id,ProcessName | ConvertTo-Json`. A listener
    needs a valid IP address and a port 1-65535; the process name comes from the map when its pid
    is there. 0.0.0.0 and :: are every interface (Listener.all_interfaces)."""
    items, status = _objects(connections_text)
    if items is None:
        return WindowsListeners(status=status)  # type: ignore[arg-type]
    procs, proc_status = _objects(processes_text)
    names: dict[int, str] = {}
    for proc in (procs or [])[:MAX_ENTRIES]:
        if isinstance(proc, dict) and (pid := json_int(proc.get("Id"))) is not None:
            if (name := clean_text(proc.get("ProcessName"))) is not None:
                names[pid] = name
    seen: dict[tuple[str, int], Listener] = {}
    skipped = max(0, len(items) - MAX_ENTRIES)
    for item in items[:MAX_ENTRIES]:
        row = item if isinstance(item, dict) else {}
        address, port, pid = _address(row.get("LocalAddress")), json_int(row.get("LocalPort")), json_int(row.get("OwningProcess"))
        if address is None or port is None or not 0 < port < 65536 or (pid is not None and pid < 0):
            skipped += 1
            continue
        seen.setdefault((address, port), Listener(proto="tcp", address=address, port=port, pid=pid,
                                                  process=names.get(pid) if pid is not None else None))
    if not seen and skipped:
        return WindowsListeners(status="unparsed", skipped=skipped)
    return WindowsListeners(status="ok", items=tuple(seen.values()), skipped=skipped,
                            processes_visible=proc_status == "ok" and bool(names))
