"""Accounts and privileged access (survey items XI.2.1.6 and XI.3.6.5): extra UID-0 accounts,
empty passwords, password ageing and quality, lockout after failed logins, passwordless sudo,
sudo logging. What needs root (shadow, sudoers) is `unknown` without it, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable

from checks.registry import HostContext, Verdict, check, failed, passed, verdict
from checks.settings import Sourced, load_data
from scanner.facts.accounts import Accounts, PamEntry
from scanner.model import Frozen, Severity, Status

SHOWN = 30


class MinLength(Frozen):
    required: int
    recommended: int
    source: str


class Lockout(Frozen):
    max_deny: int
    source: str


class ToolDefaults(Frozen):
    pwquality_minlen: int
    cracklib_minlen: int
    faillock_deny: int
    source: str


class AccountsData(Frozen):
    password_max_days: Sourced
    password_min_length: MinLength
    lockout: Lockout
    tool_defaults: ToolDefaults


def accounts_data() -> AccountsData:
    return load_data("accounts", AccountsData)


def _int(text: str | None) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def _names(names: list[str]) -> str:
    return ", ".join(names[:SHOWN]) + (f" (+{len(names) - SHOWN})" if len(names) > SHOWN else "")


def _pam_evidence(entries: tuple[PamEntry, ...] | list[PamEntry]) -> list[str]:
    return [f"{e.file}: {e.type} {e.control} {e.module} {' '.join(e.args)}".strip()[:300] for e in entries]



def on_accounts(judge: Callable[[Accounts], Verdict]) -> Callable[[HostContext], Verdict]:
    """A check of the host's accounts alone: `judge(accounts)`."""
    return lambda ctx: judge(ctx.facts(Accounts))


@check("accounts.uid0_extra", items=["XI.2.1.6", "XI.3.6.5"], severity=Severity.CRITICAL,
       reads=(Accounts,), judge=on_accounts)
def uid0_extra(a: Accounts) -> Verdict:
    if a.passwd != "ok":
        return verdict(Status.UNKNOWN, "passwd_unreadable", state=a.passwd)
    extra = [x.name for x in a.accounts if x.uid == 0 and x.name != "root"]
    if extra:
        return failed("found", evidence={"accounts": extra}, names=_names(extra))
    return passed("none", evidence={"uid0": [x.name for x in a.accounts if x.uid == 0]})


@check("accounts.empty_password", items=["XI.2.1.6"], severity=Severity.CRITICAL, reads=(Accounts,), judge=on_accounts)
def empty_password(a: Accounts) -> Verdict:
    empty = [x.name for x in a.accounts if x.passwd_field == "empty" or x.password == "empty"]
    if empty:
        return failed("found", evidence={"accounts": empty}, names=_names(empty))
    if a.shadow != "ok":
        return verdict(Status.UNKNOWN, "shadow_unreadable", evidence={"shadow": a.shadow, "uid": a.uid},
                       state=a.shadow)
    return passed("none", evidence={"accounts_checked": len(a.accounts)})


@check("accounts.password_ageing", items=["XI.2.1.6"], severity=Severity.MEDIUM, reads=(Accounts,), judge=on_accounts)
def password_ageing(a: Accounts) -> Verdict:
    limit = accounts_data().password_max_days
    policy = _int(a.login_defs.get("PASS_MAX_DAYS"))
    evidence = {"PASS_MAX_DAYS": a.login_defs.get("PASS_MAX_DAYS"), "PASS_MIN_DAYS": a.login_defs.get("PASS_MIN_DAYS"),
                "PASS_WARN_AGE": a.login_defs.get("PASS_WARN_AGE"), "login_defs": a.login_defs_state,
                "limit_days": limit.value, "limit_source": limit.source}
    accounts = [x for x in a.accounts if x.usable_password and x.interactive]
    lax = [x.name for x in accounts if x.max_days is None or x.max_days > limit.value]
    evidence["accounts"] = [{"name": x.name, "max_days": x.max_days} for x in accounts[:100]]
    evidence["over_limit"] = lax[:SHOWN]  # flat, for the fix sentence (`chage` per account)
    policy_bad = a.login_defs_state == "ok" and (policy is None or policy > limit.value)
    if policy_bad or lax:
        return failed("too_long", evidence=evidence, policy=policy if policy is not None else "-",
                      limit=limit.value, names=_names(lax) or "-")
    if a.login_defs_state != "ok" or a.shadow != "ok":
        return verdict(Status.UNKNOWN, "unverified", evidence=evidence | {"shadow": a.shadow},
                       state=f"login.defs {a.login_defs_state}, shadow {a.shadow}")
    return passed("ok", evidence=evidence, policy=policy, limit=limit.value)


