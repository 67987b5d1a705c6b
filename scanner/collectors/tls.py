"""The TLS collector: every declared TLS endpoint of the scan in one sslyze `Scanner`.

Endpoints are the declared services that speak TLS from the first byte (https, smtps, imaps,
pop3s, ldaps, ftps) or after STARTTLS (smtp, imap, pop3, ftp, ldap, PostgreSQL on 5432). Each is
scanned at the address planned for its host (`ctx.address`, no DNS lookup here) with the host's
fqdn as SNI. The whole phase is bounded by `scan.timeouts.tls` and stops on Ctrl-C; an endpoint
that did not finish, or could not be reached, keeps its reason in its own `error`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import queue
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path
from traceback import TracebackException
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from sslyze import (
    CertificateInfoExtraArgument,
    ProtocolWithOpportunisticTlsEnum,
    ScanCommand,
    ScanCommandAttemptStatusEnum,
    ScanCommandsExtraArguments,
    Scanner,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanStatusEnum,
)
from sslyze.plugins.certificate_info.trust_stores.trust_store import TrustStore
from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository

from scanner.collectors.base import ScanContext, Sink
from scanner.collectors.endpoints import CaBundleError, EndpointBatch, ca_bundle, cap
from scanner.collectors.starttls import ask_starttls
from scanner.facts.endpoint import EndpointError
from scanner.facts.tls import (
    PROTOCOLS,
    Certificate,
    CertificateFacts,
    CipherSuite,
    EphemeralKey,
    ProtocolResult,
    TlsEndpoint,
    TlsFacts,
    TrustResult,
    Vulnerabilities,
)
from scanner.inventory import Host
from scanner.memory import collect_and_release
from scanner.model import Outcome, utcnow

# Services that start TLS at once, and those that upgrade a plain session (sslyze's enum names).
IMPLICIT_TLS_KINDS = frozenset({"https", "smtps", "imaps", "pop3s", "ldaps", "ftps"})
STARTTLS_KINDS = {"smtp": "SMTP", "imap": "IMAP", "pop3": "POP3", "ftp": "FTP", "ldap": "LDAP"}
STARTTLS_DB_PORTS = {5432: "POSTGRES"}
# A mail/directory kind declared on its implicit-TLS port (smtp on 465...) speaks TLS at once.
IMPLICIT_TLS_PORTS = frozenset({465, 636, 990, 993, 995})

# Connections sslyze opens to one server at a time. 3 keeps a single scan quick without
# tripping connection throttles (sslyze issues #286, #349: lower it for fragile servers).
PER_SERVER_CONNECTIONS = 3
NETWORK_RETRIES = 1
POLL_SECONDS = 0.2
# sslyze's refused handshakes (most of a cipher-suite scan) leave reference cycles through their
# exceptions' tracebacks that hold nassl's OpenSSL objects until a full collection; Python's own
# schedule runs one too rarely. Measured on the 25-host lab, TLS only: 292 MB peak without, and
# 110 MB freed by the first gc.collect() at the end.
GC_SECONDS = 1.0


@dataclass(frozen=True)
class EndpointPlan:
    host: str
    port: int
    kind: str
    service_name: str | None
    address: str
    server_name: str
    starttls: str | None  # a ProtocolWithOpportunisticTlsEnum name

    def endpoint(self, **facts: Any) -> TlsEndpoint:
        return TlsEndpoint(port=self.port, kind=self.kind, service_name=self.service_name, address=self.address,
                           server_name=self.server_name, starttls=self.starttls, **facts)


def plan_endpoints(host: Host, address: str) -> list[EndpointPlan]:
    """The TLS endpoints among the host's declared services (pure)."""
    server_name = host.fqdn or host.address
    plans = []
    for svc in host.services:
        if svc.proto != "tcp":
            continue
        if svc.kind in IMPLICIT_TLS_KINDS or (svc.kind in STARTTLS_KINDS and svc.port in IMPLICIT_TLS_PORTS):
            starttls = None
        elif svc.kind in STARTTLS_KINDS:
            starttls = STARTTLS_KINDS[svc.kind]
        elif svc.kind == "db" and svc.port in STARTTLS_DB_PORTS:
            starttls = STARTTLS_DB_PORTS[svc.port]
        else:
            continue
        plans.append(EndpointPlan(host.name, svc.port, svc.kind, svc.name, address, server_name, starttls))
    return plans


# -- certificates (pure functions over `cryptography` objects) ----------------------------------

