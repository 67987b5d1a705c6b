"""Packages and patch-level probes: parsers against recorded outputs (tests/fixtures/hostprobes/,
each file says where it came from), malformed and cut-off outputs, the patch.* checks from facts,
and a real run of the probes on this Debian 12 host through LocalTransport."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from functools import cmp_to_key

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.patching import eol_data, find_release
from scanner.facts.patching import Patching, PendingUpdate, RebootStatus
from scanner.facts.system import OsRelease
from scanner.hostprobes.frames import split_frames as read_marked
from scanner.hostprobes.packages import PROBES as PACKAGE_PROBES
from scanner.hostprobes.packages import parse_packages
from scanner.hostprobes.patching import PROBES as PATCH_PROBES
from scanner.hostprobes.patching import kernel_flavour, parse_patching, parse_reboot
from scanner.hostprobes.system import PROBES as SYSTEM_PROBES
from scanner.hostprobes.system import parse_os_release
from scanner.hostprobes.versions import compare_versions
from scanner.model import Severity, Status
from tests.fixtures.hostprobes import NOW, assert_rendered, judge_host, load, one, run_probes

DEBIAN12 = OsRelease(id="debian", version_id="12", pretty_name="Debian GNU/Linux 12 (bookworm)")
DAY = 86400
HOST_NOW = int(NOW.timestamp())


# -- marked output --------------------------------------------------------------------------------

def test_target_text_cannot_forge_a_marker():
    marked = read_marked("@@section updates\n|@@rc 0\n|@@file /etc/shadow\nstray\n@@rc 100\n")
    block = marked.section("updates")
    assert block.lines == ["@@rc 0", "@@file /etc/shadow"] and block.rc == 100
    assert marked.first("file") is None and marked.stray == ["stray"]


# -- packages ---------------------------------------------------------------------------------------


def test_rpm_keeps_the_newest_of_several_installed_versions():
    facts = parse_packages(load("packages", "rhel89_rpm_kernels"))
    assert facts.manager == "rpm"
    assert facts.installed["kernel"] == "4.18.0-513.24.1.el8_9"
    assert facts.installed["kernel-core"] == "4.18.0-513.24.1.el8_9"
    assert facts.installed["kernel-debug-modules-extra"] == "4.18.0-477.27.1.el8_8"


def test_dpkg_rows_not_installed_are_left_out_and_junk_is_recorded():
    text = ("@@manager dpkg\n@@section list\n|bash\t5.2\tinstall ok installed\n|old\t1.0\tdeinstall ok config-files\n"
            "|held\t2.0\thold ok installed\n|garbage without tabs\n@@rc 0\n")
    facts = parse_packages(text)
    assert facts.installed == {"bash": "5.2", "held": "2.0"}
    assert facts.unparsed_lines == ("garbage without tabs",)


def test_cut_off_and_missing_package_tools_are_said():
    cut = parse_packages("@@manager dpkg\n@@section list\n|bash\t5.2\tinstall ok installed\n|coreut")
    assert "package list cut off" in cut.problems and cut.installed == {"bash": "5.2"}
    none = parse_packages("@@missing dpkg-query\n@@missing rpm\n@@missing apk\n")
    assert none.manager == "unknown" and none.installed == {} and "missing rpm" in none.problems
    failed = parse_packages("@@manager rpm\n@@section list\n|error: rpmdb open failed\n@@rc 1\n")
    assert "package query exited 1" in failed.problems and failed.installed == {}


# -- version order ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lower,higher", [
    ("1.0~rc1", "1.0"), ("1.9", "1.10"), ("2.0", "1:0.1"), ("2.38.1-5+deb12u1", "2.38.1-5+deb12u3"),
    ("6.1.0-18-amd64", "6.1.0-21-amd64"), ("5.15.0-91-generic", "5.15.0-101-generic"),
    ("5.14.0-362.8.1.el9_3.x86_64", "5.14.0-427.13.1.el9_4.x86_64"), ("4.18.0-477.27.1.el8_8", "4.18.0-513.24.1.el8_9"),
])
def test_versions_order_like_dpkg(lower, higher):
    assert compare_versions(lower, higher) < 0 < compare_versions(higher, lower)
    assert compare_versions(higher, higher) == 0


@given(st.lists(st.from_regex(r"[0-9]{1,3}(\.[0-9a-z~+]{1,4}){0,3}(-[0-9a-z.]{1,6})?", fullmatch=True), min_size=2,
                max_size=6))
def test_version_order_is_consistent(versions):
    ordered = sorted(versions, key=cmp_to_key(compare_versions))
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert compare_versions(a, b) <= 0 and compare_versions(b, a) >= 0


# -- pending updates ------------------------------------------------------------------------------------


def test_apt_works_without_root():
    facts = parse_patching(load("patching", "debian12_apt_nobody"))
    assert facts.updates_status == "ok" and len(facts.security_updates) == 74 and facts.unparsed_lines == ()


def test_yum_bugfix_advisories_are_not_security():
    facts = parse_patching(load("patching", "ol_yum"))
    assert facts.manager == "yum"
    assert {u.name for u in facts.updates if not u.security} == {"postfix", "python-perf"}
    assert {u.name for u in facts.security_updates} == {"abrt", "abrt-addon-ccpp"}
    assert facts.unparsed_lines == ()


def test_zypper_without_repositories_is_not_up_to_date():
    facts = parse_patching(load("patching", "zypper_norepos"))
    assert facts.updates_status == "error" and "No repositories defined" in facts.updates_error
    assert facts.security_status == "error" and facts.updates == ()


@pytest.mark.parametrize("text,status", [
    ("@@manager apt\n@@section updates\n|Reading package lists...\n|Inst libc6 [2.36-9] (2.36-9+deb12u4 Deb", "cut_off"),
    ("@@manager dnf\n@@section updates\n|Error: Cache-only enabled but no cache for 'baseos'\n@@rc 1\n", "error"),
    ("@@manager apt\n@@section updates\n|E: Could not open file /var/lib/apt/lists/x - open (13: Permission denied)\n"
     "@@rc 100\n", "error"),
])
def test_failed_or_cut_queries_are_not_an_answer(text, status):
    facts = parse_patching(text)
    assert facts.updates_status == status and facts.updates == ()


def test_garbage_is_kept_as_unparsed_not_guessed():
    facts = parse_patching("Segmentation fault\n@@manager apt\n@@section updates\n|Inst ??? broken line\n@@rc 0\n")
    assert facts.updates == () and facts.unparsed_lines == ("Segmentation fault", "Inst ??? broken line")
    assert parse_patching("").manager == "unknown"


# -- reboot ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("release,flavour", [
    ("5.15.0-91-generic", "generic"), ("6.1.0-18-cloud-amd64", "cloud-amd64"),
    ("5.14.0-427.13.1.el9_4.x86_64", "x86_64"), ("4.18.0-513.5.1.el8_9.x86_64+debug", "x86_64+debug"),
])
def test_kernel_flavour(release, flavour):
    assert kernel_flavour(release) == flavour


def test_older_running_kernel_of_its_flavour_needs_a_reboot():
    # Constructed: an Ubuntu host with an AWS kernel beside generic ones, and RHEL's rescue image.
    text = ("@@kernel 5.15.0-91-generic\n@@section boot\n|vmlinuz-5.15.0-91-generic\n|vmlinuz-5.15.0-101-generic\n"
            "|vmlinuz-5.15.0-1050-aws\n|vmlinuz-0-rescue-0123456789abcdef\n@@rc 0\n@@flag /var/run/reboot-required\n"
            "@@file /var/run/reboot-required.pkgs\n|linux-image-5.15.0-101-generic\n|linux-base\n")
    facts = parse_reboot(text)
    assert facts.newest_kernel == "5.15.0-101-generic" and facts.running_is_newest is False
    assert "0-rescue-0123456789abcdef" not in facts.installed_kernels
    assert facts.reboot_required_flag and facts.reboot_required_packages == ("linux-base", "linux-image-5.15.0-101-generic")


@pytest.mark.parametrize("lines,rc,verdict", [
    (["Core libraries or services have been updated since boot-up:", "  * kernel", "",
      "Reboot is required to fully utilize these updates."], 1, "reboot"),
    (["No core libraries or services have been updated since boot-up.", "Reboot should not be necessary."], 0,
     "no_reboot"),
    (["No such command: needs-restarting. Please use /usr/bin/dnf --help"], 1, "missing"),
    ([], 1, "error"),  # dnf without a writable cache exits 1 silently: not a "reboot needed"
])
def test_needs_restarting_is_read_from_its_words(lines, rc, verdict):
    text = "@@kernel 5.14.0-427.el9.x86_64\n@@section needs_restarting\n" + "".join(f"|{line}\n" for line in lines) + f"@@rc {rc}\n"
    assert parse_reboot(text).needs_restarting == verdict


# -- end of life -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("os,name", [
    (OsRelease(id="rocky", version_id="9.3"), "Rocky Linux 9"),
    (OsRelease(id="centos", version_id="8", pretty_name="CentOS Stream 8"), "CentOS Stream 8"),
    (OsRelease(id="centos", version_id="8", pretty_name="CentOS Linux 8"), "CentOS Linux 8"),
    (OsRelease(id="sles", version_id="15.5"), "SUSE Linux Enterprise 15 SP5"),
    (OsRelease(id="ubuntu", version_id="22.04"), "Ubuntu 22.04 LTS"),
])
def test_release_table_lookup(os, name):
    assert find_release(eol_data().releases, os).name == name


def test_every_release_row_names_its_source():
    for row in eol_data().releases:
        assert row.source and row.checked <= date(2026, 12, 5) and row.standard_end <= (row.extended_end or date.max)


@pytest.mark.parametrize("os,status,severity,key", [
    # Regular support ended 2026-07-11; Debian LTS (free, no registration) runs to 2028-06-30.
    (DEBIAN12, Status.PASS, Severity.CRITICAL, "free_extended"),
    # Standard support ended 2025-05-31; ESM needs an Ubuntu Pro subscription: a person confirms it.
    (OsRelease(id="ubuntu", version_id="20.04"), Status.MANUAL, Severity.CRITICAL, "paid_extended"),
    (OsRelease(id="centos", version_id="7", pretty_name="CentOS Linux 7 (Core)"), Status.FAIL, Severity.CRITICAL,
     "past_eol"),
    (OsRelease(id="ubuntu", version_id="24.04"), Status.PASS, Severity.CRITICAL, "supported"),
    (OsRelease(id="ubuntu", version_id="26.04"), Status.PASS, Severity.CRITICAL, "supported"),
    (OsRelease(id="sles", version_id="15.7"), Status.UNKNOWN, Severity.CRITICAL, "not_in_table"),
    (OsRelease(id="debian"), Status.UNKNOWN, Severity.CRITICAL, "not_in_table"),
])
def test_os_eol(registry, catalog, os, status, severity, key):
    result = one(judge_host(registry, "patch.os_eol", os), "patch.os_eol")
    assert (result.status, result.severity, result.message.key) == (status, severity, key)
    assert_rendered(catalog, [result])


def test_os_eol_free_extended_support_names_the_day_to_upgrade_by(registry):
    """Issue 12 item 7: Debian 12 in Debian LTS on 2026-12-05 is supported (it failed at high
    severity, "confirm it is enabled", before), with the LTS end as the upgrade deadline."""
    result = one(judge_host(registry, "patch.os_eol", DEBIAN12, now=datetime(2026, 12, 5, tzinfo=UTC)),
                 "patch.os_eol")
    assert (result.status, result.message.key) == (Status.PASS, "free_extended")
    assert result.message.params["until"] == "2028-06-30" and result.message.params["days"] == 573
    assert result.evidence["extended_kind"] == "free"


def test_os_eol_past_paid_extended_support_fails(registry):
    after = datetime(2028, 4, 27, tzinfo=UTC)  # ESM for 18.04 ended 2028-04-26
    result = one(judge_host(registry, "patch.os_eol", OsRelease(id="ubuntu", version_id="18.04"), now=after),
                 "patch.os_eol")
    assert (result.status, result.severity, result.message.key) == (Status.FAIL, Severity.CRITICAL, "past_eol")


def test_every_extended_period_says_whether_it_is_free():
    rows = [r for r in eol_data().releases if r.extended_end]
    assert rows and all(r.extended_kind in ("free", "paid") for r in rows)
    assert {r.extended_kind for r in rows if r.extended_name == "Debian LTS"} == {"free"}
    assert {r.extended_kind for r in rows if r.extended_name != "Debian LTS"} == {"paid"}
    debian12 = find_release(eol_data().releases, DEBIAN12)
    assert (debian12.standard_end, debian12.extended_end) == (date(2026, 7, 11), date(2028, 6, 30))


def test_os_eol_warns_before_the_end(registry):
    soon = NOW + timedelta(days=60)
    result = one(judge_host(registry, "patch.os_eol", OsRelease(id="centos", version_id="9",
                                                                   pretty_name="CentOS Stream 9"), now=soon),
                 "patch.os_eol")
    assert result.status == Status.PASS and result.message.key == "ends_soon" and result.evidence["days_left"] < 180


# -- patch checks --------------------------------------------------------------------------------------------------

def patching(**kw) -> Patching:
    return Patching(now=HOST_NOW, manager="apt", updates_status="ok", security_status="ok", **kw)


def test_checks_on_the_recorded_debian_host(registry, catalog):
    facts = parse_patching(load("patching", "debian12_apt"))
    results = judge_host(registry, "patch.*", facts, DEBIAN12, parse_reboot(load("patching_reboot", "debian12_container")))
    security = one(results, "patch.security_updates")
    assert security.status == Status.FAIL and security.message.params["count"] == 74
    assert len(security.evidence["updates"]) == 74 and "libssl3" in security.message.params["packages"]
    pending = one(results, "patch.pending_updates")
    assert pending.status == Status.FAIL and pending.severity == Severity.MEDIUM  # 120 >= 50
    assert one(results, "patch.reboot_required").status == Status.NOT_APPLICABLE
    assert_rendered(catalog, results)


def test_the_evidence_names_the_package_manager_command(registry):
    """The report's evidence sentence says which command read the updates, per package manager,
    and the fix gives the host's own distribution command."""
    from reports import Texts
    texts = Texts.for_lang("en")
    rocky = OsRelease(id="rocky", id_like=("rhel", "centos", "fedora"), version_id="9")
    dnf = Patching(now=HOST_NOW, manager="dnf", updates_status="ok", security_status="ok",
                   updates=(PendingUpdate(name="openssl", available="1:3.0.7-27.el9", security=True),))
    result = one(judge_host(registry, "patch.security_updates", dnf, rocky), "patch.security_updates")
    assert result.status == Status.FAIL
    assert "`dnf -C updateinfo list --security`" in texts.evidence(result)
    assert texts.fix(result, {"os": "Rocky Linux 9", "os_rhel": "Rocky Linux 9"}).startswith(
        "On Rocky Linux 9: `dnf upgrade --security`")
    apt = one(judge_host(registry, "patch.pending_updates", patching(updates=(PendingUpdate(name="bash"),)), DEBIAN12),
              "patch.pending_updates")
    assert "`apt-get -s dist-upgrade`" in texts.evidence(apt)


