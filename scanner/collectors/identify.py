"""Service identification: what answers on an open TCP port, asked with a few harmless,
read-only questions right after the port scan (run by the ports collector).

Without -sV, nmap names a port from its number (nmap-services): 8080 is "http-proxy" whatever
listens there. Here each open TCP port is asked, each question on its own connection:

1. `banner`: connect and listen. Telnet, SSH, FTP, SMTP, POP3, IMAP, MySQL, VNC and rsync speak
   first.
2. If silent, one question chosen by nmap's name for the port: Redis `PING` (never HTTP: Redis
   logs an HTTP request as a cross-protocol attack), memcached `version`, PostgreSQL SSLRequest;
   any other port gets `GET /` (`http`), over TLS without verification when the port speaks TLS
   (`https`: identification only, the TLS collector judges certificates), and, when HTTP
   answered, `GET /manager/html` (`tomcat_manager`). An HTTP request answered the Redis way
   (`-ERR ...`) is followed by a `PING` to learn whether Redis asks for a password.

Every port has one time budget (PORT_BUDGET) for all its questions together, every read is
capped (READ_CAP), and the scan's stop flag is honoured between questions, so a silent, dripping
or hostile port costs at most its budget. Classification is pure, over the bytes received
(`classify_*`), and is tested on recordings of real servers.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from scanner import __version__
from scanner.collectors.endpoints import permissive_tls_context
from scanner.facts.ports import HttpAnswer, ServiceAnswer

PORT_BUDGET = 3.0  # seconds for all the questions to one port
PASSIVE_WAIT = 1.0  # how long a port may take to speak first
QUIET_AFTER_DATA = 0.25  # once bytes came, how long to wait for the rest of a greeting
READ_CAP = 4096  # bytes read per question at most
BANNER_KEPT = 200  # characters of the deciding answer kept as evidence
TEXT_KEPT = 200  # characters kept of any other string from the target
USER_AGENT = f"readyscan/{__version__} (security readiness scan)"

# nmap's names (nmap-services, or -sV) of ports that must get their own protocol's question.
HINTED_PROBES = {"redis": "redis_ping", "memcache": "memcached_version", "memcached": "memcached_version",
                 "postgresql": "pg_sslrequest"}
REDIS_PING = b"PING\r\n"
MEMCACHED_VERSION = b"version\r\n"
# RFC 959 §4.1.3: SYST names the system type (reply 215). Asked after a 220 greeting that names
# neither FTP nor SMTP (a custom banner such as vsftpd's ftpd_banner): SMTP servers refuse the
# command (500/502), FTP servers answer 215, or 530 "login with USER and PASS" before a login.
FTP_SYST = b"SYST\r\n"
PG_SSLREQUEST = struct.pack("!II", 8, 80877103)  # PostgreSQL protocol docs, 55.2.10 "SSL Session Encryption"
TOMCAT_MANAGER_PATH = "/manager/html"


# -- what came back -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Received:
    """One question and what came back on its connection."""

    probe: str
    data: bytes = b""
    failure: str = ""  # "", or refused | timeout | error: the connection itself failed
    detail: str = ""
    tls: bool = False


def escape(data: bytes, cap: int = BANNER_KEPT) -> str:
    """Bytes from a target as text: printable ASCII kept, everything else as \\xNN."""
    out = []
    for byte in data:
        if 32 <= byte < 127 and byte != 0x5C:
            out.append(chr(byte))
        elif byte == 0x5C:
            out.append("\\\\")
        else:
            out.append({9: "\\t", 10: "\\n", 13: "\\r"}.get(byte, f"\\x{byte:02x}"))
        if sum(map(len, out)) >= cap:
            break
    return "".join(out)[:cap]


def _text(data: bytes, cap: int = TEXT_KEPT) -> str:
    """A text field (header, title, version) as UTF-8, control characters as \\xNN, capped."""
    text = data.strip().decode("utf-8", errors="replace")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:cap])[:cap]


@dataclass(frozen=True)
class Heard:
    """What one answer says (pure result of a classifier)."""

    protocol: str
    product: str = ""
    version: str = ""
    access: str = ""


# -- classifiers (pure) ---------------------------------------------------------------------------

TELNET_COMMANDS = range(0xFB, 0xFF)  # WILL, WONT, DO, DONT (RFC 854)
LOGIN_PROMPT = re.compile(rb"(?:login|username)\s*:\s*$", re.IGNORECASE)
MYSQL_DENIED_CODES = {1130}  # ER_HOST_NOT_PRIVILEGED: "Host '...' is not allowed to connect"


def classify_greeting(data: bytes) -> Heard | None:
    """What a server that speaks first said, or None when we do not recognise it."""
    if len(data) >= 3 and data[0] == 0xFF and data[1] in TELNET_COMMANDS:
        return Heard("telnet")
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if data.startswith(b"SSH-"):
        return Heard("ssh", version=_text(first))
    if data.startswith(b"RFB ") and len(data) >= 12:
        return Heard("vnc", version=_text(data[4:11]))
    if data.startswith(b"@RSYNCD:"):
        return Heard("rsync", version=_text(first[8:]))
    if data.startswith(b"+OK"):
        return Heard("pop3", version=_text(first))
    if data.startswith(b"* OK") or data.startswith(b"* PREAUTH"):
        return Heard("imap", version=_text(first))
    if data[:4] in (b"220 ", b"220-"):
        upper = data.upper()
        if b"SMTP" in upper:
            return Heard("smtp", version=_text(first))
        if b"FTP" in upper:
            return Heard("ftp", version=_text(first))
        return None  # a 220 greeting that names neither: FTP and SMTP both greet so (see FTP_SYST)
    mysql = classify_mysql(data)
    if mysql is not None:
        return mysql
    if LOGIN_PROMPT.search(data.rstrip(b"\x00")):
        return Heard("telnet")  # a login prompt without option negotiation (busybox, network gear)
    return None


FTP_LOGIN_FIRST = re.compile(rb"^530[ -].*\bUSER\b.*\bPASS\b", re.IGNORECASE)


def classify_syst(data: bytes) -> Heard | None:
    """The answer to SYST sent after a bare 220 greeting: FTP when it is an FTP reply."""
    lines = data.split(b"\r\n")
    greeting = lines[0]
    for line in lines[1:]:
        if line.startswith(b"215 ") or FTP_LOGIN_FIRST.match(line):
            return Heard("ftp", version=_text(greeting))
    return None


def syst_complete(data: bytes) -> bool:
    """The greeting and one reply have arrived (the server keeps the connection open)."""
    return data.count(b"\r\n") >= 2 and not data.split(b"\r\n")[-2][3:4] == b"-"


def classify_mysql(data: bytes) -> Heard | None:
    """A MySQL/MariaDB server's first packet: the handshake (protocol 10) or an error packet.
    Packet: 3-byte little-endian length, sequence number 0, payload (MySQL client/server
    protocol, "Connection Phase")."""
    if len(data) < 5 or data[3] != 0:
        return None
    length = int.from_bytes(data[:3], "little")
    payload = data[4:4 + length]
    if not 1 <= length <= 1024 or len(payload) < min(length, 5):
        return None
    if payload[0] == 0x0A:
        version, nul, _ = payload[1:].partition(b"\x00")
        if not nul or not version or not all(32 <= b < 127 for b in version):
            return None
        text = version.decode("ascii")[:TEXT_KEPT]
        return Heard("mysql", product="mariadb" if "mariadb" in text.lower() else "mysql", version=text,
                     access="auth_required")
    if payload[0] == 0xFF and len(payload) >= 3:
        code = int.from_bytes(payload[1:3], "little")
        message = payload[3:].decode("latin-1")
        if not 1000 <= code < 5000 or not message.isprintable():
            return None
        return Heard("mysql", access="denied" if code in MYSQL_DENIED_CODES else "")
    return None


def classify_redis(data: bytes) -> Heard | None:
    """A RESP reply (to PING, or to an HTTP request line, which Redis reads as a command)."""
    line = data.split(b"\r\n", 1)[0]
    if line == b"+PONG":
        return Heard("redis", access="open")
    if line.startswith(b"-NOAUTH"):
        return Heard("redis", access="auth_required")
    if line.startswith(b"-DENIED"):  # protected mode: no password set, refuses non-loopback clients
        return Heard("redis", access="denied")
    if line.startswith(b"-ERR ") and data.endswith(b"\r\n"):
        return Heard("redis")  # an error reply; PING tells whether it wants a password
    return None


def classify_memcached(data: bytes) -> Heard | None:
    if data.startswith(b"VERSION ") and data.endswith(b"\r\n"):
        return Heard("memcached", version=_text(data[8:]), access="open")
    return None


def classify_pg_sslrequest(data: bytes) -> Heard | None:
    """The one-byte answer to SSLRequest: S (will do TLS) or N (will not)."""
    if data in (b"S", b"N"):
        return Heard("postgresql", access="auth_required" if data == b"S" else "")
    return None


def plain_to_tls_port(data: bytes) -> bool:
    """nginx answers a clear-text request on a TLS port with a clear-text 400 saying so."""
    return data.startswith(b"HTTP/1.1 400") and b"sent to HTTPS port" in data


def looks_like_tls(data: bytes) -> bool:
    """A TLS record header (alert 21 or handshake 22, version 3.x) rather than plain text."""
    return len(data) >= 3 and data[0] in (0x15, 0x16) and data[1] == 3


HTTP_STATUS = re.compile(rb"^HTTP/\d\.\d (\d{3})")
TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
REALM = re.compile(r'realm="([^"]*)"', re.IGNORECASE)
KEPT_HEADERS = ("x-jenkins", "x-hudson", "api-version", "docker-experimental", "x-elastic-product", "x-powered-by")


def parse_http(data: bytes, path: str, tls: bool) -> HttpAnswer | None:
    match = HTTP_STATUS.match(data)
    if match is None:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        key = name.strip().lower().decode("latin-1")
        if colon and key not in headers:
            headers[key] = _text(value)
    title = TITLE.search(body)
    realm = REALM.search(headers.get("www-authenticate", ""))
    return HttpAnswer(path=path, tls=tls, status=int(match.group(1)), server=headers.get("server", ""),
                      title=_text(b" ".join(title.group(1).split())) if title else "",
                      realm=realm.group(1) if realm else "",
                      headers={k: headers[k] for k in KEPT_HEADERS if k in headers})


def _http_access(status: int) -> str:
    if status == 401:
        return "auth_required"
    if status == 403:
        return "denied"
    return "open" if 200 <= status < 400 else ""


# Products named by an HTTP answer. Each is a header or realm the product itself sets:
# Jenkins sends X-Jenkins (X-Hudson before 2.0) on every page; Tomcat's manager application
# protects /manager/html with BASIC realm "Tomcat Manager Application" (its web.xml); Webmin's
# web server is MiniServ; cPanel's is cpsrvd; the Docker Engine API sets Api-Version and a
# "Docker/x.y" Server header; Elasticsearch >= 7.14 sets X-Elastic-Product.
def http_product(answer: HttpAnswer, body: bytes = b"") -> tuple[str, str]:
    """(product, version) named by an HTTP answer, or ("", "")."""
    h = answer.headers
    if "x-jenkins" in h or "x-hudson" in h:
        return "jenkins", h.get("x-jenkins", h.get("x-hudson", ""))
    if answer.realm == "Tomcat Manager Application" or answer.title.startswith("/manager"):
        return "tomcat_manager", ""
    server = answer.server.lower()
    if server.startswith("miniserv"):
        return "webmin", answer.server[9:]
    if server.startswith("cpsrvd"):
        return "cpanel", answer.server[7:]
    if server.startswith("docker/") or "api-version" in h:
        return "docker", h.get("api-version", "")
    if h.get("x-elastic-product", "").lower() == "elasticsearch" or b"You Know, for Search" in body:
        return "elasticsearch", ""
    if server.startswith("couchdb/") or b'"couchdb":"Welcome"' in body.replace(b" ", b""):
        return "couchdb", answer.server[8:]
    return "", ""


def classify_http(data: bytes, path: str, tls: bool) -> tuple[Heard, HttpAnswer] | None:
    answer = parse_http(data, path, tls)
    if answer is None:
        return None
    body = data.partition(b"\r\n\r\n")[2]
    product, version = http_product(answer, body)
    access = _http_access(answer.status)
    if product == "jenkins" and answer.status == 403:
        access = "auth_required"  # Jenkins answers anonymous visitors 403 with its login page
    return Heard("http", product=product, version=version, access=access if product else ""), answer


# -- talking to the port ----------------------------------------------------------------------------

def http_request(address: str, port: int, path: str) -> bytes:
    try:
        host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        host = address
    host = host if port in (80, 443) else f"{host}:{port}"
    return (f"GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n"
            "Connection: close\r\n\r\n").encode("ascii")


_TLS_CONTEXT: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    """No verification, TLS 1.0 and up at OpenSSL's lowest security level: identification only
    (a server that speaks only old TLS is still a server whose product must be named; its weak
    TLS is the TLS checks' finding)."""
    global _TLS_CONTEXT
    if _TLS_CONTEXT is None:
        _TLS_CONTEXT = permissive_tls_context()
    return _TLS_CONTEXT


def http_complete(data: bytes) -> bool:
    """Whether an HTTP response has fully arrived (headers, and Content-Length bytes of body),
    for servers that keep the connection open despite `Connection: close`."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep or not HTTP_STATUS.match(head):
        return False
    length = re.search(rb"\r\ncontent-length:\s*(\d{1,9})", head, re.IGNORECASE)
    return length is not None and len(body) >= int(length.group(1))


def line_complete(data: bytes) -> bool:
    """A one-line answer (RESP, memcached) has arrived: these servers keep the connection open."""
    return data.endswith(b"\r\n")


def byte_complete(data: bytes) -> bool:
    return len(data) >= 1


def exchange(address: str, port: int, send: bytes, deadline: float, *, passive: bool = False,
             use_tls: bool = False, probe: str = "", done: Callable[[bytes], bool] = http_complete) -> Received:
    """One connection: (TLS,) send, read until the peer closes, READ_CAP, `done(data)`, or the
    deadline. A passive read stops PASSIVE_WAIT after connecting when nothing
    came, and QUIET_AFTER_DATA after the last bytes otherwise (greetings do not end with a close)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return Received(probe, failure="timeout", detail="no time left in the port's budget")
    data = b""
    try:
        with socket.create_connection((address, port), timeout=remaining) as raw:
            sock: socket.socket = raw
            if use_tls:
                raw.settimeout(max(0.05, deadline - time.monotonic()))
                sock = tls_context().wrap_socket(raw)
            if send:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                sock.sendall(send)
            started = time.monotonic()
            until = min(deadline, started + PASSIVE_WAIT) if passive else deadline
            while len(data) < READ_CAP:
                wait = until - time.monotonic()
                if wait <= 0:
                    break
                sock.settimeout(wait)
                try:
                    chunk = sock.recv(READ_CAP - len(data))
                except TimeoutError:
                    break
                if not chunk:
                    break
                data += chunk
                if not passive and done(data):
                    break
                if passive:
                    until = min(deadline, time.monotonic() + QUIET_AFTER_DATA)
    except ConnectionRefusedError as exc:
        return Received(probe, data, failure="refused", detail=str(exc)[:TEXT_KEPT], tls=use_tls)
    except TimeoutError:
        return Received(probe, data, failure="" if data else "timeout", detail="timed out", tls=use_tls)
    except (ssl.SSLError, ConnectionResetError) as exc:
        # A reset after bytes came is the peer closing its way; before, the question failed.
        return Received(probe, data, failure="" if data else "error",
                        detail=f"{type(exc).__name__}: {exc}"[:TEXT_KEPT], tls=use_tls)
    except OSError as exc:
        return Received(probe, data, failure="" if data else "error",
                        detail=f"{type(exc).__name__}: {exc}"[:TEXT_KEPT], tls=use_tls)
    return Received(probe, data, tls=use_tls)


Exchange = Callable[..., Received]


@dataclass
class _Session:
    """The questions asked of one port so far (imperative shell around the pure classifiers)."""

    address: str
    port: int
    deadline: float
    stop: threading.Event
    talk: Exchange
    asked: list[Received]

    def ask(self, probe: str, send: bytes = b"", **kw) -> Received | None:
        if self.stop.is_set() or time.monotonic() >= self.deadline:
            return None
        got = self.talk(self.address, self.port, send, self.deadline, probe=probe, **kw)
        self.asked.append(got)
        return got


def answer(got: Received, heard: Heard, asked: list[Received], http: tuple[HttpAnswer, ...] = ()) -> ServiceAnswer:
    return ServiceAnswer(outcome="identified", protocol=heard.protocol, product=heard.product,
                         version=heard.version, access=heard.access, tls=got.tls, probe=got.probe,
                         probes=tuple(r.probe for r in asked), banner=escape(got.data), http=http)


def identify_port(address: str, port: int, hint: str, stop: threading.Event, budget: float = PORT_BUDGET,
                  talk: Exchange = exchange) -> ServiceAnswer:
    """Ask one open TCP port what it is. Never raises."""
    session = _Session(address, port, time.monotonic() + budget, stop, talk, [])
    try:
        return _identify(session, hint)
    except Exception as exc:  # a bug here must cost one port its answer, not the scan
        return ServiceAnswer(outcome="error", probes=tuple(r.probe for r in session.asked),
                             detail=f"{type(exc).__name__}: {exc}"[:TEXT_KEPT])


def _identify(s: _Session, hint: str) -> ServiceAnswer:
    greeting = s.ask("banner", passive=True)
    if greeting is None:
        return _unanswered(s)
    if greeting.failure:
        return _unanswered(s)  # refused or timed out: the port is not there to ask
    if greeting.data:
        heard = classify_greeting(greeting.data)
        if heard is None and greeting.data[:4] in (b"220 ", b"220-"):
            return _ask_one(s, "ftp_syst")
        return answer(greeting, heard, s.asked) if heard else _unrecognised(s, greeting)
    probe = HINTED_PROBES.get(hint.lower(), "http")
    if probe == "http":
        return _ask_http(s)
    return _ask_one(s, probe)


# The hinted questions: what is sent, when the answer is complete, and what reads it.
QUESTIONS: dict[str, tuple[bytes, Callable[[bytes], bool], Callable[[bytes], Heard | None]]] = {
    "redis_ping": (REDIS_PING, line_complete, classify_redis),
    "memcached_version": (MEMCACHED_VERSION, line_complete, classify_memcached),
    "pg_sslrequest": (PG_SSLREQUEST, byte_complete, classify_pg_sslrequest),
    "ftp_syst": (FTP_SYST, syst_complete, classify_syst),
}


def _ask_one(s: _Session, probe: str) -> ServiceAnswer:
    send, done, classify = QUESTIONS[probe]
    got = s.ask(probe, send, done=done)
    if got is None or not got.data:
        return _unanswered(s)
    heard = classify(got.data) or classify_greeting(got.data)
    return answer(got, heard, s.asked) if heard else _unrecognised(s, got)


def _ask_http(s: _Session) -> ServiceAnswer:
    got = s.ask("http", http_request(s.address, s.port, "/"))
    if got is None or (got.failure and not got.data):
        return _unanswered(s)
    if got.data and not looks_like_tls(got.data):
        redis = classify_redis(got.data)
        if redis is not None and not redis.access:
            return _ask_one(s, "redis_ping")
        if redis is not None:
            return answer(got, redis, s.asked)
        if not plain_to_tls_port(got.data):
            return _from_http(s, got) or _unrecognised(s, got)
    # A TLS alert, closed without a word, or an HTTPS server's complaint: ask again over TLS.
    secured = s.ask("https", http_request(s.address, s.port, "/"), use_tls=True)
    if secured is None or (secured.failure and not secured.data):
        return _unanswered(s)
    if not secured.data:
        return _tls_only(s, secured)
    return _from_http(s, secured) or _unrecognised(s, secured)


def _from_http(s: _Session, got: Received) -> ServiceAnswer | None:
    classified = classify_http(got.data, "/", got.tls)
    if classified is None:
        heard = classify_greeting(got.data)  # a late greeting (slow MySQL, SMTP) lands here too
        return answer(got, heard, s.asked) if heard else None
    heard, first = classified
    if heard.product:
        return answer(got, heard, s.asked, (first,))
    manager = s.ask("tomcat_manager", http_request(s.address, s.port, TOMCAT_MANAGER_PATH), use_tls=got.tls)
    second = classify_http(manager.data, TOMCAT_MANAGER_PATH, got.tls) if manager and manager.data else None
    if second is not None and second[0].product == "tomcat_manager":
        return answer(manager, second[0], s.asked, (first, second[1]))
    return answer(got, heard, s.asked, (first,) + ((second[1],) if second else ()))


def _tls_only(s: _Session, got: Received) -> ServiceAnswer:
    return ServiceAnswer(outcome="identified", protocol="tls", tls=True, probe=got.probe,
                         probes=tuple(r.probe for r in s.asked), detail="TLS handshake completed; no HTTP answer")


def _unrecognised(s: _Session, got: Received) -> ServiceAnswer:
    return ServiceAnswer(outcome="unrecognised", tls=got.tls, probe=got.probe, probes=tuple(r.probe for r in s.asked),
                         banner=escape(got.data), detail=got.detail)


def _unanswered(s: _Session) -> ServiceAnswer:
    """Nothing usable came back: why, from the questions asked."""
    probes = tuple(r.probe for r in s.asked)
    details = "; ".join(f"{r.probe}: {r.detail or 'no answer'}" for r in s.asked)[:TEXT_KEPT]
    if s.stop.is_set():
        return ServiceAnswer(outcome="interrupted", probes=probes, detail="the scan was interrupted")
    first = s.asked[0] if s.asked else None
    if first is None:
        return ServiceAnswer(outcome="timeout", detail="no time left in the port's budget")
    if first.failure in ("refused", "timeout") and not first.data:
        # The port could not even be connected to: it closed, or a firewall drops us now.
        return ServiceAnswer(outcome=first.failure, probe=first.probe, probes=probes, detail=details)
    return ServiceAnswer(outcome="silent", probes=probes, detail=details)


# -- many ports ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PortToAsk:
    address: str
    port: int
    hint: str  # nmap's name for the port


def identify_all(todo: list[PortToAsk], concurrency: int, stop: threading.Event,
                 budget: float = PORT_BUDGET) -> dict[tuple[str, int], ServiceAnswer]:
    """Every port's answer, `concurrency` ports at once. Each port ends within its budget (every
    socket operation is bounded by it), so the pool drains on its own; once `stop` is set the
    ports not yet started say interrupted."""
    if not todo:
        return {}

    def one(item: PortToAsk) -> ServiceAnswer:
        if stop.is_set():
            return ServiceAnswer(outcome="interrupted", detail="the scan was interrupted")
        return identify_port(item.address, item.port, item.hint, stop, budget)

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(todo))), thread_name_prefix="identify") as pool:
        answers = list(pool.map(one, todo))
    return {(item.address, item.port): got for item, got in zip(todo, answers, strict=True)}

