"""Windows OS identity, installed updates and pending reboot parsers (scanner/winprobes/system.py).

Recorded outputs (tests/fixtures/winprobes/<probe>/<case>.txt, each header naming its source):
Win32_OperatingSystem and CurrentVersion registry JSON of Windows Server 2016, 2019, 2022 and 2025 and of
a Windows 11 client, from Mondoo cnquery's test data (the 2019 and 2022 Win32_OperatingSystem ones REBUILT in
the probe's shape from recorded wmic CSV rows, their headers say how), and Get-HotFix JSON of Windows Server
2016, 2019 and 2022 from the same test data (the 2016 and 2022 files verbatim, their one "HotFixId" key renamed by
the test). Windows Server 2012 R2: a recorded `systeminfo` text (VanillaWindowsReference), kept verbatim in
win_os_cim and win_hotfixes; the tests BUILD the probe's JSON from its lines (cim_json_from_systeminfo,
hotfix_json_from_systeminfo). No recorded pending-reboot registry JSON, nor any 2012 R2 output of the probes' own
commands was found in a public source: the other inputs built in this file are CONSTRUCTED, not recorded. They follow the shape Windows
PowerShell 5.1's ConvertTo-Json gives (two spaces after the colon, dates as "\\/Date(ms)\\/",
strings for BuildNumber and CurrentBuild, a single object when one item).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from checks.patching import eol_data, find_release
from scanner.facts.system import OsRelease
from scanner.winprobes.system import (
    SERVER_RELEASES,
    parse_datetime,
    parse_hotfixes,
    parse_reboot_pending,
    parse_windows_os,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "winprobes"


def recorded(probe: str, case: str) -> str:
    header, sep, body = (FIXTURES / probe / f"{case}.txt").read_text(encoding="utf-8").partition("#---\n")
    assert sep and "# source: https://" in header and f"# probe: {probe}" in header and "# windows:" in header
    return body


def epoch(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp())


def cim(caption: str, build: str, product_type: int = 3, boot: str = "\\/Date(1577836800000)\\/") -> str:
    values = {"Caption": caption, "Version": f"10.0.{build}", "BuildNumber": build,
              "InstallDate": "/Date(1546300800000)/", "LastBootUpTime": boot.replace("\\/", "/"),
              "OSProductSuite": 272, "ProductType": product_type}
    # PowerShell 5.1 escapes "/" in its dates and puts two spaces after each colon
    return json.dumps(values, indent=4).replace("/Date(", "\\/Date(").replace(")/", ")\\/").replace('": ', '":  ')


def registry(build: str, installation_type: str = "Server", ubr: int = 4010, **extra: str) -> str:
    values = {"ProductName": "Windows Server 2019 Standard", "CurrentBuild": build, "UBR": ubr,
              "ReleaseId": "1809", "EditionID": "ServerStandard", "InstallationType": installation_type} | extra
    return json.dumps(values, indent=4)


@pytest.mark.parametrize("case,build,release,edition,installed,booted", [
    ("ws2016_datacenter_ec2", 14393, "2016", "ServerDatacenter", 1787620870, 1787632853),
    ("ws2025_datacenter_ec2", 26100, "2025", "ServerDatacenter", 1787626130, 1787635246),
])
def test_recorded_server_identity(case, build, release, edition, installed, booted):
    fact = parse_windows_os(recorded("win_os_cim", case), recorded("win_os_registry", case))
    assert (fact.status, fact.build, fact.release, fact.edition_id) == ("ok", build, release, edition)
    assert (fact.server, fact.server_core, fact.domain_controller, fact.product_type) == (True, False, False, 3)
    assert (fact.install_date, fact.last_boot, fact.version) == (installed, booted, f"10.0.{build}")
    assert fact.caption is None and fact.product_name == f"Windows Server {release} Datacenter"
    assert fact.ubr is None and fact.notes == ()


def test_recorded_2022_identity_with_wmic_dates():
    """2022: Caption and DMTF dates (the wmic row the fixture was rebuilt from), UBR and DisplayVersion."""
    fact = parse_windows_os(recorded("win_os_cim", "ws2022_datacenter_ec2"),
                            recorded("win_os_registry", "ws2022_datacenter_ec2"))
    assert (fact.status, fact.build, fact.ubr, fact.release, fact.display_version) == ("ok", 20348, 2762, "2022",
                                                                                       "21H2")
    assert (fact.caption, fact.product_name) == ("Microsoft Windows Server 2022 Datacenter",
                                                 "Windows Server 2022 Datacenter")
    assert (fact.edition_id, fact.installation_type, fact.version) == ("ServerDatacenter", "Server", "10.0.20348")
    assert (fact.server, fact.server_core, fact.domain_controller, fact.product_type) == (True, False, False, 3)
    assert (fact.install_date, fact.last_boot) == (epoch(2024, 10, 30, 6, 47, 19), epoch(2024, 10, 30, 11, 15, 29))
    assert fact.notes == ()


def test_recorded_2019_wmic_row_alone():
    """The 2019 wmic row, rebuilt in the probe's shape: UTC-7 DMTF dates, no registry (recorded apart)."""
    fact = parse_windows_os(recorded("win_os_cim", "ws2019_datacenter_eval_vagrant"), "")
    assert (fact.status, fact.build, fact.release, fact.server, fact.product_type) == ("ok", 17763, "2019", True, 3)
    assert fact.caption == "Microsoft Windows Server 2019 Datacenter Evaluation" and fact.server_core is None
    assert (fact.install_date, fact.last_boot) == (epoch(2019, 9, 6, 13, 55, 15), epoch(2019, 9, 8, 8, 17, 49))


