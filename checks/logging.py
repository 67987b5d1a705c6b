"""Logging on a host (XI.3.3.1 to XI.3.3.3): a log daemon runs and keeps logs, auditd with
rules, authentication messages written, the clock synchronised, logs forwarded to a central
collector, and how many days the system and auth logs are kept against the required minimum.

Daemons are recognised from processes, not systemctl, so hosts without systemd are judged too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.monitoring import AGENT_MAY_READ, AGENT_READS, process_view, product_states
from checks.registry import HostContext, MissingFacts, Verdict, check, failed, passed, verdict
from checks.settings import load_data
from scanner.facts.agents import Process, Processes
from scanner.facts.logging import (
    Auditd,
    Forward,
    Journald,
    Logrotate,
    LogShippers,
    RotatePolicy,
    Rsyslog,
    SyslogConfig,
    SyslogNg,
    TimeSync,
)
from scanner.model import Frozen, Severity, Status

DAY = 86400.0
NEVER_REMOVED_DAYS = 36500  # `rotate -1`: logrotate never removes old logs


class Daemon(Frozen):
    name: str
    processes: list[str]
    source: str


class Names(Frozen):
    names: list[str]
    source: str


class Paths(Frozen):
    paths: list[str]
    source: str


class RotationDays(Frozen):
    values: dict[str, float]
    source: str


class Buckets(Frozen):
    three_months: int
    six_months: int
    source: str


class LoggingData(Frozen):
    syslog_daemons: list[Daemon]
    journald_processes: Names
    auditd_processes: Names
    time_sync_daemons: list[Daemon]
    system_log_files: Paths
    auth_log_files: Paths
    rotation_days: RotationDays
    survey_buckets: Buckets


def logging_data() -> LoggingData:
    return load_data("logging", LoggingData)


def running_daemons(procs: Processes, daemons: list[Daemon]) -> list[tuple[Daemon, list[Process]]]:
    return [(d, found) for d in daemons if (found := procs.matching(d.processes))]


def _pids(found: list[Process]) -> list[str]:
    return [f"{p.name} (pid {p.pid})" for p in found[:5]]


def _optional(ctx: HostContext, model):
    try:
        return ctx.facts(model)
    except MissingFacts:
        return None


SYSLOG_CONFIGS = (Rsyslog, SyslogNg)  # what syslog_configs reads, when gathered


def syslog_configs(ctx: HostContext, procs: Processes) -> list[tuple[str, SyslogConfig | None, list[Process]]]:
    """(daemon, its configuration facts, its processes) for each syslog daemon that runs."""
    out = []
    for daemon, found in running_daemons(procs, logging_data().syslog_daemons):
        model = {"rsyslog": Rsyslog, "syslog-ng": SyslogNg}.get(daemon.name)
        out.append((daemon.name, _optional(ctx, model) if model else None, found))
    return out


# -- retention -----------------------------------------------------------------------------------

def bucket(days: float) -> str:
    """The survey's box for XI.3.3.3."""
    b = logging_data().survey_buckets
    if days >= b.six_months:
        return "06 tháng"
    if days >= b.three_months:
        return "03 tháng"
    return f"Khác: {int(days)} ngày"


def policy_days(policy: RotatePolicy) -> tuple[float | None, str]:
    """Days of logs a logrotate policy keeps for sure, and how that was worked out (or why it
    cannot be: size-based rotation depends on how fast the log grows)."""
    days, method, _ = policy_retention(policy)
    return days, method


