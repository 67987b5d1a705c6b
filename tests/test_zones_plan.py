"""Planning a scan from several zones (no broker: the plan is pure). A host is logged in to once,
from the zone that administers it, for the probes the selected checks read; the network
collectors run from every zone a scanner stands in."""

from __future__ import annotations

from collections import Counter

from checks import default_registry
from scanner.app.engine import Engine, resolve_addresses
from scanner.app.zones.plan import plan_zone_tasks
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.collectors.catalog import default_collectors
from scanner.hostprobes.catalog import default_probes
from scanner.inventory import parse_inventory
from scanner.thresholds import load_thresholds
from tests.test_inventory import ZONED

DIGEST = "0" * 64


class Loaded:
    """An inventory as load_inventory gives it, from text (no file needed)."""

    def __init__(self, text: str):
        self.inventory = parse_inventory(text, "zoned.yaml")
        self.digest = DIGEST


def plan_for(patterns: list[str] | None, text: str = ZONED):
    registry, collectors = default_registry(), default_collectors()
    checks = registry.select(patterns)
    loaded = Loaded(text)
    resolved, unresolved = resolve_addresses(loaded.inventory.hosts)  # IP addresses only: no lookup
    assert unresolved == {}
    ctx = ScanContext(loaded=loaded, options=ScanOptions(), addresses=resolved)  # type: ignore[arg-type]
    engine = Engine(registry, collectors, load_thresholds())
    return plan_zone_tasks(ctx, collectors, registry.collectors_for(checks), engine.gather_parts(checks), "s-1")


def test_each_host_is_logged_in_to_once_from_its_zone_and_probed_from_every_zone():
    plan = plan_for(None)
    assert set(plan) == {"mgmt", "dmz"}
    logins = {(t.host_name, t.vantage) for zone in plan.values() for t in zone if t.collector == "host"}
    # web-01 from its own zone (a scanner stands in the dmz), app-01 from mgmt as declared, and the
    # firewall (transport none) not at all.
    assert logins == {("web-01", "dmz"), ("app-01", "mgmt")}
    probes = {p.name for p in default_probes()}
    assert all(set(t.parts) == probes for zone in plan.values() for t in zone if t.collector == "host")
    # Every network collector from both zones, for every host (one without a declared TLS, HTTP or
    # SSH service gets an empty list there, so its checks say not_applicable, as in a one-zone scan).
    network = Counter((t.collector, t.host_name, t.vantage) for zone in plan.values() for t in zone
                      if t.collector != "host")
    assert network == Counter({(c, h, z): 1 for c in ("ports", "tls", "http", "sshserver")
                               for h in ("web-01", "app-01", "fw-mgmt") for z in ("mgmt", "dmz")})
    every = [t for zone, tasks in plan.items() for t in tasks]
    assert all(t.vantage == zone for zone, tasks in plan.items() for t in tasks)
    assert all(t.inventory_digest == DIGEST and t.scan_id == "s-1" for t in every)
    assert {t.address for t in every if t.host_name == "web-01"} == {"10.0.1.10"}


def test_a_check_selection_sends_only_the_probes_it_reads():
    plan = plan_for(["ssh.config.*"])
    tasks = [t for zone in plan.values() for t in zone]
    assert {(t.host_name, t.vantage, t.collector, t.parts) for t in tasks} == {
        ("web-01", "dmz", "host", ("sshd_config",)), ("app-01", "mgmt", "host", ("sshd_config",))}


def test_network_checks_log_in_only_for_the_web_server_configuration():
    """TLS and HTTP checks probe from every zone; the one login per host (from its own zone) reads
    the web servers' configuration alone (nginx and Apache), to name the block behind each finding."""
    plan = plan_for(["tls.*", "http.*"])
    tasks = [t for zone in plan.values() for t in zone]
    assert {(t.collector, t.host_name, t.vantage) for t in tasks if t.collector != "host"} == {
        (c, h, z) for c in ("tls", "http") for h in ("web-01", "app-01", "fw-mgmt") for z in ("mgmt", "dmz")}
    assert all(t.parts is None for t in tasks if t.collector != "host")
    assert {(t.host_name, t.vantage, t.parts) for t in tasks if t.collector == "host"} == {
        ("web-01", "dmz", ("apache", "nginx")), ("app-01", "mgmt", ("apache", "nginx"))}
