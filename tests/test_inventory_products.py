"""Security products declared in the inventory (`products:`): validation with file:line:field, and
the malware.* / monitoring.* checks seeing a declared rule like a row of checks/data/products.yaml,
judged from the recorded process lists of tests/fixtures/hostprobes/processes/."""

from __future__ import annotations

import typing

import pytest

from checks.monitoring import Role, product_table, products_data
from scanner.facts.agents import AgentFiles, Process
from scanner.facts.packages import Packages
from scanner.hostprobes.agents import parse_processes
from scanner.inventory import Inventory, InventoryError, ProductRole, parse_inventory, table_product_ids
from scanner.model import Status
from tests.fixtures.hostprobes import NOW, assert_rendered, load, one
from tests.test_hostprobes_logging import judge_facts

HEAD = """\
organization: {name: Sở Thử nghiệm}
defaults: {transport: none}
hosts:
  - {name: h1, address: 127.0.0.1, zone: dmz}
products:
"""
# Made-up names (no public documentation gives the real ones): a labelled example, as in docs/inventory.md.
BKAV = """\
  - id: bkav-agent
    name: Bkav Endpoint (example)
    roles: [antimalware, edr]
    processes: [bkav-example]
    packages: [bkav-example-agent]
    source: "example rule, checked by hand on h1 2026-11-20"
"""


def issues_of(text: str) -> list[str]:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "inv.yaml")
    return [str(i) for i in info.value.issues]


# -- validation ----------------------------------------------------------------------------------------------------

def test_a_valid_rule_loads_and_survives_the_scan_file_round_trip():
    inv = parse_inventory(HEAD + BKAV, "inv.yaml")
    rule = inv.products[0]
    assert (rule.id, rule.roles, rule.processes, rule.active) == ("bkav-agent", ["antimalware", "edr"],
                                                                   ["bkav-example"], None)
    # The scan file keeps the inventory as JSON and reports read it back.
    assert Inventory.model_validate(inv.model_dump(mode="json", by_alias=True)) == inv
    assert parse_inventory(HEAD.replace("products:\n", ""), "inv.yaml").products == []


def test_roles_are_the_product_tables_roles():
    assert set(typing.get_args(ProductRole)) == set(typing.get_args(Role))
    assert table_product_ids() == {p.id for p in products_data().products}


BROKEN = [
    ("unknown role", BKAV.replace("[antimalware, edr]", "[antimalware, antivirus]"),
     "inv.yaml:8: products[0].roles[1]: Input should be 'antimalware', 'edr', 'hids', 'ids', 'ips', 'siem', "
     "'log_shipper' or 'management'"),
    ("missing source", BKAV.replace('    source: "example rule, checked by hand on h1 2026-11-20"\n', ""),
     "inv.yaml:6: products[0].source: required field is missing"),
    ("empty source", BKAV.replace('"example rule, checked by hand on h1 2026-11-20"', '""'),
     "inv.yaml:11: products[0].source: String should have at least 1 character"),
    ("no detection field", BKAV.replace("    processes: [bkav-example]\n    packages: [bkav-example-agent]\n", ""),
     "inv.yaml:6: products[0]: give at least one of processes, exe_prefixes, packages"),
    ("id of a table row", BKAV.replace("id: bkav-agent", "id: bkav"),
     "inv.yaml:6: products[0].id: 'bkav' is a row of the product table (checks/data/products.yaml): choose another id"),
    ("duplicate id", BKAV + BKAV.replace("name: Bkav Endpoint (example)", "name: Another"),
     "inv.yaml:12: products[1].id: product id 'bkav-agent' already used by products[0]"),
    ("id not a slug", BKAV.replace("id: bkav-agent", "id: Bkav Agent"),
     "inv.yaml:6: products[0].id: String should match pattern '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'"),
    ("glob process", BKAV.replace("[bkav-example]", "['bkav*']"),
     "inv.yaml:9: products[0].processes: 'bkav*' is not a process name (no spaces, '/' or wildcards)"),
    ("relative exe prefix", BKAV.replace("    packages:", "    exe_prefixes: [opt/bkav/]\n    packages:"),
     "inv.yaml:10: products[0].exe_prefixes: 'opt/bkav/' must be an absolute path ending in /"),
    ("shared exe prefix", BKAV.replace("    packages:", "    exe_prefixes: [/usr/bin/]\n    packages:"),
     "inv.yaml:10: products[0].exe_prefixes: '/usr/bin/' is shared by other programs: name the product's own directory"),
    ("too broad exe prefix", BKAV.replace("    packages:", "    exe_prefixes: [/opt/]\n    packages:"),
     "inv.yaml:10: products[0].exe_prefixes: '/opt/' is shared by other programs: name the product's own directory"),
    ("active not a process", BKAV.replace("    packages:", "    active: [bkav-example, bkavd]\n    packages:"),
     "inv.yaml:10: products[0].active[1]: 'bkavd' is not listed under processes"),
    ("paths not supported", BKAV.replace("    packages:", "    paths: [/opt/bkav]\n    packages:"),
     "inv.yaml:10: products[0].paths: unknown key (not in the inventory format; see docs/inventory.md)"),
    ("signatures not supported", BKAV + "    signatures: [/var/lib/bkav/*.db]\n",
     "inv.yaml:12: products[0].signatures: unknown key (not in the inventory format; see docs/inventory.md)"),
]


