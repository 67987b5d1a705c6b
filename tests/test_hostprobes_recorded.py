"""Host-probe parsers against recorded real outputs of the releases issue 5 names (Debian 11,
Ubuntu 20.04/22.04/24.04, RHEL/Rocky/Alma 8 and 9, CentOS 7, SLES 15 / Leap 15): each fixture's
header says where it was recorded. The os-release cases also check which end-of-life row
(checks/data/eol.yaml) the parsed identity finds, and the verdict patch.os_eol gives on 2026-11-26."""

from __future__ import annotations

import pytest

from checks.patching import eol_data, find_release
from scanner.facts.system import OsRelease
from scanner.hostprobes.patching import parse_patching
from scanner.hostprobes.system import parse_os_release
from scanner.model import Severity, Status
from tests.fixtures.hostprobes import assert_rendered, judge_host, load, one

# -- os-release ---------------------------------------------------------------------------------------

OS_CASES = [
    # case, id, version_id, id_like, eol row name (None: not in the table), verdict key on 2026-11-26
    ("debian11", "debian", "11", (), "Debian 11 (bullseye)", "past_eol"),
    ("ubuntu2004", "ubuntu", "20.04", ("debian",), "Ubuntu 20.04 LTS", "paid_extended"),
    ("ubuntu2204", "ubuntu", "22.04", ("debian",), "Ubuntu 22.04 LTS", "supported"),  # 187 days to 2027-06-01
    ("ubuntu2404", "ubuntu", "24.04", ("debian",), "Ubuntu 24.04 LTS", "supported"),
    ("rhel8", "rhel", "8.10", ("fedora",), "Red Hat Enterprise Linux 8", "supported"),
    ("rhel9", "rhel", "9.6", ("fedora",), "Red Hat Enterprise Linux 9", "supported"),
    ("rocky8", "rocky", "8.3", ("rhel", "fedora"), "Rocky Linux 8", "supported"),
    ("rocky9", "rocky", "9.3", ("rhel", "centos", "fedora"), "Rocky Linux 9", "supported"),
    ("alma8", "almalinux", "8.3", ("rhel", "centos", "fedora"), "AlmaLinux OS 8", "supported"),
    ("alma9", "almalinux", "9.5", ("rhel", "centos", "fedora"), "AlmaLinux OS 9", "supported"),
    ("centos7", "centos", "7", ("rhel", "fedora"), "CentOS Linux 7", "past_eol"),
    ("sles15", "sles", "15.6", ("suse",), "SUSE Linux Enterprise 15 SP6", "paid_extended"),
    ("leap15", "opensuse-leap", "15.1", ("suse", "opensuse"), None, "not_in_table"),
]
VERDICT = {  # message key -> (status, severity)
    "past_eol": (Status.FAIL, Severity.CRITICAL), "paid_extended": (Status.MANUAL, Severity.CRITICAL),
    "ends_soon": (Status.PASS, Severity.CRITICAL), "supported": (Status.PASS, Severity.CRITICAL),
    "not_in_table": (Status.UNKNOWN, Severity.CRITICAL),
}


def os_release(case: str) -> OsRelease:
    return parse_os_release(load("os_release", case))


@pytest.mark.parametrize("case,os_id,version_id,id_like,row,key", OS_CASES)
def test_os_release_identity_and_eol_row(case, os_id, version_id, id_like, row, key):
    facts = os_release(case)
    assert (facts.id, facts.version_id, facts.id_like) == (os_id, version_id, id_like)
    assert facts.pretty_name  # every recording carries one
    found = find_release(eol_data().releases, facts)
    assert (found.name if found else None) == row


@pytest.mark.parametrize("case,os_id,version_id,id_like,row,key", OS_CASES)
def test_os_eol_verdict_of_recorded_release(registry, catalog, case, os_id, version_id, id_like, row, key):
    result = one(judge_host(registry, "patch.os_eol", os_release(case)), "patch.os_eol")
    assert result.message.key == key
    assert (result.status, result.severity) == VERDICT[key]
    if row:
        assert result.evidence["release"] == row and result.evidence["source"]
    assert_rendered(catalog, [result])


def test_rhel_8_10_finds_the_rhel_8_row():
    # The parsed fields of every recording (unquoted values, codenames, AlmaLinux 8.3's trailing
    # blanks) are pinned by the golden files beside them (tests/test_golden_facts.py).
    # "8.10" is RHEL 8, never a row for "8.1" (none exists) or for RHEL 10.
    assert find_release(eol_data().releases, os_release("rhel8")).release == "8"


# -- apt ------------------------------------------------------------------------------------------------


def test_apt_checks_on_ubuntu_2004(registry, catalog):
    facts = parse_patching(load("patching", "ubuntu2004_apt"))
    results = judge_host(registry, "patch.*_updates", facts, os_release("ubuntu2004"))
    security = one(results, "patch.security_updates")
    assert security.status == Status.FAIL and security.message.params["count"] == 1
    assert security.message.params["packages"] == "openvpn"
    pending = one(results, "patch.pending_updates")
    assert pending.status == Status.FAIL and pending.severity == Severity.LOW and pending.message.params["count"] == 15
    assert_rendered(catalog, results)