def policy_retention(policy: RotatePolicy) -> tuple[float | None, str, dict[str, Any]]:
    """`policy_days` plus the same reasoning as flat, language-free values (numbers, settings as
    written, file:line) that the text catalog phrases in each language; `method` stays the raw
    English record kept in the evidence."""
    table = logging_data().rotation_days.values
    where = {"rotate_config": policy.source}
    if policy.size:
        return None, f"size-based rotation (size {policy.size}): depends on log volume", where | {
            "rotate_size": policy.size}
    if policy.frequency is None:
        return None, "no rotation interval set", where | {"rotate_no_interval": policy.source}
    if policy.rotate is None:
        return None, "rotate count not a number", where | {"rotate_count_invalid": policy.source}
    if policy.rotate < 0:
        return NEVER_REMOVED_DAYS, "rotate -1: old logs are never removed", where | {"rotate_never_removed": "rotate -1"}
    period = table[policy.frequency]
    days = period * policy.rotate
    how: dict[str, Any] = where | {"rotate_every_days": period, "rotate_count": policy.rotate}
    method = f"{policy.frequency} ({period:g} days) × rotate {policy.rotate} = {days:g} days"
    if policy.maxage is not None and policy.maxage < days:
        days = float(policy.maxage)
        method += f", cut to maxage {policy.maxage}"
        how["rotate_maxage_days"] = policy.maxage
    if policy.maxsize:
        return None, method + f"; maxsize {policy.maxsize} may rotate sooner: depends on log volume", how | {
            "rotate_size": policy.maxsize}
    return days, method + f" ({policy.source})", how


@dataclass
class Store:
    """One place logs are kept, and for how long."""

    name: str
    days: float | None  # guaranteed by the configuration; None: undetermined
    method: str
    observed_days: float | None = None  # age of the oldest log actually kept
    details: list[dict] = field(default_factory=list)
    how: dict[str, Any] = field(default_factory=dict)  # `method` as flat values the catalog phrases

    def evidence(self) -> dict:
        return {"store": self.name, "days": self.days, "method": self.method,
                "observed_oldest_days": self.observed_days, "files": self.details}


def log_files(ctx: HostContext, procs: Processes) -> tuple[list[str], str]:
    """The files that hold system and auth messages: from the running daemon's rules, else the
    distribution defaults in checks/data/logging.yaml."""
    paths: list[str] = []
    for _, conf, _ in syslog_configs(ctx, procs):
        if conf is None:
            continue
        for rule in conf.rules:
            if rule.action == "file" and rule.file and rule.facilities and (
                    {"auth", "authpriv", "daemon"} & set(rule.facilities)):
                paths.append(rule.file)
    if paths:
        return list(dict.fromkeys(paths)), "syslog rules"
    return logging_data().system_log_files.paths + logging_data().auth_log_files.paths, "distribution defaults"


def files_store(ctx: HostContext, procs: Processes, rotate: Logrotate, required: int | None) -> Store | None:
    paths, basis = log_files(ctx, procs)
    daemons = running_daemons(procs, logging_data().syslog_daemons)
    existing = [p for p in paths if rotate.copies_of(p)]
    if not daemons and not existing:
        return None
    if basis == "distribution defaults":
        paths = existing or paths
    details, guaranteed, undetermined, observed = [], [], [], []
    for path in paths:
        stanza = rotate.stanza_for(path)
        if stanza is None:
            days, method, how = None, "no logrotate stanza names this file", {"rotate_unmanaged": path}
        else:
            days, method, how = policy_retention(stanza.policy)
        copies = [c for c in rotate.copies_of(path) if c.path != path]
        seen = round((rotate.now - min(c.mtime for c in copies)) / DAY, 1) if copies and rotate.now else None
        details.append({"file": path, "days": days, "method": method, "rotated_copies": len(copies),
                        "oldest_copy_days": seen, "how": how})
        (guaranteed if days is not None else undetermined).append(days)
        if seen is not None:
            observed.append(seen)
    weakest = min(guaranteed) if guaranteed else None
    short = weakest is not None and required is not None and weakest < required
    if (undetermined or weakest is None) and not short:
        # A file whose rotation depends on volume leaves the store undetermined, unless another
        # file is already known to be kept too briefly: the weakest file decides.
        why = "; ".join(d["method"] for d in details if d["days"] is None)
        first = next(d for d in details if d["days"] is None)
        return Store("files", None, f"undetermined: {why}", min(observed) if observed else None, details,
                     first["how"] | {"log_file": first["file"]})
    chosen = next(d for d in details if d["days"] == weakest)
    return Store("files", weakest, f"{chosen['method']} (weakest of {len(paths)} files, from {basis})",
                 min(observed) if observed else None, details,
                 chosen["how"] | {"log_file": chosen["file"], "log_files_count": len(paths)})


