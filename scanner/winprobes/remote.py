"""Probes and pure parsers of Remote Desktop, the SMB server and the WinRM listeners of a Windows host.

Value meanings and where they were read:
  SecurityLayer 0 RDP, 1 Negotiate, 2 TLS: "SecurityLayer" (unattend, Microsoft-Windows-TerminalServices-
    RDP-WinStationExtensions) https://learn.microsoft.com/en-us/windows-hardware/customize/desktop/unattend/
    microsoft-windows-terminalservices-rdp-winstationextensions-securitylayer
  MinEncryptionLevel 1 low, 2 client compatible, 3 high, 4 FIPS: Win32_TSGeneralSetting.SetEncryptionLevel
    https://learn.microsoft.com/en-us/windows/win32/termserv/win32-tsgeneralsetting-setencryptionlevel
  UserAuthentication 0 (Network-Level user authentication not required, the default) and 1 (required):
    "UserAuthentication" (unattend, same component) https://learn.microsoft.com/en-us/windows-hardware/customize/
    desktop/unattend/microsoft-windows-terminalservices-rdp-winstationextensions-userauthentication
  fDenyTSConnections: connections allowed unless it is 1, as Windows Admin Center's own script reads it
    (Get-RemoteDesktop: `fDenyTSConnections -ne 1`), published in the PowerShell Gallery
    (PUDAdminCenterPrototype 0.2.4, Public/Get-RemoteDesktop.ps1, "pulled directly from ... Windows Admin
    Center"). No Microsoft reference page of this value was read; only 0 and 1 are mapped.
The Group Policy key HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services, when it holds a
value, wins over the local one (Group Policy's rule that a policy value overrides the local preference, as
Microsoft states it for Windows Update in the page cited in policies.py; no RDP-specific page was read).
When the policy key could not be read, the effective value is unknown, never the local one: a policy the
scanner did not see may override it.
"""

from __future__ import annotations

import re
from typing import Any

from scanner.facts.windows_remote import (
    EncryptionLevel,
    RdpSetting,
    SecurityLayer,
    WindowsRdp,
    WindowsSmb,
    WindowsWinrmListeners,
    WinrmListener,
)
from scanner.winprobes import ProbeOutput, Section, WinProbe
from scanner.winprobes.psjson import clean_text, json_int, load_json
from scanner.winprobes.registry import KeyRead, error_kind, read_section_key, registry_section, section_text

TERMINAL_SERVER = r"HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server"
RDP_TCP = TERMINAL_SERVER + r"\WinStations\RDP-Tcp"
RDP_POLICY = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
_SECURITY_LAYERS: dict[int, SecurityLayer] = {0: "rdp", 1: "negotiate", 2: "tls"}
_ENCRYPTION: dict[int, EncryptionLevel] = {1: "low", 2: "client_compatible", 3: "high", 4: "fips"}


def _effective(local: KeyRead, policy: KeyRead, name: str) -> RdpSetting:
    local_value, policy_value = local.int_value(name), policy.int_value(name)
    if policy_value is not None:
        return RdpSetting(value=policy_value, source="policy", local=local_value, policy=policy_value)
    # the policy key holds the value in a form not understood: it may still win, so nothing is in force
    policy_unset = policy.status == "absent" or (policy.status == "ok" and policy.values.get(name) is None)
    if policy_unset and local_value is not None:
        return RdpSetting(value=local_value, source="local", local=local_value)
    return RdpSetting(local=local_value)


def _overall(reads: dict[str, KeyRead], local: tuple[str, ...]) -> str:
    if any(reads[n].status == "ok" for n in local):
        return "ok"
    states = {r.status for r in reads.values()}
    if "access_denied" in states:
        return "access_denied"
    return "empty" if states == {"empty"} else "unparsed"


def parse_rdp(output: ProbeOutput) -> WindowsRdp:
    reads = {name: read_section_key(output, name) for name in ("terminal_server", "rdp_tcp", "policy")}
    server, tcp, policy = reads["terminal_server"], reads["rdp_tcp"], reads["policy"]
    sections = {name: read.status for name, read in reads.items()}
    status = _overall(reads, ("terminal_server", "rdp_tcp"))
    if status != "ok":
        return WindowsRdp(status=status, sections=sections)  # type: ignore[arg-type]
    deny = _effective(server, policy, "fDenyTSConnections")
    auth = _effective(tcp, policy, "UserAuthentication")
    layer = _effective(tcp, policy, "SecurityLayer")
    level = _effective(tcp, policy, "MinEncryptionLevel")
    port = tcp.int_value("PortNumber")
    return WindowsRdp(
        status="ok", sections=sections, deny_connections=deny, user_authentication=auth,
        security_layer_value=layer, min_encryption=level,
        rdp_enabled={0: True, 1: False}.get(deny.value) if deny.value is not None else None,
        nla_required={1: True, 0: False}.get(auth.value) if auth.value is not None else None,
        security_layer=_SECURITY_LAYERS.get(layer.value) if layer.value is not None else None,
        min_encryption_level=_ENCRYPTION.get(level.value) if level.value is not None else None,
        port=port if port is not None and 0 < port < 65536 else None)


# --- SMB server ------------------------------------------------------------------------------------

SMB_FIELDS = {"EnableSMB1Protocol": "smb1_enabled", "EnableSMB2Protocol": "smb2_enabled",
              "RequireSecuritySignature": "require_signing", "EnableSecuritySignature": "enable_signing",
              "EncryptData": "encrypt_data", "RejectUnencryptedAccess": "reject_unencrypted"}


def _unreadable(kind: str) -> dict[str, str]:
    return {"status": "access_denied" if kind == "access_denied" else "unavailable", "reason": kind}


