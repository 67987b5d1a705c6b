"""Remote Desktop, SMB server and WinRM listener parsers (scanner/winprobes/remote.py).

Recorded outputs (tests/fixtures/winprobes/<probe>_<section>/, each header naming its source and whether it is
verbatim or rebuilt): the Terminal Services policy key of a CIS test machine (wazuh-qa issue 3044), the RDP
port of a Windows Server docs pull request, Get-SmbServerConfiguration from Microsoft's 2012 R2, 2016, 2019 and 2022
reference pages (the 2016 and 2019 ones kept as the pages' Format-List text) and from a public issue (a host with SMB1 off), a listener from the Get-WSManInstance reference page,
and two listeners printed by `winrm enumerate winrm/config/Listener` in Ansible's Windows setup guide (kept as
winrm.cmd's text; the test BUILDS the probe's JSON from it; Server 2016 only by the machine name SERVER2016). Inputs written in this file are CONSTRUCTED to
exercise one rule each.
"""

from __future__ import annotations

import json

import pytest

from scanner.winprobes import ProbeOutput
from scanner.winprobes.remote import (
    PROBES,
    parse_rdp,
    parse_smb,
    parse_smb_text,
    parse_winrm_listeners,
)
from scanner.winprobes.remote import (
    SMB_FIELDS as SMB_PROPERTIES,
)
from tests.winprobe_outputs import (
    FIFTY_MB,
    assert_read_only,
    cases,
    commands_used,
    cuts,
    denied,
    hostile_texts,
    missing,
    output,
    recorded,
)


def key(values: dict | None, present: bool = True) -> str:
    return json.dumps({"Present": present, "Values": values})


LOCAL_SERVER = key({"fDenyTSConnections": 0})
LOCAL_TCP = key({"UserAuthentication": 1, "SecurityLayer": 2, "MinEncryptionLevel": 3, "PortNumber": 3389})
NO_POLICY = key(None, present=False)


def rdp(**sections) -> ProbeOutput:
    return output(**({"terminal_server": LOCAL_SERVER, "rdp_tcp": LOCAL_TCP, "policy": NO_POLICY} | sections))


def test_every_fixture_has_its_expectations():
    assert cases("win_rdp", "policy") == ["wazuh_cis_win10"]
    assert cases("win_rdp", "rdp_tcp") == ["windowsserverdocs_pr4799_port"]
    assert cases("win_smb", "server") == sorted(set(SMB) | set(SMB_FORMAT_LIST))
    assert cases("win_winrm_listeners", "listeners") == ["ansible_docs_server2016_winrm_enumerate",
                                                          "psdocs_get_wsmaninstance_example5"]


def test_probes_are_read_only_and_named():
    assert [p.name for p in PROBES] == ["win_rdp", "win_smb", "win_winrm_listeners"]
    assert [p.admin for p in PROBES] == [False, True, True]
    assert_read_only(PROBES)
    assert commands_used(PROBES[0].sections[0].command) == {"Get-Item", "Get-ItemProperty", "Select-Object"}


# --- RDP -----------------------------------------------------------------------------------------

def test_local_values_without_policy():
    fact = parse_rdp(rdp())
    assert fact.status == "ok" and fact.sections == {"terminal_server": "ok", "rdp_tcp": "ok", "policy": "absent"}
    assert (fact.rdp_enabled, fact.nla_required, fact.security_layer, fact.min_encryption_level, fact.port) == (
        True, True, "tls", "high", 3389)
    assert {fact.deny_connections.source, fact.user_authentication.source, fact.security_layer_value.source} == {
        "local"}


def test_recorded_policy_denies_connections_over_the_local_value():
    fact = parse_rdp(rdp(policy=recorded("win_rdp", "policy", "wazuh_cis_win10")))
    assert fact.deny_connections.model_dump() == {"value": 1, "source": "policy", "local": 0, "policy": 1}
    assert fact.rdp_enabled is False
    # the recorded policy key sets none of the others: the local values are in force
    assert (fact.nla_required, fact.user_authentication.source, fact.security_layer) == (True, "local", "tls")


def test_recorded_port_alone():
    fact = parse_rdp(rdp(rdp_tcp=recorded("win_rdp", "rdp_tcp", "windowsserverdocs_pr4799_port")))
    assert fact.port == 3389
    assert (fact.nla_required, fact.security_layer, fact.min_encryption_level) == (None, None, None)
    assert fact.user_authentication.source is None


