"""The section XI checks on Windows hosts: the same check ids judged from the PowerShell probes'
facts (scanner/winprobes), so the report, the survey and diff treat a Windows host like any other,
and the checks only Windows has (audit policy).

Each function here is a platform variant of the check it names (`on_platform`): same id, survey
items, severity and texts; its messages are the check's own, or `windows_*` ones beside them.
"""

from __future__ import annotations

from checks.accounts import accounts_data, lockout, password_ageing, password_quality
from checks.exposure import judge_listeners, listener_all_interfaces
from checks.firewall import default_deny
from checks.logging import Store, daemon, judge_retention, required_days, retention
from checks.malware import installed, running, signatures_fresh
from checks.monitoring import hids_agent, product_table, products_data, siem_agent
from checks.patching import (
    judge_eol,
    last_update_age,
    os_eol,
    pending_updates,
    policy,
    reboot_required,
    security_updates,
)
from checks.registry import HostContext, Verdict, check, failed, on_platform, passed, verdict
from checks.settings import load_data
from checks.system import identity
from checks.windows_products import WindowsProductState, windows_product_states
from scanner.facts.ports import HostPortScan
from scanner.facts.system import OsRelease
from scanner.facts.windows_accounts import NO_LIMIT, AuditPolicy, NetAccountsPolicy
from scanner.facts.windows_defense import WindowsDefender, WindowsFirewallProfiles
from scanner.facts.windows_logs import WindowsEventLog, WindowsEventLogs, WindowsListeners
from scanner.facts.windows_policy import WindowsUpdatePolicy
from scanner.facts.windows_services import WindowsServices
from scanner.facts.windows_system import WindowsHotfixes, WindowsOs, WindowsReboot
from scanner.model import Frozen, Severity, Status

DAY = 86400
DEFENDER = "Microsoft Defender Antivirus"
DEFENDER_ROW = "defender-windows"  # its row in checks/data/products.yaml
ROLES_MALWARE = ("antimalware",)
# A circular log this full has started overwriting: the age of its oldest record is what it keeps.
FULL_RATIO = 0.9


def _unread(status: str) -> Verdict:
    return verdict(Status.UNKNOWN, "_windows_unread", state=status)


def _os_label(os: WindowsOs) -> str:
    return os.caption or os.product_name or (f"Windows Server {os.release}" if os.release else "Windows")


# -- patch level ---------------------------------------------------------------------------------

@on_platform(os_eol, reads=(WindowsOs,))
def os_eol_windows(ctx: HostContext) -> Verdict:
    os = ctx.facts(WindowsOs)
    if os.status != "ok":
        return _unread(os.status)
    seen = {"windows_build": os.build, "windows_ubr": os.ubr, "caption": os.caption, "edition": os.edition_id,
            "how": "Win32_OperatingSystem + HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"}
    if not os.server or os.release is None:
        # A client build, or builds the two sources disagree on: no row may be guessed.
        return verdict(Status.UNKNOWN, "not_in_table", os=_os_label(os), evidence=seen | {"notes": list(os.notes)})
    return judge_eol(ctx, OsRelease(id="windows-server", version_id=os.release), _os_label(os), seen)


@on_platform(reboot_required, reads=(WindowsReboot,))
def reboot_required_windows(ctx: HostContext) -> Verdict:
    r = ctx.facts(WindowsReboot)
    if r.status != "ok":
        return _unread(r.status)
    evidence = r.model_dump(mode="json")
    if r.pending:
        return failed("reboot_needed", evidence=evidence, reasons=", ".join(r.reasons))
    if r.pending is False:
        return passed("windows_no_marker", evidence=evidence)
    return verdict(Status.UNKNOWN, "undecided", evidence=evidence)


