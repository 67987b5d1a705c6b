"""Run commands on this machine: subprocess with an argv, a deadline and capped output."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from collections.abc import Sequence

from scanner.transport.base import DEFAULT_OUTPUT_CAP, CappedBuffer, CommandResult


class LocalTransport:
    name = "local"

    def run(self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None,
            output_cap: int = DEFAULT_OUTPUT_CAP) -> CommandResult:
        started = time.monotonic()
        env = dict(os.environ, LC_ALL="C", LANG="C")
        try:
            proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                    start_new_session=True)
        except FileNotFoundError:
            return CommandResult(tuple(argv), 127, "", f"{argv[0]}: command not found", 0.0)
        except PermissionError as exc:
            return CommandResult(tuple(argv), 126, "", str(exc), 0.0)
        if stdin is not None:
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:
                pass
        out, err = CappedBuffer(output_cap), CappedBuffer(output_cap)
        deadline = started + timeout
        timed_out = False
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ, out)
            sel.register(proc.stderr, selectors.EVENT_READ, err)
            while sel.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                for key, _ in sel.select(min(remaining, 0.5)):
                    chunk = os.read(key.fileobj.fileno(), 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                    else:
                        key.data.add(chunk)
                if out.full or err.full:
                    break
        cut = timed_out or out.full or err.full
        if cut:
            _kill_group(proc)
        try:
            status = proc.wait(timeout=max(0.1, deadline - time.monotonic()) if not cut else 5)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            status, timed_out = None, True
        proc.stdout.close()
        proc.stderr.close()
        return CommandResult(tuple(argv), None if cut else status, out.text(), err.text(),
                             time.monotonic() - started, timed_out=timed_out,
                             truncated=out.truncated or err.truncated)

    def close(self) -> None:
        pass


def _kill_group(proc: subprocess.Popen) -> None:
    # The command ran in its own session: end it and whatever it started, by PID.
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass
    proc.wait()
