"""The WinRM transport against a real WSMan server on loopback (tests/wsman_server.py): real
sockets, real TLS with a throwaway CA, real NTLM (pyspnego acceptor) and real message sealing;
the WinRS answers are replayed from pypsrp's recordings of a Windows host."""

from __future__ import annotations

import logging
import socket

import pytest

from scanner.transport.base import TransportError
from scanner.transport.winrm import WinrmTarget, WinrmTransport, shorten_argv
from tests.daemons import make_tls
from tests.kdc import offline_krb5_conf
from tests.wsman_server import ARGV, Script, WsmanServer, readable_on_wire, run_once, target_for

PASSWORD = "Pa55-w0rd!winrm"
USER = "LAB\\scanner"
NAME = "win01.lab.test"
TERMINATE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/Terminate"


@pytest.fixture
def users(tmp_path, monkeypatch):
    # The NTLM acceptor's credential store (Heimdal format DOMAIN:USER:PASSWORD).
    store = tmp_path / "ntlm-users"
    store.write_text(f"LAB:scanner:{PASSWORD}\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(store))
    # With gssapi installed, Negotiate tries Kerberos before NTLM: a krb5.conf whose realm has no
    # KDC keeps that attempt on this machine (the system's would send it to DNS).
    monkeypatch.setenv("KRB5_CONFIG", str(offline_krb5_conf(tmp_path / "krb5.conf")))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ccache'}")
    monkeypatch.delenv("KRB5_KTNAME", raising=False)
    return store


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("winrm-tls"), dns_names=(NAME,))


@pytest.fixture
def https(users, tls):
    with WsmanServer(cert=tls.cert, key=tls.key) as server:
        yield server


@pytest.fixture
def http(users):
    with WsmanServer() as server:
        yield server


def target(server: WsmanServer, tls=None, **over) -> WinrmTarget:
    return target_for(server, tls, **({"auth": "ntlm", "user": USER, "password": PASSWORD} | over))


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
def test_https_returns_stdout_and_exit_code(https, tls, auth):
    https.script = Script(stdout="xin chào\r\nline 2\r\n".encode(), stderr=b"warn\r\n", exit_code=3, parts=3)
    result = run_once(target(https, tls, auth=auth), stdin=b"Write-Output 1\n")
    assert (result.exit_status, result.stdout, result.stderr) == (3, "xin chào\r\nline 2\r\n", "warn\r\n", )
    assert not result.timed_out and not result.truncated
    assert https.seen.commands == [(ARGV[0], ARGV[1:])]
    assert https.seen.sni == [None]          # no SNI for an IP; the IP SAN was checked


def test_stdin_is_delivered_byte_exact_across_envelopes(https, tls):
    # Larger than one 150 KiB envelope, every byte value: chunking and end-of-input both matter.
    data = bytes(range(256)) * 1200 + "Get-Item 'C:\\ổ đĩa'\n".encode()
    result = run_once(target(https, tls), stdin=data)
    assert result.ok
    [(command_id, received)] = https.seen.stdin.items()
    assert bytes(received) == data
    assert https.seen.stdin_ended == {command_id}


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
def test_http_seals_every_body_both_ways(http, auth):
    http.script = Script(stdout=b"sealed output\r\n", exit_code=0)
    script = b"Get-LocalUser | ConvertTo-Json\n"
    result = run_once(target(http, auth=auth), stdin=script)
    assert (result.exit_status, result.stdout) == (0, "sealed output\r\n")
    # The server unsealed the command and the script...
    assert any(b"powershell.exe" in soap for soap in http.seen.soap)
    assert http.seen.stdin and bytes(next(iter(http.seen.stdin.values()))) == script
    # ...and none of it crossed the wire readable; every non-empty body was sealed.
    assert readable_on_wire(http.seen, script) == []
    assert all(ctype.startswith("multipart/encrypted") for ctype, raw in http.seen.wire if raw)
    assert http.seen.plaintext_refused == 0


