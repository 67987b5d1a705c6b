"""`bench/run.py --zones`: a scan from three zones against the same hosts scanned by one process.

The inventory (by default the lab's, `lab/.state/inventory.yaml`: bring the lab up first with
`make lab-up HOSTS=100`; this module never starts or stops the lab) is rewritten with `scanners:`
in three zones. Everything runs on this machine, in the root namespace: a TLS-only redis-server
(the broker) and a PostgreSQL server (the store), each in its own temporary folder on loopback
(tests/daemons.py), the site keys made with `python -m scanner.app.zones.security`, three
`readyscan worker --zone Z` processes and the `readyscan scan` that starts its own control worker.
So the figures measure the distributed machinery, not a network between zones.

A scan from three zones does three times the network collection (every port, TLS, HTTP and SSH
server probe runs from each zone) and the host logins once. Each repetition therefore times:

- `one-zone`: `readyscan scan` of the inventory as given (the same hosts, one process);
- `network-only` from each of the two other zones: the same inventory with `transport: none` and
  `scan.from_zone` set to that zone, so one process has done, one scan after another, the same
  work as the three zones (one-zone + both network-only scans = "same work, one process");
- `3 zones`: the workers are started fresh and left to settle (their pool processes forked),
  then `readyscan scan` of the three-zone inventory is timed as the one-process scans are.

Peak memory per process is the kernel's high-water mark (VmHWM in /proc/PID/status) and, per
role, the largest sum of proportional sets (Pss, /proc/PID/smaps_rollup) at one moment, sampled
every SAMPLE_SECONDS over every process this bench started (the workers, their pool processes,
the scan, its control worker, the broker and the store) and read once more just before the
workers are stopped. Figures go to bench/results.md, in a block of their own that `bench/run.py` keeps.

`--loopback N` tries the whole chain without the lab: N hosts on 127.0.0.x (network collectors
only) and one `transport: local` host (this machine's own host probes), in three zones.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from run import ROOT, STATE, VENV_BIN, Sample, fmt, measure, stats

from scanner.inventory import ScanSettings  # noqa: E402  (run put the checkout on sys.path)
from scanner.model import Outcome  # noqa: E402
from scanner.scanfile import load  # noqa: E402
from tests.daemons import Postgres, Redis, make_tls, stop_pid  # noqa: E402

ZONES = 3
DEFAULT_CONCURRENCY = ScanSettings.model_fields["concurrency"].default
SAMPLE_SECONDS = 0.5  # one sample of ~50 processes costs ~10 ms of CPU
SETTLE_SECONDS = 60.0  # a worker forks its pool within a few seconds; this is a hang guard
BEGIN, END = "<!-- bench-zones:begin -->", "<!-- bench-zones:end -->"
PATH_KEYS = (("key",), ("known_hosts",))  # paths under defaults.ssh and hosts[].ssh
TICKS = os.sysconf("SC_CLK_TCK")


# -- inventories (pure) ----------------------------------------------------------------------

def shown_path(path: Path) -> str:
    """The inventory as results.md names it: relative to the checkout, never this machine's path."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def vantage(data: dict) -> str:
    """The zone a one-zone scan of `data` looks from."""
    scan = data.get("scan") or {}
    if scan.get("from_zone"):
        return scan["from_zone"]
    if data.get("scanners"):
        return data["scanners"][0]["zone"]
    return data["hosts"][0]["zone"]


def pick_zones(data: dict, count: int = ZONES) -> list[str]:
    """The one-zone scan's vantage, then the zones holding the most hosts, then declared zones,
    then `internet`: the zones the scanners stand in."""
    first = vantage(data)
    by_hosts = Counter(h["zone"] for h in data["hosts"])
    order = [first, *sorted(by_hosts, key=lambda z: (-by_hosts[z], z)), *sorted(data.get("zones") or {}), "internet"]
    zones = list(dict.fromkeys(order))[:count]
    if len(zones) < count:
        raise ValueError(f"the inventory offers {len(zones)} zones ({', '.join(zones)}); {count} are needed")
    return zones


