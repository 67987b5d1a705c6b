"""SSH transport over paramiko: strict host keys, ProxyJump, one connection per host.

Host keys are checked against the inventory's known_hosts (else ~/.ssh/known_hosts); an unknown
or changed key is refused with a message that says what to do. A new key is trusted only when
the user asked for it (`--accept-new-host-keys`), and is then written to that known_hosts file.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from scanner.transport.base import (
    DEFAULT_OUTPUT_CAP,
    CappedBuffer,
    CommandResult,
    TransportError,
    quote_argv,
    windows_command,
)

_known_hosts_lock = threading.Lock()
# paramiko logs every failed handshake with a traceback; each failure reaches the user once, as
# an observation with its reason, so its own log stays quiet.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


@dataclass(frozen=True)
class SshTarget:
    address: str
    port: int = 22
    user: str | None = None
    key_file: Path | None = None
    key_passphrase: str | None = field(default=None, repr=False)
    known_hosts: Path | None = None
    proxy_jump: str | None = None
    connect_timeout: float = 10.0
    use_ssh_config: bool = True
    windows: bool = False  # a Windows OpenSSH server: its shell is cmd.exe or PowerShell, not sh

    @property
    def known_hosts_key(self) -> str:
        # paramiko looks a host up exactly as it was connected to, with [host]:port off port 22.
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"


class _AcceptNewPolicy(paramiko.MissingHostKeyPolicy):
    """Trust a key never seen before (as OpenSSH's accept-new), and record it. Changed keys
    never reach a policy: paramiko raises BadHostKeyException first."""

    def __init__(self, known_hosts: Path):
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        with _known_hosts_lock:
            self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
            with open(self.known_hosts, "a", encoding="ascii") as fh:
                fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")


def _parse_jump(spec: str, default_user: str | None) -> list[tuple[str | None, str, int]]:
    hops = []
    for hop in spec.split(","):
        hop = hop.strip()
        user, _, hostport = hop.rpartition("@")
        host, port = hostport, 22
        if hostport.startswith("["):
            host, _, rest = hostport[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else 22
        elif hostport.count(":") == 1:
            host, _, p = hostport.partition(":")
            port = int(p)
        hops.append((user or default_user, host, port))
    return hops


def _ssh_config_for(address: str) -> dict:
    path = Path(os.path.expanduser("~/.ssh/config"))
    if not path.is_file():
        return {}
    try:
        return dict(paramiko.SSHConfig.from_path(str(path)).lookup(address))
    except (OSError, paramiko.SSHException, ValueError):
        return {}


class SshTransport:
    name = "ssh"

    def __init__(self, target: SshTarget, *, accept_new_host_keys: bool = False):
        self.target = target
        self.accept_new_host_keys = accept_new_host_keys
        self._clients: list[paramiko.SSHClient] = []
        self._client: paramiko.SSHClient | None = None
        self._lock = threading.Lock()

    # -- connection -------------------------------------------------------------------------
    def _new_client(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        kh = self.target.known_hosts or Path(os.path.expanduser("~/.ssh/known_hosts"))
        if kh.is_file():
            client.load_host_keys(str(kh))
        if self.accept_new_host_keys:
            client.set_missing_host_key_policy(_AcceptNewPolicy(kh))
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        return client

    def _auth_kwargs(self, key_file: Path | None) -> dict:
        kwargs: dict = {"allow_agent": True, "look_for_keys": key_file is None}
        if key_file is not None:
            try:
                passphrase = self.target.key_passphrase.encode() if self.target.key_passphrase else None
                kwargs["pkey"] = paramiko.PKey.from_path(str(key_file), passphrase)
            except FileNotFoundError:
                raise TransportError("error", f"SSH key file not found: {key_file}") from None
            except (paramiko.PasswordRequiredException, TypeError):
                # paramiko raises the first for PEM keys; cryptography's TypeError for OpenSSH ones.
                raise TransportError("auth_failed", f"SSH key {key_file} is encrypted and no passphrase was given "
                                     "(set key_passphrase_env)") from None
            except (paramiko.SSHException, ValueError) as exc:
                raise TransportError("auth_failed", f"cannot load SSH key {key_file} (wrong passphrase?): "
                                     f"{type(exc).__name__}") from None
            # An explicit key: do not let a loaded agent exhaust MaxAuthTries first.
            kwargs["allow_agent"] = False
        return kwargs

    def _connect_one(self, host: str, port: int, user: str | None, key_file: Path | None,
                     sock: paramiko.Channel | None) -> paramiko.SSHClient:
        client = self._new_client()
        t = self.target.connect_timeout
        label = host if port == 22 else f"[{host}]:{port}"
        try:
            client.connect(host, port=port, username=user, sock=sock, timeout=t, banner_timeout=t,
                           auth_timeout=t, channel_timeout=t, **self._auth_kwargs(key_file))
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise TransportError(
                "host_key_rejected",
                f"host key for {label} has CHANGED (got {exc.key.get_name()} {exc.key.get_fingerprint().hex()}, "
                f"known_hosts has {exc.expected_key.get_fingerprint().hex()}): possible interception; "
                "verify with the server's administrator, then update known_hosts") from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise TransportError("auth_failed", f"authentication failed for {user}@{label}: {exc}") from None
        except paramiko.SSHException as exc:
            client.close()
            text = str(exc)
            if "not found in known_hosts" in text:
                raise TransportError(
                    "host_key_rejected",
                    f"{label} is not in known_hosts: verify its key (ssh-keyscan -p {port} {host}, compare the "
                    "fingerprint with the console) and add it, or re-run with --accept-new-host-keys") from None
            if "banner" in text.lower() or "no existing session" in text.lower():
                # paramiko reports a server that never completes the handshake in these words.
                raise TransportError("timeout", f"{label}: no SSH handshake within {t:g}s ({text})") from None
            raise TransportError("error", f"{label}: {text}") from None
        except (TimeoutError, EOFError):
            client.close()
            raise TransportError("timeout", f"{label}: connection timed out after {t:g}s") from None
        except (paramiko.ssh_exception.NoValidConnectionsError, OSError) as exc:
            client.close()
            raise TransportError("unreachable", f"{label}: {exc}") from None
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(30)
        self._clients.append(client)
        return client

    def connect(self) -> None:
        with self._lock:
            if self._client is not None:
                return
            tgt = self.target
            conf = _ssh_config_for(tgt.address) if tgt.use_ssh_config else {}
            user = tgt.user or conf.get("user")
            port = tgt.port
            key_file = tgt.key_file or (Path(conf["identityfile"][0]).expanduser()
                                        if conf.get("identityfile") and Path(conf["identityfile"][0]).expanduser().is_file()
                                        else None)
            jump = tgt.proxy_jump or conf.get("proxyjump")
            sock = None
            if jump and jump.lower() != "none":
                hop_client = None
                for hop_user, hop_host, hop_port in _parse_jump(jump, user):
                    if hop_client is not None:
                        sock = self._open_tunnel(hop_client, hop_host, hop_port)
                    hop_client = self._connect_one(hop_host, hop_port, hop_user, key_file, sock)
                sock = self._open_tunnel(hop_client, tgt.address, port)
            self._client = self._connect_one(tgt.address, port, user, key_file, sock)

    def _open_tunnel(self, via: paramiko.SSHClient, host: str, port: int) -> paramiko.Channel:
        try:
            return via.get_transport().open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0),
                                                    timeout=self.target.connect_timeout)
        except (paramiko.ChannelException, paramiko.SSHException, OSError) as exc:
            raise TransportError("unreachable", f"jump host could not reach {host}:{port}: {exc}") from None

    # -- commands ---------------------------------------------------------------------------
    def run(self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None,
            output_cap: int = DEFAULT_OUTPUT_CAP) -> CommandResult:
        started = time.monotonic()
        command = windows_command(argv) if self.target.windows else quote_argv(["env", "LC_ALL=C", "LANG=C", *argv])
        chan = self._open_session(min(timeout, 30))
        out, err = CappedBuffer(output_cap), CappedBuffer(output_cap)
        timed_out = False
        try:
            chan.settimeout(1.0)
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            deadline = started + timeout
            # Drain both streams before asking for the exit status: the status wait has no
            # timeout and a full window deadlocks it (paramiko #448, #1778).
            while True:
                if time.monotonic() > deadline:
                    timed_out = True
                    break
                while chan.recv_ready():
                    out.add(chan.recv(65536))
                while chan.recv_stderr_ready():
                    err.add(chan.recv_stderr(65536))
                if out.full or err.full:
                    break
                # Only stop once nothing is buffered: a channel can close with output still unread.
                if (chan.exit_status_ready() or chan.closed) and not chan.recv_ready() \
                        and not chan.recv_stderr_ready():
                    break
                select.select([chan], [], [], 0.1)
            cut = timed_out or out.full or err.full
            status = None if cut or not chan.exit_status_ready() else chan.recv_exit_status()
        except (TimeoutError, OSError, paramiko.SSHException) as exc:
            raise TransportError("unreachable", f"SSH connection lost: {exc}") from None
        finally:
            chan.close()
        return CommandResult(tuple(argv), status, out.text(), err.text(), time.monotonic() - started,
                             timed_out=timed_out, truncated=out.truncated or err.truncated)

    def _open_session(self, timeout: float) -> paramiko.Channel:
        """A session channel on the host's connection. A connection found dead (the server or a
        middlebox dropped it) is re-established once, with the same strict host-key checks."""
        dead = (paramiko.SSHException, OSError, EOFError, AttributeError)
        self.connect()
        try:
            return self._client.get_transport().open_session(timeout=timeout)
        except dead:
            self.close()
        self.connect()
        try:
            return self._client.get_transport().open_session(timeout=timeout)
        except dead as exc:
            self.close()
            raise TransportError("unreachable", f"SSH session could not be opened: {exc}") from None

    def close(self) -> None:
        for client in reversed(self._clients):
            client.close()
        self._clients.clear()
        self._client = None