def test_recorded_registry_alone():
    ws2019 = parse_windows_os("", recorded("win_os_registry", "ws2019_datacenter_eval"))
    # no ProductType nor InstallationType in this selection: the edition says server
    assert (ws2019.build, ws2019.ubr, ws2019.display_version, ws2019.edition_id) == (17763, 720, "1809",
                                                                                     "ServerDatacenterEval")
    assert (ws2019.server, ws2019.release, ws2019.server_core) == (True, "2019", None)
    vagrant = parse_windows_os("", recorded("win_os_registry", "ws2019_datacenter_vagrant"))
    # DisplayVersion null and no ReleaseId: no display version, not the string "None"
    assert (vagrant.build, vagrant.ubr, vagrant.display_version, vagrant.release) == (17763, 6414, None, "2019")
    assert (vagrant.server, vagrant.server_core, vagrant.edition_id) == (True, False, "ServerDatacenter")
    ws2022 = parse_windows_os("", recorded("win_os_registry", "ws2022_datacenter_ec2"))
    # InstallationType alone says server (cnquery's selection has no ReleaseId: DisplayVersion is read)
    assert (ws2022.build, ws2022.release, ws2022.server, ws2022.server_core) == (20348, "2022", True, False)
    assert ws2022.domain_controller is None and ws2022.caption is None
    client = parse_windows_os("", recorded("win_os_registry", "client_26100_arm64"))
    assert (client.build, client.ubr, client.display_version, client.installation_type) == (26100, 2033, "24H2",
                                                                                          "Client")
    assert (client.server, client.release, client.server_core) == (False, None, None)


@pytest.mark.parametrize("caption,build,release", [
    ("Microsoft Windows Server 2012 R2 Standard", "9600", "2012 R2"),
    ("Microsoft Windows Server 2012 Datacenter", "9200", "2012"),
    ("Microsoft Windows Server 2016 Standard", "14393", "2016"),
    ("Microsoft Windows Server 2019 Standard", "17763", "2019"),
    ("Microsoft Windows Server 2022 Datacenter", "20348", "2022"),
    ("Microsoft Windows Server 2025 Datacenter", "26100", "2025"),
    # Server Core on 2016/2019 says no year in its caption (dpaulson45/HealthChecker PR #389)
    ("Microsoft Windows Server Standard", "17763", "2019"),
])
def test_release_from_the_build_and_its_eol_row(caption, build, release):
    fact = parse_windows_os(cim(caption, build), registry(build))
    assert (fact.status, fact.build, fact.release, fact.server) == ("ok", int(build), release, True)
    row = find_release(eol_data().releases, OsRelease(id="windows-server", version_id=fact.release))
    assert row is not None and row.release == release


