"""SSH servers as the network sees them (XI.2.1.2 servers, XI.2.1.6 access): weak algorithms
in the server's KEXINIT, Terrapin, password logins offered to strangers, outdated OpenSSH.

One verdict per declared SSH endpoint (target "22/tcp"); an endpoint the probe could not
read gives `error` for that endpoint, never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Literal

from checks.patching import eol_data, find_release
from checks.registry import HostContext, Verdict, check, failed, passed, verdict
from checks.settings import load_data
from scanner.facts.packages import Packages
from scanner.facts.patching import Patching, PendingUpdate
from scanner.facts.sshserver import SshEndpoint, SshServers
from scanner.facts.system import OsRelease
from scanner.model import Frozen, Severity, Status

PASSWORD_METHODS = ("password", "keyboard-interactive")


class WeakAlgorithm(Frozen):
    match: str
    category: Literal["kex", "host_key", "cipher", "mac", "compression"]
    severity: Severity
    reason: str
    source: str


class Terrapin(Frozen):
    strict_kex_marker: str
    vulnerable_ciphers: tuple[str, ...]
    vulnerable_with_etm: tuple[str, ...]
    etm_macs: tuple[str, ...]
    source: str


class Advisory(Frozen):
    id: str
    introduced: str | None
    fixed: str
    severity: Severity
    summary: str
    source: str


class DistributionMarker(Frozen):
    pattern: str
    distribution: str
    source: str


class OpenSshPackages(Frozen):
    package: dict[str, str]  # package manager -> the package that ships sshd
    related: tuple[str, ...]  # packages built from the same source
    source: str


class OpenSshData(Frozen):
    minimum: str
    source: str
    advisories: tuple[Advisory, ...]
    packages: OpenSshPackages
    distribution_markers: tuple[DistributionMarker, ...]


class SshData(Frozen):
    weak: tuple[WeakAlgorithm, ...]
    terrapin: Terrapin
    openssh: OpenSshData


def ssh_algorithms_data() -> SshData:
    return load_data("ssh_algorithms", SshData)


def version_key(text: str) -> tuple[int, int, int]:
    """'9.2p1' -> (9, 2, 1); '10.0' -> (10, 0, 0). Raises ValueError for anything else."""
    m = re.fullmatch(r"(\d+)\.(\d+)(?:p(\d+))?", text)
    if not m:
        raise ValueError(f"not an OpenSSH version: {text!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def weak_algorithms(endpoint: SshEndpoint, data: SshData) -> list[dict]:
    """Every offered algorithm that a row of the table calls weak, with the row's reason."""
    found = []
    for category, names in endpoint.kexinit.by_category().items():
        rows = [r for r in data.weak if r.category == category]
        for name in names:
            row = next((r for r in rows if fnmatchcase(name, r.match)), None)
            if row:
                found.append({"name": name, "category": category, "severity": row.severity.value,
                              "reason": row.reason, "source": row.source})
    return found


def highest(severities: list[Severity]) -> Severity:
    return max(severities, key=lambda s: s.rank)


def endpoint_evidence(endpoint: SshEndpoint) -> dict:
    ident = endpoint.identification
    return {"address": endpoint.address, "port": endpoint.port,
            "identification": ident.raw if ident else None}


def unreadable(endpoint: SshEndpoint) -> Verdict | None:
    """The verdict for an endpoint the probe could not read, else None."""
    if endpoint.error is None:
        return None
    # The parameter keeps its name `outcome`: results stored by earlier scans fill it too.
    return verdict(Status.ERROR, "probe_failed", target=endpoint.target, evidence=endpoint_evidence(endpoint),
                   port=endpoint.port, outcome=endpoint.error.reason, detail=endpoint.error.detail[:500])


def per_endpoint(ctx: HostContext, judge) -> list[Verdict]:
    servers = ctx.facts(SshServers)
    out = [unreadable(e) or judge(e) for e in servers.endpoints]
    return out or [verdict(Status.NOT_APPLICABLE, "no_endpoint")]


