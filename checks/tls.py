"""TLS hardening of every declared TLS endpoint (XI.2.1.2 servers and applications, XI.2.1.3
encrypted transport): protocol versions, cipher suites, the certificate, known vulnerabilities.

Every check judges each endpoint on its own (`target="443/tcp"`). An endpoint the collector could
not scan is `error` with its reason; a scan command that failed makes the checks that need it
`error` too. A host with no declared TLS service is `not_applicable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from checks.endpoints import endpoint_checks
from checks.registry import HostContext, Verdict, failed, passed, verdict
from checks.settings import Sourced, load_data
from scanner.facts.tls import PROTOCOL_LABELS, Certificate, CipherSuite, TlsEndpoint, TlsFacts
from scanner.model import Frozen, Severity, Status

TRANSPORT = ("XI.2.1.2", "XI.2.1.3")
VULNERABILITY = ("XI.2.1.2", "XI.2.3")
WEAK_SIGNATURE_HASHES = frozenset({"sha1", "md5", "md2"})


class WeakToken(Frozen):
    token: str
    why: str
    source: str


class TlsData(Frozen):
    weak_cipher_tokens: tuple[WeakToken, ...]
    min_cipher_key_bits: Sourced


def tls_data() -> TlsData:
    return load_data("tls", TlsData)


# -- pure rules over suites and certificates -------------------------------------------------------

def weaknesses(suite: CipherSuite, data: TlsData) -> list[str]:
    """Why a suite is weak (empty: it is not)."""
    tokens = set(suite.name.split("_"))
    found = [row.token for row in data.weak_cipher_tokens if row.token in tokens]
    if suite.anonymous and "anon" not in found:
        found.append("anon")
    if not found and suite.key_size < data.min_cipher_key_bits.value:
        found.append(f"{suite.key_size}-bit")
    return found


def forward_secret(suite: CipherSuite) -> bool:
    """TLS 1.3 suites always are; below 1.3 only (EC)DHE key exchange is."""
    name = suite.name
    if name.startswith("TLS_") and "_WITH_" not in name:
        return True
    key_exchange = set(name.split("_WITH_", 1)[0].split("_"))
    return bool({"DHE", "ECDHE"} & key_exchange)


def key_too_small(cert: Certificate, min_rsa: int, min_ec: int) -> bool | None:
    """None when the key type is one we have no rule for."""
    if cert.public_key_bits is None:
        return None
    if cert.public_key_type in ("RSA", "DSA"):
        return cert.public_key_bits < min_rsa
    if cert.public_key_type == "EC":
        return cert.public_key_bits < min_ec
    if cert.public_key_type in ("Ed25519", "Ed448"):
        return False
    return None


def cert_evidence(cert: Certificate) -> dict[str, Any]:
    return {
        "subject": cert.subject, "issuer": cert.issuer, "serial": cert.serial,
        "not_before": cert.not_before.isoformat(), "not_after": cert.not_after.isoformat(),
        "dns_names": list(cert.dns_names), "ip_addresses": list(cert.ip_addresses),
        "public_key": f"{cert.public_key_type} {cert.public_key_bits or '?'}", "signature_hash": cert.signature_hash,
        "self_signed": cert.self_signed,
    }


def suites_by_version(endpoint: TlsEndpoint, versions: Iterable[str],
                      keep: Callable[[CipherSuite], bool] = lambda s: True) -> dict[str, list[str]]:
    """{"TLS 1.0": [suite names]} for the given versions, only suites `keep` selects."""
    out = {}
    for version in versions:
        names = [s.name for s in endpoint.accepted(version) if keep(s)]
        if names:
            out[PROTOCOL_LABELS[version]] = names
    return out


def accepted_versions(endpoint: TlsEndpoint) -> list[str]:
    """Labels ("TLS 1.2") of the versions the server accepted."""
    return [PROTOCOL_LABELS[v] for v, r in endpoint.protocols.items() if r.supported]


def tls13_only(endpoint: TlsEndpoint) -> bool:
    """Only TLS 1.3 is accepted, and every lower version was scanned: renegotiation, compression,
    CCS injection, ROBOT and Heartbleed are pre-1.3 matters."""
    lower = [v for v in PROTOCOL_LABELS if v != "tls_1_3"]
    return endpoint.accepted("tls_1_3") != () and all(
        v in endpoint.protocols and not endpoint.protocols[v].supported for v in lower)


# -- verdict helpers -------------------------------------------------------------------------------

def endpoint_evidence(endpoint: TlsEndpoint) -> dict[str, Any]:
    return {"address": endpoint.address, "port": endpoint.port, "server_name": endpoint.server_name,
            "kind": endpoint.kind, "starttls": endpoint.starttls}


def command_error(endpoint: TlsEndpoint, *commands: str) -> Verdict:
    errors = {c: endpoint.command_errors.get(c, "not scanned") for c in commands}
    return verdict(Status.ERROR, "command_error", evidence={"command_errors": errors},
                   commands=", ".join(commands), error="; ".join(errors.values()))


def versions_accepted(endpoint: TlsEndpoint, versions: tuple[str, ...]) -> Verdict:
    """fail if any of `versions` is accepted, pass if all were scanned and none is."""
    accepted = suites_by_version(endpoint, versions)
    if accepted:
        return failed("accepted", evidence={"accepted_suites": accepted}, versions=list(accepted))
    missing = [v for v in versions if v not in endpoint.protocols]
    if missing:
        return command_error(endpoint, *(f"{v}_cipher_suites" for v in missing))
    return passed("not_accepted", evidence={"accepted_versions": accepted_versions(endpoint)})


def not_observed(endpoint: TlsEndpoint, command: str) -> Verdict:
    """A pre-TLS-1.3 matter sslyze did not report: not_applicable on a TLS-1.3-only server, else error."""
    if tls13_only(endpoint):
        return verdict(Status.NOT_APPLICABLE, "tls13_only")
    return command_error(endpoint, command)


def vulnerable_if_true(endpoint: TlsEndpoint, value: bool | None, command: str) -> Verdict:
    if value is None:
        return not_observed(endpoint, command)
    evidence = {command: value}
    return failed("vulnerable", evidence=evidence) if value else passed("not_vulnerable", evidence=evidence)


def with_certificate(judge: Callable[[TlsEndpoint, HostContext], Verdict]):
    def wrapped(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
        if endpoint.certificate is None or not endpoint.certificate.chain:
            return command_error(endpoint, "certificate_info")
        return judge(endpoint, ctx)
    return wrapped


def expiry_window_days(ctx: HostContext) -> int:
    """scan.cert_expiry_warn_days when the inventory sets it, else the threshold file's."""
    scan = ctx.inventory.scan
    if "cert_expiry_warn_days" in scan.model_fields_set:
        return scan.cert_expiry_warn_days
    return ctx.settings.tls.cert_expiry_warn_days


