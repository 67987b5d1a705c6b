"""SSH servers from the network: the hand-written identification/KEXINIT reader against recorded
server bytes (tests/fixtures/sshserver/, see record.py there), the checks against recorded facts,
and the whole probe against real sshd processes and hostile little servers started here on
127.0.0.1 (free ports of 22100-22199)."""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner.app.engine import judge
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.collectors.sshserver import (
    MAX_LINE,
    SshServerCollector,
    Wire,
    parse_kexinit,
    probe_endpoint,
    read_identification,
    read_kexinit,
    split_packet,
)
from scanner.facts.sshserver import Identification, SshServers
from scanner.inventory import LoadedInventory, parse_inventory
from scanner.model import Observation, Outcome, Status
from scanner.thresholds import load_thresholds
from tests.sshd import ensure_privsep_dir

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sshserver"
NOW = datetime(2026, 11, 26, tzinfo=UTC)
SSHD = "/usr/sbin/sshd"
TIMEOUT = 1.0  # scan.timeouts.connect for the live tests

# sshd settings passed as -o options (they win over the config file). OpenSSH 9.2 still lets a
# server add the weak algorithms back with "+".
STRICT = {
    "KexAlgorithms": "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org",
    "Ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr",
    "MACs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
    "HostKeyAlgorithms": "ssh-ed25519",
    "PasswordAuthentication": "no",
    "KbdInteractiveAuthentication": "no",
}
WEAK = {
    "KexAlgorithms": "+diffie-hellman-group14-sha1,diffie-hellman-group1-sha1",
    "Ciphers": "+aes128-cbc,3des-cbc",
    "MACs": "+hmac-sha1,hmac-md5",
    "HostKeyAlgorithms": "+ssh-rsa",
    "PasswordAuthentication": "yes",
    "KbdInteractiveAuthentication": "yes",
}
# Only what paramiko 5 cannot speak: SHA-1 key exchange and ssh-rsa host keys.
LEGACY_ONLY = {"KexAlgorithms": "diffie-hellman-group14-sha1", "HostKeyAlgorithms": "ssh-rsa",
               "PasswordAuthentication": "yes"}
# Debian's sshd appends its package revision to the version line unless told not to.
NO_DISTRO_BANNER = {**STRICT, "DebianBanner": "no"}
SERVERS = {"strict": STRICT, "weak": WEAK, "legacy": LEGACY_ONLY, "nobanner": NO_DISTRO_BANNER}
PORT_RANGE = range(22100, 22200)  # this module's loopback ports


def free_port() -> int:
    """A port of PORT_RANGE nothing listens on now (random order: a concurrent run of the suite
    picks other ports)."""
    for port in random.sample(PORT_RANGE, len(PORT_RANGE)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in the test range")


def start_sshd(workdir: Path, port: int, options: dict[str, str]) -> subprocess.Popen:
    """A real sshd on 127.0.0.1:port with its own host keys; the caller ends it by PID."""
    workdir.mkdir(parents=True, exist_ok=True)
    keys = []
    for kind in ("ed25519", "rsa"):
        key = workdir / f"host_{kind}"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
        keys.append(key)
    config = workdir / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\n" + "".join(f"HostKey {k}\n" for k in keys)
                      + "PidFile none\nUsePAM no\nStrictModes no\nLogLevel ERROR\n")
    ensure_privsep_dir()
    argv = [SSHD, "-D", "-e", "-f", str(config)] + [a for k, v in options.items() for a in ("-o", f"{k}={v}")]
    log = open(workdir / "sshd.log", "wb")  # noqa: SIM115 (sshd writes to it until stopped)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"sshd did not start: {(workdir / 'sshd.log').read_text()}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def inventory(services: dict[str, list[int]], timeout: float = TIMEOUT):
    hosts = "".join(f"  - name: {name}\n    address: 127.0.0.1\n    zone: dmz\n    services: ["
                    + ", ".join(f"{{port: {p}, kind: ssh}}" for p in ports) + "]\n"
                    for name, ports in services.items())
    return parse_inventory("organization: {name: Thử nghiệm}\ndefaults: {transport: none}\n"
                           f"scan: {{timeouts: {{connect: {timeout}}}}}\nhosts:\n{hosts}", "test.yaml")