def on_endpoints(judge: Callable[[SshEndpoint], Verdict]) -> Callable[[HostContext], list[Verdict]]:
    """A check of each declared SSH endpoint on its own: `judge(endpoint)`."""
    return lambda ctx: per_endpoint(ctx, judge)


@check("sshd.algorithms.weak", items=["XI.2.1.2"], severity=Severity.MEDIUM, reads=(SshServers,), judge=on_endpoints)
def judge_algorithms(endpoint: SshEndpoint) -> Verdict:
    evidence = endpoint_evidence(endpoint)
    if endpoint.kexinit is None:
        protocol = endpoint.identification.protocol if endpoint.identification else None
        if protocol and protocol.startswith("1."):
            return failed("ssh1_only", target=endpoint.target, evidence=evidence, severity=Severity.CRITICAL,
                          port=endpoint.port, protocol=protocol)
        return verdict(Status.UNKNOWN, "no_kexinit", target=endpoint.target, evidence=evidence, port=endpoint.port)
    evidence["offered"] = {k: list(v) for k, v in endpoint.kexinit.by_category().items()}
    weak = weak_algorithms(endpoint, ssh_algorithms_data())
    if not weak:
        return passed("none_weak", target=endpoint.target, evidence=evidence, port=endpoint.port)
    evidence["weak"] = weak
    return failed("weak", target=endpoint.target, evidence=evidence, port=endpoint.port,
                  severity=highest([Severity(w["severity"]) for w in weak]),
                  names=[w["name"] for w in weak])


@check("sshd.vuln.terrapin", items=["XI.2.1.2"], severity=Severity.MEDIUM, reads=(SshServers,), judge=on_endpoints)
def judge_terrapin(endpoint: SshEndpoint) -> Verdict:
    if endpoint.kexinit is None:
        return verdict(Status.UNKNOWN, "no_kexinit", target=endpoint.target, evidence=endpoint_evidence(endpoint),
                       port=endpoint.port)
    rule = ssh_algorithms_data().terrapin
    offered = endpoint.kexinit.by_category()

    def matching(names, patterns):
        return [n for n in names if any(fnmatchcase(n, p) for p in patterns)]

    etm = matching(offered["mac"], rule.etm_macs)
    modes = matching(offered["cipher"], rule.vulnerable_ciphers)
    if etm:
        modes += matching(offered["cipher"], rule.vulnerable_with_etm)
    strict = rule.strict_kex_marker in endpoint.kexinit.kex
    evidence = {**endpoint_evidence(endpoint), "affected_modes": modes, "etm_macs": etm, "strict_kex": strict,
                "source": rule.source}
    if not modes:
        return passed("modes_absent", target=endpoint.target, evidence=evidence, port=endpoint.port)
    if strict:
        return passed("strict_kex", target=endpoint.target, evidence=evidence, port=endpoint.port)
    return failed("vulnerable", target=endpoint.target, evidence=evidence, port=endpoint.port, modes=modes)


@check("sshd.auth.password_offered", items=["XI.2.1.6"], severity=Severity.MEDIUM,
       reads=(SshServers,), judge=on_endpoints)
def judge_password(endpoint: SshEndpoint) -> Verdict:
    evidence = endpoint_evidence(endpoint)
    auth = endpoint.auth
    if auth is None or auth.methods is None:
        reason = auth.reason if auth else "the server offers no SSH-2 key exchange"
        return verdict(Status.UNKNOWN, "methods_unknown", target=endpoint.target, evidence=evidence,
                       port=endpoint.port, reason=reason[:500])
    evidence.update(methods=list(auth.methods), probe_user=auth.username)
    if auth.host_key:
        evidence["host_key"] = auth.host_key.model_dump()
    if auth.none_accepted:
        return failed("none_accepted", target=endpoint.target, evidence=evidence, severity=Severity.CRITICAL,
                      port=endpoint.port, user=auth.username)
    if "password" in auth.methods:
        return failed("password", target=endpoint.target, evidence=evidence, port=endpoint.port,
                      methods=list(auth.methods))
    if "keyboard-interactive" in auth.methods:
        # Often PAM asking for the password, sometimes a one-time code: a lower finding.
        return failed("keyboard_interactive", target=endpoint.target, evidence=evidence, severity=Severity.LOW,
                      port=endpoint.port, methods=list(auth.methods))
    return passed("no_password", target=endpoint.target, evidence=evidence, port=endpoint.port,
                  methods=list(auth.methods))