def test_policy_values_win_and_name_their_source():
    policy = key({"fDenyTSConnections": 0, "UserAuthentication": 0, "SecurityLayer": 0, "MinEncryptionLevel": 1})
    fact = parse_rdp(rdp(policy=policy))
    assert (fact.nla_required, fact.security_layer, fact.min_encryption_level) == (False, "rdp", "low")
    assert fact.user_authentication.model_dump() == {"value": 0, "source": "policy", "local": 1, "policy": 0}


@pytest.mark.parametrize("policy", [denied("Get-ItemProperty"), "{\"Present\": true, \"Val", "", "junk"])
def test_unread_policy_leaves_every_effective_value_unknown(policy):
    fact = parse_rdp(rdp(policy=policy))
    assert fact.status == "ok" and fact.sections["policy"] != "ok"
    assert (fact.rdp_enabled, fact.nla_required, fact.security_layer, fact.min_encryption_level) == (None,) * 4
    assert fact.user_authentication.local == 1  # the local value stays visible as evidence
    assert fact.port == 3389  # no policy sets the port


@pytest.mark.parametrize(("values", "expected"), [
    ({"UserAuthentication": 2, "SecurityLayer": 3, "MinEncryptionLevel": 0, "PortNumber": 70000}, (None, None, None, None)),
    ({"UserAuthentication": "1", "SecurityLayer": "2", "MinEncryptionLevel": "4", "PortNumber": "3390"},
     (True, "tls", "fips", 3390)),
    ({"UserAuthentication": True, "SecurityLayer": [2], "MinEncryptionLevel": {"a": 1}, "PortNumber": -1},
     (None, None, None, None)),
])
def test_values_outside_the_documented_ones_are_unknown(values, expected):
    fact = parse_rdp(rdp(rdp_tcp=key(values)))
    assert (fact.nla_required, fact.security_layer, fact.min_encryption_level, fact.port) == expected


def test_a_policy_value_not_understood_does_not_let_the_local_value_through():
    fact = parse_rdp(rdp(policy=key({"UserAuthentication": "yes", "SecurityLayer": None})))
    assert fact.nla_required is None and fact.user_authentication.source is None
    assert fact.security_layer == "tls"  # null: the policy does not set it


def test_rdp_statuses():
    assert parse_rdp(ProbeOutput()).status == "empty"
    both = {"terminal_server": denied("Get-Item"), "rdp_tcp": denied("Get-Item"), "policy": NO_POLICY}
    assert parse_rdp(output(**both)).status == "access_denied"
    junk = parse_rdp(output(terminal_server="x", rdp_tcp="[1]", policy="{"))
    assert junk.status == "unparsed" and junk.rdp_enabled is None


def rdp_values(fact) -> dict:
    return fact.model_dump(include={"rdp_enabled", "nla_required", "security_layer", "min_encryption_level", "port"})


@pytest.mark.parametrize("tcp", [LOCAL_TCP, recorded("win_rdp", "rdp_tcp", "windowsserverdocs_pr4799_port")])
def test_rdp_truncations_never_give_a_wrong_value(tcp):
    sections = {"terminal_server": LOCAL_SERVER, "rdp_tcp": tcp,
                "policy": recorded("win_rdp", "policy", "wazuh_cis_win10")}
    full = rdp_values(parse_rdp(output(**sections)))
    for name, cut, out in cuts(sections):
        got = rdp_values(parse_rdp(out))
        assert all(v is None or v == full[k] for k, v in got.items()), (name, cut, got)


# --- SMB ------------------------------------------------------------------------------------------

SMB = {"netexec_issue182": (False, True, False, False, False, True),
       "ws2012r2_mspsdocs": (True, True, False, False, False, True),
       "ws2022_mspsdocs": (True, True, False, False, False, True)}
SMB_FIELDS = ("smb1_enabled", "smb2_enabled", "require_signing", "enable_signing", "encrypt_data", "reject_unencrypted")
# Kept verbatim as the reference pages print them (Format-List); the test builds the probe's JSON from them.
SMB_FORMAT_LIST = {"ws2016_mspsdocs_format_list": (True, True, False, False, False, True),
                   "ws2019_mspsdocs_format_list": (True, True, False, False, False, True)}


def smb_json_from_format_list(text: str) -> str:
    """BUILT from a recorded Format-List: the probe's six properties, True/False as JSON booleans, in the order
    Select-Object would write them. A property missing from the list stays missing."""
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in SMB_PROPERTIES:
            values[name.strip()] = {"True": True, "False": False}.get(value.strip(), value.strip())
    return json.dumps({k: values[k] for k in SMB_PROPERTIES if k in values}, indent=4)