@on_platform(last_update_age, reads=(WindowsHotfixes,))
def last_update_age_windows(ctx: HostContext) -> Verdict:
    h = ctx.facts(WindowsHotfixes)
    if h.status not in ("ok", "empty"):
        return _unread(h.status)
    if h.last_install is None:
        return verdict(Status.UNKNOWN, "no_record", evidence={"how": "Get-HotFix", "hotfixes": len(h.hotfixes),
                                                               "undated": h.undated})
    days = int((ctx.now.timestamp() - h.last_install) // DAY)
    limit = policy().last_update_max_days
    newest = max((x for x in h.hotfixes if x.installed_on is not None), key=lambda x: x.installed_on or 0)
    evidence = {"days": days, "limit_days": limit.value, "limit_source": limit.source, "last_change": h.last_install,
                "how": "Get-HotFix (InstalledOn)", "newest_hotfix": newest.id, "hotfixes": len(h.hotfixes)}
    if days > limit.value:
        return failed("too_old", evidence=evidence, days=days, limit=limit.value)
    return passed("recent", evidence=evidence, days=days, limit=limit.value)


def _not_searched(ctx: HostContext) -> Verdict:
    # The Windows Update Agent API refuses remote sessions on current Windows, and the scan
    # contacts neither Windows Update nor WSUS: which updates are missing is for WSUS to say.
    h = ctx.facts(WindowsHotfixes)
    policy = ctx.facts_or_none(WindowsUpdatePolicy)
    return verdict(Status.UNKNOWN, "windows_not_searched",
                   evidence={"hotfixes": len(h.hotfixes), "last_install": h.last_install, "how": "Get-HotFix",
                             "wsus": policy.wu_server if policy is not None and policy.wsus else None})


on_platform(security_updates, reads=(WindowsHotfixes,), may_read=(WindowsUpdatePolicy,))(_not_searched)
on_platform(pending_updates, reads=(WindowsHotfixes,), may_read=(WindowsUpdatePolicy,))(_not_searched)


# -- identity ------------------------------------------------------------------------------------

@on_platform(identity, reads=(WindowsOs,))
def identity_windows(ctx: HostContext) -> Verdict:
    os = ctx.facts(WindowsOs)
    if os.status != "ok":
        return verdict(Status.UNKNOWN, "no_os_release")
    build = f"{os.build}.{os.ubr}" if os.build and os.ubr is not None else str(os.build or "?")
    return verdict(Status.INFO, "identified", os=_os_label(os), kernel=f"build {build}",
                   evidence={"os_id": "windows-server" if os.server else "windows", "version_id": os.release,
                             "pretty_name": _os_label(os), "build": build, "edition": os.edition_id,
                             "installation_type": os.installation_type, "domain_controller": os.domain_controller})


# -- accounts ------------------------------------------------------------------------------------

def _policy_evidence(p: NetAccountsPolicy) -> dict:
    return {"how": "net accounts", **p.model_dump(mode="json", exclude={"state", "reason", "reason_line"})}


def _net_accounts(ctx: HostContext) -> tuple[NetAccountsPolicy, Verdict | None]:
    p = ctx.facts(NetAccountsPolicy)
    if p.state != "ok":
        return p, verdict(Status.UNKNOWN, "_windows_unread", state=p.reason or p.state,
                          evidence={"how": "net accounts", "line": p.reason_line})
    return p, None


@on_platform(password_ageing, reads=(NetAccountsPolicy,))
def password_ageing_windows(ctx: HostContext) -> Verdict:
    p, unread = _net_accounts(ctx)
    if unread:
        return unread
    limit = accounts_data().password_max_days
    evidence = _policy_evidence(p) | {"limit_days": limit.value, "limit_source": limit.source}
    age = p.max_password_age_days
    if age is None:
        return verdict(Status.UNKNOWN, "_windows_unread", state="max_password_age", evidence=evidence)
    if age == NO_LIMIT or age == 0:
        return failed("windows_never_expires", evidence=evidence, limit=limit.value)
    if age > limit.value:
        return failed("windows_too_long", evidence=evidence, policy=age, limit=limit.value)
    return passed("ok", evidence=evidence, policy=age, limit=limit.value)


@on_platform(password_quality, reads=(NetAccountsPolicy,))
def password_quality_windows(ctx: HostContext) -> Verdict:
    p, unread = _net_accounts(ctx)
    if unread:
        return unread
    limits = accounts_data().password_min_length
    evidence = _policy_evidence(p) | {"required_length": limits.required, "recommended_length": limits.recommended,
                                      # complexity is in the security database only `secedit /export`
                                      # reads, and it writes a file: not read (read-only rule)
                                      "complexity": "not read"}
    minlen = p.min_password_length
    if minlen is None:
        return verdict(Status.UNKNOWN, "unexpected", evidence=evidence)
    if minlen < limits.required:
        return failed("too_short", evidence=evidence, minlen=minlen, required=limits.required)
    if minlen < limits.recommended:
        return failed("below_recommended", evidence=evidence, severity=Severity.LOW, minlen=minlen,
                      recommended=limits.recommended)
    return passed("ok", evidence=evidence, minlen=minlen, module="net accounts")


@on_platform(lockout, reads=(NetAccountsPolicy,))
def lockout_windows(ctx: HostContext) -> Verdict:
    p, unread = _net_accounts(ctx)
    if unread:
        return unread
    data = accounts_data()
    deny = p.lockout_threshold
    evidence = _policy_evidence(p) | {"deny": deny, "max_deny": data.lockout.max_deny, "source": data.lockout.source}
    if deny is None:
        return verdict(Status.UNKNOWN, "_windows_unread", state="lockout_threshold", evidence=evidence)
    if deny == 0:
        return failed("disabled", evidence=evidence, module="Windows")
    if deny > data.lockout.max_deny:
        return failed("lenient", evidence=evidence, severity=Severity.LOW, deny=deny, limit=data.lockout.max_deny)
    return passed("ok", evidence=evidence, module="Windows", deny=deny)


# -- host firewall -------------------------------------------------------------------------------

@on_platform(default_deny, reads=(WindowsFirewallProfiles,))
def default_deny_windows(ctx: HostContext) -> list[Verdict]:
    fw = ctx.facts(WindowsFirewallProfiles)
    if fw.status != "ok":
        return [_unread(fw.status)]
    out = []
    for profile in fw.profiles:
        evidence = {"how": "Get-NetFirewallProfile -PolicyStore ActiveStore", **profile.model_dump(mode="json")}
        target = profile.name
        if profile.enabled is False:
            out.append(failed("windows_profile_off", target=target, profile=target, evidence=evidence))
        elif profile.default_inbound == "not_configured" and profile.enabled is not False:
            # NotConfigured even in the store in force: Windows applies its own default, which the
            # output does not name; no value is taken for it.
            out.append(verdict(Status.UNKNOWN, "windows_profile_not_configured", target=target, profile=target,
                               evidence=evidence))
        elif profile.enabled is None or profile.default_inbound is None:
            out.append(verdict(Status.UNKNOWN, "windows_profile_unread", target=target, profile=target,
                               evidence=evidence))
        elif profile.default_inbound == "block":
            out.append(passed("windows_profile_deny", target=target, profile=target, evidence=evidence))
        else:
            out.append(failed("windows_profile_allow", target=target, profile=target, evidence=evidence))
    for name in fw.missing:
        out.append(verdict(Status.UNKNOWN, "windows_profile_unread", target=name, profile=name))
    return out


# -- anti-malware and agents ---------------------------------------------------------------------

def _products(ctx: HostContext, roles: tuple[str, ...]) -> tuple[list[WindowsProductState], bool]:
    """The table's products of `roles` the host's services and programs show, and whether both
    lists were read whole (else a product not seen may still be there)."""
    services = ctx.facts_or_none(WindowsServices)
    if services is None:
        return [], False
    table = [p for p in product_table(ctx.inventory).products if set(p.roles) & set(roles)]
    states = windows_product_states(table, services)
    return states, all(s.known for s in states) if states else False


def _defender(ctx: HostContext) -> tuple[WindowsDefender | None, dict]:
    """Defender's status when it answered, and its evidence either way (it is one product among
    the others: when it does not answer, a third-party one may protect the host)."""
    d = ctx.facts(WindowsDefender)
    evidence = {"how": "Get-MpComputerStatus", **d.model_dump(mode="json")}
    return (d if d.status == "ok" else None), evidence


def _defender_active(d: WindowsDefender) -> bool:
    return bool(d.am_service_enabled and d.antivirus_enabled and d.real_time_protection_enabled)


def _others(states: list[WindowsProductState]) -> list[WindowsProductState]:
    # Defender is read through its own cmdlet; its table row (service WinDefend) would count it twice.
    return [s for s in states if s.product.id != DEFENDER_ROW]


@on_platform(installed, reads=(WindowsDefender,), may_read=(WindowsServices,))
def installed_windows(ctx: HostContext) -> Verdict:
    d, defender = _defender(ctx)
    states, known = _products(ctx, ROLES_MALWARE)
    found = [s.product.name for s in _others(states) if s.installed] + ([DEFENDER] if d else [])
    evidence = {"defender": defender, "products": [s.evidence() for s in _others(states) if s.installed],
                "lists_read_whole": known}
    if found:
        return passed("installed", products=", ".join(found), evidence=evidence)
    if known and ctx.facts(WindowsDefender).status == "unavailable":
        return failed("none", evidence=evidence)
    return verdict(Status.UNKNOWN, "_windows_defender_unavailable",
                   reason=ctx.facts(WindowsDefender).unavailable or ctx.facts(WindowsDefender).status,
                   evidence=evidence)


@on_platform(running, reads=(WindowsDefender,), may_read=(WindowsServices,))
def running_windows(ctx: HostContext) -> Verdict:
    d, defender = _defender(ctx)
    states, known = _products(ctx, ROLES_MALWARE)
    others = [s for s in _others(states) if s.installed]
    active = [s.product.name for s in others if s.running] + ([DEFENDER] if d and _defender_active(d) else [])
    evidence = {"defender": defender, "products": [s.evidence() for s in others], "lists_read_whole": known}
    if active:
        return passed("running", products=", ".join(active), evidence=evidence)
    if d is not None and False in (d.am_service_enabled, d.antivirus_enabled, d.real_time_protection_enabled):
        flags = (("AMServiceEnabled", d.am_service_enabled), ("AntivirusEnabled", d.antivirus_enabled),
                 ("RealTimeProtectionEnabled", d.real_time_protection_enabled))
        return failed("windows_protection_off", evidence=evidence, product=DEFENDER,
                      off=", ".join(name for name, value in flags if value is False))
    if others and known:
        return failed("not_running", products=", ".join(s.product.name for s in others), evidence=evidence)
    if not others and d is None:
        return verdict(Status.NOT_APPLICABLE, "none_installed") if known else verdict(
            Status.UNKNOWN, "_windows_defender_unavailable", reason=ctx.facts(WindowsDefender).unavailable or "error",
            evidence=evidence)
    return _unread("flags")


@on_platform(signatures_fresh, reads=(WindowsDefender,), may_read=(WindowsServices,))
def signatures_fresh_windows(ctx: HostContext) -> list[Verdict]:
    d, defender = _defender(ctx)
    states, _ = _products(ctx, ROLES_MALWARE)
    limit = products_data().thresholds.signature_max_age_days
    out = []
    if d is not None:
        age = d.signature_age_days
        evidence = defender | {"max_age_days": limit.value, "threshold_source": limit.source}
        if age is None:
            out.append(verdict(Status.UNKNOWN, "not_readable", target="defender", product=DEFENDER, evidence=evidence))
        elif age > limit.value:
            out.append(failed("windows_stale", target="defender", product=DEFENDER, days=age, limit=limit.value,
                              evidence=evidence))
        else:
            out.append(passed("windows_fresh", target="defender", product=DEFENDER, days=age, limit=limit.value,
                              evidence=evidence))
    for state in _others(states):
        if state.installed:
            # Each vendor keeps its signature dates its own way; none is read yet.
            out.append(verdict(Status.UNKNOWN, "not_readable", target=state.product.id, product=state.product.name,
                               evidence=state.evidence()))
    return out or [verdict(Status.NOT_APPLICABLE, "none_installed")]


def _agents(ctx: HostContext, roles: tuple[str, ...]) -> Verdict:
    states, known = _products(ctx, roles)
    services = ctx.facts(WindowsServices)
    if services.status not in ("ok", "empty") and not states:
        return _unread(services.status)
    running_ = [s for s in states if s.running]
    evidence = {"how": "Win32_Service and the Uninstall registry keys", "lists_read_whole": known,
                "products": [s.evidence() for s in states if s.installed]}
    if running_:
        return passed("running", products=", ".join(s.product.name for s in running_), evidence=evidence)
    stopped = [s for s in states if s.installed]
    if stopped:
        return failed("installed_not_running", products=", ".join(s.product.name for s in stopped), evidence=evidence)
    if not known:
        return _unread("services")
    return failed("none", evidence=evidence)


@on_platform(hids_agent, reads=(WindowsServices,))
def hids_agent_windows(ctx: HostContext) -> Verdict:
    return _agents(ctx, ("hids", "edr"))


@on_platform(siem_agent, reads=(WindowsServices,))
def siem_agent_windows(ctx: HostContext) -> Verdict:
    return _agents(ctx, ("siem", "log_shipper"))


# -- logging -------------------------------------------------------------------------------------

def _log_store(log: WindowsEventLog) -> Store:
    full = bool(log.max_size_bytes and log.file_size_bytes and log.file_size_bytes >= FULL_RATIO * log.max_size_bytes)
    observed = float(log.retention_days) if log.retention_days is not None else None
    # A full circular log keeps what its oldest record says; one not yet full may keep more in
    # time, and an archived (AutoBackup) or retained log is kept beyond the file: undetermined.
    days = observed if log.mode == "circular" and full else None
    size = f"{log.max_size_bytes // (1024 * 1024)} MB" if log.max_size_bytes else "?"
    method = f"{log.name} event log, {log.mode or '?'}, max {size}{', full' if full else ''}"
    return Store(name=f"{log.name} event log", days=days, method=method, observed_days=observed,
                 details=[log.model_dump(mode="json")], how={"log": log.name, "mode": log.mode, "max_size": size})


@on_platform(retention, reads=(WindowsEventLogs,))
def retention_windows(ctx: HostContext) -> Verdict:
    logs = ctx.facts(WindowsEventLogs)
    if logs.status != "ok":
        return _unread(logs.status)
    security = logs.log("Security")
    if security is None or security.status != "ok":
        return verdict(Status.UNKNOWN, "windows_security_log_unread",
                       state=(security.reason or security.status) if security else "missing")
    stores = [_log_store(security)]
    extra = {"security_level": ctx.security_level, "how": "Get-WinEvent -ListLog; oldest record of the Security log",
             "required_basis": "scan.log_retention_days" if ctx.inventory.scan.log_retention_days
             else "thresholds.yaml log_retention_days_by_level"}
    return judge_retention(stores, required_days(ctx), extra)


@on_platform(daemon, reads=(WindowsEventLogs,))
def daemon_windows(ctx: HostContext) -> Verdict:
    logs = ctx.facts(WindowsEventLogs)
    if logs.status != "ok":
        return _unread(logs.status)
    evidence = {"how": "Get-WinEvent -ListLog", "logs": [x.model_dump(mode="json") for x in logs.logs]}
    readable = [x for x in logs.logs if x.status == "ok"]
    off = [x.name for x in readable if x.enabled is False]
    if off:
        return failed("windows_logs_disabled", logs=", ".join(off), evidence=evidence)
    # A log absent from the listing with no error said is not shown to be off: undecided.
    if len(readable) < len(logs.logs) or any(x.enabled is None for x in readable):
        return verdict(Status.UNKNOWN, "windows_logs_unread",
                       logs=", ".join(x.name for x in logs.logs if x.status != "ok" or x.enabled is None),
                       evidence=evidence)
    return passed("windows_logs_on", logs=", ".join(x.name for x in readable), evidence=evidence)


# -- exposure ------------------------------------------------------------------------------------

@on_platform(listener_all_interfaces, reads=(WindowsListeners, HostPortScan))
def listener_all_interfaces_windows(ctx: HostContext) -> list[Verdict]:
    found = ctx.facts(WindowsListeners)
    if found.status != "ok":
        return [_unread(found.status)]
    return judge_listeners(ctx, found.as_listeners())


# -- Windows only --------------------------------------------------------------------------------

class AuditRequirement(Frozen):
    guid: str
    name: str  # English name, for the report (the host's own is translated)
    setting: int  # 1 success, 2 failure, 3 both


class WindowsData(Frozen):
    audit_source: str
    audit_subcategories: tuple[AuditRequirement, ...]


def windows_data() -> WindowsData:
    return load_data("windows", WindowsData)


@check("windows.audit_policy", items=["XI.3.3.1"], severity=Severity.HIGH, reads=(AuditPolicy,))
def audit_policy(ctx: HostContext) -> Verdict:
    policy_ = ctx.facts(AuditPolicy)
    if policy_.state == "access_denied" or policy_.reason in ("privilege_not_held", "access_denied"):
        return verdict(Status.UNKNOWN, "needs_admin", evidence={"how": "auditpol /get /category:* /r",
                                                               "code": policy_.detail})
    if policy_.state != "ok":
        return _unread(policy_.reason or policy_.state)
    data = windows_data()
    short, unknown = [], []
    for req in data.audit_subcategories:
        have = policy_.setting(req.guid)
        if have is None:
            unknown.append(req.name)
        elif have & req.setting != req.setting:
            short.append(f"{req.name} ({_SETTING_NAMES[have]})")
    evidence = {"how": "auditpol /get /category:* /r (by subcategory GUID)", "source": data.audit_source,
                "required": [r.model_dump() for r in data.audit_subcategories], "short": short, "unread": unknown}
    if short:
        return failed("short", evidence=evidence, count=len(short), subcategories="; ".join(short))
    if unknown:
        return verdict(Status.UNKNOWN, "unread", evidence=evidence, subcategories="; ".join(unknown))
    return passed("ok", evidence=evidence, count=len(data.audit_subcategories))


_SETTING_NAMES = {0: "No Auditing", 1: "Success", 2: "Failure", 3: "Success and Failure"}
