"""Access to a Windows host (XI.2.1.6, XI.3.1, XI.3.6.5, XI.2.1.2): Remote Desktop with Network
Level Authentication, SMBv1 off, the built-in Guest and Administrator accounts, who is a local
administrator, how the host is reached for administration, and the shared account checks and the
logging, time and capacity checks that read the same probes (scanner/winprobes)."""

from __future__ import annotations

from fnmatch import fnmatchcase

from checks.accounts import _names, empty_password
from checks.exposure import disk_usage, judge_disks, software
from checks.logging import remote_forwarding, time_sync
from checks.monitoring import products_data
from checks.registry import HostContext, Verdict, check, failed, on_platform, passed, verdict
from checks.windows import _products, _unread
from scanner.facts.windows_localaccounts import WindowsLocalAccounts
from scanner.facts.windows_policy import WindowsTime, WindowsUpdatePolicy
from scanner.facts.windows_remote import WindowsEventForwarding, WindowsRdp, WindowsSmb, WindowsWinrmListeners
from scanner.facts.windows_services import WindowsServices
from scanner.facts.windows_storage import WindowsDisks
from scanner.model import Severity, Status

# -- remote administration -----------------------------------------------------------------------

@check("windows.rdp_nla", items=["XI.2.1.6", "XI.2.1.2"], severity=Severity.HIGH, reads=(WindowsRdp,))
def rdp_nla(ctx: HostContext) -> Verdict:
    rdp = ctx.facts(WindowsRdp)
    if rdp.status not in ("ok", "empty"):
        return _unread(rdp.status)
    evidence = {"how": "Terminal Server registry keys and their Group Policy keys", **rdp.model_dump(mode="json")}
    if rdp.rdp_enabled is False:
        return verdict(Status.NOT_APPLICABLE, "rdp_off", evidence=evidence)
    if rdp.rdp_enabled is None:
        return _unread("fDenyTSConnections")
    if rdp.nla_required is False:
        return failed("no_nla", evidence=evidence, port=rdp.port or 3389)
    if rdp.security_layer == "rdp":
        return failed("rdp_layer", evidence=evidence, port=rdp.port or 3389)
    if rdp.nla_required is None:
        return _unread("UserAuthentication")
    return passed("nla", evidence=evidence, port=rdp.port or 3389, layer=rdp.security_layer or "?")


@check("windows.smb1_disabled", items=["XI.2.1.2", "XI.3.4"], severity=Severity.HIGH, reads=(WindowsSmb,))
def smb1_disabled(ctx: HostContext) -> Verdict:
    smb = ctx.facts(WindowsSmb)
    if smb.status != "ok":
        return _unread(smb.reason or smb.status)
    evidence = {"how": "Get-SmbServerConfiguration", **smb.model_dump(mode="json")}
    if smb.smb1_enabled:
        return failed("enabled", evidence=evidence)
    if smb.smb1_enabled is False:
        return passed("disabled", evidence=evidence)
    return _unread("EnableSMB1Protocol")


@check("windows.remote_management", items=["XI.3.1", "XI.3.6.2"], severity=Severity.INFO,
       reads=(WindowsWinrmListeners,), may_read=(WindowsRdp,))
def remote_management(ctx: HostContext) -> Verdict:
    """What the administrators reach the host by: for the access-control answer and the jump
    host review (which networks may reach these ports is the port scan's to judge)."""
    found = ctx.facts(WindowsWinrmListeners)
    rdp = ctx.facts_or_none(WindowsRdp)
    ways = [f"WinRM {x.transport or '?'} {x.port or '?'} ({x.address or '*'})" for x in found.listeners]
    if rdp is not None and rdp.rdp_enabled:
        ways.append(f"RDP {rdp.port or 3389}")
    evidence = {"how": "Get-WSManInstance winrm/config/listener; Terminal Server registry keys",
                "winrm_listeners": [x.model_dump(mode="json") for x in found.listeners], "winrm_status": found.status}
    if found.status not in ("ok", "empty") and not ways:
        return _unread(found.reason or found.status)
    return verdict(Status.INFO, "listed", ways=", ".join(ways) or "-", evidence=evidence)


