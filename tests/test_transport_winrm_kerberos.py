"""Kerberos over the WinRM transport against a real MIT KDC (tests/kdc.py) and the real WSMan
server on loopback (tests/wsman_server.py), whose pyspnego acceptor takes the service key of
HTTP/win01.lab.test from its keytab. The connection always goes to 127.0.0.1; the SPN host is
WinrmTarget.server_name, a name that resolves nowhere: Kerberos must never look it up."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypsrp.exceptions import AuthenticationError
from pypsrp.wsman import WSMan
from spnego.channel_bindings import GssChannelBindings

from scanner.transport.base import TransportError
from scanner.transport.winrm import WinrmTarget
from tests.daemons import make_tls
from tests.kdc import DaemonUnavailable, Kdc
from tests.wsman_server import Script, WsmanServer, readable_on_wire, run_once, target_for

NAME = "win01.lab.test"           # in the KDC as HTTP/win01.lab.test; in no DNS and no hosts file
PASSWORD = "Kerb-Pa55!w0rd"
PRINCIPAL = "scanner@LAB.TEST"
SPNEGO = "application/HTTP-SPNEGO-session-encrypted"
KERBEROS = "application/HTTP-Kerberos-session-encrypted"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kdc(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kdc")
    try:
        server = Kdc(folder / "realm")
    except DaemonUnavailable as exc:
        pytest.skip(str(exc))
    with server:
        server.add_user("scanner", PASSWORD)
        # HTTP/ (pywinrm's SPN) and WSMAN/ (the one WinRM registers, the transport's default),
        # both keys in the one keytab the acceptor reads.
        server.keytab = folder / "service.keytab"
        for service in ("HTTP", "WSMAN"):
            server.add_service(f"{service}/{NAME}", server.keytab)
        yield server


@pytest.fixture
def realm(kdc, tmp_path, monkeypatch):
    """This test's Kerberos environment, client and acceptor alike: the KDC's krb5.conf, the
    service keytab, an empty ticket cache of its own, a replay cache in tmp."""
    monkeypatch.setenv("KRB5_CONFIG", str(kdc.krb5_conf))
    monkeypatch.setenv("KRB5_KTNAME", f"FILE:{kdc.keytab}")
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'ccache'}")
    monkeypatch.setenv("KRB5RCACHEDIR", str(tmp_path))
    monkeypatch.delenv("NTLM_USER_FILE", raising=False)   # no NTLM fallback can make a test pass
    return kdc


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("winrm-krb-tls"), dns_names=(NAME,))


@pytest.fixture
def https(realm, tls):
    with WsmanServer(cert=tls.cert, key=tls.key) as server:
        yield server


@pytest.fixture
def http(realm):
    with WsmanServer() as server:
        yield server


def target(server: WsmanServer, tls=None, **over) -> WinrmTarget:
    return target_for(server, tls, **({"auth": "kerberos", "user": PRINCIPAL, "password": PASSWORD,
                                       "server_name": NAME, "spn_service": "HTTP"} | over))


@pytest.mark.parametrize("auth", ["kerberos", "negotiate"])
def test_kerberos_over_https_checks_the_certificate_name(https, tls, auth):
    https.script = Script(stdout="xin chào\r\n".encode(), exit_code=4)
    result = run_once(target(https, tls, auth=auth))
    assert (result.exit_status, result.stdout) == (4, "xin chào\r\n")
    # The acceptor saw a Kerberos logon (not NTLM) of the user, under the Negotiate scheme.
    assert https.seen.logons == [("negotiate", "kerberos", PRINCIPAL)]
    assert https.seen.sni == [NAME]            # certificate checked for the SPN's host name
    assert https.seen.sealed_protocols == set()  # HTTPS: TLS protects the bodies


def test_default_spn_is_wsman(realm, https, tls, tmp_path, monkeypatch):
    # From a ticket cache, so the service ticket the client asked for can be read back.
    ccache = realm.kinit(PRINCIPAL, PASSWORD, tmp_path / "kinit-ccache")
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{ccache}")
    fields = {k: v for k, v in vars(target(https, tls, user=None, password=None)).items() if k != "spn_service"}
    assert run_once(WinrmTarget(**fields)).ok
    assert https.seen.logons == [("negotiate", "kerberos", PRINCIPAL)]
    tickets = realm.klist(ccache)
    assert f"WSMAN/{NAME}@LAB.TEST" in tickets and "HTTP/" not in tickets


def test_kerberos_over_https_refuses_a_certificate_for_another_name(realm, tmp_path):
    other = make_tls(tmp_path / "other", dns_names=("other.lab.test",))
    with WsmanServer(cert=other.cert, key=other.key) as server:
        with pytest.raises(TransportError) as info:
            run_once(target(server, other))
    assert info.value.outcome == "host_key_rejected" and NAME in str(info.value)
    assert server.seen.logons == [] and server.seen.commands == []


# pypsrp picks Negotiate when offered (as Windows does, next to Kerberos) and then seals as SPNEGO;
# under the bare Kerberos scheme it seals with the Kerberos MIME protocol.
@pytest.mark.parametrize("offer, scheme, protocol", [
    (("Negotiate",), "negotiate", SPNEGO),
    (("Kerberos",), "kerberos", KERBEROS),
    (("Negotiate", "Kerberos"), "negotiate", SPNEGO),
])
def test_kerberos_over_http_seals_every_body_both_ways(realm, offer, scheme, protocol):
    script = b"Get-LocalUser | ConvertTo-Json\n"
    with WsmanServer(offer=offer) as http:
        http.script = Script(stdout=b"sealed by kerberos\r\n", exit_code=0)
        result = run_once(target(http), stdin=script)
    assert (result.exit_status, result.stdout) == (0, "sealed by kerberos\r\n")
    assert http.seen.logons == [(scheme, "kerberos", PRINCIPAL)]
    # The server unsealed the command and the script with the Kerberos context...
    assert any(b"powershell.exe" in soap for soap in http.seen.soap)
    assert bytes(next(iter(http.seen.stdin.values()))) == script
    assert http.seen.sealed_protocols == {protocol}
    # ...and none of it crossed the wire readable.
    assert readable_on_wire(http.seen, script) == []
    assert all(ctype.startswith(f'multipart/encrypted;protocol="{protocol}"') for ctype, raw in http.seen.wire if raw)
    assert http.seen.plaintext_refused == 0


def test_http_server_refuses_plaintext_after_kerberos_logon(http):
    # What makes the sealing test meaningful: the same server turns away an unsealed body even
    # from a client whose Kerberos logon succeeded (WinRM's AllowUnencrypted=false).
    wsman = WSMan("127.0.0.1", port=http.port, ssl=False, auth="kerberos", username=PRINCIPAL, password=PASSWORD,
                  encryption="never", negotiate_hostname_override=NAME, no_proxy=True, connection_timeout=5)
    with pytest.raises(AuthenticationError):
        wsman.transport.send(b"<s:Envelope/>")
    wsman.close()
    assert http.seen.logons == [("negotiate", "kerberos", PRINCIPAL)]
    assert http.seen.plaintext_refused == 1 and http.seen.soap == []


def test_kerberos_over_https_is_bound_to_the_tls_channel(https, tls):
    # The acceptor expects the binding of another certificate (what a TLS-intercepting relay would
    # present): the client's Kerberos authenticator carries the real one, so the logon fails.
    https._cbt = GssChannelBindings(application_data=b"tls-server-end-point:" + bytes(32))
    with pytest.raises(TransportError) as info:
        run_once(target(https, tls))
    assert info.value.outcome == "auth_failed"
    assert https.seen.auth_failures == 1 and https.seen.logons == [] and https.seen.commands == []


def test_wrong_password_is_auth_failed_and_never_echoed(https, tls, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-" + PASSWORD
    tgt = target(https, tls, password=wrong)
    with pytest.raises(TransportError) as info:
        run_once(tgt)
    assert info.value.outcome == "auth_failed"
    assert PRINCIPAL in str(info.value) and "kerberos" in str(info.value)
    assert https.seen.logons == [] and https.seen.commands == []
    for text in (str(info.value), repr(info.value), repr(tgt), caplog.text):
        assert wrong not in text and PASSWORD not in text


def test_spn_unknown_to_the_kdc_is_auth_failed(http):
    # HTTP, so no certificate stands in the way: the KDC itself refuses HTTP/win99.lab.test.
    with pytest.raises(TransportError) as info:
        run_once(target(http, server_name="win99.lab.test"))
    assert info.value.outcome == "auth_failed"
    assert "not found in Kerberos database" in str(info.value)
    assert http.seen.logons == [] and http.seen.commands == []


def test_ticket_cache_from_kinit_without_a_password(realm, http, tmp_path, monkeypatch):
    ccache = realm.kinit(PRINCIPAL, PASSWORD, tmp_path / "kinit-ccache")
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{ccache}")
    http.script = Script(stdout=b"from the cache\r\n")
    result = run_once(target(http, user=None, password=None))
    assert result.stdout == "from the cache\r\n"
    assert http.seen.logons == [("negotiate", "kerberos", PRINCIPAL)]
    # The service ticket landed in the user's cache next to the TGT: the cache was really used.
    assert f"HTTP/{NAME}@LAB.TEST" in realm.klist(ccache)


def test_no_ticket_and_no_password_is_auth_failed(http):
    with pytest.raises(TransportError) as info:
        run_once(target(http, user=None, password=None))
    assert info.value.outcome == "auth_failed" and "the Kerberos ticket" in str(info.value)
    assert http.seen.logons == []


# -- no name is ever resolved ---------------------------------------------------------------------
_CLIENT = """
import json, sys
from scanner.transport.winrm import WinrmTarget, WinrmTransport
t = WinrmTransport(WinrmTarget(**json.loads(sys.argv[1])))
try:
    print(t.run(["powershell.exe", "-NoLogo"], timeout=20).stdout)