@check("accounts.password_quality", items=["XI.2.1.6"], severity=Severity.MEDIUM, reads=(Accounts,), judge=on_accounts)
def password_quality(a: Accounts) -> Verdict:
    data = accounts_data()
    if not a.pam_files:
        return verdict(Status.UNKNOWN, "no_pam")
    modules = [e for e in a.pam if e.type == "password" and e.module in ("pam_pwquality.so", "pam_cracklib.so")]
    evidence = {"pam": _pam_evidence(modules), "pam_files": list(a.pam_files), "pwquality": a.pwquality,
                "pwquality_files": list(a.pwquality_files), "limits": data.password_min_length.model_dump(mode="json"),
                "required_length": data.password_min_length.required,
                "recommended_length": data.password_min_length.recommended}
    if not modules:
        unix = [e for e in a.pam if e.type == "password" and e.module == "pam_unix.so"]
        return failed("no_module", evidence=evidence | {"pam_unix": _pam_evidence(unix)})
    module = modules[0]
    # Where the length comes from, as flat values a sentence can name: a file, or the module's
    # built-in default (`minlen_file` / `minlen_default_of`).
    if module.arg("minlen") is not None:
        minlen, where = _int(module.arg("minlen")), f"{module.file} ({module.module} minlen=)"
        source = {"minlen_file": module.file}
    elif module.module == "pam_pwquality.so" and "minlen" in a.pwquality:
        minlen, where = _int(a.pwquality["minlen"]), "pwquality.conf"
        source = {"minlen_file": ", ".join(a.pwquality_files) or "pwquality.conf"}
    elif module.module == "pam_pwquality.so":
        minlen, where = data.tool_defaults.pwquality_minlen, "pwquality default"
        source = {"minlen_default_of": module.module}
    else:
        minlen, where = data.tool_defaults.cracklib_minlen, "pam_cracklib default"
        source = {"minlen_default_of": module.module}
    evidence |= {"minlen": minlen, "minlen_from": where, **source}
    if minlen is None:
        return verdict(Status.UNKNOWN, "unexpected", evidence=evidence)
    limits = data.password_min_length
    if minlen < limits.required:
        return failed("too_short", evidence=evidence, minlen=minlen, required=limits.required)
    if minlen < limits.recommended:
        return failed("below_recommended", evidence=evidence, severity=Severity.LOW, minlen=minlen,
                      recommended=limits.recommended)
    return passed("ok", evidence=evidence, minlen=minlen, module=module.module)


@check("accounts.lockout", items=["XI.2.1.6"], severity=Severity.MEDIUM, reads=(Accounts,), judge=on_accounts)
def lockout(a: Accounts) -> Verdict:
    data = accounts_data()
    if not a.pam_files:
        return verdict(Status.UNKNOWN, "no_pam")
    entries = [e for e in a.pam if e.type == "auth" and e.module in ("pam_faillock.so", "pam_tally2.so", "pam_tally.so")]
    evidence = {"pam": _pam_evidence(entries), "pam_files": list(a.pam_files), "faillock_conf": a.faillock,
                "max_deny": data.lockout.max_deny, "source": data.lockout.source}
    if not entries:
        return failed("none", evidence=evidence)
    entry = entries[0]
    deny = _int(entry.arg("deny"))
    if deny is None and entry.module == "pam_faillock.so":
        deny = _int(a.faillock.get("deny")) if "deny" in a.faillock else data.tool_defaults.faillock_deny
    evidence["deny"] = deny
    if not deny:  # pam_tally2 without deny= counts but never locks; deny=0 turns faillock off
        return failed("disabled", evidence=evidence, module=entry.module)
    if deny > data.lockout.max_deny:
        return failed("lenient", evidence=evidence, severity=Severity.LOW, deny=deny, limit=data.lockout.max_deny)
    return passed("ok", evidence=evidence, module=entry.module, deny=deny)