def absolute_paths(data: dict, base: Path) -> dict:
    """A copy whose relative paths (SSH keys, known_hosts, CA bundle) point where they did from
    `base`, the source inventory's folder, so the copy can live in another folder."""
    data = copy.deepcopy(data)

    def fix(section: dict | None, key: str) -> None:
        value = (section or {}).get(key)
        if value and not value.startswith("~") and not Path(value).is_absolute():
            section[key] = str((base / value).resolve())

    for ssh in [(data.get("defaults") or {}).get("ssh"), *((h.get("ssh")) for h in data["hosts"])]:
        for (key,) in PATH_KEYS:
            fix(ssh, key)
    fix(data.get("scan"), "ca_bundle")
    return data


def zoned(data: dict, zones: list[str]) -> dict:
    """The inventory with scanners in `zones`: a host is logged in to from its own zone when a
    scanner stands there (the default rule), else from the first zone, the one-zone scan's."""
    data = copy.deepcopy(data)
    data["scanners"] = [{"name": f"bench-{zone}", "zone": zone} for zone in zones]
    data.setdefault("scan", {}).pop("from_zone", None)
    for host in data["hosts"]:
        host.pop("managed_from", None)
        if host["zone"] not in zones:
            host["managed_from"] = zones[0]
    return data


def network_only(data: dict, zone: str) -> dict:
    """The inventory as one process scanning from `zone` sees it, with no host login."""
    data = copy.deepcopy(data)
    data.pop("scanners", None)
    data.setdefault("defaults", {})["transport"] = "none"
    for host in data["hosts"]:
        host.pop("transport", None)
        host.pop("managed_from", None)
    data.setdefault("scan", {})["from_zone"] = zone
    return data


def loopback_inventory(count: int, zones: tuple[str, ...] = ("dmz", "app", "db")) -> dict:
    """`count` hosts on 127.0.0.10… in `zones` (network probes only) and this machine, logged in
    to locally: a trial of the whole chain that sends nothing beyond loopback."""
    hosts = [{"name": "localhost", "address": "127.0.0.1", "zone": zones[0], "role": "scanner",
              "transport": "local", "services": []}]
    hosts += [{"name": f"lo-{i:03d}", "address": f"127.0.0.{10 + i}", "zone": zones[i % len(zones)],
               "role": "bench", "services": []} for i in range(count)]
    return {"schema": 1, "organization": {"name": "Bench loopback (127.0.0.0/8)"},
            "defaults": {"transport": "none"}, "hosts": hosts,
            "scan": {"from_zone": zones[0], "ports": "top100", "concurrency": 16}}


def write_inventory(data: dict, path: Path, waivers: Path | None) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if waivers is not None and waivers.exists():  # the same accepted risks, read beside the copy
        shutil.copyfile(waivers, path.with_name(f"{path.stem}.waivers.yaml"))
    return path


# -- processes and their peaks ---------------------------------------------------------------

def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:  # the process ended between listing and reading
        return ""


