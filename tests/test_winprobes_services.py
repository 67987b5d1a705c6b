"""The win_services probe (scanner/winprobes/services.py): Win32_Service and Uninstall-key outputs.

Recorded outputs (tests/fixtures/winprobes/win_services/<section>_<case>.txt, each header naming its
source): an Uninstall-keys JSON and a Get-Service JSON (Server 2019) from Mondoo cnquery's test
data, one Win32_Service object quoted by InSpec. No published Win32_Service list of a Windows Server
with this probe's columns was found: the Win32_Service lists built in this file are CONSTRUCTED, not
recorded, and say so; so is the hostile Uninstall fixture.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from scanner.facts.windows_services import WindowsServices
from scanner.winprobes import ProbeOutput, SectionOutput
from scanner.winprobes.services import (
    MAX_PROGRAMS,
    MAX_SERVICES,
    PROBES,
    parse_programs,
    parse_services,
    parse_win_services,
    service_executable,
)
from tests.fixtures.winprobes import load

PROBE = "win_services"


def output(services: str | SectionOutput = "", programs: str | SectionOutput = "",
           service_status: str | SectionOutput = "") -> ProbeOutput:
    def section(value):
        return value if isinstance(value, SectionOutput) else SectionOutput(text=value)
    return ProbeOutput(sections={"services": section(services), "programs": section(programs),
                                 "service_status": section(service_status)})


def svc(name="WinDefend", state="Running", mode="Auto", pid=3140, path='"C:\\ProgramData\\x\\MsMpEng.exe"',
        display="Microsoft Defender Antivirus Service") -> dict:
    return {"Name": name, "DisplayName": display, "State": state, "StartMode": mode, "ProcessId": pid,
            "PathName": path}


def test_probe_reads_services_and_uninstall_keys_never_win32_product():
    (probe,) = PROBES
    assert probe.name == PROBE == WindowsServices.PART and probe.parse is parse_win_services
    programs, status, services = probe.sections  # the WMI query last: a hang there costs only itself
    assert [s.name for s in probe.sections] == ["programs", "service_status", "services"]
    assert all(s.kind == "json" for s in probe.sections)
    assert "Win32_Service" in services.command and "PathName" in services.command
    assert "-OperationTimeoutSec" in services.command
    assert status.command.startswith("Get-Service |") and "StartType" in status.command
    assert "CurrentVersion\\Uninstall\\*" in programs.command and "WOW6432Node" in programs.command
    assert "-ErrorAction SilentlyContinue" in programs.command
    assert not any("win32_product" in s.command.lower() for s in probe.sections)


@pytest.mark.parametrize("path_name,program", [
    ('"C:\\Program Files\\x\\a.exe" -k', "C:\\Program Files\\x\\a.exe"),
    ("C:\\Windows\\system32\\svchost.exe -k netsvcs -p", "C:\\Windows\\system32\\svchost.exe"),
    ("C:\\Program Files\\Vendor App\\agent.exe -service", "C:\\Program Files\\Vendor App\\agent.exe"),
    ("C:\\Windows\\System32\\spoolsv.exe", "C:\\Windows\\System32\\spoolsv.exe"),
    ('"C:\\Program Files (x86)\\Common Files\\Adobe\\ARM\\1.0\\armsvc.exe"',
     "C:\\Program Files (x86)\\Common Files\\Adobe\\ARM\\1.0\\armsvc.exe"),
    ("C:\\agent\\agent.EXE --password=S3cret --token abc", "C:\\agent\\agent.EXE"),
    ("C:\\tools\\run --key=value.exe", "C:\\tools\\run"),  # the search stops at an argument
    ("C:\\tools\\run /user:admin pass.exe", "C:\\tools\\run"),
    ("C:\\Program Files\\NoExtension\\svc", "C:\\Program"),  # ambiguous: only the first word
    ('"C:\\Program Files\\unclosed.exe -x', None),
    ("", None), (None, None), (42, None), ("   ", None),
])
def test_service_executable_keeps_the_program_not_its_arguments(path_name, program):
    assert service_executable(path_name) == program


def test_recorded_uninstall_keys():
    status, programs, unnamed, skipped, capped = parse_programs(load(PROBE, "programs_cnquery"))
    assert (status, unnamed, skipped, capped) == ("ok", 4, 0, False)
    assert len(programs) == 20
    by_name = {p.name: p for p in programs}
    assert by_name["Mondoo"].version == "7.4.0" and by_name["Mondoo"].publisher == "Mondoo, Inc."
    assert by_name["Microsoft Edge Update"].publisher is None
    assert all(p.install_date is None for p in programs)  # the recording has no InstallDate column


def test_recorded_get_service_numbers():
    status, services, skipped, capped = parse_services(load(PROBE, "service_status_cnquery_ws2019"), controller=True)
    assert (status, skipped, capped, len(services)) == ("ok", 0, False, 7)
    by_name = {s.name: s for s in services}
    # as cnquery's own test reads the same recording
    assert (by_name["PlugPlay"].state, by_name["PlugPlay"].start_mode) == ("running", "manual")
    assert (by_name["PolicyAgent"].state, by_name["PolicyAgent"].start_mode) == ("stopped", "manual")
    assert (by_name["PhoneSvc"].state, by_name["PhoneSvc"].start_mode) == ("stopped", "disabled")
    assert (by_name["CryptSvc"].state, by_name["CryptSvc"].start_mode) == ("running", "auto")
    assert all(s.pid is None and s.executable is None for s in services)


def test_get_service_output_read_as_win32_service_makes_no_state_up():
    status, services, _, _ = parse_services(load(PROBE, "service_status_cnquery_ws2019"))
    assert status == "ok" and all(s.state == "unknown" and s.start_mode == "unknown" for s in services)


@pytest.mark.parametrize("status,start_type,state,mode", [
    ("Running", "Automatic", "running", "auto"), ("StopPending", "Disabled", "stop_pending", "disabled"),
    (2, 0, "start_pending", "boot"), (7, 1, "paused", "system"), (9, 5, "unknown", "unknown"),
    (True, None, "unknown", "unknown"), ("4", "2", "unknown", "unknown"),  # a number in a string is no enum form
])
def test_get_service_enum_forms(status, start_type, state, mode):
    text = json.dumps([{"Name": "S", "Status": status, "StartType": start_type}])
    (service,) = parse_services(text, controller=True)[1]
    assert (service.state, service.start_mode) == (state, mode)


def test_get_service_is_the_fallback_when_win32_service_gives_no_list():
    status_text = load(PROBE, "service_status_cnquery_ws2019")
    hung = SectionOutput(error="Get-CimInstance : The WS-Management service cannot complete the operation within "
                               "the time specified in OperationTimeout.\r\n")
    fact = parse_win_services(output(services=hung, service_status=status_text))
    assert (fact.status, fact.services_source, fact.cim_status, len(fact.services)) == ("ok", "get_service", "error", 7)
    assert fact.services_error.startswith("Get-CimInstance : The WS-Management service")
    missing = parse_win_services(ProbeOutput(sections={"service_status": SectionOutput(text=status_text)}))
    assert (missing.services_source, missing.cim_status, missing.status) == ("get_service", "empty", "ok")
    both = parse_win_services(output(services=json.dumps([svc()]), service_status=status_text))
    assert (both.services_source, [s.name for s in both.services]) == ("cim", ["WinDefend"])
    neither = parse_win_services(output(services="garbage", service_status=SectionOutput(text="[", truncated=True)))
    assert (neither.status, neither.services_source, neither.cim_status, neither.services) == (
        "unparsed", None, "unparsed", ())


def test_constructed_win32_service_output():
    text = json.dumps([svc(), svc("Spooler", "Stopped", "Disabled", 0, "C:\\Windows\\System32\\spoolsv.exe",
                                  "Print Spooler"),
                       svc("VendorSvc", "Start Pending", "Manual", 77, "C:\\Vendor\\agent.exe -p Hunter2Secret"),
                       svc("Odd", "Degraded", "Sometimes", True, 12)], separators=(",", ":"))
    fact = parse_win_services(output(services=text))
    assert fact.status == "ok" and fact.services_skipped == 0
    defend, spooler, vendor, odd = fact.services
    assert (defend.state, defend.start_mode, defend.pid, defend.executable) == (
        "running", "auto", 3140, "C:\\ProgramData\\x\\MsMpEng.exe")
    assert (spooler.state, spooler.start_mode, spooler.pid) == ("stopped", "disabled", None)
    assert (vendor.state, vendor.start_mode, vendor.executable) == ("start_pending", "manual", "C:\\Vendor\\agent.exe")
    assert (odd.state, odd.start_mode, odd.pid, odd.executable) == ("unknown", "unknown", None, None)
    assert "Hunter2Secret" not in fact.model_dump_json()
    assert WindowsServices.model_validate_json(fact.model_dump_json()) == fact


def test_single_object_empty_and_foreign_outputs():
    one = parse_win_services(output(services=json.dumps(svc())))
    assert one.status == "ok" and [s.name for s in one.services] == ["WinDefend"]
    assert parse_win_services(output()).status == "empty" and parse_win_services(output()).programs_status == "empty"
    assert parse_win_services(output(services="[]")).status == "empty"
    for text in ("not json", "42", '"text"', "[1, 2, null]", '[{"DisplayName": "x"}]', "{" * 100000):
        fact = parse_win_services(output(services=text))
        assert fact.status == "unparsed" and fact.services == ()


@pytest.mark.parametrize("value,expected", [
    ("20231105", date(2023, 11, 5)), (" 20231105 ", date(2023, 11, 5)), ("20231345", None), ("2023-11-05", None),
    ("05/11/2023", None), (20231105, None), ("", None), (None, None),
])
def test_install_date_only_from_yyyymmdd(value, expected):
    text = json.dumps([{"DisplayName": "P", "InstallDate": value}])
    (program,) = parse_programs(text)[1]
    assert program.install_date == expected


def test_programs_repeats_unnamed_and_non_objects():
    items = [{"DisplayName": "A", "DisplayVersion": "1"}, {"DisplayName": "A", "DisplayVersion": "1"},
             {"DisplayName": None}, {"DisplayName": 7}, "text", {"DisplayName": "B", "InstallLocation": "C:\\B"}]
    status, programs, unnamed, skipped, capped = parse_programs(json.dumps(items))
    assert (status, [p.name for p in programs], unnamed, skipped) == ("ok", ["A", "B"], 2, 1)
    assert programs[1].install_location == "C:\\B"
    assert parse_programs(json.dumps(["x", 1]))[0] == "unparsed"


def test_error_record_and_cut_sections_give_no_items():
    denied = SectionOutput(error="Get-CimInstance : Access denied \r\nAt line:1 char:1\r\n", text="")
    cut = SectionOutput(text=json.dumps([svc()]), truncated=True)
    fact = parse_win_services(output(services=denied, programs=cut))
    assert (fact.status, fact.services_error, fact.services) == ("error", "Get-CimInstance : Access denied", ())
    assert (fact.programs_status, fact.programs) == ("truncated", ())


def test_every_truncation_of_the_recordings_is_never_ok_with_other_data():
    programs_text = load(PROBE, "programs_cnquery")
    services_text = load(PROBE, "service_status_cnquery_ws2019")
    full_programs, full_services = parse_programs(programs_text), parse_services(services_text)
    for text, parse, full in ((programs_text, parse_programs, full_programs),
                              (services_text, parse_services, full_services)):
        for cut in range(0, len(text), 7):
            got = parse(text[:cut])
            assert got[0] != "ok" or got == full, cut


def test_hostile_display_names_and_sizes():
    name = "<script>alert(1)</script>\x1b[31m\u202eRED\x00" + "x" * 1000
    fact = parse_win_services(output(services=json.dumps([svc(display=name, name="Svc\u200b\r\n")]),
                                     programs=json.dumps([{"DisplayName": name, "Publisher": "\x07"}])))
    (service,), (program,) = fact.services, fact.programs
    assert service.name == "Svc" and service.display_name.startswith("<script>alert(1)</script>[31mRED")
    assert len(service.display_name) == 256 and "\x1b" not in service.display_name and "\u202e" not in program.name
    assert program.publisher is None
    huge = "[" + ",".join([json.dumps(svc())] * 270000) + "]"  # about 50 MB
    assert len(huge) > 50_000_000
    fact = parse_win_services(output(services=huge, programs=huge))
    assert (fact.status, fact.programs_status, fact.services, fact.programs) == ("unparsed", "unparsed", (), ())


def test_caps_on_counts():
    many = json.dumps([svc(name=f"S{i}") for i in range(MAX_SERVICES + 5)])
    fact = parse_win_services(output(services=many))
    assert (fact.status, len(fact.services), fact.services_capped) == ("ok", MAX_SERVICES, True)
    programs = json.dumps([{"DisplayName": f"P{i}"} for i in range(MAX_PROGRAMS + 1)])
    status, kept, _, _, capped = parse_programs(programs)
    assert (status, len(kept), capped) == ("ok", MAX_PROGRAMS, True)


def test_recorded_single_win32_service_object():
    status, services, skipped, capped = parse_services(load(PROBE, "services_inspec_dhcp"))
    assert (status, skipped, capped) == ("ok", 0, False)
    (dhcp,) = services
    assert (dhcp.name, dhcp.state, dhcp.start_mode, dhcp.pid, dhcp.executable) == ("Dhcp", "running", "auto", None,
                                                                                   None)


def test_hostile_uninstall_values_are_cleaned_and_capped():
    status, programs, unnamed, skipped, _ = parse_programs(load(PROBE, "programs_hostile_constructed"))
    assert (status, unnamed, skipped) == ("ok", 1, 0)  # a blank DisplayName is no name
    markup, kaspersky, long_name = programs
    assert markup.name == "<img src=x onerror=alert(1)>Bkav Pro"  # text kept; reports escape it
    assert (markup.version, markup.publisher, markup.install_date) == ("[2J7.0", "BkavCorp", None)
    assert markup.install_location == "C:\\Program Files\\Bkav\\"
    assert kaspersky.name == "Kaspersky Endpoint Security for WindowsInjected: line"
    assert kaspersky.install_date == date(2024, 1, 15)
    assert len(long_name.name) == 256