def collect(inv) -> dict[str, Observation]:
    got: dict[str, Observation] = {}
    ctx = ScanContext(LoadedInventory(inv, Path("/nonexistent/test.yaml"), "test"), ScanOptions())
    SshServerCollector().collect(ctx, list(inv.hosts), lambda host, obs: got.__setitem__(host, obs))
    return got


def run_checks(registry, inv, observations: dict[str, Observation]):
    per_host, _ = judge(registry, registry.select(["sshd.*"]), inv, {h: {"sshserver": o} for h, o in observations.items()},
                        load_thresholds(), NOW)
    return per_host


def verdicts(results) -> dict[str, tuple[str, str]]:
    """check id -> (status, message key), for hosts with one endpoint."""
    out = {}
    for r in results:
        assert r.check_id not in out, "one endpoint, one verdict"
        out[r.check_id] = (r.status.value, r.message.key if r.message else "")
    return out


def assert_messages_exist(catalog, results) -> None:
    for r in results:
        full = (f"common.{r.message.key[1:]}" if r.message.key.startswith("_")
                else f"{r.check_id}.messages.{r.message.key}")
        assert catalog.has(full), full
        for lang in ("vi", "en"):
            assert "{" not in catalog.message(r.check_id, r.message.key, r.message.params, lang), (full, lang)


def fixture(name: str) -> dict:
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    assert doc["source"]
    return doc


# -- the identification line ---------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "protocol", "product", "version", "openssh"), [
    ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "2.0", "OpenSSH", "9.2p1", (9, 2, 1)),
    ("SSH-2.0-OpenSSH_7.4", "2.0", "OpenSSH", "7.4", (7, 4, 0)),
    ("SSH-2.0-OpenSSH_10.0", "2.0", "OpenSSH", "10.0", (10, 0, 0)),
    ("SSH-1.99-Cisco-1.25", "1.99", "Cisco-1.25", None, None),
    ("SSH-2.0-dropbear_2022.83", "2.0", "dropbear", "2022.83", None),
    ("SSH-2.0-OpenSSH_for_Windows_8.1", "2.0", "OpenSSH", "for_Windows_8.1", None),
    ("HTTP/1.1 400 Bad Request", None, None, None, None),
])
def test_identification_line(line, protocol, product, version, openssh):
    ident = Identification.parse(line)
    assert (ident.protocol, ident.product, ident.version, ident.openssh_version) == (protocol, product, version, openssh)
    assert ident.raw == line


# -- the reader, on recorded server bytes (fed through a local socket pair, no network) --------------------

def wire_with(data: bytes, seconds: float = 2.0) -> Wire:
    ours, theirs = socket.socketpair()
    theirs.sendall(data)
    theirs.shutdown(socket.SHUT_WR)
    wire = Wire(ours, time.monotonic() + seconds)
    wire.keep_alive = theirs  # the peer must outlive the reads
    return wire


def recorded_bytes(name: str) -> bytes:
    return bytes.fromhex(fixture(name)["server_bytes_hex"])


def kexinit_payload(raw: bytes) -> bytes:
    ident_end = raw.index(b"\n") + 1
    (length,) = struct.unpack(">I", raw[ident_end:ident_end + 4])
    return split_packet(raw[ident_end + 4: ident_end + 4 + length])