def parents() -> dict[int, int]:
    """PID -> parent PID of every process now."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _read(f"/proc/{entry}/stat")
            if stat:  # "pid (comm) state ppid ...": comm may hold spaces and parentheses
                out[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    return out


def descendants(root: int, tree: dict[int, int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in tree.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


@dataclass
class Proc:
    role: str
    peak_kib: int = 0
    cpu_s: float = 0.0
    waited_cpu_s: float = 0.0  # of the programs it ran and waited for (a pool process's nmap, probes)


def sample(pid: int) -> tuple[int, int, float, float, str] | None:
    """(VmHWM KiB, Pss KiB now, own user+system CPU seconds, those of the children it waited for,
    command line) of a live process."""
    status, stat = _read(f"/proc/{pid}/status"), _read(f"/proc/{pid}/stat")
    hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    if not hwm or not stat:
        return None
    pss = re.search(r"^Pss:\s+(\d+) kB", _read(f"/proc/{pid}/smaps_rollup"), re.M)
    fields = stat.rpartition(")")[2].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15 of stat)
    waited = (int(fields[13]) + int(fields[14])) / TICKS  # cutime, cstime (16, 17)
    return (int(hwm.group(1)), int(pss.group(1)) if pss else 0, cpu, waited,
            _read(f"/proc/{pid}/cmdline").replace("\0", " "))


class PeakWatch:
    """Samples every process this bench started, in a thread: each one's peak resident set
    (VmHWM) and CPU, and each role's largest proportional set (Pss, shared pages divided among
    the processes sharing them) summed at one moment. `roots` names the long-lived processes we
    hold (a zone worker: its main process and pool are "zone Z worker", the programs they run
    "zone Z tools"); the scan and its control worker are named from their command line."""

    def __init__(self, roots: dict[int, str]) -> None:
        self.roots = roots
        self.procs: dict[int, Proc] = {}
        self.pss_peak_kib: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _role(self, pid: int, cmdline: str, tree: dict[int, int]) -> str | None:
        for root, role in self.roots.items():
            if pid == root or tree.get(pid) == root:
                return f"{role} worker" if role.startswith("zone ") else role
            if pid in descendants(root, tree):
                return f"{role} tools" if role.startswith("zone ") else role
        if "import resource" in cmdline:  # run.py's measuring wrapper, not readyscan
            return None
        if "--control" in cmdline:
            return "control worker"
        if " -m scanner scan " in cmdline:
            return "scan"
        return "other"

    def once(self) -> None:
        tree = parents()
        pss: Counter[str] = Counter()
        for pid in descendants(os.getpid(), tree):
            seen = sample(pid)
            if seen is None:
                continue
            hwm, pss_kib, cpu, waited, cmdline = seen
            proc = self.procs.get(pid)
            if proc is None:
                role = self._role(pid, cmdline, tree)
                if role is None:
                    continue
                proc = self.procs[pid] = Proc(role)
            proc.peak_kib, proc.cpu_s = max(proc.peak_kib, hwm), max(proc.cpu_s, cpu)
            proc.waited_cpu_s = max(proc.waited_cpu_s, waited)
            pss[proc.role] += pss_kib
        for role, kib in pss.items():
            self.pss_peak_kib[role] = max(self.pss_peak_kib.get(role, 0), kib)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.once()

    def __enter__(self) -> PeakWatch:
        self.once()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def by_role(self) -> dict[str, dict[str, float]]:
        """role -> processes, largest VmHWM, sum of VmHWM, Pss peak (MB), CPU seconds. A zone's
        tools' CPU is what its worker's processes waited for: a short tool may end between two
        samples, and the kernel adds its CPU to the process that waited for it."""
        out: dict[str, dict[str, float]] = {}
        for proc in self.procs.values():
            row = out.setdefault(proc.role, {"processes": 0, "largest_mb": 0.0, "sum_mb": 0.0,
                                             "pss_mb": self.pss_peak_kib.get(proc.role, 0) / 1024, "cpu_s": 0.0})
            row["processes"] += 1
            row["largest_mb"] = max(row["largest_mb"], proc.peak_kib / 1024)
            row["sum_mb"] += proc.peak_kib / 1024
            if not proc.role.endswith(" tools"):
                row["cpu_s"] += proc.cpu_s
            if proc.role.startswith("zone ") and proc.role.endswith(" worker"):
                tools = out.setdefault(proc.role.replace(" worker", " tools"), {
                    "processes": 0, "largest_mb": 0.0, "sum_mb": 0.0, "cpu_s": 0.0,
                    "pss_mb": self.pss_peak_kib.get(proc.role.replace(" worker", " tools"), 0) / 1024})
                tools["cpu_s"] += proc.waited_cpu_s
        return out


# -- the distributed rig ---------------------------------------------------------------------

def security(*args: str) -> None:
    subprocess.run([str(VENV_BIN / "python"), "-m", "scanner.app.zones.security", *args], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def make_keys(folder: Path, zones: list[str]) -> dict[str, Path]:
    """A CA, the control site and one site per zone, each trusting the others (docs/zones.md)."""
    security("ca", str(folder / "ca"))
    sites = {name: folder / name for name in ["control", *zones]}
    for name, site in sites.items():
        security("site", str(folder / "ca"), name, str(site))
    for name, site in sites.items():
        for other, theirs in sites.items():
            if other != name:
                security("trust", str(site), str(theirs / "site.pem"))
    return sites


@dataclass
class Rig:
    """Broker, store and keys for the whole bench; `env` reaches them as production does."""

    broker: Redis
    store: Postgres
    broker_ca: Path
    database_url: str
    keys: dict[str, Path]

    @property
    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("READYSCAN_")} | {
            "READYSCAN_BROKER_URL": self.broker.url, "READYSCAN_DATABASE_URL": self.database_url}

    def start_worker(self, inventory: Path, zone: str, concurrency: int, log: Path) -> subprocess.Popen:
        with log.open("wb") as out:  # a file, never a pipe nobody reads
            return subprocess.Popen(
                [str(VENV_BIN / "python"), "-m", "scanner", "worker", str(inventory), "--zone", zone,
                 "--keys", str(self.keys[zone]), "--broker-ca", str(self.broker_ca),
                 "--concurrency", str(concurrency), "--lang", "en"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)


def settle(workers: dict[str, subprocess.Popen], concurrency: int, logs: dict[str, Path]) -> None:
    """Wait until every worker has forked its pool (it consumes then), or fail with its log."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        dead = [z for z, p in workers.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"worker {dead[0]} stopped: {logs[dead[0]].read_text(errors='replace')[-1500:]}")
        tree = parents()
        if all(len(descendants(p.pid, tree)) >= concurrency for p in workers.values()):
            time.sleep(1.0)  # the pool processes import and connect after the fork
            return
        time.sleep(0.2)
    raise RuntimeError(f"the workers did not start their pools within {SETTLE_SECONDS:.0f} s")