def _no_sudo(a: Accounts) -> Verdict | None:
    if a.sudo.installed is False and a.sudo.sudoers in ("missing", "not_run"):
        return verdict(Status.NOT_APPLICABLE, "no_sudo")
    return None


def sudo_nopasswd(a: Accounts, scan_user: str | None = None) -> Verdict:
    """`scan_user`: the account the inventory scans this host with when it says `become: sudo`;
    its own NOPASSWD rule is what `sudo -n` needs, so it is reported (info), not judged a gap."""
    if (na := _no_sudo(a)) is not None:
        return na
    s = a.sudo
    if s.sudoers == "ok" and not s.files_denied:
        no_auth = [d.model_dump(mode="json") for d in s.defaults if d.name == "authenticate" and d.negated]
        own = [r for r in s.nopasswd_rules if scan_user and r.who == scan_user]
        others = [r for r in s.nopasswd_rules if r not in own]
        evidence = {"rules": [r.model_dump(mode="json") for r in others][:100], "defaults_without_authentication": no_auth,
                    "scan_account_rules": [r.model_dump(mode="json") for r in own], "files": list(s.files),
                    # flat, for the evidence and fix sentences: the offending rules and their files
                    "rule_lines": [f"{r.file}: {r.line}" for r in others][:SHOWN],
                    "rule_files": sorted({r.file for r in others})}
        everything = [r for r in others if r.all_commands]
        if everything or no_auth:
            who = [r.who for r in everything] + [d["scope"] or "Defaults" for d in no_auth]
            return failed("nopasswd_all", evidence=evidence, who=_names(who))
        if others:
            return failed("nopasswd_limited", evidence=evidence, severity=Severity.LOW,
                          who=_names([r.who for r in others]))
        if own:
            return verdict(Status.INFO, "scan_account_only", evidence=evidence, user=scan_user,
                           commands=_names([c for r in own for c in r.commands]))
        return passed("none", evidence=evidence, rules=s.rule_count)
    # sudoers unreadable: what the scanning user itself may do is all we know.
    evidence = {"sudoers": s.sudoers, "files_denied": list(s.files_denied), "sudo_list": s.list_status,
                "own_rules": list(s.list_rules)}
    own_list = [r for r in s.list_rules if "NOPASSWD" in r]
    if own_list:
        all_commands = any(r.rstrip().endswith(("NOPASSWD: ALL", "NOPASSWD:ALL")) for r in own_list)
        return failed("own_nopasswd", evidence=evidence, severity=None if all_commands else Severity.LOW,
                      rules="; ".join(own_list[:5]))
    return verdict(Status.UNKNOWN, "sudoers_unreadable", evidence=evidence, state=s.sudoers)


def _scan_user(ctx: HostContext) -> str | None:
    ssh = ctx.inventory.ssh_of(ctx.host)
    return ssh.user if ssh.become == "sudo" else None


@check("accounts.sudo_logging", items=["XI.3.6.5"], severity=Severity.MEDIUM, reads=(Accounts,), judge=on_accounts)
def sudo_logging(a: Accounts) -> Verdict:
    if (na := _no_sudo(a)) is not None:
        return na
    s = a.sudo
    if s.sudoers != "ok":
        return verdict(Status.UNKNOWN, "sudoers_unreadable", evidence={"sudoers": s.sudoers}, state=s.sudoers)
    found = {name: s.default(name) for name in ("logfile", "log_output", "log_input", "syslog", "use_pty")}
    evidence = {name: (d.model_dump(mode="json") if d else None) for name, d in found.items()}
    dedicated = [name for name in ("logfile", "log_output", "log_input") if found[name] and not found[name].negated]
    if dedicated:
        return passed("logged", evidence=evidence, how=", ".join(dedicated),
                      use_pty="use_pty" if found["use_pty"] and not found["use_pty"].negated else "no use_pty")
    if found["syslog"] and found["syslog"].negated:
        return failed("not_logged", evidence=evidence)
    return failed("syslog_only", evidence=evidence, severity=Severity.LOW)


@check("accounts.sudo_nopasswd", items=["XI.2.1.6", "XI.3.6.5"], severity=Severity.HIGH, reads=(Accounts,))
def nopasswd(ctx: HostContext) -> Verdict:
    return sudo_nopasswd(ctx.facts(Accounts), _scan_user(ctx))