def journal_store(journal: Journald, procs: Processes) -> Store | None:
    if not procs.matching(logging_data().journald_processes.names):
        return None
    observed = None
    if journal.oldest_entry and journal.now and journal.as_root:
        observed = round((journal.now - journal.oldest_entry) / DAY, 1)
    span = journal.file_span_sec
    # read by the fix plan too (reports/fixplan/journald.py): how long one journal file spans
    settings = {"Storage": journal.storage, "MaxRetentionSec": journal.settings.get("MaxRetentionSec"),
                "MaxFileSec": journal.max_file_sec, "file_span_days": round(span / DAY, 2) if span else None,
                "SystemMaxUse": journal.max_use, "files": list(journal.files),
                "disk_usage_bytes": journal.disk_usage_bytes}
    if not journal.persistent:
        return Store("journald", 0.0, f"Storage={journal.storage} without /var/log/journal: lost at reboot",
                     observed, [settings], {"journal_storage": journal.storage or "auto"})
    if journal.max_retention_sec:
        source = journal.sources.get("MaxRetentionSec", "")
        retention = f"MaxRetentionSec={journal.settings.get('MaxRetentionSec')} ({source})"
        if span is None:
            return Store("journald", None, f"undetermined: {retention}, but MaxFileSec={journal.max_file_sec}: "
                         "a journal file, deleted whole, may span any time", observed, [settings],
                         {"journal_max_retention": journal.settings.get("MaxRetentionSec"),
                          "journal_unbounded_file": journal.max_file_sec or "-"})
        days = max(round((journal.max_retention_sec - span) / DAY, 1), 0.0)
        max_file = journal.max_file_sec or "1month"
        return Store("journald", days, f"{retention} less one file's span (MaxFileSec={max_file}); "
                     "size limits (SystemMaxUse, SystemKeepFree) may remove entries sooner", observed, [settings],
                     {"journal_max_retention": journal.settings.get("MaxRetentionSec"), "journal_config": source,
                      "journal_max_file": max_file, "journal_file_days": round(span / DAY, 1)})
    return Store("journald", None, "undetermined: no MaxRetentionSec, only size limits "
                 f"(SystemMaxUse={journal.max_use or 'default: 10% of the filesystem, at most 4G'})",
                 observed, [settings], {"journal_size_only": journal.max_use or "-"})


def audit_store(audit: Auditd | None, rotate: Logrotate) -> dict | None:
    if audit is None or not audit.config_present:
        return None
    copies = rotate.copies_of(audit.config.get("log_file", "/var/log/audit/audit.log"))
    oldest = round((rotate.now - min(c.mtime for c in copies)) / DAY, 1) if copies and rotate.now else None
    size = (audit.num_logs or 0) * (audit.max_log_file_mb or 0)
    return {"store": "auditd", "days": None,
            "method": f"undetermined: max_log_file_action={audit.max_log_file_action}, num_logs {audit.num_logs} × "
                      f"max_log_file {audit.max_log_file_mb} MB = {size} MB: depends on audit volume",
            "observed_oldest_days": oldest}


def required_days(ctx: HostContext) -> int | None:
    return ctx.settings.log_retention_days(ctx.security_level, ctx.inventory.scan.log_retention_days)


def _how(store: Store | None, observed: bool = False) -> dict[str, Any]:
    """The deciding store's reasoning as flat evidence keys for the evidence sentence: the
    configuration values, or the age of the oldest log actually kept."""
    if store is None:
        return {}
    return {"observed_oldest_days": store.observed_days} if observed else dict(store.how)


