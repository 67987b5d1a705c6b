"""The lab's scan file rebuilt offline: the facts recorded from the real 6-host lab
(tests/fixtures/lab/facts.json, see its `source`) judged by today's checks and waivers, as
`readyscan scan lab/inventory.yaml` would write it. Report tests read it so that every message,
evidence sentence and fix is the current one, never a stale hand-written copy."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache

from checks import default_registry
from scanner.app.engine import judge
from scanner.inventory import load_inventory
from scanner.model import Observation
from scanner.scanfile import HostRecord, InventoryRecord, ScanFile
from scanner.thresholds import load_thresholds
from scanner.waivers import apply_waivers, load_waivers
from tests.paths import ROOT

RECORDED = ROOT / "tests" / "fixtures" / "lab" / "facts.json"
INVENTORY = ROOT / "lab" / "inventory.yaml"
WAIVERS = ROOT / "lab" / "inventory.waivers.yaml"


@lru_cache(maxsize=1)
def recorded_lab_scan() -> ScanFile:
    registry = default_registry()
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    loaded = load_inventory(INVENTORY)
    inv = loaded.inventory
    observations = {host: {c: Observation.model_validate(o) for c, o in obs.items()}
                    for host, obs in recorded["observations"].items()}
    started = datetime.fromisoformat(recorded["scan_started"])
    checks = list(registry)
    per_host, org = judge(registry, checks, inv, observations, load_thresholds(), started)
    waivers = load_waivers(WAIVERS, {c.id for c in registry}, {h.name for h in inv.hosts})
    everything, states = apply_waivers(org + [r for rs in per_host.values() for r in rs], waivers, started.date())
    scan = ScanFile(
        started=started, ended=started + timedelta(seconds=20), complete=True, incomplete_reason=None,
        checks_selected=[c.id for c in checks], rescan_of=None,
        inventory=InventoryRecord(path="lab/inventory.yaml", digest=loaded.digest,
                                  data=inv.model_dump(mode="json", by_alias=True)),
        hosts={h.name: HostRecord(address=h.address or "", zone=h.zone, observations=observations.get(h.name, {}),
                                  results=[r for r in everything if r.host == h.name]) for h in inv.hosts},
        org_results=[r for r in everything if not r.host], waivers=states)
    return scan.with_summary(load_thresholds())
