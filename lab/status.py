"""``python3 -m lab status``: what runs now, from the record and the live system. It only reads
(the record, /proc, `ip`); it never probes the network."""
from . import netns, procs
from .layout import BRIDGE, PIDS_FILE, STATE_DIR
from .profiles import daemons_of
from .records import Record, host_processes


def is_running(item: dict | None) -> bool:
    return bool(item) and procs.is_running(procs.ProcessId.from_dict(item))


def host_status(name: str, entry: dict, namespaces: set[str]) -> dict:
    daemons = {daemon: is_running(entry.get("daemons", {}).get(daemon))
               for daemon in daemons_of(entry["profile"])}
    return {"name": name, "profile": entry["profile"], "address": entry["address"],
            "fqdn": entry["fqdn"], "netns": entry["netns"],
            "namespace": entry["netns"] in namespaces, "init": is_running(entry.get("init")),
            "daemons": daemons, "firewall": entry.get("firewall", "none"),
            "unbound_etc": entry.get("unbound_etc", [])}


def memory_mib(record: Record) -> float:
    """Proportional set size of every live lab process: its fair share of the machine's memory."""
    recorded = [proc for entry in record.hosts.values() for proc in host_processes(entry)]
    recorded += [record.collector] if record.collector else []
    return round(sum(procs.memory_kib(p.pid) for p in recorded if procs.is_running(p)) / 1024, 1)


def status() -> dict:
    record = Record() if PIDS_FILE.exists() else None
    namespaces = netns.lab_namespaces()
    entries = sorted((record.hosts if record else {}).items(), key=lambda item: item[1]["index"])
    hosts = [host_status(name, entry, set(namespaces)) for name, entry in entries]
    collector = bool(record and record.collector and procs.is_running(record.collector))
    healthy = bool(hosts) and collector and all(h["init"] and all(h["daemons"].values()) for h in hosts)
    zoned = record.zones if record else None
    zones = None if not zoned else {
        "vantages": zoned["vantages"],
        "present": set(zoned["namespaces"]) <= set(namespaces) and zoned["uplink"] in netns.lab_links()}
    return {"bridge": netns.bridge_is_up(), "collector": collector, "hosts": hosts, "zones": zones,
            "memory_mib": memory_mib(record) if record else 0.0, "namespaces": namespaces,
            "state_dir": str(STATE_DIR), "healthy": healthy}


def updown(flag: bool) -> str:
    return "up" if flag else "DOWN"


def format_status(report: dict) -> str:
    if not report["hosts"]:
        strays = report["namespaces"]
        return "lab is down" + (f" (stray namespaces: {', '.join(strays)})" if strays else "") + "\n"
    lines = [f"bridge {BRIDGE} 10.203.0.1/24: {updown(report['bridge'])}; "
             f"log collector 10.203.0.1:514: {updown(report['collector'])}",
             f"{'HOST':<12} {'PROFILE':<8} {'ADDRESS':<13} {'FQDN':<32} {'INIT':<5} DAEMONS"]
    for host in report["hosts"]:
        daemons = " ".join(f"{name}:{updown(alive)}" for name, alive in host["daemons"].items())
        firewall = f"  firewall:{host['firewall']}" if host["firewall"] != "none" else ""
        unbound = (f"  (no /etc/{', /etc/'.join(host['unbound_etc'])} on this machine)"
                   if host["unbound_etc"] else "")
        lines.append(f"{host['name']:<12} {host['profile']:<8} {host['address']:<13} "
                     f"{host['fqdn']:<32} {updown(host['init']):<5} {daemons}{firewall}{unbound}")
    state = "all running" if report["healthy"] else "NOT all running"
    lines.append(f"{len(report['hosts'])} host(s), {state}; "
                 f"memory (PSS of lab processes): {report['memory_mib']} MiB")
    if report.get("zones"):
        vantages = ", ".join(f"{zone} {address}" for zone, address in report["zones"]["vantages"].items())
        lines.append(f"zones (firewall rslab-fw): {updown(report['zones']['present'])}; vantages: {vantages}")
    lines.append(f"state: {report['state_dir']}")
    return "\n".join(lines) + "\n"
