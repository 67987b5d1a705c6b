"""Facts about how a Windows host can be reached for administration: Remote Desktop, the SMB server,
WinRM listeners and Windows Event Forwarding (parsed by scanner/winprobes/remote.py and
scanner/winprobes/policies.py from read-only PowerShell outputs).

Every value a host did not give, or gave in a form the parser does not know, is None: no check can
read "could not read" as a setting.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import WindowsFact
from scanner.facts.windows_services import ServiceState, StartMode
from scanner.model import Frozen

# ok: parsed; empty: nothing came back; unparsed: not the output expected (cut off, hostile);
# access_denied: Windows refused the read (an administrator's token is needed); unavailable: the
# cmdlet or the service behind it is missing or not running.
ProbeStatus = Literal["ok", "empty", "unparsed", "access_denied", "unavailable"]
# Where an effective setting came from: the Group Policy key (which wins when it holds the value), the
# local key, or the default Windows applies when neither holds it.
SettingSource = Literal["policy", "local"]


class RdpSetting(Frozen):
    value: int | None = None  # the DWORD in force; None: not decidable (unread policy, absent values)
    source: SettingSource | None = None
    local: int | None = None  # what the local key holds, for the evidence
    policy: int | None = None  # what the policy key holds


SecurityLayer = Literal["rdp", "negotiate", "tls"]
EncryptionLevel = Literal["low", "client_compatible", "high", "fips"]


class WindowsRdp(WindowsFact):
    """Remote Desktop: Terminal Server, WinStations\\RDP-Tcp and the Terminal Services policy key."""

    PART: ClassVar[str] = "win_rdp"
    status: ProbeStatus = "unparsed"
    sections: dict[str, str] = {}  # section -> how it was read (ok, absent, access_denied, ...)
    deny_connections: RdpSetting = RdpSetting()  # fDenyTSConnections
    user_authentication: RdpSetting = RdpSetting()  # UserAuthentication (NLA)
    security_layer_value: RdpSetting = RdpSetting()  # SecurityLayer
    min_encryption: RdpSetting = RdpSetting()  # MinEncryptionLevel
    rdp_enabled: bool | None = None  # fDenyTSConnections 0
    nla_required: bool | None = None  # UserAuthentication 1
    security_layer: SecurityLayer | None = None
    min_encryption_level: EncryptionLevel | None = None
    port: int | None = None  # PortNumber of RDP-Tcp (local only: no policy sets it)


class WindowsSmb(WindowsFact):
    """Get-SmbServerConfiguration (Windows Server 2012 and later)."""

    PART: ClassVar[str] = "win_smb"
    status: ProbeStatus = "unparsed"
    reason: str | None = None  # for access_denied / unavailable: the kind of error record
    smb1_enabled: bool | None = None
    smb2_enabled: bool | None = None
    require_signing: bool | None = None
    enable_signing: bool | None = None
    encrypt_data: bool | None = None
    reject_unencrypted: bool | None = None


class WinrmListener(Frozen):
    transport: Literal["http", "https"] | None = None  # None: a transport this parser does not know
    port: int | None = None
    address: str | None = None  # "*", "IP:10.0.0.5", "IP:10.0.0.1-10.0.0.20", as configured
    hostname: str | None = None
    enabled: bool | None = None
    certificate: bool | None = None  # a certificate thumbprint is set (HTTPS needs one)
    listening_on: tuple[str, ...] = ()


class WindowsWinrmListeners(WindowsFact):
    """Get-WSManInstance -ResourceURI winrm/config/listener -Enumerate."""

    PART: ClassVar[str] = "win_winrm_listeners"
    status: ProbeStatus = "unparsed"
    reason: str | None = None
    listeners: tuple[WinrmListener, ...] = ()
    skipped: int = 0  # items that were not listeners


class Collector(Frozen):
    """One target of the SubscriptionManager policy. The host is text from the target: never resolved."""

    raw: str  # the value as configured, cleaned and capped
    scheme: Literal["http", "https"] | None = None
    host: str | None = None
    port: int | None = None  # as written in the URL; None when the URL names none (no default assumed)
    path: str | None = None
    refresh_seconds: int | None = None
    issuer_ca: bool = False  # an IssuerCA thumbprint is given (certificate authentication)


class WindowsEventForwarding(WindowsFact):
    """The source side of Windows Event Forwarding: the SubscriptionManager policy and the WinRM service."""

    PART: ClassVar[str] = "win_event_forwarding"
    status: ProbeStatus = "unparsed"
    policy: str = "empty"  # how the policy key was read: ok, absent, unparsed, ...
    configured: bool | None = None  # the policy key holds at least one target; None: key not read
    collectors: tuple[Collector, ...] = ()
    unreadable: int = 0  # values of the key that were not a target this parser reads
    winrm_service: str = "empty"  # how the service was read
    winrm_state: ServiceState | None = None  # as win_services words it: running, stopped, ...
    winrm_start_type: StartMode | None = None  # auto, manual, disabled, ...
