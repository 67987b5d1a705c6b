"""The first answer to a ClientHello, and whether a STARTTLS service agrees to start TLS: which
endpoints are worth handing to sslyze at all.

sslyze tries every protocol with several cipher lists, each waiting the full network timeout:
a port that accepts and never speaks costs it about a minute at 5 s. One ClientHello tells such
a port, and one that answers with bytes that are no TLS record, apart within one timeout; those
endpoints are not handed to sslyze at all. Anything that answers like TLS (a record or an alert),
refuses, or closes goes on to sslyze, which explains it in its own words.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl

from scanner.collectors.starttls import ask_starttls
from scanner.collectors.tls_plan import EndpointPlan
from scanner.facts.endpoint import EndpointError

TLS_RECORD_TYPES = frozenset({20, 21, 22, 23})  # change_cipher_spec, alert, handshake, application_data
SSL2_SERVER_HELLO = 4
FIRST_BYTES_KEPT = 48


def client_hello(server_name: str) -> bytes:
    """The bytes of an ordinary ClientHello (with SNI unless the name is an address)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        ipaddress.ip_address(server_name)
        sni = None
    except ValueError:
        sni = server_name or None
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def answers_like_tls(head: bytes) -> bool:
    """Whether the first bytes of an answer can start a TLS record (or an SSL 2.0 server hello)."""
    if head[0] in TLS_RECORD_TYPES:
        return len(head) < 2 or head[1] == 3
    if head[0] & 0x80:  # SSL 2.0: two-byte length with the high bit set, then the message type
        return len(head) < 3 or head[2] == SSL2_SERVER_HELLO
    return False


def precheck(plan: EndpointPlan, timeout: float) -> EndpointError | None:
    """An error for an endpoint that is silent, not TLS, or refuses STARTTLS; None when sslyze
    should scan it."""
    if plan.starttls is not None:
        answer = ask_starttls(plan.starttls, plan.address, plan.port, timeout)
        if answer.refused:
            return EndpointError(reason="starttls_rejected", detail=f"{plan.starttls}: {answer.reply}")
        return None  # accepted, or no clear answer: sslyze tries, and says what went wrong
    try:
        sock = socket.create_connection((plan.address, plan.port), timeout=timeout)
    except OSError:
        return None
    head = b""
    with sock:
        try:
            sock.sendall(client_hello(plan.server_name))
            sock.settimeout(timeout)
            head = sock.recv(FIRST_BYTES_KEPT)
        except TimeoutError:
            return EndpointError(reason="tls_handshake_failed",
                                 detail=f"silent: {plan.address}:{plan.port} accepts connections but sent nothing "
                                        f"within {timeout:g}s in answer to a TLS ClientHello")
        except OSError:
            return None
    if not head or answers_like_tls(head):
        return None
    return EndpointError(reason="tls_handshake_failed",
                         detail=f"not TLS: {plan.address}:{plan.port} answered a TLS ClientHello with bytes that "
                                f"start no TLS record: {head!r}")
