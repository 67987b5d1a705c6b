"""Engine behaviour with real processes: a silent SSH port, a dead port and this machine scanned
together; Ctrl-C and SIGTERM mid-scan; the registry's refusal to judge from missing facts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from checks import default_registry
from scanner.app.engine import Engine
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.collectors.catalog import default_collectors
from scanner.collectors.host import build_script, split_output
from scanner.inventory import load_inventory
from scanner.model import Outcome, Status
from scanner.scanfile import ScanFileError, load
from scanner.thresholds import load_thresholds
from scanner.transport.local import LocalTransport
from tests.paths import ROOT


class SilentListener:
    """Accepts TCP connections and never says a word (a middlebox that swallows the session)."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() so the port is freed
        except OSError:
            pass
        self.sock.close()
        for conn in self.held:
            conn.close()


def write_inventory(tmp_path: Path, silent_port: int, connect_timeout: float = 1.5) -> Path:
    inv = tmp_path / "inv.yaml"
    inv.write_text(f"""\
organization: {{name: Test}}
defaults:
  ssh: {{user: root, known_hosts: {tmp_path}/known_hosts, connect_timeout: {connect_timeout}}}
hosts:
  - {{name: here, address: 127.0.0.1, zone: mgmt, transport: local}}
  - {{name: silent, address: 127.0.0.1, zone: dmz, transport: ssh, ssh: {{port: {silent_port}}}}}
  - {{name: closed, address: 127.0.0.1, zone: dmz, transport: ssh, ssh: {{port: 21098}}}}
  - {{name: appliance, address: 127.0.0.1, zone: dmz, transport: none}}
scan: {{concurrency: 4}}
""", encoding="utf-8")
    return inv


@pytest.fixture
def silent():
    listener = SilentListener(0)
    yield listener
    listener.close()


def test_failing_hosts_do_not_stop_the_others_and_never_pass(tmp_path, silent):
    loaded = load_inventory(write_inventory(tmp_path, silent.port))
    registry = default_registry()
    engine = Engine(registry, default_collectors(), load_thresholds())
    scan = engine.scan(ScanContext(loaded=loaded, options=ScanOptions()), registry.select(["system.*", "declared.*"]))
    assert scan.complete
    host_obs = {name: rec.observations["host"] for name, rec in scan.hosts.items()}
    assert host_obs["here"].outcome == Outcome.OK
    assert host_obs["here"].data["parsed"]["os_release"]["id"]
    assert host_obs["silent"].outcome == Outcome.TIMEOUT
    assert host_obs["closed"].outcome == Outcome.UNREACHABLE
    assert host_obs["appliance"].outcome == Outcome.NOT_COLLECTED
    for name in ("silent", "closed"):
        [result] = scan.hosts[name].results
        assert result.status == Status.ERROR and result.message.key == "_not_observed"
    assert scan.hosts["appliance"].results[0].status == Status.UNKNOWN
    assert scan.hosts["here"].results[0].status == Status.INFO
    assert scan.phases["host"].ended >= scan.phases["host"].started
    # Declared checks are judged once, for the organisation; none were declared: manual.
    assert {r.status for r in scan.org_results} <= {Status.MANUAL, Status.NOT_APPLICABLE}


def test_registry_never_passes_without_facts(registry):
    from checks.registry import HostContext

    loaded = load_inventory(ROOT / "inventories" / "localhost.yaml")
    host = loaded.inventory.hosts[0]
    for outcome in Outcome:
        if outcome == Outcome.OK:
            continue
        from scanner.model import Observation, utcnow
        obs = Observation(collector="host", outcome=outcome, detail="x", started=utcnow(), ended=utcnow())
        # the same host declared a Windows one: its checks' Windows variants say the same
        for platform in ("linux", "windows"):
            h = host.model_copy(update={"platform": platform})
            inv = loaded.inventory.model_copy(update={"hosts": [h]})
            ctx = HostContext(host=h, inventory=inv, observations={"host": obs},
                              settings=load_thresholds(), now=utcnow())
            for check in registry:
                variant = check.for_platform(platform)
                if variant is not None and "host" in variant.requires:
                    results = registry.run_host_check(check, ctx)
                    assert all(r.status in (Status.ERROR, Status.UNKNOWN) for r in results), (check.id, outcome)


def test_probe_frames_cannot_be_forged_and_rc_is_kept():
    from scanner.facts.system import Kernel
    from scanner.hostprobes import Probe

    hostile = Probe("hostile", "printf '\\n@@0000@@ END hostile 1\\n'; echo after; exit 3", lambda t: Kernel())
    quiet = Probe("quiet", "echo ok", lambda t: Kernel())
    script = build_script([hostile, quiet], "abcdef0123456789")
    result = LocalTransport().run(["sh", "-s"], timeout=10, stdin=script.encode())
    runs = split_output(result.stdout, "abcdef0123456789", privileged=False)
    assert runs["hostile"].exit_status == 3 and "after" in runs["hostile"].output
    assert runs["quiet"].output == "ok\n" and runs["quiet"].exit_status == 0


def test_probe_output_cap_keeps_later_probes():
    from scanner.facts.system import Kernel
    from scanner.hostprobes import Probe

    flood = Probe("flood", "yes | head -c 3000000", lambda t: Kernel(), output_cap=4096)
    after = Probe("after", "echo still-here", lambda t: Kernel())
    nonce = "0011223344556677"
    result = LocalTransport().run(["sh", "-s"], timeout=20, stdin=build_script([flood, after], nonce).encode())
    runs = split_output(result.stdout, nonce, privileged=False)
    assert runs["flood"].truncated and runs["flood"].exit_status is None and len(runs["flood"].output) <= 4096
    assert runs["after"].output == "still-here\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_writes_a_valid_partial_scan_file(tmp_path, silent, sig):
    inv = write_inventory(tmp_path, silent.port, connect_timeout=60)
    out = tmp_path / "scan.json"
    proc = subprocess.Popen([sys.executable, "-m", "scanner", "scan", str(inv), "-o", str(out), "--no-report",
                             "--checks", "system.*"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, CI="true"))
    # Wait for the local host's facts to reach a checkpoint of the scan file: they must survive.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            partial = load(out)
            if partial.hosts["here"].observations["host"].outcome == Outcome.OK:
                assert not partial.complete and partial.incomplete_reason == "in progress"
                break
        except (ScanFileError, KeyError):
            pass
        time.sleep(0.2)
    else:
        pytest.fail("no checkpoint with the local host's facts within 60 s")
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 3, stderr
    scan = load(out)
    assert not scan.complete and scan.incomplete_reason == "interrupted"
    assert scan.hosts["here"].observations["host"].outcome == Outcome.OK
    assert scan.hosts["silent"].observations["host"].outcome in (Outcome.NOT_COLLECTED, Outcome.TIMEOUT,
                                                                 Outcome.ERROR)
    assert not any(r.status == Status.PASS for r in scan.hosts["silent"].results)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert json.loads(out.read_text())["schema_version"] == 1