# -- the benchmark ---------------------------------------------------------------------------

@dataclass
class ZonesResult:
    hosts: int
    zones: list[str]
    concurrency: int
    inventory: str
    runs: dict[str, list[Sample]] = field(default_factory=dict)
    peaks: list[dict[str, dict[str, float]]] = field(default_factory=list)
    tasks: dict[str, dict[str, float]] = field(default_factory=dict)  # of the last 3-zone scan
    incomplete: list[str] = field(default_factory=list)
    load: list[float] = field(default_factory=list)  # 1-minute load average as each repetition began
    one_zone_not_ok: int = 0  # observations of the last one-zone scan that did not come back ok


def task_times(scan) -> dict[str, dict[str, float]]:
    """Per zone, from a 3-zone scan file: tasks answered (one host, one collector each), the sum
    and median of their own durations, and when the last answer was gathered after the scan began.
    Time the tasks did not spend running is the machinery's: queues, signing, the store, polling."""
    by_zone: dict[str, list] = {}
    for record in scan.hosts.values():
        for zone, observed in record.seen_from.items():
            by_zone.setdefault(zone, []).extend(observed.values())
    out = {}
    for zone, observations in sorted(by_zone.items()):
        durations = [(o.ended - o.started).total_seconds() for o in observations]
        out[zone] = {"tasks": len(observations), "busy_s": sum(durations), "median_s": statistics.median(durations),
                     "last_s": max((o.ended - scan.started).total_seconds() for o in observations),
                     "not_ok": not_ok(observations)}
    return out


def not_ok(observations) -> int:
    """Observations that did not come back (a fast scan that failed everywhere is no result)."""
    return sum(1 for o in observations if o.outcome not in (Outcome.OK, Outcome.NOT_COLLECTED))


def scan_argv(inventory: Path, out: Path, *extra: str) -> list[str]:
    return [str(VENV_BIN / "python"), "-m", "scanner", "scan", str(inventory), "-o", str(out), *extra]