def test_security_updates_pass_unknown_and_centos(registry, catalog):
    clean = one(judge_host(registry, "patch.security_updates", patching(), DEBIAN12), "patch.security_updates")
    assert clean.status == Status.PASS
    broken = patching().model_copy(update={"security_status": "error", "security_error": "E: boom"})
    assert one(judge_host(registry, "patch.security_updates", broken, DEBIAN12),
               "patch.security_updates").status == Status.UNKNOWN
    centos = Patching(now=HOST_NOW, manager="yum", updates_status="ok", security_status="ok",
                      updates=(PendingUpdate(name="openssl", available="1:1.0.2k-26.el7_9"),))
    result = one(judge_host(registry, "patch.security_updates", centos, OsRelease(id="centos", version_id="7")),
                 "patch.security_updates")
    assert result.status == Status.UNKNOWN and result.message.key == "no_advisory_data"
    none = Patching(missing=("apt-get", "dnf", "yum", "zypper"))
    assert one(judge_host(registry, "patch.security_updates", none, DEBIAN12),
               "patch.security_updates").status == Status.UNKNOWN
    assert_rendered(catalog, [clean, result])


def test_pending_updates_severity_follows_the_count(registry):
    few = patching(updates=(PendingUpdate(name="tzdata"), PendingUpdate(name="vim")))
    result = one(judge_host(registry, "patch.pending_updates", few), "patch.pending_updates")
    assert result.status == Status.FAIL and result.severity == Severity.LOW
    assert one(judge_host(registry, "patch.pending_updates", patching()), "patch.pending_updates").status == Status.PASS


