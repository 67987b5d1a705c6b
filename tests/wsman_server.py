"""A WSMan server on loopback that speaks the WinRS subset the WinRM transport uses (Create shell,
Command, Send, Receive, Signal, Delete), answering with response bodies recorded from a real
Windows host (tests/fixtures/wsman/winrs_responses.yml says which). Authentication is real: a
pyspnego Negotiate acceptor checks NTLM passwords (NTLM_USER_FILE) and Kerberos tickets (with
gssapi installed: the service key from the keytab in KRB5_KTNAME, tests/kdc.py), on HTTPS with the
channel binding to the server certificate; on HTTP every body must be sealed both ways with the
negotiated context, as WinRM does with AllowUnencrypted=false. `offer` is what the server puts in
WWW-Authenticate: Windows offers "Negotiate" (and "Kerberos" when it has a domain); pypsrp picks
Negotiate when offered, and seals with the MIME protocol "HTTP-Kerberos-session-encrypted" only
when the exchange ran under the "Kerberos" scheme, "HTTP-SPNEGO-session-encrypted" otherwise.

It records what it received (command lines, stdin bytes, signals, deletions, the bytes on the
wire, SNI) and answers each command as `script` says: output and exit code, never finishing
(OperationTimeout faults, as WinRM does), or output without end.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import re
import socketserver
import ssl
import struct
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import spnego
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from spnego.channel_bindings import GssChannelBindings
from spnego.exceptions import SpnegoError

from scanner.transport.base import CommandResult
from scanner.transport.winrm import WinrmTarget, WinrmTransport

TEMPLATES = yaml.safe_load((Path(__file__).parent / "fixtures" / "wsman" / "winrs_responses.yml").read_text())
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
}
_ACTIONS = {
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create": "create",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command": "command",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send": "send",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive": "receive",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal": "signal",
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete": "delete",
}
# The MIME protocol of a sealed body, by the HTTP auth scheme that set up the context (pypsrp
# encryption.py and wsman.py: Kerberos only under the "Kerberos" scheme; Negotiate, even when it
# carried Kerberos, is SPNEGO).
_SEALED_PROTOCOL = {"negotiate": "application/HTTP-SPNEGO-session-encrypted",
                    "kerberos": "application/HTTP-Kerberos-session-encrypted"}
_ENCRYPTED = re.compile(
    rb"--Encrypted Boundary\r\n\tContent-Type: (application/HTTP-(?:SPNEGO|Kerberos)-session-encrypted)\r\n"
    rb"\tOriginalContent: type=application/soap\+xml;charset=UTF-8;Length=(\d+)\r\n"
    rb"--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n(.*)--Encrypted Boundary--\r\n",
    re.DOTALL)


@dataclass
class Script:
    """How the server answers the next commands."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0
    mode: str = "done"        # done | hang (never finishes) | flood (output without end)
    # done: stdout made from the command's stdin, once it has all come (a recorded host answering
    # the script it was sent: tests/winreplay.py)
    respond: Callable[[bytes], bytes] | None = None
    parts: int = 2            # done: stdout spread over this many Receive answers
    flood_chunk: int = 64 * 1024


@dataclass
class Seen:
    commands: list[tuple[str, list[str]]] = field(default_factory=list)
    stdin: dict[str, bytearray] = field(default_factory=dict)
    stdin_ended: set[str] = field(default_factory=set)
    signals: list[tuple[str, str]] = field(default_factory=list)
    shells: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    wire: list[tuple[str, bytes]] = field(default_factory=list)     # (content type, raw body)
    soap: list[bytes] = field(default_factory=list)                 # the bodies, unsealed
    plaintext_refused: int = 0
    auth_failures: int = 0
    # per completed authentication: (HTTP scheme, mech pyspnego negotiated, client principal)
    logons: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    sealed_protocols: set[str] = field(default_factory=set)         # MIME protocols of sealed bodies
    sni: list[str | None] = field(default_factory=list)