def test_read_recorded_weak_server():
    raw = recorded_bytes("bytes-weak")
    wire = wire_with(raw)
    before, line = read_identification(wire)
    assert before == [] and line.startswith("SSH-2.0-OpenSSH_9.2p1")
    kex = read_kexinit(wire)
    assert "diffie-hellman-group14-sha1" in kex.kex and "diffie-hellman-group1-sha1" in kex.kex
    assert "kex-strict-s-v00@openssh.com" in kex.kex
    assert kex.host_key == ("ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
    assert {"aes128-cbc", "3des-cbc"} <= set(kex.ciphers_c2s) and kex.ciphers_c2s == kex.ciphers_s2c
    assert {"hmac-sha1", "hmac-md5"} <= set(kex.macs_s2c)
    assert kex.compression_c2s == ("none", "zlib@openssh.com") and kex.languages_c2s == ()
    assert kex == parse_kexinit(kexinit_payload(raw))


def test_lines_before_the_version_line_are_kept_capped():
    raw = b"".join(b"Welcome to host %d\r\n" % i for i in range(50)) + recorded_bytes("bytes-strict")
    before, line = read_identification(wire_with(raw))
    assert len(before) == 20 and before[0] == "Welcome to host 0" and line.startswith("SSH-2.0-")


def _mutated(payload: bytes, offset_of_first_list_byte: int, new: bytes) -> bytes:
    return payload[:offset_of_first_list_byte] + new + payload[offset_of_first_list_byte + len(new):]


@pytest.mark.parametrize("damage", ["truncated", "nul_in_name", "non_ascii", "long_name", "empty_name",
                                    "list_past_end", "not_kexinit"])
def test_malformed_kexinit_is_rejected(damage):
    payload = kexinit_payload(recorded_bytes("bytes-strict"))
    first = 1 + 16  # message number and cookie come first; the kex name-list follows
    (length,) = struct.unpack_from(">I", payload, first)
    names = payload[first + 4:first + 4 + length]
    if damage == "truncated":
        payload = payload[: len(payload) // 2]
    elif damage == "nul_in_name":
        payload = _mutated(payload, first + 4, b"\x00")
    elif damage == "non_ascii":
        payload = _mutated(payload, first + 4, "é".encode())
    elif damage == "long_name":
        long = b"x" * 65
        payload = payload[:first] + struct.pack(">I", len(long)) + long + payload[first + 4 + length:]
    elif damage == "empty_name":
        bad = b"," + names[1:]
        payload = payload[:first + 4] + bad + payload[first + 4 + length:]
    elif damage == "list_past_end":
        payload = payload[:first] + struct.pack(">I", 10**6) + payload[first + 4:]
    elif damage == "not_kexinit":
        payload = b"\x15" + payload[1:]
    with pytest.raises(ValueError):
        parse_kexinit(payload)


@pytest.mark.parametrize(("data", "reason", "words"), [
    (b"A" * (MAX_LINE + 10), "protocol_error", "longer than 255"),
    (b"x\r\n" * 1100, "protocol_error", "more than 1024 lines"),
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "error", "closed the connection"),
    (b"SSH-2.0-Fake\r\n\xff\xff\xff\xff", "protocol_error", "packet length"),
    (b"SSH-2.0-Fake\r\n\x00\x00\x00\x10\x04" + b"\x15" * 15, "protocol_error", "unexpected message"),
    (b"SSH-2.0-Fake\r\n\x00\x00\x00\x10\x05", "error", "closed the connection"),
])
def test_hostile_bytes_give_a_reason_not_a_crash(data, reason, words):
    from scanner.collectors.sshserver import ProbeFailure
    wire = wire_with(data)
    with pytest.raises(ProbeFailure) as caught:
        read_identification(wire)
        read_kexinit(wire)
    assert caught.value.error.reason == reason and words in caught.value.error.detail


# -- checks over recorded and hand-made facts ---------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("facts-strict", {"sshd.algorithms.weak": ("pass", "none_weak"), "sshd.vuln.terrapin": ("pass", "strict_kex"),
                      "sshd.auth.password_offered": ("pass", "no_password"),
                      "sshd.version.outdated": ("unknown", "distribution_build")}),
    ("facts-weak", {"sshd.algorithms.weak": ("fail", "weak"), "sshd.vuln.terrapin": ("pass", "strict_kex"),
                    "sshd.auth.password_offered": ("fail", "password"),
                    "sshd.version.outdated": ("unknown", "distribution_build")}),
    ("facts-legacy", {"sshd.algorithms.weak": ("fail", "weak"), "sshd.vuln.terrapin": ("pass", "strict_kex"),
                      "sshd.auth.password_offered": ("unknown", "methods_unknown"),
                      "sshd.version.outdated": ("unknown", "distribution_build")}),
    ("facts-nobanner", {"sshd.algorithms.weak": ("pass", "none_weak"), "sshd.vuln.terrapin": ("pass", "strict_kex"),
                        "sshd.auth.password_offered": ("pass", "no_password"),
                        "sshd.version.outdated": ("fail", "outdated")}),
    ("facts-rhel7", {"sshd.algorithms.weak": ("fail", "weak"), "sshd.vuln.terrapin": ("fail", "vulnerable"),
                     "sshd.auth.password_offered": ("fail", "keyboard_interactive"),
                     "sshd.version.outdated": ("fail", "outdated")}),
    ("facts-dropbear-none", {"sshd.algorithms.weak": ("pass", "none_weak"),
                             "sshd.vuln.terrapin": ("pass", "modes_absent"),
                             "sshd.auth.password_offered": ("fail", "none_accepted"),
                             "sshd.version.outdated": ("unknown", "not_openssh")}),
    ("facts-ssh1", {"sshd.algorithms.weak": ("fail", "ssh1_only"), "sshd.vuln.terrapin": ("unknown", "no_kexinit"),
                    "sshd.auth.password_offered": ("unknown", "methods_unknown"),
                    "sshd.version.outdated": ("fail", "outdated")}),
])
def test_checks_on_facts(registry, catalog, name, expected):
    doc = fixture(name)
    inv = inventory({"h": [doc["facts"]["endpoints"][0]["port"]]})
    obs = Observation(collector="sshserver", outcome=Outcome.OK, started=NOW, ended=NOW, data=doc["facts"])
    results = run_checks(registry, inv, {"h": obs})["h"]
    assert_messages_exist(catalog, results)
    assert verdicts(results) == expected
    assert all(r.target == f"{doc['facts']['endpoints'][0]['port']}/tcp" for r in results)


