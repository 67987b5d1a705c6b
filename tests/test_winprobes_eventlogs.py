"""Event-log configuration and TCP listener parsers (scanner/winprobes/eventlogs.py).

Recorded outputs (tests/fixtures/winprobes/win_eventlogs/<case>.txt, each header naming its
source): the Get-WinEvent -ListLog objects of the Security log on Windows Server 2016, 2019, 2022
and 2025 and of a disabled channel on 2025, from Mondoo cnquery's test data. No recorded oldest-record
map, access-denied text, Get-NetTCPConnection or Get-Process JSON was found in a public source this
session: every other input in this file is CONSTRUCTED by the test, in the shape Windows
PowerShell 5.1's ConvertTo-Json gives (enums as numbers, dates as "\\/Date(ms)\\/", one object
when one item).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner.winprobes.eventlogs import parse_event_logs, parse_listeners

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "winprobes"
NOW = int(datetime(2026, 12, 5, 12, 0, tzinfo=UTC).timestamp())


def recorded(probe: str, case: str) -> str:
    header, sep, body = (FIXTURES / probe / f"{case}.txt").read_text(encoding="utf-8").partition("#---\n")
    assert sep and "# source: https://" in header and f"# probe: {probe}" in header and "# windows:" in header
    return body


def ms_date(*parts: int) -> str:
    return f"/Date({int(datetime(*parts, tzinfo=UTC).timestamp()) * 1000})/"


def ps51(value: object) -> str:
    """Built: ConvertTo-Json of PowerShell 5.1 escapes the "/" around its dates."""
    return json.dumps(value, indent=4).replace("/Date(", "\\/Date(").replace(")/", ")\\/")


def listlog(*logs: dict) -> str:
    """Built: the probe's own selection as PowerShell 5.1 prints it (LogMode a number)."""
    rows = [{"LogName": name, "MaximumSizeInBytes": size, "LogMode": mode, "IsEnabled": True, "RecordCount": count,
             "FileSize": size, "LogFilePath": f"%SystemRoot%\\System32\\Winevt\\Logs\\{name}.evtx"}
            for name, size, mode, count in (tuple(d.values()) for d in logs)]
    return json.dumps(rows if len(rows) > 1 else rows[0], indent=4)


def log(name: str, size: int = 20971520, mode: int | str = 0, count: int = 100) -> dict:
    return {"name": name, "size": size, "mode": mode, "count": count}


THREE = listlog(log("Security", 201326592, 1, 90000), log("System", 20971520, 0), log("Application", 20971520, 2))
OLDEST = ps51({"Security": ms_date(2026, 9, 6, 11), "System": ms_date(2026, 11, 28, 12),
                     "Application": "2026-12-05T11:00:00Z"})


@pytest.mark.parametrize("case,count", [("ws2016_security", 2522), ("ws2019_security", 1825), ("ws2022_security", 2445),
                                        ("ws2025_security", 2734)])
def test_recorded_security_log(case, count):
    fact = parse_event_logs(recorded("win_eventlogs", case), "", NOW)
    security = fact.log("Security")
    assert (fact.status, security.status, security.enabled, security.mode) == ("ok", "ok", True, "circular")
    assert (security.max_size_bytes, security.record_count, security.file_size_bytes) == (20971520, count, None)
    assert security.path == "%SystemRoot%\\System32\\Winevt\\Logs\\Security.evtx"
    # no oldest-record map was recorded: no retention, and the reason says so
    assert (security.oldest, security.retention_days, security.oldest_reason) == (None, None, "not given")
    # the recording asked for Security only: the other wanted logs are missing, not refused
    assert [(e.name, e.status) for e in fact.logs[1:]] == [("System", "missing"), ("Application", "missing")]


def test_recorded_disabled_channel():
    name = "Microsoft-Windows-TaskScheduler/Operational"
    fact = parse_event_logs(recorded("win_eventlogs", "ws2025_taskscheduler_disabled"), "{}", NOW, wanted=(name,))
    channel = fact.log(name)
    assert (channel.enabled, channel.record_count, channel.max_size_bytes) == (False, 0, 10485760)
    assert (channel.retention_days, channel.oldest_reason) == (None, "no records")