def _cbt(cert_pem: bytes) -> GssChannelBindings:
    """tls-server-end-point (RFC 5929): SHA-256 of the certificate for SHA-256 signatures."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(Encoding.DER)
    return GssChannelBindings(application_data=b"tls-server-end-point:" + hashlib.sha256(der).digest())


class WsmanServer:
    def __init__(self, *, cert: Path | None = None, key: Path | None = None,
                 offer: tuple[str, ...] = ("Negotiate",)):
        self.script = Script()
        self.offer = offer
        self.seen = Seen()
        self.tls = cert is not None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._commands: dict[str, dict] = {}
        self._cbt = _cbt(cert.read_bytes()) if cert else None
        self._ctx: ssl.SSLContext | None = None
        if cert is not None:
            self._ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ctx.load_cert_chain(cert, key)
            self._ctx.sni_callback = lambda sock, name, ctx: self.seen.sni.append(name) and None
        self._httpd = _Httpd(self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    def __enter__(self) -> WsmanServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def forget_shells(self) -> list[str]:
        """Drop every shell, as a WinRM service does at its idle time-out or a restart; the ids dropped."""
        with self._lock:
            lost, self.seen.shells = self.seen.shells, []
        return lost

    # -- WinRS -----------------------------------------------------------------------------
    def answer(self, soap: bytes) -> tuple[int, bytes]:
        env = ET.fromstring(soap)
        header = env.find("s:Header", NS)
        action = _ACTIONS[header.findtext("wsa:Action", namespaces=NS)]
        ids = {"relates_to": header.findtext("wsa:MessageID", namespaces=NS),
               "message_id": str(uuid.uuid4()).upper()}
        selector = header.find("wsman:SelectorSet/wsman:Selector[@Name='ShellId']", NS)
        ids["shell_id"] = selector.text if selector is not None else ""
        body = env.find("s:Body", NS)
        with self._lock:
            return getattr(self, f"_{action}")(header, body, ids)

    def _render(self, name: str, status: int = 200, **values) -> tuple[int, bytes]:
        return status, TEMPLATES[name].format(**values).encode()

    def _create(self, header, body, ids):
        ids["shell_id"] = str(uuid.uuid4()).upper()
        self.seen.shells.append(ids["shell_id"])
        return self._render("create", **ids)

    def _command(self, header, body, ids):
        if ids["shell_id"] not in self.seen.shells:
            # A shell this server never made (it restarted): Windows answers with a fault; the
            # recorded fault's shape serves, as the client needs only to see one.
            return self._render("fault_timed_out", status=500, **ids)
        line = body.find("rsp:CommandLine", NS)
        self.seen.commands.append((line.findtext("rsp:Command", namespaces=NS),
                                   [a.text or "" for a in line.findall("rsp:Arguments", NS)]))
        command_id = str(uuid.uuid4()).upper()
        self._commands[command_id] = {"script": self.script, "receives": 0}
        self.seen.stdin[command_id] = bytearray()
        return self._render("command", command_id=command_id, **ids)

    def _send(self, header, body, ids):
        for stream in body.findall("rsp:Send/rsp:Stream", NS):
            command_id = stream.attrib["CommandId"]
            self.seen.stdin[command_id] += base64.b64decode(stream.text or "")
            if stream.attrib.get("End", "").lower() == "true":
                self.seen.stdin_ended.add(command_id)
        return self._render("send", **ids)

    def _receive(self, header, body, ids):
        command_id = body.find("rsp:Receive/rsp:DesiredStream", NS).attrib["CommandId"]
        state = self._commands[command_id]
        script: Script = state["script"]
        n = state["receives"]
        state["receives"] += 1
        ids["command_id"] = command_id

        def stream(name: str, data: bytes) -> str:
            return TEMPLATES["stream"].format(name=name, command_id=command_id,
                                              data=base64.b64encode(data).decode())

        if script.mode == "hang":
            seconds = float(re.fullmatch(r"PT([\d.]+)S", header.findtext("wsman:OperationTimeout",
                                                                         namespaces=NS)).group(1))
            self._lock.release()            # other requests (Signal, Delete) may come meanwhile
            try:
                self._stop.wait(seconds)
            finally:
                self._lock.acquire()
            return self._render("fault_timed_out", status=500, **ids)
        if script.mode == "flood":
            return self._render("receive_running", streams=stream("stdout", b"A" * script.flood_chunk), **ids)
        if "stdout" not in state:
            state["stdout"] = (script.respond(bytes(self.seen.stdin[command_id])) if script.respond
                               else script.stdout)
        stdout = state["stdout"]
        size = -(-len(stdout) // script.parts) if stdout else 0
        part = stdout[n * size:(n + 1) * size] if size else b""
        if n < script.parts - 1:
            return self._render("receive_running", streams=stream("stdout", part), **ids)
        streams = (stream("stdout", part) + TEMPLATES["stream_end"].format(name="stdout", command_id=command_id)
                   + (stream("stderr", script.stderr) if script.stderr else "")
                   + TEMPLATES["stream_end"].format(name="stderr", command_id=command_id))
        return self._render("receive_done", streams=streams, exit_code=script.exit_code, **ids)

    def _signal(self, header, body, ids):
        signal = body.find("rsp:Signal", NS)
        self.seen.signals.append((signal.attrib["CommandId"], signal.findtext("rsp:Code", namespaces=NS)))
        return self._render("signal", **ids)

    def _delete(self, header, body, ids):
        self.seen.deletes.append(ids["shell_id"])
        return self._render("delete", **ids)


class _Httpd(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: WsmanServer):
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # Not HTTPServer's: it asks the resolver for getfqdn(127.0.0.1), a lookup the tests that
        # trace name resolution would see (and no test needs the name).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        # A client that connects and resets at once (a port probe) can leave the selector saying
        # "readable" with nothing left to accept: a blocking accept() then waits for the next
        # client, and shutdown() waits for it forever (CI hung here). Non-blocking, the accept
        # fails, socketserver ignores the OSError and the loop goes on.
        self.socket.setblocking(False)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.owner._ctx is not None:
            # The handshake runs in the connection's thread (see _Handler.setup), not here.
            sock = self.owner._ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address) -> None:
        pass  # refused handshakes and dropped clients are what several tests provoke


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 15
    server: _Httpd

    def setup(self) -> None:
        super().setup()
        self.auth = None          # NTLM is connection-bound: one acceptor per connection
        self.scheme = ""          # the HTTP auth scheme the client authenticated under
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if status != 401 and getattr(self, "final_token", None):
            self.send_header("WWW-Authenticate", f"{self.final_scheme} {base64.b64encode(self.final_token).decode()}")
            self.final_token = None
        for name, value in (headers or {}).items():
            for one in value if isinstance(value, list) else [value]:
                self.send_header(name, one)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ctype = self.headers.get("Content-Type", "")
        owner.seen.wire.append((ctype, raw))
        self.final_token = None
        if self.auth is None or not self.auth.complete:
            if not self._authenticate(owner):
                return
        if ctype.startswith("multipart/encrypted"):
            soap, sealed = self._unseal(raw), True
        elif not owner.tls and raw:
            owner.seen.plaintext_refused += 1     # AllowUnencrypted=false
            self._reply(401)
            return
        else:
            soap, sealed = raw, False
        if not soap:                              # pypsrp's empty message that sets up sealing
            self._reply(200)
            return
        owner.seen.soap.append(soap)
        status, answer = owner.answer(soap)
        if sealed:
            protocol = _SEALED_PROTOCOL[self.scheme]
            self._reply(status, self._seal(answer, protocol), {
                "Content-Type": f'multipart/encrypted;protocol="{protocol}";boundary="Encrypted Boundary"'})
        else:
            self._reply(status, answer, {"Content-Type": "application/soap+xml;charset=UTF-8"})

    def _authenticate(self, owner: WsmanServer) -> bool:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        offered = {o.lower(): o for o in owner.offer}
        if scheme.lower() not in offered or not token:
            self._reply(401, headers={"WWW-Authenticate": list(owner.offer)})
            return False
        self.scheme = scheme.lower()
        reply_scheme = offered[self.scheme]
        if self.auth is None:
            self.auth = spnego.server(protocol="negotiate", channel_bindings=owner._cbt)
        try:
            out = self.auth.step(base64.b64decode(token))
        # A refused Kerberos AP-REQ (a channel binding that does not match, say) can surface as
        # AttributeError: python-gssapi returns the acceptor's error token instead of raising
        # (gssapi/_utils.py catch_and_return_token), and pyspnego 0.12 then reads the flags of the
        # context that was never established. A refused logon all the same.
        except (SpnegoError, AttributeError):
            owner.seen.auth_failures += 1
            self.auth = None
            self.close_connection = True
            self._reply(401, headers={"WWW-Authenticate": list(owner.offer), "Connection": "close"})
            return False
        if not self.auth.complete:
            self._reply(401, headers={"WWW-Authenticate": f"{reply_scheme} {base64.b64encode(out).decode()}"})
            return False
        # SPNEGO ends with the acceptor's mechListMIC, Kerberos with its AP-REP (mutual
        # authentication): it rides on the answer to this request.
        self.final_token = out
        self.final_scheme = reply_scheme
        owner.seen.logons.append((self.scheme, self.auth.negotiated_protocol, self.auth.client_principal))
        return True

    def _unseal(self, raw: bytes) -> bytes:
        match = _ENCRYPTED.fullmatch(raw)
        if match is None:
            raise ValueError("not a WinRM encrypted body")
        protocol = match.group(1).decode()
        if protocol != _SEALED_PROTOCOL[self.scheme]:
            raise ValueError(f"sealed as {protocol} after {self.scheme} authentication")
        self.server.owner.seen.sealed_protocols.add(protocol)
        blob = match.group(3)
        (header_len,) = struct.unpack("<i", blob[:4])
        soap = self.auth.unwrap_winrm(blob[4:4 + header_len], blob[4 + header_len:])
        if len(soap) != int(match.group(2)):
            raise ValueError("sealed length mismatch")
        return soap

    def _seal(self, soap: bytes, protocol: str) -> bytes:
        header, data, padding = self.auth.wrap_winrm(soap)
        return (f"--Encrypted Boundary\r\n\tContent-Type: {protocol}\r\n"
                f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(soap) + padding}\r\n"
                "--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n").encode() \
            + struct.pack("<i", len(header)) + header + data + b"--Encrypted Boundary--\r\n"


# -- the client side the WinRM tests share -------------------------------------------------------
ARGV = ["powershell.exe", "-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", "SQBFAFgA"]


def target_for(server: WsmanServer, tls=None, **fields) -> WinrmTarget:
    """A target for `server`: 127.0.0.1, its port and scheme, `tls.ca` as the trust, short timeouts."""
    base = dict(address="127.0.0.1", port=server.port, scheme="https" if server.tls else "http",
                ca_file=tls.ca if tls is not None else None, connect_timeout=5, operation_timeout=5)
    return WinrmTarget(**(base | fields))


def run_once(tgt: WinrmTarget, *, timeout: float = 20, **kwargs) -> CommandResult:
    """ARGV through a transport of its own, closed afterwards (its shell deleted)."""
    transport = WinrmTransport(tgt)
    try:
        return transport.run(ARGV, timeout=timeout, **kwargs)
    finally:
        transport.close()


def readable_on_wire(seen: Seen, script: bytes) -> list[bytes]:
    """What of the command, the script or the SOAP envelope crossed the wire in the clear."""
    needles = (b"powershell.exe", b"EncodedCommand", base64.b64encode(script), b"Envelope")
    return [n for n in needles if any(n in raw for _, raw in seen.wire)]
