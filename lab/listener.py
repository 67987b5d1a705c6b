#!/usr/bin/env python3
"""Fake network services for lab hosts, one process per host serving several ports.

Each speaks just enough of its protocol for a scanner (or ``nmap -sV``) to recognise it: a telnet
login prompt, a MySQL handshake, an unauthenticated Redis, a PostgreSQL server asking for a
password (over TLS when given a certificate), and a careless file server with directory listing and TRACE. No real data, every read
capped and every connection time-limited.

Usage: listener.py --hostname NAME [--tls-cert FILE --tls-key FILE] KIND:PORT [KIND:PORT ...]
"""
import argparse
import functools
import http.server
import os
import secrets
import socketserver
import ssl
import struct
import threading

TIMEOUT = 10.0
MAX_READ = 16 * 1024
FILES_DIR = "/var/www/files"


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Handler(socketserver.BaseRequestHandler):
    hostname = "localhost"

    def setup(self) -> None:
        self.request.settimeout(TIMEOUT)
        self.received = 0

    def read(self, size: int = 4096) -> bytes:
        """One capped read; empty bytes once the peer is gone, slow or too talkative."""
        if self.received >= MAX_READ:
            return b""
        try:
            data = self.request.recv(min(size, MAX_READ - self.received))
        except OSError:
            return b""
        self.received += len(data)
        return data

    def read_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.read(size - len(data))
            if not chunk:
                break
            data += chunk
        return data


class Telnet(Handler):
    # DO TERMINAL-TYPE, DO TERMINAL-SPEED, DO X-DISPLAY-LOCATION, DO NEW-ENVIRON: as Linux telnetd.
    NEGOTIATION = b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27"

    def handle(self) -> None:
        banner = f"\r\nDebian GNU/Linux 13\r\n\r\n{self.hostname} login: "
        self.request.sendall(self.NEGOTIATION + banner.encode())
        for _ in range(3):
            if not self.read():
                return
            self.request.sendall(b"Password: ")
            if not self.read():
                return
            self.request.sendall(f"\r\nLogin incorrect\r\n{self.hostname} login: ".encode())


class MySQL(Handler):
    VERSION = b"5.7.44-log"

    def handle(self) -> None:
        salt = secrets.token_bytes(20).replace(b"\x00", b"\x01")
        capabilities = 0xF7FF | (0x81BF << 16)
        payload = (b"\x0a" + self.VERSION + b"\x00" + struct.pack("<I", secrets.randbelow(10_000))
                   + salt[:8] + b"\x00" + struct.pack("<H", capabilities & 0xFFFF) + b"\x21"
                   + struct.pack("<H", 2) + struct.pack("<H", capabilities >> 16) + bytes([21])
                   + b"\x00" * 10 + salt[8:] + b"\x00" + b"mysql_native_password\x00")
        self.request.sendall(packet(payload, 0))
        if self.read():
            message = b"Access denied for user (using password: YES)"
            self.request.sendall(packet(b"\xff" + struct.pack("<H", 1045) + b"#28000" + message, 2))


def packet(payload: bytes, sequence: int) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


class Redis(Handler):
    INFO = ("# Server\r\nredis_version:5.0.7\r\nredis_mode:standalone\r\nos:Linux x86_64\r\n"
            "tcp_port:6379\r\n\r\n# Clients\r\nconnected_clients:1\r\n")

    def handle(self) -> None:
        buffer = b""
        while True:
            data = self.read()
            if not data:
                return
            buffer += data
            while b"\n" in buffer:
                command, buffer = self.next_command(buffer)
                if command is None:
                    break
                reply = self.reply(command)
                self.request.sendall(reply)
                if command[:1] == ["QUIT"]:
                    return

    @staticmethod
    def next_command(buffer: bytes) -> tuple[list[str] | None, bytes]:
        """Parse one RESP array or inline command; (None, buffer) when more bytes are needed."""
        if not buffer.startswith(b"*"):
            line, rest = buffer.split(b"\n", 1)
            return line.decode(errors="replace").strip().split(), rest
        lines = buffer.split(b"\r\n")
        try:
            count = int(lines[0][1:])
        except ValueError:
            return [], b""   # garbage: drop it and answer with an error
        if len(lines) <= 1 + 2 * count:   # the last argument has not fully arrived yet
            return None, buffer
        words = [lines[2 + 2 * i].decode(errors="replace") for i in range(count)]
        consumed = b"\r\n".join(lines[:1 + 2 * count]) + b"\r\n"
        return words, buffer[len(consumed):]

    def reply(self, command: list[str]) -> bytes:
        name = command[0].upper() if command else ""
        if name == "PING":
            return b"+PONG\r\n"
        if name == "INFO":
            return f"${len(self.INFO)}\r\n{self.INFO}\r\n".encode()
        if name == "QUIT":
            return b"+OK\r\n"
        return f"-ERR unknown command '{name[:32]}'\r\n".encode()