@dataclass(frozen=True)
class HostView:
    """What the host's own scan says about its OpenSSH, for judging the banner's version."""

    scanned: bool  # the inventory gives the host a transport: its packages were to be read
    packages: Packages | None
    patching: Patching | None
    os: OsRelease | None
    now: datetime


def host_view(ctx: HostContext) -> HostView:
    scanned = ctx.inventory.transport_of(ctx.host) != "none"
    return HostView(scanned, ctx.facts_or_none(Packages) if scanned else None,
                    ctx.facts_or_none(Patching) if scanned else None,
                    ctx.facts_or_none(OsRelease) if scanned else None, ctx.now)


def upstream_version(manager: str, package_version: str) -> tuple[str, bool]:
    """(upstream version as OpenSSH numbers it, whether the package is a distribution build):
    dpkg 1:9.2p1-2+deb12u10 -> 9.2p1; rpm 8.7p1-38.el9 -> 8.7p1; apk 9.6_p1-r0 -> 9.6p1."""
    version = package_version.split(":", 1)[1] if ":" in package_version else package_version
    upstream, dash, revision = version.rpartition("-")
    if not dash:
        return version.replace("_p", "p"), False
    return upstream.replace("_p", "p"), bool(revision)


def _pending_for_openssh(patching: Patching, data: OpenSshData) -> list[PendingUpdate]:
    return [u for u in patching.security_updates if u.name in data.packages.related]


def judge_from_package(endpoint: SshEndpoint, view: HostView, data: OpenSshData, evidence: dict,
                       applicable: list[Advisory]) -> Verdict | None:
    """The verdict from the host's own package facts, or None when the banner must decide (no
    package of the distribution's, or a running sshd that is not the packaged one)."""
    ident = endpoint.identification
    common = {"target": endpoint.target, "port": endpoint.port, "version": ident.version}
    if view.packages is None or view.patching is None:
        return verdict(Status.UNKNOWN, "host_facts_missing", evidence=evidence, **common)
    package = data.packages.package.get(view.packages.manager)
    installed = view.packages.installed.get(package or "")
    if installed is None:
        evidence["package"] = {"manager": view.packages.manager, "name": package, "installed": None}
        return None  # no packaged sshd: the running one was built by hand, its banner decides
    upstream, distribution_build = upstream_version(view.packages.manager, installed)
    evidence["package"] = {"manager": view.packages.manager, "name": package, "version": installed,
                           "upstream": upstream, "distribution_build": distribution_build}
    if upstream != ident.version or not distribution_build:
        evidence["package_mismatch"] = True
        return None  # the banner is not this package's sshd (or the package is upstream as is)
    common.update(package=package, package_version=installed)
    pending = _pending_for_openssh(view.patching, data) if view.patching.security_status == "ok" else []
    if pending:
        evidence["pending"] = [u.model_dump(mode="json", exclude_none=True) for u in pending]
        first = pending[0]
        return failed("pending_security_update", evidence=evidence,
                      severity=highest([a.severity for a in applicable]) if applicable else Severity.HIGH,
                      updates=", ".join(f"{u.name} {u.current or '?'} → {u.available or '?'}" for u in pending),
                      advisory=first.advisory or "-", **common)
    patching_policy = eol_data().patching
    row = find_release(eol_data().releases, view.os) if view.os is not None else None
    today = view.now.date()
    if row is not None and today > (row.extended_end or row.standard_end):
        # No fixes are published any more: an empty list of pending updates proves nothing.
        return failed("os_unsupported", evidence=evidence, os=row.name, date=str(row.extended_end or row.standard_end),
                      severity=highest([a.severity for a in applicable]) if applicable else None, **common)
    if row is not None and today > row.standard_end and row.extended_kind == "paid":
        # Fixes reach the package manager only with the subscription: "none pending" may mean "not entitled".
        return verdict(Status.MANUAL, "paid_support", evidence=evidence, os=row.name, extended=row.extended_name,
                       **common)
    if view.patching.security_status != "ok":
        return verdict(Status.UNKNOWN, "security_query_failed", evidence=evidence,
                       error=view.patching.security_error or view.patching.security_status, **common)
    if view.os is not None and view.os.id in patching_policy.no_security_metadata.ids:
        evidence["why"] = patching_policy.no_security_metadata.source
        return verdict(Status.UNKNOWN, "no_advisory_data", evidence=evidence, os=view.os.id, **common)
    newest = view.patching.metadata_mtime
    limit = patching_policy.package_lists_max_age_days.value
    host_now = view.patching.now or int(view.now.timestamp())
    age = (host_now - newest) // 86400 if newest else None
    evidence.update(lists_age_days=age, lists_max_age_days=limit, manager=view.patching.manager)
    if age is None or age > limit:
        # "No pending update" is only as new as the package lists it was read from.
        return verdict(Status.UNKNOWN, "lists_stale", evidence=evidence, days="?" if age is None else age,
                       limit=limit, **common)
    return passed("distribution_patched", evidence=evidence, days=age, manager=view.patching.manager, **common)


