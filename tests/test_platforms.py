"""Checks on several platforms: one id, its Linux and Windows ways of judging (checks/registry.py)."""

from __future__ import annotations

import pytest

from checks import default_registry
from checks.registry import check, on_platform, passed
from scanner.facts.ports import HostPortScan
from scanner.facts.system import OsRelease
from scanner.facts.windows_system import WindowsOs
from scanner.model import Severity


def test_a_variant_keeps_the_id_items_and_severity_and_judges_by_its_own_facts():
    @check("demo.platforms", items=["XI.2.1.2"], severity=Severity.HIGH, reads=(OsRelease,))
    def linux(ctx):
        return passed("linux")

    @on_platform(linux, reads=(WindowsOs,))
    def windows(ctx):
        return passed("windows")

    found = linux.__check__
    assert found.platforms == ("linux", "windows")
    win = found.for_platform("windows")
    assert (win.id, win.survey_items, win.severity, win.reads, win.fn) == (
        "demo.platforms", ("XI.2.1.2",), Severity.HIGH, (WindowsOs,), windows)
    assert found.for_platform("linux").reads == (OsRelease,) and found.for_platform("linux").variants == ()
    assert found.for_platform("bsd") is None
    # planning gathers what either platform reads; each host's collector runs its own probes
    assert found.parts("host") == {"os_release", "win_os"}
    with pytest.raises(ValueError):
        on_platform(linux, reads=(WindowsOs,))(lambda ctx: None)  # windows twice
    with pytest.raises(ValueError):
        on_platform(linux, reads=(HostPortScan,))(lambda ctx: None)  # no platform's facts


def test_facts_of_two_platforms_in_one_check_are_refused():
    with pytest.raises(ValueError):
        check("demo.mixed", items=["XI.2.1.2"], severity="low", reads=(OsRelease, WindowsOs))(lambda ctx: None)


def test_network_checks_judge_every_platform_and_host_checks_only_their_own():
    registry = default_registry()
    for c in registry:
        if c.scope != "host":
            continue
        reads_host = any(getattr(m, "COLLECTOR", None) == "host" for m in (*c.reads, *c.may_read))
        assert (c.platform is not None) == reads_host, c.id
        if c.id.startswith("windows."):
            assert c.platforms == ("windows",), c.id
    # the shared ids the issue names judge Windows hosts too
    for check_id in ("patch.os_eol", "logging.retention", "accounts.password_ageing", "firewall.default_deny",
                     "malware.installed", "malware.running", "malware.signatures_fresh"):
        assert "windows" in registry.get(check_id).platforms, check_id


def test_server_software_on_windows_is_named_by_its_service_and_program():
    """Constructed facts (not a recording): a SQL Server default instance and IIS, one stopped."""
    from datetime import UTC, datetime

    from checks.registry import HostContext
    from scanner.facts.host import HostObservation
    from scanner.facts.windows_services import InstalledProgram, WindowsService, WindowsServices
    from scanner.inventory import load_inventory
    from scanner.model import Observation, Outcome
    from scanner.thresholds import load_thresholds
    from tests.paths import ROOT

    services = WindowsServices(
        status="ok", programs_status="ok",
        services=(WindowsService(name="MSSQLSERVER", state="running"), WindowsService(name="W3SVC", state="stopped")),
        programs=(InstalledProgram(name="Microsoft SQL Server 2019 (64-bit)", version="15.0.2000.5"),))
    now = datetime(2026, 12, 5, tzinfo=UTC)
    seen = HostObservation(transport="winrm", parsed={"win_services": services.model_dump(mode="json")})
    inv = load_inventory(ROOT / "inventories" / "example.yaml").inventory
    ctx = HostContext(host=inv.host("vbdh-sql-01"), inventory=inv, settings=load_thresholds(), now=now,
                      observations={"host": Observation(collector="host", outcome=Outcome.OK, started=now, ended=now,
                                                        data=seen.model_dump(mode="json"))})
    registry = default_registry()
    [result] = registry.run_host_check(registry.get("capacity.software"), ctx)
    found = {s["name"]: s for s in result.evidence["software"]}
    assert found["Microsoft SQL Server"]["running"] and found["Microsoft SQL Server"]["packages"] == {
        "Microsoft SQL Server 2019 (64-bit)": "15.0.2000.5"}
    assert found["Microsoft IIS"]["running"] is False
