"""Service identification (scanner/collectors/identify.py) and ports.risky_exposed deciding from
what answers: classifiers on bytes recorded from real servers (tests/fixtures/identify/, made by
record.py there), time budgets against hostile ports, and real servers (nginx, redis-server,
lab/listener.py) on loopback through the real ports collector and the checks."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from scanner.collectors.identify import (
    Received,
    classify_greeting,
    classify_http,
    classify_mysql,
    classify_redis,
    classify_syst,
    identify_port,
)
from scanner.collectors.ports import PortsCollector
from scanner.facts.ports import HostPortScan, ServiceAnswer
from scanner.model import Outcome
from tests.identify_servers import LabListener, Redis, nginx_servers
from tests.test_ports import (
    answered,
    assert_messages_exist,
    collect,
    inventory,
    listen,  # noqa: F401  (fixture)
    needs_nmap,
    ok,
    run_checks,
    statuses,
)
from tests.tlsservers import Nginx, RawServer, TestPki, free_port, stop_process, wait_for_port

RECORDINGS = json.loads((Path(__file__).resolve().parent / "fixtures" / "identify" / "recordings.json").read_text())
needs_redis = pytest.mark.skipif(not Redis.available(), reason="redis-server is not installed (Debian redis-server)")
needs_nginx = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")


def recording(name: str) -> dict:
    return next(r for r in RECORDINGS if r["name"] == name)


def received(name: str, probe: str) -> bytes:
    return base64.b64decode(next(a["data"] for a in recording(name)["asked"] if a["probe"] == probe))


# -- classifiers on recorded bytes ------------------------------------------------------------------

@pytest.mark.parametrize("name", [r["name"] for r in RECORDINGS])
def test_replaying_a_recording_gives_the_recorded_answer(name):
    """The whole decision (which question next, what the bytes mean) replayed on what a real
    server said: no network, same answer."""
    doc = recording(name)
    replies = iter(doc["asked"])

    def replay(address, port, send, deadline, *, probe="", use_tls=False, **kw):
        got = next(replies)
        assert got["probe"] == probe and got["tls"] == use_tls
        return Received(probe, base64.b64decode(got["data"]), failure=got["failure"], detail=got["detail"],
                        tls=use_tls)

    answer = identify_port("127.0.0.1", doc["port"], doc["hint"], threading.Event(), talk=replay)
    assert answer == ServiceAnswer.model_validate(doc["answer"])
    assert next(replies, None) is None  # no question more, none less


def test_recorded_answers_say_what_they_should():
    expect = {"nginx-plain": ("http", "", ""), "nginx-tls": ("http", "", ""),
              "tomcat-manager-stand-in": ("http", "tomcat_manager", "auth_required"),
              "redis-open": ("redis", "", "open"), "redis-requirepass": ("redis", "", "auth_required"),
              "lab-telnet": ("telnet", "", ""), "lab-mysql": ("mysql", "mysql", "auth_required"),
              "lab-redis": ("redis", "", "open"), "lab-postgres": ("postgresql", "", "")}
    for name, (protocol, product, access) in expect.items():
        got = ServiceAnswer.model_validate(recording(name)["answer"])
        assert (got.outcome, got.protocol, got.product, got.access) == ("identified", protocol, product, access), name
    assert ServiceAnswer.model_validate(recording("nginx-tls")["answer"]).tls
    # Redis on a port nmap has no name for gets HTTP (it closes on it without a word): not identified.
    assert ServiceAnswer.model_validate(recording("redis-unhinted")["answer"]).outcome == "silent"


def test_greetings():
    assert classify_greeting(received("lab-telnet", "banner")).protocol == "telnet"
    assert classify_greeting(b"\xff\xfd\x18").protocol == "telnet"  # negotiation only, prompt not yet sent
    assert classify_greeting(b"\r\nrouter-01 login: ").protocol == "telnet"
    assert classify_greeting(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n").protocol == "ssh"
    assert classify_greeting(b"220 (vsFTPd 3.0.3)\r\n").protocol == "ftp"
    assert classify_greeting(b"220 mail.test ESMTP Postfix (Debian/GNU)\r\n").protocol == "smtp"
    assert classify_greeting(b"220 welcome\r\n") is None  # FTP and SMTP both greet with 220: say so
    assert classify_greeting(b"RFB 003.008\n").protocol == "vnc"
    assert classify_greeting(b"@RSYNCD: 31.0\n").protocol == "rsync"
    assert classify_greeting(b"HTTP/1.1 400 Bad Request\r\n") is None
    assert classify_greeting(b"\x16\x03\x01\x00\x05hello") is None


def test_mysql_packets():
    handshake = received("lab-mysql", "banner")
    assert classify_mysql(handshake).version == "5.7.44-log"
    # Constructed from the MySQL protocol's ERR_Packet layout (0xff, code 1130, message): what a
    # server whose grants exclude the client's host sends instead of the handshake.
    message = b"Host '10.0.1.5' is not allowed to connect to this MySQL server"
    payload = b"\xff" + struct.pack("<H", 1130) + message
    denied = classify_mysql(struct.pack("<I", len(payload))[:3] + b"\x00" + payload)
    assert (denied.protocol, denied.access) == ("mysql", "denied")
    assert classify_mysql(handshake[:3] + b"\x01" + handshake[4:]) is None  # sequence must be 0
    assert classify_mysql(b"\x05\x00\x00\x00\x0a\x01\x02\x03\x04") is None  # version not text


def test_redis_replies():
    assert classify_redis(received("redis-open", "redis_ping")).access == "open"
    assert classify_redis(received("redis-requirepass", "redis_ping")).access == "auth_required"
    # Redis's protected-mode refusal starts with -DENIED (redis src/networking.c).
    assert classify_redis(b"-DENIED Redis is running in protected mode because protected mode is enabled\r\n"
                          ).access == "denied"
    assert classify_redis(b"HTTP/1.1 200 OK\r\n") is None


def test_http_products():
    heard, answer = classify_http(received("nginx-plain", "http"), "/", False)
    assert (heard.protocol, heard.product, answer.status, answer.server) == ("http", "", 200, "nginx/1.22.1")
    assert answer.title == "Cổng dịch vụ công"
    # Constructed: Jenkins sends X-Jenkins on every page and 403 to anonymous visitors when
    # security is on (documented header; no Jenkins runs here).
    jenkins = b"HTTP/1.1 403 Forbidden\r\nX-Jenkins: 2.440.3\r\nContent-Length: 0\r\n\r\n"
    heard, _ = classify_http(jenkins, "/", False)
    assert (heard.product, heard.version, heard.access) == ("jenkins", "2.440.3", "auth_required")
    heard, _ = classify_http(received("tomcat-manager-stand-in", "tomcat_manager"), "/manager/html", False)
    assert (heard.product, heard.access) == ("tomcat_manager", "auth_required")


# -- time budgets -------------------------------------------------------------------------------------

def test_a_silent_port_costs_its_budget_and_no_more(listen):  # noqa: F811
    port = listen()  # the kernel completes the handshake, nothing is ever said
    started = time.monotonic()
    answer = identify_port("127.0.0.1", port, "http-proxy", threading.Event(), budget=1.5)
    assert time.monotonic() - started < 1.5 + 0.5
    assert answer.outcome == "silent" and answer.probes[0] == "banner"


def test_a_dripping_port_is_cut_off_by_the_budget():
    server = RawServer("drip", free_port()).start()
    try:
        started = time.monotonic()
        answer = identify_port("127.0.0.1", server.port, "http", threading.Event(), budget=2.0)
        assert time.monotonic() - started < 2.0 + 0.5
        assert answer.outcome in ("unrecognised", "identified")
        assert len(answer.banner) <= 200
    finally:
        server.stop()


def test_a_refused_port_and_a_stopped_scan(listen):  # noqa: F811
    closed = free_port()
    assert identify_port("127.0.0.1", closed, "", threading.Event()).outcome == "refused"
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    assert identify_port("127.0.0.1", listen(), "", stop).outcome == "interrupted"
    assert time.monotonic() - started < 0.5


# -- the check, on recorded answers ---------------------------------------------------------------------

ONE_HOST = """
scan: {{from_zone: dmz, ports: "{ports}"}}
hosts:
  - name: web
    address: 192.0.2.10
    zone: dmz