@pytest.mark.parametrize("facts,status", [
    (RebootStatus(running_kernel="6.1.0-18-amd64", installed_kernels=("6.1.0-18-amd64", "6.1.0-21-amd64"),
                  newest_kernel="6.1.0-21-amd64", running_is_newest=False), Status.FAIL),
    (RebootStatus(running_kernel="6.1.0-21-amd64", installed_kernels=("6.1.0-21-amd64",),
                  newest_kernel="6.1.0-21-amd64", running_is_newest=True), Status.PASS),
    (RebootStatus(running_kernel="6.1.0-21-amd64", installed_kernels=("6.1.0-21-amd64",),
                  newest_kernel="6.1.0-21-amd64", running_is_newest=True, reboot_required_flag=True), Status.FAIL),
    (RebootStatus(running_kernel="5.14.0-427.el9.x86_64", needs_restarting="reboot"), Status.FAIL),
    (RebootStatus(running_kernel="6.18.44"), Status.NOT_APPLICABLE),
])
def test_reboot_required(registry, catalog, facts, status):
    result = one(judge_host(registry, "patch.reboot_required", facts), "patch.reboot_required")
    assert result.status == status
    assert_rendered(catalog, [result])


@pytest.mark.parametrize("age_days,status", [(3, Status.PASS), (45, Status.FAIL)])
def test_last_update_age(registry, age_days, status):
    facts = patching(last_change=HOST_NOW - age_days * DAY, last_change_source="mtime of /var/lib/dpkg/status")
    result = one(judge_host(registry, "patch.last_update_age", facts), "patch.last_update_age")
    assert result.status == status and result.evidence["days"] == age_days
    assert one(judge_host(registry, "patch.last_update_age", patching()), "patch.last_update_age").status == Status.UNKNOWN


