"""The 3-zone benchmark's own pieces (bench/zones.py): the inventories it writes are ones readyscan
accepts and plan as intended, the results block survives `make bench`, and the process watch sees
real processes. Run: .venv/bin/pytest bench/test_zones.py -q (not under tests/: setup.cfg's
testpaths does not reach bench/)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))  # bench/ holds scripts, not a package

import zones  # noqa: E402

from scanner.inventory import parse_inventory  # noqa: E402
from scanner.model import Outcome  # noqa: E402

LAB = Path(__file__).resolve().parent.parent / "lab" / "inventory.yaml"  # 6 hosts in dmz, app, db


def lab() -> dict:
    return yaml.safe_load(LAB.read_text(encoding="utf-8"))


def parsed(data: dict):
    return parse_inventory(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "bench.yaml")


def test_the_zones_are_the_vantage_then_the_busiest_then_internet():
    assert zones.pick_zones(lab()) == ["dmz", "app", "db"]  # from_zone dmz (4 hosts), app and db 1 each
    one_zone = {"hosts": [{"zone": "dmz"}, {"zone": "dmz"}], "scan": {"from_zone": "dmz"}}
    assert zones.pick_zones(one_zone | {"zones": {"dmz": "", "mgmt": ""}}) == ["dmz", "mgmt", "internet"]
    with pytest.raises(ValueError, match="2 zones"):
        zones.pick_zones(one_zone)


def test_the_three_zone_inventory_is_valid_and_logs_in_to_every_host_once():
    data = lab()
    data["hosts"][0]["zone"] = "mgmt"  # a host in a zone with no scanner: logged in to from the vantage
    picked = zones.pick_zones(data)
    inv = parsed(zones.zoned(zones.absolute_paths(data, LAB.parent), picked))
    assert inv.scanner_zones == picked and inv.distributed and inv.scan.from_zone is None
    assert {h.name: inv.managing_zone(h) for h in inv.hosts} == {
        h["name"]: h["zone"] if h["zone"] in picked else picked[0] for h in data["hosts"]}


def test_the_network_only_inventory_logs_in_nowhere_and_looks_from_its_zone():
    data = lab()
    data["hosts"][1]["transport"] = "local"
    inv = parsed(zones.network_only(data, "app"))
    assert {inv.transport_of(h) for h in inv.hosts} == {"none"}
    assert inv.vantage_zone == "app" and not inv.scanners
    assert [h.address for h in inv.hosts] == [h["address"] for h in data["hosts"]]  # the same hosts


def test_relative_paths_point_where_they_did(tmp_path):
    data = lab()
    data["hosts"][0]["ssh"] = {"key": "/etc/abs_key", "known_hosts": "~/kh"}
    fixed = zones.absolute_paths(data, tmp_path)
    assert fixed["defaults"]["ssh"]["key"] == str(tmp_path / ".state" / "id_ed25519")
    assert fixed["scan"]["ca_bundle"] == str(tmp_path / ".state" / "ca.pem")
    assert fixed["hosts"][0]["ssh"] == {"key": "/etc/abs_key", "known_hosts": "~/kh"}
    assert data["defaults"]["ssh"]["key"] == ".state/id_ed25519"  # the source is left alone


def test_the_loopback_inventory_stays_on_loopback_and_is_valid():
    inv = parsed(zones.zoned(zones.loopback_inventory(5), ["dmz", "app", "db"]))
    assert all(h.address.startswith("127.") for h in inv.hosts)
    assert [h.name for h in inv.hosts if inv.transport_of(h) != "none"] == ["localhost"]


def test_worker_concurrency_shares_the_scans_among_the_zones():
    assert zones.worker_concurrency(lab()) == 6  # 16 hosts at once / 3 zones, rounded up
    assert zones.worker_concurrency({"scan": {"concurrency": 3}}) == 1
    assert zones.worker_concurrency({}) == 6  # the inventory's default, 16


def test_the_zones_block_is_replaced_in_place_and_kept(tmp_path):
    text = "# Benchmarks\n\n| table |\n\n## Reading the figures\n\nnotes\n"
    first = zones.splice(text, f"{zones.BEGIN}\nold\n{zones.END}")
    assert first.index("old") < first.index("## Reading the figures") and first.startswith("# Benchmarks")
    second = zones.splice(first, f"{zones.BEGIN}\nnew\n{zones.END}")
    assert "old" not in second and second.count(zones.BEGIN) == 1 and second.endswith("notes\n")
    path = tmp_path / "results.md"
    path.write_text(second)
    assert zones.kept_block(path) == f"{zones.BEGIN}\nnew\n{zones.END}"
    assert zones.kept_block(tmp_path / "none.md") is None


def test_task_times_per_zone():
    t0 = datetime(2026, 12, 5, tzinfo=UTC)

    def obs(start: float, end: float, outcome: Outcome = Outcome.OK):
        return SimpleNamespace(started=t0 + timedelta(seconds=start), ended=t0 + timedelta(seconds=end),
                               outcome=outcome)

    scan = SimpleNamespace(started=t0, hosts={
        "a": SimpleNamespace(seen_from={"dmz": {"ports": obs(1, 3), "host": obs(1, 9, Outcome.TIMEOUT)},
                                        "app": {"ports": obs(2, 3, Outcome.NOT_COLLECTED)}}),
        "b": SimpleNamespace(seen_from={"dmz": {"ports": obs(2, 6, Outcome.UNREACHABLE)}})})
    got = zones.task_times(scan)
    assert got["dmz"] == {"tasks": 3, "busy_s": 14.0, "median_s": 4.0, "last_s": 9.0, "not_ok": 2}
    assert got["app"] == {"tasks": 1, "busy_s": 1.0, "median_s": 1.0, "last_s": 3.0, "not_ok": 0}


def test_the_watch_sees_a_workers_processes_their_peaks_and_their_tools_cpu():
    """A real 'worker' (a Python process) whose child holds 60 MB and runs two programs: one that
    burns CPU, then one that sleeps."""
    burn = "sum(range(3 * 10**7))"
    code = ("import subprocess, sys\n"
            "child = subprocess.Popen([sys.executable, '-c', 'b = bytearray(60 * 2**20); import subprocess, sys; "
            f"subprocess.run([sys.executable, \"-c\", \"{burn}\"]); subprocess.run([\"sleep\", \"4\"])'])\n"
            "child.wait()\n")
    worker = subprocess.Popen([sys.executable, "-c", code])
    control = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)", "worker", "--control"])
    try:
        with zones.PeakWatch({worker.pid: "zone t"}) as watch:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and watch.by_role().get("zone t tools", {}).get("cpu_s", 0) < 0.1:
                time.sleep(0.2)
            watch.once()
    finally:
        worker.wait(timeout=30)
        control.wait(timeout=30)
    roles = watch.by_role()
    assert set(roles) == {"zone t worker", "zone t tools", "control worker"}, roles
    assert roles["zone t worker"]["processes"] == 2  # the main process and its child (its pool)
    assert roles["zone t worker"]["largest_mb"] >= 60
    assert roles["zone t worker"]["pss_mb"] >= 60
    assert roles["zone t tools"]["processes"] >= 1  # the programs the child ran, when seen alive
    assert roles["zone t tools"]["cpu_s"] >= 0.1  # the burner's CPU, though it ended between samples


def test_make_bench_keeps_the_zones_block(tmp_path):
    """bench/run.py rewrites results.md whole: the 3-zone figures must survive it."""
    import run

    path = tmp_path / "results.md"
    path.write_text(zones.splice("# Benchmarks\n\nold figures\n", f"{zones.BEGIN}\nthree zones\n{zones.END}"))
    one = run.Sample(seconds=1.0, peak_mb=10.0, exit_code=0, cpu_s=0.5)
    size = run.SizeResult(hosts=2, endpoints=1, runs={name: [one] for name in ("readyscan", "sslyze", "nmap", "ssh_loop")},
                          phases={"ports": 0.5}, rescan=[one])
    run.write_results([size], 1, path)
    text = path.read_text()
    assert "old figures" not in text and f"{zones.BEGIN}\nthree zones\n{zones.END}" in text
    assert text.index(zones.END) < text.index("## Reading the figures")  # before the hand-written notes


def test_the_section_compares_with_the_same_work_and_lists_every_process():
    def runs(*seconds: float):
        return [zones.Sample(seconds=s, peak_mb=100.0, exit_code=1, cpu_s=1.0) for s in seconds]

    row = {"processes": 1, "largest_mb": 150.0, "sum_mb": 150.0, "pss_mb": 120.0, "cpu_s": 2.0}
    result = zones.ZonesResult(
        hosts=100, zones=["dmz", "app", "db"], concurrency=6, inventory="lab/.state/inventory.yaml",
        runs={"one-zone": runs(100, 110), "network-only app": runs(40, 40), "network-only db": runs(60, 50),
              "3 zones": runs(240, 220)},
        peaks=[{"scan": row, "control worker": row, "zone dmz worker": row | {"processes": 7}, "store": row}] * 2,
        tasks={"dmz": {"tasks": 300, "busy_s": 600.0, "median_s": 1.5, "last_s": 200.0, "not_ok": 0}},
        load=[1.0, 2.0])
    text = zones.section(result, 2)
    assert "| 100 | 105.0 s (100.0–110.0) | 40.0 s (40.0–40.0) | 55.0 s (50.0–60.0) | 200.0 s (200.0–200.0) | " \
           "230.0 s (220.0–240.0) | 1.15 | 2.19 |" in text  # same work per repetition: 200 and 200
    rows = [line.split(" |")[0] for line in text.splitlines() if line.startswith("| ") and " MB " in line]
    assert rows == ["| scan", "| control worker", "| zone dmz worker", "| store"]
    assert "loopback trial" not in text and text.startswith(zones.BEGIN) and text.endswith(zones.END)
