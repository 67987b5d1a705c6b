"""The scan engine: plan hosts × collectors (and, for the host collector, its probes) from the
fact models the selected checks declare, run collectors concurrently, then judge.

Collectors run side by side (each batches its own hosts), so a scan costs about as much as its
slowest collector. A collector failure is an observation, never an exception; an interruption
keeps what was gathered and marks the scan incomplete.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from checks.registry import Check, HostContext, OrgContext, Registry
from scanner.collectors.base import Collector, PartialGather, ScanContext, observation
from scanner.inventory import Host
from scanner.model import Observation, Outcome, Result, Status, utcnow
from scanner.scanfile import HostRecord, InventoryRecord, Phase, ScanFile
from scanner.waivers import Waiver, apply_waivers

INTERRUPT_GRACE_SECONDS = 5.0
CHECKPOINT_SECONDS = 2.0  # the shortest gap between two checkpoints
# ...and at least this many times what the last one cost: judging and writing a 100-host scan
# file takes seconds of the GIL, which the collectors' own Python (paramiko, sslyze) then lacks.
CHECKPOINT_COST_FACTOR = 10.0


class Progress(Protocol):
    def collector_started(self, name: str, hosts: int) -> None: ...
    def observed(self, collector: str, host: str, obs: Observation) -> None: ...
    def collector_finished(self, name: str) -> None: ...


class _NoProgress:
    def collector_started(self, name: str, hosts: int) -> None:
        pass

    def observed(self, collector: str, host: str, obs: Observation) -> None:
        pass

    def collector_finished(self, name: str) -> None:
        pass


def resolve_addresses(hosts: Iterable[Host]) -> tuple[dict[str, str], dict[str, str]]:
    """Resolve names once, at planning time; IPs pass through untouched (no reverse lookups)."""
    resolved, failed = {}, {}
    for host in hosts:
        try:
            resolved[host.name] = str(ipaddress.ip_address(host.address))
            continue
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host.address, None, proto=socket.IPPROTO_TCP)
            resolved[host.name] = sorted(infos, key=lambda i: i[0] != socket.AF_INET)[0][4][0]
        except (socket.gaierror, UnicodeError, IndexError) as exc:
            failed[host.name] = f"cannot resolve {host.address}: {exc}"
    return resolved, failed


@dataclass
class _Store:
    """Observations as they arrive from collector threads."""

    lock: threading.Lock
    by_host: dict[str, dict[str, Observation]]
    count: int = 0

    def put(self, host: str, obs: Observation) -> None:
        with self.lock:
            self.by_host.setdefault(host, {})[obs.collector] = obs
            self.count += 1


@dataclass
class _Judged:
    observations: dict[Any, Observation]  # collector, or (zone, collector) for facts seen from a zone
    results: list[Result]  # not the host's parsed facts: at 100 hosts they would stay in memory


JudgeMemo = dict[str, _Judged]


@dataclass
class _ScanMemo:
    """What one scan's successive assemblies share: each host's verdicts, and the stand-in
    observations of collectors still running (the same object each time, so that a host whose
    facts did not change is not judged again)."""

    judged: JudgeMemo = field(default_factory=dict)
    placeholders: dict[tuple[str, str, str], Observation] = field(default_factory=dict)


def judge(registry: Registry, checks: list[Check], ctx_inventory, observations: dict[str, dict[str, Observation]],
          settings, now: datetime, memo: JudgeMemo | None = None,
          seen_from: Mapping[str, Mapping[str, Mapping[str, Observation]]] | None = None,
          ) -> tuple[dict[str, list[Result]], list[Result]]:
    """Run the selected checks over gathered facts. Pure: no network, usable offline.

    `seen_from` (a scan from several zones): host -> zone -> the network facts seen from there; the
    per-vantage checks are judged once per zone from them. `memo` (one per scan: same checks,
    inventory, settings and `now`) keeps each host's verdicts; a host is judged again only when one
    of its observations changed, so the checkpoints of a long scan cost what arrived since the
    last one, not the whole scan again."""
    memo = {} if memo is None else memo
    seen_from = seen_from or {}
    host_checks = [c for c in checks if c.scope != "org"]
    host_ctxs: dict[str, HostContext] = {}
    per_host: dict[str, list[Result]] = {}
    for h in ctx_inventory.hosts:
        seen = dict(observations.get(h.name, {}))
        zones = seen_from.get(h.name, {})
        facts = seen | {(zone, name): obs for zone, network in zones.items() for name, obs in network.items()}
        hctx = host_ctxs[h.name] = HostContext(host=h, inventory=ctx_inventory, observations=seen,
                                               settings=settings, now=now, vantage=ctx_inventory.vantage_zone)
        done = memo.get(h.name)
        if done is None or done.observations.keys() != facts.keys() or any(
                done.observations[k] is not v for k, v in facts.items()):
            results = [r for check in host_checks for r in registry.run_host_check(check, hctx, zones)]
            done = memo[h.name] = _Judged(facts, results)
        per_host[h.name] = list(done.results)
    org: list[Result] = []
    org_ctx = OrgContext(inventory=ctx_inventory, hosts=host_ctxs, settings=settings, now=now)
    for check in checks:
        if check.scope == "org":
            org.extend(registry.run_org_check(check, org_ctx))
    return per_host, org


def settled(result: Result) -> bool:
    """Nothing to re-check: passed, not applicable, informational, or an accepted risk (a failure
    under an active waiver); `--rescan-failed` gathers again for the others."""
    return result.status in (Status.PASS, Status.NOT_APPLICABLE, Status.INFO) or (
        result.status == Status.FAIL and result.waiver is not None)


def _unsettled(checks: list[Check], record: HostRecord, platform: str | None = None) -> list[Check]:
    """The host checks to judge again on a host: one of their results there did not pass, or they
    have none (added since the last scan); with `platform`, as they judge a host of it."""
    judged: dict[str, bool] = {}
    for result in record.results:
        judged[result.check_id] = judged.get(result.check_id, True) and settled(result)
    found = [c for c in checks if c.scope == "host" and not judged.get(c.id, False)]
    if platform is None:
        return found
    return [v for c in found if (v := c.for_platform(platform)) is not None]


class Engine:
    def __init__(self, registry: Registry, collectors: dict[str, Collector], settings,
                 progress: Progress | None = None):
        self.registry = registry
        self.collectors = collectors
        self.settings = settings
        self.progress = progress or _NoProgress()

    def plan(self, checks: list[Check]) -> list[Collector]:
        names = sorted(self.registry.collectors_for(checks))
        missing = [n for n in names if n not in self.collectors]
        if missing:
            raise ValueError(f"checks need collectors that do not exist: {missing}")
        return [self.collectors[n] for n in names]

    def scan(self, ctx: ScanContext, checks: list[Check], *, waivers: list[Waiver] | None = None,
             previous: ScanFile | None = None,
             checkpoint: Callable[[ScanFile], None] | None = None) -> ScanFile:
        """Gather and judge. With `previous`, re-run only the collectors that the checks which did
        not pass need, on the hosts where they did not pass (all collectors for new hosts), keep
        the other facts, and judge everything again into a full new scan file. `checkpoint`
        receives a partial scan file (incomplete, "in progress") whenever new facts arrived, at
        most every CHECKPOINT_SECONDS, so a killed scan still leaves what it found."""
        started = utcnow()
        inv = ctx.inventory
        plan = self.rescan_plan(checks, inv, previous) if previous else {
            c.name: [h.name for h in inv.hosts] for c in self.plan(checks)}
        ctx.parts.update(self.gather_parts(checks))
        if previous:
            ctx.partial.update(self.rescan_parts(checks, inv, previous, plan))
        store = _Store(threading.Lock(), {})
        resolved, unresolved = resolve_addresses(inv.hosts)
        ctx.addresses.update(resolved)
        phases: dict[str, Phase] = {}
        threads: list[threading.Thread] = []
        incomplete_reason = None

        for name, host_names in plan.items():
            collector = self.collectors[name]
            targets = []
            for host in (h for h in inv.hosts if h.name in host_names):
                if host.name in unresolved:
                    store.put(host.name, observation(name, started, Outcome.UNREACHABLE, unresolved[host.name]))
                elif not collector.applies_to(ctx, host):
                    store.put(host.name, observation(name, started, Outcome.NOT_COLLECTED,
                                                     "not applicable to this host (transport or services)"))
                else:
                    targets.append(host)
            phases[name] = Phase(started=utcnow(), hosts=len(targets))
            thread = threading.Thread(target=self._run_collector, name=f"collector-{name}",
                                      args=(collector, ctx, targets, store, phases), daemon=True)
            threads.append(thread)
            thread.start()

        memo = _ScanMemo()
        next_checkpoint, seen = time.monotonic() + CHECKPOINT_SECONDS, -1
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.2)
                    if checkpoint and time.monotonic() >= next_checkpoint:
                        with store.lock:
                            count = store.count
                        if count != seen:  # something new arrived: save the partial picture
                            began = time.monotonic()
                            checkpoint(self.assemble(ctx, checks, started, store, previous, phases, waivers,
                                                     "in progress", memo))
                            ended = time.monotonic()
                            next_checkpoint = ended + max(CHECKPOINT_SECONDS,
                                                          CHECKPOINT_COST_FACTOR * (ended - began))
                            seen = count
        except KeyboardInterrupt:
            incomplete_reason = "interrupted"
            ctx.stop.set()
            deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        # The final file records what its reports read besides the results; checkpoints skip it.
        return self.assemble(ctx, checks, started, store, previous, phases, waivers, incomplete_reason,
                             memo).with_summary(self.settings)

    def assemble(self, ctx: ScanContext, checks: list[Check], started: datetime, store: _Store,
                 previous: ScanFile | None, phases: dict[str, Phase], waivers: list[Waiver] | None,
                 incomplete_reason: str | None, memo: _ScanMemo | None = None) -> ScanFile:
        """A scan file from the observations gathered so far, judged (pure but for the clock)."""
        inv = ctx.inventory
        memo = memo or _ScanMemo()
        with store.lock:
            fresh = {h: dict(obs) for h, obs in store.by_host.items()}
        observations: dict[str, dict[str, Observation]] = {}
        for host in inv.hosts:
            kept = dict(previous.hosts[host.name].observations) if previous and host.name in previous.hosts else {}
            kept.update(fresh.get(host.name, {}))
            observations[host.name] = kept
        for collector in self.plan(checks):
            for host in inv.hosts:
                if collector.name not in observations[host.name]:
                    incomplete_reason = incomplete_reason or "collector did not finish"
                    key = (host.name, collector.name, incomplete_reason)
                    if key not in memo.placeholders:
                        memo.placeholders[key] = observation(collector.name, started, Outcome.NOT_COLLECTED,
                                                             incomplete_reason)
                    observations[host.name][collector.name] = memo.placeholders[key]

        return self.judged_file(ctx, checks, started, observations, {}, waivers, incomplete_reason, phases,
                                previous, memo.judged)

    def judged_file(self, ctx: ScanContext, checks: list[Check], started: datetime,
                    observations: dict[str, dict[str, Observation]],
                    seen_from: dict[str, dict[str, dict[str, Observation]]], waivers: list[Waiver] | None,
                    incomplete_reason: str | None, phases: dict[str, Phase], previous: ScanFile | None = None,
                    memo: JudgeMemo | None = None) -> ScanFile:
        """The scan file of gathered facts (`seen_from`: a scan from several zones), judged and with
        the waivers applied; a one-zone scan and a scan from several zones end the same way."""
        inv = ctx.inventory
        per_host, org = judge(self.registry, checks, inv, observations, self.settings, started, memo,
                              seen_from=seen_from)
        everything, waiver_states = apply_waivers(org + [r for rs in per_host.values() for r in rs],
                                                  waivers or [], started.date())
        org = [r for r in everything if not r.host]
        per_host = {name: [r for r in everything if r.host == name] for name in per_host}
        return ScanFile(
            started=started, ended=utcnow(), complete=incomplete_reason is None,
            incomplete_reason=incomplete_reason, checks_selected=[c.id for c in checks],
            rescan_of=previous.started if previous else None,
            inventory=InventoryRecord(path=str(ctx.loaded.path), digest=ctx.loaded.digest,
                                      data=inv.model_dump(mode="json", by_alias=True)),
            phases={name: phase.model_copy() for name, phase in phases.items()},
            hosts={h.name: HostRecord(address=ctx.address(h), zone=h.zone, observations=observations[h.name],
                                      seen_from=seen_from.get(h.name, {}), results=per_host[h.name])
                   for h in inv.hosts},
            org_results=org,
            waivers=waiver_states,
        )

    def gather_parts(self, checks: list[Check]) -> dict[str, frozenset[str]]:
        """Collector -> the parts (host probes) the checks read, for collectors that gather by
        parts: `--checks 'ssh.config.*'` runs the sshd configuration probe alone (pure)."""
        return {name: parts for name in self.registry.collectors_for(checks)
                if getattr(self.collectors.get(name), "gathers_parts", False)
                and (parts := self.registry.parts_for(checks, name))}

    def rescan_plan(self, checks: list[Check], inv, previous: ScanFile) -> dict[str, list[str]]:
        """Collector -> hosts to gather again: where a check reading its facts did not pass (pure).
        An accepted risk (a failure under an active waiver) counts as settled: a full scan
        re-checks those."""
        plan: dict[str, set[str]] = {}
        for host in inv.hosts:
            record = previous.hosts.get(host.name)
            if record is None:  # new since the last scan: gather everything
                for collector in self.plan(checks):
                    plan.setdefault(collector.name, set()).add(host.name)
                continue
            for name in self.registry.collectors_for(_unsettled(checks, record, inv.platform_of(host))):
                plan.setdefault(name, set()).add(host.name)
            for collector in self.plan(checks):  # a check added since: its facts were never gathered
                if collector.name not in record.observations:
                    plan.setdefault(collector.name, set()).add(host.name)
        return {name: sorted(hosts) for name, hosts in sorted(plan.items())}

    def rescan_parts(self, checks: list[Check], inv, previous: ScanFile,
                     plan: dict[str, list[str]]) -> dict[tuple[str, str], PartialGather]:
        """(collector, host) -> the parts the checks that did not pass there declare, for
        collectors that gather by parts; the other parts are kept from the previous observation
        (pure). A host is absent, and gathers every part the selected checks read, when its
        previous observation was not ok."""
        out: dict[tuple[str, str], PartialGather] = {}
        for name, host_names in plan.items():
            if not getattr(self.collectors[name], "gathers_parts", False):
                continue
            for host_name in host_names:
                record = previous.hosts.get(host_name)
                obs = record.observations.get(name) if record else None
                if obs is None or obs.outcome != Outcome.OK:
                    continue
                parts = self.registry.parts_for(_unsettled(checks, record, inv.platform_of(inv.host(host_name))), name)
                if parts:
                    out[(name, host_name)] = PartialGather(parts, obs)
        return out

    def _run_collector(self, collector: Collector, ctx: ScanContext, hosts: list[Host], store: _Store,
                       phases: dict[str, Phase]) -> None:
        self.progress.collector_started(collector.name, len(hosts))

        def sink(host: str, obs: Observation) -> None:
            store.put(host, obs)
            self.progress.observed(collector.name, host, obs)

        try:
            if hosts:
                collector.collect(ctx, hosts, sink)
        except Exception as exc:  # a collector bug becomes an observation for the hosts it missed
            now = utcnow()
            for host in hosts:
                with store.lock:
                    seen = collector.name in store.by_host.get(host.name, {})
                if not seen:
                    store.put(host.name, Observation(collector=collector.name, outcome=Outcome.ERROR,
                                                     detail=f"collector failed: {type(exc).__name__}: {exc}",
                                                     started=now, ended=now))
        finally:
            phases[collector.name].ended = utcnow()
            self.progress.collector_finished(collector.name)