def hostname_matches(name: str, dns_names: tuple[str, ...], ip_addresses: tuple[str, ...]) -> bool | None:
    """RFC 6125 matching against subjectAltName only (no CN fallback, as browsers do); a wildcard
    stands for exactly one whole left-most label."""
    if not name:
        return None
    try:
        wanted = ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return any(_same_ip(wanted, ip) for ip in ip_addresses)
    name = name.rstrip(".").lower()
    for pattern in dns_names:
        pattern = pattern.rstrip(".").lower()
        if pattern == name:
            return True
        if pattern.startswith("*.") and "*" not in pattern[2:]:
            label, _, rest = name.partition(".")
            if label and rest == pattern[2:]:
                return True
    return False


def _same_ip(wanted: ipaddress.IPv4Address | ipaddress.IPv6Address, text: str) -> bool:
    try:
        return ipaddress.ip_address(text) == wanted
    except ValueError:
        return False


def certificate_fact(cert) -> Certificate:
    def ext(cls):
        try:
            return cert.extensions.get_extension_for_class(cls).value
        except (x509.ExtensionNotFound, ValueError):
            return None

    san = ext(x509.SubjectAlternativeName)
    constraints = ext(x509.BasicConstraints)
    try:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_name = cap(cns[0].value) if cns else None
    except ValueError:
        common_name = None
    key = cert.public_key()
    key_type, bits, curve = type(key).__name__, None, None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, bits = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits, curve = "EC", key.curve.key_size, key.curve.name
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, bits = "Ed25519", 256
    elif isinstance(key, ed448.Ed448PublicKey):
        key_type, bits = "Ed448", 456
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, bits = "DSA", key.key_size
    try:
        algorithm = cert.signature_hash_algorithm
        signature_hash = algorithm.name if algorithm else None
    except Exception:  # an algorithm cryptography does not know: keep its OID
        signature_hash = cert.signature_algorithm_oid.dotted_string
    self_signed = False
    if cert.issuer == cert.subject:
        try:
            cert.verify_directly_issued_by(cert)
            self_signed = True
        except Exception:
            self_signed = False
    return Certificate(
        subject=cap(cert.subject.rfc4514_string()), issuer=cap(cert.issuer.rfc4514_string()),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        dns_names=tuple(cap(n, 256) for n in san.get_values_for_type(x509.DNSName))[:100] if san else (),
        ip_addresses=tuple(str(i) for i in san.get_values_for_type(x509.IPAddress))[:100] if san else (),
        common_name=common_name, public_key_type=key_type, public_key_bits=bits, curve=curve,
        signature_hash=signature_hash, self_signed=self_signed,
        is_ca=bool(constraints and constraints.ca), sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )


def _validation_moment(chain: list, now: dt.datetime) -> dt.datetime:
    """The moment nearest to `now` at which every received certificate is within its dates (the
    leaf's alone if their dates do not overlap)."""
    second = dt.timedelta(seconds=1)
    lo = max(c.not_valid_before_utc for c in chain) + second
    hi = min(c.not_valid_after_utc for c in chain) - second
    if lo > hi:
        lo, hi = chain[0].not_valid_before_utc + second, chain[0].not_valid_after_utc - second
    return min(max(now, lo), hi)


def chain_trust(chain: list, stores: list, server_name: str, now: dt.datetime) -> tuple[bool, tuple[str, ...]]:
    """Whether any store trusts the received chain, apart from the name and the dates: validate
    against one of the leaf's own names at the moment nearest to now when the chain is in its dates."""
    leaf = certificate_fact(chain[0])
    subject: Any
    if leaf.dns_names:
        subject = x509.DNSName(leaf.dns_names[0].replace("*", "wildcard", 1))
    elif leaf.ip_addresses:
        subject = x509.IPAddress(ipaddress.ip_address(leaf.ip_addresses[0]))
    else:  # no SAN at all: nothing else to validate against than the name we asked for
        try:
            subject = x509.IPAddress(ipaddress.ip_address(server_name))
        except ValueError:
            subject = x509.DNSName(server_name)
    pems = [c.public_bytes(Encoding.PEM).decode("ascii") for c in chain]
    moment = _validation_moment(chain, now)
    errors = []
    for store in stores:
        try:
            result = store.verify_certificate_chain(pems, subject, validation_time=moment)
        except Exception as exc:
            errors.append(cap(f"{store.name}: {type(exc).__name__}: {exc}"))
            continue
        if result.was_validation_successful:
            return True, ()
        errors.append(cap(f"{store.name}: {result.validation_error}"))
    return False, tuple(errors)


# -- sslyze results -> facts ---------------------------------------------------------------------

def _trace_text(trace: TracebackException | None) -> str:
    if trace is None:
        return ""
    return cap("".join(trace.format_exception_only()).strip())