def test_package_lists_stale(registry, catalog):
    from scanner.facts.patching import FileTime
    fresh = patching(metadata_files=(FileTime(path="/var/lib/apt/lists/x_InRelease", mtime=HOST_NOW - DAY),))
    stale = patching(metadata_files=(FileTime(path="/var/lib/apt/lists/x_InRelease", mtime=HOST_NOW - 40 * DAY),))
    results = [one(judge_host(registry, "patch.package_lists_stale", f), "patch.package_lists_stale")
               for f in (fresh, stale, patching())]
    assert [r.status for r in results] == [Status.PASS, Status.FAIL, Status.FAIL]
    assert [r.message.key for r in results] == ["fresh", "stale", "no_lists"]
    assert_rendered(catalog, results)


# -- this host ------------------------------------------------------------------------------------------------------

def test_real_run_on_this_debian_host(registry, catalog):
    outputs = run_probes([*SYSTEM_PROBES, *PACKAGE_PROBES, *PATCH_PROBES])
    os = parse_os_release(outputs["os_release"])
    assert os.id == "debian" and os.version_id == "12"
    packages = parse_packages(outputs["packages"])
    assert packages.manager == "dpkg" and len(packages.installed) > 100 and "openssh-server" in packages.installed
    facts = parse_patching(outputs["patching"])
    assert facts.manager == "apt" and facts.now and facts.metadata_files and facts.last_change
    # On a loaded machine apt can outlast the collector's per-probe timeout: then its answer is
    # "cut_off", never an empty list taken for "up to date".
    assert facts.updates_status in ("ok", "cut_off") and facts.unparsed_lines == ()
    if facts.updates_status == "cut_off":
        assert facts.updates_error == "output cut off"
    reboot = parse_reboot(outputs["patching_reboot"])
    assert reboot.running_kernel and reboot.unparsed_lines == ()
    results = judge_host(registry, "patch.*", os, facts, reboot)
    assert {r.check_id for r in results} == {c.id for c in registry.select(["patch.*"])}
    assert all(r.status != Status.ERROR for r in results), [(r.check_id, r.message) for r in results]
    assert_rendered(catalog, results)


