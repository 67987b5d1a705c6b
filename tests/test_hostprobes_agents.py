"""Processes and security agents: real `ps` and /proc outputs of this machine (root and nobody),
command lines cut on the host, the product table's consistency with the probe, and the malware.*
and monitoring.* checks from facts."""

from __future__ import annotations

import os
import subprocess

import pytest

from checks.malware import clamav_build_time
from checks.monitoring import products_data
from scanner.facts.agents import AgentFiles, Process, Processes, SignatureFile
from scanner.facts.packages import Packages
from scanner.hostprobes.agents import (
    _ARGS_AWK,
    INSTALL_PATHS,
    PROBES,
    SIGNATURE_GLOBS,
    parse_agent_files,
    parse_processes,
)
from scanner.hostprobes.log_shippers import SHIPPER_PARSERS, parse_log_shippers
from scanner.model import Status
from tests.fixtures.hostprobes import assert_rendered, load, one, run_probes
from tests.test_hostprobes_logging import frames, inventory, judge_facts, procs

NOW = 1795724502


def test_recorded_processes_root_nobody_and_proc_fallback():
    root = parse_processes(load("processes", "debian12_root"))
    nobody = parse_processes(load("processes", "debian12_nonroot"))
    fallback = parse_processes(load("processes", "proc_fallback"))
    assert root.as_root and not nobody.as_root and (root.source, fallback.source) == ("ps", "proc")
    assert root.init == "process_api" and not root.hidepid and root.enabled_units
    for facts in (root, nobody, fallback):
        assert facts.items and not any(p.name.startswith("kworker") for p in facts.items)  # kernel threads dropped
        assert facts.matching(["process_api"])[0].pid == 1
    assert {p.pid for p in fallback.items} & {p.pid for p in root.items}


