"""Transports against real processes: the local shell, and real sshd servers on loopback
(ports 21000-21099): strict host keys, accept-new, ProxyJump, encrypted keys, caps and timeouts."""

from __future__ import annotations

import psutil
import pytest

from scanner.transport.base import TransportError, quote_argv, with_become
from scanner.transport.local import LocalTransport
from scanner.transport.ssh import SshTarget, SshTransport, _parse_jump
from tests.sshd import keygen, start_sshd


# -- local ------------------------------------------------------------------------------------
def test_local_runs_argv_without_a_shell():
    result = LocalTransport().run(["echo", "$HOME; rm -rf /"], timeout=5)
    assert result.ok and result.stdout == "$HOME; rm -rf /\n"


def test_local_sets_c_locale_and_feeds_stdin():
    result = LocalTransport().run(["sh", "-c", 'printf "%s|" "$LC_ALL"; cat'], timeout=5, stdin=b"in")
    assert result.stdout == "C|in"


def test_local_timeout_kills_the_command_group():
    result = LocalTransport().run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)
    assert result.timed_out and result.exit_status is None and not result.ok


def test_local_output_is_capped():
    result = LocalTransport().run(["sh", "-c", "yes | head -c 5000000; sleep 30"], timeout=20, output_cap=10000)
    assert result.truncated and len(result.stdout) == 10000 and result.exit_status is None


def test_local_missing_command():
    result = LocalTransport().run(["no-such-command-xyz"], timeout=5)
    assert result.exit_status == 127 and "not found" in result.stderr


def test_quoting_and_become():
    assert quote_argv(["cat", "/etc/a b", "x;y"]) == "cat '/etc/a b' 'x;y'"
    argv, stdin = with_become(["id"], b"", None)
    assert argv == ["sudo", "-n", "--", "id"]
    argv, stdin = with_become(["sh", "-s"], b"script", "s3cret")
    assert "s3cret" not in " ".join(argv) and stdin == b"s3cret\nscript"


def test_parse_jump_specs():
    assert _parse_jump("admin@jump:2222,[::1]:22,plain", "scan") == [
        ("admin", "jump", 2222), ("scan", "::1", 22), ("scan", "plain", 22)]


# -- SSH against real sshd ------------------------------------------------------------------------
@pytest.fixture
def client_key(tmp_path):
    return keygen(tmp_path / "client_ed25519")


@pytest.fixture
def sshd(tmp_path, client_key):
    server = start_sshd(tmp_path / "sshd", 21022, [client_key])
    yield server
    server.stop()


def target_for(server, key, known_hosts, **kw) -> SshTarget:
    return SshTarget(address=server.address, port=server.port, user="root", key_file=key,
                     known_hosts=known_hosts, connect_timeout=5, use_ssh_config=False, **kw)


def test_ssh_runs_commands_over_one_connection(sshd, client_key, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts_line())
    transport = SshTransport(target_for(sshd, client_key, kh))
    try:
        first = transport.run(["sh", "-c", 'echo "$LC_ALL $SSH_CONNECTION"'], timeout=10)
        second = transport.run(["cat"], timeout=10, stdin=b"piped")
        assert first.ok and first.stdout.startswith("C 127.0.0.1 ")
        assert second.stdout == "piped"
        assert len(transport._clients) == 1  # the second command reused the connection
    finally:
        transport.close()


def test_ssh_unknown_host_key_is_refused(sshd, client_key, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    with pytest.raises(TransportError) as info:
        SshTransport(target_for(sshd, client_key, kh)).run(["true"], timeout=5)
    assert info.value.outcome == "host_key_rejected" and "not in known_hosts" in str(info.value)
    assert kh.read_text() == ""


def test_ssh_accept_new_records_the_key_and_then_trusts_it(sshd, client_key, tmp_path):
    kh = tmp_path / "known_hosts"
    transport = SshTransport(target_for(sshd, client_key, kh), accept_new_host_keys=True)
    assert transport.run(["true"], timeout=5).ok
    transport.close()
    assert kh.read_text().split()[1:] == sshd.known_hosts_line().split()[1:]
    strict = SshTransport(target_for(sshd, client_key, kh))
    assert strict.run(["true"], timeout=5).ok
    strict.close()


def test_ssh_changed_host_key_is_refused_even_with_accept_new(sshd, client_key, tmp_path):
    other = keygen(tmp_path / "other_host_key")
    pub = other.with_suffix(".pub").read_text().split()
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[{sshd.address}]:{sshd.port} {pub[0]} {pub[1]}\n")
    for accept_new in (False, True):
        with pytest.raises(TransportError) as info:
            SshTransport(target_for(sshd, client_key, kh), accept_new_host_keys=accept_new).run(["true"], timeout=5)
        assert info.value.outcome == "host_key_rejected" and "CHANGED" in str(info.value)


def test_ssh_wrong_key_is_auth_failure(sshd, tmp_path):
    stranger = keygen(tmp_path / "stranger")
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts_line())
    with pytest.raises(TransportError) as info:
        SshTransport(target_for(sshd, stranger, kh)).run(["true"], timeout=5)
    assert info.value.outcome == "auth_failed"


