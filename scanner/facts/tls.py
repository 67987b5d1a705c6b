"""Facts about TLS endpoints (from the tls collector, which drives sslyze).

One observation per host holds one `TlsEndpoint` per declared TLS service. An endpoint that
could not be scanned carries its own `error` (scanner/facts/endpoint.py); a scan command that
failed carries its reason in `command_errors`, and the fact it would have filled stays None.
None never means "fine".
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from scanner.facts.endpoint import EndpointError
from scanner.model import Frozen

SCHEMA_VERSION = 1

# Protocol versions in the order sslyze scans them; the keys of TlsEndpoint.protocols.
PROTOCOLS = ("ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1", "tls_1_2", "tls_1_3")
PROTOCOL_LABELS = {"ssl_2_0": "SSL 2.0", "ssl_3_0": "SSL 3.0", "tls_1_0": "TLS 1.0", "tls_1_1": "TLS 1.1",
                   "tls_1_2": "TLS 1.2", "tls_1_3": "TLS 1.3"}

class EphemeralKey(Frozen):
    type: str  # "ECDH", "DH", "X25519"...
    size: int
    curve: str | None = None


class CipherSuite(Frozen):
    name: str  # RFC name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    openssl_name: str = ""
    key_size: int  # bits of the symmetric key
    anonymous: bool = False
    ephemeral_key: EphemeralKey | None = None


class ProtocolResult(Frozen):
    """One protocol version: the suites the server accepted (empty: version not accepted)."""

    accepted: tuple[CipherSuite, ...] = ()

    @property
    def supported(self) -> bool:
        return bool(self.accepted)


class Certificate(Frozen):
    """One certificate as received. Every string is the target's: untrusted, capped."""

    subject: str
    issuer: str
    serial: str  # hex
    not_before: datetime  # UTC
    not_after: datetime  # UTC
    dns_names: tuple[str, ...] = ()  # subjectAltName DNS entries
    ip_addresses: tuple[str, ...] = ()  # subjectAltName IP entries
    common_name: str | None = None
    public_key_type: str  # RSA, EC, Ed25519, Ed448, DSA, other
    public_key_bits: int | None = None
    curve: str | None = None
    signature_hash: str | None = None  # sha256, sha1, md5...; None for Ed25519/Ed448
    self_signed: bool = False  # issuer == subject and its own key verifies the signature
    is_ca: bool = False
    sha256: str = ""  # fingerprint, hex


class TrustResult(Frozen):
    """Path validation against one trust store, as sslyze does it (name and time included)."""

    store: str  # Mozilla, Apple, ..., "Supplied CA file"
    ok: bool
    error: str | None = None


class CertificateFacts(Frozen):
    server_name: str  # the SNI name sent, also the name the certificate must match
    chain: tuple[Certificate, ...]  # as received; index 0 is the leaf
    validation: tuple[TrustResult, ...] = ()
    supplied_ca: bool = False  # scan.ca_bundle was given and used as an extra trust store
    trusted_by_supplied_ca: bool | None = None
    trusted_by_any_store: bool = False
    # The chain alone, judged apart from name and validity dates (we validate it at a moment when
    # every received certificate is valid, against one of the leaf's own names), so that an
    # expired or wrong-host certificate is not also reported as untrusted.
    chain_trusted: bool = False
    chain_errors: tuple[str, ...] = ()
    hostname_matches: bool | None = None  # None: the SNI name is empty
    verified_chain_has_sha1: bool | None = None


class Vulnerabilities(Frozen):
    heartbleed: bool | None = None
    ccs_injection: bool | None = None
    robot: str | None = None  # RobotScanResultEnum name
    secure_renegotiation: bool | None = None
    client_renegotiation_dos: bool | None = None
    compression: bool | None = None
    fallback_scsv: bool | None = None
    ecdh_supported: bool | None = None
    ecdh_curves: tuple[str, ...] = ()


class TlsEndpoint(Frozen):
    port: int
    proto: Literal["tcp"] = "tcp"
    kind: str  # the inventory's service kind
    service_name: str | None = None
    address: str  # the IP we connected to
    server_name: str  # SNI / certificate name (the host's fqdn, else its address)
    starttls: str | None = None  # SMTP, IMAP, POP3, FTP, LDAP, POSTGRES; None = implicit TLS
    error: EndpointError | None = None
    highest_version: str | None = None  # from sslyze's connectivity test
    protocols: dict[str, ProtocolResult] = Field(default_factory=dict)  # keys from PROTOCOLS
    certificate: CertificateFacts | None = None
    vulnerabilities: Vulnerabilities = Field(default_factory=Vulnerabilities)
    command_errors: dict[str, str] = Field(default_factory=dict)  # scan command -> why it failed
    seen_from: str | None = None  # scans from several zones: the zone these facts were read from

    @property
    def target(self) -> str:
        return f"{self.port}/{self.proto}"

    def accepted(self, version: str) -> tuple[CipherSuite, ...]:
        result = self.protocols.get(version)
        return result.accepted if result else ()


class TlsFacts(Frozen):
    COLLECTOR: ClassVar[str] = "tls"
    schema_version: int = SCHEMA_VERSION
    endpoints: tuple[TlsEndpoint, ...] = ()