"""


def scan_with(answers: dict[int, str], services: dict[int, str] | None = None) -> dict:
    ports = [{"port": port, "proto": "tcp", "state": "open", "reason": "syn-ack",
              "service": (services or {}).get(port, "unknown"), "service_method": "table"} for port in answers]
    facts = {"address": "192.0.2.10", "scanned": {"tcp": ",".join(map(str, sorted(answers)))},
             "methods": {"tcp": "syn"}, "ports": ports}
    return answered(facts, answers)


def risky(registry, catalog, answers: dict[int, str], services: dict[int, str] | None = None):
    inv = inventory(ONE_HOST.format(ports=",".join(map(str, sorted(answers)))))
    results = run_checks(registry, inv, {"web": {"ports": ok(scan_with(answers, services))}})["web"]
    assert_messages_exist(catalog, results)
    return {r.target: r for r in results if r.check_id == "ports.risky_exposed"}


def test_plain_nginx_on_8080_is_not_an_admin_console(registry, catalog):
    got = risky(registry, catalog, {8080: "nginx-plain", 8443: "nginx-tls"}, {8080: "http-proxy", 8443: "https-alt"})
    assert {t: (r.status.value, r.message.key) for t, r in got.items()} == {
        "8080/tcp": ("pass", "answered_other"), "8443/tcp": ("pass", "answered_other")}
    assert got["8080/tcp"].evidence["answered"] == "http (nginx/1.22.1)"
    assert got["8443/tcp"].evidence["answered"] == "https (nginx/1.22.1)"


def test_a_console_answering_fails_on_any_port(registry, catalog):
    got = risky(registry, catalog, {8080: "tomcat-manager-stand-in", 9999: "tomcat-manager-stand-in"})
    assert {t: (r.status.value, r.message.key) for t, r in got.items()} == {
        "8080/tcp": ("fail", "http_alt_admin"), "9999/tcp": ("fail", "http_alt_admin")}


def test_telnet_on_an_unusual_port_is_telnet(registry, catalog):
    got = risky(registry, catalog, {2323: "lab-telnet", 23: "nginx-plain"})
    assert (got["2323/tcp"].status.value, got["2323/tcp"].message.key) == ("fail", "telnet")
    assert (got["23/tcp"].status.value, got["23/tcp"].message.key) == ("pass", "answered_other")


def test_redis_that_asks_for_a_password_is_not_the_no_auth_risk(registry, catalog):
    got = risky(registry, catalog, {6379: "redis-requirepass"}, {6379: "redis"})
    assert (got["6379/tcp"].status.value, got["6379/tcp"].message.key) == ("pass", "protected_auth")
    got = risky(registry, catalog, {6379: "redis-open"}, {6379: "redis"})
    assert (got["6379/tcp"].status.value, got["6379/tcp"].message.key) == ("fail", "redis")


def test_a_risky_port_that_answers_nothing_is_unknown(registry, catalog):
    got = risky(registry, catalog, {6379: "redis-unhinted"}, {6379: "redis"})
    assert (got["6379/tcp"].status.value, got["6379/tcp"].message.key) == ("unknown", "not_identified_silent")


def test_nmap_service_versions_decide_when_identification_could_not(registry, catalog):
    facts = scan_with({3389: "redis-unhinted", 8080: "redis-unhinted"})
    facts["ports"][0].update(service="ms-wbt-server", service_method="probed", product="Microsoft Terminal Services")
    facts["ports"][1].update(service="http", service_method="probed", product="Apache Tomcat")
    inv = inventory(ONE_HOST.format(ports="3389,8080"))
    results = run_checks(registry, inv, {"web": {"ports": ok(facts)}})["web"]
    assert_messages_exist(catalog, results)
    # RDP named by -sV fails; -sV's "http" on 8080 cannot say whether a console answers.
    assert statuses(results, "ports.risky_exposed") == {"3389/tcp": "fail", "8080/tcp": "unknown"}


# -- real servers through the real collector -------------------------------------------------------------

def loopback_address() -> str:
    """An address of 127.0.0.0/8 nobody here uses, so a test can hold a risky row's own port
    number (8080, 6379) without taking it from anyone on 127.0.0.1."""
    for _ in range(50):
        address = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"
        with socket.socket() as probe:
            try:
                probe.bind((address, 8080))
                return address
            except OSError:
                continue
    pytest.skip("no free 127/8 address with port 8080")


REAL = """
scan: {{from_zone: dmz, ports: "{ports}", timeouts: {{nmap: 120, host: 60}}}}
hosts:
  - name: web
    address: {address}
    zone: dmz