def test_the_apt_probe_writes_no_package_cache_on_the_host(tmp_path):
    """Run as root over a missing binary cache, `apt-get -s` writes /var/cache/apt/pkgcache.bin
    unless told not to. An apt configuration that enables the cache files in a folder of ours
    (this machine's image disables them) shows the probe leaves that folder empty."""
    import os
    import subprocess

    from scanner.hostprobes.patching import PATCHING_SH
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("needs root and apt-get")
    cache, parts = tmp_path / "cache", tmp_path / "parts"
    cache.mkdir()
    parts.mkdir()
    conf = tmp_path / "apt.conf"
    conf.write_text(f'Dir::Etc::parts "{parts}";\nDir::Cache "{cache}";\n'
                    'Dir::Cache::pkgcache "pkgcache.bin";\nDir::Cache::srcpkgcache "srcpkgcache.bin";\n')
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C", "APT_CONFIG": str(conf)}
    # The same apt configuration without the probe's options does write there: the check can fail.
    subprocess.run(["apt-get", "-s", "-o", "Debug::NoLocking=1", "check"], env=env, capture_output=True, timeout=120)
    assert sorted(p.name for p in cache.iterdir()) == ["pkgcache.bin", "srcpkgcache.bin"]
    for p in cache.iterdir():
        p.unlink()
    out = subprocess.run(["sh", "-c", PATCHING_SH], env=env, capture_output=True, text=True, timeout=300).stdout
    assert list(cache.iterdir()) == []
    assert parse_patching(out).updates_status == "ok"
