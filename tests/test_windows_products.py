"""Windows product recognition (checks/windows_products.py) against the real product table
(checks/data/products.yaml) and win_services facts built here (CONSTRUCTED host states)."""

from __future__ import annotations

import pytest

from checks.monitoring import Product, products_data
from checks.windows_products import windows_product_states
from scanner.facts.windows_services import InstalledProgram, WindowsService, WindowsServices


def fact(services=(), programs=(), status="ok", programs_status="ok", **more) -> WindowsServices:
    return WindowsServices(status=status, programs_status=programs_status,
                           services=tuple(WindowsService(name=n, state=s, pid=p) for n, s, p in services),
                           programs=tuple(InstalledProgram(name=n, version=v) for n, v in programs), **more)


def by_id(states) -> dict:
    return {s.product.id: s for s in states}


def test_table_rows_with_windows_columns_name_a_source():
    rows = [p for p in products_data().products if p.windows_services or p.windows_programs]
    assert {"defender-windows", "mde-windows", "kaspersky-windows", "bkav-windows", "trend-apexone", "symantec-sep",
            "eset-windows", "sophos-windows", "crowdstrike", "wazuh-agent", "winlogbeat", "nxlog", "splunkforwarder",
            "elastic-agent", "sysmon"} <= {p.id for p in rows}
    for row in rows:
        assert row.source
        assert set(row.windows_active or []) <= set(row.windows_services), row.id
    bkav = next(p for p in rows if p.id == "bkav-windows")
    assert not bkav.windows_services and "program name" in bkav.note


def test_services_and_programs_of_a_host():
    host = fact(services=[("WinDefend", "running", 3140), ("Sense", "stopped", None), ("WazuhSvc", "running", 812),
                          ("Spooler", "running", 1900)],
                programs=[("CrowdStrike Sensor Platform", "7.10.1"), ("Kaspersky Endpoint Security 12.4 for Windows",
                                                                     "12.4.0.467")])
    states = by_id(windows_product_states(products_data().products, host))
    assert "clamav" not in states  # a row without Windows columns is not read
    assert states["defender-windows"].installed and states["defender-windows"].running
    assert states["mde-windows"].installed and not states["mde-windows"].running
    assert states["wazuh-agent"].running and [s.name for s in states["wazuh-agent"].services] == ["WazuhSvc"]
    assert states["crowdstrike"].installed and not states["crowdstrike"].running  # by program, no service seen
    assert [p.name for p in states["kaspersky-windows"].programs] == ["Kaspersky Endpoint Security 12.4 for Windows"]
    assert not states["symantec-sep"].installed and states["symantec-sep"].known
    evidence = states["defender-windows"].evidence()
    assert evidence["services"] == ["WinDefend (running, pid 3140)"] and evidence["source"]


def row(**columns) -> Product:
    return Product(id="p", name="P", roles=["antimalware"], source="test", **columns)


@pytest.mark.parametrize("service,matches", [("windefend", True), ("WINDEFEND", True), ("WinDefend2", False),
                                             ("Win Defend", False), ("", False)])
def test_service_names_are_exact_but_case_insensitive(service, matches):
    (state,) = windows_product_states([row(windows_services=["WinDefend"])],
                                      fact(services=[(service or "x", "running", 1)]))
    assert state.installed is matches and state.running is matches


@pytest.mark.parametrize("program,matches", [("ESET Server Security", True), ("eset server security 11.0", True),
                                             ("ESET Management Agent", False), ("My ESET Server Security", False),
                                             ("*", False), ("[ESET Server Security]", False)])
def test_program_globs_are_case_insensitive(program, matches):
    (state,) = windows_product_states([row(windows_programs=["ESET Server Security*"])],
                                      fact(programs=[(program, None)]))
    assert state.installed is matches and not state.running


def test_windows_active_limits_what_running_means():
    apex = next(p for p in products_data().products if p.id == "trend-apexone")
    (listener_only,) = windows_product_states([apex], fact(services=[("tmlisten", "running", 5), ("ntrtscan", "stopped",
                                                                                                     None)]))
    assert listener_only.installed and not listener_only.running
    (scanning,) = windows_product_states([apex], fact(services=[("NTRTSCAN", "running", 6)]))
    assert scanning.running and [s.name for s in scanning.active()] == ["NTRTSCAN"]
    (pending,) = windows_product_states([row(windows_services=["S"])], fact(services=[("S", "start_pending", 9)]))
    assert pending.installed and not pending.running  # only Running is running


@pytest.mark.parametrize("kwargs,services_known,programs_known", [
    ({}, True, True),
    ({"status": "error"}, False, True),
    ({"status": "empty"}, False, True),
    ({"programs_status": "truncated"}, True, False),
    ({"services_capped": True}, False, True),
    ({"programs_capped": True, "programs_status": "ok"}, True, False),
])
def test_known_says_whether_absence_is_evidence(kwargs, services_known, programs_known):
    (state,) = windows_product_states([row(windows_services=["S"])], fact(**kwargs))
    assert (state.services_known, state.programs_known, state.known) == (
        services_known, programs_known, services_known and programs_known)
    assert not state.installed


def test_kaspersky_windows_server_service_and_sysmon_sensor():
    host = fact(services=[("KAVFS", "running", 2200), ("Sysmon64", "running", 2500)],
                programs=[("Kaspersky Security 11 for Windows Server", "11.0.1.897")])
    states = by_id(windows_product_states(products_data().products, host))
    assert states["kaspersky-windows"].running and len(states["kaspersky-windows"].programs) == 1
    assert states["sysmon"].running and states["sysmon"].product.roles == ["hids"]
    assert not states["defender-windows"].installed  # Defender removed or not listed: not made up


@pytest.mark.parametrize("service,product", [("Elastic Agent", "elastic-agent"), ("elastic-agent", "elastic-agent"),
                                             ("splunkforwarder", "splunkforwarder"), ("CSFalconService", "crowdstrike"),
                                             ("winlogbeat", "winlogbeat"), ("OssecSvc", "wazuh-agent")])
def test_agent_service_names_of_the_table(service, product):
    """Names as the sources of the table give them (Get-Service fallback facts: no pid)."""
    host = fact(services=[(service, "running", None)], services_source="get_service")
    states = by_id(windows_product_states(products_data().products, host))
    assert states[product].running
    assert [s for s in states.values() if s.installed] == [states[product]]