def test_os_fields_and_dates():
    fact = parse_windows_os(cim("Microsoft Windows Server 2019 Standard", "17763"),
                            registry("17763", DisplayVersion=""))
    assert fact.caption == "Microsoft Windows Server 2019 Standard" and fact.version == "10.0.17763"
    assert (fact.ubr, fact.edition_id, fact.display_version) == (4010, "ServerStandard", "1809")
    assert fact.install_date == epoch(2019, 1, 1) and fact.last_boot == epoch(2020, 1, 1)
    assert (fact.server_core, fact.domain_controller, fact.product_type) == (False, False, 3)


def test_server_core_and_domain_controller():
    fact = parse_windows_os(cim("Microsoft Windows Server 2022 Datacenter", "20348", product_type=2),
                            registry("20348", installation_type="Server Core", DisplayVersion="21H2"))
    assert (fact.server_core, fact.domain_controller, fact.display_version) == (True, True, "21H2")


def test_client_build_gives_no_server_release():
    """17763 is also Windows 10 1809: a workstation (ProductType 1) gets no Windows Server release."""
    fact = parse_windows_os(cim("Microsoft Windows 10 Enterprise LTSC", "17763", product_type=1),
                            registry("17763", installation_type="Client"))
    assert (fact.server, fact.release, fact.server_core, fact.domain_controller) == (False, None, None, False)


def test_conflicting_sources_give_no_release():
    fact = parse_windows_os(cim("Microsoft Windows Server 2016 Standard", "17763"), registry("17763"))
    assert fact.release is None and any("caption names 2016" in n for n in fact.notes)
    split = parse_windows_os(cim("Microsoft Windows Server 2019 Standard", "17763"), registry("20348"))
    assert (split.build, split.release) == (None, None) and split.notes


def test_unknown_build_gives_no_release():
    fact = parse_windows_os(cim("Microsoft Windows Server Datacenter", "25398"), registry("25398"))
    assert fact.build == 25398 and fact.release is None and fact.notes


def test_an_edition_that_names_no_server_says_nothing():
    fact = parse_windows_os("", json.dumps({"CurrentBuild": "17763", "EditionID": "EnterpriseS"}))
    assert (fact.build, fact.server, fact.release) == (17763, None, None)


def test_one_source_is_enough():
    only_registry = parse_windows_os("", registry("14393", ProductName="Windows Server 2016 Datacenter"))
    assert (only_registry.release, only_registry.server, only_registry.domain_controller) == ("2016", True, None)
    only_cim = parse_windows_os(cim("Microsoft Windows Server 2016 Datacenter", "14393"), "")
    assert (only_cim.release, only_cim.server_core) == ("2016", None)


# systeminfo's "OS Configuration" words, read as Win32_OperatingSystem.ProductType (this project's reading)
_SYSTEMINFO_ROLES = {"Standalone Workstation": 1, "Member Workstation": 1, "Standalone Server": 3,
                     "Member Server": 3, "Primary Domain Controller": 2, "Backup Domain Controller": 2}


def systeminfo_fields(text: str) -> dict[str, str]:
    """The "Name:   value" lines of a recorded systeminfo text (continuation lines left out)."""
    fields = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and line[:1] not in " \t" and name not in fields:
            fields[name] = value.strip()
    return fields


def cim_json_from_systeminfo(text: str) -> str:
    """BUILT from a recorded systeminfo: Caption, Version, BuildNumber and ProductType in the probe's JSON shape.
    Dates are left out (systeminfo prints local, culture-formatted times)."""
    fields = systeminfo_fields(text)
    version, _, build = fields["OS Version"].partition(" N/A Build ")
    values = {"Caption": fields["OS Name"], "Version": version, "BuildNumber": build,
              "ProductType": _SYSTEMINFO_ROLES[fields["OS Configuration"]]}
    return json.dumps(values, indent=4).replace('": ', '":  ')


def hotfix_json_from_systeminfo(text: str) -> str:
    """BUILT from a recorded systeminfo: one {"HotFixID": ...} per "[nn]: KB..." line of its Hotfix(s) block."""
    block = text.split("Hotfix(s):", 1)[1].split("\nNetwork Card(s):", 1)[0]
    ids = re.findall(r"^\s+\[\d+\]: (\S+)$", block, flags=re.MULTILINE)
    return json.dumps([{"HotFixID": i} for i in ids], indent=4)


