"""The scan file: round trip, committed schema, atomic writes, full disk, kill -9 mid-write, and
facts written by an earlier release still judged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from checks import default_registry
from reports import Texts
from scanner.app.engine import Engine, judge
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.collectors.catalog import default_collectors
from scanner.facts.http import HttpFacts
from scanner.facts.sshserver import SshServers
from scanner.facts.tls import TlsFacts
from scanner.inventory import load_inventory, parse_inventory
from scanner.model import Observation, Status
from scanner.scanfile import ScanFile, ScanFileError, load, save, write_atomic
from scanner.thresholds import load_thresholds
from tests.paths import ROOT

SCHEMA = ROOT / "docs" / "scanfile.schema.json"


@pytest.fixture(scope="module")
def local_scan() -> ScanFile:
    loaded = load_inventory(ROOT / "inventories" / "localhost.yaml")
    registry = default_registry()
    engine = Engine(registry, default_collectors(), load_thresholds())
    return engine.scan(ScanContext(loaded=loaded, options=ScanOptions()), registry.select(None))


def test_round_trip_is_lossless(local_scan, tmp_path):
    path = tmp_path / "scan.json"
    save(local_scan, path)
    again = load(path)
    assert again == local_scan
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_checks_rerun_offline_from_the_scan_file(local_scan, tmp_path):
    path = tmp_path / "scan.json"
    save(local_scan, path)
    stored = load(path)
    registry = default_registry()
    inventory = load_inventory(ROOT / "inventories" / "localhost.yaml").inventory
    observations = {name: rec.observations for name, rec in stored.hosts.items()}
    per_host, org = judge(registry, registry.select(None), inventory, observations, load_thresholds(), stored.started)
    assert per_host["localhost"] == stored.hosts["localhost"].results
    assert org == stored.org_results


def test_committed_schema_matches_the_model():
    current = json.dumps(ScanFile.model_json_schema(), indent=1, sort_keys=True) + "\n"
    if os.environ.get("READYSCAN_WRITE_SCHEMA") == "1":
        SCHEMA.write_text(current)
    assert SCHEMA.read_text() == current, "scan file model changed: bump SCHEMA_VERSION if incompatible, " \
                                          "then regenerate with READYSCAN_WRITE_SCHEMA=1"


@pytest.mark.parametrize("content,message", [
    (b"{not json", "not valid JSON"),
    (b'{"schema_version": 99}', "schema version 1"),
    (b'{"schema_version": 1, "started": "x"}', "invalid scan file"),
])
def test_bad_scan_files_are_refused_clearly(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ScanFileError, match=message):
        load(path)


def test_atomic_write_leaves_no_temp_file(tmp_path):
    target = tmp_path / "out" / "scan.json"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["scan.json"]


@pytest.fixture
def tiny_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_keeps_the_previous_file(tiny_disk, local_scan):
    path = tiny_disk / "scan.json"
    path.write_bytes(b'{"previous": true}')
    bloated = local_scan.model_copy(update={"incomplete_reason": "x" * 200_000})
    with pytest.raises(ScanFileError, match="No space left"):
        save(bloated, path)
    assert path.read_bytes() == b'{"previous": true}'
    assert [p.name for p in tiny_disk.iterdir()] == ["scan.json"]


def test_kill_9_mid_write_never_corrupts(tmp_path):
    """A writer killed at a random moment leaves either the old file or the new one, whole."""
    target = tmp_path / "scan.json"
    old = json.dumps({"n": -1, "pad": "o" * 1000})
    target.write_text(old)
    writer = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from scanner.scanfile import write_atomic\n"
        "for n in range(100000):\n"
        "    write_atomic(Path(sys.argv[1]), json.dumps({'n': n, 'pad': 'x' * 3_000_000}).encode())\n"
    )
    for delay in (0.3, 0.55, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", writer, str(target)], cwd=ROOT)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = json.loads(target.read_text())  # whole JSON, whichever version
        assert data["n"] == -1 or len(data["pad"]) == 3_000_000


# -- endpoint errors as readyscan 0.1.0 wrote them ------------------------------------------------
# Each family's failed endpoint in the old words (hand-made in the shape 0.1.0's collectors wrote),
# the word it must be read as today, and the message parameter that carries it.
OLD_ENDPOINTS = {
    "tls": (TlsFacts, [{"port": 8443, "kind": "https", "address": "127.0.0.1", "server_name": "web.test",
                        "error": {"reason": "scan_error", "detail": "sslyze ended without a result"}}],
            "error", "reason"),
    "http": (HttpFacts, [{"port": 8443, "kind": "https", "address": "127.0.0.1", "host_header": "web.test:8443",
                          "url": "https://127.0.0.1:8443/",
                          "error": {"reason": "tls_error", "detail": "SSLError: wrong version number"}}],
             "tls_handshake_failed", "reason"),
    # One endpoint answered (else the whole observation is not ok and no endpoint is judged).
    "sshserver": (SshServers, [{"port": 22, "address": "127.0.0.1", "outcome": "ok", "detail": ""},
                               {"port": 8443, "address": "127.0.0.1", "outcome": "unreachable",
                                "detail": "connection refused by 127.0.0.1:8443"}],
                  "unreachable", "outcome"),
}
OLD_INVENTORY = """organization: {name: Thử nghiệm}
defaults: {transport: none}
hosts:
  - name: web
    address: 127.0.0.1
    fqdn: web.test
    zone: dmz
    services: [{port: 22, kind: ssh}, {port: 8443, kind: https}]
"""


@pytest.mark.parametrize("family", sorted(OLD_ENDPOINTS))
def test_old_endpoint_error_words_validate_as_todays(family):
    model, endpoints, word, _ = OLD_ENDPOINTS[family]
    parsed = model.model_validate({"endpoints": endpoints}).endpoints
    assert parsed[-1].error.reason == word
    assert parsed[-1].error.detail and parsed[-1].error.detail in json.dumps(endpoints[-1])
    assert all(e.error is None for e in parsed[:-1])  # an SSH endpoint that was "ok" has no error


def test_trace_error_in_old_words_validates_as_todays():
    endpoint = {**OLD_ENDPOINTS["http"][1][0], "error": None,
                "trace_error": {"reason": "tls_error", "detail": "handshake failed"}}
    assert HttpFacts.model_validate({"endpoints": [endpoint]}).endpoints[0].trace_error.reason == "tls_handshake_failed"


@pytest.mark.parametrize("family", sorted(OLD_ENDPOINTS))
def test_an_old_scan_files_failed_endpoint_is_judged_error_with_todays_word(registry, family):
    model, endpoints, word, param = OLD_ENDPOINTS[family]
    stored = {"collector": family, "outcome": "ok", "started": "2026-11-20T08:00:00Z",
              "ended": "2026-11-20T08:00:01Z", "data": {"endpoints": endpoints}}
    observation = Observation.model_validate_json(json.dumps(stored))  # as scanfile.load reads it
    inventory = parse_inventory(OLD_INVENTORY, "old.yaml")
    per_host, _ = judge(registry, registry.select([f"{family}.*" if family != "sshserver" else "sshd.*"]), inventory,
                        {"web": {family: observation}}, load_thresholds(), observation.started)
    failed = [r for r in per_host["web"] if r.target == "8443/tcp"]
    assert failed and {r.status for r in failed} == {Status.ERROR}
    assert {r.message.params[param] for r in failed} == {word}
    for lang in ("vi", "en"):
        texts = Texts.for_lang(lang)
        assert all(f"({word})" in texts.message(r) for r in failed)
