"""Secrets (issue 8, item 5): a real scan, through the CLI, that logs in with an encrypted key and
its passphrase and runs the privileged probes with a sudo password, both from environment
variables, on the lab host hostile-sudo (lab/hostile.py: sudo asks rsscan for its password).

Neither secret may appear in the scan file, the HTML report, the CLI's output, the target's logs
(auth.log, sudo's own log, the daemons' logs, what it forwards to the lab's log collector), or the
command line of any process on either side while the scan runs; on the target, not in any
process's environment either. Both are random per run, so a match can only be a leak.

Needs root and `ip netns` (skips otherwise). Every probe goes to 10.203.0.0/24 only.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from lab import layout, procs
from scanner.model import Outcome
from scanner.scanfile import ScanFile, load
from tests.paths import ROOT

pytest_plugins = ["tests.labfixture", "tests.hostilefixture"]   # the fixtures `lab`, `hostile_lab`
pytestmark = pytest.mark.lab

HOSTILE_HOSTS = ["hostile-sudo"]
TARGET = "hostile-sudo"
SUDO_ENV = "READYSCAN_TEST_SUDO_PASSWORD"
PASSPHRASE_ENV = "READYSCAN_TEST_KEY_PASSPHRASE"
SAMPLE_SECONDS = 0.02
HANG_GUARD_SECONDS = 600   # the CLI must have ended by then (a hang guard, not a benchmark)


@dataclass
class ProcessWatch:
    """Every distinct command line seen on the machine while it runs, split by side (the target's
    PID namespace, and everything else: the scanner and its children), and the environments of the
    target's processes."""

    target_namespace: str
    scanner: set[bytes] = field(default_factory=set)
    target: set[bytes] = field(default_factory=set)
    target_environments: set[bytes] = field(default_factory=set)
    rounds: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    self.look_at(int(entry.name))
            self.rounds += 1
            time.sleep(SAMPLE_SECONDS)

    def look_at(self, pid: int) -> None:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            on_target = procs.pid_namespace(pid) == self.target_namespace
            if on_target:
                self.target_environments.add(Path(f"/proc/{pid}/environ").read_bytes())
        except OSError:   # gone meanwhile
            return
        (self.target if on_target else self.scanner).add(cmdline.replace(b"\0", b" ").strip())


@dataclass(frozen=True)
class SecretScan:
    password: str
    passphrase: str
    key: Path                 # the encrypted key the scan logged in with
    scan: ScanFile
    texts: dict[str, bytes]   # where a secret must not be -> what is there
    watch: ProcessWatch
    returncode: int


def encrypted_copy(key: Path, passphrase: str, out: Path) -> Path:
    """The lab's client key, encrypted with `passphrase` (in-process: no command line holds it)."""
    private = serialization.load_ssh_private_key(key.read_bytes(), password=None)
    out.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                          serialization.BestAvailableEncryption(passphrase.encode())))
    out.chmod(0o600)
    return out


def secrets_inventory(hostile_lab, key: Path, out: Path) -> Path:
    """The hostile inventory cut down to hostile-sudo, with the encrypted key and both secrets
    named by their environment variables (absolute paths: the file lives elsewhere)."""
    doc = yaml.safe_load(hostile_lab.inventory.read_text(encoding="utf-8"))
    doc["hosts"] = [h for h in doc["hosts"] if h["name"] == TARGET]
    for system in doc["systems"]:
        system["hosts"] = [name for name in system["hosts"] if name == TARGET]
    doc["systems"] = [system for system in doc["systems"] if system["hosts"]]
    doc["defaults"]["ssh"].update(key=str(key), key_passphrase_env=PASSPHRASE_ENV, sudo_password_env=SUDO_ENV,
                                  known_hosts=str(hostile_lab.known_hosts))
    doc["scan"]["ca_bundle"] = str(hostile_lab.ca)
    out.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def secret_scan(hostile_lab, tmp_path_factory) -> SecretScan:
    folder = tmp_path_factory.mktemp("secrets")
    passphrase, password = secrets.token_urlsafe(16), hostile_lab.sudo_password
    key = encrypted_copy(hostile_lab.key, passphrase, folder / "id_ed25519_encrypted")
    inventory = secrets_inventory(hostile_lab, key, folder / "secrets.yaml")
    results = folder / "results"
    watch = ProcessWatch(procs.pid_namespace(hostile_lab.init(TARGET).pid))
    sampler = threading.Thread(target=watch.run, name="process-watch", daemon=True)
    sampler.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "scanner", "scan", str(inventory), "--results-dir", str(results)],
                              cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, timeout=HANG_GUARD_SECONDS,
                              env=dict(os.environ, CI="true", **{SUDO_ENV: password, PASSPHRASE_ENV: passphrase}))
    finally:
        watch.stop.set()
        sampler.join()
    [scan_path] = results.glob("*.json")
    target = hostile_lab.state(TARGET)
    texts = {"stdout": proc.stdout, "stderr": proc.stderr, **files_under(results),
             **files_under(target / "log"), **files_under(target / "run" / "lab"),
             "collector.log": layout.COLLECTOR_LOG.read_bytes() if layout.COLLECTOR_LOG.exists() else b""}
    return SecretScan(password, passphrase, key, load(scan_path), texts, watch, proc.returncode)