def test_recorded_2012_r2_systeminfo_identity():
    """Windows Server 2012 R2 (VanillaWindowsReference systeminfo): Caption, version and build, no dates."""
    text = recorded("win_os_cim", "systeminfo_vanilla_ws2012r2")
    assert parse_windows_os(text, "").status == "unparsed"  # systeminfo text is not what the probe reads
    fact = parse_windows_os(cim_json_from_systeminfo(text), "")
    assert (fact.status, fact.caption, fact.version, fact.build) == (
        "ok", "Microsoft Windows Server 2012 R2 Standard", "6.3.9600", 9600)
    assert (fact.server, fact.release, fact.product_type, fact.domain_controller) == (True, "2012 R2", 3, False)
    assert (fact.install_date, fact.last_boot, fact.ubr, fact.server_core) == (None, None, None, None)
    assert fact.notes == ()


def test_recorded_2012_r2_systeminfo_hotfixes():
    """Windows Server 2012 R2 (the same systeminfo): 32 KB numbers, no description nor date."""
    text = recorded("win_hotfixes", "systeminfo_vanilla_ws2012r2")
    assert parse_hotfixes(text).status == "unparsed"
    fact = parse_hotfixes(hotfix_json_from_systeminfo(text))
    assert (fact.status, len(fact.hotfixes), fact.undated, fact.skipped, fact.last_install) == ("ok", 32, 32, 0, None)
    ids = [h.id for h in fact.hotfixes]
    assert ids[:3] == ["KB2959936", "KB2896496", "KB2919355"] and ids[-1] == "KB3014442"
    assert "KB2919355" in ids  # the 2012 R2 Update (April 2014)
    assert all(h.description is None and h.installed_by is None for h in fact.hotfixes)


@pytest.mark.parametrize("value,expected", [
    ("/Date(1577836800000)/", epoch(2020, 1, 1)),
    ("/Date(1577836800000+0700)/", epoch(2020, 1, 1)),
    ({"value": "/Date(1577836800000)/", "DateTime": "Wednesday, January 1, 2020 12:00:00 AM"}, epoch(2020, 1, 1)),
    ("20200101070000.000000+420", epoch(2020, 1, 1)),
    ("20191231220000.000000-120", epoch(2020, 1, 1)),
    ("2020-01-01T07:00:00+07:00", epoch(2020, 1, 1)),
    ("2020-01-01T00:00:00Z", epoch(2020, 1, 1)),
    ("2020-01-01T00:00:00", epoch(2020, 1, 1)),
    # Win32_OperatingSystem.InstallDate of a Windows Server 2016 Vagrant box, as wmic printed it
    # (mondoohq/cnquery providers/os/detector/windows/wmi_test.go): 20:15:57 at UTC-7
    ("20180313201557.000000-420", epoch(2018, 3, 14, 3, 15, 57)),
    ("/Date(-62135596800000)/", None),  # DateTime.MinValue: an unset date
    ("/Date(99999999999999999)/", None),
    ("1/1/2020", None),  # a culture-dependent display string: not guessed
    ("20200101000000.000000+9999", None),
    (None, None), (1577836800, None), (True, None), ([], None),
])
def test_datetime_forms(value, expected):
    assert parse_datetime(value) == expected


HOTFIXES = """[
    {
        "HotFixID":  "KB4514366",
        "Description":  "Update",
        "InstalledOn":  "\\/Date(1568073600000)\\/",
        "InstalledBy":  "NT AUTHORITY\\\\SYSTEM"
    },
    {
        "HotFixID":  "KB4512578",
        "Description":  "Security Update",
        "InstalledOn":  "\\/Date(1567807200000)\\/",
        "InstalledBy":  ""
    },
    {
        "HotFixID":  "KB4470788",
        "Description":  "Security Update",
        "InstalledOn":  null,
        "InstalledBy":  null
    }
]"""


def test_recorded_hotfixes_with_date_objects():
    """Windows Server 2019 (cnquery): InstalledOn as {value, DateTime} objects, extra Status and Caption."""
    fact = parse_hotfixes(recorded("win_hotfixes", "cnquery_ws2019"))
    assert (fact.status, fact.undated, fact.skipped, fact.last_install) == ("ok", 0, 0, epoch(2020, 9, 9))
    assert [(h.id, h.description) for h in fact.hotfixes] == [
        ("KB4486553", "Update"), ("KB4462930", "Update"), ("KB4470788", "Security Update"),
        ("KB4480056", "Update"), ("KB4487038", "Security Update"), ("KB4482887", "Update")]
    assert {(h.installed_on, h.installed_by) for h in fact.hotfixes} == {(epoch(2020, 9, 9), "NT AUTHORITY\\SYSTEM")}


