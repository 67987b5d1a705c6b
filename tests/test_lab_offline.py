"""Every check over facts recorded from the real lab (tests/fixtures/lab/facts.json), judged
offline: the seeded gaps fail and the fixes pass without bringing the lab up, so the checks stay
fast unit tests too. Re-record with READYSCAN_RECORD_FIXTURES=1 pytest tests/test_lab_scan.py."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import yaml

from scanner.app.engine import judge
from scanner.inventory import load_inventory
from scanner.model import Observation
from scanner.thresholds import load_thresholds
from scanner.waivers import apply_waivers, load_waivers
from tests.labexpect import expectation_problems, hardened_problems
from tests.paths import ROOT

RECORDED = ROOT / "tests" / "fixtures" / "lab" / "facts.json"


@pytest.fixture(scope="module")
def judged(registry):
    if not RECORDED.exists():
        pytest.skip("no recorded lab facts yet")
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    loaded = load_inventory(ROOT / "lab" / "inventory.yaml")
    observations = {host: {c: Observation.model_validate(o) for c, o in obs.items()}
                    for host, obs in recorded["observations"].items()}
    started = datetime.fromisoformat(recorded["scan_started"])
    per_host, _ = judge(registry, list(registry), loaded.inventory, observations, load_thresholds(), started)
    waivers = load_waivers(ROOT / "lab" / "inventory.waivers.yaml", {c.id for c in registry},
                           {h.name for h in loaded.inventory.hosts})
    return {host: apply_waivers(results, waivers, started.date())[0] for host, results in per_host.items()}


@pytest.fixture(scope="module")
def expected():
    return yaml.safe_load((ROOT / "lab" / "expected.yaml").read_text(encoding="utf-8"))


def test_recorded_lab_facts_reproduce_every_seeded_gap(judged, expected, registry):
    problems, missing = expectation_problems(judged, expected, registry)
    assert not problems, "\n".join(problems)
    assert not missing, f"expected.yaml names checks that do not exist: {sorted(missing)}"


def test_recorded_hardened_host_is_clean(judged, expected):
    assert not hardened_problems(judged, expected)


def test_recording_observed_every_collector_on_every_host(registry):
    recorded = json.loads(RECORDED.read_text(encoding="utf-8")) if RECORDED.exists() else pytest.skip("none")
    needed = registry.collectors_for(registry)
    for host, observations in recorded["observations"].items():
        assert needed <= set(observations), (host, needed - set(observations))
        assert all(o["outcome"] == "ok" for o in observations.values()), host


def test_judging_as_facts_arrive_reaches_the_same_verdicts_as_judging_once(registry):
    """The engine's checkpoints judge with a memo, one collector's facts at a time; the verdicts
    must be those of one judgement over everything, and an unchanged host is not judged again."""
    recorded = json.loads(RECORDED.read_text(encoding="utf-8")) if RECORDED.exists() else pytest.skip("none")
    inventory = load_inventory(ROOT / "lab" / "inventory.yaml").inventory
    observations = {host: {c: Observation.model_validate(o) for c, o in obs.items()}
                    for host, obs in recorded["observations"].items()}
    started = datetime.fromisoformat(recorded["scan_started"])
    checks = list(registry)
    once, org_once = judge(registry, checks, inventory, observations, load_thresholds(), started)

    memo: dict = {}
    arrived: dict[str, dict[str, Observation]] = {host: {} for host in observations}
    for collector in sorted({c for obs in observations.values() for c in obs}):
        for host, obs in observations.items():
            arrived[host][collector] = obs[collector]
        judge(registry, checks, inventory, arrived, load_thresholds(), started, memo)
    judged = {host: memo[host].results for host in memo}
    per_host, org = judge(registry, checks, inventory, arrived, load_thresholds(), started, memo)
    assert all(memo[host].results is judged[host] for host in memo)  # nothing changed: nothing re-judged
    dump = lambda rs: [r.model_dump(mode="json") for r in rs]  # noqa: E731
    assert {h: dump(rs) for h, rs in per_host.items()} == {h: dump(rs) for h, rs in once.items()}
    assert dump(org) == dump(org_once)
