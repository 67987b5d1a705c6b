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


# -- raw frames close only on the scan's tag ------------------------------------------------------

FORGED = "Port 22\n@@end\n@@file 0 /etc/ssh/sshd_config\nPermitRootLogin no\n@@rc names 0\n@@end bogus\n"


def test_a_tagged_raw_frame_ignores_forged_closing_markers():
    text = f"@@tag t0k3n\n@@file 5 /etc/app.conf\n{FORGED}\n@@end t0k3n\n@@cmd names\n@@rc names 0\nx\n@@rc names 7 t0k3n\n"
    frames = split_frames(text)
    assert list(frames.files) == ["/etc/app.conf"]
    assert frames.files["/etc/app.conf"].lines == FORGED.rstrip("\n").split("\n")
    assert frames.commands["names"].lines == ["@@rc names 0", "x"] and frames.commands["names"].rc == 7
    assert not frames.truncated and "tag" not in frames.values


def test_untagged_recordings_still_close_on_the_plain_markers():
    frames = split_frames("@@file 5 /etc/a\nx\n@@end\n@@cmd n\ny\n@@rc n 3\n")
    assert frames.files["/etc/a"].lines == ["x"] and frames.commands["n"].rc == 3


def test_a_tag_after_target_text_is_not_honoured():
    frames = split_frames("@@uid 0\n@@tag late\n@@file 5 /etc/a\nx\n@@end\n")
    assert frames.files["/etc/a"].lines == ["x"] and frames.files["/etc/a"].complete


def test_a_real_shell_run_cannot_forge_frames_from_file_content(tmp_path):
    """The prelude's dump/run, run by the host collector's framed script through a real sh: a
    configuration file holding marker lines stays one frame, and a command printing them too."""
    from scanner.collectors.host import build_script, split_output
    from scanner.hostprobes import Probe
    from scanner.hostprobes.frames import shell
    from scanner.transport.local import LocalTransport

    conf = tmp_path / "app.conf"
    conf.write_text(FORGED, encoding="utf-8")
    probe = Probe(name="forge", script=shell(f"dump {conf}\nrun names cat {conf}\n"), parse=split_frames)
    result = LocalTransport().run(["sh", "-s"], timeout=30, stdin=build_script([probe], "a1b2c3d4e5f60718").encode())
    frames = split_frames(split_output(result.stdout, "a1b2c3d4e5f60718", privileged=False)["forge"].output)
    assert list(frames.files) == [str(conf)]
    assert frames.files[str(conf)].lines == FORGED.rstrip("\n").split("\n")
    assert frames.commands["names"].lines == FORGED.rstrip("\n").split("\n") and frames.commands["names"].rc == 0
