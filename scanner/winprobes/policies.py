"""Probes and pure parsers of the Windows Update policy, the Windows Event Forwarding source policy and
the Windows Time configuration: registry reads and Get-Service, nothing that contacts a server.

Value meanings and where they were read:
  HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU NoAutoUpdate (0 enabled, 1 disabled), AUOptions
    (1 "keep my computer up to date" disabled, 2 notify of download and installation, 3 download and notify
    of installation, 4 download and scheduled installation; 5 "allow local admin to choose setting" in the
    Group Policy text), ScheduledInstallDay (0 every day, 1 Sunday .. 7 Saturday), ScheduledInstallTime
    (hour 0-23), UseWUServer (1: a WSUS server instead of Windows Update) and, in the WindowsUpdate key,
    WUServer / WUStatusServer (the WSUS URLs): "Manage additional Windows Update settings",
    MicrosoftDocs/windows-itpro-docs windows/deployment/update/waas-wu-settings.md at
    0057f60f49ec35d24db382e86ca5fa45a16b7def. The policy keys override the local settings there.
    TargetGroup / TargetGroupEnabled ("Enable client-side targeting", same page; the value names as a
    published registry export writes them, https://pastebin.com/AsYMU0ac). Other AUOptions values (7) are
    kept as numbers without a meaning.
  W32Time Parameters Type NoSync (no synchronization), NTP (the NtpServer list), NT5DS (the domain
    hierarchy), AllSync (all mechanisms), and NtpServer a space-delimited list of "host[,flags]" with the
    flags 0x01 SpecialInterval, 0x02 UseAsFallbackOnly, 0x04 SymmetricActive, 0x08 Client: "Windows Time
    service tools and settings", registry reference (MicrosoftDocs/windowsserverdocs,
    WindowsServerDocs/networking/windows-time-service/Windows-Time-Service-Tools-and-Settings.md at
    fed37cd9d6ed52944f7e596e4ba5cac2c41c5e78). The "Configure Windows NTP Client" Group Policy is not read
    by this probe: the fact is the service's own configuration.
  SubscriptionManager (the "Configure target Subscription Manager" policy): one target per value, written
    "Server=http://<collector FQDN>:5985/wsman/SubscriptionManager/WEC,Refresh=<seconds>" in Microsoft's
    example (Defender for Identity, "Configure Windows Event Forwarding", Microsoft/ATADocs.de-de
    ATPDocs/configure-event-forwarding.md at fbca78c99606f5781cf8522646c76ac803982773); an HTTPS target
    adds ",IssuerCA=<thumbprint>" (as published guides write it). A URL without a port gives no port: the
    parser does not assume WinRM's defaults.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from scanner.facts.windows_policy import AuOption, NtpPeer, TimeSync, WindowsTime, WindowsUpdatePolicy
from scanner.facts.windows_remote import Collector, WindowsEventForwarding
from scanner.winprobes import ProbeOutput, Section, WinProbe
from scanner.winprobes.registry import (
    KeyRead,
    read_section_key,
    read_service,
    registry_section,
    section_text,
    service_command,
    whole_text,
)

WINDOWS_UPDATE = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate"
WINDOWS_UPDATE_AU = WINDOWS_UPDATE + r"\AU"
SUBSCRIPTION_MANAGER = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows\EventLog\EventForwarding\SubscriptionManager"
W32TIME_PARAMETERS = r"HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters"

_AU_OPTIONS: dict[int, AuOption] = {1: "disabled", 2: "notify_before_download", 3: "auto_download_notify_install",
                                    4: "auto_download_scheduled_install", 5: "local_admin_chooses"}
_READ = ("ok", "absent")  # a key whose state is known


def _status(reads: list[str]) -> str:
    if any(s in _READ for s in reads):
        return "ok"
    if "access_denied" in reads:
        return "access_denied"
    return "empty" if set(reads) == {"empty"} else "unparsed"


def _bit(read: KeyRead, name: str) -> bool | None:
    return {1: True, 0: False}.get(read.int_value(name))  # type: ignore[arg-type]


def _in_range(value: int | None, low: int, high: int) -> int | None:
    return value if value is not None and low <= value <= high else None


def parse_update_policy(output: ProbeOutput) -> WindowsUpdatePolicy:
    wu, au = read_section_key(output, "windows_update"), read_section_key(output, "au")
    sections = {"windows_update": wu.status, "au": au.status}
    status = _status([wu.status, au.status])
    if status != "ok":
        return WindowsUpdatePolicy(status=status, sections=sections)  # type: ignore[arg-type]
    both_read = wu.status in _READ and au.status in _READ
    configured = True if "ok" in (wu.status, au.status) else (False if both_read else None)
    server = wu.text_value("WUServer")
    # no server named: the key is absent, or read and the value empty or not set (not merely unreadable text)
    raw_server = wu.values.get("WUServer") if wu.status == "ok" else None
    no_server = wu.status == "absent" or (wu.status == "ok" and raw_server in (None, ""))
    use = _bit(au, "UseWUServer")
    if use is True and server:
        wsus: bool | None = True
    elif au.status == "absent" or use is False or (use is True and no_server):
        wsus = False  # the policy does not point the host at a WSUS server
    else:
        wsus = None
    options = au.int_value("AUOptions")
    return WindowsUpdatePolicy(
        status="ok", sections=sections, configured=configured, wu_server=server,
        wu_status_server=wu.text_value("WUStatusServer"), target_group=wu.text_value("TargetGroup"),
        target_group_enabled=_bit(wu, "TargetGroupEnabled"), use_wu_server=use, wsus=wsus,
        no_auto_update=_bit(au, "NoAutoUpdate"), au_options=options,
        au_option=_AU_OPTIONS.get(options) if options is not None else None,
        scheduled_install_day=_in_range(au.int_value("ScheduledInstallDay"), 0, 7),
        scheduled_install_time=_in_range(au.int_value("ScheduledInstallTime"), 0, 23))


# --- Windows Event Forwarding ----------------------------------------------------------------------

MAX_TARGETS = 64
# A host as a URL may carry it: a DNS name or an IPv4 address, or an IPv6 address in brackets.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\]")


def parse_collector(value: Any) -> Collector | None:
    """One SubscriptionManager value, or None when it is not a string that names a Server."""
    raw = whole_text(value)
    if raw is None:
        return None
    parts: dict[str, str] = {}
    for piece in raw.split(","):
        key, sep, val = piece.partition("=")
        if sep and key.strip().lower() not in parts:
            parts[key.strip().lower()] = val.strip()
    server = parts.get("server")
    if not server:
        return Collector(raw=raw)
    refresh = parts.get("refresh", "")
    collector = Collector(raw=raw, refresh_seconds=int(refresh) if re.fullmatch(r"\d{1,9}", refresh) else None,
                          issuer_ca=bool(parts.get("issuerca")))
    try:
        url = urlsplit(server)
        port = url.port
    except ValueError:
        return collector
    scheme = url.scheme.lower()
    host = url.netloc.rpartition("@")[2]
    host = host.rsplit(":", 1)[0] if not host.startswith("[") else host[: host.find("]") + 1]
    if scheme not in ("http", "https") or not _HOST.fullmatch(host):
        return collector
    return collector.model_copy(update={"scheme": scheme, "host": host, "port": port or None,
                                        "path": url.path or None})


def parse_event_forwarding(output: ProbeOutput) -> WindowsEventForwarding:
    key = read_section_key(output, "subscription_manager")
    service = read_service(section_text(output, "winrm_service"), "WinRM") if "winrm_service" in output.sections \
        else None
    service_fields = {"winrm_service": service.status if service else "empty",
                      "winrm_state": service.state if service else None,
                      "winrm_start_type": service.start_mode if service else None}
    if key.status not in _READ:
        status = _status([key.status])
        return WindowsEventForwarding(status=status, policy=key.status, **service_fields)  # type: ignore[arg-type]
    collectors, unreadable = [], 0
    for name in sorted(key.values, key=lambda n: (len(n), n))[:MAX_TARGETS]:
        collector = parse_collector(key.values[name])
        if collector is None or collector.host is None:
            unreadable += 1
        if collector is not None:
            collectors.append(collector)
    unreadable += max(0, len(key.values) - MAX_TARGETS)
    return WindowsEventForwarding(status="ok", policy=key.status, configured=bool(key.values),
                                  collectors=tuple(collectors), unreadable=unreadable, **service_fields)


# --- Windows Time --------------------------------------------------------------------------------

_SYNC: dict[str, TimeSync] = {"nt5ds": "domain", "ntp": "ntp", "nosync": "none", "allsync": "all"}
MAX_PEERS = 32


def _peers(value: str | None) -> tuple[NtpPeer, ...]:
    peers = []
    for item in (value or "").split()[:MAX_PEERS]:
        host, _, flags = item.partition(",")
        if not host:
            continue
        number = int(flags, 16) if re.fullmatch(r"0[xX][0-9A-Fa-f]{1,8}", flags) else None
        peers.append(NtpPeer(host=host[:253], flags=number))
    return tuple(peers)


def parse_time(output: ProbeOutput) -> WindowsTime:
    params = read_section_key(output, "parameters")
    service = read_service(section_text(output, "service"), "W32Time") if "service" in output.sections else None
    service_fields = {"service": service.status if service else "empty",
                      "service_state": service.state if service else None,
                      "service_start_type": service.start_mode if service else None}
    if params.status not in _READ:
        return WindowsTime(status=_status([params.status]), parameters=params.status,  # type: ignore[arg-type]
                           **service_fields)
    kind = params.text_value("Type")
    return WindowsTime(status="ok", parameters=params.status, type=kind,
                       sync_from=_SYNC.get(kind.lower()) if kind else None,
                       ntp_servers=_peers(params.text_value("NtpServer")), **service_fields)


PROBES: tuple[WinProbe, ...] = (
    WinProbe("win_update_policy", sections=(
        registry_section("windows_update", WINDOWS_UPDATE, ("WUServer", "WUStatusServer", "TargetGroup",
                                                            "TargetGroupEnabled")),
        registry_section("au", WINDOWS_UPDATE_AU, ("UseWUServer", "NoAutoUpdate", "AUOptions",
                                                   "ScheduledInstallDay", "ScheduledInstallTime")),
    ), parse=parse_update_policy),
    WinProbe("win_event_forwarding", sections=(
        registry_section("subscription_manager", SUBSCRIPTION_MANAGER),
        Section("winrm_service", service_command("WinRM")),
    ), parse=parse_event_forwarding),
    WinProbe("win_time", sections=(
        registry_section("parameters", W32TIME_PARAMETERS, ("Type", "NtpServer")),
        Section("service", service_command("W32Time")),
    ), parse=parse_time),
)
