"""Does a plain-text service agree to start TLS? One read-only exchange per endpoint, asked
before sslyze so that a refusal is read from the protocol's own answer, not guessed from a
failed scan.

The exchange is what a mail or FTP client does before its handshake (RFC 4217 AUTH TLS, RFC 3207
EHLO/STARTTLS, RFC 3501 STARTTLS, RFC 2595 STLS, RFC 4511 StartTLS, PostgreSQL's SSLRequest),
stopping at the server's answer: a refusal ends the conversation, an acceptance is closed before
any handshake (sslyze then does the real one). The classifiers are pure functions over the
transcript; a timeout, reset or unreadable answer is `no_answer`, never a refusal.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from scanner.collectors.endpoints import cap

StarttlsVerdict = Literal["accepted", "refused", "no_answer"]
READ_CAP = 8192
EHLO_NAME = b"readyscan.invalid"  # RFC 2606: a name that resolves nowhere
# sslyze's own bytes (connection_helpers/opportunistic_tls_helpers.py): PostgreSQL SSLRequest,
# and an LDAP ExtendedRequest for StartTLS (OID 1.3.6.1.4.1.1466.20037).
PG_SSLREQUEST = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"
LDAP_STARTTLS = b"0\x1d\x02\x01\x01w\x18\x80\x161.3.6.1.4.1.1466.20037"
REPLY_LINE = re.compile(rb"^(\d{3})([ -])(.*)$")


@dataclass(frozen=True)
class StarttlsAnswer:
    verdict: StarttlsVerdict
    reply: str  # the server's answer that decided (escaped, capped), or why there is none

    @property
    def refused(self) -> bool:
        return self.verdict == "refused"


def shown(data: bytes) -> str:
    """Target bytes as one line of text: printable ASCII as is, the rest as \\xNN."""
    return cap("".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in data.strip()), 300)


def final_reply(data: bytes) -> tuple[int, bytes] | None:
    """The code and text of the last complete reply in a run of FTP/SMTP reply lines."""
    last = None
    for line in data.split(b"\r\n"):
        m = REPLY_LINE.match(line)
        if m and m.group(2) == b" ":
            last = (int(m.group(1)), line)
    return last


class _Conversation:
    """One connection and the transcript so far; every read is capped and bounded in time."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock, self.deadline = sock, deadline

    def read_until(self, complete: Callable[[bytes], bool]) -> bytes:
        data = b""
        while len(data) < READ_CAP and not complete(data):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no complete answer in time")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(READ_CAP - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def send(self, data: bytes) -> None:
        self.sock.settimeout(max(0.05, self.deadline - time.monotonic()))
        self.sock.sendall(data)


def _reply_complete(data: bytes) -> bool:
    return final_reply(data) is not None


def _line_complete(data: bytes) -> bool:
    return data.endswith(b"\r\n") or data.endswith(b"\n")


def _tagged_complete(tag: bytes) -> Callable[[bytes], bool]:
    return lambda data: any(line.startswith(tag + b" ") for line in data.split(b"\r\n"))


def _by_code(data: bytes, accept: int) -> StarttlsAnswer:
    reply = final_reply(data)
    if reply is None:
        return StarttlsAnswer("no_answer", f"no complete reply: {shown(data) or 'nothing'}")
    code, line = reply
    if code == accept:
        return StarttlsAnswer("accepted", shown(line))
    if 400 <= code < 600:
        return StarttlsAnswer("refused", shown(line))
    return StarttlsAnswer("no_answer", f"unexpected reply: {shown(line)}")


def classify_ftp(greeting: bytes, reply: bytes) -> StarttlsAnswer:
    """RFC 4217 §4: 234 accepts AUTH TLS; 4xx/5xx (502 unknown, 504 not for TLS, 530, 534) refuse."""
    if not greeting.startswith(b"220"):
        return StarttlsAnswer("no_answer", f"no FTP greeting: {shown(greeting) or 'nothing'}")
    return _by_code(reply, 234)


def smtp_capabilities(ehlo: bytes) -> tuple[int, set[str]] | None:
    reply = final_reply(ehlo)
    if reply is None:
        return None
    words = set()
    for line in ehlo.split(b"\r\n"):
        m = REPLY_LINE.match(line)
        if m and m.group(1) == b"250":
            words.add(m.group(3).split(b" ", 1)[0].decode("ascii", "replace").upper())
    return reply[0], words