@pytest.mark.parametrize("case", sorted(SMB))
def test_recorded_smb_configuration(case):
    fact = parse_smb(output(server=recorded("win_smb", "server", case)))
    assert fact.status == "ok"
    assert tuple(getattr(fact, f) for f in SMB_FIELDS) == SMB[case]


@pytest.mark.parametrize("case", sorted(SMB_FORMAT_LIST))
def test_recorded_smb_format_list_per_release(case):
    text = recorded("win_smb", "server", case)
    assert parse_smb_text(text).status == "unparsed"  # Format-List text is not what the probe reads
    fact = parse_smb(output(server=smb_json_from_format_list(text)))
    assert fact.status == "ok"
    assert tuple(getattr(fact, f) for f in SMB_FIELDS) == SMB_FORMAT_LIST[case]


@pytest.mark.parametrize("case", sorted(SMB))
def test_smb_truncations_never_give_a_value(case):
    text = recorded("win_smb", "server", case)
    for cut in range(len(text) - 1):
        fact = parse_smb_text(text[:cut])
        assert fact.status in ("empty", "unparsed") and all(getattr(fact, f) is None for f in SMB_FIELDS), cut


@pytest.mark.parametrize(("section", "status", "reason"), [
    (denied("Get-SmbServerConfiguration"), "access_denied", "access_denied"),
    (missing("Get-SmbServerConfiguration"), "unavailable", "cmdlet_missing"),
    (("error", "Get-SmbServerConfiguration : The service has not been started.\r\n"), "unavailable", "error"),
])
def test_smb_error_records_are_never_a_setting(section, status, reason):
    fact = parse_smb(output(server=section))
    assert (fact.status, fact.reason) == (status, reason) and fact.smb1_enabled is None


def test_smb_flags_must_be_booleans():
    fact = parse_smb_text(json.dumps({"EnableSMB1Protocol": "False", "EnableSMB2Protocol": True, "EncryptData": 1}))
    assert (fact.status, fact.smb1_enabled, fact.smb2_enabled, fact.encrypt_data) == ("ok", None, True, None)
    assert parse_smb_text(json.dumps({"EncryptData": True})).status == "unparsed"  # neither protocol flag
    assert parse_smb_text(json.dumps([{"EnableSMB1Protocol": False}])).smb1_enabled is False


# --- WinRM listeners --------------------------------------------------------------------------------

def test_recorded_listener():
    fact = parse_winrm_listeners(output(listeners=recorded("win_winrm_listeners", "listeners",
                                                             "psdocs_get_wsmaninstance_example5")))
    assert fact.status == "ok" and len(fact.listeners) == 1
    listener = fact.listeners[0]
    assert (listener.transport, listener.port, listener.address, listener.enabled, listener.certificate) == (
        "http", 80, "*", True, False)
    assert listener.hostname is None and listener.listening_on[:3] == ("100.0.0.1", "123.123.123.123", "::1")


def listeners_json_from_winrm_text(text: str) -> str:
    """BUILT from a recorded `winrm enumerate winrm/config/listener` text: one object per "Listener" block in the
    probe's {"Listeners": [...]} wrapper. "Key = value" gives the string value, a bare "Key" gives "", a line that
    starts with no space continues the line before it (the console wrapped it), ListeningOn is split on ", "."""
    listeners: list[dict] = []
    last = None
    for line in text.splitlines():
        if line == "Listener":
            listeners.append({})
        elif line.startswith("    ") and listeners:
            key, sep, value = line.strip().partition(" = ")
            listeners[-1][key] = value if sep else ""
            last = key
        elif line.strip() and listeners and last:
            listeners[-1][last] += line.strip()
    for item in listeners:
        if "ListeningOn" in item:
            item["ListeningOn"] = item["ListeningOn"].split(", ")
    return json.dumps({"Listeners": listeners}, indent=4)