def _connectivity_error(trace: TracebackException | None) -> EndpointError:
    name = trace.exc_type.__name__ if trace is not None and trace.exc_type else ""
    reason = {
        "ConnectionToServerTimedOut": "timeout",
        "TlsHandshakeTimedOut": "timeout",
        "ServerRejectedConnection": "refused",
        # A refusal is established before sslyze runs (starttls.py, from the server's own answer);
        # sslyze failing the negotiation after that is a failure, not a finding.
        "ServerRejectedOpportunisticTlsNegotiation": "starttls_failed",
        "ServerRejectedTlsHandshake": "tls_handshake_failed",
        "ServerTlsConfigurationNotSupported": "tls_handshake_failed",
    }.get(name, "error")
    return EndpointError(reason=reason, detail=_trace_text(trace))


def _suite(accepted) -> CipherSuite:
    key = accepted.ephemeral_key
    return CipherSuite(
        name=accepted.cipher_suite.name, openssl_name=accepted.cipher_suite.openssl_name,
        key_size=accepted.cipher_suite.key_size, anonymous=accepted.cipher_suite.is_anonymous,
        ephemeral_key=EphemeralKey(type=key.type_name, size=key.size, curve=getattr(key, "curve_name", None))
        if key is not None else None,
    )


def _certificate_facts(result, plan: EndpointPlan, stores: list, supplied_ca: bool) -> CertificateFacts | None:
    deployments = result.certificate_deployments
    if not deployments:
        return None
    deployment = deployments[0]  # the chain served for our SNI name (first deployment)
    chain = list(deployment.received_certificate_chain)
    if not chain:
        return None
    facts = [certificate_fact(c) for c in chain[:10]]
    validation = tuple(
        TrustResult(store=r.trust_store.name, ok=r.was_validation_successful,
                    error=cap(r.validation_error) if r.validation_error else None)
        for r in deployment.path_validation_results
    )
    supplied = [r for r in validation if r.store == "Supplied CA file"]
    trusted, errors = chain_trust(chain[:10], stores, plan.server_name, utcnow())
    return CertificateFacts(
        server_name=result.hostname_used_for_server_name_indication, chain=tuple(facts), validation=validation,
        supplied_ca=supplied_ca, trusted_by_supplied_ca=supplied[0].ok if supplied else None,
        trusted_by_any_store=any(r.ok for r in validation), chain_trusted=trusted, chain_errors=errors,
        hostname_matches=hostname_matches(plan.server_name, facts[0].dns_names, facts[0].ip_addresses),
        verified_chain_has_sha1=deployment.verified_chain_has_sha1_signature,
    )


def endpoint_from_result(plan: EndpointPlan, result, stores: list, supplied_ca: bool) -> TlsEndpoint:
    """Facts for one endpoint from sslyze's ServerScanResult. A command that failed, or that we
    failed to read, leaves its fact empty and says why in command_errors."""
    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        return plan.endpoint(error=_connectivity_error(result.connectivity_error_trace))
    scan = result.scan_result
    errors: dict[str, str] = {}

    def read(command: str, convert: Callable[[Any], Any]) -> Any:
        attempt = getattr(scan, command)
        if attempt.status == ScanCommandAttemptStatusEnum.COMPLETED:
            try:
                return convert(attempt.result)
            except Exception as exc:  # our reading of sslyze's result failed: say so, keep the rest
                errors[command] = cap(f"reading the result failed: {type(exc).__name__}: {exc}")
                return None
        if attempt.status == ScanCommandAttemptStatusEnum.ERROR:
            reason = attempt.error_reason.name if attempt.error_reason else "ERROR"
            errors[command] = cap(f"{reason}: {_trace_text(attempt.error_trace)}")
        else:
            errors[command] = "not scheduled"
        return None

    protocols = {}
    for version in PROTOCOLS:
        got = read(f"{version}_cipher_suites",
                   lambda r: ProtocolResult(accepted=tuple(_suite(c) for c in r.accepted_cipher_suites)))
        if got is not None:
            protocols[version] = got
    certificate = read("certificate_info", lambda r: _certificate_facts(r, plan, stores, supplied_ca))
    if certificate is None and "certificate_info" not in errors:
        errors["certificate_info"] = "the server sent no certificate"
    renegotiation = read("session_renegotiation", lambda r: r)
    curves = read("elliptic_curves", lambda r: r)
    vulnerabilities = Vulnerabilities(
        heartbleed=read("heartbleed", lambda r: r.is_vulnerable_to_heartbleed),
        ccs_injection=read("openssl_ccs_injection", lambda r: r.is_vulnerable_to_ccs_injection),
        robot=read("robot", lambda r: r.robot_result.name),
        secure_renegotiation=renegotiation.supports_secure_renegotiation if renegotiation else None,
        client_renegotiation_dos=renegotiation.is_vulnerable_to_client_renegotiation_dos if renegotiation else None,
        compression=read("tls_compression", lambda r: r.supports_compression),
        fallback_scsv=read("tls_fallback_scsv", lambda r: r.supports_fallback_scsv),
        ecdh_supported=curves.supports_ecdh_key_exchange if curves else None,
        ecdh_curves=tuple(c.name for c in curves.supported_curves or ()) if curves else (),
    )
    probe = result.connectivity_result
    return plan.endpoint(
        highest_version=probe.highest_tls_version_supported.name.lower() if probe else None,
        protocols=protocols, certificate=certificate, vulnerabilities=vulnerabilities, command_errors=errors,
    )


