"""`make bench`: readyscan against the raw tools alone, on the lab at several sizes.

At each size the lab is brought up (`python3 -m lab up --hosts N`), then, alternating within each
repetition: a full default `readyscan scan` (ports, TLS, HTTP, SSH server, host checks over SSH,
report), the sslyze CLI on the same TLS endpoints, nmap with the same ports and options, and a
plain OpenSSH client loop that runs the host collector's script on every host one after another.
Wall time and peak memory (the largest resident set of the measured process tree, from
getrusage(RUSAGE_CHILDREN) in a fresh wrapper process) are recorded per run; per-phase times and SSH
round trips per host come from the scan file. A `--rescan-failed` run after declaring one
undeclared port (fixing one gap) is timed against the full scan. Figures go to bench/results.md.

Speed is measured here, never asserted in tests. Traffic goes only to the lab's own addresses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner.collectors.host import build_script  # noqa: E402
from scanner.hostprobes.catalog import default_probes  # noqa: E402
from scanner.scanfile import load  # noqa: E402

VENV_BIN = Path(sys.executable).parent
STATE = ROOT / "lab" / ".state"
TLS_KINDS = {"https", "smtps", "imaps", "pop3s", "ldaps", "ftps"}

# Runs `argv`, then prints the peak RSS (KiB) of everything it started, from a clean process.
MEASURE = ("import resource, subprocess, sys\n"
           "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
           "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
           "print(rc, u.ru_maxrss, u.ru_utime + u.ru_stime)\n")


@dataclass
class Sample:
    seconds: float
    peak_mb: float
    exit_code: int
    cpu_s: float = 0.0  # user+system CPU of the measured tree on this machine (not the lab hosts')


@dataclass
class SizeResult:
    hosts: int
    endpoints: int
    runs: dict[str, list[Sample]] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    round_trips: float = 0.0
    probes_cut: int = 0  # host probes of the last full scan killed by their timeout (exit 124)
    rescan: list[Sample] = field(default_factory=list)


def measure(argv: list[str], cwd: Path = ROOT, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Sample:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", MEASURE, *argv], cwd=cwd, input=stdin,
                          capture_output=True, check=True, env=env)
    seconds = time.monotonic() - started
    rc, kib, cpu = proc.stdout.decode().split()
    return Sample(seconds, int(kib) / 1024, int(rc), float(cpu))


def lab(*args: str) -> None:
    # The lab runs under the system python3 (standard library only), as `make lab-up` does.
    subprocess.run(["python3", "-m", "lab", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def targets(inventory: dict) -> tuple[list[str], list[str], str]:
    """Host addresses, sslyze target strings (name:port{ip}: no DNS), and the nmap port spec."""
    addresses, tls = [], []
    for host in inventory["hosts"]:
        addresses.append(host["address"])
        for svc in host.get("services", []):
            if svc["kind"] in TLS_KINDS:
                tls.append(f"{host.get('fqdn') or host['address']}:{svc['port']}{{{host['address']}}}")
    return addresses, tls, str(inventory["scan"]["ports"])


def ssh_loop_script(inventory: dict, host_script: bytes) -> list[str]:
    """A shell loop over the hosts with the plain OpenSSH client, one after another."""
    key, known = STATE / "id_ed25519", STATE / "known_hosts"
    user = inventory["defaults"]["ssh"]["user"]
    loop = "; ".join(
        f"ssh -i {shlex.quote(str(key))} -o BatchMode=yes -o StrictHostKeyChecking=yes "
        f"-o UserKnownHostsFile={shlex.quote(str(known))} {user}@{host['address']} 'sudo -n sh -s' "
        f"< {{script}} > /dev/null" for host in inventory["hosts"])
    return ["sh", "-c", loop.replace("{script}", shlex.quote(str(host_script)))]


def declare_one_gap(inventory_path: Path, out: Path) -> Path:
    """A copy of the inventory that declares one port the lab leaves undeclared (exposed's 8080)."""
    data = yaml.safe_load(inventory_path.read_text(encoding="utf-8"))
    for host in data["hosts"]:
        if host["name"].startswith("exposed"):
            host["services"].append({"port": 8080, "kind": "http", "name": "declared for the bench",
                                     "exposure": ["dmz"]})
            break
    copy = out / "inventory-fixed.yaml"
    waivers = inventory_path.with_name(f"{inventory_path.stem}.waivers.yaml")
    if waivers.exists():  # the same accepted risks, read beside the copy
        (out / "inventory-fixed.waivers.yaml").write_bytes(waivers.read_bytes())
    for key in ("key", "known_hosts"):
        data["defaults"]["ssh"][key] = str(STATE / Path(data["defaults"]["ssh"][key]).name)
    data["scan"]["ca_bundle"] = str(STATE / "ca.pem")
    copy.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return copy


def bench_size(count: int, reps: int, work: Path) -> SizeResult:
    lab("up", "--hosts", str(count))
    inventory_path = STATE / "inventory.yaml"
    inventory = yaml.safe_load(inventory_path.read_text(encoding="utf-8"))
    addresses, tls_targets, ports = targets(inventory)
    script = work / "host-script.sh"
    script.write_bytes(build_script(list(default_probes()), "bench0000bench000").encode())
    result = SizeResult(hosts=count, endpoints=len(tls_targets))
    readyscan = [str(VENV_BIN / "python"), "-m", "scanner"]
    commands = {
        "readyscan": [*readyscan, "scan", str(inventory_path), "-o", str(work / f"scan-{count}.json")],
        "sslyze": [str(VENV_BIN / "python"), "-m", "sslyze", "--quiet", f"--json_out={work / 'sslyze.json'}",
                   *tls_targets],
        "nmap": ["nmap", "-n", "-Pn", "-sS", "-T4", "-p", ports, "-oX", str(work / "nmap.xml"), *addresses],
        "ssh_loop": ssh_loop_script(inventory, script),
    }
    for rep in range(reps):
        for name, argv in commands.items():  # alternate the tools within each repetition
            sample = measure(argv)
            result.runs.setdefault(name, []).append(sample)
            print(f"  {count:>3} hosts rep {rep + 1}: {name:<9} {sample.seconds:7.2f} s "
                  f"{sample.peak_mb:7.1f} MB (exit {sample.exit_code})", file=sys.stderr)
    scan = load(work / f"scan-{count}.json")
    result.phases = {name: (p.ended - p.started).total_seconds() for name, p in scan.phases.items() if p.ended}
    trips = [r.observations["host"].data.get("round_trips", 0) for r in scan.hosts.values()
             if "host" in r.observations and r.observations["host"].data]
    result.round_trips = statistics.mean(trips) if trips else 0.0
    result.probes_cut = sum(1 for r in scan.hosts.values() if "host" in r.observations and r.observations["host"].data
                            for c in r.observations["host"].data.get("commands", []) if c.get("exit_status") == 124)
    fixed = declare_one_gap(inventory_path, work)
    for _ in range(reps):
        result.rescan.append(measure([*readyscan, "scan", str(fixed), "--rescan-failed",
                                      str(work / f"scan-{count}.json"), "-o", str(work / f"rescan-{count}.json")]))
    return result


def stats(samples: list[Sample], attr: str) -> tuple[float, float, float]:
    values = [getattr(s, attr) for s in samples]
    return statistics.median(values), min(values), max(values)


def fmt(triple: tuple[float, float, float], unit: str) -> str:
    med, lo, hi = triple
    return f"{med:.1f} {unit} ({lo:.1f}–{hi:.1f})"


def write_results(results: list[SizeResult], reps: int, path: Path) -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {os.cpu_count()} cores "
        f"({cpu}), {mem_gib:.0f} GiB, {platform.system()} {platform.release()}. {reps} repetitions per "
        "figure, tools alternated within each repetition; median (min–max). Peak memory is the largest "
        "resident set in the measured process tree. The SSH loop runs the host collector's script on "
        "each host one after another with the OpenSSH client (`sudo -n sh -s`), as an admin's loop would.",
        "",
        "| hosts | TLS endpoints | readyscan | sslyze | nmap | SSH loop | readyscan peak | sslyze peak "
        "| readyscan CPU | probes cut off |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.hosts} | {r.endpoints} | " + " | ".join(
            fmt(stats(r.runs[name], "seconds"), "s") for name in ("readyscan", "sslyze", "nmap", "ssh_loop"))
            + f" | {fmt(stats(r.runs['readyscan'], 'peak_mb'), 'MB')} | {fmt(stats(r.runs['sslyze'], 'peak_mb'), 'MB')}"
            f" | {fmt(stats(r.runs['readyscan'], 'cpu_s'), 's')} | {r.probes_cut} |")
    lines += ["", "| hosts | readyscan / sslyze | readyscan / slowest raw tool | readyscan / sum of raw tools "
                  "| rescan-failed / full | SSH round trips per host |", "|---|---|---|---|---|---|"]
    for r in results:
        med = {name: stats(samples, "seconds")[0] for name, samples in r.runs.items()}
        raw = [med["sslyze"], med["nmap"], med["ssh_loop"]]
        rescan = stats(r.rescan, "seconds")[0] if r.rescan else float("nan")
        lines.append(f"| {r.hosts} | {med['readyscan'] / med['sslyze']:.2f} | {med['readyscan'] / max(raw):.2f} "
                     f"| {med['readyscan'] / sum(raw):.2f} | {rescan / med['readyscan']:.2f} | {r.round_trips:.1f} |")
    if len(results) > 1:
        first, last = results[0], results[-1]
        ratio = stats(last.runs["readyscan"], "seconds")[0] / stats(first.runs["readyscan"], "seconds")[0]
        lines += ["", f"time({last.hosts}) / time({first.hosts}) for readyscan: {ratio:.2f}"]
    lines += ["", "Per-phase wall time of the last readyscan run (seconds; phases run side by side):", "",
              "| hosts | " + " | ".join(sorted(results[-1].phases)) + " |",
              "|---|" + "---|" * len(results[-1].phases)]
    for r in results:
        lines.append(f"| {r.hosts} | " + " | ".join(f"{r.phases.get(p, float('nan')):.1f}"
                                                    for p in sorted(results[-1].phases)) + " |")
    from zones import kept_block  # the 3-zone figures (bench/run.py --zones) are kept across runs

    zoned = kept_block(path)
    if zoned:
        lines += ["", zoned]
    notes = ROOT / "bench" / "notes.md"  # the reading of the figures, written by hand, kept across runs
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").rstrip()]
    lines += ["", "Raw samples:", "", "```json",
              json.dumps([{"hosts": r.hosts, "runs": {k: [vars(s) for s in v] for k, v in r.runs.items()},
                           "rescan": [vars(s) for s in r.rescan], "phases": r.phases} for r in results],
                         indent=1), "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,25,100")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    zoned = parser.add_argument_group("a scan from three zones (bench/zones.py; the lab is not started or stopped)")
    zoned.add_argument("--zones", action="store_true",
                       help="time a 3-zone scan against the same hosts scanned by one process")
    zoned.add_argument("--inventory", help=f"the hosts to scan (default: {STATE / 'inventory.yaml'}, the lab's, up)")
    zoned.add_argument("--loopback", type=int, metavar="N", help="instead: N hosts on 127.0.0.x and this machine")
    zoned.add_argument("--worker-concurrency", type=int,
                       help="each zone worker's --concurrency (default: the inventory's scan.concurrency / 3)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench: needs root (the lab, nmap -sS, the store's server)", file=sys.stderr)
        return 2
    if args.zones:
        from zones import bench_main

        return bench_main(args.inventory, args.loopback, args.reps, args.worker_concurrency, Path(args.out))
    was_up = subprocess.run(["python3", "-m", "lab", "status"], cwd=ROOT, capture_output=True).returncode == 0
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="readyscan-bench-") as tmp:
            for count in (int(s) for s in args.sizes.split(",")):
                results.append(bench_size(count, args.reps, Path(tmp)))
                write_results(results, args.reps, Path(args.out))  # a stopped run keeps what it measured
    finally:
        if not was_up:
            lab("down")
    write_results(results, args.reps, Path(args.out))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
