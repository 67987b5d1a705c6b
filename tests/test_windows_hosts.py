"""Windows hosts end to end (issue 16): an inventory with a Windows server validates, preflights
and scans into the same scan file, report, filled survey and diff as a Linux host.

The Windows server is a recorded one (tests/winreplay.py answering from outputs published for real
Windows Server 2016 and 2025 hosts). It is reached for real: over SSH through a real sshd on
loopback whose ForceCommand is the recorded host, and over WinRM through a real WSMan server on
loopback (TLS, NTLM) whose command answers the same way. PowerShell itself never runs here."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from scanner.app.cli import main
from scanner.app.preflight import preflight
from scanner.inventory import load_inventory
from tests.daemons import make_tls
from tests.paths import ROOT
from tests.sshd import keygen, start_sshd
from tests.winreplay import HOSTS, answer, load_host
from tests.wsman_server import Script, WsmanServer

# Host checks only: the port scan of 127.0.0.1 would be this machine's, not the recorded host's.
CHECKS = ["patch.*", "accounts.*", "firewall.*", "malware.*", "logging.*", "monitoring.*", "windows.*",
          "system.*"]
SSH_PORT = 21090
WINRM_PASSWORD = "Pa55-w0rd!scan"


@pytest.fixture
def windows_over_ssh(tmp_path):
    """A Windows host behind a real sshd: `host.yaml` (a link) names the recording it answers with."""
    key = keygen(tmp_path / "client")
    recording = tmp_path / "host.yaml"
    recording.symlink_to(HOSTS / "ws2016_member.yaml")
    server = start_sshd(tmp_path / "sshd", SSH_PORT, [key],
                        extra=f"ForceCommand cd {ROOT} && exec {sys.executable} -m tests.winreplay {recording}\n")
    (tmp_path / "known_hosts").write_text(server.known_hosts_line())
    inv = tmp_path / "inv.yaml"
    inv.write_text(f"""\
organization: {{name: So TT&TT tinh thu}}
defaults:
  ssh: {{user: root, key: {key}, known_hosts: known_hosts, connect_timeout: 5}}
hosts:
  - {{name: here, address: 127.0.0.1, zone: mgmt, transport: local}}
  - name: mot-cua
    address: 127.0.0.1
    zone: app
    role: one-stop-shop application (IIS, .NET)
    platform: windows
    transport: ssh
    ssh: {{port: {server.port}}}
""", encoding="utf-8")
    yield inv, recording
    server.stop()


def _scan(inv: Path, out: Path) -> dict:
    code = main(["scan", str(inv), "-o", str(out), "--checks", *CHECKS, "--no-report", "-q", "--lang", "en"])
    assert code in (0, 1), code
    return json.loads(out.read_text())


def _results(scan: dict, host: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in scan["hosts"][host]["results"]:
        out.setdefault(r["check_id"], []).append(r)
    return out


def _status(results: dict[str, list[dict]], check_id: str) -> set[str]:
    return {r["status"] for r in results[check_id]}


def test_a_windows_host_scans_into_the_same_scan_file_report_survey_and_diff(windows_over_ssh, tmp_path, capsys):
    inv, recording = windows_over_ssh
    loaded = load_inventory(inv)
    rows = {r.host: r for r in preflight(loaded)}
    win = rows["mot-cua"]
    assert win.ready and win.privileged is True and "PowerShell 5.1.14393.7426" in win.note
    assert win.unknown_checks == []  # an administrator in FullLanguage: nothing will say unknown

    first = _scan(inv, tmp_path / "first.json")
    obs = first["hosts"]["mot-cua"]["observations"]["host"]
    assert obs["outcome"] == "ok" and obs["data"]["windows"]["language"] == "FullLanguage"
    results = _results(first, "mot-cua")
    # Linux mechanisms have no result on Windows; the shared ids answer from Windows facts
    assert not any(c.startswith(("ssh.config", "accounts.sudo", "logging.auditd")) for c in results)
    assert _status(results, "patch.os_eol") == {"pass"}  # 2016: extended support ends 2027-01-12
    assert results["patch.os_eol"][0]["message"]["key"] == "ends_soon"
    assert _status(results, "accounts.password_quality") == {"fail"}  # minimum length 0
    assert _status(results, "accounts.lockout") == {"fail"}  # lockout threshold Never
    assert _status(results, "windows.audit_policy") == {"fail"}  # Security System Extension: No Auditing
    assert {r["target"] for r in results["firewall.default_deny"]} == {"Domain", "Private", "Public"}
    assert _status(results, "patch.security_updates") == {"unknown"}  # never searched, and says so
    assert _status(results, "windows.smb1_disabled") == {"pass"}
    assert results["windows.update_policy"][0]["message"]["key"] == "wsus"
    builtin = {r["target"]: r["status"] for r in results["windows.builtin_accounts"]}
    assert builtin == {"guest": "pass", "administrator": "fail"}  # found by RID, whatever its name
    # what no recording gave is unknown, never passed: the reboot markers, the RDP keys
    assert _status(results, "patch.reboot_required") == {"unknown"} and _status(results, "windows.rdp_nla") == {"unknown"}
    assert "XI.3.3.1" in results["windows.audit_policy"][0]["survey_items"]
    # the Linux host of the same inventory is judged as always, side by side
    assert "patch.os_eol" in _results(first, "here")

    report = tmp_path / "first.html"
    assert main(["report", str(tmp_path / "first.json"), "-o", str(report), "--lang", "en"]) == 0
    page = report.read_text()
    assert "mot-cua" in page and "Get-NetFirewallProfile -PolicyStore ActiveStore" in page
    assert "/etc/os-release on mot-cua" not in page  # no Linux sentence about the Windows host
    survey = tmp_path / "first.survey.html"
    assert main(["report", str(tmp_path / "first.json"), "--format", "survey-html", "-o", str(survey)]) == 0
    assert "mot-cua" in survey.read_text()

    # the server is upgraded and hardened: scan again and see what changed
    recording.unlink()
    recording.symlink_to(HOSTS / "ws2025_member.yaml")
    second = _scan(inv, tmp_path / "second.json")
    after = _results(second, "mot-cua")
    assert after["patch.os_eol"][0]["message"]["key"] == "supported"
    # lockout now set, at 10 attempts: still a gap, a smaller one (more than 5 is lenient)
    assert results["accounts.lockout"][0]["message"]["key"] == "disabled"
    assert after["accounts.lockout"][0]["message"]["key"] == "lenient"
    capsys.readouterr()
    code = main(["diff", str(tmp_path / "first.json"), str(tmp_path / "second.json"), "--format", "json"])
    assert code in (0, 1)
    listing = json.loads(capsys.readouterr().out)
    rows = next(v for v in listing.values() if isinstance(v, list))
    changed = {(r.get("host"), r.get("check_id")) for r in rows}
    assert ("mot-cua", "accounts.lockout") in changed, rows


def test_a_windows_host_over_winrm_gives_what_it_gives_over_ssh(windows_over_ssh, tmp_path, monkeypatch):
    inv, _ = windows_over_ssh
    store = tmp_path / "ntlm-users"
    store.write_text(f"LAB:scanner:{WINRM_PASSWORD}\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(store))
    monkeypatch.setenv("RS_WIN_PASSWORD", WINRM_PASSWORD)
    tls = make_tls(tmp_path / "tls", dns_names=("mot-cua.lab.test",))
    recorded = load_host(HOSTS / "ws2016_member.yaml")
    with WsmanServer(cert=tls.cert, key=tls.key) as server:
        server.script = Script(respond=lambda stdin: answer(stdin.decode("ascii"), recorded,
                                                            int(time.time())).encode())
        over_winrm = tmp_path / "winrm.yaml"
        over_winrm.write_text(inv.read_text().replace(
            "    transport: ssh\n", f"""\
    transport: winrm
    fqdn: mot-cua.lab.test
    winrm: {{user: 'LAB\\scanner', password_env: RS_WIN_PASSWORD, port: {server.port}, auth: ntlm,
             ca_file: {tls.ca}}}
