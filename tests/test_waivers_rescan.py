"""Accepted risks (waivers) and --rescan-failed, through the engine and the CLI."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from checks import default_registry
from scanner.app.engine import Engine
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.collectors.catalog import default_collectors
from scanner.inventory import load_inventory
from scanner.model import Message, Outcome, Result, Severity, Status
from scanner.scanfile import load
from scanner.thresholds import load_thresholds
from scanner.validation import ValidationFailed
from scanner.waivers import Waiver, apply_waivers, load_waivers
from tests.paths import ROOT

INVENTORY = """\
organization: {name: Test}
policies:
  data: {status: no}
  network: {status: yes, document: "QĐ 1/QĐ"}
defaults:
  ssh: {user: root, known_hosts: known_hosts, connect_timeout: 2}
hosts:
  - {name: here, address: 127.0.0.1, zone: mgmt, transport: local}
  - {name: gone, address: 127.0.0.1, zone: dmz, transport: ssh, ssh: {port: 21097}}
"""


def result(check_id: str, status: Status, host: str = "", target: str = "") -> Result:
    return Result(check_id=check_id, host=host, target=target, status=status, severity=Severity.HIGH,
                  survey_items=("XI.1",), message=Message(key="x"))


def waiver(**kw) -> Waiver:
    base = {"check": "tls.cert.untrusted", "justification": "internal CA trusted by every client",
            "approver": "Giám đốc Trung tâm", "expires": dt.date(2027, 1, 1)}
    return Waiver(**(base | kw))


def test_apply_waivers_marks_only_covered_failures():
    results = [result("tls.cert.untrusted", Status.FAIL, "web", "443/tcp"),
               result("tls.cert.untrusted", Status.FAIL, "mail", "993/tcp"),
               result("tls.cert.untrusted", Status.PASS, "web", "8443/tcp"),
               result("http.hsts", Status.FAIL, "web", "443/tcp")]
    out, states = apply_waivers(results, [waiver(host="web")], dt.date(2026, 12, 1))
    assert [r.waiver is not None for r in out] == [True, False, False, False]
    assert states[0].state == "active" and states[0].matched == 1


def test_expired_waiver_no_longer_applies():
    out, states = apply_waivers([result("tls.cert.untrusted", Status.FAIL, "web")],
                                [waiver(expires=dt.date(2026, 1, 1))], dt.date(2026, 12, 1))
    assert out[0].waiver is None and states[0].state == "expired"


def test_glob_waiver_and_unused_state():
    out, states = apply_waivers([result("tls.cipher.weak", Status.FAIL, "web")],
                                [waiver(check="tls.cipher.*"), waiver(check="http.trace")], dt.date(2026, 12, 1))
    assert out[0].waiver["check"] == "tls.cipher.*"
    assert [s.state for s in states] == ["active", "unused"]


def test_waiver_file_is_validated_strictly(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("waivers:\n"
                    "  - check: tls.nope\n"
                    "    host: web-09\n"
                    "    justification: short\n"
                    "    approver: A. B.\n"
                    "    expires: 2027-01-01\n"
                    "  - check: declared.policy.data\n"
                    "    justification: the policy is being drafted, due in January\n"
                    "    approver: Giám đốc\n"
                    "    expires: not-a-date\n"
                    "    color: red\n")
    with pytest.raises(ValidationFailed) as info:
        load_waivers(path, {c.id for c in default_registry()}, {"web-01"})
    found = {(i.line, i.path) for i in info.value.issues}
    assert {(4, "waivers[0].justification"), (10, "waivers[1].expires"), (11, "waivers[1].color")} <= found
    path.write_text(path.read_text().replace("short", "a justification long enough")
                    .replace("not-a-date", "2027-02-01").replace("    color: red\n", ""))
    with pytest.raises(ValidationFailed) as info:
        load_waivers(path, {c.id for c in default_registry()}, {"web-01"})
    assert {(i.line, i.message) for i in info.value.issues} == {
        (2, "no check matches 'tls.nope'"), (3, "unknown host 'web-09'")}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=ROOT, capture_output=True, text=True)


def test_waiver_stops_counting_toward_the_exit_code(tmp_path):
    inv = tmp_path / "inv.yaml"
    inv.write_text(INVENTORY.replace("  - {name: gone", "  # - {name: gone"), encoding="utf-8")
    first = run_cli("scan", str(inv), "-o", str(tmp_path / "a.json"), "--checks", "declared.*",
                    "--fail-on", "medium", "--no-report")
    assert first.returncode == 1, first.stderr
    (tmp_path / "inv.waivers.yaml").write_text(
        "waivers:\n  - check: declared.policy.data\n    justification: policy drafted, signed in January\n"
        "    approver: Giám đốc Sở\n    compensating_control: access reviewed monthly\n    expires: 2099-01-01\n",
        encoding="utf-8")
    second = run_cli("scan", str(inv), "-o", str(tmp_path / "b.json"), "--checks", "declared.*",
                     "--fail-on", "medium", "--no-report")
    assert second.returncode == 0, second.stderr
    scan = load(tmp_path / "b.json")
    [waived] = [r for r in scan.org_results if r.check_id == "declared.policy.data"]
    assert waived.status == Status.FAIL and waived.waiver["approver"] == "Giám đốc Sở"
    assert scan.waivers[0].state == "active"


def test_rescan_failed_regathers_only_what_did_not_pass(tmp_path):
    inv_path = tmp_path / "inv.yaml"
    inv_path.write_text(INVENTORY, encoding="utf-8")
    loaded = load_inventory(inv_path)
    registry = default_registry()
    checks = registry.select(["system.*", "declared.*"])
    engine = Engine(registry, default_collectors(), load_thresholds())
    first = engine.scan(ScanContext(loaded=loaded, options=ScanOptions()), checks)
    assert first.hosts["gone"].observations["host"].outcome == Outcome.UNREACHABLE
    assert engine.rescan_plan(checks, loaded.inventory, first) == {"host": ["gone"]}

    second = engine.scan(ScanContext(loaded=loaded, options=ScanOptions()), checks, previous=first)
    assert second.rescan_of == first.started and set(second.phases) == {"host"}
    assert second.phases["host"].hosts == 1
    # The passing host's facts are carried over as they were, and everything is judged again.
    assert second.hosts["here"].observations["host"] == first.hosts["here"].observations["host"]
    assert second.hosts["gone"].observations["host"].started > first.hosts["gone"].observations["host"].started
    assert {r.check_id for r in second.all_results()} == {r.check_id for r in first.all_results()}


def test_merge_parts_keeps_the_probes_not_run_again_and_says_so():
    from scanner.facts.host import HostObservation
    previous = HostObservation.model_validate({
        "parsed": {"patching": {"old": 1}, "sshd_config": {"old": 2}, "accounts": {"old": 3}},
        "parse_errors": {"auditd": "no output"},
        "commands": [{"name": "patching"}, {"name": "sshd_config"}, {"name": "accounts"}],
        "round_trips": 3, "notes": ["old note"]})
    fresh = HostObservation.model_validate({
        "parsed": {"sshd_config": {"new": 2}}, "parse_errors": {"auditd": "still none"},
        "commands": [{"name": "sshd_config"}, {"name": "auditd"}], "round_trips": 2, "notes": []})
    merged = fresh.with_parts_from(previous, frozenset({"sshd_config", "auditd"}))
    assert merged.parsed == {"patching": {"old": 1}, "sshd_config": {"new": 2}, "accounts": {"old": 3}}
    assert merged.parse_errors == {"auditd": "still none"}
    assert [c.name for c in merged.commands] == ["patching", "accounts", "sshd_config", "auditd"]
    assert merged.kept_from_previous == ("accounts", "patching")
    assert merged.round_trips == 2 and merged.notes == ()


def test_rescan_gathers_only_the_probes_the_unsettled_checks_read(tmp_path):
    """A first scan of this machine (local transport); then a rescan where the only unsettled
    host check is the SSH configuration one: only the sshd_config probe runs again, the other
    probes' facts are carried over, and waived failures count as settled."""
    inv_path = tmp_path / "inv.yaml"
    inv_path.write_text(INVENTORY.replace("  - {name: gone, address: 127.0.0.1, zone: dmz, transport: ssh, ssh: {port: 21097}}\n", ""),
                        encoding="utf-8")
    loaded = load_inventory(inv_path)
    registry = default_registry()
    checks = registry.select(["patch.*", "ssh.config.*"])
    engine = Engine(registry, default_collectors(), load_thresholds())
    first = engine.scan(ScanContext(loaded=loaded, options=ScanOptions()), checks)
    results = first.hosts["here"].results
    # Pretend every patch.* check passed or is an accepted risk, and one ssh_config check failed.
    forced = []
    for r in results:
        if r.check_id.startswith("patch."):
            forced.append(r.model_copy(update={"status": Status.FAIL, "waiver": {"approver": "x"}}))
        elif r.check_id == "ssh.config.root_login":
            forced.append(r.model_copy(update={"status": Status.FAIL, "waiver": None}))
        else:
            forced.append(r.model_copy(update={"status": Status.PASS}))
    assert any(r.check_id == "ssh.config.root_login" for r in forced)
    first.hosts["here"].results = forced
    plan = engine.rescan_plan(checks, loaded.inventory, first)
    assert plan == {"host": ["here"]}
    parts = engine.rescan_parts(checks, loaded.inventory, first, plan)
    assert parts[("host", "here")].parts == frozenset({"sshd_config"})

    second = engine.scan(ScanContext(loaded=loaded, options=ScanOptions()), checks, previous=first)
    data = second.hosts["here"].observations["host"].data
    assert [c["name"] for c in data["commands"] if c["name"] == "sshd_config"] == ["sshd_config"]
    assert "patching" in data["kept_from_previous"] and "sshd_config" not in data["kept_from_previous"]
    assert data["parsed"]["patching"] == first.hosts["here"].observations["host"].data["parsed"]["patching"]
    fresh = {c["name"] for c in data["commands"]} - set(data["kept_from_previous"])
    assert fresh == {"sshd_config"}
