"""Monitoring agents on a host: host intrusion detection / EDR (XI.3.4) and SIEM or log agents
(XI.3.6.1, XI.2.2), recognised from checks/data/products.yaml.

This module also holds the product table and the "installed / running" reading of it that the
malware and firewall checks share. The table a check sees is the data file's rows plus the rules
the inventory declares under `products:` (products whose names no public documentation gives),
each marked `declared_in_inventory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from checks.registry import HostContext, MissingFacts, Verdict, check, failed, passed, verdict
from checks.settings import Sourced, load_data
from scanner.facts.agents import AgentFiles, Process, Processes
from scanner.facts.logging import LogShippers
from scanner.facts.packages import Packages
from scanner.model import Frozen, Severity, Status

if TYPE_CHECKING:
    from scanner.inventory import Inventory

Role = Literal["antimalware", "edr", "hids", "ids", "ips", "siem", "log_shipper", "management"]


class ProductThresholds(Frozen):
    signature_max_age_days: Sourced
    disk_usage_max_percent: Sourced


class Product(Frozen):
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
    # Windows: service names (Win32_Service Name, case-insensitive, exact), DisplayName globs of the
    # Uninstall keys (case-insensitive), and the services meaning "protecting" (None: any listed)
    windows_services: list[str] = []
    windows_programs: list[str] = []
    windows_active: list[str] | None = None
    source: str
    note: str | None = None
    declared_in_inventory: bool = False  # a rule from the inventory's `products:`, not from the data file

    @property
    def detectable(self) -> bool:
        return bool(self.processes or self.exe_prefixes or self.packages or self.paths)

    @property
    def windows_only(self) -> bool:
        """A row of Windows columns alone: a Linux host is not looked at for it."""
        return not self.detectable and bool(self.windows_services or self.windows_programs)


class ServerSoftware(Frozen):
    id: str
    name: str
    kind: Literal["web", "db", "app"]
    packages: list[str] = []
    processes: list[str] = []
    windows_services: list[str] = []  # service names, case-insensitive
    windows_programs: list[str] = []  # Uninstall-key DisplayName globs, case-insensitive
    source: str


class ProductTable(Frozen):
    thresholds: ProductThresholds
    products: list[Product]
    server_software: list[ServerSoftware]

    def with_role(self, *roles: str) -> list[Product]:
        return [p for p in self.products if set(p.roles) & set(roles)]


def products_data() -> ProductTable:
    """The data file's table alone (checks/data/products.yaml)."""
    return load_data("products", ProductTable)


DECLARED_NOTE = ("declared in the inventory (products:): recognised only by its processes, exe_prefixes and "
                 "packages; its install paths and signature files are not read")


def declared_products(inventory: Inventory) -> list[Product]:
    """The inventory's `products:` rules as table rows."""
    return [Product(id=rule.id, name=rule.name, roles=list(rule.roles), processes=list(rule.processes),
                    exe_prefixes=list(rule.exe_prefixes), packages=list(rule.packages),
                    active=None if rule.active is None else list(rule.active), source=rule.source,
                    note=DECLARED_NOTE, declared_in_inventory=True)
            for rule in inventory.products]


def product_table(inventory: Inventory | None) -> ProductTable:
    """The table a host check sees: the data file's rows, then the inventory's rules (merged per
    call: the cached data file is never changed)."""
    table = products_data()
    declared = declared_products(inventory) if inventory is not None else []
    if not declared:
        return table
    return table.model_copy(update={"products": [*table.products, *declared]})


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
        out = {"product": self.product.name, "packages": self.packages, "paths": self.paths,
               "processes": [f"{p.name} (pid {p.pid})" for p in self.processes[:10]],
               "source": self.product.source}
        if self.product.declared_in_inventory:
            out["declared_in_inventory"] = True
            out["inventory_rule"] = f"products: {self.product.id}"
        return out


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
    for product in product_table(ctx.inventory).with_role(*roles):
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


def undetectable(roles: tuple[str, ...], ctx: HostContext | None = None) -> list[str]:
    table = product_table(ctx.inventory if ctx is not None else None)
    return [p.name for p in table.with_role(*roles) if not p.detectable and not p.windows_only]


def none_found_evidence(ctx: HostContext, roles: tuple[str, ...]) -> dict:
    """Evidence of a "none found": the products with one of `roles` looked for (the table's and the
    inventory's), those that cannot be recognised, and which came from the inventory."""
    candidates = product_table(ctx.inventory).with_role(*roles)
    out: dict = {"looked_for": [p.name for p in candidates if p.detectable], "not_detectable": undetectable(roles, ctx)}
    declared = [f"{p.name} (products: {p.id})" for p in candidates if p.declared_in_inventory]
    if declared:
        out["declared_in_inventory"] = declared
    return out


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
    return failed("none", evidence={**view, **none_found_evidence(ctx, roles)})


# What judge_agents reads: the processes always, packages and agent files when they were gathered.
AGENT_READS = (Processes,)
AGENT_MAY_READ = (Packages, AgentFiles)


@check("monitoring.hids_agent", items=["XI.3.4"], severity=Severity.MEDIUM, reads=AGENT_READS,
       may_read=AGENT_MAY_READ)
def hids_agent(ctx: HostContext) -> Verdict:
    return judge_agents(ctx, ("hids", "edr"))


@check("monitoring.siem_agent", items=["XI.3.6.1", "XI.2.2"], severity=Severity.MEDIUM, reads=AGENT_READS,
       may_read=(*AGENT_MAY_READ, LogShippers))
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