def probe_spelling(text: str) -> str:
    """cnquery's Select-Object spells the key "HotFixId"; the probe's spells it "HotFixID", and Select-Object writes
    the name as the command spells it. Only that key is renamed; everything else is the recording."""
    return text.replace('"HotFixId":', '"HotFixID":')


@pytest.mark.parametrize("case,count,first,security,last", [
    ("cnquery_ws2016", 9, "KB5120702", ["KB4465659"], epoch(2026, 8, 12)),
    ("cnquery_ws2022", 5, "KB5120705", ["KB5012170", "KB5120242", "KB5120241", "KB5120222"], epoch(2026, 8, 12)),
])
def test_recorded_hotfixes_per_release(case, count, first, security, last):
    """Windows Server 2016 and 2022 (cnquery, 2026 captures): every InstalledOn a {value, DateTime} object."""
    text = recorded("win_hotfixes", case)
    assert parse_hotfixes(text).status == "unparsed"  # verbatim: no "HotFixID" key, so nothing is read
    fact = parse_hotfixes(probe_spelling(text))
    assert (fact.status, fact.undated, fact.skipped, fact.last_install) == ("ok", 0, 0, last)
    assert len(fact.hotfixes) == count and fact.hotfixes[0].id == first
    assert [h.id for h in fact.hotfixes if h.description == "Security Update"] == security
    assert min(h.installed_on for h in fact.hotfixes) == (epoch(2016, 9, 12) if case.endswith("2016")
                                                           else epoch(2022, 8, 10))


def test_recorded_2016_hotfix_installers():
    """An empty InstalledBy is no installer; the renamed host's administrator is kept as written."""
    fact = parse_hotfixes(probe_spelling(recorded("win_hotfixes", "cnquery_ws2016")))
    by = {h.id: h.installed_by for h in fact.hotfixes}
    assert by["KB3176936"] is None and by["KB4013418"] == "WIN-FIXTURE01\\Administrator"
    assert by["KB5120702"] == "NT AUTHORITY\\SYSTEM"


def test_hotfixes_last_install_and_undated():
    fact = parse_hotfixes(HOTFIXES)
    assert fact.status == "ok" and [h.id for h in fact.hotfixes] == ["KB4514366", "KB4512578", "KB4470788"]
    assert fact.last_install == 1568073600 and fact.undated == 1
    assert fact.hotfixes[0].installed_by == "NT AUTHORITY\\SYSTEM" and fact.hotfixes[1].installed_by is None


def test_a_single_hotfix_is_an_object_not_a_list():
    one = json.dumps(json.loads(HOTFIXES)[1])
    fact = parse_hotfixes(one)
    assert [h.id for h in fact.hotfixes] == ["KB4512578"] and fact.last_install == 1567807200


def test_no_hotfix_output_is_empty_not_ok():
    assert parse_hotfixes("").status == "empty" and parse_hotfixes("\ufeff\r\n").status == "empty"
    assert parse_hotfixes("").last_install is None


@pytest.mark.parametrize("text,pending,reasons,unknown", [
    ('{"CbsRebootPending": false, "WuRebootRequired": false, "PendingFileRenameOperations": null}',
     None, (), ("PendingFileRenameOperations",)),
    ('{"CbsRebootPending": false, "WuRebootRequired": false, "PendingFileRenameOperations": []}', False, (), ()),
    ('{"CbsRebootPending": true, "WuRebootRequired": false, "PendingFileRenameOperations": false}',
     True, ("CbsRebootPending",), ()),
    ('{"CbsRebootPending": false, "WuRebootRequired": true, "PendingFileRenameOperations": ["\\\\??\\\\C:\\\\x.tmp", ""]}',
     True, ("WuRebootRequired", "PendingFileRenameOperations"), ()),
    ('{"CbsRebootPending": "yes", "WuRebootRequired": false, "PendingFileRenameOperations": [""]}',
     None, (), ("CbsRebootPending",)),
    ('{"WuRebootRequired": true}', True, ("WuRebootRequired",), ("CbsRebootPending", "PendingFileRenameOperations")),
])
def test_reboot_pending(text, pending, reasons, unknown):
    fact = parse_reboot_pending(text)
    assert (fact.status, fact.pending, fact.reasons, fact.unknown) == ("ok", pending, reasons, unknown)


