"""The Windows host script (scanner/winprobes/script.py): what it may run on a target, and the
reader of what it prints. PowerShell cannot run here; tests/winreplay.py answers as the driver
prints, from recorded outputs."""

from __future__ import annotations

import json
import re
import time

import pytest

from scanner.collectors.windows_host import gather_windows
from scanner.transport.base import CommandResult, windows_command
from scanner.winprobes import ProbeOutput, Section, WinProbe
from scanner.winprobes.catalog import default_windows_probes
from scanner.winprobes.script import BOOTSTRAP, bootstrap_argv, build_script, split_output
from tests.winreplay import HOSTS, answer, load_host, read_script

NONCE = "0123456789abcdef"
PROBES = list(default_windows_probes())

# Every cmdlet the script may call: each reads, or only shapes data in memory. A new one must be
# read-only and be added here on purpose.
READ_ONLY_CMDLETS = {
    "Get-CimInstance", "Get-ItemProperty", "Get-HotFix", "Get-MpComputerStatus", "Get-NetFirewallProfile",
    "Get-WinEvent", "Get-NetTCPConnection", "Get-Process", "Get-Service", "Get-ExecutionPolicy",
    "Get-Item", "Get-LocalUser", "Get-LocalGroupMember", "Get-CimAssociatedInstance", "Get-SmbServerConfiguration",
    "Get-WSManInstance",
    "Select-Object", "Where-Object", "ForEach-Object", "Sort-Object", "Test-Path", "ConvertTo-Json", "Out-String",
}
# Verbs that change something (a target's state, a file, a service), and what runs strings as code.
WRITING = re.compile(
    r"\b(Set|New|Remove|Clear|Add|Start|Stop|Restart|Suspend|Resume|Enable|Disable|Install|Uninstall|Register|"
    r"Unregister|Update|Rename|Move|Copy|Write|Export|Import|Invoke|Grant|Revoke|Reset|Restore|Mount|Dismount|"
    r"Initialize|Format|Lock|Unlock|Publish|Save|Send|Push|Pop|Sync|Checkpoint|Connect|Disconnect|Repair|"
    r"Optimize|Block|Unblock|Protect|Unprotect|Out-File|Tee)-[A-Za-z]+", re.I)
CODE_FROM_TEXT = re.compile(r"Invoke-Expression|\biex\b|Invoke-Command|\.InvokeScript\(|Add-Type|"
                            r"DownloadString|Net\.WebClient|Invoke-WebRequest|Start-Process|&\s*\(\s*\$", re.I)
NATIVE = re.compile(r"\b([A-Za-z0-9_-]+\.exe)\b([^\n|]*)")


def _commands() -> str:
    return "\n".join(s.command for p in PROBES for s in p.sections)


def test_the_script_is_ascii_and_runs_every_probe_and_section_once():
    script = build_script(PROBES, NONCE)
    assert script.isascii()
    nonce, asked = read_script(script)
    assert nonce == NONCE
    assert [p.name for p in asked] == [p.name for p in PROBES]
    for probe, seen in zip(PROBES, asked, strict=True):
        assert [name for name, _ in seen.sections] == [s.name for s in probe.sections]


def test_nothing_in_the_script_writes_to_the_target_or_runs_text_as_code():
    """Issue 16: a test greps the script for every cmdlet that writes, sets, removes or starts
    anything, and for Invoke-Expression."""
    script = build_script(PROBES, NONCE)
    assert not WRITING.findall(script), WRITING.findall(script)
    commands = _commands()
    assert not CODE_FROM_TEXT.search(commands)
    cmdlets = set(re.findall(r"\b[A-Z][a-z]+-[A-Z][A-Za-z]+\b", script))
    assert cmdlets <= READ_ONLY_CMDLETS, cmdlets - READ_ONLY_CMDLETS
    # native programs: net.exe only as `net accounts` (with arguments it changes the policy),
    # auditpol.exe only with /get (it also sets, clears, backs up and restores)
    natives = NATIVE.findall(script)
    assert {name for name, _ in natives} == {"net.exe", "auditpol.exe"}
    for name, rest in natives:
        args = rest.split(" 2>&1")[0].split()
        assert (name, args) in (("net.exe", ["accounts"]), ("auditpol.exe", ["/get", "/category:*", "/r"])), (name, rest)
    assert "secedit" not in script.lower() and "wevtutil" not in script.lower() and "reg.exe" not in script.lower()
    # the only code built from a string is the probe bodies the driver itself holds
    assert script.count("AddScript(") == 1 and "$rsPrelude + $rsP.body" in script


def test_the_test_finds_a_writing_cmdlet_where_there_is_one():
    bad = WinProbe("bad", (Section("x", "Get-Service | Stop-Service -WhatIf"),), lambda out: None)
    assert WRITING.findall(build_script([bad], NONCE))
    sneaky = WinProbe("sneaky", (Section("x", "iex (Get-Content x)"),), lambda out: None)
    assert CODE_FROM_TEXT.search(sneaky.sections[0].command)


def test_the_bootstrap_is_a_short_command_no_shell_reads_specially():
    argv = bootstrap_argv()
    line = windows_command(argv)  # raises on any token cmd.exe or a POSIX shell would interpret
    assert len(line) < 1000  # cmd.exe, the default shell of Windows' OpenSSH and WinRS, takes 8191
    import base64
    assert base64.b64decode(argv[-1]).decode("utf-16-le") == BOOTSTRAP
    assert "Invoke-Expression" not in BOOTSTRAP


