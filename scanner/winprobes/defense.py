"""Parsers of the Microsoft Defender status and Windows Firewall profile outputs.

Each takes the text a PowerShell `... | ConvertTo-Json` printed and returns a typed fact. They
never raise on what a host sends: an output that is cut off, not JSON, or not the shape expected
gives a fact with status `unparsed` (or `empty`) and no value a check could take as a finding.
"""

from __future__ import annotations

import re
from typing import Any

from scanner.facts.windows_defense import (
    FirewallAction,
    FirewallProfile,
    ProfileName,
    WindowsDefender,
    WindowsFirewallProfiles,
)
from scanner.winprobes.psjson import MAX_INPUT, clean_text, json_int, load_items, load_json, parse_datetime

DAY = 86400
MAX_SIGNATURE_AGE = 36500  # days; Defender writes 4294967295 (uint32 -1) for ages it has not got

# Get-MpComputerStatus answers with an error record, not JSON, when Defender cannot: the record's
# FullyQualifiedErrorId names an HRESULT. Published records read for this table:
#   HRESULT 0x80041013 "Provider load failure": Defender removed (MSNightmare/ShieldBreak issue 5)
#   HRESULT 0x800106ba: the Defender service not running, another antivirus installed
#     (scipag/HardeningKitty issue 52, CrowdStrike; nemosminer/NemosMiner PR 821)
#   "Invalid Class" (HotCakeX/Harden-Windows-Security issue 261): the MSFT_MpComputerStatus class
#     is not registered; 0x80041010 is WMI's WBEM_E_INVALID_CLASS
# The cmdlet itself is missing (no Defender module, e.g. Server 2012 R2 without it) when PowerShell
# says CommandNotFoundException.
_UNAVAILABLE_BY_CODE = {"0x80041013": "provider_missing", "0x80041010": "provider_missing",
                        "0x800106ba": "service_not_running"}
_HRESULT = re.compile(r"HRESULT\s+(0x[0-9a-fA-F]{8})\b")


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _defender_error(text: str) -> WindowsDefender | None:
    """The fact of an error record Get-MpComputerStatus printed, or None when the text is none."""
    head = text.lstrip("\ufeff").lstrip()
    if head[:1] in ("{", "[", "") or len(text) > MAX_INPUT:
        return None  # JSON, even cut off, or nothing: not an error record
    if "CommandNotFoundException" in text and "Get-MpComputerStatus" in text:
        return WindowsDefender(status="unavailable", unavailable="cmdlet_missing")
    if not head.startswith("Get-MpComputerStatus"):
        return None  # foreign text: no claim about Defender
    code = _HRESULT.search(text)
    error_code = code.group(1).lower() if code else None
    reason = _UNAVAILABLE_BY_CODE.get(error_code or "", "error")
    if error_code is None and "invalid class" in head.splitlines()[0].lower():
        reason = "provider_missing"  # the record names no code: none is made up for it
    return WindowsDefender(status="unavailable", unavailable=reason, error_code=error_code)


def parse_defender_status(text: str, now: int) -> WindowsDefender:
    """Get-MpComputerStatus | Select-Object AMServiceEnabled, AntivirusEnabled,
    RealTimeProtectionEnabled, AntivirusSignatureLastUpdated, AntivirusSignatureAge,
    AntivirusSignatureVersion, AMProductVersion, IsTamperProtected | ConvertTo-Json.

    `now` (epoch seconds, the scan time) gives signature_age_days from the update date; the Age
    field is kept as Defender reported it, beside it, since the two can disagree (a host clock
    that is off). An error record instead of JSON is `unavailable`, never "disabled"."""
    if (error := _defender_error(text)) is not None:
        return error
    data, status = load_json(text)
    if status != "ok":
        return WindowsDefender(status=status)
    if not isinstance(data, dict) or not any(isinstance(data.get(k), bool) for k in
                                             ("AMServiceEnabled", "AntivirusEnabled", "RealTimeProtectionEnabled")):
        return WindowsDefender(status="unparsed")
    updated = parse_datetime(data.get("AntivirusSignatureLastUpdated"))
    age_days = (now - updated) // DAY if updated is not None and updated <= now + DAY else None
    reported = json_int(data.get("AntivirusSignatureAge"))
    return WindowsDefender(
        status="ok", am_service_enabled=_flag(data.get("AMServiceEnabled")),
        antivirus_enabled=_flag(data.get("AntivirusEnabled")),
        real_time_protection_enabled=_flag(data.get("RealTimeProtectionEnabled")),
        tamper_protected=_flag(data.get("IsTamperProtected")),
        signature_updated=updated, signature_age_days=max(age_days, 0) if age_days is not None else None,
        signature_age_reported=reported if reported is not None and 0 <= reported <= MAX_SIGNATURE_AGE else None,
        signature_version=clean_text(data.get("AntivirusSignatureVersion")),
        product_version=clean_text(data.get("AMProductVersion")))