def judge_retention(stores: list[Store], required: int | None, extra: dict) -> Verdict:
    evidence = {"required_days": required, "stores": [s.evidence() for s in stores], **extra}
    if not stores:
        return failed("no_store", evidence=evidence)
    determined = [s for s in stores if s.days is not None]
    best = max(determined, key=lambda s: s.days) if determined else None
    observed = [s for s in stores if s.days is None and s.observed_days is not None]
    best_seen = max(observed, key=lambda s: s.observed_days) if observed else None
    shown = best.days if best else (best_seen.observed_days if best_seen else None)
    if shown is not None:
        # read by the survey report (checks/data/survey.yaml XI.3.3.3 options_from)
        evidence["days"], evidence["survey_bucket"] = shown, bucket(shown)
    undetermined = next((s for s in stores if s.days is None), None)
    if required is None:
        if shown is None:
            return verdict(Status.UNKNOWN, "undetermined", evidence=evidence | _how(undetermined),
                           reasons="; ".join(s.method for s in stores))
        store = best or best_seen
        return verdict(Status.INFO, "no_requirement", evidence=evidence | _how(store, observed=not best), days=shown,
                       store=store.name, method=store.method if best else "oldest log kept", bucket=bucket(shown))
    if best and best.days >= required:
        return passed("enough", evidence=evidence | _how(best), days=best.days, store=best.name, method=best.method,
                      required=required, bucket=bucket(best.days))
    if best_seen and best_seen.observed_days >= required:
        return passed("enough_observed", evidence=evidence | _how(best_seen, observed=True),
                      days=best_seen.observed_days, store=best_seen.name, required=required,
                      bucket=bucket(best_seen.observed_days))
    if any(s.days is None for s in stores):
        return verdict(Status.UNKNOWN, "undetermined", evidence=evidence | _how(undetermined),
                       reasons="; ".join(s.method for s in stores if s.days is None))
    return failed("too_short", evidence=evidence | _how(best), days=best.days, store=best.name, method=best.method,
                  required=required, bucket=bucket(best.days))


# -- forwarding ----------------------------------------------------------------------------------

def _forward_evidence(fwd: Forward) -> dict:
    return {"via": fwd.via, "destination": fwd.destination, "selector": fwd.selector, "source": fwd.source,
            "config": fwd.text, "ruleset": fwd.ruleset}



@check("logging.daemon", items=["XI.3.3.1"], severity=Severity.HIGH, reads=(Processes, Journald))
def daemon(ctx: HostContext) -> Verdict:
    procs = ctx.facts(Processes)
    view = process_view(ctx)
    found = running_daemons(procs, logging_data().syslog_daemons)
    if found:
        names = ", ".join(d.name for d, _ in found)
        return passed("syslog_running", daemon=names,
                      evidence={**view, "running": {d.name: _pids(p) for d, p in found}})
    journal = ctx.facts(Journald)
    journald = procs.matching(logging_data().journald_processes.names)
    jevidence = {"storage": journal.storage, "persistent_dir": journal.persistent_dir, "files": list(journal.files)}
    if journald and journal.persistent:
        return passed("journald_persistent", storage=journal.storage,
                      evidence={**view, "journald": _pids(journald), **jevidence})
    if journald:
        return failed("journald_volatile", storage=journal.storage,
                      evidence={**view, "journald": _pids(journald), **jevidence})
    if not procs.complete:
        return verdict(Status.UNKNOWN, "process_view_limited", evidence=view)
    return failed("none", evidence={**view, "looked_for": [d.name for d in logging_data().syslog_daemons]
                                    + logging_data().journald_processes.names})


