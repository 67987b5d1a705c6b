"""Pre-flight against real endpoints: this machine, a silent port, a refused port, an unknown
host key, and a lab host with sudo; plus the pure rules that explain what stands in the way."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scanner.app.preflight import checks_left_unknown, classify_sudo_error, preflight
from scanner.inventory import load_inventory
from tests.sshd import keygen, start_sshd
from tests.test_engine import SilentListener


def test_rules_for_missing_tools_and_root():
    assert checks_left_unknown(["nft"], True) == []  # iptables is still there
    assert checks_left_unknown(["nft", "iptables"], True) == ["firewall.default_deny"]
    without_root = checks_left_unknown([], False)
    assert "accounts.empty_password" in without_root and "ssh.config.*" in without_root


@pytest.mark.parametrize("stderr,fragment", [
    ("sudo: a password is required\n", "asks for a password"),
    ("sudo: sorry, you must have a tty to run sudo\n", "requiretty"),
    ("rsscan is not in the sudoers file.  This incident will be reported.\n", "may not use sudo"),
    ("sh: 1: sudo: not found\nsudo: command not found\n", "not installed"),
])
def test_sudo_errors_are_explained(stderr, fragment):
    assert fragment in classify_sudo_error(stderr)


def test_preflight_reports_each_host_on_its_own(tmp_path):
    silent = SilentListener(0)
    client_key = keygen(tmp_path / "client")
    server = start_sshd(tmp_path / "sshd", 21060, [client_key])
    try:
        (tmp_path / "known_hosts").write_text("")  # the sshd's key is deliberately not known
        inv = tmp_path / "inv.yaml"
        inv.write_text(f"""\
organization: {{name: Test}}
defaults:
  ssh: {{user: root, key: {client_key}, known_hosts: known_hosts, connect_timeout: 2}}
hosts:
  - {{name: here, address: 127.0.0.1, zone: mgmt, transport: local}}
  - {{name: silent, address: 127.0.0.1, zone: dmz, ssh: {{port: {silent.port}}}}}
  - {{name: refused, address: 127.0.0.1, zone: dmz, ssh: {{port: 21061}}}}
  - {{name: stranger, address: 127.0.0.1, zone: dmz, ssh: {{port: {server.port}}}}}
  - {{name: appliance, address: 127.0.0.1, zone: dmz, transport: none}}
""", encoding="utf-8")
        rows = {r.host: r for r in preflight(load_inventory(inv))}
        assert rows["here"].ready and rows["here"].authenticated
        assert rows["silent"].reachable is False and "handshake" in rows["silent"].note
        assert rows["refused"].reachable is False and not rows["refused"].ready
        assert rows["stranger"].reachable is True and rows["stranger"].authenticated is False
        assert "not in known_hosts" in rows["stranger"].note
        assert rows["appliance"].ready and rows["appliance"].reachable is None
        assert (tmp_path / "known_hosts").read_text() == ""  # nothing trusted silently

        proc = subprocess.run([sys.executable, "-m", "scanner", "preflight", str(inv), "--lang", "en"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, COLUMNS="400"))
        assert proc.returncode == 3 and "not in known_hosts" in proc.stdout
        assert "Traceback" not in proc.stderr and "paramiko" not in proc.stderr
    finally:
        silent.close()
        server.stop()


@pytest.mark.lab
def test_preflight_on_the_lab_uses_sudo(lab):  # noqa: F811
    rows = preflight(load_inventory(lab.inventory))
    assert rows and all(r.ready and r.privileged for r in rows), [(r.host, r.note) for r in rows]


from tests.labfixture import lab  # noqa: E402,F401
from tests.paths import ROOT  # noqa: E402


def test_a_windows_account_without_admin_or_full_language_is_told_which_checks_will_be_unknown():
    from scanner.app.preflight import windows_unknown_checks
    from scanner.facts.host import WindowsSession

    assert windows_unknown_checks(WindowsSession(language="FullLanguage", admin=True)) == []
    user = windows_unknown_checks(WindowsSession(language="FullLanguage", admin=False))
    # the Security log, the audit policy, SMB and WinRM listeners need an administrator
    assert {"windows.audit_policy", "logging.retention", "windows.smb1_disabled"} <= set(user)
    assert "patch.os_eol" not in user and "accounts.lockout" not in user
    constrained = windows_unknown_checks(WindowsSession(language="ConstrainedLanguage", admin=True))
    assert set(user) < set(constrained) and "patch.os_eol" in constrained
