"""A WSMan server on loopback that speaks the WinRS subset the WinRM transport uses (Create shell,
Command, Send, Receive, Signal, Delete), answering with response bodies recorded from a real
Windows host (tests/fixtures/wsman/winrs_responses.yml says which). Authentication is real: an
NTLM acceptor from pyspnego checks the password (NTLM_USER_FILE) and, on HTTPS, the channel
binding to the server certificate; on HTTP every body must be NTLM-sealed both ways, as WinRM
does with AllowUnencrypted=false.

It records what it received (command lines, stdin bytes, signals, deletions, the bytes on the
wire, SNI) and answers each command as `script` says: output and exit code, never finishing
(OperationTimeout faults, as WinRM does), or output without end.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import re
import ssl
import struct
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import spnego
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from spnego.channel_bindings import GssChannelBindings
from spnego.exceptions import SpnegoError

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
_SPNEGO_ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
_ENCRYPTED = re.compile(
    rb"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
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
    sni: list[str | None] = field(default_factory=list)


def _cbt(cert_pem: bytes) -> GssChannelBindings:
    """tls-server-end-point (RFC 5929): SHA-256 of the certificate for SHA-256 signatures."""
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(Encoding.DER)
    return GssChannelBindings(application_data=b"tls-server-end-point:" + hashlib.sha256(der).digest())


class WsmanServer:
    def __init__(self, *, cert: Path | None = None, key: Path | None = None):
        self.script = Script()
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
        size = -(-len(script.stdout) // script.parts) if script.stdout else 0
        part = script.stdout[n * size:(n + 1) * size] if size else b""
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
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if status != 401 and getattr(self, "final_token", None):
            self.send_header("WWW-Authenticate", f"Negotiate {base64.b64encode(self.final_token).decode()}")
            self.final_token = None
        for name, value in (headers or {}).items():
            self.send_header(name, value)
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
            self._reply(status, self._seal(answer), {
                "Content-Type": f'multipart/encrypted;protocol="{_SPNEGO_ENCRYPTED}";boundary="Encrypted Boundary"'})
        else:
            self._reply(status, answer, {"Content-Type": "application/soap+xml;charset=UTF-8"})

    def _authenticate(self, owner: WsmanServer) -> bool:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "negotiate" or not token:
            self._reply(401, headers={"WWW-Authenticate": "Negotiate"})
            return False
        if self.auth is None:
            self.auth = spnego.server(protocol="negotiate", channel_bindings=owner._cbt)
        try:
            out = self.auth.step(base64.b64decode(token))
        except SpnegoError:
            owner.seen.auth_failures += 1
            self.auth = None
            self.close_connection = True
            self._reply(401, headers={"WWW-Authenticate": "Negotiate", "Connection": "close"})
            return False
        if not self.auth.complete:
            self._reply(401, headers={"WWW-Authenticate": f"Negotiate {base64.b64encode(out).decode()}"})
            return False
        # SPNEGO ends with the acceptor's mechListMIC: it rides on the answer to this request.
        self.final_token = out
        return True

    def _unseal(self, raw: bytes) -> bytes:
        match = _ENCRYPTED.fullmatch(raw)
        if match is None:
            raise ValueError("not a WinRM encrypted body")
        blob = match.group(2)
        (header_len,) = struct.unpack("<i", blob[:4])
        soap = self.auth.unwrap_winrm(blob[4:4 + header_len], blob[4 + header_len:])
        if len(soap) != int(match.group(1)):
            raise ValueError("sealed length mismatch")
        return soap

    def _seal(self, soap: bytes) -> bytes:
        header, data, padding = self.auth.wrap_winrm(soap)
        return (f"--Encrypted Boundary\r\n\tContent-Type: {_SPNEGO_ENCRYPTED}\r\n"
                f"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={len(soap) + padding}\r\n"
                "--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n").encode() \
            + struct.pack("<i", len(header)) + header + data + b"--Encrypted Boundary--\r\n"
