"""Monitoring agents on a host: host intrusion detection / EDR (XI.3.4) and SIEM or log agents
(XI.3.6.1, XI.2.2), recognised from checks/data/products.yaml.

This module also holds the product table and the "installed / running" reading of it that the
malware and firewall checks share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from checks.registry import HostContext, MissingFacts, Registry, Verdict, failed, passed, verdict
from checks.settings import load_data
from scanner.facts.agents import AgentFiles, Process, Processes
from scanner.facts.logging import LogShippers
from scanner.facts.packages import Packages
from scanner.model import Severity, Status

Role = Literal["antimalware", "edr", "hids", "ids", "ips", "siem", "log_shipper", "management"]


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sourced(_Data):
    value: int
    source: str


class ProductThresholds(_Data):
    signature_max_age_days: Sourced
    disk_usage_max_percent: Sourced


class Product(_Data):
    id: str
    name: str
    roles: list[Role]
    processes: list[str] = []
    exe_prefixes: list[str] = []
    active: list[str] | None = None  # processes meaning "protecting"; None: any of `processes`
    updater: list[str] = []
    packages: list[str] = []
    services: list[str] = []
    paths: list[str] = []
    signatures: list[str] = []
    shipper: str | None = None
    source: str
    note: str | None = None

    @property
    def detectable(self) -> bool:
        return bool(self.processes or self.exe_prefixes or self.packages or self.paths)


class ServerSoftware(_Data):
    id: str
    name: str
    kind: Literal["web", "db", "app"]
    packages: list[str] = []
    processes: list[str] = []
    source: str


class ProductTable(_Data):
    thresholds: ProductThresholds
    products: list[Product]
    server_software: list[ServerSoftware]

    def with_role(self, *roles: str) -> list[Product]:
        return [p for p in self.products if set(p.roles) & set(roles)]


@lru_cache(maxsize=1)
def products() -> ProductTable:
    return load_data("products", ProductTable)  # type: ignore[return-value]


@dataclass
class ProductState:
    product: Product
    packages: dict[str, str] = field(default_factory=dict)  # installed package -> version
    paths: list[str] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)

    @property
    def installed(self) -> bool:
        return bool(self.packages or self.paths or self.processes)

    @property
    def running(self) -> bool:
        return bool(self.processes)

    def active(self) -> list[Process]:
        """Processes that mean the product protects now (ClamAV: clamd, not just freshclam)."""
        if self.product.active is None:
            return self.processes
        return [p for p in self.processes if p.names() & set(self.product.active)
                or (p.exe and any(p.exe.startswith(x) for x in self.product.exe_prefixes))]

    def evidence(self) -> dict:
        return {"product": self.product.name, "packages": self.packages, "paths": self.paths,
                "processes": [f"{p.name} (pid {p.pid})" for p in self.processes[:10]],
                "source": self.product.source}


def installed_packages(ctx: HostContext) -> dict[str, str] | None:
    """name -> version from the packages probe, or None when it did not run or failed."""
    try:
        return dict(ctx.facts(Packages).installed)
    except MissingFacts:
        return None


def agent_files(ctx: HostContext) -> AgentFiles | None:
    try:
        return ctx.facts(AgentFiles)
    except MissingFacts:
        return None


def product_states(ctx: HostContext, roles: tuple[str, ...]) -> list[ProductState]:
    """What the host shows of each product with one of `roles` (processes are required facts)."""
    procs = ctx.facts(Processes)
    pkgs = installed_packages(ctx) or {}
    files = agent_files(ctx)
    states = []
    for product in products().with_role(*roles):
        states.append(ProductState(
            product=product,
            packages={p: pkgs[p] for p in product.packages if p in pkgs},
            paths=files.has(product.paths) if files and product.paths else [],
            processes=procs.matching(product.processes, product.exe_prefixes) if product.detectable else []))
    return states


def process_view(ctx: HostContext) -> dict:
    procs = ctx.facts(Processes)
    return {"processes_seen": len(procs.items), "as_root": procs.as_root, "hidepid": procs.hidepid,
            "process_source": procs.source}


def undetectable(roles: tuple[str, ...]) -> list[str]:
    return [p.name for p in products().with_role(*roles) if not p.detectable]


def judge_agents(ctx: HostContext, roles: tuple[str, ...]) -> Verdict:
    """Pass when a product with one of `roles` runs; fail when one is installed but stopped or
    none is seen; unknown when other users' processes were hidden from us."""
    states = product_states(ctx, roles)
    running = [s for s in states if s.running]
    view = process_view(ctx)
    if running:
        names = ", ".join(s.product.name for s in running)
        return passed("running", products=names, evidence={**view, "running": [s.evidence() for s in running]})
    stopped = [s for s in states if s.installed]
    if stopped:
        names = ", ".join(s.product.name for s in stopped)
        return failed("installed_not_running", products=names,
                      evidence={**view, "installed": [s.evidence() for s in stopped]})
    if not ctx.facts(Processes).complete:
        return verdict(Status.UNKNOWN, "process_view_limited", evidence=view)
    looked_for = [p.name for p in products().with_role(*roles) if p.detectable]
    return failed("none", evidence={**view, "looked_for": looked_for, "not_detectable": undetectable(roles)})


def register(registry: Registry) -> None:
    @registry.check("monitoring.hids_agent", items=["XI.3.4"], severity=Severity.MEDIUM, requires=("host",))
    def hids_agent(ctx: HostContext) -> Verdict:
        return judge_agents(ctx, ("hids", "edr"))

    @registry.check("monitoring.siem_agent", items=["XI.3.6.1", "XI.2.2"], severity=Severity.MEDIUM,
                    requires=("host",))
    def siem_agent(ctx: HostContext) -> Verdict:
        result = judge_agents(ctx, ("siem", "log_shipper"))
        declared = ctx.inventory.solutions.siem_soc
        decl = None if declared is None else {"status": "yes" if declared.status else "no",
                                              "product": declared.product, "details": declared.details}
        destinations = _shipper_destinations(ctx)
        evidence = {**result.evidence, "declared_siem_soc": decl, "destinations": destinations}
        if result.status == Status.PASS and declared is not None and not declared.status:
            return passed("running_not_declared", products=result.params.get("products", ""), evidence=evidence)
        if result.status == Status.FAIL and declared is not None and declared.status:
            return failed("declared_but_absent", product=declared.product or declared.details or "SIEM",
                          evidence=evidence)
        return Verdict(result.status, result.message, result.params, result.target, evidence, result.severity)


def _shipper_destinations(ctx: HostContext) -> list[str]:
    try:
        shippers = ctx.facts(LogShippers)
    except MissingFacts:
        return []
    return [f"{c.product}: {d.destination}" for c in shippers.configs for d in c.destinations][:20]
