"""The host collector's Windows path: every probe in one PowerShell script, one round trip.

The script goes on standard input to a fixed bootstrap (scanner/winprobes/script.py), over
WinRM (WinRS) or over OpenSSH, whichever the inventory names; what comes back is cut into one
record per probe and each probe's parser turns its sections into a fact.
"""

from __future__ import annotations

import secrets

from scanner.facts.host import HostObservation, ProbeRecord
from scanner.winprobes import ProbeOutput, WinProbeSet
from scanner.winprobes.script import ScriptOutput, bootstrap_argv, build_script, split_output

KEPT_OUTPUT = 64 * 1024  # framed output kept as evidence per probe
SCRIPT_SLACK = 65536  # characters of output beyond the probes' caps: the host line, the markers


def _records(got: ScriptOutput) -> list[ProbeRecord]:
    records = []
    for run in got.runs.values():
        text = "\n".join(run.lines)
        records.append(ProbeRecord(
            name=run.name, exit_status=0 if run.state == "done" else None,
            seconds=None if run.milliseconds is None else run.milliseconds / 1000,
            privileged=bool(got.host and got.host.admin), truncated=run.cut or len(text) > KEPT_OUTPUT,
            output=text[:KEPT_OUTPUT]))
    return records


def _why_missing(got: ScriptOutput, name: str) -> str:
    run = got.runs.get(name)
    if run is None:
        return "no output (cut off or not run)"
    if run.state == "timeout":
        return f"stopped at its time limit ({(run.milliseconds or 0) / 1000:g}s)"
    return "its output ended before the probe did"


def gather_windows(transport, probes: WinProbeSet, *, budget: float, now: int,
                   only: frozenset[str] | None = None) -> HostObservation:
    """Run the probes (those named in `only`, when given) on a Windows host and parse their output.
    `now` (epoch seconds) stands in for the host's clock when the script did not report it."""
    chosen = [p for p in probes if only is None or p.name in only]
    nonce = secrets.token_hex(8)
    cap = sum(p.output_cap for p in chosen) + SCRIPT_SLACK
    result = transport.run(bootstrap_argv(), timeout=budget, stdin=build_script(chosen, nonce).encode("ascii"),
                           output_cap=cap)
    got = split_output(result.stdout, nonce)
    info = got.host
    notes: list[str] = []
    if info is None:
        # Not even the first line: PowerShell did not run the script (not installed, a profile
        # or a shell that swallowed it). Keep what came back as the evidence.
        notes.append("the PowerShell script printed nothing readable: " + (result.stderr.strip()[:300] or
                     (f"timed out after {budget:g}s" if result.timed_out else "no output")))
        return HostObservation(transport=transport.name, round_trips=1, notes=tuple(notes),
                               commands=(ProbeRecord(name="script", exit_status=result.exit_status,
                                                     seconds=round(result.seconds, 3), truncated=True,
                                                     output=(result.stdout + result.stderr)[:KEPT_OUTPUT]),),
                               parse_errors=dict.fromkeys((p.name for p in chosen), "the script did not run"))
    if info.language not in (None, "FullLanguage"):
        notes.append(f"PowerShell runs in {info.language} mode: no probe could run")
    if result.timed_out:
        notes.append(f"script timed out after {budget:g}s")
    if result.truncated:
        notes.append(f"script output went past {cap} characters and was cut")
    host_now = info.now or now
    parsed, parse_errors = {}, {}
    for probe in chosen:
        run = got.runs.get(probe.name)
        if run is None or run.state is None or run.state == "timeout":
            parse_errors[probe.name] = _why_missing(got, probe.name)
            continue
        output = ProbeOutput(sections=dict(run.sections), now=host_now, admin=info.admin)
        try:
            parsed[probe.name] = probe.parse(output).model_dump(mode="json")
        except Exception as exc:  # a parser that does not understand says so; raw is kept
            parse_errors[probe.name] = f"{type(exc).__name__}: {exc}"
    return HostObservation(transport=transport.name, is_root=bool(info.admin), round_trips=1,
                           notes=tuple(notes), commands=tuple(_records(got)), parsed=parsed,
                           parse_errors=parse_errors, windows=info)