# -- the checks ------------------------------------------------------------------------------------

endpoint_check = endpoint_checks(TlsFacts, TRANSPORT, endpoint_evidence)


@endpoint_check("tls.cleartext", Severity.HIGH, ("XI.2.1.3", "XI.2.1.2"), judges_refusal=True)
def cleartext(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    # judge_each hands this check the endpoints that refused STARTTLS (their error) and the
    # ones where TLS was negotiated (no error); other failures stay `error` before it.
    if endpoint.error is not None:
        return failed("starttls_refused", port=endpoint.port, protocol=endpoint.starttls or endpoint.kind,
                      reply=endpoint.error.detail)
    return passed("tls_negotiated", port=endpoint.port, protocol=endpoint.starttls or endpoint.kind)

@endpoint_check("tls.protocol.ssl2_ssl3", Severity.CRITICAL)
def ssl2_ssl3(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    return versions_accepted(endpoint, ("ssl_2_0", "ssl_3_0"))

@endpoint_check("tls.protocol.legacy", Severity.HIGH)
def legacy(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    return versions_accepted(endpoint, ("tls_1_0", "tls_1_1"))

@endpoint_check("tls.protocol.tls12_missing", Severity.HIGH)
def tls12_missing(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    if "tls_1_2" not in endpoint.protocols:
        return command_error(endpoint, "tls_1_2_cipher_suites")
    evidence = {"accepted_versions": accepted_versions(endpoint)}
    if endpoint.protocols["tls_1_2"].supported:
        return passed("supported", evidence=evidence)
    if endpoint.accepted("tls_1_3"):
        # Safe, but clients without TLS 1.3 cannot connect: a compatibility gap, not a hole.
        return failed("only_tls13", evidence=evidence, severity=Severity.LOW)
    return failed("missing", evidence=evidence)

@endpoint_check("tls.protocol.tls13_missing", Severity.LOW)
def tls13_missing(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    if "tls_1_3" not in endpoint.protocols:
        return command_error(endpoint, "tls_1_3_cipher_suites")
    evidence = {"accepted_versions": accepted_versions(endpoint)}
    if endpoint.protocols["tls_1_3"].supported:
        return passed("supported", evidence=evidence)
    return failed("missing", evidence=evidence)

def scanned_all(endpoint: TlsEndpoint) -> Verdict | None:
    missing = [f"{v}_cipher_suites" for v in PROTOCOL_LABELS if v not in endpoint.protocols]
    return command_error(endpoint, *missing) if missing else None

@endpoint_check("tls.cipher.weak", Severity.HIGH)
def cipher_weak(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    data = tls_data()
    weak = {}
    for version in endpoint.protocols:
        for suite in endpoint.accepted(version):
            reasons = weaknesses(suite, data)
            if reasons:
                weak.setdefault(PROTOCOL_LABELS[version], []).append(f"{suite.name} ({', '.join(reasons)})")
    if weak:
        count = sum(len(v) for v in weak.values())
        return failed("weak", evidence={"weak_suites": weak}, count=count,
                      suites=[s for v in weak.values() for s in v][:5])
    return scanned_all(endpoint) or passed(
        "none_weak", evidence={"accepted_suites": suites_by_version(endpoint, PROTOCOL_LABELS)})

@endpoint_check("tls.cipher.no_forward_secrecy", Severity.MEDIUM)
def no_forward_secrecy(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    static = suites_by_version(endpoint, PROTOCOL_LABELS, keep=lambda s: not forward_secret(s))
    if static:
        count = sum(len(v) for v in static.values())
        return failed("static_key_exchange", evidence={"suites_without_forward_secrecy": static}, count=count,
                      suites=[s for v in static.values() for s in v][:5])
    return scanned_all(endpoint) or passed(
        "all_forward_secret", evidence={"accepted_suites": suites_by_version(endpoint, PROTOCOL_LABELS)})

@endpoint_check("tls.cert.expired", Severity.HIGH)
@with_certificate
def cert_expired(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    leaf = endpoint.certificate.chain[0]
    evidence = cert_evidence(leaf)
    if ctx.now > leaf.not_after:
        return failed("expired", evidence=evidence, not_after=leaf.not_after.date().isoformat(),
                      days=(ctx.now - leaf.not_after).days)
    return passed("valid_until", evidence=evidence, not_after=leaf.not_after.date().isoformat())

@endpoint_check("tls.cert.expiring", Severity.MEDIUM)
@with_certificate
def cert_expiring(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    leaf = endpoint.certificate.chain[0]
    window = expiry_window_days(ctx)
    evidence = {**cert_evidence(leaf), "warn_days": window}
    if ctx.now > leaf.not_after:
        return verdict(Status.NOT_APPLICABLE, "already_expired", evidence=evidence)
    days_left = (leaf.not_after - ctx.now).days
    params = dict(not_after=leaf.not_after.date().isoformat(), days=days_left, window=window)
    if days_left < window:
        return failed("expiring", evidence=evidence, **params)
    return passed("not_expiring", evidence=evidence, **params)

@endpoint_check("tls.cert.not_yet_valid", Severity.HIGH)
@with_certificate
def cert_not_yet_valid(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    leaf = endpoint.certificate.chain[0]
    evidence = cert_evidence(leaf)
    if ctx.now < leaf.not_before:
        return failed("not_yet_valid", evidence=evidence, not_before=leaf.not_before.isoformat())
    return passed("valid_since", evidence=evidence, not_before=leaf.not_before.date().isoformat())

@endpoint_check("tls.cert.untrusted", Severity.HIGH)
@with_certificate
def cert_untrusted(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    facts = endpoint.certificate
    leaf = facts.chain[0]
    evidence = {
        **cert_evidence(leaf), "chain": [c.subject for c in facts.chain],
        "supplied_ca": facts.supplied_ca, "chain_errors": list(facts.chain_errors),
        "path_validation": {r.store: r.error or "ok" for r in facts.validation},
    }
    if leaf.self_signed and len(facts.chain) == 1:
        return failed("self_signed", evidence=evidence, subject=leaf.subject)
    if not facts.chain_trusted:
        hint = "untrusted_internal_ca" if not facts.supplied_ca else "untrusted"
        return failed(hint, evidence=evidence, issuer=leaf.issuer,
                      error=facts.chain_errors[-1] if facts.chain_errors else "")
    return passed("trusted", evidence=evidence, issuer=leaf.issuer)

@endpoint_check("tls.cert.hostname_mismatch", Severity.HIGH)
@with_certificate
def hostname_mismatch(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    facts = endpoint.certificate
    leaf = facts.chain[0]
    evidence = {**cert_evidence(leaf), "common_name": leaf.common_name, "expected_name": endpoint.server_name}
    if facts.hostname_matches is None:
        return verdict(Status.UNKNOWN, "no_name", evidence=evidence)
    names = list(leaf.dns_names) + list(leaf.ip_addresses)
    if not facts.hostname_matches:
        return failed("mismatch", evidence=evidence, name=endpoint.server_name, names=names or ["-"])
    return passed("matches", evidence=evidence, name=endpoint.server_name)

@endpoint_check("tls.cert.weak_key", Severity.HIGH)
@with_certificate
def weak_key(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    limits = ctx.settings.tls
    chain = endpoint.certificate.chain
    judged = [(c, key_too_small(c, limits.min_rsa_bits, limits.min_ec_bits)) for c in chain]
    evidence = {"keys": {c.subject: f"{c.public_key_type} {c.public_key_bits or '?'}" for c in chain},
                "min_rsa_bits": limits.min_rsa_bits, "min_ec_bits": limits.min_ec_bits}
    weak = [c for c, small in judged if small]
    if weak:
        return failed("weak", evidence=evidence, subject=weak[0].subject,
                      public_key=f"{weak[0].public_key_type} {weak[0].public_key_bits}")
    if any(small is None for _, small in judged):
        return verdict(Status.UNKNOWN, "unknown_key_type", evidence=evidence,
                       types=[c.public_key_type for c, small in judged if small is None])
    leaf = chain[0]
    return passed("strong", evidence=evidence, public_key=f"{leaf.public_key_type} {leaf.public_key_bits}")

@endpoint_check("tls.cert.sha1_signature", Severity.MEDIUM)
@with_certificate
def sha1_signature(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    # A self-signed certificate's own signature protects nothing (roots are trusted by
    # presence), so only CA-issued certificates count.
    chain = endpoint.certificate.chain
    evidence = {"signatures": {c.subject: c.signature_hash for c in chain}}
    weak = [c for c in chain if not c.self_signed and (c.signature_hash or "").lower() in WEAK_SIGNATURE_HASHES]
    if weak:
        return failed("weak_signature", evidence=evidence, subject=weak[0].subject,
                      algorithm=weak[0].signature_hash)
    return passed("strong_signature", evidence=evidence)

@endpoint_check("tls.vuln.heartbleed", Severity.CRITICAL, VULNERABILITY)
def heartbleed(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    return vulnerable_if_true(endpoint, endpoint.vulnerabilities.heartbleed, "heartbleed")

@endpoint_check("tls.vuln.ccs_injection", Severity.HIGH, VULNERABILITY)
def ccs_injection(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    return vulnerable_if_true(endpoint, endpoint.vulnerabilities.ccs_injection, "openssl_ccs_injection")

@endpoint_check("tls.vuln.robot", Severity.HIGH, VULNERABILITY)
def robot(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    result = endpoint.vulnerabilities.robot
    if result is None:
        return not_observed(endpoint, "robot")
    evidence = {"robot": result}
    if result == "VULNERABLE_STRONG_ORACLE":
        return failed("vulnerable", evidence=evidence, severity=Severity.CRITICAL)
    if result == "VULNERABLE_WEAK_ORACLE":
        return failed("vulnerable", evidence=evidence)
    if result.startswith("NOT_VULNERABLE"):
        return passed("not_vulnerable", evidence=evidence)
    return verdict(Status.UNKNOWN, "inconsistent", evidence=evidence, result=result)

@endpoint_check("tls.reneg.insecure", Severity.MEDIUM)
def renegotiation(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    vulns = endpoint.vulnerabilities
    evidence = {"secure_renegotiation": vulns.secure_renegotiation,
                "client_renegotiation_dos": vulns.client_renegotiation_dos}
    if vulns.secure_renegotiation is None:
        return not_observed(endpoint, "session_renegotiation")
    if not vulns.secure_renegotiation:
        return failed("insecure", evidence=evidence)
    if vulns.client_renegotiation_dos:
        return failed("client_initiated", evidence=evidence)
    return passed("secure", evidence=evidence)

@endpoint_check("tls.compression", Severity.MEDIUM)
def compression(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    return vulnerable_if_true(endpoint, endpoint.vulnerabilities.compression, "tls_compression")

@endpoint_check("tls.fallback_scsv", Severity.LOW)
def fallback_scsv(endpoint: TlsEndpoint, ctx: HostContext) -> Verdict:
    versions = accepted_versions(endpoint)
    if len(versions) == 1 and len(endpoint.protocols) == len(PROTOCOL_LABELS):
        # One version only: there is nothing to downgrade to.
        return verdict(Status.NOT_APPLICABLE, "single_version", evidence={"accepted_versions": versions})
    value = endpoint.vulnerabilities.fallback_scsv
    if value is None:
        return command_error(endpoint, "tls_fallback_scsv")
    evidence = {"fallback_scsv": value, "accepted_versions": versions}
    return passed("supported", evidence=evidence) if value else failed("missing", evidence=evidence)
