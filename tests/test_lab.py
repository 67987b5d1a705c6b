"""The network-namespace lab (lab/): it comes up, every host is a real, separate machine with the
gaps its profile seeds, `up` is idempotent and repairs, and `down` leaves nothing behind.

Needs root and `ip netns`; skips otherwise (see tests/labfixture.py). Every probe goes to a lab
address (10.203.0.0/24) only.
"""

from __future__ import annotations

import json
import secrets
import socket
import ssl
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from lab import inventory as lab_inventory
from lab import layout, lifecycle, netns, procs, records
from lab.hosts import LAB_NETWORK, MAX_HOSTS, LabError, plan_hosts, require_lab_address
from lab.profiles import OS_RELEASES, PROFILES, daemons_of

pytest_plugins = ["tests.labfixture"]   # the session fixture `lab`
pytestmark = pytest.mark.lab

DEFAULT_HOSTS = plan_hosts()
HOST_NAMES = [host.name for host in DEFAULT_HOSTS]
REPO = Path(__file__).resolve().parents[1]


# --- helpers ----------------------------------------------------------------------------------
def ssh(lab, host_name: str, command: str) -> subprocess.CompletedProcess:
    """Log in as the scanning user with the lab key and strict host-key checking."""
    argv = ["ssh", "-F", "/dev/null", "-i", str(lab.key), "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={lab.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR", f"{layout.SCAN_USER}@{lab.host(host_name).address}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def ssh_ok(lab, host_name: str, command: str) -> str:
    result = ssh(lab, host_name, command)
    assert result.returncode == 0, f"{host_name}: {command!r} failed: {result.stderr}"
    return result.stdout


def tls_context(lab, *, version: ssl.TLSVersion | None = None, verify: bool = True,
                legacy: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        context.load_verify_locations(lab.ca)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():   # TLS 1.0/1.1 are deprecated: probing them is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        if legacy:   # OpenSSL 3 needs security level 0 for TLS 1.0/1.1 and SHA-1/1024-bit certificates
            context.set_ciphers("ALL:@SECLEVEL=0")
            context.minimum_version = ssl.TLSVersion.TLSv1
        if version:
            context.minimum_version = context.maximum_version = version
    return context


def handshake(address: str, port: int, context: ssl.SSLContext, server_name: str | None):
    """(protocol, cipher name, DER certificate) of one TLS handshake."""
    with socket.create_connection((address, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            return tls.version(), tls.cipher()[0], tls.getpeercert(binary_form=True)


def certificate_text(der: bytes) -> str:
    return subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text"], input=der,
                          capture_output=True, check=True).stdout.decode()


def openssl_accepts(address: str, port: int, *options: str) -> bool:
    result = subprocess.run(["openssl", "s_client", "-connect", f"{address}:{port}", *options],
                            input=b"", capture_output=True, timeout=20)
    return result.returncode == 0 and b"Cipher is (NONE)" not in result.stdout


def http_head(address: str, port: int, path: str = "/", *, context: ssl.SSLContext | None = None,
              host_header: str | None = None, method: str = "HEAD") -> tuple[int, dict[str, str], bytes]:
    """A raw HTTP/1.1 request: status, headers (lower-case names) and body."""
    request = (f"{method} {path} HTTP/1.1\r\nHost: {host_header or address}\r\n"
               "User-Agent: readyscan-lab-test\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((address, port), timeout=10) as raw:
        sock = context.wrap_socket(raw, server_hostname=host_header) if context else raw
        with sock:
            sock.sendall(request)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def exchange(address: str, port: int, send: bytes | None = None, size: int = 4096) -> bytes:
    """What a service says first (send=None), or answers to ``send``."""
    with socket.create_connection((address, port), timeout=10) as sock:
        if send is not None:
            sock.sendall(send)
        return sock.recv(size)


# --- the lab as a whole -----------------------------------------------------------------------
def test_lab_comes_up_with_every_daemon(lab):
    report = lifecycle.status()
    assert report["bridge"] and report["collector"]
    assert [h["name"] for h in report["hosts"]][:len(HOST_NAMES)] == HOST_NAMES
    for host in report["hosts"]:
        assert host["namespace"] and host["init"], host
        assert list(host["daemons"]) == daemons_of(host["profile"])
        assert all(host["daemons"].values()), host
    cli = subprocess.run([sys.executable, "-m", "lab", "status"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    for host in lab.hosts:
        assert host.name in cli.stdout and host.address in cli.stdout


def test_root_namespace_gets_only_the_bridge(lab):
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == lab.ip_forward_before
    addresses = json.loads(subprocess.run(["ip", "-json", "addr"], capture_output=True, text=True,
                                          check=True).stdout)
    in_lab_range = [(link["ifname"], a["local"]) for link in addresses for a in link["addr_info"]
                    if a["family"] == "inet" and a["local"].startswith("10.203.")]
    assert in_lab_range == [(layout.BRIDGE, "10.203.0.1")]
    for link in addresses:
        if link["ifname"].startswith(layout.PREFIX):
            assert not link["addr_info"] or all(a["family"] == "inet" for a in link["addr_info"]), link


def test_addresses_stay_in_the_lab_range():
    for outside in ("10.203.1.10", "192.168.0.10", "10.203.0.5", "10.203.0.255", "127.0.0.1"):
        with pytest.raises(LabError):
            require_lab_address(outside)
    for bad_count in (0, MAX_HOSTS + 1):
        with pytest.raises(LabError):
            plan_hosts(bad_count)
    hundred = plan_hosts(100)
    assert hundred[6].name == "hard-02" and hundred[99].name == "exposed-17"
    assert all(require_lab_address(h.address) in LAB_NETWORK for h in hundred)
    assert len({h.address for h in hundred}) == 100
    assert max(len(h.veth) for h in plan_hosts(MAX_HOSTS)) <= 15


# --- every host is its own machine ------------------------------------------------------------
@pytest.mark.parametrize("name", HOST_NAMES)
def test_ssh_key_login_lands_in_the_right_host(lab, name):
    host = lab.host(name)
    output = ssh_ok(lab, name, "hostname; echo ---; cat /etc/os-release; echo ---; "
                               "ps -e -o pid=,comm=; echo ---; id -un")
    hostname, os_release, processes, user = output.split("---\n")
    assert hostname.strip() == name
    release = OS_RELEASES[PROFILES[host.profile]["os"]]["os-release"]
    assert f'PRETTY_NAME="{release["PRETTY_NAME"]}"' in os_release
    assert user.strip() == layout.SCAN_USER
    table = [line.split(None, 1) for line in processes.strip().splitlines()]
    commands = {comm for _pid, comm in table}
    assert ["1", "python3"] in [[pid, comm] for pid, comm in table], "PID 1 is the host's own init"
    assert len(table) < 30, "only this host's processes are visible"
    expected = {"sshd", "nginx", "rsyslogd"} & set(daemons_of(host.profile))
    assert expected <= commands
    assert ("rsyslogd" in commands) == PROFILES[host.profile]["logging"]["rsyslog"]


def test_an_unknown_host_key_is_refused(lab, tmp_path):
    wrong = tmp_path / "known_hosts"
    lines = lab.known_hosts.read_text().splitlines()
    hard, legacy = lab.of_profile("hard"), lab.of_profile("legacy")
    # hard's address paired with legacy's keys: strict checking must refuse to log in.
    wrong.write_text("\n".join(line.replace(legacy.address + " ", hard.address + " ", 1)
                               for line in lines if line.startswith(legacy.address + " ")) + "\n")
    result = subprocess.run(["ssh", "-F", "/dev/null", "-i", str(lab.key), "-o", "IdentitiesOnly=yes",
                             "-o", f"UserKnownHostsFile={wrong}", "-o", "StrictHostKeyChecking=yes",
                             "-o", "BatchMode=yes", "-o", "HostKeyAlgorithms=ssh-ed25519",
                             f"{layout.SCAN_USER}@{hard.address}", "true"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "host key" in result.stderr.lower() or "identification has changed" in result.stderr.lower()


@pytest.mark.parametrize("name", HOST_NAMES)
def test_sudo_shows_the_seeded_sshd_configuration(lab, name):
    settings = PROFILES[lab.host(name).profile]["ssh"]["config"]
    effective = dict(line.split(" ", 1) for line in
                     ssh_ok(lab, name, "sudo -n /usr/sbin/sshd -T").strip().splitlines() if " " in line)
    for key in ("PermitRootLogin", "PasswordAuthentication", "MaxAuthTries", "ClientAliveInterval"):
        assert effective[key.lower()] == settings[key], key
    weak = {"3des-cbc", "aes128-cbc", "hmac-sha1", "hmac-md5"}
    offered = set(effective["ciphers"].split(",")) | set(effective["macs"].split(","))
    expects_weak = "sshd.algorithms.weak" in PROFILES[lab.host(name).profile]["expect"]["fail"]
    assert bool(weak & offered) == expects_weak


def test_sudo_is_limited_to_inspection(lab):
    result = ssh(lab, "hard-01", "sudo -n /usr/bin/touch /etc/readyscan-lab-write-test")
    assert result.returncode != 0


@pytest.mark.parametrize("name", HOST_NAMES)
def test_host_files_carry_the_profile(lab, name):
    prof = PROFILES[lab.host(name).profile]
    login_defs = ssh_ok(lab, name, "grep -E '^#?PASS_MAX_DAYS' /etc/login.defs")
    ageing = prof["accounts"]["login_defs"]
    assert (f"PASS_MAX_DAYS\t{ageing['PASS_MAX_DAYS']}" if ageing else "#PASS_MAX_DAYS") in login_defs
    forwarding = ssh_ok(lab, name, "cat /etc/rsyslog.conf /etc/rsyslog.d/*.conf 2>/dev/null; true")
    assert ("10.203.0.1" in forwarding) == bool(prof["logging"]["forward"])
    quality = prof["accounts"]["pwquality"]
    pam = ssh_ok(lab, name, "cat /etc/pam.d/common-password /etc/security/pwquality.conf 2>/dev/null; true")
    assert ("pam_pwquality.so" in pam) == bool(quality)
    if quality:
        assert f"minlen = {quality['minlen']}" in pam
    rotation = ssh_ok(lab, name, "cat /etc/logrotate.d/* 2>/dev/null; true")
    if prof["logging"]["rotate"]:
        assert "/var/log/auth.log" in rotation and f"rotate {prof['logging']['rotate'][1]}" in rotation
    else:
        assert "/var/log/auth.log" not in rotation


def test_rsyslog_writes_the_hosts_own_auth_log(lab):
    marker = f"readyscan-lab-{secrets.token_hex(4)}"
    ssh_ok(lab, "hard-01", f"logger -p auth.notice {marker}")
    for _ in range(50):
        if marker in ssh_ok(lab, "hard-01", "sudo -n /usr/bin/cat /var/log/auth.log"):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the message never reached hard-01's /var/log/auth.log")
    assert marker not in ssh_ok(lab, "legacy-01", "sudo -n /usr/bin/cat /var/log/auth.log")
    assert "/dev/log" not in ssh_ok(lab, "weakssh-01", "ls /dev")


def test_forwarding_hosts_reach_the_central_collector(lab):
    marker = f"readyscan-lab-{secrets.token_hex(4)}"
    for name in ("hard-01", "dbhost-01", "legacy-01"):
        ssh_ok(lab, name, f"logger -p auth.notice {marker}-{name}")
    collected = ""
    for _ in range(100):
        collected = (lab.state_dir / "collector.log").read_text(errors="replace")
        if f"{marker}-hard-01" in collected and f"{marker}-dbhost-01" in collected:
            break
        time.sleep(0.1)
    assert f"{lab.host('hard-01').address} " in collected and f"{marker}-hard-01" in collected
    assert f"{marker}-dbhost-01" in collected     # the legacy `*.* @@host:514` form works too
    assert f"{marker}-legacy-01" not in collected  # legacy keeps its logs to itself


# --- the web servers as seeded ----------------------------------------------------------------
def test_hard_https_is_tls12_and_tls13_only_with_a_valid_certificate(lab):
    host = lab.of_profile("hard")
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        protocol, cipher, der = handshake(host.address, 443, tls_context(lab, version=version), host.fqdn)
        assert protocol == version.name.replace("_", ".")
        assert "GCM" in cipher or "CHACHA20" in cipher
    text = certificate_text(der)
    assert "Public-Key: (2048 bit)" in text and "sha256WithRSAEncryption" in text
    assert f"DNS:{host.fqdn}" in text and f"IP Address:{host.address}" in text
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises(ssl.SSLError):
            handshake(host.address, 443, tls_context(lab, version=version, legacy=True), host.fqdn)


def test_hard_http_redirects_and_https_sends_security_headers(lab):
    host = lab.of_profile("hard")
    status, headers, _ = http_head(host.address, 80, host_header=host.fqdn)
    assert status == 301 and headers["location"] == f"https://{host.fqdn}/"
    status, headers, _ = http_head(host.address, 443, context=tls_context(lab), host_header=host.fqdn)
    assert status == 200
    max_age = int(headers["strict-transport-security"].split("max-age=")[1].split(";")[0])
    assert max_age >= 31536000
    assert headers["content-security-policy"] and headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["server"] == "nginx"
    status, _, _ = http_head(host.address, 443, context=tls_context(lab), host_header=host.fqdn,
                             method="TRACE")
    assert status == 405


def test_legacy_https_accepts_old_protocols_and_weak_suites(lab):
    host = lab.of_profile("legacy")
    protocol, _, der = handshake(host.address, 443,
                                 tls_context(lab, version=ssl.TLSVersion.TLSv1, legacy=True), host.fqdn)
    assert protocol == "TLSv1"
    text = certificate_text(der)
    assert "Public-Key: (1024 bit)" in text and "sha1WithRSAEncryption" in text
    with pytest.raises(ssl.SSLError):
        handshake(host.address, 443, tls_context(lab, version=ssl.TLSVersion.TLSv1_3), host.fqdn)
    assert openssl_accepts(host.address, 443, "-tls1_2", "-cipher", "ADH-AES128-SHA:@SECLEVEL=0")
    assert openssl_accepts(host.address, 443, "-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0")
    assert not openssl_accepts(lab.of_profile("hard").address, 443, "-tls1_2", "-cipher",
                               "AES128-SHA:@SECLEVEL=0")


def test_legacy_http_serves_content_lists_files_and_echoes_trace(lab):
    host = lab.of_profile("legacy")
    status, headers, _ = http_head(host.address, 80, host_header=host.fqdn)
    assert status == 200 and "location" not in headers
    assert headers["server"].startswith("nginx/1.")
    status, _, body = http_head(host.address, 8080, method="GET")
    assert status == 200 and b"Directory listing for /" in body
    status, headers, body = http_head(host.address, 8080, method="TRACE")
    assert status == 200 and headers["content-type"] == "message/http" and body.startswith(b"TRACE / ")
    _, headers, _ = http_head(host.address, 443, context=tls_context(lab, legacy=True),
                              host_header=host.fqdn)
    assert not {"strict-transport-security", "content-security-policy", "x-frame-options",
                "x-content-type-options"} & set(headers)


@pytest.mark.parametrize("port, error", [(443, "certificate has expired"),
                                         (8443, "self-signed certificate"),
                                         (9443, "Hostname mismatch")])
def test_badcert_certificates_fail_verification_as_seeded(lab, port, error):
    host = lab.of_profile("badcert")
    with pytest.raises(ssl.SSLCertVerificationError, match=error):
        handshake(host.address, port, tls_context(lab), host.fqdn)
    protocol, _, _ = handshake(host.address, port, tls_context(lab, verify=False), host.fqdn)
    assert protocol in ("TLSv1.2", "TLSv1.3")


# --- extra listeners --------------------------------------------------------------------------
def test_exposed_has_undeclared_risky_listeners(lab):
    host = lab.of_profile("exposed")
    assert b"login:" in exchange(host.address, 23)
    assert b"5.7.44" in exchange(host.address, 3306)
    assert exchange(host.address, 6379, b"PING\r\n") == b"+PONG\r\n"
    # 8080: a plain nginx site (undeclared), no listing, no console
    status, headers, body = http_head(host.address, 8080, method="GET")
    assert status == 200 and headers["server"] == "nginx" and b"Directory listing" not in body


def test_hard_sshd_hides_the_distribution_build(lab):
    # DebianBanner no: the identification line carries the upstream version only.
    assert exchange(lab.of_profile("hard").address, 22) == b"SSH-2.0-OpenSSH_9.2p1\r\n"
    assert b"Debian" in exchange(lab.of_profile("badcert").address, 22)


def test_legacy_portal_speaks_only_tls_1_0_and_1_1(lab):
    host = lab.of_profile("legacy")
    with pytest.raises(ssl.SSLError):
        handshake(host.address, 8443, tls_context(lab), host.fqdn)
    assert openssl_accepts(host.address, 8443, "-tls1_1", "-cipher", "ALL:@SECLEVEL=0")
    assert not openssl_accepts(host.address, 8443, "-tls1_2")


def test_legacy_ftp_refuses_tls(lab):
    host = lab.of_profile("legacy")
    with socket.create_connection((host.address, 21), timeout=10) as sock:
        greeting = sock.recv(4096)
        sock.sendall(b"AUTH TLS\r\n")
        answer = sock.recv(4096)
    assert greeting.startswith(b"220 ") and answer.startswith(b"530 ")
    status, headers, body = http_head(host.address, 8080, method="TRACE")
    assert status == 200 and headers["content-type"] == "message/http" and body.startswith(b"TRACE / ")
    declared = {s["port"] for s in PROFILES["exposed"]["services"]}
    assert not {23, 3306, 6379, 8080} & declared


def test_dbhost_answers_on_5432_like_postgresql_with_tls(lab):
    host = lab.of_profile("dbhost")
    ssl_request = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
    params = b"user\x00rsscan\x00database\x00postgres\x00\x00"
    startup = (8 + len(params)).to_bytes(4, "big") + (196608).to_bytes(4, "big") + params
    with socket.create_connection((host.address, 5432), timeout=10) as raw:
        raw.sendall(ssl_request)
        assert raw.recv(1) == b"S"
        with tls_context(lab).wrap_socket(raw, server_hostname=host.fqdn) as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            tls.sendall(startup)
            assert tls.recv(1) == b"R"   # AuthenticationMD5Password follows


@pytest.mark.skipif(not lifecycle.nft_path(), reason="nftables is not installed")
def test_host_firewalls_default_deny_and_restrict_management(lab):
    hard = lab.of_profile("hard")
    assert "policy drop" in ssh_ok(lab, hard.name, "sudo -n /usr/sbin/nft list ruleset")
    assert ":9100" in ssh_ok(lab, hard.name, "ss -ltn")   # it listens, yet the dmz is refused:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((hard.address, 9100), timeout=5).close()
    socket.create_connection((lab.of_profile("dbhost").address, 5432), timeout=5).close()
    assert "policy drop" not in ssh_ok(lab, "exposed-01", "sudo -n /usr/sbin/nft list ruleset")


# --- generated files --------------------------------------------------------------------------
def test_committed_inventory_and_expectations_come_from_the_generator():
    assert layout.LAB_INVENTORY.read_text() == lab_inventory.inventory_text(DEFAULT_HOSTS, ".state/")
    assert layout.LAB_EXPECTED.read_text() == lab_inventory.expected_text(DEFAULT_HOSTS)
    assert layout.LAB_WAIVERS.read_text() == lab_inventory.waivers_text()


def resolved(document: dict, folder: Path) -> dict:
    """The inventory with its relative paths made absolute against its own folder."""
    document = json.loads(json.dumps(document, default=str))
    ssh_defaults = document["defaults"]["ssh"]
    for key in ("key", "known_hosts"):
        ssh_defaults[key] = str((folder / ssh_defaults[key]).resolve())
    document["scan"]["ca_bundle"] = str((folder / document["scan"]["ca_bundle"]).resolve())
    return document


def test_state_inventory_matches_the_committed_one(lab):
    yaml = pytest.importorskip("yaml")
    assert lab.inventory.read_text() == lab_inventory.inventory_text(plan_hosts(lab.count), "")
    if lab.count == len(DEFAULT_HOSTS):   # else a bigger lab is up: its inventory has more hosts
        state = yaml.safe_load(lab.inventory.read_text())
        committed = yaml.safe_load(lab.committed_inventory.read_text())
        assert resolved(state, lab.inventory.parent) == resolved(committed, lab.committed_inventory.parent)
    expected = yaml.safe_load(lab.expected.read_text())
    assert sorted(expected) == sorted(HOST_NAMES)
    for name, host_expectation in expected.items():
        assert not set(host_expectation["fail"]) & set(host_expectation["pass"]), name
    hosts_map = (lab.state_dir / "hosts").read_text()
    known = lab.known_hosts.read_text()
    for host in lab.hosts:
        assert f"{host.address}\t{host.fqdn} {host.name}" in hosts_map
        assert f"{host.address} ssh-ed25519 " in known


# --- lifecycle (last: these take the lab down and up again) -----------------------------------
def test_up_twice_is_idempotent(lab):
    before = records.recorded_processes()
    result = lifecycle.up(lab.count, log=lambda message: None)
    assert result["built"] == [] and len(result["kept"]) == lab.count
    assert records.recorded_processes() == before
    assert all(procs.is_running(proc) for proc in before if proc.start >= 0)
    assert lifecycle.status()["healthy"]


def test_up_repairs_a_host_whose_init_died(lab):
    if not lab.is_sole_owner():
        pytest.skip("another session uses this lab (or it was up already): not rebuilding its hosts")
    record = json.loads(layout.PIDS_FILE.read_text())
    init = procs.ProcessId.from_dict(record["hosts"]["weakssh-01"]["init"])
    assert procs.send_signal(init, 9)
    assert procs.wait_gone([init], 10) == []
    assert not lifecycle.status()["healthy"]
    result = lifecycle.up(lab.count, log=lambda message: None)
    assert result["built"] == ["weakssh-01"] and len(result["kept"]) == lab.count - 1
    assert lifecycle.status()["healthy"]
    assert ssh_ok(lab, "weakssh-01", "hostname").strip() == "weakssh-01"


def test_down_leaves_nothing_behind_and_up_comes_back(lab):
    if not lab.is_sole_owner():
        pytest.skip("another session uses this lab (or it was up already): not taking it down")
    processes = records.recorded_processes()
    assert processes
    lifecycle.down(log=lambda message: None)
    assert netns.lab_namespaces() == []
    assert netns.lab_links() == []
    assert not any(procs.is_running(proc) for proc in processes)
    assert list(layout.NETNS_ETC_DIR.glob(f"{layout.PREFIX}-*")) == []
    assert not layout.STATE_DIR.exists()
    # Bring it back for whatever runs after this test (the session fixture takes it down at the end).
    lifecycle.up(lab.count, log=lambda message: None)
    lab.reclaim()
    assert lifecycle.status()["healthy"]
    assert ssh_ok(lab, "hard-01", "hostname").strip() == "hard-01"