@check("logging.auditd", items=["XI.3.3.1"], severity=Severity.MEDIUM, reads=(Processes, Auditd))
def auditd(ctx: HostContext) -> Verdict:
    procs = ctx.facts(Processes)
    audit = ctx.facts(Auditd)
    found = procs.matching(logging_data().auditd_processes.names)
    evidence = {**process_view(ctx), "auditd": _pids(found), "enabled": audit.enabled,
                "rules_count": audit.rules_count, "rules": list(audit.rules[:20]),
                "config": {k: audit.config[k] for k in ("log_file", "num_logs", "max_log_file",
                                                         "max_log_file_action") if k in audit.config}}
    if not found:
        if not procs.complete:
            return verdict(Status.UNKNOWN, "process_view_limited", evidence=evidence)
        return failed("not_running", evidence=evidence)
    if audit.rules_count is None:
        return verdict(Status.UNKNOWN, "needs_root", evidence=evidence)
    if audit.rules_count == 0:
        return failed("no_rules", evidence=evidence)
    if audit.enabled == 0:
        return failed("disabled", evidence=evidence)
    return passed("running", rules=audit.rules_count, evidence=evidence)


@check("logging.remote_forwarding", items=["XI.3.3.2"], severity=Severity.HIGH, reads=AGENT_READS,
       may_read=(*SYSLOG_CONFIGS, LogShippers, *AGENT_MAY_READ))
def remote_forwarding(ctx: HostContext) -> Verdict:
    procs = ctx.facts(Processes)
    view = process_view(ctx)
    active: list[dict] = []
    idle: list[dict] = []
    ruleset_only: list[dict] = []
    unreadable: list[str] = []
    running = {name for name, _, _ in syslog_configs(ctx, procs)}
    for name, model in (("rsyslog", Rsyslog), ("syslog-ng", SyslogNg)):
        conf = _optional(ctx, model)
        if conf is None:
            continue
        if conf.denied and not conf.forwards:
            unreadable += [f"{name}: {d}" for d in conf.denied]
        for fwd in conf.forwards:
            if not fwd.used:
                continue
            if name not in running:
                idle.append(_forward_evidence(fwd))
            elif fwd.ruleset:
                ruleset_only.append(_forward_evidence(fwd))
            else:
                active.append(_forward_evidence(fwd))
    shippers = _optional(ctx, LogShippers)
    configured = {}
    if shippers is not None:
        for conf in shippers.configs:
            configured.setdefault(conf.product, []).extend(conf.destinations)
        unreadable += [f"shipper: {d}" for d in shippers.denied]
    unmapped_running = []
    for state in product_states(ctx, ("log_shipper",)):
        key = state.product.shipper
        dests = configured.get(key or "", [])
        if state.running and dests:
            active += [_forward_evidence(d) for d in dests]
        elif state.running:
            unmapped_running.append(state.product.name)
        elif dests:
            idle += [_forward_evidence(d) for d in dests]
    evidence = {**view, "forwarding": active, "configured_not_running": idle, "in_rulesets_only": ruleset_only,
                "running_without_readable_destination": unmapped_running, "unreadable": unreadable}
    if active:
        dests = ", ".join(dict.fromkeys(f"{a['destination']} ({a['via']})" for a in active))
        return passed("forwarding", destinations=dests, evidence=evidence)
    if ruleset_only or unmapped_running or unreadable:
        return verdict(Status.UNKNOWN, "undetermined", evidence=evidence,
                       detail=", ".join(unmapped_running + [r["destination"] for r in ruleset_only]
                                        + unreadable)[:300])
    if idle:
        return failed("configured_not_running", destinations=", ".join(i["destination"] for i in idle),
                      evidence=evidence)
    if not procs.complete:
        return verdict(Status.UNKNOWN, "process_view_limited", evidence=evidence)
    return failed("none", evidence=evidence)


@check("logging.retention", items=["XI.3.3.3"], severity=Severity.HIGH, reads=(Processes, Logrotate, Journald),
       may_read=(*SYSLOG_CONFIGS, Auditd))