# -- accounts ------------------------------------------------------------------------------------

@check("windows.builtin_accounts", items=["XI.2.1.6"], severity=Severity.HIGH, reads=(WindowsLocalAccounts,))
def builtin_accounts(ctx: HostContext) -> list[Verdict]:
    a = ctx.facts(WindowsLocalAccounts)
    if a.domain_controller:
        return [verdict(Status.NOT_APPLICABLE, "domain_controller")]
    out = []
    guest, admin = a.guest, a.administrator
    if guest is None or guest.enabled is None:
        out.append(verdict(Status.UNKNOWN, "unread", target="guest", account="Guest (RID 501)"))
    elif guest.enabled:
        out.append(failed("guest_enabled", target="guest", name=guest.name or "?",
                          evidence={"how": "local accounts by SID (RID 501)", "sid": guest.sid}))
    else:
        out.append(passed("guest_disabled", target="guest", name=guest.name or "?", evidence={"sid": guest.sid}))
    if admin is None or admin.enabled is None:
        out.append(verdict(Status.UNKNOWN, "unread", target="administrator", account="Administrator (RID 500)"))
    elif admin.enabled:
        # Enabled, it is a known name to guess a password for; renamed or not, it is RID 500.
        out.append(failed("admin_enabled", target="administrator", severity=Severity.LOW, name=admin.name or "?",
                          evidence={"how": "local accounts by SID (RID 500)", "sid": admin.sid,
                                    "password_last_set": admin.password_last_set}))
    else:
        out.append(passed("admin_disabled", target="administrator", name=admin.name or "?",
                          evidence={"sid": admin.sid}))
    return out


@check("windows.local_admins", items=["XI.3.6.5", "XI.2.1.6"], severity=Severity.INFO, reads=(WindowsLocalAccounts,))
def local_admins(ctx: HostContext) -> Verdict:
    """Who is a local administrator: listed for the privileged-account review (no rule says
    how many is too many)."""
    a = ctx.facts(WindowsLocalAccounts)
    if a.administrators_status not in ("ok", "empty"):
        return _unread(a.administrators_reason or a.administrators_status)
    names = [m.name or m.sid or "?" for m in a.administrators]
    return verdict(Status.INFO, "members", count=len(names), names=_names(names) or "-",
                   evidence={"how": "members of S-1-5-32-544", "source": a.administrators_source,
                             "members": [m.model_dump(mode="json") for m in a.administrators[:100]]})


@on_platform(empty_password, reads=(WindowsLocalAccounts,))
def empty_password_windows(ctx: HostContext) -> Verdict:
    a = ctx.facts(WindowsLocalAccounts)
    if a.domain_controller:
        return verdict(Status.NOT_APPLICABLE, "windows_domain_controller")
    if a.status != "ok":
        return _unread(a.users_reason or a.status)
    # PasswordRequired false: the account may have an empty password (Windows does not say whether
    # it has one); an enabled one is a way in.
    loose = [u.name or u.sid for u in a.users if u.enabled and u.password_required is False]
    evidence = {"how": a.users_source, "accounts_checked": len(a.users), "password_not_required": loose[:100]}
    if loose:
        return failed("windows_not_required", evidence=evidence, names=_names(loose))
    return passed("none", evidence=evidence)


# -- updates, logs, time, disks ------------------------------------------------------------------