class Postgres(Handler):
    SSL_REQUEST, GSS_REQUEST = 80877103, 80877104
    tls: ssl.SSLContext | None = None   # set when the server has a certificate (ssl = on)

    def handle(self) -> None:
        length, code = self.read_startup_header()
        while code in (self.SSL_REQUEST, self.GSS_REQUEST):
            if code == self.SSL_REQUEST and self.tls:
                self.request.sendall(b"S")
                try:
                    self.request = self.tls.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
            else:
                self.request.sendall(b"N")   # the client goes on in clear text (or gives up)
            length, code = self.read_startup_header()
        if length is None or not 8 <= length <= 10_000:
            return
        fields = self.read_exact(length - 8).split(b"\x00")
        params = dict(zip(fields[0::2], fields[1::2], strict=False))
        user = params.get(b"user", b"postgres").decode(errors="replace")[:64]
        self.request.sendall(b"R" + struct.pack("!II", 12, 5) + secrets.token_bytes(4))
        if self.read():
            self.request.sendall(error_response(f'password authentication failed for user "{user}"'))

    def read_startup_header(self) -> tuple[int | None, int | None]:
        header = self.read_exact(8)
        return struct.unpack("!II", header) if len(header) == 8 else (None, None)


def error_response(message: str) -> bytes:
    body = (b"SFATAL\x00VFATAL\x00C28P01\x00M" + message.encode() + b"\x00"
            + b"Fauth.c\x00L335\x00Rauth_failed\x00\x00")
    return b"E" + struct.pack("!I", len(body) + 4) + body


class CarelessFiles(http.server.SimpleHTTPRequestHandler):
    """A forgotten file server: lists directories and echoes TRACE (nginx always refuses TRACE)."""
    server_version = "fileserver"
    sys_version = ""
    timeout = TIMEOUT

    def do_TRACE(self) -> None:
        echo = f"{self.requestline}\r\n{self.headers}".encode("latin-1", errors="replace")[:MAX_READ]
        self.send_response(200)
        self.send_header("Content-Type", "message/http")
        self.send_header("Content-Length", str(len(echo)))
        self.end_headers()
        self.wfile.write(echo)

    def log_message(self, *args) -> None:
        pass


class Metrics(Handler):
    """A node-exporter-like metrics page (plain HTTP/1.0, whatever the request)."""
    BODY = b"# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.02\n"

    def handle(self) -> None:
        if self.read():
            self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                                 + f"Content-Length: {len(self.BODY)}\r\n\r\n".encode() + self.BODY)


# What a careful PostgreSQL would allow: TLS 1.2+ with AEAD ECDHE suites, no renegotiation.
MODERN_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                  "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(MODERN_CIPHERS)
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
    context.load_cert_chain(cert, key)
    return context


KINDS = {"telnet": Telnet, "mysql": MySQL, "redis": Redis, "postgres": Postgres, "metrics": Metrics}


def make_server(kind: str, port: int, hostname: str,
                tls: ssl.SSLContext | None = None) -> socketserver.BaseServer:
    if kind == "http-files":
        handler = functools.partial(CarelessFiles, directory=FILES_DIR)
        return http.server.ThreadingHTTPServer(("0.0.0.0", port), handler)
    handler_class = type(KINDS[kind].__name__, (KINDS[kind],), {"hostname": hostname, "tls": tls})
    return Server(("0.0.0.0", port), handler_class)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hostname", default=os.uname().nodename)
    parser.add_argument("--tls-cert", help="certificate for services that offer TLS (postgres)")
    parser.add_argument("--tls-key")
    parser.add_argument("services", nargs="+", metavar="KIND:PORT")
    args = parser.parse_args()
    tls = server_tls(args.tls_cert, args.tls_key) if args.tls_cert else None
    servers = []
    for item in args.services:
        kind, port = item.split(":")
        servers.append(make_server(kind, int(port), args.hostname, tls))
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