def test_recorded_winrm_enumerate_text_of_server2016():
    text = recorded("win_winrm_listeners", "listeners", "ansible_docs_server2016_winrm_enumerate")
    assert parse_winrm_listeners(output(listeners=text)).status == "unparsed"  # winrm.cmd text is not JSON
    fact = parse_winrm_listeners(output(listeners=listeners_json_from_winrm_text(text)))
    assert (fact.status, fact.skipped, len(fact.listeners)) == ("ok", 0, 2)
    http, https = fact.listeners
    assert (http.transport, http.port, http.address, http.hostname, http.enabled, http.certificate) == (
        "http", 5985, "*", None, True, False)
    assert (https.transport, https.port, https.address, https.hostname, https.enabled, https.certificate) == (
        "https", 5986, "*", "SERVER2016", True, True)
    assert http.listening_on == https.listening_on == (
        "10.0.2.15", "127.0.0.1", "192.168.56.155", "::1", "fe80::5efe:10.0.2.15%6", "fe80::5efe:192.168.56.155%8",
        "fe80::ffff:ffff:fffe%2", "fe80::203d:7d97:c2ed:ec78%3", "fe80::e8ea:d765:2c69:7756%7")


def test_https_listener_and_no_listener():
    thumb = "A" * 40
    text = json.dumps({"Listeners": [{"Transport": "HTTPS", "Port": "5986", "Address": "IP:10.0.0.5",
                                      "Hostname": "srv01.example.test", "Enabled": "true",
                                      "CertificateThumbprint": thumb, "ListeningOn": "10.0.0.5"},
                                     {"Transport": "HTTPS", "Port": 5987, "CertificateThumbprint": "nothex",
                                      "Enabled": "maybe"}]})
    first, second = parse_winrm_listeners(output(listeners=text)).listeners
    assert (first.transport, first.port, first.certificate, first.listening_on) == ("https", 5986, True, ("10.0.0.5",))
    assert (second.certificate, second.enabled) == (None, None)
    # an XML element written whole (how a nil element may come out) decides nothing
    node = {"Transport": "HTTPS", "Port": "5986", "Hostname": {"nil": "true", "Name": "Hostname"},
            "CertificateThumbprint": {"nil": "true"}}
    (odd,) = parse_winrm_listeners(output(listeners=json.dumps({"Listeners": node}))).listeners
    assert (odd.hostname, odd.certificate) == (None, None)
    none = parse_winrm_listeners(output(listeners=json.dumps({"Listeners": []})))
    assert (none.status, none.listeners) == ("ok", ())  # no listener is a finding, not a failure to read
    assert parse_winrm_listeners(output(listeners="")).status == "empty"


@pytest.mark.parametrize(("section", "status", "reason"), [
    (("error", "Get-WSManInstance : Access is denied.\r\n    + FullyQualifiedErrorId : "
               "WsManError,Microsoft.WSMan.Management.GetWSManInstanceCommand\r\n"), "access_denied", "access_denied"),
    (("error", "Get-WSManInstance : The client cannot connect to the destination specified in the request. Verify "
               "that the service on the destination is running and is accepting requests.\r\n"),
     "unavailable", "service_not_running"),
])
def test_listener_error_records(section, status, reason):
    fact = parse_winrm_listeners(output(listeners=section))
    assert (fact.status, fact.reason, fact.listeners) == (status, reason, ())


def test_listener_truncations_never_give_a_listener():
    text = recorded("win_winrm_listeners", "listeners", "psdocs_get_wsmaninstance_example5")
    for cut in range(len(text) - 1):
        fact = parse_winrm_listeners(output(listeners=text[:cut]))
        assert fact.status in ("empty", "unparsed") and fact.listeners == (), cut


# --- hostile input, all three -------------------------------------------------------------------------

@pytest.mark.parametrize("text", [*hostile_texts(), "x" * FIFTY_MB])
def test_hostile_output_gives_no_value(text):
    fact = parse_rdp(output(terminal_server=text, rdp_tcp=text, policy=text))
    assert fact.rdp_enabled is None and fact.nla_required is None and fact.port is None
    smb = parse_smb(output(server=text))
    assert smb.smb1_enabled is None and smb.status != "ok"
    assert parse_winrm_listeners(output(listeners=text)).listeners == ()


def test_markup_and_control_characters_in_listener_text():
    text = json.dumps({"Listeners": [{"Transport": "HTTP", "Port": "5985",
                                      "Hostname": "<script>x</script>\u202e\x1b[31m" + "h" * 5000,
                                      "Address": "*\x00", "ListeningOn": ["10.0.0.1\u200b", 7, None]}]})
    listener = parse_winrm_listeners(output(listeners=text)).listeners[0]
    assert "\u202e" not in listener.hostname and "\x1b" not in listener.hostname and len(listener.hostname) == 256
    assert listener.address == "*" and listener.listening_on == ("10.0.0.1", "7")