@check("windows.update_policy", items=["XI.2.3"], severity=Severity.MEDIUM, reads=(WindowsUpdatePolicy,))
def update_policy(ctx: HostContext) -> Verdict:
    p = ctx.facts(WindowsUpdatePolicy)
    if p.status not in ("ok", "empty"):
        return _unread(p.status)
    evidence = {"how": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate (and \\AU)",
                **p.model_dump(mode="json", exclude={"sections"})}
    if p.no_auto_update or p.au_option == "disabled":
        return failed("disabled", evidence=evidence)
    if p.wsus:
        return passed("wsus", evidence=evidence, server=p.wu_server or "?")
    if p.configured is False or p.wsus is False:
        return passed("windows_update", evidence=evidence)
    return _unread("policy")


@on_platform(remote_forwarding, reads=(WindowsEventForwarding,), may_read=(WindowsServices,))
def remote_forwarding_windows(ctx: HostContext) -> Verdict:
    wef = ctx.facts(WindowsEventForwarding)
    shippers, known = _products(ctx, ("log_shipper", "siem"))
    running = [s.product.name for s in shippers if s.running]
    collectors = [c.raw for c in wef.collectors]
    evidence = {"how": "EventForwarding\\SubscriptionManager policy; services of the product table",
                "collectors": collectors, "shippers": running, "winrm_state": wef.winrm_state}
    via = []
    if collectors and wef.winrm_state == "running":
        via.append(f"Windows Event Forwarding → {', '.join(c.host or c.raw for c in wef.collectors)}")
    via += running
    if via:
        return passed("windows_forwarding", evidence=evidence, via="; ".join(via))
    if collectors:
        return failed("windows_wef_winrm_stopped", evidence=evidence, state=wef.winrm_state or "?")
    if wef.configured is None or not known:
        return _unread(wef.policy)
    return failed("none", evidence=evidence)


@on_platform(time_sync, reads=(WindowsTime,))
def time_sync_windows(ctx: HostContext) -> Verdict:
    t = ctx.facts(WindowsTime)
    if t.status not in ("ok",):
        return _unread(t.status)
    evidence = {"how": "W32Time Parameters registry key and service", **t.model_dump(mode="json")}
    source = t.sync_from or "?"
    if t.service_state is None:
        return _unread(t.service)
    if t.service_state != "running":
        return failed("windows_not_running", evidence=evidence, state=t.service_state or "?")
    if t.sync_from == "none":
        return failed("windows_no_source", evidence=evidence)
    servers = ", ".join(p.host for p in t.ntp_servers) if t.sync_from in ("ntp", "all") else ""
    return passed("windows_running", evidence=evidence, source=source, servers=servers or "-")


@on_platform(software, reads=(WindowsServices,))
def software_windows(ctx: HostContext) -> Verdict:
    """Section I's server software on a Windows host: by its service, running or not, and its
    installed program's version."""
    found_services = ctx.facts(WindowsServices)
    if found_services.status not in ("ok", "empty"):
        return _unread(found_services.status)
    services = {s.name.casefold(): s for s in found_services.services}
    found = []
    for sw in products_data().server_software:
        running = [services[n.casefold()] for n in sw.windows_services if n.casefold() in services]
        programs = [p for p in found_services.programs
                    if any(fnmatchcase(p.name.casefold(), g.casefold()) for g in sw.windows_programs)]
        if running or programs:
            version = next((p.version for p in programs if p.version), "")
            found.append({"name": sw.name, "kind": sw.kind, "packages": {programs[0].name: version} if programs else {},
                          "running": any(s.state == "running" for s in running),
                          "basis": "services" if running else "programs"})
    if not found:
        return verdict(Status.INFO, "none", evidence={"packages_read": found_services.programs_status == "ok"})
    names = ", ".join(f"{f['name']} {next(iter(f['packages'].values()), '')}".strip() for f in found)
    return verdict(Status.INFO, "found", software=names, evidence={"software": found, "packages_read": True})


@on_platform(disk_usage, reads=(WindowsDisks,))
def disk_usage_windows(ctx: HostContext) -> list[Verdict]:
    disks = ctx.facts(WindowsDisks)
    if disks.status != "ok":
        return [_unread(disks.status)]
    return judge_disks(disks.as_disks())
