"""Facts about the update and time policy of a Windows host: the Windows Update / WSUS Group Policy
and the Windows Time service (parsed by scanner/winprobes/policies.py from registry and service reads).

Nothing here contacts Windows Update, WSUS or a time server: these are the settings as configured.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from scanner.facts.host import WindowsFact
from scanner.facts.windows_remote import ProbeStatus
from scanner.facts.windows_services import ServiceState, StartMode
from scanner.model import Frozen

# AUOptions 1..5 (see scanner/winprobes/policies.py for the source)
AuOption = Literal["disabled", "notify_before_download", "auto_download_notify_install",
                   "auto_download_scheduled_install", "local_admin_chooses"]


class WindowsUpdatePolicy(WindowsFact):
    """HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate and its AU subkey."""

    PART: ClassVar[str] = "win_update_policy"
    status: ProbeStatus = "unparsed"
    sections: dict[str, str] = {}  # section -> how it was read (ok, absent, ...)
    configured: bool | None = None  # a Windows Update policy key exists; None: a key was not read
    wu_server: str | None = None  # WUServer, as configured (a URL from the target: text, never resolved)
    wu_status_server: str | None = None
    target_group: str | None = None
    target_group_enabled: bool | None = None  # TargetGroupEnabled 1
    use_wu_server: bool | None = None  # UseWUServer 1: updates come from WUServer (WSUS)
    wsus: bool | None = None  # UseWUServer 1 and a WUServer given; False when the policy says otherwise
    no_auto_update: bool | None = None  # NoAutoUpdate 1: automatic updates disabled by policy
    au_options: int | None = None  # the DWORD as set
    au_option: AuOption | None = None  # its meaning, for the values a source was read for
    scheduled_install_day: int | None = None  # 0 every day, 1 Sunday .. 7 Saturday
    scheduled_install_time: int | None = None  # hour 0..23


class NtpPeer(Frozen):
    host: str  # as configured: text from the target, never resolved
    flags: int | None = None  # the ",0x9" suffix; None when absent or not a number


TimeSync = Literal["ntp", "domain", "none", "all"]


class WindowsTime(WindowsFact):
    """W32Time: HKLM:\\SYSTEM\\CurrentControlSet\\Services\\W32Time\\Parameters and the service state."""

    PART: ClassVar[str] = "win_time"
    status: ProbeStatus = "unparsed"
    parameters: str = "empty"  # how the Parameters key was read
    type: str | None = None  # Type as configured: NT5DS, NTP, NoSync, AllSync, ...
    sync_from: TimeSync | None = None  # the meaning of Type; None for a type Windows does not document
    ntp_servers: tuple[NtpPeer, ...] = ()
    service: str = "empty"  # how the service was read (ok, absent, access_denied, ...)
    service_state: ServiceState | None = None  # as win_services words it: running, stopped, ...
    service_start_type: StartMode | None = None  # auto, manual, disabled, ...