"""))
        via_winrm = _scan(over_winrm, tmp_path / "winrm.json")
        assert server.seen.commands and server.seen.commands[0][0] == "powershell.exe"
    via_ssh = _scan(inv, tmp_path / "ssh.json")
    assert via_winrm["hosts"]["mot-cua"]["observations"]["host"]["data"]["transport"] == "winrm"

    def verdicts(scan: dict) -> set[tuple[str, str, str]]:
        return {(r["check_id"], r["target"], r["status"]) for r in scan["hosts"]["mot-cua"]["results"]}

    assert verdicts(via_winrm) == verdicts(via_ssh)


@pytest.mark.parametrize(("host", "release", "eol"), [("ws2016_member", "2016", "ends_soon"),
                                                      ("ws2022_member", "2022", "supported"),
                                                      ("ws2025_member", "2025", "supported")])
def test_each_recorded_windows_server_version_is_judged_from_its_own_recording(host, release, eol):
    from datetime import UTC, datetime

    from checks import default_registry
    from checks.registry import HostContext
    from scanner.collectors.windows_host import gather_windows
    from scanner.model import Observation, Outcome
    from scanner.thresholds import load_thresholds
    from scanner.winprobes.catalog import default_windows_probes
    from tests.test_winprobes_script import _Recorded

    inv = load_inventory(ROOT / "inventories" / "example.yaml").inventory
    dc = inv.host("vbdh-sql-01")
    now = datetime(2026, 12, 5, tzinfo=UTC)
    seen = gather_windows(_Recorded(load_host(HOSTS / f"{host}.yaml")), default_windows_probes(), budget=60, now=0)
    obs = Observation(collector="host", outcome=Outcome.OK, started=now, ended=now, data=seen.model_dump(mode="json"))
    ctx = HostContext(host=dc, inventory=inv, observations={"host": obs}, settings=load_thresholds(), now=now)
    registry = default_registry()
    eol_result = registry.run_host_check(registry.get("patch.os_eol"), ctx)[0]
    assert eol_result.message.key == eol and eol_result.evidence["release"] == f"Windows Server {release}"
    # a Linux-only check has nothing to say about it; none of its Windows checks crashed
    assert registry.run_host_check(registry.get("ssh.config.root_login"), ctx) == []
    crashed = [r.check_id for c in registry for r in registry.run_host_check(c, ctx)
               if r.message and r.message.key == "_check_crashed"]
    assert crashed == []