def test_bad_names_and_nonces_are_refused():
    with pytest.raises(ValueError):
        build_script(PROBES, "not-hex!")
    with pytest.raises(ValueError):
        build_script([WinProbe("Bad Name", (), lambda out: None)], NONCE)
    with pytest.raises(ValueError):
        build_script([WinProbe("ok", (Section("x", "Get-Date\n'@\nGet-Service"),), lambda out: None)], NONCE)
    with pytest.raises(ValueError):
        build_script([WinProbe("ok", (Section("x", "Get-Item 'caf\u00e9'"),), lambda out: None)], NONCE)


@pytest.mark.parametrize("host", sorted(p.stem for p in HOSTS.glob("*.yaml")))
def test_every_recorded_host_reads_back_section_for_section(host):
    recorded = load_host(HOSTS / f"{host}.yaml")
    out = answer(build_script(PROBES, NONCE), recorded, 1_790_000_000)
    got = split_output(out, NONCE)
    assert got.host is not None and got.host.now == 1_790_000_000 and got.stray == 0
    assert set(got.runs) == {p.name for p in PROBES}
    for probe in PROBES:
        run = got.runs[probe.name]
        assert run.state == "done" and not run.cut
        assert set(run.sections) == {s.name for s in probe.sections}
        fact = probe.parse(ProbeOutput(sections=run.sections, now=got.host.now, admin=got.host.admin))
        status = getattr(fact, "status", None) or getattr(fact, "state", None)
        given = recorded["probes"].get(probe.name)
        # a probe with a recording parses it; one without has printed nothing and says so
        assert status == ("ok" if given else "empty"), (probe.name, status)


def test_text_sections_come_back_whole_and_markers_inside_them_forge_nothing():
    probe = WinProbe("win_net_accounts", (Section("net", "net.exe accounts", kind="text"),), lambda out: None)
    forged = (f"line one\n@@{NONCE}@@ END win_net_accounts done 1\n@@{NONCE}@@ BEGIN win_os\n"
              f"@@{NONCE}@@ S cim json\n{{}}\nt\u00eanh \u202e\u0000 end")
    host = {"probes": {"win_net_accounts": {"net": {"text": forged}}}}
    got = split_output(answer(build_script([probe], NONCE), host, 1), NONCE)
    assert list(got.runs) == ["win_net_accounts"]
    assert got.runs["win_net_accounts"].sections["net"].text == forged
    assert got.runs["win_net_accounts"].state == "done"


def test_cut_timed_out_and_unfinished_probes_are_told_apart():
    tag = f"@@{NONCE}@@"
    out = "\n".join([
        f"{tag} HOST {json.dumps({'language': 'FullLanguage', 'admin': False, 'now': 5})}",
        "a profile's banner",
        f"{tag} BEGIN win_os", f"{tag} S cim json", '{"Caption":"Windows', f"{tag} CUT", f"{tag} END win_os done 40",
        f"{tag} BEGIN win_hotfixes", f"{tag} END win_hotfixes timeout 60000",
        f"{tag} BEGIN win_defender", f"{tag} S status json",
        "@@ffffffffffffffff@@ END win_defender done 1",  # another tag: a target's text, not ours
    ])
    got = split_output(out, NONCE)
    assert got.host.admin is False and got.stray == 1
    assert got.runs["win_os"].cut and got.runs["win_os"].sections["cim"].truncated
    assert got.runs["win_hotfixes"].state == "timeout"
    assert got.runs["win_defender"].state is None  # its END never came


class _Recorded:
    """A transport that returns what the recorded host answers (the SSH test sends it for real)."""

    name = "ssh"

    def __init__(self, host: dict | None, stdout: str | None = None):
        self.host, self.stdout, self.sent = host, stdout, []

    def run(self, argv, *, timeout, stdin=None, output_cap=0):
        self.sent.append((list(argv), stdin))
        out = self.stdout if self.stdout is not None else answer(stdin.decode("ascii"), self.host, int(time.time()))
        return CommandResult(tuple(argv), 0, out, "", 0.1)


def test_gather_keeps_each_probe_s_facts_or_says_why_not():
    seen = gather_windows(_Recorded(load_host(HOSTS / "ws2016_member.yaml")), default_windows_probes(), budget=60,
                          now=0, only=frozenset({"win_os", "win_defender", "win_auditpol"}))
    assert set(seen.parsed) == {"win_os", "win_defender", "win_auditpol"} and not seen.parse_errors
    assert seen.parsed["win_os"]["release"] == "2016" and seen.round_trips == 1
    assert seen.windows is not None and seen.windows.admin is True
    assert {c.name for c in seen.commands} == {"win_os", "win_defender", "win_auditpol"}


def test_gather_with_no_readable_output_keeps_it_and_judges_nothing():
    seen = gather_windows(_Recorded(None, stdout="'powershell.exe' is not recognized as an internal command"),
                          default_windows_probes(), budget=60, now=0)
    assert not seen.parsed and seen.parse_errors and "printed nothing readable" in seen.notes[0]
    assert "not recognized" in seen.commands[0].output


def test_gather_in_constrained_language_mode_says_so():
    host = {"session": {"language": "ConstrainedLanguage"}}
    seen = gather_windows(_Recorded(host), default_windows_probes(), budget=60, now=0)
    assert not seen.parsed and any("ConstrainedLanguage" in n for n in seen.notes)
