"""The shared reads of scanner/winprobes/registry.py: a registry key section, Get-Service, error records and
sections the output cap cut. Inputs are CONSTRUCTED (the recorded ones are exercised by each probe's tests)."""

from __future__ import annotations

import json

import pytest

from scanner.winprobes import ProbeOutput, SectionOutput
from scanner.winprobes.localaccounts import parse_local_accounts
from scanner.winprobes.registry import error_kind, read_key, read_service, registry_command, section_text
from scanner.winprobes.remote import parse_rdp, parse_smb
from scanner.winprobes.storage import parse_disks
from tests.winprobe_outputs import ACCESS_DENIED, NOT_RECOGNIZED, recorded


@pytest.mark.parametrize(("text", "kind"), [
    (ACCESS_DENIED.format(cmd="Get-CimInstance"), "access_denied"),
    (NOT_RECOGNIZED.format(cmd="Get-LocalUser"), "cmdlet_missing"),
    # PowerShell 7's one-line view names no CommandNotFoundException: an error, no claim the cmdlet is missing
    ("Get-LocalUser: The term 'Get-LocalUser' is not recognized\n", "error"),
    ("Get-Service : Cannot find any service with service name 'X'.\r\n", "error"),
    ("Get-Service: Cannot find any service with service name 'X'.\n", "error"),
    ("Access is denied.\r\n", "access_denied"),
    ("<html><body>Get-Service : x</body></html>", None),  # markup: unparsed, not an error of the host
    ("DeviceID : C:\r\nSize     : 1\r\n", None),  # a table, not an error record
    ('{"Present": true', None), ("[", None), ("", None), ("  \ufeff  ", None),
])
def test_error_kind(text, kind):
    assert error_kind(text) == kind


def test_registry_key_reads():
    assert read_key(json.dumps({"Present": False, "Values": None})).status == "absent"
    ok = read_key(json.dumps({"Present": True, "Values": {"A": 1, "PSPath": "x", "B": "t"}}))
    assert (ok.status, ok.values, ok.int_value("A"), ok.text_value("B"), ok.int_value("B")) == ("ok", {"A": 1, "B": "t"},
                                                                                               1, "t", None)
    assert read_key(json.dumps({"Present": True, "Values": None})).values == {}
    for bad in ({"Present": "yes"}, {"Values": {}}, {"Present": True, "Values": [1]}, [1]):
        assert read_key(json.dumps(bad)).status == "unparsed", bad
    assert read_key("").status == "empty"


def test_registry_command_is_fixed():
    command = registry_command(r"HKLM:\SOFTWARE\X", ("A", "B"))
    assert command.count("-LiteralPath 'HKLM:\\SOFTWARE\\X'") == 2 and "Select-Object A,B" in command
    with pytest.raises(AssertionError):
        registry_command("HKLM:\\X'; Remove-Item C:\\", ())
    with pytest.raises(AssertionError):
        registry_command("HKLM:\\X", ("A;B",))


def test_service_reads():
    assert read_service(json.dumps([{"Name": "winrm", "Status": 4, "StartType": 2}]), "WinRM").state == "running"
    assert read_service(json.dumps([{"Name": "WinRM"}, {"Name": "WinRM"}]), "WinRM").status == "unparsed"
    assert read_service("", "WinRM").status == "empty"


def cut(text: str) -> SectionOutput:
    return SectionOutput(text=text, truncated=True)


def test_a_section_the_cap_cut_is_never_read_even_when_it_parses():
    # a cut that happens to leave valid JSON (here: the whole text, flagged as cut) still reads as unparsed
    users = recorded("win_local_accounts", "users", "cnquery_getlocaluser")
    out = ProbeOutput(sections={"users": cut(users)})
    assert section_text(out, "users") == "{"
    assert parse_local_accounts(out).users == ()
    rdp = parse_rdp(ProbeOutput(sections={"terminal_server": cut(json.dumps({"Present": True, "Values": {
        "fDenyTSConnections": 0}})), "policy": SectionOutput(text=json.dumps({"Present": False, "Values": None}))}))
    assert rdp.rdp_enabled is None and rdp.sections["terminal_server"] == "unparsed"
    smb = parse_smb(ProbeOutput(sections={"server": cut(json.dumps({"EnableSMB1Protocol": False}))}))
    assert smb.status == "unparsed" and smb.smb1_enabled is None
    disks = parse_disks(ProbeOutput(sections={"logical_disks": cut(json.dumps({"DeviceID": "C:", "Size": 2,
                                                                                 "FreeSpace": 1}))}))
    assert disks.items == ()


def test_the_new_probes_build_into_a_host_script():
    # the script builder's own rules: lower-case names, ASCII, no line that would end its here-string
    from scanner.winprobes import localaccounts, policies, remote, storage
    from scanner.winprobes.script import build_script
    probes = [*remote.PROBES, *localaccounts.PROBES, *policies.PROBES, *storage.PROBES]
    script = build_script(probes, "0123456789abcdef")
    assert all(f"name = '{p.name}'" in script for p in probes)
    assert len({p.name for p in probes}) == 8