def full_inputs() -> list[tuple[str, str]]:
    return [("os", recorded("win_os_cim", "ws2016_datacenter_ec2")),
            ("registry", recorded("win_os_registry", "ws2019_datacenter_eval")),
            ("os", recorded("win_os_cim", "ws2022_datacenter_ec2")),
            ("registry", recorded("win_os_registry", "ws2022_datacenter_ec2")),
            ("os", cim("Microsoft Windows Server 2012 R2 Standard", "9600")), ("registry", registry("9600")),
            ("hotfixes", HOTFIXES), ("hotfixes", recorded("win_hotfixes", "cnquery_ws2019")),
            ("reboot", '{"CbsRebootPending": true, "WuRebootRequired": false, "PendingFileRenameOperations": []}')]


def parse_one(kind: str, text: str):
    if kind == "os":
        return parse_windows_os(text, "")
    if kind == "registry":
        return parse_windows_os("", text)
    return parse_hotfixes(text) if kind == "hotfixes" else parse_reboot_pending(text)


@pytest.mark.parametrize("kind,text", full_inputs())
def test_truncated_output_never_raises_nor_gives_a_confident_value(kind, text):
    """Every cut of an output is either the full value or unparsed/empty: a cut JSON never parses."""
    full = parse_one(kind, text)
    assert full.status == "ok"
    for cut in range(len(text) - 1):
        fact = parse_one(kind, text[:cut])
        assert fact.status in ("empty", "unparsed"), (kind, cut)
        assert getattr(fact, "release", None) is None and getattr(fact, "last_install", None) is None
        assert getattr(fact, "pending", None) is None


@pytest.mark.parametrize("text", [
    "[" * 100000 + "]" * 100000,  # nesting past the JSON parser's recursion limit
    # valid JSON far larger than these commands print (5.7 MB): refused, not parsed
    "[" + ",".join(['{"HotFixID": "KB1"}'] * 300000) + "]",
    "Get-HotFix : Access is denied.\r\nAt line:1 char:1",
    "42", "null", '"a string"', "[1, 2, 3]", '[{"HotFixID": null}]', "{\"HotFixID\": [\"KB1\"]}",
    "NaN", '{"BuildNumber": {"$gt": 1}}',
])
def test_hostile_or_foreign_output_is_unparsed(text):
    assert parse_hotfixes(text).status in ("unparsed", "empty") and parse_hotfixes(text).last_install is None
    assert parse_reboot_pending(text).pending is None
    fact = parse_windows_os(text, text)
    assert fact.release is None and fact.build is None and fact.server is None


def test_markup_and_control_characters_are_removed_and_capped():
    evil = {"HotFixID": "KB1\u202e<script>alert(1)</script>\x1b[31m" + "A" * 5000, "Description": "\x00Update",
            "InstalledOn": "/Date(1577836800000)/", "InstalledBy": 7}
    fact = parse_hotfixes(json.dumps([evil, "junk", 3]))
    hotfix = fact.hotfixes[0]
    assert "\u202e" not in hotfix.id and "\x1b" not in hotfix.id and len(hotfix.id) == 64
    assert hotfix.description == "Update" and hotfix.installed_by == "7" and fact.skipped == 2
    os_fact = parse_windows_os(json.dumps({"Caption": "Microsoft Windows Server 2019\u200b Standard\r\n" * 100,
                                           "BuildNumber": "17763", "ProductType": True}), "")
    assert len(os_fact.caption) == 256 and "\r" not in os_fact.caption
    assert os_fact.product_type is None and os_fact.server is None and os_fact.release is None


def test_the_build_table_matches_the_eol_table():
    """Every release the parser can derive has its row in checks/data/eol.yaml, and back."""
    rows = {r.release for r in eol_data().releases if "windows-server" in r.ids}
    assert rows == set(SERVER_RELEASES.values())