# Get-NetFirewallProfile returns MSFT_NetFirewallProfile objects whose enum properties Windows
# PowerShell 5.1's ConvertTo-Json writes as their numbers; a script that casts them ([string])
# writes their names. Both are read:
#   Enabled, LogAllowed, LogBlocked (GpoBoolean): 0 False, 1 True, 2 NotConfigured
#   DefaultInboundAction, DefaultOutboundAction (Action): 0 NotConfigured, 2 Allow, 4 Block
# The names are those Set-NetFirewallProfile accepts (True/False/NotConfigured, Allow/Block/
# NotConfigured: dsccommunity/NetworkingDsc wiki, FirewallProfile). The NUMBERS are not yet
# confirmed against a Microsoft page (the search met only NET_FW_ACTION of the COM firewall API, a
# different enum: 0 block, 1 allow, not used here); they are what the recorded Server 2016-2025
# outputs show (Enabled 1 on a firewall that is on, DefaultInboundAction 0 on a host with no policy
# set) and what a public Pester test mocks (DefaultInboundAction 4 for block, DefaultOutboundAction 2
# for allow). Confirm them on a real host before a check relies on 2 and 4. NotConfigured means the store the cmdlet
# read sets no value, so the effective setting comes from elsewhere: it is no claim of on or off.
_GPO_BOOLEAN = {0: False, 1: True, 2: None, "false": False, "true": True, "notconfigured": None}
_ACTION: dict[int | str, FirewallAction] = {0: "not_configured", 2: "allow", 4: "block",
                                            "notconfigured": "not_configured", "allow": "allow",
                                            "block": "block"}
PROFILE_NAMES: tuple[ProfileName, ...] = ("Domain", "Private", "Public")


def _enum_key(value: Any) -> int | str | None:
    if isinstance(value, bool):
        return None  # a JSON true/false is not one of these enums' forms
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        number = json_int(value)
        return number if number is not None else value.strip().lower()
    return None


def _gpo_boolean(value: Any) -> bool | None:
    return _GPO_BOOLEAN.get(_enum_key(value))  # type: ignore[arg-type]


def _action(value: Any) -> FirewallAction | None:
    return _ACTION.get(_enum_key(value))  # type: ignore[arg-type]


def parse_firewall_profiles(text: str) -> WindowsFirewallProfiles:
    """Get-NetFirewallProfile | Select-Object Name, Enabled, DefaultInboundAction,
    DefaultOutboundAction, LogAllowed, LogBlocked, LogFileName | ConvertTo-Json: a list of the
    three profiles (a single object, or the whole CIM objects, are read as well)."""
    data, status = load_items(text)
    if status != "ok":
        return WindowsFirewallProfiles(status=status)
    found: dict[str, FirewallProfile] = {}
    skipped = 0
    for item in data[:16]:
        name = clean_text(item.get("Name")) if isinstance(item, dict) else None
        if name not in PROFILE_NAMES or name in found:
            skipped += 1
            continue
        found[name] = FirewallProfile(
            name=name, enabled=_gpo_boolean(item.get("Enabled")),
            default_inbound=_action(item.get("DefaultInboundAction")),
            default_outbound=_action(item.get("DefaultOutboundAction")),
            log_allowed=_gpo_boolean(item.get("LogAllowed")), log_blocked=_gpo_boolean(item.get("LogBlocked")),
            log_file=clean_text(item.get("LogFileName")))
    skipped += max(0, len(data) - 16)
    if not found:
        return WindowsFirewallProfiles(status="unparsed", skipped=skipped)
    return WindowsFirewallProfiles(status="ok", profiles=tuple(found[n] for n in PROFILE_NAMES if n in found),
                                   missing=tuple(n for n in PROFILE_NAMES if n not in found), skipped=skipped)
