"""Defender status and firewall profile parsers (scanner/winprobes/defense.py).

Recorded outputs (tests/fixtures/winprobes/<probe>/<case>.txt, each header naming its source):
Get-MpComputerStatus JSON of Windows Server 2016, 2019, 2022 and 2025 and Get-NetFirewallProfile JSON of
Windows Server 2016, 2019, 2022 and 2025, from Mondoo cnquery's test data (whole objects, not the probe's Select-Object); two
Get-MpComputerStatus error records from GitHub issues (service not running, Defender removed).
The recordings set every firewall action to 0 and every Enabled to 1; the inputs built in this file
(other enum numbers, the string forms, a missing cmdlet) are CONSTRUCTED, not recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.winprobes.defense import DAY, parse_defender_status, parse_firewall_profiles

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "winprobes"
NOW = 1787604096 + 3 * DAY + 3600  # a scan time three days and an hour after ws2019's update


def recorded(probe: str, case: str) -> str:
    header, sep, body = (FIXTURES / probe / f"{case}.txt").read_text(encoding="utf-8").partition("#---\n")
    assert sep and "# source: https://" in header and f"# probe: {probe}" in header and "# windows:" in header
    return body


@pytest.mark.parametrize("case,updated,age_days,reported,version", [
    ("ws2016", 1786499208, 15, 13, "1.457.122.0"),  # 12.8 days older than ws2019's update
    ("ws2019", 1787604096, 3, 0, "1.457.328.0"),
    ("ws2022", 1787604096, 3, 0, "1.457.328.0"),  # same signatures as ws2019, other ComputerID
    ("ws2025", 1787609898, 2, 0, "1.457.329.0"),  # 2 days 23 hours: whole days only
])
def test_recorded_defender_status(case, updated, age_days, reported, version):
    fact = parse_defender_status(recorded("win_defender", case), NOW)
    assert (fact.status, fact.unavailable, fact.error_code) == ("ok", None, None)
    assert (fact.am_service_enabled, fact.antivirus_enabled, fact.real_time_protection_enabled) == (True, True, True)
    assert fact.tamper_protected is False
    assert (fact.signature_updated, fact.signature_age_days, fact.signature_age_reported) == (updated, age_days,
                                                                                            reported)
    assert (fact.signature_version, fact.product_version) == (version, "4.18.26070.9")


@pytest.mark.parametrize("case,reason,code", [
    ("service_not_running_hardeningkitty", "service_not_running", "0x800106ba"),
    ("removed_shieldbreak", "provider_missing", "0x80041013"),
])
def test_recorded_error_record_is_unavailable_not_disabled(case, reason, code):
    fact = parse_defender_status(recorded("win_defender", case), NOW)
    assert (fact.status, fact.unavailable, fact.error_code) == ("unavailable", reason, code)
    assert fact.antivirus_enabled is None and fact.real_time_protection_enabled is None
    assert fact.am_service_enabled is None and fact.signature_age_days is None


@pytest.mark.parametrize("text,reason,code", [
    # constructed: Windows PowerShell's record for a command it does not know
    ("Get-MpComputerStatus : The term 'Get-MpComputerStatus' is not recognized as the name of a cmdlet, "
     "function, script file, or operable program.\r\nAt line:1 char:1\r\n"
     "    + FullyQualifiedErrorId : CommandNotFoundException\r\n", "cmdlet_missing", None),
    # as quoted in HotCakeX/Harden-Windows-Security issue 261 (PowerShell 7's one-line form)
    ("Get-MpComputerStatus: Invalid Class\n", "provider_missing", None),
    ("Get-MpComputerStatus : Access denied\r\n    + FullyQualifiedErrorId : HRESULT 0x80041003,Get-MpComputerStatus",
     "error", "0x80041003"),
])
def test_other_error_records(text, reason, code):
    fact = parse_defender_status(text, NOW)
    assert (fact.status, fact.unavailable, fact.error_code) == ("unavailable", reason, code)
    assert fact.antivirus_enabled is None


def defender(**values) -> str:
    base = {"AMServiceEnabled": True, "AntivirusEnabled": True, "RealTimeProtectionEnabled": True,
            "AntivirusSignatureLastUpdated": "/Date(1787604096000)/", "AntivirusSignatureAge": 0,
            "AntivirusSignatureVersion": "1.457.328.0", "AMProductVersion": "4.18.26070.9",
            "IsTamperProtected": True}
    return json.dumps(base | values, indent=2)


def test_disabled_real_time_protection_is_false_not_none():
    fact = parse_defender_status(defender(RealTimeProtectionEnabled=False, AntivirusEnabled=False), NOW)
    assert (fact.real_time_protection_enabled, fact.antivirus_enabled, fact.tamper_protected) == (False, False, True)


@pytest.mark.parametrize("updated,age,days,reported", [
    ("/Date(1787604096000)/", 4294967295, 3, None),  # Defender's "no age" (uint32 -1)
    ({"value": "/Date(1787604096000)/", "DateTime": "Monday, August 24, 2026"}, "3", 3, 3),
    ("2026-08-24T20:41:36Z", -1, 3, None),  # PowerShell 7's ISO form
    ("/Date(-11644473600000)/", 0, None, 0),  # FILETIME zero: never updated, no age from the date
    (f"/Date({(NOW + 2 * DAY) * 1000})/", 0, None, 0),  # dated after the scan: a clock is off
    (None, None, None, None),
])
def test_signature_age_forms(updated, age, days, reported):
    fact = parse_defender_status(defender(AntivirusSignatureLastUpdated=updated, AntivirusSignatureAge=age), NOW)
    assert (fact.status, fact.signature_age_days, fact.signature_age_reported) == ("ok", days, reported)


def test_flags_that_are_not_booleans_are_unknown():
    fact = parse_defender_status(defender(AntivirusEnabled="True", RealTimeProtectionEnabled=1), NOW)
    assert (fact.antivirus_enabled, fact.real_time_protection_enabled, fact.am_service_enabled) == (None, None, True)
    none_at_all = parse_defender_status(json.dumps({"AntivirusSignatureVersion": "1.2"}), NOW)
    assert none_at_all.status == "unparsed" and none_at_all.signature_version is None


@pytest.mark.parametrize("case", ["ws2016", "ws2019", "ws2022", "ws2025"])
def test_recorded_firewall_profiles_numeric_enums(case):
    fact = parse_firewall_profiles(recorded("win_firewall_profiles", case))
    assert (fact.status, fact.missing, fact.skipped) == ("ok", (), 0)
    assert [p.name for p in fact.profiles] == ["Domain", "Private", "Public"]
    for profile in fact.profiles:
        assert (profile.enabled, profile.default_inbound, profile.default_outbound) == (True, "not_configured",
                                                                                        "not_configured")
        assert (profile.log_allowed, profile.log_blocked) == (False, False)
        assert profile.log_file == "%systemroot%\\system32\\LogFiles\\Firewall\\pfirewall.log"


def profile(name: str, enabled, inbound, outbound="Allow") -> dict:
    return {"Name": name, "Enabled": enabled, "DefaultInboundAction": inbound, "DefaultOutboundAction": outbound,
            "LogAllowed": "False", "LogBlocked": "True", "LogFileName": "C:\\fw.log"}


def test_firewall_profiles_string_and_numeric_forms():
    """Constructed: the string form of a script that casts the enums, and the other numbers."""
    text = json.dumps([profile("Public", "False", "Allow"), profile("Domain", 1, 4, 2),
                       profile("Private", 2, "NotConfigured", 0)], indent=4)
    fact = parse_firewall_profiles(text)
    by_name = {p.name: p for p in fact.profiles}
    assert [p.name for p in fact.profiles] == ["Domain", "Private", "Public"]
    assert (by_name["Domain"].enabled, by_name["Domain"].default_inbound, by_name["Domain"].default_outbound) == (
        True, "block", "allow")
    assert (by_name["Private"].enabled, by_name["Private"].default_inbound) == (None, "not_configured")
    assert (by_name["Public"].enabled, by_name["Public"].default_inbound) == (False, "allow")
    assert (by_name["Public"].log_allowed, by_name["Public"].log_blocked) == (False, True)


def test_unknown_enum_values_and_missing_profiles():
    fact = parse_firewall_profiles(json.dumps([profile("Public", 3, 1, True), profile("public", 1, 4),
                                               profile("Public", 1, 4), {"Name": "Domain", "Enabled": True}]))
    public, domain = fact.profiles[1], fact.profiles[0]
    assert (public.enabled, public.default_inbound, public.default_outbound) == (None, None, None)
    assert (domain.enabled, domain.default_inbound) == (None, None)  # a JSON true is no GpoBoolean form
    assert fact.missing == ("Private",) and fact.skipped == 2  # "public" and the repeated Public
    single = parse_firewall_profiles(json.dumps(profile("Domain", 1, 4)))
    assert [p.name for p in single.profiles] == ["Domain"] and single.missing == ("Private", "Public")


def full_inputs() -> list[tuple[str, str]]:
    return [("defender", recorded("win_defender", "ws2016")), ("defender", defender()),
            ("firewall", recorded("win_firewall_profiles", "ws2019")),
            ("firewall", json.dumps([profile("Domain", 1, 4)]))]


def parse_one(kind: str, text: str):
    return parse_defender_status(text, NOW) if kind == "defender" else parse_firewall_profiles(text)


@pytest.mark.parametrize("kind,text", full_inputs())
def test_truncated_output_never_raises_nor_gives_a_value(kind, text):
    assert parse_one(kind, text).status == "ok"
    for cut in range(len(text) - 1):
        fact = parse_one(kind, text[:cut])
        assert fact.status in ("empty", "unparsed"), (kind, cut)
        assert getattr(fact, "antivirus_enabled", None) is None and getattr(fact, "signature_age_days", None) is None
        assert getattr(fact, "profiles", ()) == ()


@pytest.mark.parametrize("text", [
    "[" * 100000 + "]" * 100000,
    "[" + ",".join([json.dumps(profile("Domain", 1, 4))] * 40000) + "]",  # 5.6 MB of valid JSON
    "{" + '"AntivirusEnabled": true,' * 250000 + '"x": 1}',  # 6 MB of valid JSON
    "Get-MpComputerStatus : " + "A" * (5 * 1024 * 1024),  # an error record of 5 MB
    "<html><body>AntivirusEnabled: false</body></html>", "42", "null", '"Disabled"', "[1, 2]", "NaN",
    '{"AntivirusEnabled": {"$ne": 1}, "Name": ["Domain"]}', "Access is denied.\r\n",
])
def test_hostile_or_foreign_output_gives_no_value(text):
    fact = parse_defender_status(text, NOW)
    assert fact.status in ("unparsed", "empty") and fact.antivirus_enabled is None and fact.unavailable is None
    assert parse_firewall_profiles(text).profiles == () and parse_firewall_profiles(text).status == "unparsed"


def test_markup_and_control_characters_are_removed_and_capped():
    evil = "4.18\u202e<script>alert(1)</script>\x1b[31m\x00" + "9" * 5000
    fact = parse_defender_status(defender(AMProductVersion=evil, AntivirusSignatureVersion="\u200b1.2\r\n"), NOW)
    assert "\u202e" not in fact.product_version and "\x1b" not in fact.product_version
    assert "\x00" not in fact.product_version and len(fact.product_version) == 256
    assert fact.signature_version == "1.2"
    firewall = parse_firewall_profiles(json.dumps([profile("Domain\u202e", 1, 4), profile("Public", 1, 4) |
                                                   {"LogFileName": "<b>C:\\x.log</b>\x07" * 100}]))
    # "Domain\u202e" reads as Domain once the control character is removed, and is taken as such
    assert [p.name for p in firewall.profiles] == ["Domain", "Public"]
    assert len(firewall.profiles[1].log_file) == 256 and "\x07" not in firewall.profiles[1].log_file