def test_weak_verdict_names_each_algorithm_with_its_source(registry):
    doc = fixture("facts-weak")
    inv = inventory({"h": [doc["facts"]["endpoints"][0]["port"]]})
    obs = Observation(collector="sshserver", outcome=Outcome.OK, started=NOW, ended=NOW, data=doc["facts"])
    (weak,) = [r for r in run_checks(registry, inv, {"h": obs})["h"] if r.check_id == "sshd.algorithms.weak"]
    named = {w["name"]: w for w in weak.evidence["weak"]}
    assert {"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "ssh-rsa", "aes128-cbc", "3des-cbc",
            "hmac-sha1", "hmac-md5", "hmac-sha1-etm@openssh.com", "umac-64@openssh.com"} <= set(named)
    assert "rsa-sha2-256" not in named and "aes128-ctr" not in named and "hmac-sha2-256" not in named
    assert named["3des-cbc"]["severity"] == "high" and "SWEET32" in named["3des-cbc"]["reason"]
    assert "RFC 9142" in named["diffie-hellman-group1-sha1"]["source"]
    assert weak.severity.value == "high"  # the worst row present
    assert weak.evidence["identification"].startswith("SSH-2.0-OpenSSH_9.2p1")


def test_outdated_lists_the_advisories_in_range(registry):
    doc = fixture("facts-nobanner")
    inv = inventory({"h": [doc["facts"]["endpoints"][0]["port"]]})
    obs = Observation(collector="sshserver", outcome=Outcome.OK, started=NOW, ended=NOW, data=doc["facts"])
    (result,) = [r for r in run_checks(registry, inv, {"h": obs})["h"] if r.check_id == "sshd.version.outdated"]
    ids = [a["id"] for a in result.evidence["advisories"]]
    assert "CVE-2024-6387" in ids and "CVE-2023-48795" in ids and "CVE-2025-26466" not in ids  # 9.2p1 < 9.5p1
    assert result.severity.value == "critical"


