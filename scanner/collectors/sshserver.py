"""SSH servers from the network: identification string, KEXINIT algorithms, offered auth methods.

Two separate connections per endpoint:
1. a small hand-written reader (as ssh-audit does) that reads the server's version line and its
   unencrypted KEXINIT packet, with strict length limits and one deadline, because a hostile
   server may send a megabyte of "banner" or nothing at all;
2. paramiko, to ask which authentication methods a client that has not authenticated is
   offered (`none` for a user that does not exist). No credential is ever sent.
paramiko 5 has no SHA-1 key exchange or ssh-rsa host keys, so against servers that offer only
those, step 2 records "methods unknown" with the reason; step 1 still gives the algorithms.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor

import paramiko

from scanner import __version__
from scanner.collectors.base import ScanContext, Sink, observation
from scanner.facts.endpoint import EndpointError, EndpointErrorReason
from scanner.facts.sshserver import AuthMethods, HostKey, Identification, KexInit, SshEndpoint, SshServers
from scanner.inventory import Host
from scanner.model import Outcome, utcnow

CLIENT_IDENT = f"SSH-2.0-readyscan_{__version__}"
PROBE_USER = "readyscan-probe-nouser"  # a user that should not exist: shows what strangers are offered
MAX_LINE = 255  # RFC 4253 §4.2: the version line, CR LF included, is at most 255 bytes
MAX_PRE_LINES = 1024  # lines a server may send before its version line (OpenSSH's client allows as many)
KEPT_PRE_LINES = 20
MAX_PACKET = 35000  # RFC 4253 §6.1: the largest packet an implementation must accept
MAX_NAME = 64  # RFC 4251 §6: algorithm names are at most 64 characters
MAX_SKIPPED_MESSAGES = 16  # SSH_MSG_IGNORE / DEBUG tolerated before KEXINIT
MSG_DISCONNECT, MSG_IGNORE, MSG_DEBUG, MSG_KEXINIT = 1, 2, 4, 20
KEXINIT_LISTS = ("kex", "host_key", "ciphers_c2s", "ciphers_s2c", "macs_c2s", "macs_s2c",
                 "compression_c2s", "compression_s2c", "languages_c2s", "languages_s2c")


# paramiko logs a traceback when a peer is incompatible; that is a recorded fact here, not an
# error to print. Our transports log to this channel; a NullHandler keeps Python's last-resort
# handler quiet unless the application configures logging.
PARAMIKO_LOG = "readyscan.sshserver.paramiko"
logging.getLogger(PARAMIKO_LOG).addHandler(logging.NullHandler())


class ProbeFailure(Exception):
    def __init__(self, reason: EndpointErrorReason, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail

    @property
    def error(self) -> EndpointError:
        return EndpointError(reason=self.reason, detail=self.detail)


def printable(raw: bytes, limit: int = MAX_LINE) -> str:
    """Target bytes as text safe to keep: ASCII, everything else escaped, capped."""
    return raw[:limit].decode("ascii", "backslashreplace").replace("\x00", "\\x00")


# -- the KEXINIT payload (pure) --------------------------------------------------------------------

def parse_name_list(payload: bytes, offset: int) -> tuple[tuple[str, ...], int]:
    """One RFC 4251 name-list at `offset`: (names, next offset). Raises ValueError when malformed."""
    if offset + 4 > len(payload):
        raise ValueError("name-list length runs past the packet")
    (length,) = struct.unpack_from(">I", payload, offset)
    start, end = offset + 4, offset + 4 + length
    if end > len(payload):
        raise ValueError(f"name-list of {length} bytes runs past the packet")
    raw = payload[start:end]
    if not raw:
        return (), end
    if any(b < 0x21 or b > 0x7E for b in raw):
        raise ValueError("name-list holds bytes that are not printable ASCII")
    names = tuple(raw.decode("ascii").split(","))
    if any(not n or len(n) > MAX_NAME for n in names):
        raise ValueError("name-list holds an empty or over-long name")
    return names, end


def parse_kexinit(payload: bytes) -> KexInit:
    """SSH_MSG_KEXINIT payload (message byte included) -> KexInit. Raises ValueError."""
    if not payload or payload[0] != MSG_KEXINIT:
        raise ValueError("not a KEXINIT message")
    offset = 1 + 16  # message number, cookie
    lists = {}
    for name in KEXINIT_LISTS:
        lists[name], offset = parse_name_list(payload, offset)
    if offset + 5 > len(payload):
        raise ValueError("KEXINIT ends before first_kex_packet_follows")
    return KexInit(**lists, first_kex_follows=payload[offset] != 0)


def split_packet(packet: bytes) -> bytes:
    """An unencrypted binary packet body (after the length field) -> its payload."""
    padding = packet[0]
    if padding < 4 or padding >= len(packet):
        raise ValueError(f"bad padding length {padding} in a {len(packet)}-byte packet")
    return packet[1:len(packet) - padding]


# -- the raw exchange ------------------------------------------------------------------------------

class Wire:
    """Reads from a socket against one deadline; every read is bounded in size and time."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock, self.deadline, self.buffer = sock, deadline, b""

    def _fill(self, what: str) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ProbeFailure("timeout", f"no complete {what} before the deadline")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(4096)
        except TimeoutError:
            raise ProbeFailure("timeout", f"no complete {what} before the deadline") from None
        except OSError as exc:
            raise ProbeFailure("error", f"connection failed while reading the {what}: {exc}") from None
        if not chunk:
            raise ProbeFailure("error", f"the server closed the connection before sending its {what}")
        self.buffer += chunk

    def line(self, what: str) -> bytes:
        while b"\n" not in self.buffer[:MAX_LINE]:
            if len(self.buffer) >= MAX_LINE:
                raise ProbeFailure("protocol_error", f"{what} longer than {MAX_LINE} bytes (RFC 4253 §4.2): "
                                                     f"{printable(self.buffer, 80)!r}…")
            self._fill(what)
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.rstrip(b"\r")

    def exact(self, count: int, what: str) -> bytes:
        while len(self.buffer) < count:
            self._fill(what)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data