def worker_concurrency(data: dict, zones: int = ZONES) -> int:
    """Each zone worker's pool: the one-zone scan's `scan.concurrency` shared among the zones, so
    the three workers run as many tasks at once as the one process runs hosts."""
    return -(-((data.get("scan") or {}).get("concurrency") or DEFAULT_CONCURRENCY) // zones)


def bench_zones(source: Path, reps: int, concurrency: int | None, work: Path) -> ZonesResult:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if len({s["zone"] for s in data.get("scanners") or []}) > 1:
        raise ValueError(f"{source} already has scanners in several zones: give the one-zone inventory")
    zones = pick_zones(data)
    concurrency = concurrency or worker_concurrency(data)
    waivers = source.with_name(f"{source.stem}.waivers.yaml")
    base = absolute_paths(data, source.parent)
    three = write_inventory(zoned(base, zones), work / "zones3.yaml", waivers)
    one_process = {"one-zone": scan_argv(source, work / "one-zone.json")} | {
        f"network-only {z}": scan_argv(write_inventory(network_only(base, z), work / f"network-{z}.yaml", waivers),
                                       work / f"network-{z}.json", "--no-report") for z in zones[1:]}
    result = ZonesResult(hosts=len(data["hosts"]), zones=zones, concurrency=concurrency, inventory=shown_path(source))
    tls = make_tls(work / "broker-tls")
    with Redis(tls=tls) as broker, Postgres() as store:
        rig = Rig(broker, store, tls.ca, store.create_database("readyscan_bench"), make_keys(work / "keys", zones))
        for rep in range(reps):
            result.load.append(os.getloadavg()[0])  # others share this machine: say how busy it was
            for name, argv in one_process.items():
                _record(result, name, measure(argv), rep)
            result.one_zone_not_ok = not_ok([o for record in load(work / "one-zone.json").hosts.values()
                                             for o in record.observations.values()])
            _zoned_run(rig, three, result, rep, work)
    return result


def _zoned_run(rig: Rig, inventory: Path, result: ZonesResult, rep: int, work: Path) -> None:
    """Fresh workers, settled; the 3-zone scan timed while every process is watched."""
    zones, out = result.zones, work / "zones3.json"
    logs = {z: work / f"worker-{z}-{rep}.log" for z in zones}
    workers = {z: rig.start_worker(inventory, z, result.concurrency, logs[z]) for z in zones}
    roots = {p.pid: f"zone {z}" for z, p in workers.items()} | {rig.broker.proc.pid: "broker",
                                                                 rig.store.proc.pid: "store"}
    try:
        settle(workers, result.concurrency, logs)
        with PeakWatch(roots) as watch:
            argv = scan_argv(inventory, out, "--keys", str(rig.keys["control"]), "--broker-ca", str(rig.broker_ca))
            _record(result, "3 zones", measure(argv, env=rig.env), rep)
            watch.once()  # the workers' last figures, before they are stopped
    finally:
        for proc in workers.values():
            stop_worker(proc)
    result.peaks.append(watch.by_role())
    scan = load(out)
    result.tasks = task_times(scan)
    if not scan.complete:
        result.incomplete.append(f"rep {rep + 1}: {scan.incomplete_reason}")


def stop_worker(proc: subprocess.Popen) -> None:
    """Warm shutdown of a worker we started, by its PID; then any pool process it left behind
    (a worker killed after its grace leaves them), by theirs, if each is still the same process."""
    pool = {pid: _read(f"/proc/{pid}/cmdline") for pid in descendants(proc.pid, parents())}
    stop_pid(proc, timeout=30)
    for pid, cmdline in pool.items():
        if cmdline and _read(f"/proc/{pid}/cmdline") == cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _record(result: ZonesResult, name: str, s: Sample, rep: int) -> None:
    result.runs.setdefault(name, []).append(s)
    print(f"  zones rep {rep + 1}: {name:<22} {s.seconds:7.2f} s {s.peak_mb:7.1f} MB (exit {s.exit_code})",
          file=sys.stderr)


# -- results ---------------------------------------------------------------------------------

def same_work(result: ZonesResult) -> list[float]:
    """Per repetition: the one-zone scan plus the network-only scans from the other zones."""
    parts = [name for name in result.runs if name == "one-zone" or name.startswith("network-only")]
    return [sum(result.runs[name][i].seconds for name in parts) for i in range(len(result.runs["one-zone"]))]


def section(result: ZonesResult, reps: int) -> str:
    med = {name: stats(samples, "seconds")[0] for name, samples in result.runs.items()}
    work = statistics.median(same_work(result))
    net = " + ".join(f"`network-only {z}`" for z in result.zones[1:])
    lines = [
        BEGIN,
        "## A scan from three zones (`bench/run.py --zones`)",
        "",
        f"Written on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from `{result.inventory}` ({result.hosts} hosts), "
        f"{reps} repetitions, median (min–max). Scanners stand in {', '.join(result.zones)}; the broker "
        "(redis-server, TLS), the store (PostgreSQL), the three zone workers (`--concurrency "
        f"{result.concurrency}`, prefork) and the control worker all run on this machine, so this measures the "
        "distributed machinery, not a network. A scan from three zones runs every network probe from each zone "
        "and logs in to each host once, so the fair one-process baseline is the same work done by one process "
        f"after another: `one-zone` (the inventory as given) + {net} (the same inventory with `transport: none`, "
        "scanned from that zone). `one-zone` alone is the same hosts scanned by one process from one zone. "
        "Issue 15's target (overhead ≤ 1.2×) is read on `3 zones / same work`; `3 zones / one-zone` also "
        "counts the network work done twice more. The workers are started and settled before each timed "
        "scan, as they stand ready in production.",
        "",
        *(["**A loopback trial of the bench itself, not the issue's measurement:** its hosts answer at once and "
           "a one-zone scan takes seconds, so the fixed costs of the distributed mode dominate. The measurement "
           "is the lab's 100 hosts (README, Make targets).", ""] if result.inventory.startswith("--loopback") else []),
        "| hosts | one-zone | " + " | ".join(f"network-only {z}" for z in result.zones[1:])
        + " | same work, one process | 3 zones | 3 zones / same work | 3 zones / one-zone |",
        "|---|---|" + "---|" * (len(result.zones) - 1) + "---|---|---|---|",
        f"| {result.hosts} | {fmt(stats(result.runs['one-zone'], 'seconds'), 's')} | "
        + " | ".join(fmt(stats(result.runs[f'network-only {z}'], 'seconds'), 's') for z in result.zones[1:])
        + f" | {fmt((work, min(same_work(result)), max(same_work(result))), 's')} | "
        f"{fmt(stats(result.runs['3 zones'], 'seconds'), 's')} | {med['3 zones'] / work:.2f} | "
        f"{med['3 zones'] / med['one-zone']:.2f} |",
        "",
        "Memory and CPU of the 3-zone scan's processes, sampled every "
        f"{SAMPLE_SECONDS:g} s from /proc. A zone worker is its Celery main process and its prefork pool "
        "(`--concurrency` processes); its tools are the programs its tasks run (nmap, the host probes' "
        "shells): the most seen alive by one repetition's samples, and all their CPU (what the pool waited "
        "for). VmHWM is each process's peak resident set; their sum counts pages the forked pool shares "
        "once per process, so the Pss column (shared pages divided among their sharers, summed over the "
        "row's processes at one moment, the largest such sum) is the memory a worker really holds. For "
        "comparison, the one-zone scan's peak (largest resident set of its process tree, as in the table "
        f"above): {fmt(stats(result.runs['one-zone'], 'peak_mb'), 'MB')}.",
        "",
        "| process | count | VmHWM, largest | VmHWM, sum | Pss, sum at one moment | CPU |",
        "|---|---|---|---|---|---|",
    ]
    for role in sorted({r for rep in result.peaks for r in rep}, key=_role_order):
        rows = [rep[role] for rep in result.peaks if role in rep]
        count = statistics.median(r["processes"] for r in rows)
        cells = [fmt(_triple([r[key] for r in rows]), unit) for key, unit in
                 (("largest_mb", "MB"), ("sum_mb", "MB"), ("pss_mb", "MB"), ("cpu_s", "s"))]
        if role.endswith(" tools"):  # short programs: a sample catches some of them alive, not all
            cells[:3] = ["—"] * 3
            count = max(r["processes"] for r in rows)
        lines.append(f"| {role} | {count:g} | " + " | ".join(cells) + " |")
    lines += ["", "Tasks of the last 3-zone scan, per zone (from its scan file: each observation's own start and "
                  "end; the time the scan took beyond the last answer, and the answers' gaps, are the machinery's):",
              "", "| zone | tasks | task time, sum | task time, median | sum / concurrency | last answer after "
                  "| not ok |", "|---|---|---|---|---|---|---|"]
    for zone, t in result.tasks.items():
        lines.append(f"| {zone} | {t['tasks']:.0f} | {t['busy_s']:.1f} s | {t['median_s']:.2f} s | "
                     f"{t['busy_s'] / result.concurrency:.1f} s | {t['last_s']:.1f} s | {t['not_ok']:.0f} |")
    lines += ["", "Not ok: observations that did not come back ok (unreachable, timeout, refused login…); the last "
                  f"one-zone scan had {result.one_zone_not_ok}. A 3-zone scan with many more did less work, and its "
                  "time is no result."]
    cpu = {name: stats(samples, "cpu_s")[0] for name, samples in result.runs.items()}
    lines += ["", f"CPU of the scan process tree (with its control worker): 3 zones {cpu['3 zones']:.1f} s; "
                  f"one-zone {cpu['one-zone']:.1f} s, same work "
                  f"{sum(v for k, v in cpu.items() if k != '3 zones'):.1f} s. Load average (1 min) as each "
                  f"repetition began: {', '.join(f'{x:.1f}' for x in result.load)}, on {os.cpu_count()} cores."]
    if result.incomplete:
        lines += ["", "**Incomplete 3-zone scans (their times do not count as a result):** "
                  + "; ".join(result.incomplete)]
    raw = {"zones": result.zones, "concurrency": result.concurrency, "load": result.load,
           "runs": {k: [vars(s) for s in v] for k, v in result.runs.items()}, "peaks": result.peaks,
           "tasks": result.tasks}
    lines += ["", "Raw samples (3 zones; one key a line):", "", "```json", "{",
              ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in raw.items()), "}", "```", END]
    return "\n".join(lines)


