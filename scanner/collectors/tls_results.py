"""sslyze's result for one endpoint, read into TLS facts: no network and no judgement. A scan
command that failed, or whose result we failed to read, leaves its fact empty and says why."""

from __future__ import annotations

from collections.abc import Callable
from traceback import TracebackException
from typing import Any

from sslyze import ScanCommandAttemptStatusEnum, ServerScanStatusEnum

from scanner.collectors.endpoints import cap
from scanner.collectors.tls_plan import EndpointPlan
from scanner.collectors.x509 import certificate_fact, chain_trust, hostname_matches
from scanner.facts.endpoint import EndpointError
from scanner.facts.tls import (
    PROTOCOLS,
    CertificateFacts,
    CipherSuite,
    EphemeralKey,
    ProtocolResult,
    TlsEndpoint,
    TrustResult,
    Vulnerabilities,
)
from scanner.model import utcnow


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
