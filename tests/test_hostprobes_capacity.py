"""Capacity and listeners: real `df -P -k`, /proc/meminfo, `ss -tulnp`, `netstat -tulnp` and
/proc/net outputs (recorded on this machine and in private namespaces, headers say how), the
older ss format, and the capacity.* and exposure.* checks reconciled with the port scan."""

from __future__ import annotations

import pytest

from scanner.facts.capacity import Disks, Filesystem, Listener, Listeners
from scanner.facts.packages import Packages
from scanner.facts.ports import ExtraPorts, ExtraReason, HostPortScan, PortFact
from scanner.hostprobes.capacity import (
    PROBES,
    parse_disks,
    parse_hardware,
    parse_listeners,
    parse_ss,
    split_endpoint,
)
from scanner.model import Severity, Status
from tests.fixtures.hostprobes import assert_rendered, load, one, run_probes
from tests.test_hostprobes_logging import judge_facts, procs


def test_df_on_this_vm_and_a_blank_in_a_mount_point():
    disks = parse_disks(load("disks", "debian12_vm"))
    assert [(f.mount, f.fstype) for f in disks.storage] == [("/", "ext4")]
    assert disks.storage[0].total_kb > disks.storage[0].used_kb > 0 and disks.unparsed == ()
    spaced = parse_disks(load("disks", "space_in_mount"))
    fs = next(f for f in spaced.items if f.mount == "/tmp/d2 disk")
    assert (fs.fstype, fs.used_percent, fs.pseudo) == ("tmpfs", 94, True)


def test_df_malformed_and_missing():
    d = parse_disks("@@uid 0\n\n@@cmd df\nFilesystem 1024-blocks Used Available Capacity Mounted on\n"
                    "df: /run/user/1000/doc: Permission denied\n/dev/sda1 100 50 50 50% /\n\n@@rc df 1\n")
    assert [f.mount for f in d.items] == ["/"] and d.unparsed == ("df: /run/user/1000/doc: Permission denied",)
    assert parse_disks("@@uid 0\n\n@@missing df\n").df_missing


EXPECTED = {("tcp", "0.0.0.0", 8080), ("tcp", "127.0.0.1", 5432), ("udp", "0.0.0.0", 5353), ("udp", "::1", 323)}


@pytest.mark.parametrize("case,source,visible,dual", [
    ("ss_root", "ss", True, "*"), ("ss_nonroot", "ss", False, "*"), ("netstat_root", "netstat", True, "::"),
    ("netstat_nonroot", "netstat", False, "::"), ("proc_nonroot", "proc", False, "::"),
])
def test_listeners_in_every_format(case, source, visible, dual):
    ls = parse_listeners(load("listeners", case))
    got = {(x.proto, x.address, x.port) for x in ls.items}
    assert EXPECTED <= got and ("tcp", "::", 8080) in got and ("tcp", dual, 2222) in got
    assert (ls.source, ls.processes_visible, ls.unparsed) == (source, visible, ())
    assert all((x.process == "python3") == visible for x in ls.items)
    wildcard = {x.target for x in ls.items if x.all_interfaces}
    assert wildcard == {"8080/tcp", "2222/tcp", "5353/udp"}


# iproute2 3.10 (CentOS 7) prints no "Process" header word, ":::22" for the IPv6 wildcard and "*:22" for dual stack.
OLD_SS = """Netid  State      Recv-Q Send-Q Local Address:Port               Peer Address:Port
udp    UNCONN     0      0         *:68                    *:*                   users:(("dhclient",pid=650,fd=6))
tcp    LISTEN     0      128       :::22                   :::*                  users:(("sshd",pid=1079,fd=4))
tcp    LISTEN     0      100    127.0.0.1:25                    *:*              users:(("master",pid=1307,fd=13))
tcp    LISTEN     0      128    127.0.0.53%lo:53                 0.0.0.0:*
tcp    ESTAB      0      0      10.0.0.5:22                10.0.0.9:50000
garbage line
"""


def test_old_ss_format_and_junk():
    items, junk = parse_ss(OLD_SS)
    assert [(x.proto, x.address, x.port, x.interface, x.process) for x in items] == [
        ("udp", "*", 68, None, "dhclient"), ("tcp", "::", 22, None, "sshd"), ("tcp", "127.0.0.1", 25, None, "master"),
        ("tcp", "127.0.0.53", 53, "lo", None)]
    assert len(junk) == 2


@pytest.mark.parametrize("text,expected", [("[::ffff:127.0.0.1]:80", ("::ffff:127.0.0.1", 80, None)),
                                           ("[fe80::1]%eth0:546", ("fe80::1", 546, "eth0")), ("nonsense", None)])
def test_endpoints(text, expected):
    assert split_endpoint(text) == expected


# -- checks --------------------------------------------------------------------------------------------------------

