"""The win_services probe: the host's services (Win32_Service, Get-Service) and installed programs
(the Uninstall registry keys), and the pure parser of what its sections print.

Installed programs are read from the Uninstall keys, never from Win32_Product: its provider
"validates the consistency of every installed MSI package on the computer" and is very slow
(Microsoft's Directory Services team, "How to NOT Use Win32_Product in Group Policy Filtering",
AskDS blog, 2012-04-19); a validation that finds a difference repairs the package (KB974524 as
summarised by SDM Software, "Why Win32_Product is Bad News"), and the Application log shows
MsiInstaller event 1035 "Windows Installer reconfigured the product" per package (Greg Ramsey,
"Win32_Product Is Evil").

Services come from two sections. Win32_Service gives the process id and the command line;
Get-Service gives only names, state and start type but does not go through WMI. Queries of
Win32_Service were reported to hang for about two minutes on hosts running Elastic Agent 8.7.1+ or
Beats 8.9+ (elastic/elastic-agent issue 3061, elastic/beats issue 36465), the very agents this probe
looks for: the WMI query runs last, with its own operation time limit, and when it gives nothing
the parser falls back to Get-Service.

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

SERVICES_COMMAND = ("Get-CimInstance -ClassName Win32_Service -OperationTimeoutSec 40 | "
                    "Select-Object Name,DisplayName,State,StartMode,ProcessId,PathName")
# Status and StartType are enums: Windows PowerShell 5.1's ConvertTo-Json writes their numbers.
SERVICE_STATUS_COMMAND = "Get-Service | Select-Object Name,DisplayName,Status,StartType"
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
# Get-Service: ServiceControllerStatus and ServiceStartMode (.NET System.ServiceProcess), by number
# as ConvertTo-Json writes them and by name (a script that casts them). The numbers agree with
# cnquery's reading of a recorded Server 2019 output (ps1getservice_test.go: PlugPlay Status 4
# running, PolicyAgent Status 1 stopped, PhoneSvc StartType 4 not enabled).
_STATUS: dict[int | str, ServiceState] = {1: "stopped", 2: "start_pending", 3: "stop_pending", 4: "running",
                                          5: "continue_pending", 6: "pause_pending", 7: "paused",
                                          "stopped": "stopped", "startpending": "start_pending",
                                          "stoppending": "stop_pending", "running": "running",
                                          "continuepending": "continue_pending", "pausepending": "pause_pending",
                                          "paused": "paused"}
_START_TYPES: dict[int | str, StartMode] = {0: "boot", 1: "system", 2: "auto", 3: "manual", 4: "disabled",
                                            "boot": "boot", "system": "system", "automatic": "auto",
                                            "manual": "manual", "disabled": "disabled"}
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


def _word(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) else None


def _enum(value: Any) -> int | str | None:
    if isinstance(value, bool):
        return None
    return value if isinstance(value, int) else _word(value)


def _service(item: dict) -> WindowsService | None:
    """A Win32_Service object (State, StartMode as words; ProcessId; PathName)."""
    name = clean_text(item.get("Name")) if isinstance(item.get("Name"), str) else None
    if name is None:
        return None
    pid = json_int(item.get("ProcessId"))
    return WindowsService(
        name=name, display_name=clean_text(item.get("DisplayName")),
        state=_STATES.get(_word(item.get("State")) or "", "unknown"),
        start_mode=_START_MODES.get(_word(item.get("StartMode")) or "", "unknown"),
        pid=pid if pid is not None and 0 < pid < 2**32 else None,
        executable=service_executable(item.get("PathName")))


def _controller(item: dict) -> WindowsService | None:
    """A Get-Service object (Status, StartType as enum numbers or names; no process, no path)."""
    name = clean_text(item.get("Name")) if isinstance(item.get("Name"), str) else None
    if name is None:
        return None
    status, start_type = _enum(item.get("Status")), _enum(item.get("StartType"))
    return WindowsService(name=name, display_name=clean_text(item.get("DisplayName")),
                          state=_STATUS.get(status, "unknown") if status is not None else "unknown",
                          start_mode=_START_TYPES.get(start_type, "unknown") if start_type is not None else "unknown")


def parse_services(text: str, controller: bool = False) -> tuple[ListStatus, tuple[WindowsService, ...], int, bool]:
    """The services of a Win32_Service JSON output (of Get-Service's with `controller`): status,
    services, skipped items, capped."""
    items, status = load_items(text)
    if status != "ok":
        return status, (), 0, False
    read = _controller if controller else _service
    services: list[WindowsService] = []
    skipped = 0
    for item in items[:MAX_SERVICES]:
        service = read(item) if isinstance(item, dict) else None
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


def _services_fields(output: ProbeOutput, section: str, controller: bool) -> dict[str, Any]:
    stop, error = _section_status(output, section)
    if stop is not None:
        return {"status": stop, "services_error": error}
    status, services, skipped, capped = parse_services(output.text(section), controller)
    return {"status": status, "services": services, "services_skipped": skipped, "services_capped": capped}


def parse_win_services(output: ProbeOutput) -> WindowsServices:
    """The probe's fact from its sections (pure, never raises): the services of Win32_Service, or
    of Get-Service when Win32_Service gave no list (its status and error are kept beside)."""
    fields = _services_fields(output, "services", controller=False)
    fields.update(services_source="cim", cim_status=fields["status"])
    if fields["status"] != "ok":
        fallback = _services_fields(output, "service_status", controller=True)
        if fallback["status"] == "ok":
            fields.update(fallback, services_source="get_service")
        else:
            fields["services_source"] = None
    stop, error = _section_status(output, "programs")
    if stop is not None:
        fields.update(programs_status=stop, programs_error=error)
    else:
        status, programs, unnamed, skipped, capped = parse_programs(output.text("programs"))
        fields.update(programs_status=status, programs=programs, programs_unnamed=unnamed,
                      programs_skipped=skipped, programs_capped=capped)
    return WindowsServices(**fields)


PROBES = (
    # The order the sections must run in (the script builder keeps it): the WMI query last, so a
    # hang there costs only itself.
    WinProbe(name="win_services",
             sections=(Section("programs", PROGRAMS_COMMAND, "json", depth=2),
                       Section("service_status", SERVICE_STATUS_COMMAND, "json", depth=2),
                       Section("services", SERVICES_COMMAND, "json", depth=2)),
             parse=parse_win_services, admin=False, timeout=90),
)
