"""The host collector: one connection per host, all probes in one framed script per privilege.

A host costs one round trip, or two when `become: sudo` runs the probes that see more as root.
"""

from __future__ import annotations

import re
import secrets
import shlex
from concurrent.futures import ThreadPoolExecutor

from scanner.collectors.base import PartialGather, ScanContext, Sink, observation
from scanner.collectors.windows_host import gather_windows
from scanner.connect import sudo_password, transport_for
from scanner.facts.host import HostObservation, ProbeRecord
from scanner.hostprobes import Probe, ProbeSet
from scanner.hostprobes.catalog import default_probes
from scanner.inventory import Host
from scanner.model import Observation, Outcome, utcnow
from scanner.transport.base import Transport, TransportError, with_become
from scanner.winprobes import WinProbeSet
from scanner.winprobes.catalog import default_windows_probes

KEPT_OUTPUT = 64 * 1024  # raw output kept as evidence per probe


def build_script(probes: list[Probe], nonce: str) -> str:
    """One POSIX sh script running every probe, each framed by markers carrying `nonce`, so
    output from a target cannot forge a frame. Snippets read nothing from our stdin."""
    lines = [
        # Also closes the probes' own raw frames (hostprobes/frames.py), for the same reason.
        f"RS_TAG={nonce}; export RS_TAG",
        "T=''; command -v timeout >/dev/null 2>&1 && T=timeout",
        "now() { date +%s%N 2>/dev/null; }",
    ]
    for probe in probes:
        snippet = shlex.quote(probe.script)
        lines += [
            f"printf '\\n@@{nonce}@@ BEGIN {probe.name} %s\\n' \"$(now)\"",
            f"{{ ${{T:+$T {probe.timeout}}} sh -c {snippet} </dev/null 2>&1; printf '\\n@@{nonce}@@ RC %s\\n' \"$?\"; }}"
            f" | head -c {probe.output_cap}",
            f"printf '\\n@@{nonce}@@ END {probe.name} %s\\n' \"$(now)\"",
        ]
    return "\n".join(lines) + "\n"


def split_output(text: str, nonce: str, privileged: bool) -> dict[str, ProbeRecord]:
    """Cut the script's output back into one record per probe, its output whole (pure)."""
    runs: dict[str, ProbeRecord] = {}
    marker = re.escape(f"@@{nonce}@@")
    pattern = re.compile(rf"\n{marker} BEGIN (\S+) (\S*)\n(.*?)\n{marker} END \1 (\S*)\n", re.S)
    for m in pattern.finditer("\n" + text):
        name, t0, body, t1 = m.groups()
        rc_match = re.search(rf"\n{marker} RC (\d+)\n?$", body + "\n")
        if rc_match:
            body, rc, truncated = body[: rc_match.start()], int(rc_match.group(1)), False
        else:
            rc, truncated = None, True  # the probe's own cap cut the RC line off
        seconds = (int(t1) - int(t0)) / 1e9 if t0.isdigit() and t1.isdigit() else None
        runs[name] = ProbeRecord(name=name, exit_status=rc, seconds=seconds, output=body, truncated=truncated,
                                 privileged=privileged)
    return runs