def parse_smb_text(text: str) -> WindowsSmb:
    """Get-SmbServerConfiguration | Select-Object <SMB_FIELDS> | ConvertTo-Json: the flags must be JSON
    booleans; a flag in any other form is None."""
    if (kind := error_kind(text)) is not None:
        return WindowsSmb(**_unreadable(kind))
    data, status = load_json(text)
    if status != "ok":
        return WindowsSmb(status=status)  # type: ignore[arg-type]
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        return WindowsSmb(status="unparsed")
    flags = {f: data.get(k) if isinstance(data.get(k), bool) else None for k, f in SMB_FIELDS.items()}
    if flags["smb1_enabled"] is None and flags["smb2_enabled"] is None:
        return WindowsSmb(status="unparsed")
    return WindowsSmb(status="ok", **flags)


def parse_smb(output: ProbeOutput) -> WindowsSmb:
    return parse_smb_text(section_text(output, "server"))


# --- WinRM listeners ---------------------------------------------------------------------------------

MAX_LISTENERS = 64
_THUMBPRINT = re.compile(r"[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64}")
# English only: the WS-Management client's text when the WinRM service does not answer locally.
_NOT_RUNNING = re.compile(r"cannot connect to the destination|WinRM service is not running", re.IGNORECASE)


def _flag_text(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _certificate(value: Any) -> bool | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    if isinstance(value, str):
        return True if _THUMBPRINT.fullmatch(value.strip()) else None
    return None  # an XML node or any other shape: not decided


def _listener(item: dict[str, Any]) -> WinrmListener | None:
    transport = clean_text(item.get("Transport"))
    port = json_int(item.get("Port"))
    if transport is None and port is None:
        return None
    raw_on = item.get("ListeningOn")
    on = raw_on if isinstance(raw_on, list) else [raw_on] if isinstance(raw_on, str) else []
    listening = tuple(t for t in (clean_text(v) for v in on[:256]) if t)
    return WinrmListener(
        transport={"http": "http", "https": "https"}.get((transport or "").lower()),  # type: ignore[arg-type]
        port=port if port is not None and 0 < port < 65536 else None,
        address=clean_text(item.get("Address")), hostname=clean_text(item.get("Hostname")),
        enabled=_flag_text(item.get("Enabled")), certificate=_certificate(item.get("CertificateThumbprint")),
        listening_on=listening)


def parse_winrm_listeners_text(text: str) -> WindowsWinrmListeners:
    """{"Listeners": [...]}: the wrapper makes "no listener" an empty list, not an empty output."""
    if (kind := error_kind(text)) is not None:
        if kind == "error" and _NOT_RUNNING.search(text[:8192]):
            kind = "service_not_running"
        return WindowsWinrmListeners(**_unreadable(kind))
    data, status = load_json(text)
    if status != "ok":
        return WindowsWinrmListeners(status=status)  # type: ignore[arg-type]
    if not isinstance(data, dict) or "Listeners" not in data:
        return WindowsWinrmListeners(status="unparsed")
    raw = data["Listeners"]
    items = [] if raw is None else [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        return WindowsWinrmListeners(status="unparsed")
    found, skipped = [], max(0, len(items) - MAX_LISTENERS)
    for item in items[:MAX_LISTENERS]:
        listener = _listener(item) if isinstance(item, dict) else None
        if listener is None:
            skipped += 1
        else:
            found.append(listener)
    if not found and skipped:
        return WindowsWinrmListeners(status="unparsed", skipped=skipped)
    return WindowsWinrmListeners(status="ok", listeners=tuple(found), skipped=skipped)


def parse_winrm_listeners(output: ProbeOutput) -> WindowsWinrmListeners:
    return parse_winrm_listeners_text(section_text(output, "listeners"))


PROBES: tuple[WinProbe, ...] = (
    WinProbe("win_rdp", sections=(
        registry_section("terminal_server", TERMINAL_SERVER, ("fDenyTSConnections",)),
        registry_section("rdp_tcp", RDP_TCP, ("UserAuthentication", "SecurityLayer", "MinEncryptionLevel",
                                              "PortNumber")),
        registry_section("policy", RDP_POLICY, ("fDenyTSConnections", "UserAuthentication", "SecurityLayer",
                                                "MinEncryptionLevel")),
    ), parse=parse_rdp),
    # Get-SmbServerConfiguration reads MSFT_SmbServerConfiguration (root/Microsoft/Windows/SMB); marked admin
    # because that provider is expected to refuse a caller without an administrator's token (not confirmed on a
    # host: no published record of it was found). Whether the SMB1 *feature* is installed is not read:
    # Get-WindowsFeature loads Server Manager and Get-WindowsOptionalFeature goes through DISM (slow, admin);
    # EnableSMB1Protocol is what the server accepts, which is the question a check asks.
    WinProbe("win_smb", sections=(
        Section("server", "Get-SmbServerConfiguration | Select-Object " + ",".join(SMB_FIELDS)),
    ), parse=parse_smb, admin=True),
    # The WS-Management configuration (winrm/config/listener) is expected to be readable only by administrators
    # (the WSMan: drive the same); the WinRM service must be running for Get-WSManInstance to answer even
    # locally. Get-WSManInstance is used rather than Get-ChildItem WSMan:\\localhost\\Listener because it returns
    # one object per listener with its properties, no provider tree to walk.
    WinProbe("win_winrm_listeners", sections=(
        Section("listeners", "[pscustomobject]@{ Listeners = @(Get-WSManInstance -ResourceURI "
                             "winrm/config/listener -Enumerate | Select-Object Address,Transport,Port,Hostname,"
                             "Enabled,URLPrefix,CertificateThumbprint,ListeningOn) }", depth=4),
    ), parse=parse_winrm_listeners, admin=True),
)
