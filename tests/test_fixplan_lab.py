"""The done-when of issue 17's fix plan, on the lab: scan → `readyscan fix-plan` → the playbook
passes `ansible-playbook --syntax-check` and `ansible-lint` → a run without `-e apply=true`
changes nothing → applied over the hosts' real SSH as the unit's sysadmin (`rsadmin`, sudo with
its password) → a re-scan shows every finding the plan claims to fix passing and nothing that
passed before failing → a second apply changes nothing, and legacy-01's syslog now reaches the
lab's log collector (the inventory's `log_server`).

The plan changes real files of two lab hosts (sshd, login.defs, logrotate, rsyslog, nginx), so the test runs only
when this session alone uses the lab, and rebuilds those hosts afterwards. Security updates are
left out of the plan here: the lab's hosts share this machine's packages."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab import layout, lifecycle
from lab.records import Record
from reports.fixplan import FIXERS, build_plan
from reports.fixplan.plan import COVERED_BY
from scanner.model import Status
from scanner.scanfile import ScanFile, load
from tests.paths import ROOT
from tests.test_fixplan import plays

pytestmark = pytest.mark.lab
pytest_plugins = ["tests.labfixture"]  # the session fixture `lab`

HOSTS = ("legacy-01", "weakssh-01")
# What the plan may change here: everything it fixes but package upgrades (this machine's own);
# and what those fixes end as well (COVERED_BY), which the re-scan must show passing too.
CHECKS = sorted(c for c in FIXERS if not c.startswith("patch.")) + sorted(COVERED_BY)
# Seeded in the lab (lab/expected.yaml): the plan must fix at least these.
MUST_FIX = {("legacy-01", c) for c in ("ssh.config.root_login", "ssh.config.password_auth", "ssh.config.max_auth_tries",
                                        "ssh.config.idle_timeout", "ssh.config.algorithms", "accounts.password_ageing",
                                        "logging.retention", "logging.remote_forwarding",
                                        # nginx on 80, 443 and 8443 (lab/profiles.py, legacy)
                                        "http.hsts", "http.frame_options", "http.content_type_options",
                                        "http.version_disclosure", "tls.protocol.legacy", "tls.protocol.tls12_missing",
                                        "tls.protocol.tls13_missing", "tls.cipher.weak", "tls.cipher.no_forward_secrecy")} \
    | {("weakssh-01", c) for c in ("ssh.config.root_login", "ssh.config.password_auth", "ssh.config.max_auth_tries",
                                   "ssh.config.idle_timeout", "ssh.config.algorithms", "accounts.password_ageing",
                                   # systemd-journald, its only logger, keeps the journal in memory
                                   "logging.daemon", "logging.retention")}
TIMEOUT = 900  # a hang guard, not a benchmark


def two_host_inventory(lab, path: Path) -> Path:
    data = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
    base = lab.inventory.parent
    data["hosts"] = [h for h in data["hosts"] if h["name"] in HOSTS]
    for system in data.get("systems", []):
        system["hosts"] = [name for name in system["hosts"] if name in HOSTS]
    data.pop("devices", None)  # they separate zones these two hosts alone no longer all have
    for key in ("key", "known_hosts"):
        data["defaults"]["ssh"][key] = str(base / data["defaults"]["ssh"][key])
    data["scan"]["ca_bundle"] = str(base / data["scan"]["ca_bundle"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    waivers = lab.inventory.with_name("inventory.waivers.yaml")
    if waivers.exists():
        path.with_name(path.stem + ".waivers.yaml").write_text(waivers.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def readyscan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, CI="true"), timeout=TIMEOUT)


def scan(inventory: Path, out: Path) -> ScanFile:
    done = readyscan("scan", str(inventory), "-o", str(out), "--no-report")
    assert done.returncode in (0, 1), done.stderr
    return load(out)


def ansible_env(work: Path) -> dict[str, str]:
    """Ansible's own files in the test's folder; plain SSH with the lab's known_hosts and no
    multiplexing (no master connection outlives the test)."""
    return dict(os.environ, ANSIBLE_HOME=str(work / "ansible"), ANSIBLE_LOCAL_TEMP=str(work / "ansible" / "tmp"),
                ANSIBLE_CONFIG=str(work / "no-ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                ANSIBLE_HOST_KEY_CHECKING="1", ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
                # one SSH connection per task instead of four (the hosts' sudo has no requiretty)
                ANSIBLE_PIPELINING="1",
                ANSIBLE_SSH_ARGS=f"-o ControlMaster=no -o UserKnownHostsFile={layout.KNOWN_HOSTS} "
                                 "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes")


def playbook(folder: Path, work: Path, *extra: str) -> tuple[str, dict[str, dict[str, int]]]:
    """Run the plan as the sysadmin; its output and the recap per host."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "inventory.yml", "fix-plan.yml",
         "-u", layout.ADMIN_USER, "--private-key", str(layout.CLIENT_KEY),
         "--become-password-file", str(layout.ADMIN_PASSWORD), *extra],
        cwd=folder, capture_output=True, text=True, env=ansible_env(work), timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    recap = {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
             for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", done.stdout, re.M)}
    return done.stdout, recap


def digest_of_hosts() -> dict[str, str]:
    """Every file of the two hosts' /etc overlays, by content: what a run that changes nothing leaves."""
    out = {}
    for host in HOSTS:
        etc = layout.netns_etc(host)
        for path in sorted(p for p in etc.rglob("*") if p.is_file()):
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def collected() -> list[str]:
    """What the lab's log collector (the inventory's log_server) has received: "<peer> <line>"."""
    path = layout.COLLECTOR_LOG
    return path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []


def statuses(scan_file: ScanFile) -> dict[tuple[str, str, str], Status]:
    return {(h, r.check_id, r.target): r.status for h, rec in scan_file.hosts.items() for r in rec.results}


def rebuild(hosts: tuple[str, ...], count: int) -> None:
    """The changed hosts built again from their profiles: the next `up` rebuilds a host whose
    fingerprint does not match."""
    with lifecycle.state_lock():
        record = Record()
        for host in hosts:
            if host in record.hosts:
                record.update_host(host, fingerprint="changed by tests/test_fixplan_lab.py")
    lifecycle.up(count, log=lambda message: None)


def test_the_fix_plan_fixes_what_it_claims_on_the_lab_and_changes_nothing_twice(lab, tmp_path):
    if not lab.is_sole_owner():
        pytest.skip("another session uses the lab: this test changes two of its hosts")
    inventory = two_host_inventory(lab, tmp_path / "lab.yaml")
    before = scan(inventory, tmp_path / "before.json")
    folder = tmp_path / "plan"
    made = readyscan("fix-plan", str(tmp_path / "before.json"), "-o", str(folder), "--checks", *CHECKS)
    assert made.returncode == 0, made.stderr
    text = (folder / "fix-plan.yml").read_text(encoding="utf-8")
    claimed = {(play["hosts"], block["tags"][0], target_of(block, play["hosts"]))
               for play in plays(text) for block in play["tasks"]}
    assert MUST_FIX <= {(h, c) for h, c, _ in claimed}, sorted(claimed)

    lint = subprocess.run([str(Path(sys.executable).with_name("ansible-lint")), "--offline", "--nocolor",
                           "fix-plan.yml"], cwd=folder, capture_output=True, text=True,
                          env=ansible_env(tmp_path), timeout=TIMEOUT)
    assert lint.returncode == 0, lint.stdout[-3000:] + lint.stderr[-3000:]
    playbook(folder, tmp_path, "--syntax-check")

    try:
        seen_before = len(collected())
        untouched = digest_of_hosts()
        _, dry = playbook(folder, tmp_path)  # no -e apply=true: check mode with diffs
        assert digest_of_hosts() == untouched
        assert all(dry[h]["changed"] > 0 for h in HOSTS), dry  # it says what it would change

        _, applied = playbook(folder, tmp_path, "-e", "apply=true")
        assert all(applied[h]["changed"] > 0 and applied[h]["failed"] == 0 for h in HOSTS), applied
        after = scan(inventory, tmp_path / "after.json")
        then, now = statuses(before), statuses(after)
        covered = {(c.host, c.check_id, c.target) for c in build_plan(before, lang="vi", checks=CHECKS).covered}
        assert {(h, "sshd.auth.password_offered", "22/tcp") for h in HOSTS} <= covered
        assert ("weakssh-01", "logging.auth_log", "") in covered  # its journal is on disk now
        for host, check_id, target in claimed | covered:
            assert now.get((host, check_id, target)) == Status.PASS, (host, check_id, target, now.get((host, check_id, target)))
        regressed = [k for k, status in then.items() if status == Status.PASS and now.get(k) == Status.FAIL]
        assert regressed == []

        _, again = playbook(folder, tmp_path, "-e", "apply=true")
        assert all(again[h]["changed"] == 0 and again[h]["failed"] == 0 for h in HOSTS), again
        # forwarding works, not only reads well: the second run's logins on legacy-01 (sshd's
        # "Accepted publickey for rsadmin", sudo) reached the lab's collector from its address
        forwarded = [line for line in collected()[seen_before:] if line.startswith(lab.addresses["legacy-01"] + " ")]
        assert forwarded and any(layout.ADMIN_USER in line for line in forwarded), forwarded[-5:]
        # and weakssh-01's journald keeps them on disk: its restarted journald wrote /var/log/journal
        assert f"Accepted publickey for {layout.ADMIN_USER}" in journal_on_disk("weakssh-01")
    finally:
        rebuild(HOSTS, lab.count)


def journal_on_disk(host: str) -> str:
    """The messages in the host's /var/log/journal, read by this machine's journalctl."""
    folder = layout.host_state(host) / "log" / "journal"
    assert any(folder.glob("*/system.journal")), sorted(folder.rglob("*"))
    done = subprocess.run(["journalctl", "--directory", str(next(folder.iterdir())), "--no-pager", "-q", "-o", "cat"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def target_of(block: dict, host: str) -> str:
    """The result's target, as the block's name ends: "(host, target)" or "(host)"."""
    m = re.search(rf"\({re.escape(host)}(?:, (.*))?\)$", block["name"])
    assert m, block["name"]
    return m.group(1) or ""
