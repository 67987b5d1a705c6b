"""What the probes of this batch share: reading a registry key, a service and an error record that a
section gave in place of its output, without ever raising on what a host sends.

A registry section is one JSON object, written by a fixed command (see `registry_command`):

    {"Present": true|false, "Values": {name: value, ...} | null}

`Present` comes from Get-Item on the key: false says the key does not exist (for a policy key: no
policy is set). Both reads use `-ErrorAction SilentlyContinue` because the key may be absent, so a key
the caller may not read also reads as absent; the keys read here (Terminal Server, W32Time, the policy
keys under HKLM:\\SOFTWARE\\Policies) are readable by every local user on a default installation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from scanner.facts.windows_services import ServiceState, StartMode
from scanner.winprobes import ProbeOutput, Section
from scanner.winprobes.psjson import _CONTROL, MAX_INPUT, json_int, load_json
from scanner.winprobes.services import parse_services

# How a section that did not give its JSON failed, read from PowerShell's error record.
ErrorKind = Literal["access_denied", "cmdlet_missing", "error"]
# access_denied: UnauthorizedAccessException, Win32 "Access is denied." and E_ACCESSDENIED as an HRESULT
# (and the WMI/CIM form, 0x80041003 WBEM_E_ACCESS_DENIED); cmdlet_missing: the CommandNotFoundException
# PowerShell raises for a cmdlet it does not know (Get-LocalUser on Server 2012 R2).
_DENIED = re.compile(r"UnauthorizedAccess|PermissionDenied|Access is denied|Access denied|0x80070005|0x80041003",
                     re.IGNORECASE)
_MISSING = re.compile(r"CommandNotFoundException")

ReadStatus = Literal["ok", "absent", "empty", "unparsed", "access_denied", "cmdlet_missing", "error"]
# What Get-ItemProperty adds to every key it reads; never a value of the key.
_PS_PROPERTIES = ("PSPath", "PSParentPath", "PSChildName", "PSDrive", "PSProvider")


# What marks PowerShell's error record: "Verb-Noun : message" (Windows PowerShell 5.1; "Verb-Noun: message" in
# PowerShell 7) and the CategoryInfo / FullyQualifiedErrorId lines.
_RECORD = re.compile(r"^[A-Z][a-z]+-[A-Za-z]+ ?: |FullyQualifiedErrorId|CategoryInfo", re.MULTILINE)
# What a section cut by the probe's output cap reads as: an unfinished JSON object, so every parser says
# `unparsed` instead of reading the part that came.
CUT = "{"


def error_kind(text: str) -> ErrorKind | None:
    """The kind of an error record, or None when the text is JSON (even cut off), nothing, or text that is no
    error record (markup, junk: the parsers call it unparsed)."""
    head = text.lstrip("\ufeff").lstrip()
    if head[:1] in ("{", "[", "") or len(text) > MAX_INPUT:
        return None
    sample = text[:8192]
    if _MISSING.search(sample):
        return "cmdlet_missing"
    if _DENIED.search(sample):
        return "access_denied"
    return "error" if _RECORD.search(sample) else None


def section_text(output: ProbeOutput, name: str) -> str:
    """A section's text (or its error record), or CUT when the output cap cut it."""
    got = output.sections.get(name)
    return CUT if got is not None and got.truncated and got.error is None else output.text(name)


def section_error(output: ProbeOutput, name: str) -> ErrorKind | None:
    """The kind of error a section raised (the script framed it as an error), else None."""
    got = output.sections.get(name)
    if got is None or got.error is None:
        return None
    return error_kind(got.error) or "error"


def registry_command(path: str, values: tuple[str, ...] = ()) -> str:
    """The fixed read of one registry key: whether it exists and the named values (all values, without
    PowerShell's own PS* properties, when none are named). `path` is a constant of this package."""
    assert "'" not in path and all(re.fullmatch(r"[A-Za-z0-9_]+", v) for v in values)
    pick = (",".join(values) if values
            else "-Property * -ExcludeProperty " + ",".join(_PS_PROPERTIES))
    return ("[pscustomobject]@{ "
            f"Present = [bool](Get-Item -LiteralPath '{path}' -ErrorAction SilentlyContinue); "
            f"Values = (Get-ItemProperty -LiteralPath '{path}' -ErrorAction SilentlyContinue | Select-Object {pick}) }}")


def registry_section(name: str, path: str, values: tuple[str, ...] = ()) -> Section:
    return Section(name, registry_command(path, values), kind="json", depth=2)


@dataclass(frozen=True)
class KeyRead:
    """One registry key as a section gave it."""

    status: ReadStatus
    values: dict[str, Any] = field(default_factory=dict)

    def int_value(self, name: str) -> int | None:
        return json_int(self.values.get(name)) if self.status == "ok" else None

    def text_value(self, name: str) -> str | None:
        """A value as text, whole (see whole_text): None when absent, not a string, or too long."""
        return whole_text(self.values.get(name)) if self.status == "ok" else None


def read_key(text: str) -> KeyRead:
    """A registry section's JSON: ok (the key and its values), absent (no such key), or why it was not read."""
    if (kind := error_kind(text)) is not None:
        return KeyRead(kind)
    data, status = load_json(text)
    if status != "ok":
        return KeyRead(status)  # type: ignore[arg-type]
    if not isinstance(data, dict) or not isinstance(data.get("Present"), bool):
        return KeyRead("unparsed")
    if data["Present"] is False:
        return KeyRead("absent")
    values = data.get("Values")
    if values is None:
        return KeyRead("ok", {})
    if not isinstance(values, dict):
        return KeyRead("unparsed")
    return KeyRead("ok", {str(k): v for k, v in values.items() if str(k) not in _PS_PROPERTIES})


def read_section_key(output: ProbeOutput, name: str) -> KeyRead:
    return read_key(section_text(output, name)) if name in output.sections else KeyRead("empty")


MAX_WHOLE = 2048


def whole_text(value: Any, cap: int = MAX_WHOLE) -> str | None:
    """A string read further (a URL, a server list): control characters removed, and refused whole
    (None) rather than cut when it is longer than `cap`, since a cut "Refresh=60" reads as 6."""
    if not isinstance(value, str):
        return None
    text = _CONTROL.sub("", value).strip()
    return text if text and len(text) <= cap else None


# --- services -----------------------------------------------------------------------------------


def service_command(name: str) -> str:
    assert re.fullmatch(r"[A-Za-z0-9]+", name)
    return f"Get-Service -Name {name} | Select-Object Name,Status,StartType"


@dataclass(frozen=True)
class ServiceRead:
    status: ReadStatus
    state: ServiceState | None = None  # the win_services vocabulary (scanner/facts/windows_services.py)
    start_mode: StartMode | None = None


def read_service(text: str, name: str) -> ServiceRead:
    """Get-Service <name> | Select-Object Name,Status,StartType as JSON, read as the win_services probe reads
    Get-Service. A service that does not exist gives an error record (NoServiceFoundForGivenName): `absent`."""
    if (kind := error_kind(text)) is not None:
        return ServiceRead("absent" if "NoServiceFoundForGivenName" in text[:8192] else kind)
    status, services, _, _ = parse_services(text, controller=True)
    if status != "ok":
        return ServiceRead(status)  # type: ignore[arg-type]
    if len(services) != 1 or services[0].name.lower() != name.lower():
        return ServiceRead("unparsed")  # another service, or more than the one asked for
    service = services[0]
    return ServiceRead("ok", None if service.state == "unknown" else service.state,
                       None if service.start_mode == "unknown" else service.start_mode)