def retention(ctx: HostContext) -> Verdict:
    procs = ctx.facts(Processes)
    rotate = ctx.facts(Logrotate)
    journal = ctx.facts(Journald)
    required = required_days(ctx)
    stores = [s for s in (files_store(ctx, procs, rotate, required), journal_store(journal, procs)) if s is not None]
    extra = {"security_level": ctx.security_level,
             "required_basis": "scan.log_retention_days" if ctx.inventory.scan.log_retention_days
             else "thresholds.yaml log_retention_days_by_level",
             "audit": audit_store(_optional(ctx, Auditd), rotate),
             "logrotate_unresolved": list(rotate.unresolved_includes), "logrotate_denied": list(rotate.denied)}
    return judge_retention(stores, required, extra)


@check("logging.time_sync", items=["XI.3.3.1"], severity=Severity.MEDIUM, reads=(Processes, TimeSync))
def time_sync(ctx: HostContext) -> Verdict:
    procs = ctx.facts(Processes)
    sync = ctx.facts(TimeSync)
    found = running_daemons(procs, logging_data().time_sync_daemons)
    evidence = {**process_view(ctx), "running": {d.name: _pids(p) for d, p in found},
                "NTPSynchronized": sync.timedatectl.get("NTPSynchronized"), "chrony_leap": sync.chrony_leap,
                "chrony_reference": sync.chrony_reference, "ntpq_selected": list(sync.ntpq_selected),
                "servers": list(sync.configured_servers)}
    if not found:
        if not procs.complete:
            return verdict(Status.UNKNOWN, "process_view_limited", evidence=evidence)
        return failed("none", evidence=evidence)
    names = ", ".join(d.name for d, _ in found)
    unsynced = (sync.chrony_leap or "").lower().startswith("not synchron") or sync.ntp_synchronized is False
    if unsynced:
        return failed("not_synchronised", daemon=names, evidence=evidence)
    synced = (sync.chrony_leap or "").lower() == "normal" or sync.ntp_synchronized is True or sync.ntpq_selected
    return passed("synchronised" if synced else "running", daemon=names, evidence=evidence)


@check("logging.auth_log", items=["XI.3.3.1"], severity=Severity.MEDIUM, reads=(Processes, Journald),
       may_read=SYSLOG_CONFIGS)
def auth_log(ctx: HostContext) -> Verdict:
    procs = ctx.facts(Processes)
    view = process_view(ctx)
    unreadable = []
    for name, conf, _ in syslog_configs(ctx, procs):
        if conf is None or not conf.present:
            unreadable.append(name)
            continue
        auth = conf.files_for("auth") + [f for f in conf.forwards if f.facilities and "auth" in f.facilities]
        authpriv = conf.files_for("authpriv") + [f for f in conf.forwards if f.facilities and "authpriv" in f.facilities]
        if auth and authpriv:
            where = ", ".join(dict.fromkeys([r.file or "" for r in conf.files_for("auth")]
                                            + [r.file or "" for r in conf.files_for("authpriv")]))
            return passed("syslog", daemon=name, files=where or "remote",
                          evidence={**view, "rules": [{"selector": r.selector, "file": r.file, "source": r.source}
                                                      for r in conf.files_for("auth") + conf.files_for("authpriv")]})
    journal = ctx.facts(Journald)
    journald = procs.matching(logging_data().journald_processes.names)
    if journald and journal.persistent:
        return passed("journald", storage=journal.storage, evidence={**view, "journald": _pids(journald)})
    if unreadable:
        return verdict(Status.UNKNOWN, "config_unreadable", daemon=", ".join(unreadable), evidence=view)
    if journald:
        return failed("volatile_only", severity=Severity.LOW, evidence={**view, "storage": journal.storage})
    if not procs.complete:
        return verdict(Status.UNKNOWN, "process_view_limited", evidence=view)
    return failed("none", evidence=view)