def classify_smtp_ehlo(greeting: bytes, ehlo: bytes) -> StarttlsAnswer | None:
    """RFC 3207 §4: a server that supports STARTTLS lists it in its EHLO reply. None: it did,
    ask it."""
    if not greeting.startswith(b"220"):
        return StarttlsAnswer("no_answer", f"no SMTP greeting: {shown(greeting) or 'nothing'}")
    caps = smtp_capabilities(ehlo)
    if caps is None or caps[0] != 250:
        return StarttlsAnswer("no_answer", f"EHLO not accepted: {shown(ehlo) or 'nothing'}")
    if "STARTTLS" not in caps[1]:
        return StarttlsAnswer("refused", f"STARTTLS not offered in the EHLO reply: {', '.join(sorted(caps[1]))}")
    return None


def classify_imap(reply: bytes, tag: bytes) -> StarttlsAnswer:
    """RFC 3501 §6.2.1: `tag OK` begins the negotiation; `tag NO`/`tag BAD` refuse."""
    for line in reply.split(b"\r\n"):
        if line.startswith(tag + b" "):
            status = line[len(tag) + 1:].split(b" ", 1)[0].upper()
            if status == b"OK":
                return StarttlsAnswer("accepted", shown(line))
            if status in (b"NO", b"BAD"):
                return StarttlsAnswer("refused", shown(line))
    return StarttlsAnswer("no_answer", f"no tagged reply: {shown(reply) or 'nothing'}")


def classify_pop3(reply: bytes) -> StarttlsAnswer:
    """RFC 2595 §4: +OK to STLS begins the negotiation, -ERR refuses it."""
    if reply.startswith(b"+OK"):
        return StarttlsAnswer("accepted", shown(reply.split(b"\r\n")[0]))
    if reply.startswith(b"-ERR"):
        return StarttlsAnswer("refused", shown(reply.split(b"\r\n")[0]))
    return StarttlsAnswer("no_answer", f"unexpected reply: {shown(reply) or 'nothing'}")


def classify_postgres(reply: bytes) -> StarttlsAnswer:
    """PostgreSQL protocol, SSL Session Encryption: the server answers one byte, S or N."""
    if reply[:1] == b"S":
        return StarttlsAnswer("accepted", "S")
    if reply[:1] == b"N":
        return StarttlsAnswer("refused", "N (the server does not accept SSL connections)")
    return StarttlsAnswer("no_answer", f"unexpected reply: {shown(reply[:64]) or 'nothing'}")


LDAP_RESULT = re.compile(rb"\x78[\x00-\x7f]\x0a\x01([\x00-\xff])", re.DOTALL)


def classify_ldap(reply: bytes) -> StarttlsAnswer:
    """RFC 4511 §4.14.2: the ExtendedResponse's resultCode, success (0) or an error code."""
    m = LDAP_RESULT.search(reply)
    if m is None:
        return StarttlsAnswer("no_answer", f"no LDAP extended response: {shown(reply[:64]) or 'nothing'}")
    code = m.group(1)[0]
    return StarttlsAnswer("accepted" if code == 0 else "refused", f"LDAP resultCode {code}")


def _converse(protocol: str, talk: _Conversation) -> StarttlsAnswer:
    if protocol == "FTP":
        greeting = talk.read_until(_reply_complete)
        talk.send(b"AUTH TLS\r\n")
        return classify_ftp(greeting, talk.read_until(_reply_complete))
    if protocol == "SMTP":
        greeting = talk.read_until(_reply_complete)
        talk.send(b"EHLO " + EHLO_NAME + b"\r\n")
        decided = classify_smtp_ehlo(greeting, talk.read_until(_reply_complete))
        if decided is not None:
            return decided
        talk.send(b"STARTTLS\r\n")
        return _by_code(talk.read_until(_reply_complete), 220)
    if protocol == "IMAP":
        talk.read_until(_line_complete)
        talk.send(b"rs1 STARTTLS\r\n")
        return classify_imap(talk.read_until(_tagged_complete(b"rs1")), b"rs1")
    if protocol == "POP3":
        talk.read_until(_line_complete)
        talk.send(b"STLS\r\n")
        return classify_pop3(talk.read_until(_line_complete))
    if protocol == "POSTGRES":
        talk.send(PG_SSLREQUEST)
        return classify_postgres(talk.read_until(lambda data: len(data) >= 1))
    if protocol == "LDAP":
        talk.send(LDAP_STARTTLS)
        return classify_ldap(talk.read_until(lambda data: LDAP_RESULT.search(data) is not None))
    return StarttlsAnswer("no_answer", f"no STARTTLS exchange known for {protocol}")


def ask_starttls(protocol: str, address: str, port: int, timeout: float) -> StarttlsAnswer:
    """Ask the service at address:port whether it starts TLS (a sslyze opportunistic-TLS name:
    FTP, SMTP, IMAP, POP3, POSTGRES, LDAP). Never raises."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            return _converse(protocol, _Conversation(sock, deadline))
    except (TimeoutError, OSError) as exc:
        return StarttlsAnswer("no_answer", cap(f"{type(exc).__name__}: {exc}", 300))