# --- the secrets were needed, and used ----------------------------------------------------------
def test_sudo_on_the_target_really_asks_for_a_password(hostile_lab):
    argv = ["ssh", "-F", "/dev/null", "-i", str(hostile_lab.key), "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={hostile_lab.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            f"{layout.SCAN_USER}@{hostile_lab.hosts[TARGET].address}", "sudo -n true"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "password is required" in result.stderr, result


def test_the_key_the_scan_used_cannot_be_read_without_its_passphrase(secret_scan):
    with pytest.raises((TypeError, paramiko.SSHException)):
        paramiko.PKey.from_path(str(secret_scan.key), None)
    assert paramiko.PKey.from_path(str(secret_scan.key), secret_scan.passphrase.encode()).get_name() == "ssh-ed25519"


def test_the_privileged_probes_ran_through_sudo_with_the_password(secret_scan):
    obs = secret_scan.scan.hosts[TARGET].observations["host"]
    assert obs.outcome == Outcome.OK, obs.detail
    assert obs.data["become"] and not obs.data["is_root"]
    assert obs.data["notes"] == []   # no "sudo failed", no fallback to the unprivileged view
    privileged = [c for c in obs.data["commands"] if c["privileged"]]
    assert privileged and all(c["exit_status"] == 0 for c in privileged)
    assert "sshd_config" in obs.data["parsed"]   # `sshd -T`, which needs root
    assert secret_scan.returncode in (0, 1, 3)


# --- and appear nowhere -------------------------------------------------------------------------
def test_neither_secret_is_in_the_scan_file_report_output_or_any_log(secret_scan):
    assert any(name.endswith(".json") for name in secret_scan.texts)
    assert any(name.endswith(".html") for name in secret_scan.texts)
    auth_log = next(text for name, text in secret_scan.texts.items() if name.endswith("/log/auth.log"))
    assert re.search(rb"sudo: +rsscan : .*USER=root ; COMMAND=\S*/sh -s", auth_log)   # sudo's use was logged
    scan_file = next(text for name, text in secret_scan.texts.items() if name.endswith(".json"))
    assert SUDO_ENV.encode() in scan_file and PASSPHRASE_ENV.encode() in scan_file   # names only
    for secret in (secret_scan.password, secret_scan.passphrase):
        leaks = [name for name, text in secret_scan.texts.items() if secret.encode() in text]
        assert leaks == []


def test_neither_secret_is_on_any_command_line_on_either_side(secret_scan):
    watch = secret_scan.watch
    assert watch.rounds > 10
    # The watch did see both sides at work: the CLI here, and sudo running the probe script there.
    assert any(b"-m scanner scan" in line for line in watch.scanner)
    assert any(b"sudo" in line and b"sh -s" in line for line in watch.target), sorted(watch.target)
    for secret in (secret_scan.password, secret_scan.passphrase):
        assert [line for line in watch.scanner | watch.target if secret.encode() in line] == []
        assert [env for env in watch.target_environments if secret.encode() in env] == []


def test_secrets_leave_the_environment_before_any_child_starts(tmp_path, monkeypatch):
    """The scan command moves the named secrets into memory: nmap, ssh or sudo started later
    inherit an environment without them."""
    from scanner.connect import sudo_password, take_secrets
    from scanner.inventory import load_inventory

    inv = tmp_path / "inv.yaml"
    inv.write_text("organization: {name: T}\n"
                   "defaults: {ssh: {user: u, sudo_password_env: RS_TEST_SUDO, key_passphrase_env: RS_TEST_KEY}}\n"
                   "hosts: [{name: h, address: 127.0.0.1, zone: z}]\n", encoding="utf-8")
    monkeypatch.setenv("RS_TEST_SUDO", "s3cret-sudo")
    monkeypatch.setenv("RS_TEST_KEY", "s3cret-key")
    loaded = load_inventory(inv)
    secrets = take_secrets(loaded)
    assert secrets == {"RS_TEST_KEY": "s3cret-key", "RS_TEST_SUDO": "s3cret-sudo"}
    child = subprocess.run(["env"], capture_output=True, text=True).stdout
    assert "s3cret" not in child and "RS_TEST_" not in child
    assert sudo_password(loaded, loaded.inventory.hosts[0], secrets) == "s3cret-sudo"
