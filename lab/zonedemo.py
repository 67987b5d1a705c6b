"""`make demo-zones`: the lab scanned from every zone at once, as a province would run it.

Brings up the lab with its zone firewall and vantages (lab/zones.py), then, for one scan:
a real redis-server as the broker on the lab bridge's address (TLS with a lab-CA certificate, a
password, the one port the zone firewall opens), a real PostgreSQL on loopback as the store, the
signing keys of the control site and of each zone, one `readyscan worker --zone Z` inside each
vantage's namespace, and `readyscan scan` of lab/.state/zones.yaml. It prints the scan's summary
(with the reachability matrix) and the report's path, then checks that every violation the lab
seeds was reported from the zone that sees it, and none elsewhere. Workers, broker and database
are stopped by PID at the end; the lab stays up (`python3 -m lab down` removes it).

Unlike the rest of lab/, this runs with the project's virtualenv (`.venv/bin/python -m
lab.zonedemo`, which `make demo-zones` does): it starts readyscan and its daemons.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import lifecycle, pki, zones
from .daemons import Postgres, Redis, Tls
from .hosts import BRIDGE_ADDRESS, DEFAULT_HOSTS, LabError, LabHost, plan_hosts
from .layout import CA_CERT, LAB_DIR, PIDS_FILE, STATE_DIR, STATE_ZONED_INVENTORY
from .records import Record

ROOT = LAB_DIR.parent
WORKDIR = STATE_DIR / "zones-demo"
STOP_SECONDS = 30
# Tasks a zone worker runs at once: most of a zone's time goes to waiting on ports its firewall
# drops (connect timeouts), not to CPU.
WORKER_CONCURRENCY = 4


@dataclass(frozen=True)
class DemoOutcome:
    exit_code: int  # readyscan scan's
    scan_file: Path | None
    missing: dict[str, set[tuple[str, int]]]  # seeded violations not reported from their zone
    unexpected: dict[str, set[tuple[str, int]]]  # violations reported that the lab does not seed


def readyscan() -> list[str]:
    return [sys.executable, "-m", "scanner"]


def private_file(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    return path


def site_keys(folder: Path) -> dict[str, Path]:
    """A CA, the control site and one site per zone, each trusting every other."""
    from scanner.app.zones.security import issue_sites

    sites = issue_sites(folder, ["control", *(v.zone for v in zones.VANTAGES)])
    return {name: site.folder for name, site in sites.items()}


@contextmanager
def zone_workers(keys: dict[str, Path], broker_file: Path, logs: Path) -> Iterator[dict[str, subprocess.Popen]]:
    """`readyscan worker --zone Z` in each vantage's namespace; stopped by PID (warm shutdown)."""
    procs: dict[str, subprocess.Popen] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("READYSCAN_")}
    try:
        for v in zones.VANTAGES:
            with (logs / f"worker-{v.zone}.log").open("wb") as out:
                procs[v.zone] = subprocess.Popen(
                    ["ip", "netns", "exec", v.netns, *readyscan(), "worker", str(STATE_ZONED_INVENTORY),
                     "--zone", v.zone, "--keys", str(keys[v.zone]), "--broker-url-file", str(broker_file),
                     "--broker-ca", str(CA_CERT), "--concurrency", str(WORKER_CONCURRENCY), "--lang", "en"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        yield procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def compare(found: dict[str, set[tuple[str, int]]], hosts: list[LabHost]) -> tuple[dict, dict]:
    expected = zones.expected_violations(hosts)
    missing = {z: cells - found.get(z, set()) for z, cells in expected.items() if cells - found.get(z, set())}
    unexpected = {z: cells - expected.get(z, set()) for z, cells in found.items() if cells - expected.get(z, set())}
    return missing, unexpected


def found_violations(scan_file: Path) -> dict[str, set[tuple[str, int]]]:
    from scanner.scanfile import load

    reach = load(scan_file).summary.reachability
    found: dict[str, set[tuple[str, int]]] = {}
    for service, zone in reach.violations():
        found.setdefault(zone, set()).add((service.host, service.port))
    return found


def running_hosts() -> int:
    return len(Record().hosts) if PIDS_FILE.exists() else 0


def run(lang: str = "vi", results_dir: Path = ROOT / "results", count: int | None = None, log=print) -> DemoOutcome:
    """`count`: the lab's size (default: the running lab's, else the default six hosts)."""
    count = count or running_hosts() or DEFAULT_HOSTS
    hosts = plan_hosts(count)
    lifecycle.up(count, log=log, with_zones=True)
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(mode=0o700, parents=True)
    key, cert = pki.make_server_certificate("lab", LabHost("broker", "", 0, str(BRIDGE_ADDRESS)), WORKDIR)
    with ExitStack() as stack:
        broker = stack.enter_context(Redis(Tls(CA_CERT, cert, key), bind=str(BRIDGE_ADDRESS),
                                           port=zones.BROKER_PORT, password=secrets.token_urlsafe(18)))
        database = stack.enter_context(Postgres())
        broker_file = private_file(WORKDIR / "broker.url", broker.url)
        database_file = private_file(WORKDIR / "database.url", database.url)
        keys = site_keys(WORKDIR / "keys")
        log(f"broker {broker.bind}:{broker.port} (TLS), store 127.0.0.1:{database.port}, "
            f"workers in {', '.join(v.netns for v in zones.VANTAGES)}")
        stack.enter_context(zone_workers(keys, broker_file, WORKDIR))
        results_dir.mkdir(parents=True, exist_ok=True)
        out = results_dir / f"zones-{secrets.token_hex(4)}.json"
        done = subprocess.run([*readyscan(), "scan", str(STATE_ZONED_INVENTORY), "--keys", str(keys["control"]),
                               "--broker-url-file", str(broker_file), "--database-url-file", str(database_file),
                               "--broker-ca", str(CA_CERT), "-o", str(out), "--lang", lang],
                              cwd=ROOT, env={k: v for k, v in os.environ.items() if not k.startswith("READYSCAN_")},
                              check=False)
    if not out.exists():
        return DemoOutcome(done.returncode, None, zones.expected_violations(hosts), {})
    missing, unexpected = compare(found_violations(out), hosts)
    return DemoOutcome(done.returncode, out, missing, unexpected)


def main() -> int:
    if os.geteuid() != 0:
        print("demo-zones: the lab needs root (network namespaces, daemons)", file=sys.stderr)
        return 2
    try:
        outcome = run(log=lambda message: print(message, file=sys.stderr))
    except LabError as error:
        print(f"demo-zones: {error}", file=sys.stderr)
        return 2
    if outcome.scan_file is None:
        print(f"demo-zones: the scan wrote no scan file (exit {outcome.exit_code})", file=sys.stderr)
        return 1
    for zone, cells in sorted(outcome.missing.items()):
        print(f"demo-zones: not reported from {zone}: {sorted(cells)}", file=sys.stderr)
    for zone, cells in sorted(outcome.unexpected.items()):
        print(f"demo-zones: reported from {zone} but not seeded: {sorted(cells)}", file=sys.stderr)
    if outcome.missing or outcome.unexpected:
        return 1
    seeded = sum(len(cells) for cells in zones.expected_violations(plan_hosts(running_hosts())).values())
    print(f"demo-zones: all {seeded} seeded violations reported from the zone that sees them, none elsewhere",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
