"""Capacity and listeners: storage for survey section VIII, server software for section I's
application list, and sockets listening on every interface reconciled with the inventory and
with what the port scan saw (XI.3.1, XI.2.1.1)."""

from __future__ import annotations

from checks.monitoring import installed_packages, products_data
from checks.registry import HostContext, Verdict, check, failed, passed, verdict
from scanner.facts.agents import Processes
from scanner.facts.capacity import Disks, Hardware, Listeners
from scanner.facts.packages import Packages
from scanner.facts.ports import HostPortScan
from scanner.model import Severity, Status

GIB = 1024 * 1024



@check("capacity.disk_usage", items=["VIII"], severity=Severity.INFO, reads=(Disks,), may_read=(Hardware,))
def disk_usage(ctx: HostContext) -> list[Verdict]:
    return judge_disks(ctx.facts(Disks), ctx.facts_or_none(Hardware))


def judge_disks(disks: Disks, hw: Hardware | None = None) -> list[Verdict]:
    """Section VIII's storage figures and the filesystems past the limit (any platform)."""
    storage = disks.storage
    if not storage:
        return [verdict(Status.UNKNOWN, "no_df", evidence={"df_missing": disks.df_missing,
                                                            "unparsed": list(disks.unparsed)})]
    total = sum(f.total_kb for f in storage)
    used = sum(f.used_kb for f in storage)
    evidence = {"filesystems": [{"mount": f.mount, "device": f.device, "type": f.fstype,
                                 "total_gib": round(f.total_kb / GIB, 1), "used_gib": round(f.used_kb / GIB, 1),
                                 "used_percent": f.used_percent} for f in storage],
                "total_gib": round(total / GIB, 1), "used_gib": round(used / GIB, 1)}
    if hw is not None:
        evidence.update({"cpu_count": hw.cpu_count, "cpu_model": hw.cpu_model,
                         "memory_gib": round(hw.mem_total_kb / GIB, 1) if hw.mem_total_kb else None})
    limit = products_data().thresholds.disk_usage_max_percent
    out = [verdict(Status.INFO, "summary", total=evidence["total_gib"], used=evidence["used_gib"],
                   count=len(storage), evidence=evidence)]
    for fs in storage:
        if fs.used_percent is not None and fs.used_percent > limit.value:
            out.append(failed("full", target=fs.mount, severity=Severity.LOW, mount=fs.mount,
                              percent=fs.used_percent, limit=limit.value,
                              evidence={"mount": fs.mount, "device": fs.device, "used_percent": fs.used_percent,
                                        "limit": limit.value, "source": limit.source}))
    return out


@check("capacity.software", items=["I"], severity=Severity.INFO, reads=(Processes,), may_read=(Packages,))
def software(ctx: HostContext) -> Verdict:
    pkgs = installed_packages(ctx)
    procs = ctx.facts(Processes)
    found = []
    for sw in products_data().server_software:
        versions = {p: pkgs[p] for p in sw.packages if pkgs and p in pkgs}
        running = procs.matching(sw.processes) if sw.processes else []
        if versions or running:
            found.append({"name": sw.name, "kind": sw.kind, "packages": versions,
                          "running": bool(running), "basis": "packages" if versions else "processes"})
    if not found:
        return verdict(Status.INFO, "none", evidence={"packages_read": pkgs is not None})
    names = ", ".join(f"{f['name']} {next(iter(f['packages'].values()), '')}".strip() for f in found)
    return verdict(Status.INFO, "found", software=names,
                   evidence={"software": found, "packages_read": pkgs is not None})


@check("exposure.listener_all_interfaces", items=["XI.3.1", "XI.2.1.1"], severity=Severity.MEDIUM,
       reads=(Listeners, HostPortScan), per_vantage=True)
def listener_all_interfaces(ctx: HostContext) -> list[Verdict]:
    return judge_listeners(ctx, ctx.facts(Listeners))


def judge_listeners(ctx: HostContext, listeners: Listeners) -> list[Verdict]:
    """The host's own listeners against the declared services and the port scan (any platform)."""
    scan = ctx.facts(HostPortScan)
    declared = {(s.port, s.proto): s for s in ctx.host.services}
    wildcard = [x for x in listeners.items if x.all_interfaces]
    if not listeners.items and listeners.source is None:
        return [verdict(Status.UNKNOWN, "no_listing")]
    if not wildcard:
        return [passed("none_wildcard", count=len(listeners.items),
                       evidence={"listeners": [f"{x.address}:{x.target}" for x in listeners.items[:50]]})]
    out = []
    seen: set[tuple[int, str]] = set()
    for x in wildcard:
        if (x.port, x.proto) in seen:
            continue  # the IPv4 and IPv6 sockets of one service
        seen.add((x.port, x.proto))
        fact = scan.state_of(x.port, x.proto)
        nmap = fact.state if fact else "not scanned"
        evidence = {"address": x.address, "port": x.port, "proto": x.proto,
                    "process": x.process or ("?" if not listeners.processes_visible else None),
                    "pid": x.pid, "nmap_state": nmap, "scanned_from": ctx.vantage,
                    "source": listeners.source}
        svc = declared.get((x.port, x.proto))
        if svc is not None:
            evidence["declared"] = {"kind": svc.kind, "name": svc.name, "exposure": svc.exposure}
            # flat, for the evidence sentence
            evidence |= {"declared_kind": svc.kind, "declared_name": svc.name}
            out.append(passed("declared", target=x.target, port=x.target, kind=svc.kind, evidence=evidence))
        elif fact is not None and fact.is_open:
            out.append(failed("undeclared_open", target=x.target, port=x.target,
                              process=x.process or "?", evidence=evidence))
        elif fact is not None:
            out.append(failed("undeclared_hidden", target=x.target, severity=Severity.LOW, port=x.target,
                              process=x.process or "?", state=nmap, evidence=evidence))
        else:
            out.append(failed("undeclared_not_scanned", target=x.target, port=x.target,
                              process=x.process or "?", evidence=evidence))
    return out