@pytest.mark.parametrize("name,rules,expected", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_rule_names_file_line_and_field(name, rules, expected):
    assert expected in issues_of(HEAD + rules)


def test_structural_errors_of_several_rules_come_at_once():
    text = HEAD + BKAV.replace("[antimalware, edr]", "[av]") + BKAV.replace("id: bkav-agent", "id: fpt-agent").replace(
        '    source: "example rule, checked by hand on h1 2026-11-20"\n', "")
    found = issues_of(text)
    assert any(f.startswith("inv.yaml:8: products[0].roles[0]:") for f in found), found
    assert "inv.yaml:12: products[1].source: required field is missing" in found


# -- checks --------------------------------------------------------------------------------------------------------

def declared(rules: str = BKAV):
    return parse_inventory(HEAD + rules, "test.yaml")


def without_rules():
    return parse_inventory(HEAD.replace("products:\n", ""), "test.yaml")


def recorded_with(*extra: Process):
    """The process list recorded as root on Debian 12 (no security agent in it), plus `extra`."""
    facts = parse_processes(load("processes", "debian12_root"))
    return facts.model_copy(update={"items": (*facts.items, *extra)})


HOST_CLOCK = int(NOW.timestamp())
BKAV_PROC = Process(pid=4242, uid=0, name="bkav-example", exe="/opt/bkav-example/bin/bkav-example")


def test_declared_process_on_a_recorded_host_passes_with_the_rule_in_the_evidence(catalog):
    host = recorded_with(BKAV_PROC)
    results = {r.check_id: r for r in judge_facts("malware.*", host, AgentFiles(as_root=True, now=HOST_CLOCK), inv=declared())}
    installed = results["malware.installed"]
    assert installed.status == Status.PASS and installed.message.params["products"] == "Bkav Endpoint (example)"
    [found] = installed.evidence["installed"]
    assert found["declared_in_inventory"] is True and found["inventory_rule"] == "products: bkav-agent"
    assert found["source"] == "example rule, checked by hand on h1 2026-11-20"
    assert found["processes"] == ["bkav-example (pid 4242)"]
    assert results["malware.running"].status == Status.PASS
    assert results["malware.running"].evidence["running"][0]["declared_in_inventory"] is True
    sigs = results["malware.signatures_fresh"]  # the inventory cannot name signature files
    assert sigs.status == Status.UNKNOWN and sigs.message.key == "not_readable" and "inventory" in sigs.evidence["note"]
    hids = one(judge_facts("monitoring.hids_agent", host, inv=declared()), "monitoring.hids_agent")
    assert hids.status == Status.PASS and hids.evidence["running"][0]["inventory_rule"] == "products: bkav-agent"
    assert_rendered(catalog, [*results.values(), hids])


def test_same_host_without_the_declaration_fails():
    host = recorded_with(BKAV_PROC)
    for inv in (without_rules(), None):  # None: the shared test inventory, no products either
        result = one(judge_facts("malware.installed", host, inv=inv), "malware.installed")
        assert result.status == Status.FAIL and result.message.key == "none"
        assert "declared_in_inventory" not in result.evidence
        assert "Bkav (Linux agent)" in result.evidence["not_detectable"]


def test_recorded_host_without_the_declared_process_fails_and_names_the_rule_looked_for():
    plain = parse_processes(load("processes", "debian12_root"))
    result = one(judge_facts("malware.installed", plain, inv=declared()), "malware.installed")
    assert result.status == Status.FAIL and result.message.key == "none"
    assert "Bkav Endpoint (example)" in result.evidence["looked_for"]
    assert result.evidence["declared_in_inventory"] == ["Bkav Endpoint (example) (products: bkav-agent)"]
    hids = one(judge_facts("monitoring.hids_agent", plain, inv=declared()), "monitoring.hids_agent")
    assert hids.status == Status.FAIL and hids.evidence["declared_in_inventory"] == result.evidence["declared_in_inventory"]


def test_installed_by_package_but_not_running(catalog):
    host = recorded_with()
    pkgs = Packages(manager="dpkg", installed={"bkav-example-agent": "3.1.0", "openssh-server": "1:9.2p1-2"})
    results = {r.check_id: r for r in judge_facts("malware.*", host, pkgs, AgentFiles(as_root=True, now=HOST_CLOCK),
                                                  inv=declared())}
    assert results["malware.installed"].status == Status.PASS
    assert results["malware.installed"].evidence["installed"][0]["packages"] == {"bkav-example-agent": "3.1.0"}
    stopped = results["malware.running"]
    assert stopped.status == Status.FAIL and stopped.message.key == "not_running"
    assert stopped.evidence["installed"][0]["inventory_rule"] == "products: bkav-agent"
    edr = one(judge_facts("monitoring.hids_agent", host, pkgs, inv=declared()), "monitoring.hids_agent")
    assert edr.status == Status.FAIL and edr.message.key == "installed_not_running"
    assert edr.evidence["installed"][0]["declared_in_inventory"] is True
    assert_rendered(catalog, [*results.values(), edr])


def test_exe_prefix_and_active_processes():
    rules = BKAV.replace("    packages:", "    exe_prefixes: [/opt/bkav-example/]\n    active: [bkav-example]\n"
                         "    packages:").replace("processes: [bkav-example]", "processes: [bkav-example, bkav-update]")
    updater_only = recorded_with(Process(pid=77, uid=0, name="bkav-update", exe="bkav-update"))
    result = one(judge_facts("malware.running", updater_only, inv=declared(rules)), "malware.running")
    assert result.status == Status.FAIL and result.message.key == "not_running"  # the updater does not protect
    by_path = recorded_with(Process(pid=78, uid=0, name="scanner-core", exe="/opt/bkav-example/lib/scanner-core"))
    result = one(judge_facts("malware.running", by_path, inv=declared(rules)), "malware.running")
    assert result.status == Status.PASS and result.evidence["running"][0]["processes"] == ["scanner-core (pid 78)"]


def test_declared_siem_agent_and_the_table_left_unchanged():
    siem = """\
  - id: vcs-siem-agent
    name: Viettel SIEM agent (example)
    roles: [siem, log_shipper]
    processes: [vcs-siem-example]
    source: "example rule"
"""
    host = recorded_with(Process(pid=90, uid=0, name="vcs-siem-exampl"))
    result = one(judge_facts("monitoring.siem_agent", host, inv=declared(siem)), "monitoring.siem_agent")
    assert result.status == Status.PASS and result.message.params["products"] == "Viettel SIEM agent (example)"
    assert result.evidence["running"][0]["declared_in_inventory"] is True
    # The cached data-file table is never changed by a merge; the merged one ends with the rule.
    before = [p.id for p in products_data().products]
    merged = product_table(declared(siem))
    assert [p.id for p in merged.products] == [*before, "vcs-siem-agent"]
    assert [p.id for p in products_data().products] == before
    assert not any(p.declared_in_inventory for p in products_data().products)
    assert product_table(without_rules()) is products_data()