def fs(mount: str, percent: int, total: int = 100 * 1024 * 1024) -> Filesystem:
    return Filesystem(device=f"/dev/{mount.strip('/') or 'root'}", mount=mount, fstype="ext4", total_kb=total,
                      used_kb=total * percent // 100, available_kb=total - total * percent // 100, used_percent=percent)


def test_disk_usage(catalog):
    results = judge_facts("capacity.disk_usage", Disks(items=(fs("/", 40), fs("/var", 95))))
    summary = next(r for r in results if r.status == Status.INFO)
    assert summary.message.params == {"total": 200.0, "used": 135.0, "count": 2}
    full = one([r for r in results if r.status == Status.FAIL], "capacity.disk_usage")
    assert full.target == "/var" and full.severity == Severity.LOW and full.message.params["limit"] == 90
    recorded = judge_facts("capacity.disk_usage", parse_disks(load("disks", "debian12_vm")),
                           parse_hardware(load("hardware", "debian12_vm")))
    assert recorded[0].status == Status.INFO and recorded[0].evidence["cpu_count"] == 2
    empty = one(judge_facts("capacity.disk_usage", Disks(df_missing=True)), "capacity.disk_usage")
    assert empty.status == Status.UNKNOWN
    assert_rendered(catalog, [*results, *recorded, empty])


def test_server_software(catalog):
    pkgs = Packages(manager="dpkg", installed={"nginx": "1.22.1-9", "postgresql-15": "15.8-0+deb12u1"})
    found = one(judge_facts("capacity.software", procs("sshd"), pkgs), "capacity.software")
    assert found.status == Status.INFO and found.message.params["software"] == "nginx 1.22.1-9, PostgreSQL 15.8-0+deb12u1"
    by_process = one(judge_facts("capacity.software", procs("mysqld")), "capacity.software")
    assert "MySQL" in by_process.message.params["software"] and by_process.evidence["packages_read"] is False
    assert_rendered(catalog, [found, by_process])


def scan(open_ports=(), filtered=()) -> HostPortScan:
    ports = tuple(PortFact(port=p, proto="tcp", state="open", reason="syn-ack") for p in open_ports)
    ports += tuple(PortFact(port=p, proto="tcp", state="filtered", reason="no-response") for p in filtered)
    return HostPortScan(address="127.0.0.1", scanned={"tcp": "1-10000"}, methods={"tcp": "syn"}, ports=ports,
                        extraports=(ExtraPorts(proto="tcp", state="closed", count=9990,
                                               reasons=(ExtraReason(reason="reset", count=9990),)),))


def test_listener_reconciliation_three_ways(catalog):
    listeners = parse_listeners(load("listeners", "ss_root"))
    results = {r.target: r for r in judge_facts("exposure.listener_all_interfaces", listeners,
                                                ports=scan(open_ports=(8080, 2222)))}
    assert set(results) == {"8080/tcp", "2222/tcp", "5353/udp"}  # 5432 is loopback, 323 is ::1
    assert results["8080/tcp"].status == Status.PASS  # declared in the inventory
    assert results["2222/tcp"].status == Status.FAIL and results["2222/tcp"].severity == Severity.MEDIUM
    assert results["2222/tcp"].evidence["nmap_state"] == "open" and results["2222/tcp"].evidence["process"] == "python3"
    assert results["5353/udp"].message.key == "undeclared_not_scanned"
    hidden = {r.target: r for r in judge_facts("exposure.listener_all_interfaces", listeners,
                                               ports=scan(filtered=(2222,)))}
    assert hidden["2222/tcp"].status == Status.FAIL and hidden["2222/tcp"].severity == Severity.LOW
    closed = {r.target: r for r in judge_facts("exposure.listener_all_interfaces", listeners, ports=scan())}
    assert closed["2222/tcp"].message.key == "undeclared_hidden" and closed["2222/tcp"].evidence["nmap_state"] == "closed"
    assert_rendered(catalog, [*results.values(), *hidden.values()])


def test_listener_check_needs_the_port_scan_and_handles_no_wildcard(catalog):
    listeners = parse_listeners(load("listeners", "ss_root"))
    missing = one(judge_facts("exposure.listener_all_interfaces", listeners), "exposure.listener_all_interfaces")
    assert missing.status == Status.UNKNOWN  # ports collector did not run: never pass
    local = Listeners(source="ss", as_root=True, items=(Listener(proto="tcp", address="127.0.0.1", port=5432),))
    ok = one(judge_facts("exposure.listener_all_interfaces", local, ports=scan()), "exposure.listener_all_interfaces")
    assert ok.status == Status.PASS and ok.message.params["count"] == 1
    assert_rendered(catalog, [ok])


def test_real_run_on_this_host():
    out = run_probes(PROBES)
    disks = parse_disks(out["disks"])
    assert any(f.mount == "/" for f in disks.items) and disks.unparsed == ()
    hw = parse_hardware(out["hardware"])
    assert hw.cpu_count and hw.mem_total_kb
    ls = parse_listeners(out["listeners"])
    assert ls.source in ("ss", "netstat", "proc") and ls.unparsed == ()
    assert all(1 <= x.port <= 65535 for x in ls.items)


def test_listener_evidence_names_the_socket_the_scan_and_the_declaration():
    from reports import Texts
    texts = Texts.for_lang("vi")
    listeners = parse_listeners(load("listeners", "ss_root"))
    results = {r.target: r for r in judge_facts("exposure.listener_all_interfaces", listeners,
                                                ports=scan(open_ports=(8080, 2222)))}
    declared = results["8080/tcp"]
    assert declared.evidence["declared_kind"] and "được kê khai trong hosts[].services" in texts.evidence(declared)
    open_ = texts.evidence(results["2222/tcp"])
    assert "python3" in open_ and "cổng 2222/tcp" in open_ and "nmap: open" in open_
    fix = texts.fix(results["2222/tcp"])
    assert "Nếu python3 không cần phục vụ từ mạng" in fix and "kê khai cổng 2222/tcp" in fix