def _triple(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def _role_order(role: str) -> tuple[int, str]:
    order = ["scan", "control worker", "zone", "broker", "store", "other"]
    return next((i for i, prefix in enumerate(order) if role.startswith(prefix)), len(order)), role


def splice(text: str, block: str) -> str:
    """`text` (results.md) with its zones block replaced by `block`, or `block` put before the
    hand-written notes (or at the end) when it has none yet."""
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        return head + block + rest.partition(END)[2]
    notes = text.find("\n## Reading the figures")
    if notes < 0:
        return text.rstrip("\n") + "\n\n" + block + "\n"
    return text[:notes] + "\n" + block + "\n" + text[notes:]


def kept_block(path: Path) -> str | None:
    """The zones block of an existing results.md (bench/run.py keeps it when it rewrites the file)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        return BEGIN + text.partition(BEGIN)[2].partition(END)[0] + END
    return None


def bench_main(inventory: str | None, loopback: int | None, reps: int, concurrency: int | None, out: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="readyscan-bench-zones-") as tmp:
        work = Path(tmp)
        if loopback is not None:
            source = write_inventory(loopback_inventory(loopback), work / "loopback.yaml", None)
        else:
            source = Path(inventory) if inventory else STATE / "inventory.yaml"
            if not source.exists():
                print(f"bench: {source} not found (bring the lab up: make lab-up HOSTS=100)", file=sys.stderr)
                return 2
        result = bench_zones(source.resolve(), reps, concurrency, work)
    if loopback is not None:
        result.inventory = f"--loopback {loopback}"
    text = out.read_text(encoding="utf-8") if out.exists() else "# Benchmarks\n"
    out.write_text(splice(text, section(result, reps)), encoding="utf-8")
    print(out)
    return 1 if result.incomplete else 0