def test_every_sshd_check_has_texts_and_items(registry, catalog):
    checks = registry.select(["sshd.*"])
    assert {c.id for c in checks} >= {"sshd.algorithms.weak", "sshd.auth.password_offered", "sshd.version.outdated"}
    for check in checks:
        assert check.requires == ("sshserver",)
        assert set(check.survey_items) <= {"XI.2.1.2", "XI.2.1.6"}
        for part in ("title", "remediation"):
            for lang in ("vi", "en"):
                assert catalog.text(f"{check.id}.{part}", lang) != f"{check.id}.{part}"


# -- real sshd ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sshds(tmp_path_factory):
    """name -> (port, log file) of the four real servers, ended by PID at the end of the module."""
    if os.geteuid() != 0 or not Path(SSHD).exists():
        pytest.skip("a real sshd on loopback needs root and openssh-server")
    procs, out = {}, {}
    try:
        for name, options in SERVERS.items():
            workdir, port = tmp_path_factory.mktemp(f"sshd-{name}"), free_port()
            procs[name] = start_sshd(workdir, port, {**options, "LogLevel": "VERBOSE"})
            out[name] = (port, workdir / "sshd.log")
        yield out
    finally:
        for proc in procs.values():
            stop(proc)


def test_real_sshd_lists_and_verdicts(registry, catalog, sshds):
    inv = inventory({name: [port] for name, (port, _) in sshds.items()})
    got = collect(inv)
    assert {h: o.outcome for h, o in got.items()} == dict.fromkeys(sshds, Outcome.OK)
    facts = {h: SshServers.model_validate(o.data).endpoints[0] for h, o in got.items()}
    strict, weak, legacy = facts["strict"], facts["weak"], facts["legacy"]
    assert strict.kexinit.kex[:3] == ("sntrup761x25519-sha512@openssh.com", "curve25519-sha256",
                                      "curve25519-sha256@libssh.org")
    assert strict.kexinit.host_key == ("ssh-ed25519",)
    assert strict.kexinit.macs_c2s == ("hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com")
    assert strict.auth.methods == ("publickey",) and strict.auth.host_key.type == "ssh-ed25519"
    assert {"aes128-cbc", "3des-cbc"} <= set(weak.kexinit.ciphers_c2s) and "ssh-rsa" in weak.kexinit.host_key
    assert set(weak.auth.methods) == {"publickey", "password", "keyboard-interactive"}
    assert legacy.kexinit.kex[0] == "diffie-hellman-group14-sha1" and legacy.kexinit.host_key == ("ssh-rsa",)
    assert legacy.auth.methods is None and "paramiko" in legacy.auth.reason
    assert facts["nobanner"].identification.comments is None
    results = run_checks(registry, inv, got)
    for host in sshds:
        assert_messages_exist(catalog, results[host])
    assert verdicts(results["strict"]) == {"sshd.algorithms.weak": ("pass", "none_weak"),
                                           "sshd.vuln.terrapin": ("pass", "strict_kex"),
                                           "sshd.auth.password_offered": ("pass", "no_password"),
                                           "sshd.version.outdated": ("unknown", "distribution_build")}
    assert verdicts(results["weak"])["sshd.algorithms.weak"] == ("fail", "weak")
    assert verdicts(results["weak"])["sshd.auth.password_offered"] == ("fail", "password")
    assert verdicts(results["legacy"])["sshd.auth.password_offered"] == ("unknown", "methods_unknown")
    assert verdicts(results["legacy"])["sshd.algorithms.weak"] == ("fail", "weak")
    assert verdicts(results["nobanner"])["sshd.version.outdated"] == ("fail", "outdated")