def _scan_commands() -> set:
    """Explicit command set: never HTTP_HEADERS or early data (HTTP only; WRONG_USAGE on STARTTLS),
    nor session resumption (not judged)."""
    return {
        ScanCommand.CERTIFICATE_INFO, ScanCommand.SSL_2_0_CIPHER_SUITES, ScanCommand.SSL_3_0_CIPHER_SUITES,
        ScanCommand.TLS_1_0_CIPHER_SUITES, ScanCommand.TLS_1_1_CIPHER_SUITES, ScanCommand.TLS_1_2_CIPHER_SUITES,
        ScanCommand.TLS_1_3_CIPHER_SUITES, ScanCommand.TLS_COMPRESSION, ScanCommand.TLS_FALLBACK_SCSV,
        ScanCommand.HEARTBLEED, ScanCommand.OPENSSL_CCS_INJECTION, ScanCommand.ROBOT,
        ScanCommand.SESSION_RENEGOTIATION, ScanCommand.ELLIPTIC_CURVES,
    }


def build_request(plan: EndpointPlan, ca_file: Path | None, network_timeout: int):
    # ip_address given: sslyze connects there and never resolves the name.
    location = ServerNetworkLocation(hostname=plan.server_name, port=plan.port, ip_address=plan.address)
    network = ServerNetworkConfiguration(
        tls_server_name_indication=plan.server_name,
        tls_opportunistic_encryption=ProtocolWithOpportunisticTlsEnum[plan.starttls] if plan.starttls else None,
        network_timeout=network_timeout, network_max_retries=NETWORK_RETRIES,
    )
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=ca_file) if ca_file else None)
    return ServerScanRequest(server_location=location, network_configuration=network,
                             scan_commands=_scan_commands(), scan_commands_extra_arguments=extra)


def trust_stores(ca_file: Path | None) -> list:
    """sslyze's bundled stores plus the inventory's CA bundle, loaded once per scan."""
    # A root in sslyze's bundled stores has a negative serial number: cryptography warns, harmlessly.
    warnings.filterwarnings("ignore", message="Parsed a serial number which wasn't positive")
    stores = TrustStoresRepository.get_default().get_all_stores()  # also primes sslyze's (thread-unsafe) cache
    if ca_file:
        stores.append(TrustStore(ca_file, "Supplied CA file", "N/A"))
    return stores


# -- the first answer to a ClientHello ----------------------------------------------------------
# sslyze tries every protocol with several cipher lists, each waiting the full network timeout:
# a port that accepts and never speaks costs it about a minute at 5 s. One ClientHello tells such
# a port, and one that answers with bytes that are no TLS record, apart within one timeout; those
# endpoints are not handed to sslyze at all. Anything that answers like TLS (a record or an alert),
# refuses, or closes goes on to sslyze, which explains it in its own words.
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


_DONE = object()


def _run_scanner(scanner, requests: list, out: queue.Queue) -> None:
    """Feed sslyze's blocking result generator into a queue the collector can wait on with a deadline."""
    try:
        scanner.queue_scans(requests)
        for result in scanner.get_results():
            out.put(result)
    except Exception as exc:
        out.put(exc)
    finally:
        out.put(_DONE)


