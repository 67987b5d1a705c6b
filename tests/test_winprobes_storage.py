"""Fixed-disk parser (scanner/winprobes/storage.py).

Recorded output: Win32_LogicalDisk (DriveType 3) of two disks from Microsoft's "Collecting information about
computers" page, REBUILT as the probe's JSON (tests/fixtures/winprobes/win_disks_logical_disks/). Other inputs
here are CONSTRUCTED.
"""

from __future__ import annotations

import json

import pytest

from scanner.facts.capacity import Disks
from scanner.winprobes.storage import PROBES, parse_disks, parse_disks_text
from tests.winprobe_outputs import FIFTY_MB, assert_read_only, cases, denied, hostile_texts, output, recorded

DOCS = recorded("win_disks", "logical_disks", "psdocs_collecting_information")


def test_fixtures_and_probe():
    assert cases("win_disks", "logical_disks") == ["psdocs_collecting_information"]
    assert_read_only(PROBES)


def test_recorded_disks_in_the_linux_shape():
    fact = parse_disks(output(logical_disks=DOCS))
    assert (fact.status, fact.skipped) == ("ok", 0)
    c, q = fact.items
    assert (c.device, c.mount, c.total_kb, c.available_kb, c.used_kb, c.used_percent) == (
        "C:", "C:\\", 199133672, 64005232, 135128440, 68)
    assert (q.device, q.total_kb, q.available_kb, q.used_percent) == ("Q:", 120052768, 43260010, 64)
    assert c.fstype is None and c.pseudo is False
    disks = fact.as_disks()
    assert isinstance(disks, Disks) and [fs.device for fs in disks.storage] == ["C:", "Q:"]


def test_one_disk_is_one_object_and_sizes_may_be_strings():
    # WMI writes UInt64 as a string in some serialisations (MicrosoftDocs/win32 pull request 302)
    fact = parse_disks_text(json.dumps({"DeviceID": "d:", "Size": "1073741824", "FreeSpace": "0",
                                        "FileSystem": "NTFS", "VolumeName": "Data"}))
    (disk,) = fact.items
    assert (disk.device, disk.total_kb, disk.available_kb, disk.used_percent, disk.fstype) == ("D:", 1048576, 0, 100,
                                                                                                "NTFS")


@pytest.mark.parametrize("item", [
    {"DeviceID": "C:", "Size": 100, "FreeSpace": 200},  # more free than the disk holds
    {"DeviceID": "C:", "Size": -1, "FreeSpace": 0},
    {"DeviceID": "C:", "Size": None, "FreeSpace": 0},  # an unformatted or unreadable volume has no size
    {"DeviceID": "\\\\?\\Volume{x}", "Size": 100, "FreeSpace": 1},
    {"DeviceID": "C:", "Size": True, "FreeSpace": 0},
    {"DeviceID": "C:", "Size": 2**64, "FreeSpace": 0},
])
def test_disks_that_do_not_add_up_are_skipped(item):
    fact = parse_disks_text(json.dumps([item, {"DeviceID": "E:", "Size": 2048, "FreeSpace": 1024}]))
    assert [d.device for d in fact.items] == ["E:"] and fact.skipped == 1


def test_disk_truncations_never_give_a_disk():
    for cut in range(len(DOCS) - 1):
        fact = parse_disks_text(DOCS[:cut])
        assert fact.status in ("empty", "unparsed") and fact.items == (), cut


def test_errors_and_hostile_output():
    assert parse_disks(output(logical_disks=denied("Get-CimInstance"))).status == "access_denied"
    for text in [*hostile_texts(), "x" * FIFTY_MB]:
        fact = parse_disks_text(text)
        assert fact.items == () and fact.status != "ok"
    named = parse_disks_text(json.dumps([{"DeviceID": "C:", "Size": 10, "FreeSpace": 5,
                                          "FileSystem": "<b>NTFS</b>\u202e\x00" * 100}]))
    assert len(named.items[0].fstype) == 256 and "\x00" not in named.items[0].fstype