def test_the_probe_never_authenticates(sshds):
    port, log = sshds["weak"]  # offers password and keyboard-interactive: the probe must not use them
    endpoint = probe_endpoint("127.0.0.1", port, TIMEOUT)
    assert endpoint.error is None and "password" in endpoint.auth.methods
    assert endpoint.auth.username == "readyscan-probe-nouser" and not endpoint.auth.none_accepted
    deadline = time.monotonic() + 5
    while "Invalid user readyscan-probe-nouser" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)  # sshd writes its log asynchronously
    text = log.read_text()
    assert "Invalid user readyscan-probe-nouser" in text
    for attempt in ("Failed password", "Failed publickey", "Failed keyboard-interactive", "Postponed", "Accepted"):
        assert attempt not in text


# -- hostile servers --------------------------------------------------------------------------------------

@pytest.fixture
def scripted():
    """scripted(behave) -> port: a tiny TCP server on 127.0.0.1 running `behave(conn)` for each
    connection, closed at the end of the test."""
    servers: list[socket.socket] = []
    conns: list[socket.socket] = []

    def start(behave: Callable[[socket.socket], None]) -> int:
        server = socket.socket()
        server.bind(("127.0.0.1", free_port()))
        server.listen(8)
        servers.append(server)

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                conns.append(conn)
                threading.Thread(target=_run, args=(behave, conn), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()
        return server.getsockname()[1]

    yield start
    for sock in servers + conns:
        sock.close()


def _run(behave, conn) -> None:
    try:
        behave(conn)
    except OSError:
        pass  # the prober hung up on us, as it should


def silent(conn: socket.socket) -> None:
    time.sleep(30)


def huge_banner(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-" + b"A" * (1024 * 1024) + b"\r\n")


def drip(conn: socket.socket) -> None:
    # A byte every 0.3 s, for ever: each read succeeds well within its timeout, so only the
    # probe's overall deadline stops it (without one, the 255-byte cap would, much later: error).
    conn.sendall(b"SSH-2.0-")
    while True:
        conn.sendall(b"A")
        time.sleep(0.3)


def ssh1(conn: socket.socket) -> None:
    conn.sendall(b"SSH-1.5-OldServer_1.2.27\r\n")
    time.sleep(5)


@pytest.mark.parametrize(("behave", "outcome", "reason", "words"), [
    (silent, Outcome.TIMEOUT, "timeout", "deadline"),
    (huge_banner, Outcome.ERROR, "protocol_error", "longer than 255 bytes"),
    (drip, Outcome.TIMEOUT, "timeout", "deadline"),
])
def test_hostile_servers_give_timeout_or_error_never_pass(registry, scripted, behave, outcome, reason, words):
    port = scripted(behave)
    inv = inventory({"h": [port]})
    got = collect(inv)
    assert got["h"].outcome == outcome and words in got["h"].detail
    endpoint = SshServers.model_validate(got["h"].data).endpoints[0]
    assert endpoint.error.reason == reason and endpoint.auth is None
    results = run_checks(registry, inv, got)["h"]
    assert results and {r.status for r in results} == {Status.ERROR}


def test_refused_port_is_unreachable(registry):
    inv = inventory({"h": [free_port()]})  # nothing listens there
    got = collect(inv)
    assert got["h"].outcome == Outcome.UNREACHABLE and "refused" in got["h"].detail
    assert SshServers.model_validate(got["h"].data).endpoints[0].error.reason == "refused"
    assert {r.status for r in run_checks(registry, inv, got)["h"]} == {Status.ERROR}


def test_ssh1_server_is_recorded_and_failed(registry, catalog, scripted):
    port = scripted(ssh1)
    inv = inventory({"h": [port]})
    got = collect(inv)
    assert got["h"].outcome == Outcome.OK
    endpoint = SshServers.model_validate(got["h"].data).endpoints[0]
    assert endpoint.identification.protocol == "1.5" and endpoint.kexinit is None
    results = run_checks(registry, inv, got)["h"]
    assert_messages_exist(catalog, results)
    assert verdicts(results)["sshd.algorithms.weak"] == ("fail", "ssh1_only")


def test_one_bad_endpoint_does_not_hide_a_good_one(registry, scripted, sshds):
    silent_port = scripted(silent)
    strict = sshds["strict"][0]
    inv = inventory({"h": [strict, silent_port]})
    got = collect(inv)
    assert got["h"].outcome == Outcome.OK
    results = run_checks(registry, inv, got)["h"]
    weak = {r.target: r.status for r in results if r.check_id == "sshd.algorithms.weak"}
    assert weak == {f"{strict}/tcp": Status.PASS, f"{silent_port}/tcp": Status.ERROR}


def test_a_host_without_ssh_is_not_applicable_not_unknown(registry):
    inv = inventory({"h": []})
    got = collect(inv)
    assert got["h"].outcome == Outcome.OK and SshServers.model_validate(got["h"].data).endpoints == ()
    results = run_checks(registry, inv, got)["h"]
    assert {(r.status, r.message.key) for r in results} == {(Status.NOT_APPLICABLE, "no_endpoint")}


# -- the banner's version against the host's own packages (issue 12 item 3) ---------------------------

def scanned_inventory(port: int):
    """One host the inventory scans (transport local): its package facts decide distribution builds."""
    return parse_inventory("organization: {name: Thử nghiệm}\ndefaults: {transport: local}\n"
                           f"hosts:\n  - name: h\n    address: 127.0.0.1\n    zone: dmz\n"
                           f"    services: [{{port: {port}, kind: ssh}}]\n", "test.yaml")


def host_facts(packages=None, patching=None, os=None) -> Observation:
    """A host observation from the recorded Debian 12 outputs (dpkg list and apt simulation of the
    machine whose sshd facts-nobanner recorded: openssh-server 1:9.2p1-2+deb12u10)."""
    from scanner.facts.system import OsRelease
    from scanner.hostprobes.packages import parse_packages
    from scanner.hostprobes.patching import parse_patching
    from tests.fixtures.hostprobes import host_observation, load
    packages = packages or parse_packages(load("packages", "debian12_dpkg"))
    patching = patching or parse_patching(load("patching", "debian12_apt"))
    os = os or OsRelease(id="debian", version_id="12", pretty_name="Debian GNU/Linux 12 (bookworm)")
    return host_observation(packages, patching, os)


def version_verdict(registry, catalog, inv, observations) -> object:
    per_host, _ = judge(registry, registry.select(["sshd.version.outdated"]), inv, {"h": observations},
                        load_thresholds(), NOW)
    (result,) = per_host["h"]
    assert_messages_exist(catalog, [result])
    return result


def banner_only(name: str = "facts-nobanner") -> Observation:
    doc = fixture(name)
    return Observation(collector="sshserver", outcome=Outcome.OK, started=NOW, ended=NOW, data=doc["facts"])


def test_hidden_debian_build_is_judged_by_its_package(registry, catalog):
    """DebianBanner no: `SSH-2.0-OpenSSH_9.2p1`. Before: fail, critical (regreSSHion, Terrapin...)
    from the upstream number; now the package and the empty list of pending security updates
    decide, and the evidence says so."""
    port = fixture("facts-nobanner")["facts"]["endpoints"][0]["port"]
    result = version_verdict(registry, catalog, scanned_inventory(port), {"sshserver": banner_only(),
                                                                           "host": host_facts()})
    assert (result.status, result.message.key) == (Status.PASS, "distribution_patched")
    assert result.evidence["package"]["version"] == "1:9.2p1-2+deb12u10" and result.evidence["lists_age_days"] == 0


def test_a_pending_openssh_security_update_fails_naming_it(registry, catalog):
    from scanner.facts.patching import PendingUpdate
    from scanner.hostprobes.patching import parse_patching
    from tests.fixtures.hostprobes import load
    recorded = parse_patching(load("patching", "debian12_apt"))
    # Constructed: the recorded apt simulation plus the line a new Debian security upload of
    # openssh would add (the recording itself had none pending for openssh).
    pending = PendingUpdate(name="openssh-server", current="1:9.2p1-2+deb12u10", available="1:9.2p1-2+deb12u11",
                            origin="Debian-Security:12/oldstable-security", security=True)
    patching = recorded.model_copy(update={"updates": (*recorded.updates, pending)})
    port = fixture("facts-nobanner")["facts"]["endpoints"][0]["port"]
    result = version_verdict(registry, catalog, scanned_inventory(port),
                             {"sshserver": banner_only(), "host": host_facts(patching=patching)})
    assert (result.status, result.message.key, result.severity.value) == (Status.FAIL, "pending_security_update",
                                                                          "critical")
    assert "openssh-server 1:9.2p1-2+deb12u10 → 1:9.2p1-2+deb12u11" in result.message.params["updates"]


def test_a_hand_built_sshd_is_judged_by_its_banner(registry, catalog):
    from scanner.facts.packages import Packages
    from scanner.hostprobes.packages import parse_packages
    from tests.fixtures.hostprobes import load
    recorded = parse_packages(load("packages", "debian12_dpkg"))
    without = Packages(manager="dpkg", installed={k: v for k, v in recorded.installed.items()
                                                   if not k.startswith("openssh")})
    port = fixture("facts-nobanner")["facts"]["endpoints"][0]["port"]
    result = version_verdict(registry, catalog, scanned_inventory(port),
                             {"sshserver": banner_only(), "host": host_facts(packages=without)})
    assert (result.status, result.message.key) == (Status.FAIL, "outdated")
    assert result.evidence["package"]["installed"] is None


@pytest.mark.parametrize(("change", "key"), [
    ({"security_status": "error", "security_error": "apt-get exited 100"}, "security_query_failed"),
    ({"now": 1795724375 + 30 * 86400}, "lists_stale"),  # the same lists, read a month later
])
def test_undecidable_package_facts_are_unknown(registry, catalog, change, key):
    from scanner.hostprobes.patching import parse_patching
    from tests.fixtures.hostprobes import load
    patching = parse_patching(load("patching", "debian12_apt")).model_copy(update=change)
    port = fixture("facts-nobanner")["facts"]["endpoints"][0]["port"]
    result = version_verdict(registry, catalog, scanned_inventory(port),
                             {"sshserver": banner_only(), "host": host_facts(patching=patching)})
    assert (result.status, result.message.key) == (Status.UNKNOWN, key)


def test_a_scanned_host_whose_host_scan_failed_is_not_judged_from_its_banner(registry, catalog):
    port = fixture("facts-nobanner")["facts"]["endpoints"][0]["port"]
    failed_host = Observation(collector="host", outcome=Outcome.AUTH_FAILED, detail="authentication failed",
                              started=NOW, ended=NOW)
    result = version_verdict(registry, catalog, scanned_inventory(port),
                             {"sshserver": banner_only(), "host": failed_host})
    assert (result.status, result.message.key) == (Status.UNKNOWN, "host_facts_missing")


def test_version_check_plans_the_host_collector_without_requiring_it(registry):
    check = registry.get("sshd.version.outdated")
    assert check.requires == ("sshserver",) and check.uses == ("host",)
    assert registry.collectors_for([check]) == {"sshserver", "host"}


@pytest.mark.parametrize(("os", "status", "key"), [
    # Ubuntu 18.04 on 2026-11-26: ESM only, a paid subscription; without it apt lists no fix at all.
    (("ubuntu", "18.04"), Status.MANUAL, "paid_support"),
    # Debian 10: past Debian LTS (2024-06-30): nothing is published, "none pending" proves nothing.
    (("debian", "10"), Status.FAIL, "os_unsupported"),
])
def test_an_empty_update_list_proves_nothing_without_published_fixes(registry, catalog, os, status, key):
    from scanner.facts.system import OsRelease
    port = fixture("facts-nobanner")["facts"]["endpoints"][0]["port"]
    release = OsRelease(id=os[0], version_id=os[1])
    result = version_verdict(registry, catalog, scanned_inventory(port),
                             {"sshserver": banner_only(), "host": host_facts(os=release)})
    assert (result.status, result.message.key) == (status, key)