def test_ssh_encrypted_key_needs_its_passphrase(tmp_path):
    key = keygen(tmp_path / "enc_key", passphrase="correct horse")
    server = start_sshd(tmp_path / "sshd-enc", 21024, [key])
    try:
        kh = tmp_path / "known_hosts"
        kh.write_text(server.known_hosts_line())
        with pytest.raises(TransportError) as info:
            SshTransport(target_for(server, key, kh)).run(["true"], timeout=5)
        assert info.value.outcome == "auth_failed" and "passphrase" in str(info.value)
        ok = SshTransport(target_for(server, key, kh, key_passphrase="correct horse"))
        assert ok.run(["true"], timeout=5).ok
        ok.close()
    finally:
        server.stop()


def test_ssh_unreachable_port(client_key, tmp_path):
    target = SshTarget(address="127.0.0.1", port=21099, user="root", key_file=client_key,
                       known_hosts=tmp_path / "kh", connect_timeout=2, use_ssh_config=False)
    with pytest.raises(TransportError) as info:
        SshTransport(target).run(["true"], timeout=5)
    assert info.value.outcome == "unreachable"


def test_ssh_output_cap_and_timeout(sshd, client_key, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts_line())
    transport = SshTransport(target_for(sshd, client_key, kh))
    try:
        big = transport.run(["sh", "-c", "yes | head -c 8000000; sleep 30"], timeout=20, output_cap=100000)
        assert big.truncated and len(big.stdout) == 100000
        slow = transport.run(["sleep", "30"], timeout=1)
        assert slow.timed_out and slow.exit_status is None
        assert transport.run(["true"], timeout=5).ok  # the connection survived both
    finally:
        transport.close()


def test_ssh_proxy_jump_goes_through_the_jump_host(tmp_path, client_key):
    jump = start_sshd(tmp_path / "jump", 21030, [client_key])
    target = start_sshd(tmp_path / "target", 21031, [client_key], address="127.0.0.2")
    try:
        kh = tmp_path / "known_hosts"
        kh.write_text(jump.known_hosts_line() + target.known_hosts_line())
        transport = SshTransport(target_for(target, client_key, kh, proxy_jump=f"root@127.0.0.1:{jump.port}"))
        result = transport.run(["sh", "-c", 'echo "$SSH_CONNECTION"'], timeout=10)
        assert result.ok
        client_ip, client_port, server_ip, server_port = result.stdout.split()
        assert (server_ip, server_port) == ("127.0.0.2", str(target.port))
        # The target saw a connection from the jump host's sshd, not from this process.
        ours = {c.laddr.port for c in psutil.Process().net_connections(kind="tcp") if c.laddr}
        assert int(client_port) not in ours
        owners = {c.pid for c in psutil.net_connections(kind="tcp") if c.laddr and c.laddr.port == int(client_port)}
        assert any(pid and psutil.Process(pid).name() == "sshd" for pid in owners)
        transport.close()
        # Without the jump host's key the whole chain is refused.
        kh.write_text(target.known_hosts_line())
        with pytest.raises(TransportError) as info:
            SshTransport(target_for(target, client_key, kh, proxy_jump=f"root@127.0.0.1:{jump.port}")).run(
                ["true"], timeout=5)
        assert info.value.outcome == "host_key_rejected" and "21030" in str(info.value)
    finally:
        jump.stop()
        target.stop()


def test_ssh_dropped_connection_is_reestablished_once(sshd, client_key, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts_line())
    transport = SshTransport(target_for(sshd, client_key, kh))
    try:
        assert transport.run(["true"], timeout=5).ok
        transport._client.get_transport().close()  # as if a middlebox dropped the connection
        again = transport.run(["sh", "-c", "echo back"], timeout=5)
        assert again.ok and again.stdout == "back\n"
        # A server that is really gone is reported, not retried forever.
        sshd.stop()
        transport._client.get_transport().close()
        with pytest.raises(TransportError) as info:
            transport.run(["true"], timeout=5)
        assert info.value.outcome == "unreachable"
    finally:
        transport.close()
