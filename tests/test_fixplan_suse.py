"""SUSE's security patches in the fix plan (issue 17), and YaST's automatic online update of them on SLE and
Leap 15: the patch.security_updates result of a recorded
openSUSE Leap 15.5 (tests/fixtures/hostprobes/patching/leap155_zypper.txt, judged by the check) on a
host whose os-release is the recorded Leap one, put in place of weakssh-01's in the recorded lab scan.
zypper cannot run on this machine (Debian): the plan is checked for what it asks zypper, by
ansible-lint, and by a real check-mode run on this machine (local connection), where Ansible skips the
command and nothing is installed. That zypper does what the task asks on a SUSE host is not tested here."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

from reports.fixplan import PLAYBOOK, build_plan, playbook_text, write_plan
from reports.fixplan.updates import AOU_CONFIG, AOU_CRON, AOU_SCRIPT
from scanner.hostprobes.patching import parse_patching
from scanner.hostprobes.system import parse_os_release
from scanner.model import Status
from scanner.scanfile import ScanFile
from tests.fixtures.hostprobes import judge_host, load, one
from tests.labscan import recorded_lab_scan
from tests.test_fixplan import blocks, plays, tool

HOST = "weakssh-01"


def suse_scan(registry, change=None) -> ScanFile:
    """The recorded lab scan with weakssh-01 as a Leap host whose security patches are pending."""
    facts = parse_patching(load("patching", "leap155_zypper"))
    if change:
        facts = change(facts)
    os_release = parse_os_release(load("os_release", "leap15"))
    result = one(judge_host(registry, "patch.security_updates", facts, os_release), "patch.security_updates")
    assert result.status == Status.FAIL
    scan = recorded_lab_scan().model_copy(deep=True)
    record = scan.hosts[HOST]
    data = copy.deepcopy(record.observations["host"].data)
    data["parsed"]["os_release"] = os_release.model_dump(mode="json")
    record.observations["host"] = record.observations["host"].model_copy(update={"data": data})
    record.results = [result.model_copy(update={"host": HOST})]
    return scan


def test_pending_security_patches_are_installed_by_the_scans_own_query(registry):
    plan = build_plan(suse_scan(registry), lang="en", checks=["patch.*"])
    assert [h.name for h in plan.hosts] == [HOST] and not [m for m in plan.manual if m.host == HOST]
    block = blocks(playbook_text(plan), HOST)["patch.security_updates"]
    task = block["block"][0]
    assert task["ansible.builtin.command"]["argv"] == [
        "zypper", "--non-interactive", "patch", "--category", "security", "--with-interactive"]
    # the four patches the scan listed, named in the step
    for patch in ("openSUSE-SLE-15.5-2024-3765", "openSUSE-SLE-15.5-2024-3926", "openSUSE-SLE-15.5-2024-4078",
                  "openSUSE-SLE-15.5-2024-4359"):
        assert patch in task["name"]
    assert task["name"].startswith("Install the 4 pending security patches")
    assert task["failed_when"] == "readyscan_zypper.rc not in [0, 102, 103]"
    assert "restart" in block["tags"] and "reboot" not in block["tags"]


def test_sle_15_gets_yast_automatic_online_update_for_security_patches_and_later_releases_do_not(registry):
    fixes = blocks(playbook_text(build_plan(suse_scan(registry), lang="en", checks=["patch.*"])), HOST)
    steps = fixes["patch.security_updates"]["block"]
    lines = {t["ansible.builtin.lineinfile"]["line"] for t in steps if "ansible.builtin.lineinfile" in t}
    assert lines == {'AOU_ENABLE_CRONJOB="true"', 'AOU_SKIP_INTERACTIVE_PATCHES="true"', 'AOU_PATCH_CATEGORIES="security"'}
    link = next(t["ansible.builtin.file"] for t in steps if "ansible.builtin.file" in t)
    assert (link["src"], link["dest"], link["state"]) == (AOU_SCRIPT, AOU_CRON, "link")

    def release_16(scan):
        data = scan.hosts[HOST].observations["host"].data
        data["parsed"]["os_release"]["version_id"] = "16.0"
        return scan

    later = blocks(playbook_text(build_plan(release_16(suse_scan(registry)), lang="en", checks=["patch.*"])), HOST)
    assert [next(k for k in t if k.startswith("ansible.")) for t in later["patch.security_updates"]["block"]] == [
        "ansible.builtin.command"]


def test_a_patch_that_says_it_needs_a_reboot_tags_the_fix_reboot(registry):
    # zypper joins a patch's flags with commas (reboot,message)
    plan = build_plan(suse_scan(registry, flagged("reboot,message")), lang="en", checks=["patch.*"])
    assert plan.hosts[0].fixes[0].disruption == "reboot"


def test_a_patch_whose_licence_must_be_accepted_is_left_to_a_person(registry):
    plan = build_plan(suse_scan(registry, flagged("message,licence")), lang="en", checks=["patch.*"])
    assert plan.hosts == []
    why = next(m.why for m in plan.manual if (m.host, m.check_id) == (HOST, "patch.security_updates"))
    assert why == ("the patch openSUSE-SLE-15.5-2024-3765 asks for its licence to be accepted: "
                   "a person must read and accept it (zypper patch --category security)")


def flagged(flags: str):
    """The recorded facts with zypper's Interactive flags set on the first security patch."""
    def change(facts):
        first = next(u for u in facts.updates if u.security)
        updates = tuple(u.model_copy(update={"interactive": flags}) if u is first else u for u in facts.updates)
        return facts.model_copy(update={"updates": updates})
    return change


def test_the_suse_plan_lints_and_its_check_mode_runs_without_calling_zypper(registry, tmp_path):
    folder = tmp_path / "plan"
    write_plan(build_plan(suse_scan(registry), lang="vi", checks=["patch.*"]), folder)
    lint = tool("ansible-lint", folder, "--offline", "--nocolor", PLAYBOOK)
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]
    assert [b["tags"][0] for b in plays((folder / PLAYBOOK).read_text())[0]["tasks"]] == ["patch.security_updates"]
    (folder / "local.ini").write_text(f"{HOST} ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    written = [Path(AOU_CONFIG), Path(AOU_CRON)]
    assert not any(p.exists() or p.is_symlink() for p in written)
    dry = tool("ansible-playbook", folder, "-i", "local.ini", PLAYBOOK)
    # no zypper here: had Ansible run the patch command, the task would have failed. The package
    # install (creates: the script), 3 settings and the cron link say they would change
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr
    assert re.search(rf"{HOST}\s+: ok=\d+\s+changed=5\s+unreachable=0\s+failed=0\s+skipped=1 ", dry.stdout), dry.stdout
    assert '+AOU_PATCH_CATEGORIES="security"' in dry.stdout  # the diff it would apply
    assert not any(p.exists() or p.is_symlink() for p in written)