@pytest.mark.parametrize("line,expected", [
    ("  42 /usr/bin/mysql -pS3cret --host db", "42 /usr/bin/mysql -"),
    ("  43 /usr/bin/python3 /usr/bin/fail2ban-server -xf start", "43 /usr/bin/python3 fail2ban-server"),
    ("  44 curl https://user:pw@example.org/x", "44 curl -"),
    ("  45 [kworker/0:1]", ""),
    ("  46 sshd: root@pts/0", "46 sshd: -"),
])
def test_command_lines_are_cut_on_the_host(line, expected):
    out = subprocess.run(["sh", "-c", _ARGS_AWK], input=line + "\n", capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


def test_interpreted_daemons_are_recognised_by_their_script():
    p = parse_processes("@@uid 0\n@@kv source ps\n\n@@cmd names\n  7 0 fail2ban-server\n 8 0 ruby\n\n@@rc names 0\n\n"
                        "@@cmd args\n7 /usr/bin/python3 fail2ban-server\n8 /opt/td-agent/bin/ruby td-agent\n\n@@rc args 0\n")
    assert [x.pid for x in p.matching(["td-agent"])] == [8]
    assert [x.pid for x in p.matching([], ["/opt/td-agent/"])] == [8]
    assert p.matching(["ora_pmon_*"]) == []


def test_hidepid_limits_the_view():
    p = parse_processes("@@uid 1000\n@@kv hidepid yes\n@@kv source ps\n")
    assert p.hidepid and not p.complete


def test_product_table_is_consistent_with_the_probe():
    table = products_data()
    ids = [p.id for p in table.products]
    assert len(ids) == len(set(ids)) and all(p.source for p in table.products)
    for product in table.products:
        for path in product.paths:
            assert path in INSTALL_PATHS, f"{product.id}: {path} not looked at by the agent_files probe"
        for sig in product.signatures:
            assert sig in SIGNATURE_GLOBS, f"{product.id}: {sig} not read by the agent_files probe"
        if product.shipper:
            assert product.shipper in SHIPPER_PARSERS, product.id
        if not product.detectable:
            assert product.note, f"{product.id}: say why it cannot be detected"
    assert table.thresholds.signature_max_age_days.source and table.thresholds.disk_usage_max_percent.source


# A ClamAV database header as libclamav writes it (cvd.c: "ClamAV-VDB:<build time>:<version>:<sigs>:<level>:<md5>:
# <dsig>:<builder>:<stime>"), the time in "%d %b %Y %H-%M %z".
HEADER = "ClamAV-VDB:09 Nov 2026 08-37 -0500:27451:2070330:90:X:X:raynman:1794231420"


def test_clamav_header_and_signature_files():
    out = (f"@@uid 0\n@@kv path /usr/bin/freshclam\n@@kv path /usr/sbin/clamd\n"
           f"@@stat 1794231420 57000000 /var/lib/clamav/daily.cld\n@@kv header /var/lib/clamav/daily.cld {HEADER}\n"
           f"@@kv now {NOW}\n")
    files = parse_agent_files(out)
    assert files.present == ("/usr/bin/freshclam", "/usr/sbin/clamd") and files.now == NOW
    assert files.signatures[0].header == HEADER
    assert clamav_build_time(HEADER) == 1794231420
    assert clamav_build_time("garbage") is None and clamav_build_time("ClamAV-VDB:32 Foo 2026 99-99 +0000:1:") is None
    none = parse_agent_files(load("agent_files", "debian12_none"))
    assert none.present == () and none.signatures == () and none.now


# -- checks --------------------------------------------------------------------------------------------------------

def clam_files(age_days: float) -> AgentFiles:
    built = NOW - int(age_days * 86400)
    header = f"ClamAV-VDB:{__import__('time').strftime('%d %b %Y %H-%M +0000', __import__('time').gmtime(built))}:1:"
    return AgentFiles(as_root=True, present=("/usr/sbin/clamd", "/usr/bin/freshclam"), now=NOW,
                      signatures=(SignatureFile(path="/var/lib/clamav/daily.cld", mtime=NOW, size=1, header=header),
                                  SignatureFile(path="/var/lib/clamav/main.cvd", mtime=NOW - 90 * 86400, size=1)))


def test_malware_checks_with_clamav(catalog):
    running = judge_facts("malware.*", procs("clamd", "freshclam"), clam_files(1))
    by_id = {r.check_id: r for r in running}
    assert {k: v.status for k, v in by_id.items()} == {"malware.installed": Status.PASS, "malware.running": Status.PASS,
                                                       "malware.signatures_fresh": Status.PASS}
    assert by_id["malware.signatures_fresh"].evidence["basis"] == "build time in the database header"
    stale = one(judge_facts("malware.signatures_fresh", procs("clamd"), clam_files(30)), "malware.signatures_fresh")
    assert stale.status == Status.FAIL and stale.message.params["days"] == 30.0 and stale.message.params["limit"] == 7
    only_updater = one(judge_facts("malware.running", procs("freshclam"), clam_files(1)), "malware.running")
    assert only_updater.status == Status.FAIL  # freshclam alone does not scan anything
    assert_rendered(catalog, [*running, stale, only_updater])


def test_malware_none_installed_and_package_only(catalog):
    nothing = {r.check_id: r for r in judge_facts("malware.*", procs("sshd"), AgentFiles(as_root=True, now=NOW))}
    assert nothing["malware.installed"].status == Status.FAIL
    assert nothing["malware.running"].status == nothing["malware.signatures_fresh"].status == Status.NOT_APPLICABLE
    mdatp = Packages(manager="dpkg", installed={"mdatp": "101.24.1"})
    found = {r.check_id: r for r in judge_facts("malware.*", procs("sshd"), mdatp, AgentFiles(as_root=True, now=NOW))}
    assert found["malware.installed"].status == Status.PASS
    assert found["malware.running"].status == Status.FAIL
    assert found["malware.signatures_fresh"].status == Status.UNKNOWN  # not readable on the host
    hidden = one(judge_facts("malware.running", procs("sshd", as_root=False, hidepid=True), mdatp,
                             AgentFiles(now=NOW)), "malware.running")
    assert hidden.status == Status.UNKNOWN
    no_db = one(judge_facts("malware.signatures_fresh", procs("clamd"),
                            AgentFiles(as_root=True, present=("/usr/sbin/clamd",), now=NOW)), "malware.signatures_fresh")
    assert no_db.status == Status.FAIL and no_db.message.key == "no_database"
    assert_rendered(catalog, [*nothing.values(), *found.values(), hidden, no_db])


def test_hids_and_siem_agents(catalog):
    wazuh = procs("wazuh-agentd", "wazuh-logcollec", "wazuh-modulesd")
    hids = one(judge_facts("monitoring.hids_agent", wazuh), "monitoring.hids_agent")
    assert hids.status == Status.PASS and hids.message.params["products"] == "Wazuh agent"
    shipper = parse_log_shippers(frames({"/var/ossec/etc/ossec.conf": "<client><server><address>10.1.1.5</address>"
                                                                      "</server></client>"}))
    siem = one(judge_facts("monitoring.siem_agent", wazuh, shipper), "monitoring.siem_agent")
    assert siem.status == Status.PASS and siem.evidence["destinations"] == ["wazuh-agent: 10.1.1.5"]
    assert siem.evidence["declared_siem_soc"]["product"] == "Wazuh"
    absent = one(judge_facts("monitoring.siem_agent", procs("sshd")), "monitoring.siem_agent")
    assert absent.status == Status.FAIL and absent.message.key == "declared_but_absent"
    undeclared = one(judge_facts("monitoring.siem_agent", wazuh, inv=inventory(siem="no")), "monitoring.siem_agent")
    assert undeclared.status == Status.PASS and undeclared.message.key == "running_not_declared"
    stopped = Packages(manager="rpm", installed={"falcon-sensor": "7.10"})
    edr = one(judge_facts("monitoring.hids_agent", procs("sshd"), stopped), "monitoring.hids_agent")
    assert edr.status == Status.FAIL and edr.message.key == "installed_not_running"
    by_path = Processes(as_root=True, items=(Process(pid=9, name="s1-agent", exe="/opt/sentinelone/bin/s1-agent"),))
    s1 = one(judge_facts("monitoring.hids_agent", by_path), "monitoring.hids_agent")
    assert s1.status == Status.PASS and "SentinelOne" in s1.message.params["products"]
    assert_rendered(catalog, [hids, siem, absent, undeclared, edr, s1])


def test_real_run_on_this_host():
    out = run_probes(PROBES)
    p = parse_processes(out["processes"])
    assert p.source in ("ps", "proc") and p.items and p.init
    assert any(x.pid == os.getpid() for x in p.items)  # this test's own process
    files = parse_agent_files(out["agent_files"])
    assert files.now and all(x in INSTALL_PATHS for x in files.present)


def test_a_name_cut_to_15_characters_is_not_another_program_sharing_them():
    # comm of both systemd-journald and systemd-journal-upload is "systemd-journal" (the kernel keeps 15
    # characters); argv[0] tells them apart, and without it the cut name still matches
    p = parse_processes("@@uid 0\n@@kv source ps\n\n@@cmd names\n  7 0 systemd-journal\n  8 101 systemd-journal\n"
                        "\n@@rc names 0\n\n@@cmd args\n7 /usr/lib/systemd/systemd-journald -\n"
                        "8 /lib/systemd/systemd-journal-upload -\n\n@@rc args 0\n")
    unknown = Process(pid=9, uid=0, name="systemd-journal")
    p = p.model_copy(update={"items": (*p.items, unknown)})
    assert [x.pid for x in p.matching(["systemd-journal-upload"])] == [8, 9]
    assert [x.pid for x in p.matching(["systemd-journald"])] == [7, 9]