class HostCollector:
    name = "host"
    gathers_parts = True  # one probe is one part: only the probes the selected checks read run
    logs_in = True  # runs where the host is administered from (a scan from several zones: once)

    def __init__(self, probes: ProbeSet | None = None, windows_probes: WinProbeSet | None = None):
        self.probes = probes or default_probes()
        self.windows_probes = windows_probes or default_windows_probes()

    def parts_of_host(self, inventory, host: Host, parts: frozenset[str]) -> frozenset[str]:
        """Of `parts`, the probes that run on the host's platform."""
        if inventory.platform_of(host) == "windows":
            return parts & self.windows_probes.names()
        return parts & {p.name for p in self.probes}

    def applies_to(self, ctx: ScanContext, host: Host) -> bool:
        return ctx.inventory.transport_of(host) != "none"

    def collect(self, ctx: ScanContext, hosts: list[Host], sink: Sink) -> None:
        with ThreadPoolExecutor(max_workers=ctx.inventory.scan.concurrency,
                                thread_name_prefix="host") as pool:
            futures = [pool.submit(self._collect_one, ctx, h, sink) for h in hosts]
            for f in futures:
                f.result()

    def _collect_one(self, ctx: ScanContext, host: Host, sink: Sink) -> None:
        started = utcnow()
        if ctx.stop.is_set():
            sink(host.name, observation(self.name, started, Outcome.NOT_COLLECTED, "interrupted"))
            return
        transport: Transport | None = None
        try:
            transport = transport_for(ctx.loaded, host, ctx.address(host),
                                      accept_new_host_keys=ctx.options.accept_new_host_keys, secrets=ctx.secrets)
            partial = ctx.partial.get((self.name, host.name))
            seen = self.gather(ctx, host, transport, partial.parts if partial else ctx.parts.get(self.name))
            # No probe's facts, and a reason why (cut off, sudo refused): the host was not observed.
            failed = not seen.parsed and bool(seen.notes)
            obs = observation(self.name, started, Outcome.ERROR if failed else Outcome.OK,
                              "; ".join(seen.notes) if failed else "", seen.model_dump(mode="json"))
            sink(host.name, self.completed(obs, partial) if partial else obs)
        except TransportError as exc:
            sink(host.name, observation(self.name, started, Outcome(exc.outcome), str(exc)))
        except Exception as exc:  # never let one host stop the others
            sink(host.name, observation(self.name, started, Outcome.ERROR, f"{type(exc).__name__}: {exc}"))
        finally:
            if transport is not None:
                transport.close()

    def gather_windows(self, ctx: ScanContext, host: Host, transport: Transport,
                       only: frozenset[str] | None = None) -> HostObservation:
        inv = ctx.inventory
        chosen = [p for p in self.windows_probes if only is None or p.name in only]
        timeout = (inv.winrm_of(host).command_timeout if inv.transport_of(host) == "winrm"
                   else inv.ssh_of(host).command_timeout) or inv.scan.timeouts.command
        # The probes run one after the other, each stopped at its own limit: the script's deadline
        # is their sum and a margin for PowerShell's start, within what the inventory allows a host.
        budget = min(inv.scan.timeouts.host, max(timeout, sum(p.timeout for p in chosen) + 30))
        return gather_windows(transport, self.windows_probes, budget=budget,
                              now=int(utcnow().timestamp()), only=only)

    @staticmethod
    def completed(fresh: Observation, partial: PartialGather) -> Observation:
        """An observation of only `partial.parts`, completed with every other probe's facts from
        the previous one (pure; a scan from several zones completes its workers' answers here).
        A host not observed this time stays so."""
        if fresh.outcome != Outcome.OK:
            return fresh
        seen = HostObservation.model_validate(fresh.data).with_parts_from(
            HostObservation.model_validate(partial.previous.data), partial.parts)
        return fresh.model_copy(update={"data": seen.model_dump(mode="json")})

    def gather(self, ctx: ScanContext, host: Host, transport: Transport,
               only: frozenset[str] | None = None) -> HostObservation:
        """Run the probes (those named in `only`, when given) and parse their output."""
        inv = ctx.inventory
        if inv.platform_of(host) == "windows":
            return self.gather_windows(ctx, host, transport, only)
        probes = [p for p in self.probes if only is None or p.name in only]
        timeout = inv.ssh_of(host).command_timeout or inv.scan.timeouts.command
        # One script's deadline: room for its slowest probe twice over, never less than the
        # command timeout, and never more than the inventory allows one host (scan.timeouts.host):
        # a shell that swallows the script must not hold the scan for the probes' sum.
        budget = min(inv.scan.timeouts.host,
                     max(timeout, 2 * max((p.timeout for p in probes), default=0)))
        who = transport.run(["id", "-u"], timeout=timeout)
        is_root = who.stdout.strip() == "0"
        become = inv.ssh_of(host).become == "sudo" and not is_root
        plain = [p for p in probes if not (p.root and become)]
        elevated = [p for p in probes if p.root and become]
        runs: dict[str, ProbeRecord] = {}
        unframed: list[ProbeRecord] = []  # scripts whose output held no probe at all, kept as evidence
        round_trips = 1
        notes: list[str] = []
        for group, privileged in ((plain, is_root), (elevated, True)):
            if not group:
                continue
            nonce = secrets.token_hex(8)
            argv, stdin = ["sh", "-s"], build_script(group, nonce).encode()
            if privileged and not is_root:
                argv, stdin = with_become(argv, stdin, sudo_password(ctx.loaded, host, ctx.secrets))
            cap = sum(p.output_cap for p in group) + 65536
            result = transport.run(argv, timeout=budget, stdin=stdin, output_cap=cap)
            round_trips += 1
            got = split_output(result.stdout, nonce, privileged)
            if not got and (result.timed_out or result.truncated):
                # Not one framed probe before the deadline or the cap: the remote shell ignored the
                # script (broken, or hostile). Keep the start of what it sent; another script, with
                # sudo or without, would fare no better, so none is sent.
                limit = f"the deadline ({budget:g}s)" if result.timed_out else f"the output cap ({cap} bytes)"
                notes.append(f"{'privileged' if privileged else 'unprivileged'} probe script: no probe output "
                             f"before {limit}; the remote shell did not run the script, no other was sent")
                unframed.append(ProbeRecord(name="script", exit_status=result.exit_status, seconds=round(result.seconds, 3),
                                            output=result.stdout, truncated=True, privileged=privileged))
                break
            if privileged and not is_root and not got:
                notes.append(f"sudo failed: {result.stderr.strip()[:500] or 'no output'}")
                # Fall back to the unprivileged view rather than losing these facts.
                fallback = transport.run(["sh", "-s"], timeout=budget, stdin=build_script(group, nonce).encode())
                round_trips += 1
                got = split_output(fallback.stdout, nonce, False)
            if result.timed_out:
                notes.append(f"script timed out after {budget:g}s")
            runs.update(got)
        lost = [p for p in plain if p.name not in runs]
        if lost and not unframed and len(lost) < len(plain):
            # Some frames never arrived though the script ran (a session cut short): ask once more
            # for just those, unprivileged, so one lost frame does not turn its checks unknown.
            nonce = secrets.token_hex(8)
            again = transport.run(["sh", "-s"], timeout=budget, stdin=build_script(lost, nonce).encode())
            round_trips += 1
            runs.update(split_output(again.stdout, nonce, is_root))
            notes.append(f"asked again for {len(lost)} probe(s) whose output was missing")
        parsed, parse_errors = {}, {}
        for probe in probes:
            run = runs.get(probe.name)
            if run is None:
                parse_errors[probe.name] = "no output (cut off or not run)"
                continue
            try:
                parsed[probe.name] = probe.parse(run.output).model_dump(mode="json")
            except Exception as exc:  # a parser that does not understand says so; raw is kept
                parse_errors[probe.name] = f"{type(exc).__name__}: {exc}"
        return HostObservation(
            transport=transport.name, is_root=is_root, become=become, round_trips=round_trips, notes=tuple(notes),
            commands=tuple(r.model_copy(update={"truncated": r.truncated or len(r.output) > KEPT_OUTPUT,
                                                "output": r.output[:KEPT_OUTPUT]})
                           for r in [*runs.values(), *unframed]),
            parsed=parsed, parse_errors=parse_errors)
