"""`readyscan fix-plan` on a big scan (issue 17): what building and writing the plan costs.

Grows the recorded lab scan (tests/fixtures/lab: real facts, results and raw evidence of 6 hosts)
to N hosts by copying its hosts under new names, then measures, 3 repetitions each, median
(min–max): build_plan, playbook_text and both together, with the Python heap peak of each
(tracemalloc). Offline, no network, nothing run on a host. Figures go to bench/results.md between
the bench-fixplan markers. Timings are measured here, never asserted in tests.

    .venv/bin/python bench/fixplan.py [--hosts 600] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.trend import measure, save_table  # noqa: E402
from reports.fixplan import build_plan, playbook_text  # noqa: E402
from scanner.scanfile import ScanFile  # noqa: E402
from tests.labscan import recorded_lab_scan  # noqa: E402

BEGIN, END = "<!-- bench-fixplan:begin -->", "<!-- bench-fixplan:end -->"


def grown(n: int) -> ScanFile:
    """The recorded lab scan with `n` hosts: copies of its six, renamed (legacy-01-0042 …)."""
    base = recorded_lab_scan()
    names = list(base.hosts)
    hosts = {}
    for i in range(n):
        name = names[i % len(names)]
        copy_name = f"{name}-{i // len(names):04d}"
        record = base.hosts[name]
        hosts[copy_name] = record.model_copy(update={"results": [r.model_copy(update={"host": copy_name})
                                                                  for r in record.results]})
    return base.model_copy(update={"hosts": hosts})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    scan = grown(args.hosts)
    plan = build_plan(scan, lang="vi")
    text = playbook_text(plan)
    rows = [
        ("build_plan", *measure(lambda: build_plan(scan, lang="vi"), args.repeat)),
        ("playbook_text", *measure(lambda: playbook_text(plan), args.repeat)),
        ("build_plan + playbook_text", *measure(lambda: playbook_text(build_plan(scan, lang="vi")), args.repeat)),
    ]
    fixes = sum(len(h.fixes) for h in plan.hosts)
    save_table(BEGIN, END, f"A fix plan for {args.hosts} hosts (`bench/fixplan.py`)",
               f"The recorded lab scan grown to {args.hosts} hosts (copies of its six): {fixes} automatic fixes on "
               f"{len(plan.hosts)} hosts, {len(plan.manual)} results by hand, {len(plan.covered)} covered; the playbook "
               f"is {len(text) / 2 ** 20:.1f} MiB, {text.count(chr(10))} lines", args.repeat, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