"""


@needs_nmap
@needs_nginx
@needs_redis
def test_real_servers_on_their_usual_ports(registry, catalog, tmp_path):
    """An undeclared plain nginx on 8080 (before: fail, 'application-server console' from the
    port number), an unauthenticated and a password-protected redis-server on 6379, the lab's
    telnet on an unusual port: what answers decides."""
    web, open_redis, locked_redis = loopback_address(), loopback_address(), loopback_address()
    telnet = free_port()
    nginx = nginx_servers(tmp_path, 8080, free_port(), free_port(), address=web)
    started = []
    try:
        started.append(nginx.start())
        started.append(Redis(tmp_path / "r1", 6379, bind=open_redis).start())
        started.append(Redis(tmp_path / "r2", 6379, "s3cret-test", bind=locked_redis).start())
        started.append(LabListener({"telnet": telnet}).start())
        hosts = {"web": (web, "8080"), "redis": (open_redis, "6379"), "locked": (locked_redis, "6379"),
                 "telnet": ("127.0.0.1", str(telnet))}
        results = {}
        for name, (address, ports) in hosts.items():
            inv = inventory(REAL.format(ports=ports, address=address))
            got = collect(PortsCollector(), inv)
            assert got["web"].outcome == Outcome.OK, got["web"].detail
            facts = HostPortScan.model_validate(got["web"].data)
            assert facts.ports[0].answer is not None and facts.ports[0].answer.outcome == "identified"
            checked = run_checks(registry, inv, {"web": {"ports": got["web"]}})["web"]
            assert_messages_exist(catalog, checked)
            results[name] = {r.target: (r.status.value, r.message.key) for r in checked
                             if r.check_id == "ports.risky_exposed"}
    finally:
        for server in started:
            server.stop()
    assert results["web"] == {"8080/tcp": ("pass", "answered_other")}
    assert results["redis"] == {"6379/tcp": ("fail", "redis")}
    assert results["locked"] == {"6379/tcp": ("pass", "protected_auth")}
    assert results["telnet"] == {f"{telnet}/tcp": ("fail", "telnet")}


def test_8080_still_points_at_consoles_but_only_an_answer_fails_it(registry, catalog):
    """What the port-number rule did with the same facts minus the answer: the recorded nginx on
    8080 was an 'application-server console'. Kept as the before/after of issue 12 item 6: the
    port table still points at 8080, but only what answers can fail it."""
    from checks.ports import ports_data, risky_row
    row = risky_row(8080, "tcp", ports_data())
    assert row is not None and row.key == "http_alt_admin"  # the old rule failed every open 8080
    got = risky(registry, catalog, {8080: "nginx-plain"}, {8080: "http-proxy"})
    assert got["8080/tcp"].status.value == "pass"


def test_answers_survive_the_scan_file_round_trip():
    facts = HostPortScan.model_validate(scan_with({8080: "nginx-plain", 6379: "redis-open"}))
    again = HostPortScan.model_validate_json(facts.model_dump_json())
    assert again == facts and again.ports[0].answer.http[0].server == "nginx/1.22.1"


VSFTPD = shutil.which("vsftpd") or "/usr/sbin/vsftpd"


@pytest.mark.skipif(not Path(VSFTPD).exists() or os.geteuid() != 0, reason="needs vsftpd (make install) and root")
def test_real_vsftpd_with_its_own_banner_is_ftp(tmp_path):
    """vsftpd greeting with a custom ftpd_banner that names neither FTP nor SMTP (as the lab's
    legacy host and many agencies' servers do): SYST after the 220 tells FTP from SMTP."""
    port = free_port()
    (tmp_path / "empty").mkdir()
    conf = tmp_path / "vsftpd.conf"
    conf.write_text(f"listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n"
                    "anonymous_enable=NO\nlocal_enable=YES\nwrite_enable=NO\nssl_enable=NO\n"
                    f"secure_chroot_dir={tmp_path / 'empty'}\npam_service_name=vsftpd\nxferlog_enable=NO\n"
                    "ftpd_banner=Chào mừng đến máy chủ nhận hồ sơ\n", encoding="utf-8")
    proc = subprocess.Popen([VSFTPD, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        got = identify_port("127.0.0.1", port, "ftp", threading.Event())
    finally:
        stop_process(proc)
    assert got.outcome == "identified" and got.protocol == "ftp", got
    assert got.probes == ("banner", "ftp_syst") and "Ch\\xc3\\xa0o" in got.banner


def test_a_custom_220_greeting_that_refuses_syst_stays_unidentified():
    # Postfix's answer to an unknown command: SMTP, or at least not FTP; no guess is made.
    assert classify_syst(b"220 mail.example.vn\r\n502 5.5.2 Error: command not recognized\r\n") is None
    assert classify_syst(b"220 x\r\n215 UNIX Type: L8\r\n").protocol == "ftp"
    assert classify_syst(b"220 x\r\n530 Please login with USER and PASS.\r\n").protocol == "ftp"


def test_a_server_speaking_only_tls_1_0_is_still_identified(tmp_path):
    """Identification is not the TLS checks: a site left on TLS 1.0/1.1 must still be named."""
    port = free_port()
    pki = TestPki(tmp_path / "pki")
    cert = pki.issue("old", sans=("old.test",))
    nginx = Nginx(tmp_path, [f"server {{ listen 127.0.0.1:{port} ssl; ssl_protocols TLSv1 TLSv1.1; "
                             f'ssl_ciphers "ALL:@SECLEVEL=0"; ssl_certificate {cert.cert}; '
                             f"ssl_certificate_key {cert.key}; location / {{ return 200 'old portal'; }} }}"], [port])
    nginx.start()
    try:
        got = identify_port("127.0.0.1", port, "https-alt", threading.Event())
    finally:
        nginx.stop()
    assert got.outcome == "identified" and got.tls and got.protocol in ("http", "https"), got
