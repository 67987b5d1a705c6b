"""Checks declare the typed facts they read, and the engine plans from those declarations alone:
which collectors run, which host probes run (`--checks`), and what `--rescan-failed` gathers
again. A check that reads a fact it did not declare is a bug the registry reports."""

from __future__ import annotations

import json

import pytest

import checks.ssh_config
import checks.tls
from checks import default_registry
from checks.registry import Check, HostContext, Registry, Verdict, check, passed
from scanner.app.engine import Engine
from scanner.collectors.catalog import default_collectors
from scanner.facts.sshd_config import SshdConfig
from scanner.facts.system import Kernel, OsRelease
from scanner.facts.tls import TlsFacts
from scanner.hostprobes.catalog import default_probes
from scanner.inventory import load_inventory
from scanner.model import Severity, Status
from scanner.thresholds import load_thresholds
from scanner.winprobes.catalog import default_windows_probes
from tests.labscan import INVENTORY, recorded_lab_scan
from tests.paths import ROOT


@pytest.fixture(scope="module")
def registry() -> Registry:
    return default_registry()


def test_declared_facts_name_real_collectors_and_probes(registry):
    probes = {p.name for p in default_probes()} | default_windows_probes().names()
    collectors = default_collectors()
    for c in registry:
        assert set(c.collectors) <= set(collectors), c.id
        assert c.parts("host") <= probes, c.id
        if c.scope == "host":
            assert c.reads, f"{c.id} declares no fact it needs"
    # every probe is read by some check: none runs for nothing
    assert registry.parts_for(registry, "host") == probes


def test_every_check_reads_only_what_it_declared_on_the_recorded_lab(registry):
    """The recorded lab facts (6 hosts) take the checks down most of their paths; an undeclared
    read would be a `_check_crashed` error there."""
    scan = recorded_lab_scan()
    crashed = [(r.host, r.check_id, r.message.params) for h in scan.hosts.values() for r in h.results
               if r.message and r.message.key == "_check_crashed"]
    assert crashed == []


def test_an_undeclared_read_is_an_error_not_a_verdict():
    @check("test.undeclared", items=["I"], severity=Severity.INFO, reads=(OsRelease,))
    def sneaky(ctx: HostContext) -> Verdict:
        ctx.facts(Kernel)
        return passed()

    registry = Registry()
    registry.add(sneaky.__check__)
    scan = recorded_lab_scan()
    loaded = load_inventory(INVENTORY)
    host = loaded.inventory.host("hard-01")
    ctx = HostContext(host=host, inventory=loaded.inventory, observations=scan.hosts["hard-01"].observations,
                      settings=load_thresholds(), now=scan.started)
    [result] = registry.run_host_check(registry.get("test.undeclared"), ctx)
    assert result.status == Status.ERROR and result.message.key == "_check_crashed"
    assert "Kernel" in result.message.params["error"]


def test_checks_are_module_level_functions_importable_by_name(registry):
    # An endpoint check stays the judge of one endpoint; the registry holds what runs per host.
    assert checks.tls.legacy.__check__ is registry.get("tls.protocol.legacy")
    assert registry.get("tls.protocol.legacy").reads == (TlsFacts,)
    assert checks.ssh_config.root_login.__check__.reads == (SshdConfig,)
    assert isinstance(registry.get("system.identity"), Check)


def test_a_check_selection_plans_only_its_collectors_and_probes(registry):
    engine = Engine(registry, default_collectors(), load_thresholds())
    ssh_config = registry.select(["ssh.config.*"])
    assert [c.name for c in engine.plan(ssh_config)] == ["host"]
    assert engine.gather_parts(ssh_config) == {"host": frozenset({"sshd_config"})}
    sshd = registry.select(["sshd.*"])
    # sshd.version.outdated reads the host's packages when they were gathered
    assert [c.name for c in engine.plan(sshd)] == ["host", "sshserver"]
    assert engine.gather_parts(sshd) == {"host": frozenset({"packages", "patching", "os_release"})}
    # the TLS and HTTP checks name the nginx server blocks or Apache virtual hosts behind a port when they can log in
    tls = registry.select(["tls.*"])
    assert [c.name for c in engine.plan(tls)] == ["host", "tls"]
    assert engine.gather_parts(tls) == {"host": frozenset({"nginx", "apache"})}


def test_scan_with_checks_runs_only_the_sshd_config_probe(tmp_path):
    """`readyscan scan INVENTORY --checks 'ssh.config.*'`: the scan file's per-probe records hold
    the sshd configuration probe alone, and no other collector ran."""
    from scanner.app.cli import main

    out = tmp_path / "scan.json"
    main(["scan", str(ROOT / "inventories" / "localhost.yaml"), "--checks", "ssh.config.*", "-o", str(out),
          "--quiet", "--no-report"])
    data = json.loads(out.read_text(encoding="utf-8"))
    record = data["hosts"]["localhost"]
    assert set(record["observations"]) == {"host"}
    host = record["observations"]["host"]["data"]
    assert [c["name"] for c in host["commands"]] == ["sshd_config"]
    assert set(host["parsed"]) | set(host["parse_errors"]) == {"sshd_config"}
    assert {r["check_id"] for r in record["results"]} == {c.id for c in default_registry().select(["ssh.config.*"])}


def test_rescan_gathers_the_probes_the_unsettled_checks_declare(registry):
    """On the recorded lab scan: exposed-01 fails only its firewall, listener and port checks, so a
    rescan asks that host for the firewall and listener probes alone (the port scan again too);
    hard-01, whose every result passed or is an accepted risk, is not contacted."""
    previous = recorded_lab_scan()
    inv = load_inventory(INVENTORY).inventory
    engine = Engine(registry, default_collectors(), load_thresholds())
    checks_ = list(registry)
    unsettled = {r.check_id for r in previous.hosts["exposed-01"].results
                 if r.status not in (Status.PASS, Status.NOT_APPLICABLE, Status.INFO) and r.waiver is None}
    assert unsettled == {"exposure.listener_all_interfaces", "firewall.default_deny", "ports.risky_exposed",
                         "ports.undeclared_open", "ports.zone_violation.database"}, "the recording changed"
    plan = engine.rescan_plan(checks_, inv, previous)
    assert "exposed-01" in plan["host"] and "exposed-01" in plan["ports"]
    assert "exposed-01" not in plan.get("tls", []) and "hard-01" not in plan["host"]
    parts = engine.rescan_parts(checks_, inv, previous, plan)
    assert parts[("host", "exposed-01")].parts == frozenset({"firewall", "listeners"})
    assert ("host", "hard-01") not in parts
