"""Facts about a Windows host's own defences: Microsoft Defender Antivirus status and the Windows
Firewall profiles (parsed by scanner.winprobes.defense from PowerShell `ConvertTo-Json` outputs)."""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import WindowsFact
from scanner.model import Frozen

# ok / empty / unparsed as in scanner.facts.windows_system; unavailable: the cmdlet answered with an
# error record instead of JSON (Defender not installed, its service not running, the cmdlet missing):
# the host did not say Defender is disabled, so no flag of the fact is set.
DefenderStatus = Literal["ok", "empty", "unparsed", "unavailable"]
# Why Get-MpComputerStatus gave no status, read from its error record (see the parser).
DefenderUnavailable = Literal["cmdlet_missing", "provider_missing", "service_not_running", "error"]
ProfileStatus = Literal["ok", "empty", "unparsed"]
FirewallAction = Literal["allow", "block", "not_configured"]
ProfileName = Literal["Domain", "Private", "Public"]


class WindowsDefender(WindowsFact):
    """Get-MpComputerStatus: whether the antimalware service, antivirus and real-time protection run,
    and how old the antivirus signatures are."""

    PART: ClassVar[str] = "win_defender"
    status: DefenderStatus = "unparsed"
    unavailable: DefenderUnavailable | None = None  # set only with status "unavailable"
    error_code: str | None = None  # the HRESULT the error record named ("0x800106ba"), if any
    am_service_enabled: bool | None = None
    antivirus_enabled: bool | None = None
    real_time_protection_enabled: bool | None = None
    tamper_protected: bool | None = None
    signature_updated: int | None = None  # AntivirusSignatureLastUpdated, epoch seconds (UTC)
    signature_age_days: int | None = None  # whole days from signature_updated to the scan time
    signature_age_reported: int | None = None  # AntivirusSignatureAge as Defender gave it (days)
    signature_version: str | None = None  # "1.457.328.0"
    product_version: str | None = None  # AMProductVersion, the platform: "4.18.26070.9"


class FirewallProfile(Frozen):
    name: ProfileName
    enabled: bool | None = None  # None: NotConfigured or unreadable (no claim either way)
    default_inbound: FirewallAction | None = None  # None: a value this parser does not know
    default_outbound: FirewallAction | None = None
    log_allowed: bool | None = None
    log_blocked: bool | None = None
    log_file: str | None = None


class WindowsFirewallProfiles(WindowsFact):
    """Get-NetFirewallProfile: the Domain, Private and Public profiles of Windows Firewall."""

    PART: ClassVar[str] = "win_firewall_profiles"
    status: ProfileStatus = "unparsed"
    profiles: tuple[FirewallProfile, ...] = ()  # in the order Domain, Private, Public
    missing: tuple[ProfileName, ...] = ()  # profiles the output did not hold
    skipped: int = 0  # items that were not a profile of a known name (or a repeated one)
