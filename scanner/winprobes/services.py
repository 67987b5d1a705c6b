"""The win_services probe: the host's services (Win32_Service) and installed programs (the
Uninstall registry keys), and the pure parser of what the two sections print.

Installed programs are read from the Uninstall keys, never from Win32_Product: enumerating that
class makes the Windows Installer provider run a consistency check of every installed MSI package,
which can reconfigure ("repair") them, and is slow. Microsoft's Directory Services team: "How to NOT
Use Win32_Product in Group Policy Filtering" (AskDS blog, 2012-04-19, blogs.technet.com/b/askds);
the Application log then shows MsiInstaller event 1035 per product.

PathName of a service is a command line and may carry arguments (some agents are installed with a
token or a password on it): only the program's path is kept, see `service_executable`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from scanner.facts.windows_services import (
    InstalledProgram,
    ListStatus,
    ServiceState,
    StartMode,
    WindowsService,
    WindowsServices,
)
from scanner.winprobes import ProbeOutput, Section, WinProbe
from scanner.winprobes.psjson import MAX_TEXT, clean_text, json_int, load_items

MAX_SERVICES = 2000  # a Server 2022 host has about 250-300; more is not what Windows lists
MAX_PROGRAMS = 5000
MAX_ERROR = 200  # characters of an error record's first line kept in the fact

SERVICES_COMMAND = ("Get-CimInstance -ClassName Win32_Service | "
                    "Select-Object Name,DisplayName,State,StartMode,ProcessId,PathName")
# Both registry views: 64-bit programs, then 32-bit ones on a 64-bit Windows. A view that does not
# exist (32-bit Windows has no WOW6432Node) is skipped silently, not an error of the section.
PROGRAMS_COMMAND = ("Get-ItemProperty -Path "
                    "'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*',"
                    "'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*' "
                    "-ErrorAction SilentlyContinue | "
                    "Select-Object DisplayName,DisplayVersion,Publisher,InstallDate,InstallLocation")

_STATES: dict[str, ServiceState] = {"running": "running", "stopped": "stopped", "start pending": "start_pending",
                                    "stop pending": "stop_pending", "continue pending": "continue_pending",
                                    "pause pending": "pause_pending", "paused": "paused"}
_START_MODES: dict[str, StartMode] = {"boot": "boot", "system": "system", "auto": "auto", "manual": "manual",
                                      "disabled": "disabled"}
# An unquoted command line: the program ends at the first word that ends in one of these, the way
# the Service Control Manager's CreateProcess tries "C:\Program.exe", then "C:\Program Files\...".
_PROGRAM_END = re.compile(r"\.(exe|com|bat|cmd)$", re.IGNORECASE)


def service_executable(path_name: Any) -> str | None:
    """The program of a service's PathName, without its arguments (pure; None when there is none).

    `"C:\\Program Files\\x\\a.exe" -k` gives the quoted path; an unquoted
    `C:\\Windows\\system32\\svchost.exe -k netsvcs -p` gives the words up to the first ending in
    .exe/.com/.bat/.cmd. The search stops at a word that reads as an argument (starting with - or /,
    holding = or a quote): then only the first word is kept, never what follows it."""
    if not isinstance(path_name, str):
        return None
    text = clean_text(path_name.replace("\t", " ")) if len(path_name) <= 4 * MAX_TEXT else None
    if text is None:
        return None
    if text.startswith('"'):
        end = text.find('"', 1)
        return text[1:end].strip() or None if end > 0 else None  # an unclosed quote: no claim
    words = text.split()
    for i, word in enumerate(words):
        if i and (word[:1] in "-/" or "=" in word or '"' in word):
            break
        if _PROGRAM_END.search(word):
            return " ".join(words[:i + 1])
    return words[0]


def _install_date(value: Any) -> date | None:
    """InstallDate as installers write it: "yyyymmdd"; anything else (blank, localised) is None."""
    if not isinstance(value, str) or not re.fullmatch(r"\s*\d{8}\s*", value):
        return None
    digits = value.strip()
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _section_status(output: ProbeOutput, name: str) -> tuple[ListStatus | None, str | None]:
    """A status that ends reading the section before its JSON is (error, truncated), or None."""
    got = output.sections.get(name)
    if got is None:
        return "empty", None
    if got.error is not None:
        first = next((line for line in got.error.splitlines() if line.strip()), "")
        return "error", clean_text(first[:MAX_ERROR])
    if got.truncated:
        return "truncated", None
    return None, None


def _service(item: dict) -> WindowsService | None:
    name = clean_text(item.get("Name"))
    if name is None or not isinstance(item.get("Name"), str):
        return None
    state = item.get("State")
    mode = item.get("StartMode")
    pid = json_int(item.get("ProcessId"))
    return WindowsService(
        name=name, display_name=clean_text(item.get("DisplayName")),
        state=_STATES.get(state.strip().lower(), "unknown") if isinstance(state, str) else "unknown",
        start_mode=_START_MODES.get(mode.strip().lower(), "unknown") if isinstance(mode, str) else "unknown",
        pid=pid if pid is not None and 0 < pid < 2**32 else None,
        executable=service_executable(item.get("PathName")))


def parse_services(text: str) -> tuple[ListStatus, tuple[WindowsService, ...], int, bool]:
    """The services of a Win32_Service JSON output: status, services, skipped items, capped."""
    items, status = load_items(text)
    if status != "ok":
        return status, (), 0, False
    services: list[WindowsService] = []
    skipped = 0
    for item in items[:MAX_SERVICES]:
        service = _service(item) if isinstance(item, dict) else None
        if service is None:
            skipped += 1
        else:
            services.append(service)
    if not items:
        return "empty", (), 0, False  # Windows always lists services: no claim from none
    if not services:
        return "unparsed", (), skipped, False  # a list, but of nothing that is a service
    return status, tuple(services), skipped, len(items) > MAX_SERVICES


def parse_programs(text: str) -> tuple[ListStatus, tuple[InstalledProgram, ...], int, int, bool]:
    """The programs of an Uninstall-keys JSON output: status, programs (exact repeats once),
    keys without a DisplayName, non-object items, capped."""
    items, status = load_items(text)
    if status != "ok":
        return status, (), 0, 0, False
    programs: dict[InstalledProgram, None] = {}
    unnamed = skipped = 0
    for item in items[:MAX_PROGRAMS]:
        if not isinstance(item, dict):
            skipped += 1
            continue
        name = clean_text(item.get("DisplayName")) if isinstance(item.get("DisplayName"), str) else None
        if name is None:
            unnamed += 1
            continue
        programs[InstalledProgram(name=name, version=clean_text(item.get("DisplayVersion")),
                                  publisher=clean_text(item.get("Publisher")),
                                  install_date=_install_date(item.get("InstallDate")),
                                  install_location=clean_text(item.get("InstallLocation")))] = None
    if items and not programs and skipped:
        return "unparsed", (), unnamed, skipped, False
    return status, tuple(programs), unnamed, skipped, len(items) > MAX_PROGRAMS


def parse_win_services(output: ProbeOutput) -> WindowsServices:
    """The probe's fact from its two sections (pure, never raises)."""
    fields: dict[str, Any] = {}
    stop, error = _section_status(output, "services")
    if stop is not None:
        fields.update(status=stop, services_error=error)
    else:
        status, services, skipped, capped = parse_services(output.text("services"))
        fields.update(status=status, services=services, services_skipped=skipped, services_capped=capped)
    stop, error = _section_status(output, "programs")
    if stop is not None:
        fields.update(programs_status=stop, programs_error=error)
    else:
        status, programs, unnamed, skipped, capped = parse_programs(output.text("programs"))
        fields.update(programs_status=status, programs=programs, programs_unnamed=unnamed,
                      programs_skipped=skipped, programs_capped=capped)
    return WindowsServices(**fields)


PROBES = (
    WinProbe(name="win_services",
             sections=(Section("services", SERVICES_COMMAND, "json", depth=2),
                       Section("programs", PROGRAMS_COMMAND, "json", depth=2)),
             parse=parse_win_services, admin=False, timeout=60),
)
