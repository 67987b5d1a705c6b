"""Patch level (survey items XI.2.1.2 and XI.2.3): OS support period, pending (security)
updates, pending reboot, time since the last update, and how fresh the update data is.

The facts come from the package manager's existing cache, never refreshed by the scan, so the
checks carry the cache's age as evidence and `patch.package_lists_stale` says when it is too old
for the other answers to be trusted.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import model_validator

from checks.registry import HostContext, Verdict, check, failed, passed, verdict
from checks.settings import Sourced, load_data
from scanner.facts.patching import Patching, PendingUpdate, RebootStatus
from scanner.facts.system import OsRelease
from scanner.model import Frozen, Severity, Status

SHOWN = 30  # package names listed in a message; the evidence keeps up to EVIDENCE_ROWS rows
EVIDENCE_ROWS = 200
DAY = 86400


class EolRow(Frozen):
    ids: tuple[str, ...]
    release: str
    variant: str | None = None
    name: str
    standard_end: date
    extended_end: date | None = None
    extended_kind: Literal["free", "paid"] | None = None
    extended_name: str | None = None
    source: str
    checked: date

    @model_validator(mode="after")
    def _extended_has_a_kind(self) -> EolRow:
        if (self.extended_end is None) != (self.extended_kind is None):
            raise ValueError(f"{self.name}: extended_end and extended_kind go together")
        return self


class NoSecurityMetadata(Frozen):
    ids: tuple[str, ...]
    source: str


class PatchingPolicy(Frozen):
    eol_warn_days: Sourced
    last_update_max_days: Sourced
    package_lists_max_age_days: Sourced
    pending_updates_medium_count: Sourced
    no_security_metadata: NoSecurityMetadata


class EolData(Frozen):
    releases: tuple[EolRow, ...]
    patching: PatchingPolicy


def eol_data() -> EolData:
    return load_data("eol", EolData)


def find_release(rows: tuple[EolRow, ...], os: OsRelease) -> EolRow | None:
    """The most specific row for the host's os-release: exact or leading version match
    ("9" matches 9.4), a variant row (CentOS Stream) before a plain one."""
    if not os.id or not os.version_id:
        return None
    pretty = (os.pretty_name or "").lower()
    candidates = [r for r in rows
                  if os.id in r.ids
                  and (os.version_id == r.release or os.version_id.startswith(r.release + "."))
                  and (r.variant is None or r.variant.lower() in pretty)]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (len(r.release), r.variant is not None))


def _host_now(ctx: HostContext, host_now: int | None) -> float:
    # Ages are measured on the host's own clock, the one its file times were written with.
    return float(host_now) if host_now else ctx.now.timestamp()


def _days(ctx: HostContext, host_now: int | None, then: int) -> int:
    return int((_host_now(ctx, host_now) - then) // DAY)


def _rows(updates: tuple[PendingUpdate, ...]) -> list[dict]:
    return [u.model_dump(mode="json", exclude_none=True, exclude_defaults=True) for u in updates[:EVIDENCE_ROWS]]


def _names(updates: tuple[PendingUpdate, ...]) -> str:
    names = [u.name for u in updates[:SHOWN]]
    return ", ".join(names) + (f" (+{len(updates) - SHOWN})" if len(updates) > SHOWN else "")


# The read-only commands scanner/hostprobes/patching.py runs per package manager, and where it
# reads the time of the last package change: named in the report's evidence sentence.
QUERIES = {
    "apt": {"query": "apt-get -s dist-upgrade", "security_query": "apt-get -s dist-upgrade",
            "last_change_record": "/var/lib/dpkg/status"},
    "dnf": {"query": "dnf -C check-update", "security_query": "dnf -C updateinfo list --security",
            "last_change_record": "rpm -qa --qf '%{INSTALLTIME}'"},
    "yum": {"query": "yum -C check-update", "security_query": "yum -C updateinfo list security",
            "last_change_record": "rpm -qa --qf '%{INSTALLTIME}'"},
    "zypper": {"query": "zypper --no-refresh list-updates",
               "security_query": "zypper --no-refresh list-patches --category security",
               "last_change_record": "rpm -qa --qf '%{INSTALLTIME}'"},
}


def _queries(manager: str, *keys: str) -> dict:
    row = QUERIES.get(manager, {})
    return {k: row[k] for k in keys if k in row}


def _metadata_evidence(ctx: HostContext, p: Patching) -> dict:
    newest = p.metadata_mtime
    return {"metadata_age_days": _days(ctx, p.now, newest) if newest else None,
            "metadata_files": [f.model_dump(mode="json") for f in p.metadata_files[:20]]}


def _updates_unknown(p: Patching, status: str, error: str | None) -> Verdict | None:
    if p.manager == "unknown":
        return verdict(Status.UNKNOWN, "no_manager", evidence={"missing": list(p.missing)})
    if status != "ok":
        return verdict(Status.UNKNOWN, "query_failed", evidence={"manager": p.manager, "status": status,
                                                                 "error": error}, error=error or status)
    return None




def policy() -> PatchingPolicy:
    return eol_data().patching


@check("patch.os_eol", items=["XI.2.1.2"], severity=Severity.CRITICAL, reads=(OsRelease,))
def os_eol(ctx: HostContext) -> Verdict:
    os = ctx.facts(OsRelease)
    return judge_eol(ctx, os, os.pretty_name or f"{os.id or '?'} {os.version_id or ''}".strip())


def judge_eol(ctx: HostContext, os: OsRelease, label: str, seen: dict | None = None) -> Verdict:
    """The support verdict of the release `os` names (`seen`: how the host told it, as evidence)."""
    row = find_release(eol_data().releases, os)
    if row is None:
        return verdict(Status.UNKNOWN, "not_in_table", os=label,
                       evidence={"id": os.id, "version_id": os.version_id, "pretty_name": os.pretty_name, **(seen or {})})
    today = ctx.now.date()
    evidence = {**(seen or {}), "os": label, "release": row.name, "standard_end": str(row.standard_end),
                "extended_end": str(row.extended_end) if row.extended_end else None,
                "extended_name": row.extended_name, "extended_kind": row.extended_kind,
                "source": row.source, "checked": str(row.checked)}
    last_day = row.extended_end or row.standard_end
    if today > last_day:
        return failed("past_eol", evidence=evidence, os=row.name, date=str(last_day))
    if today > row.standard_end:
        extended = {"os": row.name, "date": str(row.standard_end), "extended": row.extended_name,
                    "until": str(row.extended_end), "days": (row.extended_end - today).days}
        if row.extended_kind == "free":
            # Every installation still gets security updates from its usual sources: supported,
            # with the day the upgrade must be done by.
            return passed("free_extended", evidence=evidence, **extended)
        # Covered only if the unit holds the subscription: a person must confirm it.
        return verdict(Status.MANUAL, "paid_extended", evidence=evidence, **extended)
    days_left = (row.standard_end - today).days
    if days_left <= policy().eol_warn_days.value:
        return passed("ends_soon", evidence=evidence | {"days_left": days_left}, os=row.name,
                      date=str(row.standard_end), days=days_left)
    return passed("supported", evidence=evidence, os=row.name, date=str(row.standard_end))


@check("patch.security_updates", items=["XI.2.3", "XI.2.1.2"], severity=Severity.HIGH, reads=(Patching, OsRelease))
def security_updates(ctx: HostContext) -> Verdict:
    p = ctx.facts(Patching)
    if (unknown := _updates_unknown(p, p.security_status, p.security_error)) is not None:
        return unknown
    evidence = {"manager": p.manager, **_queries(p.manager, "security_query"), **_metadata_evidence(ctx, p)}
    pending = p.security_updates
    if pending:
        return failed("pending", evidence=evidence | {"updates": _rows(pending)}, count=len(pending),
                      packages=_names(pending))
    os = ctx.facts(OsRelease)
    if p.updates and p.manager in ("dnf", "yum") and os.id in policy().no_security_metadata.ids:
        return verdict(Status.UNKNOWN, "no_advisory_data", count=len(p.updates),
                       evidence=evidence | {"os": os.id, "why": policy().no_security_metadata.source})
    return passed("none", evidence=evidence)


@check("patch.pending_updates", items=["XI.2.3", "XI.2.1.2"], severity=Severity.LOW, reads=(Patching,))
def pending_updates(ctx: HostContext) -> Verdict:
    p = ctx.facts(Patching)
    if (unknown := _updates_unknown(p, p.updates_status, p.updates_error)) is not None:
        return unknown
    evidence = {"manager": p.manager, "kept_back": list(p.kept_back), **_queries(p.manager, "query"),
                **_metadata_evidence(ctx, p)}
    if not p.updates:
        return passed("none", evidence=evidence)
    many = len(p.updates) >= policy().pending_updates_medium_count.value
    return failed("pending", evidence=evidence | {"updates": _rows(p.updates)},
                  severity=Severity.MEDIUM if many else None, count=len(p.updates),
                  packages=_names(p.updates))


@check("patch.reboot_required", items=["XI.2.3", "XI.2.1.2"], severity=Severity.MEDIUM, reads=(RebootStatus,))
def reboot_required(ctx: HostContext) -> Verdict:
    r = ctx.facts(RebootStatus)
    evidence = r.model_dump(mode="json", exclude={"unparsed_lines", "now"})
    reasons = []
    if r.running_is_newest is False:
        reasons.append(f"kernel {r.running_kernel} < {r.newest_kernel}")
    if r.reboot_required_flag:
        reasons.append("reboot-required flag")
    if r.needs_restarting == "reboot":
        reasons.append(r.needs_restarting_tool or "needs-restarting")
    if reasons:
        return failed("reboot_needed", evidence=evidence, reasons="; ".join(reasons))
    if r.running_is_newest or r.needs_restarting == "no_reboot":
        return passed("up_to_date", evidence=evidence, kernel=r.running_kernel or "?")
    if not r.installed_kernels:
        return verdict(Status.NOT_APPLICABLE, "no_kernel", evidence=evidence, kernel=r.running_kernel or "?")
    return verdict(Status.UNKNOWN, "undecided", evidence=evidence)


@check("patch.last_update_age", items=["XI.2.3"], severity=Severity.MEDIUM, reads=(Patching,))
def last_update_age(ctx: HostContext) -> Verdict:
    p = ctx.facts(Patching)
    if p.last_change is None:
        return verdict(Status.UNKNOWN, "no_record", evidence={"manager": p.manager})
    days = _days(ctx, p.now, p.last_change)
    limit = policy().last_update_max_days
    evidence = {"days": days, "limit_days": limit.value, "limit_source": limit.source,
                "last_change": p.last_change, "how": p.last_change_source,
                **_queries(p.manager, "last_change_record")}
    if days > limit.value:
        return failed("too_old", evidence=evidence, days=days, limit=limit.value)
    return passed("recent", evidence=evidence, days=days, limit=limit.value)


@check("patch.package_lists_stale", items=["XI.2.3"], severity=Severity.LOW, reads=(Patching,))
def package_lists_stale(ctx: HostContext) -> Verdict:
    p = ctx.facts(Patching)
    if p.manager == "unknown":
        return verdict(Status.UNKNOWN, "no_manager", evidence={"missing": list(p.missing)})
    limit = policy().package_lists_max_age_days
    newest = p.metadata_mtime
    evidence = {"manager": p.manager, "limit_days": limit.value, "limit_source": limit.source,
                **_metadata_evidence(ctx, p)}
    if newest is None:
        return failed("no_lists", evidence=evidence, manager=p.manager)
    days = _days(ctx, p.now, newest)
    if days > limit.value:
        return failed("stale", evidence=evidence, days=days, limit=limit.value)
    return passed("fresh", evidence=evidence, days=days)
