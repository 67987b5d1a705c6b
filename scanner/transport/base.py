"""The transport interface: run an argv (never a shell string built from data) on a host."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

DEFAULT_OUTPUT_CAP = 4 * 1024 * 1024


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_status: int | None  # None when the command was cut off (timeout, cap, interrupted)
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    truncated: bool = False  # output went past the cap and the rest was dropped

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.timed_out


class TransportError(Exception):
    """Connecting or authenticating failed; `outcome` is an model.Outcome value."""

    def __init__(self, outcome: str, message: str):
        super().__init__(message)
        self.outcome = outcome


class Transport(Protocol):
    name: str

    def run(self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None,
            output_cap: int = DEFAULT_OUTPUT_CAP) -> CommandResult: ...

    def close(self) -> None: ...


def quote_argv(argv: Sequence[str]) -> str:
    """The one place where an argv becomes a remote shell string (SSH exec takes a string)."""
    return " ".join(shlex.quote(a) for a in argv)


# The only characters a token of a command for a Windows host may hold: cmd.exe and PowerShell,
# the shells of Windows' OpenSSH and WinRS, read none of them specially, so no quoting is needed
# (the Windows collector sends fixed tokens and a base64 bootstrap; its script goes on stdin).
_WINDOWS_TOKEN = re.compile(r"^[A-Za-z0-9+/=._:-]+$")


def windows_command(argv: Sequence[str]) -> str:
    """An argv as a Windows command line; refuses any token a Windows shell would interpret."""
    bad = [a for a in argv if not _WINDOWS_TOKEN.match(a)]
    if bad or not argv:
        raise ValueError(f"not a safe Windows command token: {bad[0][:40]!r}" if bad else "empty command")
    return " ".join(argv)


class CappedBuffer:
    """Collects bytes up to a cap and remembers whether anything was dropped."""

    def __init__(self, cap: int):
        self.cap = cap
        self.data = bytearray()
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if len(chunk) > room:
            self.truncated = True
            chunk = chunk[:max(room, 0)]
        self.data += chunk

    @property
    def full(self) -> bool:
        return self.truncated

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def with_become(argv: Sequence[str], stdin: bytes | None, sudo_password: str | None) -> tuple[list[str], bytes | None]:
    """Wrap a command in sudo. Without a password `sudo -n` never prompts; with one, the password
    goes on stdin (-S) with an empty prompt, so it never appears on a command line or in output."""
    if sudo_password is None:
        return ["sudo", "-n", "--", *argv], stdin
    return ["sudo", "-S", "-p", "", "--", *argv], sudo_password.encode() + b"\n" + (stdin or b"")