def test_apt_security_line_of_debian_11(registry, catalog):
    facts = parse_patching(load("patching", "debian11_apt_partial"))
    assert facts.unparsed_lines == () and len(facts.updates) == 1
    libxml2 = facts.updates[0]
    assert libxml2.name == "libxml2" and libxml2.security
    assert (libxml2.current, libxml2.available) == ("2.9.10+dfsg-6.7+deb11u3", "2.9.10+dfsg-6.7+deb11u4")
    assert libxml2.origin == "Debian:11.7/stable, Debian-Security:11/stable-security"
    security = one(judge_host(registry, "patch.security_updates", facts, os_release("debian11")),
                   "patch.security_updates")
    assert security.status == Status.FAIL and security.message.params["packages"] == "libxml2"
    assert_rendered(catalog, [security])


# -- dnf ------------------------------------------------------------------------------------------------


def test_dnf_checks_on_rocky_9_without_advisory_data(registry, catalog):
    facts = parse_patching(load("patching", "rocky9_dnf"))
    results = judge_host(registry, "patch.*_updates", facts, os_release("rocky9"))
    security = one(results, "patch.security_updates")
    assert security.status == Status.UNKNOWN and security.message.key == "query_failed"
    pending = one(results, "patch.pending_updates")
    assert pending.status == Status.FAIL and pending.severity == Severity.MEDIUM  # 110 >= 50
    assert pending.message.params["count"] == 110
    assert_rendered(catalog, results)


def test_dnf_advisories_of_rocky_8_one_entry_per_package():
    # The recording lists kernel, kernel-core and kernel-modules under two advisories each. Before
    # the fix they counted twice (14 "security updates" for 11 packages).
    facts = parse_patching(load("patching", "rocky8_dnf_updateinfo"))
    assert facts.security_status == "ok" and facts.updates_status == "not_run" and facts.unparsed_lines == ()
    names = [u.name for u in facts.security_updates]
    assert names == ["curl", "kernel", "kernel-core", "kernel-modules", "libcurl", "rsync", "systemd",
                     "systemd-container", "systemd-libs", "systemd-pam", "systemd-udev"]
    kernel = next(u for u in facts.updates if u.name == "kernel")
    assert kernel.available == "kernel-4.18.0-372.19.1.el8_6.x86_64"  # the newer of the two
    assert kernel.advisory == "RLSA-2022:5564, RLSA-2022:5819" and kernel.severity == "Important"
    curl = next(u for u in facts.updates if u.name == "curl")
    assert curl.advisory == "RLSA-2022:6159" and curl.severity == "Moderate"
    # EPEL's bugfix, enhancement and newpackage rows are not security updates
    assert not {"koji", "python3-koji", "python3-psutil", "distribution-gpg-keys"} & set(names)


def test_dnf_checks_on_rocky_8_advisories(registry, catalog):
    facts = parse_patching(load("patching", "rocky8_dnf_updateinfo"))
    results = judge_host(registry, "patch.*_updates", facts, OsRelease(id="rocky", version_id="8.6"))
    security = one(results, "patch.security_updates")
    assert security.status == Status.FAIL and security.message.params["count"] == 11
    assert len(security.evidence["updates"]) == 11
    # check-update was not recorded: the pending-updates answer is unknown, not "none"
    assert one(results, "patch.pending_updates").status == Status.UNKNOWN
    assert_rendered(catalog, results)


def test_duplicate_advisories_keep_the_worst_severity():
    # Constructed from the Rocky 8 rows' shape: an older Critical advisory and a newer Moderate one.
    text = ("@@manager dnf\n@@section updates\n|kernel.x86_64  4.18.0-372.19.1.el8_6  baseos\n@@rc 100\n"
            "@@section security\n|RLSA-2022:0001 Critical/Sec. kernel-4.18.0-372.16.1.el8_6.x86_64\n"
            "|RLSA-2022:0002 Moderate/Sec. kernel-4.18.0-372.19.1.el8_6.x86_64\n@@rc 0\n")
    facts = parse_patching(text)
    assert len(facts.updates) == 1
    kernel = facts.updates[0]
    assert kernel.security and kernel.available == "4.18.0-372.19.1.el8_6"
    assert kernel.advisory == "RLSA-2022:0001, RLSA-2022:0002" and kernel.severity == "Critical"


# -- zypper ---------------------------------------------------------------------------------------------


def test_zypper_checks_on_leap_155(registry, catalog):
    facts = parse_patching(load("patching", "leap155_zypper"))
    results = judge_host(registry, "patch.*_updates", facts, OsRelease(id="opensuse-leap", version_id="15.5"))
    security = one(results, "patch.security_updates")
    assert security.status == Status.FAIL and security.message.params["count"] == 4
    assert one(results, "patch.pending_updates").status == Status.FAIL
    assert_rendered(catalog, results)


def test_zypper_with_nothing_to_update_on_leap_156(registry, catalog):
    facts = parse_patching(load("patching", "leap156_zypper_none"))
    assert facts.updates_status == "ok" and facts.updates == () and facts.unparsed_lines == ()
    results = judge_host(registry, "patch.*_updates", facts, OsRelease(id="opensuse-leap", version_id="15.6"))
    assert one(results, "patch.pending_updates").status == Status.PASS
    # no list-patches recording: "no security updates" cannot be concluded
    assert one(results, "patch.security_updates").status == Status.UNKNOWN
    assert_rendered(catalog, results)