def test_modes_sizes_and_retention_days():
    fact = parse_event_logs(THREE, OLDEST, NOW)
    security, system, application = fact.logs
    assert (security.mode, security.max_size_bytes, security.record_count) == ("auto_backup", 201326592, 90000)
    assert (system.mode, application.mode) == ("circular", "retain")
    # 2026-09-06 11:00 to 2026-12-05 12:00 is 90 days and an hour; 7 days for System; 1 hour is 0 days
    assert (security.retention_days, system.retention_days, application.retention_days) == (90, 7, 0)
    assert security.oldest == int(datetime(2026, 9, 6, 11, tzinfo=UTC).timestamp())
    assert fact.now == NOW


@pytest.mark.parametrize("mode,expected", [(0, "circular"), (1, "auto_backup"), (2, "retain"), ("Circular", "circular"),
                                           ("AutoBackup", "auto_backup"), ("Retain", "retain"), (3, None),
                                           ("Overwrite", None), (True, None), (None, None)])
def test_log_mode_number_or_name(mode, expected):
    assert parse_event_logs(listlog(log("System", mode=mode)), "", NOW).log("System").mode == expected


def test_security_refused_without_admin():
    # built: the two logs a non-administrator may read, and the error record for Security
    errors = ("Get-WinEvent : Attempted to perform an unauthorized operation.\n"
              "    + CategoryInfo          : NotSpecified: (:) [Get-WinEvent], UnauthorizedAccessException\n")
    fact = parse_event_logs(listlog(log("System"), log("Application")), OLDEST, NOW, errors_text=errors)
    security = fact.log("Security")
    assert (security.status, security.reason) == ("access_denied", "Get-WinEvent : Attempted to perform an unauthorized operation.")
    assert (security.max_size_bytes, security.mode, security.retention_days) == (None, None, None)
    assert fact.log("System").retention_days == 7  # the readable logs stay known
    # every log refused: nothing listed, each one access_denied
    alone = parse_event_logs("", "", NOW, errors_text=errors)
    assert alone.status == "ok" and {e.status for e in alone.logs} == {"access_denied"}


def test_oldest_record_refused_or_bad():
    oldest = ps51({"Security": "Access is denied. (Exception from HRESULT: 0x80070005)",
                         "System": "yesterday", "Application": ms_date(2027, 1, 1)})
    security, system, application = parse_event_logs(THREE, oldest, NOW).logs
    assert (security.max_size_bytes, security.retention_days) == (201326592, None)
    assert security.oldest_reason == "Access is denied. (Exception from HRESULT: 0x80070005)"
    assert (system.retention_days, system.oldest_reason) == (None, "not a date")
    assert (application.retention_days, application.oldest_reason) == (None, "oldest record is after now (clock skew)")


def test_event_log_truncations_are_unparsed():
    for cut in range(1, len(THREE) - 1):
        text = THREE[:cut]
        fact = parse_event_logs(text, OLDEST, NOW)
        if text.strip():
            assert fact.status == "unparsed" and fact.logs == (), cut
        else:
            assert fact.status == "empty" and fact.logs == ()
    assert parse_event_logs("", OLDEST, NOW).status == "empty"
    # a cut-off oldest map loses the retention, never the configuration
    security = parse_event_logs(THREE, OLDEST[:40], NOW).log("Security")
    assert (security.max_size_bytes, security.retention_days, security.oldest_reason) == (201326592, None, "not given")


@pytest.mark.parametrize("text", ['"Security"', "42", "null", "[1, 2]", '[{"LogName": null}]',
                                  "<html><body>Error</body></html>", "\x00\x01{}", "{" * 100000])
def test_event_log_hostile_input(text):
    fact = parse_event_logs(text, text, NOW)
    assert fact.status == "unparsed" and fact.logs == ()


def test_event_log_strings_are_cleaned_and_huge_input_refused():
    row = json.loads(listlog(log("System")))
    row |= {"LogName": "Sys\u202etem\x1b[31m", "LogFilePath": "<script>x</script>" * 100, "RecordCount": -5}
    entry = parse_event_logs(json.dumps(row), "", NOW, wanted=()).logs[0]
    assert entry.name == "Sys\u202etem\x1b[31m".replace("\u202e", "").replace("\x1b", "")
    assert len(entry.path) == 256 and entry.record_count is None
    assert parse_event_logs(" " * 5_000_000 + THREE, "", NOW).status == "unparsed"