def read_identification(wire: Wire) -> tuple[list[str], str]:
    """(lines before the version line, the version line)."""
    before: list[str] = []
    for _ in range(MAX_PRE_LINES + 1):
        line = wire.line("identification line")
        if line.startswith(b"SSH-"):
            return before[:KEPT_PRE_LINES], printable(line)
        before.append(printable(line, 200))
    raise ProbeFailure("protocol_error", f"more than {MAX_PRE_LINES} lines before an SSH version line: "
                                         f"not an SSH server? first line {before[0]!r}")


def read_kexinit(wire: Wire) -> KexInit:
    for _ in range(MAX_SKIPPED_MESSAGES):
        (length,) = struct.unpack(">I", wire.exact(4, "KEXINIT packet"))
        if not 12 <= length <= MAX_PACKET:
            raise ProbeFailure("protocol_error", f"packet length {length} outside 12..{MAX_PACKET}: not SSH?")
        try:
            payload = split_packet(wire.exact(length, "KEXINIT packet"))
            kind = payload[0] if payload else None
            if kind == MSG_KEXINIT:
                return parse_kexinit(payload)
        except ValueError as exc:
            raise ProbeFailure("protocol_error", f"malformed KEXINIT: {exc}") from None
        if kind == MSG_DISCONNECT:
            raise ProbeFailure("error", f"the server disconnected: {printable(payload[9:], 200)!r}")
        if kind not in (MSG_IGNORE, MSG_DEBUG):
            raise ProbeFailure("protocol_error", f"unexpected message {kind} before KEXINIT")
    raise ProbeFailure("protocol_error", f"more than {MAX_SKIPPED_MESSAGES} messages before KEXINIT")