class TlsCollector:
    name = "tls"

    def applies_to(self, ctx: ScanContext, host: Host) -> bool:
        # Every host: one without a declared TLS service gets an empty list, so its TLS checks say
        # not_applicable (from the inventory) rather than unknown.
        return True

    def collect(self, ctx: ScanContext, hosts: list[Host], sink: Sink) -> None:
        batch = EndpointBatch(self.name, {h.name: plan_endpoints(h, ctx.address(h)) for h in hosts},
                              lambda endpoints: TlsFacts(endpoints=endpoints), sink)
        if not batch.todo:
            return
        try:
            ca_file = ca_bundle(ctx)
        except CaBundleError as exc:
            batch.fail(Outcome.ERROR, str(exc))
            return
        self._scan(ctx, batch.todo, ca_file, trust_stores(ca_file), batch.done)

    def _scan(self, ctx: ScanContext, todo: list[EndpointPlan], ca_file: Path | None, stores: list,
              emit: Callable[[EndpointPlan, TlsEndpoint], None]) -> None:
        """emit(plan, endpoint facts) as sslyze finishes each endpoint, then for the ones it did not."""
        scan = ctx.inventory.scan
        network_timeout = max(1, round(scan.timeouts.connect))
        deadline = time.monotonic() + scan.timeouts.tls
        todo = self._precheck(ctx, todo, network_timeout, deadline, emit)
        by_uuid, failed = {}, []
        for plan in todo:
            try:
                request = build_request(plan, ca_file, network_timeout)
                by_uuid[request.uuid] = (plan, request)
            except Exception as exc:
                failed.append((plan, EndpointError(reason="error", detail=cap(f"{type(exc).__name__}: {exc}"))))
        for plan, error in failed:
            emit(plan, plan.endpoint(error=error))
        if not by_uuid:
            return
        scanner = Scanner(per_server_concurrent_connections_limit=PER_SERVER_CONNECTIONS,
                          concurrent_server_scans_limit=max(1, min(scan.concurrency, len(by_uuid))))
        results: queue.Queue = queue.Queue()
        # sslyze's threads are daemons: at the deadline we stop waiting and leave them to end on
        # their own network timeouts; nothing they produce afterwards is read.
        threading.Thread(target=_run_scanner, args=(scanner, [r for _, r in by_uuid.values()], results),
                         name="tls-sslyze", daemon=True).start()
        unfinished = EndpointError(reason="error", detail="sslyze ended without a result for this endpoint")
        next_gc = time.monotonic() + GC_SECONDS
        while by_uuid:
            if time.monotonic() >= next_gc:
                collect_and_release()
                next_gc = time.monotonic() + GC_SECONDS
            if ctx.stop.is_set():
                unfinished = EndpointError(reason="interrupted", detail="the scan was interrupted")
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                unfinished = EndpointError(reason="phase_timeout",
                                           detail=f"not finished within scan.timeouts.tls = {scan.timeouts.tls:g}s")
                break
            try:
                item = results.get(timeout=min(POLL_SECONDS, remaining))
            except queue.Empty:
                continue
            if item is _DONE:
                break
            if isinstance(item, Exception):
                unfinished = EndpointError(reason="error", detail=cap(f"{type(item).__name__}: {item}"))
                continue
            plan, _ = by_uuid.pop(item.uuid, (None, None))
            if plan is None:
                continue
            try:
                endpoint = endpoint_from_result(plan, item, stores, ca_file is not None)
            except Exception as exc:  # one unreadable result must not lose the others
                endpoint = plan.endpoint(error=EndpointError(
                    reason="error", detail=cap(f"reading sslyze's result: {type(exc).__name__}: {exc}")))
            emit(plan, endpoint)
        for plan, _ in by_uuid.values():
            emit(plan, plan.endpoint(error=unfinished))

    @staticmethod
    def _precheck(ctx: ScanContext, todo: list[EndpointPlan], timeout: float, deadline: float,
                  emit: Callable[[EndpointPlan, TlsEndpoint], None]) -> list[EndpointPlan]:
        """Send one ClientHello to each endpoint that speaks TLS from the first byte, and ask each
        STARTTLS one whether it starts TLS, within the phase's deadline; emit the silent, non-TLS
        and refusing ones with their error, return the rest."""
        if not todo or ctx.stop.is_set():
            return todo
        keep: list[EndpointPlan] = []
        pool = ThreadPoolExecutor(max_workers=max(1, min(ctx.inventory.scan.concurrency, len(todo))),
                                  thread_name_prefix="tls-precheck")
        pending = {pool.submit(precheck, plan, timeout): plan for plan in todo}
        try:
            while pending and not ctx.stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                done, _ = wait_futures(pending, timeout=min(POLL_SECONDS, remaining), return_when=FIRST_COMPLETED)
                for future in done:
                    plan = pending.pop(future)
                    error = future.exception() or future.result()
                    if isinstance(error, EndpointError):
                        emit(plan, plan.endpoint(error=error))
                    else:  # answers like TLS, or a failure of our own: sslyze decides
                        keep.append(plan)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        # Not checked by the deadline or an interruption: the main loop gives them its reason.
        return keep + list(pending.values())
