"""A web server the fix-plan tests start on loopback as a unit's old portal (nginx or Apache):
its ports and certificates, how it stops (by its master's PID), and the inventory that scans it
with the local transport."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from scanner.model import Status
from scanner.scanfile import ScanFile, load
from tests.paths import ROOT
from tests.test_fixplan import plays, tool
from tests.tlsservers import TestPki, free_port

NAME = "portal.test"


class LocalPortal:
    STOP = signal.SIGTERM  # what makes the master end its workers and itself
    ORGANIZATION = ""

    def __init__(self, folder: Path, pki: TestPki):
        self.folder = folder
        self.https, self.http = free_port(), free_port()
        self.issued = pki.issue("portal", sans=(NAME,))
        self.other = pki.issue("other", sans=("other.test",))
        self.proc: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, self.STOP)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    def inventory(self, path: Path, ca: Path) -> Path:
        path.write_text(yaml.safe_dump({
            "schema": 1,
            "organization": {"name": self.ORGANIZATION},
            "defaults": {"transport": "local"},
            "hosts": [{"name": "portal", "address": "127.0.0.1", "fqdn": NAME, "zone": "dmz", "services": [
                {"port": self.https, "proto": "tcp", "kind": "https", "name": "Cổng thông tin", "exposure": ["dmz"]},
                {"port": self.http, "proto": "tcp", "kind": "http", "name": "Cổng thông tin (http)",
                 "exposure": ["dmz"]}]}],
            "scan": {"from_zone": "dmz", "ca_bundle": str(ca)},
        }, allow_unicode=True), encoding="utf-8")
        return path


TIMEOUT = 600  # a hang guard, not a benchmark


def readyscan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, CI="true"), timeout=TIMEOUT)


def scan(inventory: Path, out: Path) -> ScanFile:
    done = readyscan("scan", str(inventory), "--checks", "http.*", "tls.*", "-o", str(out), "--no-report")
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-3000:]
    return load(out)


def statuses(scan_file: ScanFile) -> dict[tuple[str, str], Status]:
    return {(r.check_id, r.target): r.status for r in scan_file.hosts["portal"].results}


def recap(stdout: str) -> dict[str, int]:
    m = re.search(r"^portal\s+:\s+(ok=.*)$", stdout, re.M)
    assert m, stdout[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


def rescan_passes_and_again_changes_nothing(inventory: Path, tmp_path: Path, folder: Path,
                                            claimed: set[tuple[str, str]], then: dict[tuple[str, str], Status]) -> None:
    """After the apply: every claimed result passes, nothing that passed fails, and a second
    apply changes nothing."""
    now = statuses(scan(inventory, tmp_path / "after.json"))
    assert {c: now.get(c) for c in claimed} == {c: Status.PASS for c in claimed}
    assert [k for k, s in then.items() if s == Status.PASS and now.get(k) == Status.FAIL] == []
    again = tool("ansible-playbook", folder, "-i", "local.ini", "fix-plan.yml", "-e", "apply=true")
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout[-3000:]


def rejected_edit_is_put_back(portal: LocalPortal, folder: Path, text: str, files: list[Path], good: str,
                              bad: str) -> None:
    """The plan with the X-Frame-Options line `good` replaced by `bad`, a directive the server
    rejects, applied to files without that header: the block is rescued and fails, every file
    is byte-identical to before that run, and the server keeps serving."""
    broken = text.replace(good, bad)
    assert broken != text
    (folder / "broken.yml").write_text(broken, encoding="utf-8")
    fixed = [p.read_bytes() for p in files]
    for path in files:  # the frame-options lines as they were before the first apply
        path.write_text(re.sub(r"\n *# BEGIN readyscan: X-Frame-Options.*?# END readyscan: X-Frame-Options \([^)]*\)",
                               "", path.read_text(), flags=re.S))
    without = [p.read_bytes() for p in files]
    assert without != fixed
    failed = tool("ansible-playbook", folder, "-i", "local.ini", "broken.yml", "-e", "apply=true")
    assert failed.returncode != 0 and recap(failed.stdout)["rescued"] >= 1, failed.stdout[-3000:]
    assert bad.split()[0] not in "".join(p.read_text() for p in files)
    assert [p.read_bytes() for p in files] == without and portal.proc is not None and portal.proc.poll() is None


def make_plan(tmp_path: Path, before: ScanFile) -> tuple[Path, str, set[tuple[str, str]]]:
    """`readyscan fix-plan` on the scan in tmp_path/before.json, an inventory for Ansible's local
    connection beside it, and the (check id, target) pairs its blocks claim, each failing now."""
    folder = tmp_path / "plan"
    made = readyscan("fix-plan", str(tmp_path / "before.json"), "-o", str(folder), "--lang", "en")
    assert made.returncode == 0, made.stderr
    text = (folder / "fix-plan.yml").read_text(encoding="utf-8")
    claimed = {(b["tags"][0], b["name"].rsplit(", ", 1)[-1].rstrip(")")) for p in plays(text) for b in p["tasks"]}
    then = statuses(before)
    assert claimed and all(then[c] == Status.FAIL for c in claimed)
    (folder / "local.ini").write_text(f"portal ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    return folder, text, claimed


def dry_run(folder: Path, files: list[Path]) -> str:
    """The plan in check mode: it would change something, and changes no file."""
    untouched = [p.read_bytes() for p in files]
    dry = tool("ansible-playbook", folder, "-i", "local.ini", "fix-plan.yml")
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-2000:]
    assert [p.read_bytes() for p in files] == untouched and recap(dry.stdout)["changed"] > 0
    return dry.stdout


def apply(folder: Path) -> str:
    applied = tool("ansible-playbook", folder, "-i", "local.ini", "fix-plan.yml", "-e", "apply=true")
    assert applied.returncode == 0, applied.stdout[-4000:] + applied.stderr[-2000:]
    assert recap(applied.stdout)["failed"] == 0
    return applied.stdout
