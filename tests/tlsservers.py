"""Real TLS and HTTP servers on loopback for tests/test_tls.py and tests/test_http.py.

- `TestPki`: a test CA and leaf certificates with seeded faults (expired, self-signed, wrong host,
  1024-bit RSA, SHA-1 signature...), made with the `cryptography` package.
- `Nginx`: one nginx process (`master_process off`, so one PID) with our own config, logs and
  temp paths under the test's folder; /etc/nginx is never read. OPENSSL_CONF points at our own
  file with SECLEVEL=0, so the legacy servers (TLS 1.0, 1024-bit keys, SHA-1) can load at all.
- Small raw servers run as subprocesses (`python -m tests.tlsservers MODE PORT ...`): a port that
  accepts and never speaks, one that answers a ClientHello with garbage, an SMTP server with
  STARTTLS, and an HTTP server with hostile headers and TRACE echo.

Everything listens on 127.0.0.1, ports 23000-23999, and is stopped by PID.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import ipaddress
import json
import os
import signal
import socket
import socketserver
import ssl
import string
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from checks.registry import HostContext, Registry
from scanner.collectors.base import ScanContext, ScanOptions
from scanner.inventory import Inventory, LoadedInventory, load_inventory, parse_inventory
from scanner.model import Observation, Outcome, Result, Status
from scanner.thresholds import load_thresholds
from tests.paths import ROOT

LOOPBACK = "127.0.0.1"
PORT_RANGE = range(23000, 24000)
_handed_out: set[int] = set()
_port_lock = threading.Lock()


def free_port() -> int:
    """A port from our range that nothing listens on now and we have not handed out before."""
    with _port_lock:
        for port in PORT_RANGE:
            if port in _handed_out:
                continue
            with socket.socket() as s:
                try:
                    s.bind((LOOPBACK, port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port left in 23000-23999")


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None,
                  address: str = LOOPBACK) -> None:
    """Wait until something listens on address:port, or the server process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server for {address}:{port} exited with {proc.returncode}")
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {address}:{port} after {timeout}s")