def connect(address: str, port: int, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((address, port), timeout=timeout)
    except ConnectionRefusedError:
        raise ProbeFailure("refused", f"connection refused by {address}:{port}") from None
    except TimeoutError:
        raise ProbeFailure("timeout", f"no answer from {address}:{port} within {timeout:g}s") from None
    except OSError as exc:
        raise ProbeFailure("unreachable", f"cannot connect to {address}:{port}: {exc}") from None


def probe_algorithms(address: str, port: int, timeout: float) -> tuple[list[str], Identification, KexInit | None]:
    """Connect, read the version line and KEXINIT; at most `timeout` to connect and `timeout`
    for the rest. SSH-1-only servers have no KEXINIT (None)."""
    sock = connect(address, port, timeout)
    try:
        sock.sendall(CLIENT_IDENT.encode() + b"\r\n")
        wire = Wire(sock, time.monotonic() + timeout)
        before, line = read_identification(wire)
        ident = Identification.parse(line)
        if ident.protocol not in ("2.0", "1.99"):
            return before, ident, None
        return before, ident, read_kexinit(wire)
    except OSError as exc:
        raise ProbeFailure("error", f"connection failed: {exc}") from None
    finally:
        sock.close()


# -- authentication methods, through paramiko ------------------------------------------------------

def host_key_of(transport: paramiko.Transport) -> HostKey | None:
    key = transport.get_remote_server_key()
    if key is None:
        return None
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    try:
        bits = key.get_bits() or None
    except Exception:  # some key classes cannot tell; the fingerprint is what matters
        bits = None
    return HostKey(type=key.get_name(), sha256=digest, bits=bits)


def probe_auth(address: str, port: int, timeout: float) -> AuthMethods:
    """Ask for `none` authentication as a user that does not exist, and keep what the server
    says is allowed. Never raises; never sends a password or key."""
    try:
        sock = connect(address, port, timeout)
    except ProbeFailure as exc:
        return AuthMethods(username=PROBE_USER, reason=exc.detail)
    transport = paramiko.Transport(sock)
    transport.set_log_channel(PARAMIKO_LOG)
    transport.local_version = CLIENT_IDENT
    transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = timeout
    try:
        try:
            transport.start_client(timeout=timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            return AuthMethods(username=PROBE_USER, reason=f"paramiko {paramiko.__version__} could not complete the "
                                                           f"key exchange: {printable(str(exc).encode(), 300)}")
        negotiated = {"host_key": transport.host_key_type or "", "cipher": transport.remote_cipher or "",
                      "mac": transport.remote_mac or ""}
        key = host_key_of(transport)
        try:
            transport.auth_none(PROBE_USER)
        except paramiko.BadAuthenticationType as exc:
            return AuthMethods(username=PROBE_USER, methods=tuple(printable(m.encode(), MAX_NAME)
                                                                  for m in exc.allowed_types[:32]),
                               negotiated=negotiated, host_key=key)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            return AuthMethods(username=PROBE_USER, reason=f"no method list: {printable(str(exc).encode(), 300)}",
                               negotiated=negotiated, host_key=key)
        return AuthMethods(username=PROBE_USER, methods=("none",), none_accepted=True, negotiated=negotiated,
                           host_key=key)
    finally:
        transport.close()


def probe_endpoint(address: str, port: int, timeout: float) -> SshEndpoint:
    started = time.monotonic()
    try:
        before, ident, kexinit = probe_algorithms(address, port, timeout)
    except ProbeFailure as exc:
        return SshEndpoint(port=port, address=address, error=exc.error, seconds=round(time.monotonic() - started, 3))
    auth = probe_auth(address, port, timeout) if kexinit is not None else None
    return SshEndpoint(port=port, address=address, identification=ident,
                       pre_banner_lines=tuple(before), kexinit=kexinit, auth=auth,
                       seconds=round(time.monotonic() - started, 3))


# The host's outcome when no endpoint could be read, from the first endpoint's reason.
HOST_OUTCOMES: dict[str, Outcome] = {"timeout": Outcome.TIMEOUT, "refused": Outcome.UNREACHABLE,
                                     "unreachable": Outcome.UNREACHABLE}


def host_outcome(endpoints: list[SshEndpoint]) -> tuple[Outcome, str]:
    """OK when any endpoint answered (the others are judged one by one) or there is none to ask;
    else the first failure."""
    failures = [(e.port, e.error) for e in endpoints if e.error is not None]
    if len(failures) < len(endpoints) or not endpoints:
        return Outcome.OK, ""
    return (HOST_OUTCOMES.get(failures[0][1].reason, Outcome.ERROR),
            "; ".join(f"{port}/tcp: {error.detail}" for port, error in failures))


class SshServerCollector:
    name = "sshserver"

    def applies_to(self, ctx: ScanContext, host: Host) -> bool:
        # Every host: one without a declared SSH service gets an empty list (no traffic), so its
        # sshd checks say not_applicable instead of "not observed".
        return True

    def collect(self, ctx: ScanContext, hosts: list[Host], sink: Sink) -> None:
        with ThreadPoolExecutor(max_workers=ctx.inventory.scan.concurrency, thread_name_prefix="sshserver") as pool:
            for future in [pool.submit(self._collect_one, ctx, h, sink) for h in hosts]:
                future.result()

    def _collect_one(self, ctx: ScanContext, host: Host, sink: Sink) -> None:
        started = utcnow()
        timeout = ctx.inventory.scan.timeouts.connect
        try:
            address = ctx.address(host)
            endpoints = []
            for service in host.services:
                if service.kind != "ssh" or service.proto != "tcp":
                    continue
                if ctx.stop.is_set():
                    sink(host.name, observation(self.name, started, Outcome.NOT_COLLECTED, "interrupted"))
                    return
                endpoints.append(probe_endpoint(address, service.port, timeout))
            outcome, detail = host_outcome(endpoints)
            facts = SshServers(endpoints=tuple(endpoints), timeout_seconds=timeout, client_ident=CLIENT_IDENT)
            sink(host.name, observation(self.name, started, outcome, detail, facts.model_dump(mode="json")))
        except Exception as exc:  # never let one host stop the others
            sink(host.name, observation(self.name, started, Outcome.ERROR, f"{type(exc).__name__}: {exc}"))