finally:
    t.close()
if len(sys.argv) > 2:                 # the control: a lookup the trace must catch
    import socket
    socket.getaddrinfo(sys.argv[2], 80)
"""
# What a host-name lookup leaves in the trace: the resolver's files, or a packet to a DNS server.
_LOOKUP_FILES = ("/etc/hosts", "/etc/resolv.conf", "/etc/host.conf")
_INET = re.compile(r'(connect|sendto|sendmsg|sendmmsg)\(.*sa_family=AF_INET6?, sin6?_port=htons\((\d+)\).*?'
                   r'(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')


def traced_client(tgt: WinrmTarget, tmp_path: Path, *extra: str) -> tuple[str, list[str], list[tuple[str, str]]]:
    """Run the transport in a child process under strace: its stdout, the files it opened, and
    every (address, port) it connected or sent to."""
    trace = tmp_path / f"strace-{len(extra)}.txt"
    fields = {"address": tgt.address, "port": tgt.port, "scheme": tgt.scheme, "auth": tgt.auth, "user": tgt.user,
              "password": tgt.password, "server_name": tgt.server_name, "connect_timeout": 5,
              "operation_timeout": 5}
    done = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,open,connect,sendto,sendmsg,sendmmsg", "-o", str(trace),
                           sys.executable, "-c", _CLIENT, json.dumps(fields), *extra],
                          cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = trace.read_text().splitlines()
    opened = [m.group(1) for line in lines if (m := re.search(r'open(?:at)?\(.*?"([^"]+)"', line))]
    peers = [(m.group(3) or m.group(4), m.group(2)) for line in lines if (m := _INET.search(line))]
    return done.stdout, opened, peers


def test_no_name_is_looked_up(realm, http, tmp_path):
    if not Path("/usr/bin/strace").is_file():
        pytest.fail("strace is needed to prove no lookup happens: apt-get install strace")
    http.script = Script(stdout=b"traced\r\n")
    tgt = target(http)
    stdout, opened, peers = traced_client(tgt, tmp_path)
    assert "traced" in stdout and http.seen.logons == [("negotiate", "kerberos", PRINCIPAL)]
    assert not [f for f in opened if f in _LOOKUP_FILES], "the client resolved a name"
    assert "/etc/krb5.conf" not in opened and os.environ["KRB5_CONFIG"] in opened
    # Only loopback, and both the KDC and the WinRM server were reached (the trace sees connects).
    assert {addr for addr, _ in peers} == {"127.0.0.1"}
    assert {str(http.port), str(realm.port)} <= {port for _, port in peers}
    # Control: the same trace does catch a lookup when one happens (localhost: /etc/hosts only).
    _, opened, _ = traced_client(tgt, tmp_path, "localhost")
    assert "/etc/hosts" in opened