def stop_process(proc: subprocess.Popen) -> None:
    """Stop one process we started, by its PID: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


# -- certificates -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "readyscan tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key(kind: str):
    if kind == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    bits = int(kind.removeprefix("rsa"))
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


class TestPki:
    """A test CA in `folder` plus leaf certificates issued on demand."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path, now: dt.datetime | None = None):
        self.folder = folder
        self.now = now or dt.datetime.now(dt.UTC)
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_key = _key("rsa2048")
        name = _name("readyscan test CA")
        self.ca_cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(days=3650)).not_valid_after(self.now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_path = folder / "ca.pem"
        self.ca_path.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, *, sans: tuple[str, ...] = ("good.test",), valid_from_days: float = -1,
              valid_days: float = 365, key: str = "rsa2048", self_signed: bool = False) -> Issued:
        leaf_key = _key(key)
        subject = _name(sans[0] if sans else name)
        issuer_name, signing_key = (subject, leaf_key) if self_signed else (self.ca_cert.subject, self.ca_key)
        alt_names = []
        for san in sans:
            try:
                alt_names.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                alt_names.append(x509.DNSName(san))
        not_before = self.now + dt.timedelta(days=valid_from_days)
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_before + dt.timedelta(days=valid_days))
            # A self-signed certificate as `openssl req -x509` makes it: CA:TRUE.
            .add_extension(x509.BasicConstraints(ca=self_signed, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False)
        cert = builder.sign(signing_key, hashes.SHA256())
        paths = Issued(self.folder / f"{name}.pem", self.folder / f"{name}.key")
        paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(leaf_key, paths.key)
        return paths

    def issue_sha1(self, name: str, san: str = "good.test") -> Issued:
        """A leaf signed by the CA with SHA-1. `cryptography` refuses to make one, so the
        openssl command line signs it."""
        leaf_key = _key("rsa2048")
        paths = Issued(self.folder / f"{name}.pem", self.folder / f"{name}.key")
        _write_key(leaf_key, paths.key)
        csr = x509.CertificateSigningRequestBuilder().subject_name(_name(san)).sign(leaf_key, hashes.SHA256())
        csr_path, ext_path, ca_key = (self.folder / f"{name}.csr", self.folder / f"{name}.ext",
                                      self.folder / "ca.key")
        csr_path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        ext_path.write_text(f"basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:{san}\n"
                            "extendedKeyUsage=serverAuth\n")
        if not ca_key.exists():
            _write_key(self.ca_key, ca_key)
        subprocess.run(["openssl", "x509", "-req", "-sha1", "-in", str(csr_path), "-CA", str(self.ca_path),
                        "-CAkey", str(ca_key), "-set_serial", str(x509.random_serial_number()), "-days", "365",
                        "-extfile", str(ext_path), "-out", str(paths.cert)],
                       check=True, capture_output=True, timeout=30)
        return paths


# -- nginx ------------------------------------------------------------------------------------

# A TLS setup every TLS check passes: Mozilla "intermediate" (ECDHE AEAD suites), TLS 1.2 and 1.3.
MOZILLA_INTERMEDIATE = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
GOOD_TLS = f"ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers {MOZILLA_INTERMEDIATE}; ssl_prefer_server_ciphers off;"

# Our own OpenSSL config for the nginx process: SECLEVEL=0, so that the deliberately weak servers
# (TLS 1.0/1.1, 1024-bit RSA, SHA-1 signed certificates) can start. Each server block still sets
# its own protocols and ciphers.
OPENSSL_CNF = """\
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
CipherString = DEFAULT:@SECLEVEL=0
MinProtocol = TLSv1
"""


class Nginx:
    """One nginx process serving the given `server { ... }` blocks (text), stopped by PID."""

    def __init__(self, folder: Path, servers: list[str], ports: list[int]):
        self.folder, self.servers, self.ports = folder, servers, ports
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        d = self.folder
        temps = "\n".join(f"  {kind}_temp_path {d}/tmp/{kind};"
                          for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        return f"""\
master_process off;
error_log {d}/error.log info;
events {{ worker_connections 512; }}
http {{
  access_log {d}/access.log;
{temps}
  default_type text/html;
  types {{ text/html html; }}
{chr(10).join(self.servers)}
}}
"""

    def start(self) -> Nginx:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "tmp").mkdir(exist_ok=True)
        conf = self.folder / "nginx.conf"
        conf.write_text(self.config())
        cnf = self.folder / "openssl.cnf"
        cnf.write_text(OPENSSL_CNF)
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin"), "OPENSSL_CONF": str(cnf)}
        argv = ["nginx", "-p", str(self.folder), "-e", str(self.folder / "error.log"), "-c", str(conf),
                "-g", f"daemon off; pid {self.folder / 'nginx.pid'};"]
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for port in self.ports:
                wait_for_port(port, proc=self.proc)
        except RuntimeError as exc:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
            self.stop()
            log = (self.folder / "error.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"nginx did not start: {exc}\n{err}\n{log}") from None
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            if self.proc.stderr:
                self.proc.stderr.close()


# -- raw servers (subprocesses) ---------------------------------------------------------------

@dataclass
class RawServer:
    """A `python -m tests.tlsservers MODE PORT ...` subprocess."""

    mode: str
    port: int
    args: tuple[str, ...] = ()
    proc: subprocess.Popen | None = None

    def start(self) -> RawServer:
        argv = [sys.executable, "-m", "tests.tlsservers", self.mode, str(self.port), *self.args]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SilentHandler(socketserver.BaseRequestHandler):
    """Accepts, reads, never answers; holds the connection until the client gives up."""

    def handle(self) -> None:
        self.request.settimeout(120)
        try:
            while self.request.recv(4096):
                pass
        except OSError:
            pass


# Not TLS: an HTTP-ish line then bytes that are no TLS record (content type 0x00..).
GARBAGE = b"\x00\xffgarbage, not a TLS record\r\n" + bytes(range(256)) * 4


class GarbageHandler(socketserver.BaseRequestHandler):
    """Reads the ClientHello and answers with garbage."""

    def handle(self) -> None:
        self.request.settimeout(10)
        try:
            self.request.recv(4096)
            self.request.sendall(GARBAGE)
        except OSError:
            pass


def smtp_handler(cert: str, key: str, offer_starttls: bool = True):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    class SmtpHandler(socketserver.StreamRequestHandler):
        """Just enough SMTP for a STARTTLS handshake: banner, EHLO, STARTTLS, then EHLO/QUIT in TLS."""

        def handle(self) -> None:
            self.request.settimeout(10)
            try:
                self._serve()
            except (OSError, ssl.SSLError):
                pass

        def _serve(self) -> None:
            sock = self.request
            sock.sendall(b"220 mail.test ESMTP readyscan-test\r\n")
            reader = sock.makefile("rb")
            while True:
                line = reader.readline(1024)
                if not line:
                    return
                verb = line.strip().upper().split(b" ")[0]
                if verb in (b"EHLO", b"HELO"):
                    extra = b"250-STARTTLS\r\n" if offer_starttls else b""
                    sock.sendall(b"250-mail.test\r\n" + extra + b"250 8BITMIME\r\n")
                elif verb == b"STARTTLS" and offer_starttls:
                    sock.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    break
                elif verb == b"QUIT":
                    sock.sendall(b"221 bye\r\n")
                    return
                else:
                    sock.sendall(b"502 command not implemented\r\n")
            tls = context.wrap_socket(sock, server_side=True)
            reader = tls.makefile("rb")
            while True:
                line = reader.readline(1024)
                if not line:
                    return
                if line.strip().upper().startswith(b"QUIT"):
                    tls.sendall(b"221 bye\r\n")
                    return
                tls.sendall(b"250 ok\r\n")

    return SmtpHandler


# Hostile response headers: markup, quotes, a control character and a long value. They must come
# back as data (escaped by the reports), never interpreted.
HOSTILE_HEADERS = [
    ("Server", "Apache/2.2.15 (CentOS) <script>alert('srv')</script>"),
    ("X-Powered-By", "PHP/5.3.3"),
    ("X-Evil", "<img src=x onerror=\"alert(1)\"> ' \" \x01\x1b[31m"),
    ("X-Long", "A" * 9000),
]
LISTING_BODY = (b"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n"
                b"  <title>Index of /</title>\n </head>\n <body>\n<h1>Index of /</h1>\n"
                b"<ul><li><a href=\"backup.sql\"> backup.sql</a></li></ul>\n</body></html>\n")


class HostileHttpHandler(socketserver.StreamRequestHandler):
    """An old Apache lookalike: version banners, hostile headers, a directory listing, TRACE echo."""

    def handle(self) -> None:
        self.request.settimeout(10)
        try:
            request = b""
            while not request.endswith(b"\r\n\r\n") and len(request) < 65536:
                chunk = self.request.recv(4096)
                if not chunk:
                    return
                request += chunk
            method = request.split(b" ", 1)[0]
            if method == b"TRACE":
                status, ctype, body = b"200 OK", b"message/http", request
            elif method in (b"GET", b"HEAD"):
                status, ctype, body = b"200 OK", b"text/html;charset=UTF-8", LISTING_BODY
            else:
                status, ctype, body = b"405 Method Not Allowed", b"text/plain", b"no\n"
            head = b"HTTP/1.1 " + status + b"\r\n"
            for name, value in HOSTILE_HEADERS:
                head += name.encode() + b": " + value.encode("latin-1") + b"\r\n"
            head += b"Content-Type: " + ctype + b"\r\nContent-Length: " + str(len(body)).encode()
            head += b"\r\nConnection: close\r\n\r\n"
            self.request.sendall(head + (b"" if method == b"HEAD" else body))
        except OSError:
            pass


class DripHandler(socketserver.BaseRequestHandler):
    """Starts an HTTP answer, then sends one header byte every half second, for ever: each read
    is quick, so only an overall time budget stops a client."""

    def handle(self) -> None:
        self.request.settimeout(10)
        try:
            self.request.recv(4096)
            self.request.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while True:
                time.sleep(0.5)
                self.request.sendall(b"a")
        except OSError:
            pass


# -- scanning and judging in the tests -----------------------------------------------------------

def write_inventory(path: Path, hosts: list[dict], scan: dict) -> LoadedInventory:
    doc = {"organization": {"name": "readyscan tests"}, "defaults": {"transport": "none"},
           "hosts": hosts, "scan": scan}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_inventory(path)


def collect(collector, loaded: LoadedInventory, stopped: bool = False) -> dict[str, Observation]:
    """Run one collector over every host of the inventory; {host: observation}."""
    ctx = ScanContext(loaded, ScanOptions())
    if stopped:
        ctx.stop.set()
    out: dict[str, Observation] = {}
    collector.collect(ctx, list(loaded.inventory.hosts), lambda host, obs: out.__setitem__(host, obs))
    return out


def judge_host(registry: Registry, pattern: str, inventory: Inventory, host: str,
               observations: dict[str, Observation], now: dt.datetime) -> list[Result]:
    ctx = HostContext(host=inventory.host(host), inventory=inventory, observations=observations,
                      settings=load_thresholds(), now=now)
    return [r for check in registry.select([pattern]) for r in registry.run_host_check(check, ctx)]


def by_check(results: list[Result], target: str) -> dict[str, Result]:
    """The results for one endpoint, by check id (each per-endpoint check gives one)."""
    return {r.check_id: r for r in results if r.target == target}


def failing(results: dict[str, Result]) -> set[str]:
    return {check_id for check_id, r in results.items() if r.status == Status.FAIL}


def assert_messages_resolve(results: list[Result], catalog) -> None:
    """Every result's message is in the catalog in both languages, with every placeholder given
    (target text may hold braces, so the template's fields are compared, not the output), and its
    evidence and parameters are plain JSON (a scan file read back must compare equal)."""
    for result in results:
        assert json.loads(json.dumps(result.evidence)) == result.evidence, result.check_id
        assert json.loads(json.dumps(result.message.params)) == result.message.params, result.check_id
        name = result.message.key
        key = f"common.{name[1:]}" if name.startswith("_") else f"{result.check_id}.messages.{name}"
        assert catalog.has(key), key
        for lang in ("vi", "en"):
            fields = {f for _, f, _, _ in string.Formatter().parse(catalog.entries[key][lang]) if f}
            assert fields <= set(result.message.params), (key, lang, fields - set(result.message.params))


def observation_of(collector: str, data: dict, when: dt.datetime) -> Observation:
    return Observation(collector=collector, outcome=Outcome.OK, started=when, ended=when, data=data)


@dataclass
class LiveScan:
    """One collector's observations of the live servers, judged by one area's checks."""

    loaded: LoadedInventory
    observations: dict[str, Observation]
    now: dt.datetime
    pattern: str  # "tls.*"

    def results(self, registry: Registry, host: str = "web") -> list[Result]:
        collector = self.observations[host].collector
        return judge_host(registry, self.pattern, self.loaded.inventory, host,
                          {collector: self.observations[host]}, self.now)

    def endpoint(self, port: int, host: str = "web") -> dict:
        return next(e for e in self.observations[host].data["endpoints"] if e["port"] == port)


def offline_inventory(fqdn: str, **scan) -> Inventory:
    doc = {"organization": {"name": "readyscan tests"}, "defaults": {"transport": "none"},
           "hosts": [{"name": "web", "address": "127.0.0.1", "fqdn": fqdn, "zone": "dmz"}], "scan": scan}
    return parse_inventory(yaml.safe_dump(doc), "offline.yaml")


@dataclass(frozen=True)
class Recordings:
    """Endpoint facts recorded off the live servers, one JSON file per case, and judged offline
    with the recording time as `now` (certificate dates stay meaningful)."""

    folder: Path
    recorder: str  # the test module that writes them
    facts_model: type  # TlsFacts / HttpFacts
    pattern: str  # "tls.*"

    def save(self, case: str, endpoint: dict, now: dt.datetime, what: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        doc = {"source": f"Recorded by {self.recorder} (READYSCAN_RECORD_FIXTURES=1) on 127.0.0.1 from {what} "
                         f"({tool_versions()})",
               "case": case, "recorded_at": now.isoformat(), "endpoint": endpoint}
        (self.folder / f"{case}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n",
                                                  encoding="utf-8")

    def load(self, case: str) -> tuple[Any, dt.datetime]:
        doc = json.loads((self.folder / f"{case}.json").read_text(encoding="utf-8"))
        assert doc["source"].startswith(f"Recorded by {self.recorder}")
        endpoint = self.facts_model.model_validate({"endpoints": [doc["endpoint"]]}).endpoints[0]
        return endpoint, dt.datetime.fromisoformat(doc["recorded_at"])

    def judge(self, registry: Registry, endpoint, now: dt.datetime, inventory: Inventory) -> dict[str, Result]:
        data = self.facts_model(endpoints=(endpoint,)).model_dump(mode="json")
        collector = self.facts_model.COLLECTOR
        results = judge_host(registry, self.pattern, inventory, "web", {collector: observation_of(collector, data, now)},
                             now)
        return by_check(results, endpoint.target)


def tool_versions() -> str:
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    libraries = "; ".join(f"{name} {importlib.metadata.version(name)}" for name in ("sslyze", "requests"))
    return f"{nginx}; {openssl}; {libraries}"


def serve(mode: str, port: int, extra: list[str]) -> None:
    handlers = {
        "silent": lambda: SilentHandler,
        "garbage": lambda: GarbageHandler,
        "smtp": lambda: smtp_handler(extra[0], extra[1]),
        "smtp-plain": lambda: smtp_handler(extra[0], extra[1], offer_starttls=False),
        "http-hostile": lambda: HostileHttpHandler,
        "drip": lambda: DripHandler,
    }
    with _Server((LOOPBACK, port), handlers[mode]()) as server:
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        server.serve_forever(poll_interval=0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["silent", "garbage", "smtp", "smtp-plain", "http-hostile", "drip"])
    parser.add_argument("port", type=int)
    parser.add_argument("extra", nargs="*", help="smtp: CERT KEY")
    args = parser.parse_args(argv)
    if args.port not in PORT_RANGE:
        parser.error("port outside 23000-23999")
    serve(args.mode, args.port, args.extra)


if __name__ == "__main__":
    main()