PROCESSES = json.dumps([{"Id": 4, "ProcessName": "System"}, {"Id": 948, "ProcessName": "svchost"},
                        {"Id": 2212, "ProcessName": "sqlservr"}], indent=4)
CONNECTIONS = json.dumps([
    {"LocalAddress": "::", "LocalPort": 445, "OwningProcess": 4},
    {"LocalAddress": "0.0.0.0", "LocalPort": 445, "OwningProcess": 4},
    {"LocalAddress": "0.0.0.0", "LocalPort": 135, "OwningProcess": 948},
    {"LocalAddress": "0.0.0.0", "LocalPort": 135, "OwningProcess": 948},
    {"LocalAddress": "10.0.0.5", "LocalPort": 1433, "OwningProcess": 2212},
    {"LocalAddress": "127.0.0.1", "LocalPort": 5985, "OwningProcess": 7777},
], indent=4)


def test_listeners_with_process_names():
    fact = parse_listeners(CONNECTIONS, PROCESSES)
    assert (fact.status, fact.processes_visible, fact.skipped) == ("ok", True, 0)
    got = [(li.address, li.port, li.pid, li.process, li.all_interfaces, li.loopback) for li in fact.items]
    assert got == [("::", 445, 4, "System", True, False), ("0.0.0.0", 445, 4, "System", True, False),
                   ("0.0.0.0", 135, 948, "svchost", True, False), ("10.0.0.5", 1433, 2212, "sqlservr", False, False),
                   ("127.0.0.1", 5985, 7777, None, False, True)]
    listeners = fact.as_listeners()
    assert listeners.source == "get-nettcpconnection" and {li.target for li in listeners.items} == {
        "445/tcp", "135/tcp", "1433/tcp", "5985/tcp"}


def test_listener_single_object_and_no_process_map():
    fact = parse_listeners('{"LocalAddress":  "0.0.0.0", "LocalPort":  3389, "OwningProcess":  1100}', "")
    assert [(li.port, li.pid, li.process) for li in fact.items] == [(3389, 1100, None)]
    assert fact.processes_visible is False


def test_listener_bad_rows_are_skipped():
    rows = json.dumps([{"LocalAddress": "0.0.0.0", "LocalPort": 80, "OwningProcess": 4},
                       {"LocalAddress": "not-an-ip", "LocalPort": 81, "OwningProcess": 4},
                       {"LocalAddress": "0.0.0.0", "LocalPort": 70000, "OwningProcess": 4},
                       {"LocalAddress": "0.0.0.0", "LocalPort": 0, "OwningProcess": 4}, "junk"])
    fact = parse_listeners(rows)
    assert [li.port for li in fact.items] == [80] and fact.skipped == 4
    assert parse_listeners(json.dumps([{"LocalAddress": "x", "LocalPort": 1}])).status == "unparsed"


def test_listener_truncations_give_no_listener():
    for cut in range(1, len(CONNECTIONS) - 1):
        text = CONNECTIONS[:cut]
        fact = parse_listeners(text, PROCESSES)
        assert fact.status == ("unparsed" if text.strip() else "empty") and fact.items == (), cut
    assert parse_listeners("", PROCESSES).status == "empty"
    # a cut-off process map costs the names, never the listeners
    fact = parse_listeners(CONNECTIONS, PROCESSES[:30])
    assert len(fact.items) == 5 and fact.processes_visible is False and {li.process for li in fact.items} == {None}


@pytest.mark.parametrize("text", ['"0.0.0.0"', "7", "null", "<html>403</html>", "\x00[]", "[" * 100000,
                                  " " * 5_000_000 + CONNECTIONS])
def test_listener_hostile_input(text):
    fact = parse_listeners(text, text)
    assert fact.status == "unparsed" and fact.items == ()


def test_listener_process_names_are_cleaned():
    procs = json.dumps({"Id": 4, "ProcessName": "evil\x1b]0;title\x07<b>"})
    fact = parse_listeners('{"LocalAddress": "::", "LocalPort": 445, "OwningProcess": 4}', procs)
    assert fact.items[0].process == "evil]0;title<b>"
