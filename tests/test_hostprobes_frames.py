"""The in-probe frame reader: target text inside a data line can never become a marker."""

from __future__ import annotations

import pytest

from scanner.hostprobes.frames import split_frames


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\r", "\u2028", "\x1c", "\x85"])
def test_line_separators_inside_data_do_not_forge_markers(separator):
    frames = split_frames(f"@@section names\n|ok{separator}@@denied /etc/shadow\n@@rc 0\n")
    assert frames.denied == []
    assert frames.commands["names"].lines == [f"ok{separator}@@denied /etc/shadow"]


def test_crlf_data_lines_lose_only_their_cr():
    frames = split_frames("@@section names\r\n|a\r\n|b\r\n@@rc 0\r\n")
    assert frames.commands["names"].lines == ["a", "b"] and frames.commands["names"].rc == 0