def test_wrong_password_is_auth_failed_and_never_echoed(https, tls, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-" + PASSWORD
    tgt = target(https, tls, password=wrong)
    with pytest.raises(TransportError) as info:
        run_once(tgt)
    assert info.value.outcome == "auth_failed"
    assert https.seen.auth_failures == 1 and https.seen.commands == []
    for text in (str(info.value), repr(info.value), repr(tgt), str(tgt), caplog.text):
        assert wrong not in text and PASSWORD not in text
    assert USER in str(info.value)


def test_password_absent_from_repr_and_logs_on_success(https, tls, caplog):
    caplog.set_level(logging.DEBUG)
    tgt = target(https, tls)
    assert run_once(tgt).ok
    assert PASSWORD not in repr(tgt) and PASSWORD not in caplog.text
    assert "Sending message" in caplog.text   # the debug log was really captured


def test_untrusted_ca_is_a_certificate_failure(https, tmp_path):
    other = make_tls(tmp_path / "other-ca")
    with pytest.raises(TransportError) as info:
        run_once(target(https, other))
    assert info.value.outcome == "host_key_rejected"
    assert "TLS certificate not trusted" in str(info.value) and "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert https.seen.commands == [] and https.seen.auth_failures == 0


def test_system_store_does_not_trust_the_throwaway_ca_even_with_env_bundle(https, tls, monkeypatch):
    # Environment CA bundles are not trust: only ca_file, else the system store.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tls.ca))
    with pytest.raises(TransportError) as info:
        run_once(target(https, None))
    assert info.value.outcome == "host_key_rejected" and "system trust store" in str(info.value)


def test_server_name_is_checked_on_the_certificate_while_connecting_to_the_ip(https, tls):
    assert run_once(target(https, tls, server_name=NAME)).ok
    assert https.seen.sni == [NAME]


def test_server_name_mismatch_is_a_certificate_failure(https, tls):
    with pytest.raises(TransportError) as info:
        run_once(target(https, tls, server_name="other.lab.test"))
    assert info.value.outcome == "host_key_rejected" and "other.lab.test" in str(info.value)
    assert https.seen.commands == []


def test_closed_port_is_unreachable(users):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tgt = WinrmTarget("127.0.0.1", port, "http", "ntlm", USER, PASSWORD, connect_timeout=3)
    with pytest.raises(TransportError) as info:
        run_once(tgt)
    assert info.value.outcome == "unreachable" and "refused" in str(info.value).lower()


def test_environment_proxies_are_ignored(http, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(var, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert run_once(target(http)).ok


def test_command_still_running_at_the_deadline_is_timed_out(https, tls):
    https.script = Script(mode="hang")
    result = run_once(target(https, tls, operation_timeout=1), timeout=2.5)
    assert result.timed_out and result.exit_status is None and not result.ok
    assert 2.5 <= result.seconds < 6
    [(command_id, code)] = https.seen.signals
    assert code == TERMINATE and command_id in https.seen.stdin


def test_output_past_the_cap_is_truncated_and_the_command_terminated(http):
    http.script = Script(mode="flood", flood_chunk=40_000)
    result = run_once(target(http), output_cap=100_000)
    assert result.truncated and result.exit_status is None and not result.timed_out
    assert len(result.stdout) == 100_000
    assert [code for _, code in http.seen.signals] == [TERMINATE]


def test_one_shell_per_transport_and_close_deletes_it(https, tls):
    transport = WinrmTransport(target(https, tls))
    assert https.seen.shells == []                    # opened lazily
    assert transport.run(ARGV, timeout=10).ok and transport.run(ARGV, timeout=10).ok
    assert len(https.seen.shells) == 1 and len(https.seen.commands) == 2
    transport.close()
    assert https.seen.deletes == https.seen.shells
    transport.close()                                 # idempotent
    assert len(https.seen.deletes) == 1


def test_a_shell_the_host_lost_is_opened_again_on_the_next_run(https, tls):
    transport = WinrmTransport(target(https, tls))
    assert transport.run(ARGV, timeout=10).ok
    lost = https.forget_shells()                      # the host dropped it (IdleTimeOut, a WinRM restart)
    with pytest.raises(TransportError):
        transport.run(ARGV, timeout=10)               # the old shell is refused ...
    assert transport.run(ARGV, timeout=10).ok         # ... and the next run opens a new one
    assert len(https.seen.shells) == 1 and https.seen.shells != lost
    transport.close()


@pytest.mark.parametrize("over, words", [
    ({"auth": "basic"}, "Basic"),
    ({"auth": "CredSSP"}, "CredSSP"),
    ({"auth": "certificate"}, "not supported"),
    ({"scheme": "http", "port": 5985, "message_encryption": False}, "without message encryption"),
    ({"address": "win01.lab.test"}, "IP address"),
    ({"scheme": "ftp"}, "scheme"),
    ({"spn_service": "HTTP/evil.example"}, "service class"),
])
def test_unsafe_configurations_are_refused_at_construction(over, words):
    fields = dict(address="10.0.0.5", port=5986, scheme="https", auth="ntlm", user=USER, password=PASSWORD)
    with pytest.raises(ValueError) as info:
        WinrmTarget(**(fields | over))
    assert words in str(info.value) and PASSWORD not in str(info.value)


def test_http_encrypts_by_default_and_https_relies_on_tls():
    assert WinrmTarget("10.0.0.5", 5985, "http", user=USER, password=PASSWORD).encrypts_messages
    assert not WinrmTarget("10.0.0.5", user=USER, password=PASSWORD).encrypts_messages


def test_argv_record_shortens_a_long_encoded_command_only():
    long = "A" * 5000
    record = shorten_argv(["powershell.exe", "-NoLogo", "-EncodedCommand", long])
    assert record[:3] == ("powershell.exe", "-NoLogo", "-EncodedCommand")
    assert record[3].startswith("A" * 200) and len(record[3]) < 250 and "5000" in record[3]
    assert shorten_argv(["powershell.exe", "-enc", long])[2] != long
    assert shorten_argv(ARGV) == tuple(ARGV)


def test_argv_with_cmd_metacharacters_is_refused_before_connecting():
    transport = WinrmTransport(WinrmTarget("127.0.0.1", 1, user=USER, password=PASSWORD))
    with pytest.raises(ValueError):
        transport.run(["powershell.exe", "-Command", "a & b"], timeout=1)
