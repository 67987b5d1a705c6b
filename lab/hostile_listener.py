#!/usr/bin/env python3
"""Misbehaving network services for the hostile lab hosts (lab/hostile.py), one process per host.

- ``silent``: accepts a connection and never sends a byte (on an SSH port, on an HTTPS port);
- ``tls-garbage``: answers a TLS ClientHello with bytes that are no TLS record;
- ``ssh-hugebanner``: an "SSH server" whose identification line is 1 MiB of markup and control
  characters;
- ``http-hostile`` / ``https-hostile``: a web server whose status line, headers and body carry
  markup, quotes and control characters (over TLS with a certificate whose subject carries markup,
  given with --tls-cert/--tls-key).

Each hostile answer is fixed text (see the constants): the tests look for it, escaped, in reports.
The listener itself stays well-behaved towards the machine: every read is capped, every connection
is time-limited, and at most MAX_CONNECTIONS are held at once.

Usage: hostile_listener.py [--tls-cert FILE --tls-key FILE] KIND:PORT [KIND:PORT ...]
"""
import argparse
import os
import socketserver
import ssl
import threading
import time

READ_TIMEOUT = 10.0
HOLD_SECONDS = 300.0      # how long a silent connection is held before the listener lets go
MAX_READ = 16 * 1024
MAX_CONNECTIONS = 64

# The hostile texts. Markup that would run if a report pasted it, quotes that would end an HTML
# attribute, and control characters (BEL, ESC sequences that clear a terminal, NUL).
MARKUP = "<script>alert('readyscan-xss')</script><img src=x onerror=\"alert(1)\">"
CONTROL = "\x07\x1b[2J\x1b[31m"
BANNER_BYTES = 1024 * 1024
GARBAGE = (b"\x00\x00\x00 not TLS: " + MARKUP.encode() + CONTROL.encode() + b"\r\n"
           + bytes(range(0x40, 0x80)) * 8)
HTTP_REASON = "OK <b>hostile</b>"
HTTP_HEADERS = [
    ("Server", f"Apache/2.2.15 (CentOS) {MARKUP}"),
    ("X-Powered-By", f"PHP/5.3.3 \"quoted\" & 'single' {CONTROL}"),
    ("X-Hostile", f"\"><svg onload=alert(2)> {CONTROL}\x7f"),
    ("Content-Type", "text/html; charset=utf-8"),
]
HTTP_BODY = (f"<!doctype html><title>{MARKUP}</title><h1>Index of /</h1>{MARKUP}"
             f"<iframe src=\"javascript:alert(3)\"></iframe>\x00{CONTROL}\n").encode()

slots = threading.BoundedSemaphore(MAX_CONNECTIONS)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 64

    def process_request(self, request, client_address):
        if not slots.acquire(blocking=False):   # too many held: drop the newcomer
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            slots.release()


class Handler(socketserver.BaseRequestHandler):
    tls: ssl.SSLContext | None = None

    def setup(self) -> None:
        self.request.settimeout(READ_TIMEOUT)

    def read(self, size: int = 4096) -> bytes:
        try:
            return self.request.recv(min(size, MAX_READ))
        except OSError:
            return b""

    def send(self, data: bytes) -> bool:
        try:
            self.request.sendall(data)
            return True
        except OSError:
            return False

    def hold(self) -> None:
        """Keep the connection open, saying nothing, until the peer leaves or time is up."""
        deadline = time.monotonic() + HOLD_SECONDS
        received = 0
        while time.monotonic() < deadline and received < MAX_READ:
            try:
                data = self.request.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            received += len(data)


class Silent(Handler):
    def handle(self) -> None:
        self.hold()


class TlsGarbage(Handler):
    def handle(self) -> None:
        if self.read():   # the ClientHello (or whatever the client sends first)
            self.send(GARBAGE)


class SshHugeBanner(Handler):
    def handle(self) -> None:
        filler = (MARKUP + CONTROL).encode()
        body = (filler * (BANNER_BYTES // len(filler) + 1))[:BANNER_BYTES]
        if self.send(b"SSH-2.0-OpenSSH_9.2p1 " + body + b"\r\n"):
            self.hold()


class HttpHostile(Handler):
    def handle(self) -> None:
        if self.tls is not None:
            try:
                self.request = self.tls.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        request = b""
        while b"\r\n\r\n" not in request and len(request) < MAX_READ:
            data = self.read()
            if not data:
                break
            request += data
        if not request:
            return
        method = request.split(b" ", 1)[0]
        headers = dict(HTTP_HEADERS)
        body = HTTP_BODY
        if method == b"TRACE":   # echo the request, as a careless server does
            headers["Content-Type"], body = "message/http", request[:MAX_READ]
        headers |= {"Content-Length": str(len(body)), "Connection": "close"}
        lines = [f"HTTP/1.1 200 {HTTP_REASON}"] + [f"{name}: {value}" for name, value in headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        self.send(head + (b"" if method == b"HEAD" else body))


KINDS = {"silent": Silent, "tls-garbage": TlsGarbage, "ssh-hugebanner": SshHugeBanner,
         "http-hostile": HttpHostile, "https-hostile": HttpHostile}


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tls-cert", help="certificate of the https-hostile service")
    parser.add_argument("--tls-key")
    parser.add_argument("services", nargs="+", metavar="KIND:PORT")
    args = parser.parse_args()
    tls = server_tls(args.tls_cert, args.tls_key) if args.tls_cert else None
    servers = []
    for item in args.services:
        kind, port = item.split(":")
        handler = type(KINDS[kind].__name__, (KINDS[kind],),
                       {"tls": tls if kind == "https-hostile" else None})
        servers.append(Server(("0.0.0.0", int(port)), handler))
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"hostile listener {os.getpid()}: {' '.join(args.services)}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