def judge_version(endpoint: SshEndpoint, view: HostView) -> Verdict:
    evidence = endpoint_evidence(endpoint)
    ident = endpoint.identification
    version = ident.openssh_version if ident else None
    if version is None:
        return verdict(Status.UNKNOWN, "not_openssh", target=endpoint.target, evidence=evidence, port=endpoint.port,
                       software=(ident.software if ident else None) or "?")
    data = ssh_algorithms_data().openssh
    minimum = version_key(data.minimum)
    applicable = [a for a in data.advisories
                  if (a.introduced is None or version_key(a.introduced) <= version) and version < version_key(a.fixed)]
    evidence.update(version=ident.version, minimum=data.minimum, minimum_source=data.source,
                    advisories=[a.model_dump(mode="json") for a in applicable])
    if version >= minimum:
        return passed("current", target=endpoint.target, evidence=evidence, port=endpoint.port,
                      version=ident.version, minimum=data.minimum)
    if view.scanned:
        decided = judge_from_package(endpoint, view, data, evidence, applicable)
        if decided is not None:
            return decided
    else:
        marker = next((m for m in data.distribution_markers if re.search(m.pattern, ident.comments or "")), None)
        if marker:
            evidence["distribution"] = marker.model_dump()
            return verdict(Status.UNKNOWN, "distribution_build", target=endpoint.target, evidence=evidence,
                           port=endpoint.port, version=ident.version, build=ident.comments or "",
                           distribution=marker.distribution, minimum=data.minimum)
    return failed("outdated", target=endpoint.target, evidence=evidence, port=endpoint.port,
                  severity=highest([a.severity for a in applicable]) if applicable else None,
                  version=ident.version, minimum=data.minimum, advisories=[a.id for a in applicable] or ["-"])


# Reads the host's packages and pending updates when the host was scanned (`may_read`), so a
# distribution build is judged by its package, not by its upstream number.
@check("sshd.version.outdated", items=["XI.2.1.2"], severity=Severity.HIGH, reads=(SshServers,),
       may_read=(Packages, Patching, OsRelease))
def judge_versions(ctx: HostContext) -> list[Verdict]:
    view = host_view(ctx)
    return per_endpoint(ctx, lambda endpoint: judge_version(endpoint, view))
